"""Hypothesis profiles: ``ci`` (derandomized, the default) and ``thorough``; the suite's own cache.

Choose with the environment variable DLVERIFY_PROFILE, e.g.
``DLVERIFY_PROFILE=thorough pytest``.  ``ci`` draws the same cases in every run and in every
process: each test's seed comes from its own source (derandomize), and no test's draws depend on
what other modules are imported by then (``source_independent_draws``, for the whole session).

The suite never touches the user's cache (``dlverify verify`` records there, which ``show``
reads): the first process, before anything reads DLVERIFY_CACHE, points it at a fresh temporary
folder that its xdist workers and every subprocess inherit, and removes that folder at the end.
"""

import os
import shutil
import tempfile

# xdist workers are started with the controller's environment (PYTEST_XDIST_WORKER set before
# they read this file): they share its folder rather than making their own
if "PYTEST_XDIST_WORKER" not in os.environ:
    SUITE_CACHE: str | None = tempfile.mkdtemp(prefix="dlverify-test-cache-")
    os.environ["DLVERIFY_CACHE"] = SUITE_CACHE
else:
    SUITE_CACHE = None

# One thread per test process: the oracles' tensors are small, where torch's thread pool costs
# more than it gains (48× in benchmarks/lae.py), and parallel test workers would oversubscribe.
os.environ.setdefault("OMP_NUM_THREADS", "1")

import torch  # noqa: E402
from hypothesis import HealthCheck, settings  # noqa: E402

torch.set_num_threads(1)

settings.register_profile(
    "ci",
    derandomize=True,
    max_examples=100,
    deadline=None,
    database=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.register_profile(
    "thorough",
    max_examples=2000,
    deadline=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
PROFILE = os.environ.get("DLVERIFY_PROFILE", "ci")
settings.load_profile(PROFILE)


import pytest  # noqa: E402


def pytest_unconfigure(config: pytest.Config) -> None:
    if SUITE_CACHE is not None:  # the process that made it, once every worker is done
        shutil.rmtree(SUITE_CACHE, ignore_errors=True)


@pytest.fixture(autouse=True, scope="session")
def _source_independent_draws():
    from dlverify.strategies import source_independent_draws

    with source_independent_draws():
        yield


@pytest.fixture
def planned_row(monkeypatch: pytest.MonkeyPatch) -> str:
    """A catalog id that is planned but not derived (every real one is derived now)."""
    from dlverify.problems import planned

    monkeypatch.setattr(planned, "PLANNED", (("future.item", "expr", "future"),))
    return "future.item"


@pytest.fixture
def catalog():
    """A fresh catalog, current for the test: a course file it loads, or a problem it adds, is gone
    after it (tests share a process, and others list the catalog)."""
    from dlverify import registry

    with registry.using(registry.build_catalog()) as fresh:
        yield fresh


@pytest.fixture
def softplus():
    """softplus added to the one table of functions for the test, removed after it."""
    from derivations import functions
    from tests.function_rows import SOFTPLUS

    functions.add(SOFTPLUS)
    try:
        yield SOFTPLUS
    finally:
        functions.remove(SOFTPLUS.name)
