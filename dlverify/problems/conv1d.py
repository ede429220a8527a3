"""Topic conv1d: the homework's 1-D convolution — output, Jacobians and gradients, values and
shapes — against torch.nn.functional.conv1d, torch.func.jacrev and autograd."""

from __future__ import annotations

from typing import Any

from dlverify.lazy import lazy
from dlverify.problem import AnswerSpec, Case, Measurement, Problem, Property, SymbolSpec, Topic
from dlverify.problems.conv import identity_problem, shape_problem

TOPIC = Topic("conv1d", "A 1-D convolution and its gradients", order=85)
NUMERIC = lazy("numerics.conv")
DERIVED = lazy("derivations.conv")
SETUP_1D = (
    "1-D convolution: x has 5 channels and length 7, stored position-first, x ∈ R^{7×5}, x[n, c]; one filter "
    "W ∈ R^{1×5×3}, W[1, c, k]; kernel 3, stride 2, no padding, no bias; cross-correlation (no kernel flip). "
    "The output is f_W(x) ∈ R^3 (the filter axis dropped), g = ∂ℓ/∂f_W(x) ∈ R^3. A Jacobian ∂f/∂W has the shape of "
    "f followed by the shape of W; the gradient of ℓ has the shape of the variable."
)
JACREV = "the shape of torch.func.jacrev's Jacobian"


def _conv1d_cases() -> Any:
    from hypothesis import strategies as st

    from dlverify.strategies import matrix

    return st.fixed_dictionaries(
        {
            "x": matrix(7, 5),
            "W": matrix(5, 3).map(lambda a: a.reshape(1, 5, 3)),
            "g": matrix(3, 1).map(lambda a: a.ravel()),
        }
    )


def _jac(name: str):
    def oracle(case: Case) -> Any:
        return NUMERIC.conv1d_jacobians(case["x"], case["W"], 2)[name]

    return oracle


TENSORS = (
    SymbolSpec("x", "x", "sequence", "the input x[n, c]"),
    SymbolSpec("W", "W", "sequence", "the filter W[1, c, k]"),
    SymbolSpec(
        "g",
        "g",
        "sequence",
        "the upstream gradient g[r] = ∂ℓ/∂f_W(x)[r]",
        (r"\frac{\partial \ell}{\partial f_W(x)}", r"\frac{\partial \ell}{\partial f}"),
    ),
)
INDICES = {
    "r": SymbolSpec("r", "r", "index", "output position", bounds=("1", "3")),
    "c": SymbolSpec("c", "c", "index", "channel", bounds=("1", "5")),
    "k": SymbolSpec("k", "k", "index", "kernel tap", bounds=("1", "3")),
    "n": SymbolSpec("n", "n", "index", "input position", bounds=("1", "7")),
}


def _indexed(*, id: str, title: str, ask: str, derive, oracle, free: str, axes: tuple[str, ...], **more) -> Problem:
    """An element formula with free indices ``free``, checked at every entry of the oracle's tensor."""
    return Problem(
        id=id,
        topic="conv1d",
        title=title,
        kind="indexed",
        statement=SETUP_1D + " " + ask,
        symbols=(*TENSORS, *(INDICES[i] for i in free)),
        derive=derive,
        oracle=oracle,
        cases=_conv1d_cases,
        tolerance=lambda c: 1e-13,
        tolerance_note="1e-13 relative to max(1, largest entry): sums of 15 products of O(1) values",
        axes=axes,
        **more,
    )


def _general_entries(step_of: str):
    """The general formula (step 1 of the derivation, sizes C, L, K, S symbolic) at random sizes,
    every entry against jacrev of F.conv1d with those sizes."""

    def measure(case: Case) -> list[Measurement]:
        import random

        import numpy as np

        from dlverify.evaluation import scalar_value

        seed = int(np.abs(case["x"]).sum() * 1e6) % 2**31  # sizes drawn from the case's own values
        rng = random.Random(seed)
        C_, K_, S_ = rng.randint(1, 4), rng.randint(1, 4), rng.randint(1, 3)
        L_ = rng.randint(K_, 12)
        gen = np.random.default_rng(seed)
        x_, W_ = gen.uniform(-1, 1, (L_, C_)), gen.uniform(-1, 1, (1, C_, K_))
        tensor = NUMERIC.conv1d_jacobians(x_, W_, S_)[step_of]
        d = getattr(DERIVED, f"conv1d_{step_of}")()
        general = d.steps[0].rhs
        names = {"df_dW": ("r", "1", "c", "k"), "df_dx": ("r", "n", "c")}[step_of]
        at = {"x": x_, "W": W_, "C": C_, "L": L_, "K": K_, "S": S_}
        worst = 0.0
        for index in np.ndindex(tensor.shape):
            point = {**at, **{n: i + 1 for n, i in zip(names, index, strict=True) if not n.isdigit()}}
            worst = max(worst, abs(scalar_value(general, d.symbols, point) - tensor[index]))
        label = f"general {step_of} at C={C_}, L={L_}, K={K_}, S={S_}, every entry"
        return [Measurement(label, worst / max(1.0, float(np.abs(tensor).max())), 1e-13)]

    return measure


def _shape(id: str, title: str, ask: str, oracle, **more) -> Problem:
    entry = id.split(".")[1]
    return shape_problem(
        id=id,
        title=title,
        statement=f"{SETUP_1D} {ask}",
        derive=lambda: DERIVED.conv1d_shapes()[entry],
        oracle=oracle,
        cases=_conv1d_cases,
        **more,
    )


PROBLEMS = (
    _shape(
        "conv1d.out_shape", "Shape of f_W(x)", "The shape of f_W(x).", lambda c: NUMERIC.conv1d(c["x"], c["W"], 2).shape
    ),
    _shape(
        "conv1d.df_dW_shape",
        "Shape of ∂f/∂W",
        "The shape of ∂f_W(x)/∂W.",
        lambda c: _jac("df_dW")(c).shape,
        oracle_name=JACREV,
    ),
    _shape(
        "conv1d.df_dx_shape",
        "Shape of ∂f/∂x",
        "The shape of ∂f_W(x)/∂x.",
        lambda c: _jac("df_dx")(c).shape,
        oracle_name=JACREV,
    ),
    _shape(
        "conv1d.dl_dW_shape",
        "Shape of ∂ℓ/∂W",
        "The shape of ∂ℓ/∂W.",
        lambda c: NUMERIC.conv1d_dl_dW(c["x"], c["W"], 2, c["g"]).shape,
        oracle_name="the shape of autograd's gradient",
        answer=AnswerSpec(hint="a gradient has the shape of W"),
    ),
    identity_problem(
        dims=1,
        id="conv1d.grad_identities",
        title="∂ℓ/∂W as a correlation, ∂ℓ/∂x as a transposed convolution (general 1-D, beyond the catalog)",
        statement="For y = conv1d(x, W) with F filters, C channels, stride S and dilation D, and ℓ = Σ g ⊙ y: "
        "∂ℓ/∂W[f, c, k] = Σ_r g[f, r] x[c, S(r−1) + D(k−1) + 1] — a correlation of x with g whose taps are S apart — "
        "and ∂ℓ/∂x is the transposed convolution of g with W.",
        derive=lambda: DERIVED.gradient_identities(),
    ),
    _indexed(
        id="conv1d.out_value",
        title="f_W(x)[r]",
        ask="Give f_W(x)[r] (free index r).",
        derive=lambda: DERIVED.conv1d_out_value(),
        oracle=lambda c: NUMERIC.conv1d(c["x"], c["W"], 2).numpy(),
        free="r",
        axes=("r",),
        oracle_name="torch.nn.functional.conv1d (float64)",
    ),
    _indexed(
        id="conv1d.df_dW",
        title="Entry [r, 1, c, k] of ∂f/∂W",
        ask="Give the entry [r, 1, c, k] of ∂f_W(x)/∂W.",
        derive=lambda: DERIVED.conv1d_df_dW(),
        oracle=_jac("df_dW"),
        free="rck",
        axes=("r", "1", "c", "k"),
        oracle_name="torch.func.jacrev of F.conv1d (float64)",
        properties=(Property("the general formula at random sizes", _general_entries("df_dW")),),
    ),
    _indexed(
        id="conv1d.df_dx",
        title="Entry [r, n, c] of ∂f/∂x",
        ask="Give the entry [r, n, c] of ∂f_W(x)/∂x.",
        derive=lambda: DERIVED.conv1d_df_dx(),
        oracle=_jac("df_dx"),
        free="rnc",
        axes=("r", "n", "c"),
        oracle_name="torch.func.jacrev of F.conv1d (float64)",
        properties=(Property("the general formula at random sizes", _general_entries("df_dx")),),
    ),
    _indexed(
        id="conv1d.dl_dW",
        title="Entry [1, c, k] of ∂ℓ/∂W",
        ask="Given g, give the entry [1, c, k] of ∂ℓ/∂W.",
        derive=lambda: DERIVED.conv1d_dl_dW(),
        oracle=lambda c: NUMERIC.conv1d_dl_dW(c["x"], c["W"], 2, c["g"]),
        free="ck",
        axes=("1", "c", "k"),
        oracle_name="torch autograd through F.conv1d (float64)",
    ),
)
