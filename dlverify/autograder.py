"""A Gradescope autograder for an assignment's ids: ``dlverify autograder IDS… --out DIR``.

Gradescope builds an image once from the autograder zip by running ``setup.sh`` (here: install
this package from the copy in the zip, and derive the assignment's problems into the disk
cache, so that no submission pays for SymPy's derivations), then runs ``run_autograder`` in a
fresh container per submission.  That script checks the one ``*.toml`` in
``/autograder/submission`` and writes ``/autograder/results/results.json``.  Containers run in
parallel, which is how a course of thousands is graded: each one's cold start is the fast
path (a cached derivation and one forked worker).

``AUTOGRADER_ROOT`` replaces ``/autograder`` (the tests run the script against a fake tree).
"""

from __future__ import annotations

import json
import shlex
import shutil
import sys
from pathlib import Path

PACKAGES = ("dlverify", "derivations", "numerics", "reports")

SETUP = """#!/usr/bin/env bash
# Gradescope runs this once, while it builds the autograder's image.
set -euo pipefail
cd "${{AUTOGRADER_ROOT:-/autograder}}/source"
if ! command -v python3 >/dev/null || ! python3 -m pip --version >/dev/null 2>&1; then
  apt-get update && apt-get install -y python3 python3-pip
fi
# PyTorch's CPU build first: the default index would bring several GB of CUDA libraries
python3 -m pip install {torch} --index-url https://download.pytorch.org/whl/cpu
python3 -m pip install ./dlverify-src
# derive the assignment's problems now, into the image: each submission starts with them
DLVERIFY_CACHE="${{AUTOGRADER_ROOT:-/autograder}}/dlverify-cache" python3 -m dlverify.autograder warm $(cat warm.txt)
"""

RUN = """#!/usr/bin/env bash
# Gradescope runs this for each submission, in a fresh container.
set -u
ROOT="${{AUTOGRADER_ROOT:-/autograder}}"
export DLVERIFY_CACHE="${{DLVERIFY_CACHE:-$ROOT/dlverify-cache}}"
RESULTS="$ROOT/results/results.json"
mkdir -p "$ROOT/results"
shopt -s nullglob
files=("$ROOT"/submission/*.toml)
if [ "${{#files[@]}}" -ne 1 ]; then
  exec python3 -m dlverify.autograder refuse "$RESULTS" "${{files[@]}}"
fi
python3 -m dlverify check "${{files[0]}}" --expect "$ROOT/source/ids.txt" --gradescope "$RESULTS" \\
  --timeout {timeout}{hide}{problems} > "$ROOT/results/dlverify.log" 2>&1
status=$?
if [ ! -s "$RESULTS" ]; then
  exec python3 -m dlverify.autograder failed "$RESULTS" "$status" "$ROOT/results/dlverify.log"
fi
"""


def write_autograder(
    ids: list[str], out: Path, hide_reference: bool = True, timeout: float = 2.0, problem_files: list[Path] = ()
) -> Path:
    """Write ``setup.sh``, ``run_autograder``, ``ids.txt`` and a copy of this package into ``out``,
    and ``out/autograder.zip`` with all of them, the file Gradescope takes; the zip's path.
    ``problem_files``: a course's problem files (dlverify/course.py), copied into the zip and
    passed to every check."""
    source = _source_root()
    out.mkdir(parents=True, exist_ok=True)
    src = out / "dlverify-src"
    if src.exists():
        shutil.rmtree(src)
    for package in PACKAGES:
        shutil.copytree(source / package, src / package, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copyfile(source / name, src / name)
    (out / "ids.txt").write_text("\n".join(ids) + "\n", encoding="utf-8")
    from dlverify import registry

    catalog_ids = [i for i in ids if registry.source_module(i)]  # a course file's are derived when checked
    (out / "warm.txt").write_text("\n".join(catalog_ids) + "\n", encoding="utf-8")
    (out / "problems").mkdir(exist_ok=True)
    names = []
    for k, path in enumerate(problem_files):
        name = f"{k}-{Path(path).name}"
        shutil.copyfile(path, out / "problems" / name)
        names.append(name)
    problems = "".join(f' --problems "$ROOT/source/problems/{name}"' for name in names)
    (out / "setup.sh").write_text(SETUP.format(torch=shlex.quote(_torch_requirement())), encoding="utf-8")
    hide = " --hide-reference" if hide_reference else ""
    run = RUN.format(timeout=f"{timeout:g}", hide=hide, problems=problems)
    (out / "run_autograder").write_text(run, encoding="utf-8")
    for script in ("setup.sh", "run_autograder"):
        (out / script).chmod(0o755)
    archive = out / "autograder.zip"
    archive.unlink(missing_ok=True)
    staging = out / ".zip-staging"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir()
    for name in ("setup.sh", "run_autograder", "ids.txt", "warm.txt"):
        shutil.copy2(out / name, staging / name)
    shutil.copytree(src, staging / "dlverify-src")
    shutil.copytree(out / "problems", staging / "problems")
    shutil.make_archive(str(archive.with_suffix("")), "zip", staging)
    shutil.rmtree(staging)
    return archive


def _source_root() -> Path:
    """The folder holding this package's sources and pyproject.toml (an editable or source install)."""
    import dlverify

    root = Path(dlverify.__file__).resolve().parent.parent
    if not (root / "pyproject.toml").is_file() or not all((root / p).is_dir() for p in PACKAGES):
        raise RuntimeError(f"the autograder copies this package's source tree, which is not at {root}")
    return root


def _torch_requirement() -> str:
    try:
        import importlib.metadata

        version = importlib.metadata.version("torch").split("+")[0]
        return f"torch=={version}"
    except Exception:  # no torch here: the range the package itself requires
        return "torch>=2.1,<3"


def _write(results: Path, payload: dict) -> None:
    results.parent.mkdir(parents=True, exist_ok=True)
    results.write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")


def refuse(results: Path, files: list[str]) -> None:
    """No answers file, or several: say so (the submission's problem, scored 0)."""
    if not files:
        text = "No answers file was found: submit one .toml file (dlverify template prints a skeleton)."
    else:
        names = ", ".join(Path(f).name for f in files)
        text = f"Several .toml files were submitted ({names}): submit exactly one answers file."
    _write(results, {"score": 0, "output": text})


def failed(results: Path, status: str, log: Path) -> None:
    """The check wrote no results: an unreadable answers file (exit 2, the message says why) or a
    failure of the checker itself, which is never the student's mistake and is said so."""
    try:
        lines = log.read_text(encoding="utf-8", errors="replace").strip().splitlines()
    except OSError:
        lines = []
    said = [line for line in lines if line.startswith("dlverify:")]
    if status == "2" and said:
        text = "Your answers file could not be read: " + said[-1].removeprefix("dlverify:").strip()
    else:
        text = (
            "The checker failed on this submission; this is not a mistake in your answers. "
            "Please tell your instructor (the autograder's log has the details)."
        )
    _write(results, {"score": 0, "output": text})


def warm(ids: list[str]) -> None:
    """Derive each problem (into the disk cache), and everything the checker prepares for it."""
    from dlverify import registry
    from dlverify.checking.worker import warm as prepare

    chosen = [p.id for p in registry.select(ids)] if ids else []
    prepare(chosen)
    print(f"prepared {len(chosen)} problems")


def main(argv: list[str]) -> int:
    if not argv:
        print("usage: python3 -m dlverify.autograder warm IDS… | refuse RESULTS [FILES…] | failed RESULTS STATUS LOG")
        return 2
    command, rest = argv[0], argv[1:]
    if command == "warm":
        warm(rest)
    elif command == "refuse":
        refuse(Path(rest[0]), rest[1:])
    elif command == "failed":
        failed(Path(rest[0]), rest[1], Path(rest[2]))
    else:
        print(f"unknown command {command}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
