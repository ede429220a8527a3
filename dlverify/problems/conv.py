"""Topic conv: output shapes against PyTorch (errors included), and the gradient identities of
a convolution against autograd.  The 1-D example of the homework is topic conv1d."""

from __future__ import annotations

from typing import Any

from dlverify.lazy import lazy
from dlverify.problem import Case, Check, Measurement, Problem, Property, SymbolSpec, Topic, one_case

TOPIC = Topic("conv", "Convolutions: output shapes and gradient identities", order=80)
NUMERIC = lazy("numerics.conv")
DERIVED = lazy("derivations.conv")


def _size(name: str, lo: str, hi: str, meaning: str) -> SymbolSpec:
    return SymbolSpec(name, name, "integer", meaning, bounds=(lo, hi))


# The shape formula's domain is a valid convolution: the padded input holds the dilated kernel
# (H + 2P ≥ D(K-1) + 1), so answers are compared there only; the oracle's cases (_general_cases)
# also draw invalid ones, where PyTorch raises.
VALID = "max(1, D*(K-1)+1-2*P)"
GENERAL_SYMBOLS = (
    _size("H", VALID, "40", "input height"),
    _size("W", VALID, "40", "input width"),
    _size("K", "1", "7", "kernel size"),
    _size("P", "0", "3", "padding on each side"),
    _size("S", "1", "4", "stride"),
    _size("D", "1", "3", "dilation"),
    _size("F", "1", "8", "number of filters"),
    _size("C", "1", "6", "input channels"),
)


# ---- shapes ---------------------------------------------------------------------------------


def _general_cases() -> Any:
    from hypothesis import strategies as st

    return st.fixed_dictionaries(
        {
            s.name: st.integers(1 if s.bounds[0] == VALID else int(s.bounds[0]), int(s.bounds[1]))
            for s in GENERAL_SYMBOLS
        }
    )


def _derived_length(size, kernel, stride, dilation, pad_l, pad_r) -> int | None:
    """The derived output length, or None where the window does not fit (invalid)."""
    from dlverify.evaluation import scalar_value

    d = DERIVED.output_length()
    case = {"L": size, "K": kernel, "S": stride, "D": dilation, "P_l": pad_l, "P_r": pad_r}
    if size + pad_l + pad_r < dilation * (kernel - 1) + 1:
        return None
    return int(scalar_value(d.result, d.symbols, case))


def _shape_measure(label: str, derived, observed) -> Measurement:
    return Measurement.holds(f"{label}: derived {derived}, PyTorch {observed}", derived == observed)


def _general_compare(problem: Problem, case: Case) -> list[Measurement]:
    from dlverify.evaluation import scalar_value

    d = problem.derive()
    valid = all(size + 2 * case["P"] >= case["D"] * (case["K"] - 1) + 1 for size in (case["H"], case["W"]))
    derived = tuple(int(scalar_value(a, d.symbols, case)) for a in d.result) if valid else None
    observed = NUMERIC.conv_shape(
        sizes=[case["H"], case["W"]],
        kernel=[case["K"]] * 2,
        stride=[case["S"]] * 2,
        dilation=[case["D"]] * 2,
        pad_left=[case["P"]] * 2,
        pad_right=[case["P"]] * 2,
        channels=case["C"],
        filters=case["F"],
        groups=1,
    )
    return [_shape_measure("conv2d output shape", derived, observed)]


def _any_conv(case: Case) -> list[Measurement]:
    """1-, 2- and 3-D, per-axis kernel/stride/dilation, asymmetric padding, groups:
    invalid exactly when PyTorch raises."""
    import random

    rng = random.Random(case["seed"])
    dims = rng.randint(1, 3)
    # per axis: size, kernel, stride, dilation, left and right padding
    ranges = ((1, 12), (1, 5), (1, 3), (1, 3), (0, 3), (0, 3))
    axes = [tuple(rng.randint(lo, hi) for lo, hi in ranges) for _ in range(dims)]
    groups = rng.choice([1, 1, 2, 3])
    channels, filters = rng.randint(1, 6), rng.randint(1, 6)
    lengths = [_derived_length(*a) for a in axes]
    valid = None not in lengths and channels % groups == 0 and filters % groups == 0
    derived = (filters, *lengths) if valid else None
    sizes, kernel, stride, dilation, pad_left, pad_right = (list(column) for column in zip(*axes, strict=True))
    observed = NUMERIC.conv_shape(
        sizes=sizes,
        kernel=kernel,
        stride=stride,
        dilation=dilation,
        pad_left=pad_left,
        pad_right=pad_right,
        channels=channels,
        filters=filters,
        groups=groups,
    )
    return [_shape_measure(f"conv{dims}d, groups {groups}", derived, observed)]


def _transposed(case: Case) -> list[Measurement]:
    import random

    from dlverify.evaluation import scalar_value

    rng = random.Random(case["seed"])
    L, K, S, D = rng.randint(1, 12), rng.randint(1, 5), rng.randint(1, 4), rng.randint(1, 3)
    P, O = rng.randint(0, 3), rng.randint(0, max(S, D) - 1)  # noqa: E741 - PyTorch's output_padding
    d = DERIVED.transposed_length()
    length = int(scalar_value(d.result, d.symbols, {"L": L, "K": K, "S": S, "D": D, "P": P, "O": O}))
    derived = length if length >= 1 else None
    return [_shape_measure("conv_transpose1d length", derived, NUMERIC.transposed_length(L, K, S, D, P, O))]


def _pooled(case: Case) -> list[Measurement]:
    import random

    from dlverify.evaluation import scalar_value

    rng = random.Random(case["seed"])
    L, K, S, D, P = rng.randint(1, 15), rng.randint(1, 5), rng.randint(1, 4), rng.randint(1, 3), rng.randint(0, 3)
    d = DERIVED.pool_length()
    length = int(scalar_value(d.result, d.symbols, {"L": L, "K": K, "S": S, "D": D, "P": P}))
    # PyTorch's conditions: padding at most half the kernel, and at least one output
    derived = length if 2 * P <= K and length >= 1 else None
    return [_shape_measure("max_pool1d(ceil_mode) length", derived, NUMERIC.pool_length(L, K, S, D, P))]


def _seeded_general_cases() -> Any:
    from hypothesis import strategies as st

    return _general_cases().flatmap(lambda c: st.integers(0, 2**31).map(lambda seed: {**c, "seed": seed}))


def shape_problem(*, id: str, title: str, statement: str, derive, oracle, cases, **more) -> Problem:
    """A shape item with a fixed setup: PyTorch's shape is the oracle, and it must match exactly."""
    return Problem(
        id=id,
        topic=id.split(".")[0],
        title=title,
        kind="shape",
        statement=statement,
        symbols=(),
        derive=derive,
        oracle=oracle,
        oracle_name=more.pop("oracle_name", "PyTorch's output shape"),
        cases=cases,
        tolerance=lambda c: 0.5,
        tolerance_note="shapes must match exactly",
        **more,
    )


# ---- gradient identities ------------------------------------------------------------------


def _identity_symbols(dims: int) -> tuple[SymbolSpec, ...]:
    tensors = (("X", "input x[c, n…]"), ("Wf", "filters W[f, c, k…]"), ("G", "upstream gradient g[f, r…]"))
    axes = ("k",) if dims == 1 else ("k1", "k2")
    sizes = ("K", "S", "D", "R") if dims == 1 else tuple(f"{k}{a}" for k in ("K", "S", "D", "R") for a in (1, 2))
    return (
        *(SymbolSpec(name, name, "sequence", meaning) for name, meaning in tensors),
        *(SymbolSpec(name, name, "index", "an entry's index") for name in ("f", "c", *axes)),
        *(SymbolSpec(name, name, "integer", "a size") for name in ("C", "F", *sizes)),
    )


def _identity_cases(dims: int) -> Any:
    from hypothesis import strategies as st

    def build(a: tuple) -> dict:
        import numpy as np

        channels, filters, seed = a[0], a[1], a[2]
        rng = np.random.default_rng(seed)
        sizes = tuple(rng.integers(1, 12, dims))
        kernel = tuple(rng.integers(1, 4, dims))  # noqa: E702
        stride = tuple(rng.integers(1, 4, dims))
        dilation = tuple(rng.integers(1, 3, dims))  # noqa: E702
        sizes = tuple(max(s, d * (k - 1) + 1) for s, k, d in zip(sizes, kernel, dilation, strict=True))
        out = tuple(
            (s - d * (k - 1) - 1) // st_ + 1 for s, k, d, st_ in zip(sizes, kernel, dilation, stride, strict=True)
        )
        return {
            "C": channels,
            "F": filters,
            "S": stride,
            "D": dilation,
            "K": kernel,
            "L": sizes,
            "R": out,
            "X": rng.uniform(-1, 1, (channels, *sizes)),
            "Wf": rng.uniform(-1, 1, (filters, channels, *kernel)),
            "G": rng.uniform(-1, 1, (filters, *out)),
        }

    return st.tuples(st.integers(1, 4), st.integers(1, 3), st.integers(0, 2**31)).map(build)


TOLERANCE_IDENTITIES = 1e-12  # relative to max(1, largest entry): sums of at most a few hundred O(1) products


def _scale(a: Any) -> float:
    import numpy as np

    return max(1.0, float(np.abs(a).max()))


def _identity_ops(case: Case) -> list[Measurement]:
    """The identity ops (correlation, transposed convolution) against autograd."""
    import numpy as np

    r = NUMERIC.gradient_identities(case["X"], case["Wf"], case["G"], case["S"], case["D"])
    w_error = float(np.abs(r["identity_W"] - r["autograd_W"]).max()) / _scale(r["autograd_W"])
    x_error = float(np.abs(r["identity_x"] - r["autograd_x"]).max()) / _scale(r["autograd_x"])
    return [
        Measurement("∂ℓ/∂W = correlation of x with g (dilation S)", w_error, TOLERANCE_IDENTITIES),
        Measurement("∂ℓ/∂x = transposed convolution of g with W", x_error, TOLERANCE_IDENTITIES),
    ]


def _entry_formula(problem: Problem, case: Case) -> list[Measurement]:
    """The derived ∂ℓ/∂W entry formula at every entry of autograd's gradient."""
    import numpy as np

    from dlverify.evaluation import scalar_value

    grad = NUMERIC.gradient_identities(case["X"], case["Wf"], case["G"], case["S"], case["D"])["autograd_W"]
    d = problem.derive()
    at = {k: case[k] for k in ("C", "F", "X", "Wf", "G")}
    if len(case["S"]) == 1:
        at.update({k: case[k][0] for k in ("K", "S", "D", "R")})
        names = ("f", "c", "k")
    else:
        at.update({f"{k}{a + 1}": case[k][a] for k in ("K", "S", "D", "R") for a in range(2)})
        names = ("f", "c", "k1", "k2")
    worst = 0.0
    for index in np.ndindex(grad.shape):
        value = scalar_value(d.result, d.symbols, {**at, **{n: i + 1 for n, i in zip(names, index, strict=True)}})
        worst = max(worst, abs(value - grad[index]) / _scale(grad))
    return [Measurement("derived ∂ℓ/∂W entry formula = autograd, every entry", worst, TOLERANCE_IDENTITIES)]


def identity_problem(*, dims: int, id: str, title: str, statement: str, derive) -> Problem:
    """A claim on the gradient identities in ``dims`` spatial dimensions: the derived entry formula and
    the identity ops, each against autograd."""
    return Problem(
        id=id,
        topic=id.split(".")[0],
        title=title,
        kind="claim",
        statement=statement,
        symbols=_identity_symbols(dims),
        derive=derive,
        oracle=lambda c: None,
        oracle_name=f"torch autograd against F.conv{dims}d / F.conv_transpose{dims}d on random sizes (float64)",
        cases=lambda: _identity_cases(dims),
        tolerance=lambda c: 1e-12,
        tolerance_note="1e-12 relative to max(1, largest entry): sums of a few hundred O(1) products",
        compare=(Check("the derived entry formula against autograd", _entry_formula),),
        properties=(Property("the identity ops against autograd", _identity_ops),),
    )


PROBLEMS = (
    shape_problem(
        id="conv.out_shape_example",
        title="Output size of a 21×12 input, 4×5 kernel, stride 4",
        statement="A 21×12 input (one channel), one 4×5 filter, stride 4, no padding: the spatial output size H × W.",
        derive=lambda: DERIVED.out_shape_example(),
        oracle=lambda c: NUMERIC.conv_shape(
            sizes=[21, 12],
            kernel=[4, 5],
            stride=[4, 4],
            dilation=[1, 1],
            pad_left=[0, 0],
            pad_right=[0, 0],
            channels=1,
            filters=1,
            groups=1,
        )[1:],
        cases=one_case,
    ),
    Problem(
        id="conv.out_shape_general",
        topic="conv",
        title="Output shape of a K×K convolution with padding, stride, dilation and F filters",
        kind="shape",
        statement="A K×K convolution with padding P on each side, stride S, dilation D and F filters on a C×H×W "
        "input: the output shape (each axis an expression in H, W, K, P, S, D, F).",
        symbols=GENERAL_SYMBOLS,
        derive=lambda: DERIVED.out_shape_general(),
        oracle=lambda c: None,
        oracle_name="PyTorch's conv shapes and errors (small CPU tensors)",
        cases=_seeded_general_cases,
        tolerance=lambda c: 0.5,
        tolerance_note="shapes must match exactly, and invalid exactly where PyTorch raises",
        sizes=("H", "W", "K"),
        compare=(Check("the conv2d output shape against PyTorch's", _general_compare),),
        properties=(
            Property("conv1d/2d/3d with asymmetric padding and groups", _any_conv),
            Property("transposed convolution", _transposed),
            Property("max pooling with ceil_mode", _pooled),
        ),
    ),
    identity_problem(
        dims=2,
        id="conv.grad_identities_2d",
        title="The same identities in 2-D (beyond the catalog)",
        statement="For conv2d with per-axis stride and dilation: ∂ℓ/∂W is the correlation of x with g dilated by "
        "the stride, ∂ℓ/∂x the transposed convolution of g with W.",
        derive=lambda: DERIVED.gradient_identities_2d(),
    ),
)
