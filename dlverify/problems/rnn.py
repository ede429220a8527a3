"""Topic rnn: the vanilla RNN's losses, ∂L/∂h_t (linear and tanh), and when it explodes.

Each matrix formula is cross-checked against autograd through the unrolled network
(numerics.rnn); the givens of a formula (ŷ_T and the states h_k) come from the same
network's forward pass.
"""

from __future__ import annotations

import sys
from typing import Any

from dlverify.lazy import lazy
from dlverify.problem import AnswerSpec, Case, Check, Measurement, Problem, Property, SymbolSpec, Topic

TOPIC = Topic("rnn", "Vanilla RNN: BPTT, vanishing and exploding gradients", order=20)
NUMERIC = lazy("numerics.rnn")
DERIVED = lazy("derivations.rnn")
EPS = sys.float_info.epsilon
SETUP = (
    "A vanilla RNN h_t = σ(W^h h_{t−1} + W^x x_t + b), ŷ_t = W^f h_t + b^f, h_0 = 0, with h ∈ R^m, x ∈ R^n, "
    "W^h m×m, W^x m×n, W^f 1×m (ŷ_t a scalar)."
)

LOSS_SYMBOLS = (
    SymbolSpec("yhat", r"\hat{y}", "sequence", "the predictions ŷ_t", (r"\hat y", "y_hat", "yhat")),
    SymbolSpec("y", "y", "sequence", "the targets y_t"),
    SymbolSpec("T", "T", "integer", "sequence length", bounds=("1", "")),
    SymbolSpec("t", "t", "index", "time step (bound by the sum)", bounds=("1", "T")),
)
MATRIX_SYMBOLS = (
    SymbolSpec("m", "m", "integer", "hidden size", bounds=("1", "5")),
    SymbolSpec("T", "T", "integer", "sequence length", bounds=("1", "7")),
    SymbolSpec("t", "t", "integer", "the step whose state is differentiated", bounds=("1", "T")),
    SymbolSpec(
        "yhat",
        r"\hat{y}",
        "real",
        "the last prediction ŷ_T",
        (r"\hat{y}_T", r"\hat y", r"\hat y_T", "yhat", "y_hat", "yhat_T", r"\hat{y}_{T}"),
    ),
    SymbolSpec("y", "y", "real", "the last target y_T", ("y_T", "y_{T}")),
    SymbolSpec("W^f", "W^f", "matrix", "output weights (1×m)", shape=("1", "m")),
    SymbolSpec("W^h", "W^h", "matrix", "recurrent weights (m×m)", shape=("m", "m")),
)
STATES = SymbolSpec("h", "h", "vector_sequence", "the states h_k (m-vectors), written h_k or h[k]", shape=("m", "1"))


# ---- losses ------------------------------------------------------------------------------


def _loss_cases() -> Any:
    from hypothesis import strategies as st

    from dlverify.strategies import reals

    return st.integers(1, 40).flatmap(
        lambda T: st.fixed_dictionaries(
            {
                "T": st.just(T),
                "yhat": st.lists(reals(), min_size=T, max_size=T),
                "y": st.lists(reals(), min_size=T, max_size=T),
            }
        )
    )


def _loss_tolerance(case: Case) -> float:
    # A mean of T squares: one rounding per square and per addition.
    return 4 * (case["T"] + 2) * EPS


# ---- ∂L/∂h_t -------------------------------------------------------------------------------


def _network_cases(activation: str) -> Any:
    from hypothesis import strategies as st

    from dlverify.strategies import matrix, reals, sizes_then

    def givens(case: dict) -> dict:
        states, yhat = NUMERIC.states_and_output(
            case["W^h"], case["W^x"], case["W^f"], case["b"], case["b^f"], case["x"], activation
        )
        return {**case, "h": states, "yhat": yhat}

    return (
        sizes_then(
            {"m": st.integers(1, 5), "n": st.integers(1, 3), "T": st.integers(1, 7)},
            lambda s: {
                "t": st.integers(1, s["T"]),
                "W^h": matrix(s["m"], s["m"]),
                "W^x": matrix(s["m"], s["n"]),
                "W^f": matrix(1, s["m"]),
                "b": matrix(s["m"], 1),
                "b^f": reals(1.0),
                "x": st.lists(matrix(s["n"], 1), min_size=s["T"], max_size=s["T"]),
                "y": reals(2.0),
            },
        )
    ).map(givens)


def _gradient_oracle(activation: str):
    def oracle(case: Case) -> Any:
        return NUMERIC.dL_dh(
            case["W^h"], case["W^x"], case["W^f"], case["b"], case["b^f"], case["x"], case["y"], case["t"], activation
        )

    return oracle


def _gradient_tolerance(case: Case) -> float:
    # T − t matrix–vector products of size m, in a different order on each side
    # (numpy's matrix power against autograd's backward sweep): a few ulps per product.
    return 16 * (case["T"] + 1) * (case["m"] + 1) * EPS


GRADIENT_NOTE = "16(T+1)(m+1)·eps relative to the largest entry of |W^f||W^h|^(T−t): rounding of T−t products"


# ---- exploding gradients -------------------------------------------------------------------


def _spectrum_cases() -> Any:
    """W^h = P diag(λ) P⁻¹ with a dominant eigenvalue ±ρ and the rest within ρ/2."""
    import numpy as np
    from hypothesis import strategies as st

    def build(args: tuple) -> dict:
        m, rho, sign, seed, wf_scale = args
        rng = np.random.default_rng(seed)
        lams = np.concatenate([[sign * rho], rng.uniform(-0.5, 0.5, m - 1) * rho])
        P = np.eye(m) + 0.3 * rng.uniform(-1, 1, (m, m)) / max(1, m)  # well conditioned
        W_h = P @ np.diag(lams) @ np.linalg.inv(P)
        W_f = rng.uniform(-1, 1, (1, m))
        W_f *= wf_scale / np.linalg.norm(W_f)
        return {"m": m, "rho": rho, "W^h": W_h, "W^f": W_f}

    rho = st.one_of(st.just(1.0), st.floats(0.4, 0.97), st.floats(1.03, 1.6))
    return st.tuples(
        st.integers(1, 5),
        rho,
        st.sampled_from([1.0, -1.0]),
        st.integers(0, 2**32 - 1),
        st.sampled_from([0.3, 1.0, 3.0]),
    ).map(build)


STEPS = 80


def _growth(case: Case) -> tuple[float, list[float]]:
    norms = NUMERIC.gradient_norms(case["W^h"], case["W^f"], STEPS)
    far, near = norms[0], norms[40]  # ‖g_1‖ and ‖g_41‖: 40 steps apart, far from the output
    return (far / near) ** (1 / 40), norms


def _explode_oracle(case: Case) -> frozenset[str]:
    """The options whose condition holds exactly when this case's gradient grows."""
    import numpy as np

    rate, _ = _growth(case)
    explodes = rate > 1 + 1e-9
    rho = float(max(abs(np.linalg.eigvals(case["W^h"]))))
    holds = {
        "spectral radius > 1": rho > 1 + 1e-9,
        "spectral radius < 1": rho < 1 - 1e-9,
        "spectral radius = 1": abs(rho - 1) <= 1e-9,
        "norm of W^f > 1": float(np.linalg.norm(case["W^f"])) > 1,
    }
    return frozenset(option for option, condition in holds.items() if condition == explodes)


def _rate_matches_radius(case: Case) -> list[Measurement]:
    # With the other eigenvalues within ρ/2, the ratio of norms 40 steps apart converges
    # to ρ like 2^-40 ≈ 1e-12; 1e-6 leaves room for the change of basis P.
    rate, _ = _growth(case)
    return [Measurement("growth rate of ‖∂L/∂h_t‖ = spectral radius", abs(rate - case["rho"]) / case["rho"], 1e-6)]


# ---- the running-average experiment -----------------------------------------------------


def _against_thresholds(problem: Problem, final_mse) -> list[Measurement]:
    thresholds = problem.derive().result  # (2 layers, 1 layer)
    out = []
    for layers, threshold in ((2, thresholds[0]), (1, thresholds[1])):
        mse = final_mse(layers)
        out.append(Measurement(f"{layers}-layer training MSE {mse:.2e} < {float(threshold):g}", mse, float(threshold)))
    return out


def _stacked_compare(problem: Problem, case: Case) -> list[Measurement]:
    """Each network trained now: its final MSE against its threshold (error/tolerance = MSE/threshold)."""
    from numerics.running_average import train

    return _against_thresholds(problem, lambda layers: train(layers)["final_mse"])


def _stacked_recorded(problem: Problem) -> list[Measurement]:
    """The same comparison on the stored results of scripts/running_average.py."""
    import json
    from pathlib import Path

    stored = json.loads((Path(__file__).resolve().parents[1] / "data" / "running_average.json").read_text())
    return _against_thresholds(problem, lambda layers: stored[str(layers)]["final_mse"])


def _stacked_cases() -> Any:
    from hypothesis import strategies as st

    return st.just({"experiment": "running average, numerics.running_average.CONFIG"})


def _common(**kw: Any) -> dict[str, Any]:
    return {"topic": TOPIC.name, **kw}


def _gradient_problem(activation: str, title: str, ask: str, symbols: tuple) -> Problem:
    """∂L/∂h_t for one activation: derived by derivations.rnn.dL_dh_<activation>, checked by autograd."""
    return Problem(
        id=f"rnn.dL_dh_{activation}",
        title=title,
        kind="matrix",
        statement=SETUP + ask,
        symbols=symbols,
        derive=lambda: getattr(DERIVED, f"dL_dh_{activation}")(),
        oracle=_gradient_oracle(activation),
        oracle_name="torch autograd through the unrolled RNN (float64)",
        cases=lambda: _network_cases(activation),
        tolerance=_gradient_tolerance,
        tolerance_note=GRADIENT_NOTE,
        sizes=("m", "T"),
        **_common(),
    )


PROBLEMS = (
    Problem(
        id="rnn.loss_all_steps",
        title="MSE loss over all steps",
        kind="expr",
        statement=SETUP + " Write the MSE loss of one sequence when every step is scored (ŷ_t against y_t).",
        symbols=LOSS_SYMBOLS,
        derive=lambda: DERIVED.loss_all_steps(),
        oracle=lambda c: NUMERIC.mse_all_steps(c["yhat"], c["y"]),
        oracle_name="torch.nn.functional.mse_loss (float64)",
        cases=_loss_cases,
        tolerance=_loss_tolerance,
        tolerance_note="4(T+2)·eps relative to the loss",
        sizes=("T",),
        **_common(),
    ),
    Problem(
        id="rnn.loss_last_step",
        title="MSE loss of the last step",
        kind="expr",
        statement=SETUP + " Write the MSE loss of one sequence when only the last step is scored.",
        symbols=LOSS_SYMBOLS[:3],
        derive=lambda: DERIVED.loss_last_step(),
        oracle=lambda c: NUMERIC.mse_last_step(c["yhat"], c["y"]),
        oracle_name="torch.nn.functional.mse_loss (float64)",
        cases=_loss_cases,
        tolerance=_loss_tolerance,
        tolerance_note="4(T+2)·eps relative to the loss",
        sizes=("T",),
        **_common(),
    ),
    _gradient_problem(
        "linear",
        "∂L/∂h_t of a linear RNN",
        " With σ = identity and L = (ŷ_T − y_T)², find ∂L/∂h_t (a 1×m row vector) in terms of ŷ, y, W^f, W^h, T and t.",
        MATRIX_SYMBOLS,
    ),
    _gradient_problem(
        "tanh",
        "∂L/∂h_t of a tanh RNN",
        " With σ = tanh and L = (ŷ_T − y_T)², find ∂L/∂h_t (a row vector) in terms of ŷ, y, W^f, W^h, the states h_k, "
        "T and t: a product of per-step Jacobians diag(1 − h_k ⊙ h_k) W^h (mind the order).",
        (*MATRIX_SYMBOLS, STATES),
    ),
    Problem(
        id="rnn.explode_condition",
        title="When ∂L/∂h_t explodes",
        kind="choice",
        statement=SETUP + " For the linear RNN with diagonalizable W^h, when does ‖∂L/∂h_t‖ grow without bound as "
        "T − t grows (for generic W^f and ŷ − y)? Options: spectral radius > 1, spectral radius < 1, spectral "
        "radius = 1, norm of W^f > 1.",
        symbols=(),
        derive=lambda: DERIVED.explode_condition(),
        oracle=_explode_oracle,
        oracle_name="autograd gradient norms over 80 steps, W^h built from chosen eigenvalues",
        cases=_spectrum_cases,
        tolerance=lambda case: 0.5,
        tolerance_note="the key must be consistent with the measured growth in every case",
        properties=(Property("growth rate equals the spectral radius", _rate_matches_radius),),
        answer=AnswerSpec(
            options=("spectral radius > 1", "spectral radius < 1", "spectral radius = 1", "norm of W^f > 1")
        ),
        **_common(),
    ),
    Problem(
        id="rnn.stacked",
        title="Running average: 2 layers below 0.001, 1 layer below 0.01",
        kind="claim",
        statement=SETUP + " On the running-average task (n = 1, y_t = (1/t) Σ_{i≤t} x_i), a 2-layer RNN reaches a "
        "training MSE below 0.001 and a 1-layer RNN below 0.01, with at most 8 hidden units: 256 sequences of "
        "length 10, x ~ U(0, 1), σ the logistic sigmoid, full-batch Adam (lr 0.01, 3000 steps), torch seed 0.",
        symbols=(),
        derive=lambda: DERIVED.stacked(),
        oracle=lambda c: None,
        oracle_name="training in PyTorch (numerics.running_average, float64, fixed seed)",
        cases=_stacked_cases,
        tolerance=lambda c: 1.0,
        tolerance_note="each final training MSE must stay below its threshold",
        compare=(Check("each network trained now against its threshold", _stacked_compare),),
        recorded=_stacked_recorded,
        recorded_by="python scripts/running_average.py",
        **_common(),
    ),
)

# The homework's experiment questions (issue 27), described with the others in dlverify/problems/measured.py.
from dlverify.problems import measured  # noqa: E402

PROBLEMS = (*PROBLEMS, *measured.rnn_items(SETUP))
