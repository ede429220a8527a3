"""scalar_rnn beyond the generic tests: the regimes of w, the ends of T, and SymPy-side
consistency checks (which add to the autograd oracle, never replace it)."""

from __future__ import annotations

import pytest
import sympy as sp

from derivations import scalar_rnn as d
from dlverify import registry
from dlverify.crosscheck import agreement, measure

GENERAL = registry.get("scalar_rnn.dy_dw_general")


@pytest.mark.parametrize("w", [-1.5, -1.0, -0.5, 0.0, 0.5, 1.0, 1.5])
@pytest.mark.parametrize("length", [1, 2, 3, 60])
def test_general_result_in_every_regime(w: float, length: int) -> None:
    case = {"T": length, "w": w, "u": [(-1) ** k * (k % 7 + 0.25) for k in range(length)]}
    for m in measure(GENERAL, case):
        assert m.ok, f"{m.check}: {m.error:.3g} > {m.tolerance:.3g}"


def test_cancellation_does_not_cause_false_failures() -> None:
    # u chosen so that dy/dw is exactly 0 at w = 1: errors are judged against Σ|terms|.
    case = {"T": 3, "w": 1.0, "u": [1.0, -3.0, 3.0]}  # 3·1 − 2·3 + 3 = 0
    assert all(m.ok for m in agreement(GENERAL, case))


@pytest.mark.parametrize("length", range(1, 9))
def test_general_equals_differentiating_the_unrolled_expression(length: int) -> None:
    # SymPy against SymPy: a consistency check only (the oracle tests are the evidence).
    h = sp.Integer(0)
    for k in range(1, length + 1):
        h = d.w * (d.u[k] + h)
    naive = sp.expand(sp.diff(h, d.w))
    general = sp.expand(d.dy_dw_general().result.subs(d.T, length).doit())
    assert sp.simplify(naive - general) == 0


def test_induction_certificate_is_part_of_the_derivation() -> None:
    steps = d.hidden_state_general().steps
    gaps = [s.rhs for s in steps if s.text.startswith("Induction")]
    assert gaps == [0, 0]


def test_backward_pass_gives_every_node() -> None:
    adj = d.adjoints()
    assert set(adj) >= set(d.NODES) | {d.u1, d.u2, d.u3, d.h0}
    assert adj[d.p] == d.w**3


def test_underflow_is_not_mistaken_for_a_wrong_result() -> None:
    # Found by the thorough profile: w² u_1 is subnormal here, so float64 has only an
    # absolute accuracy; the comparison discounts differences below the smallest normal.
    problem = registry.get("scalar_rnn.edge_partials")
    case = {"w": 2.729090557522721e-158, "u_1": 1.59375, "u_2": 0.0, "u_3": 0.0}
    assert all(m.ok for m in agreement(problem, case))
