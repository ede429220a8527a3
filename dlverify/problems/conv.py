"""Topics conv and conv1d: output shapes against PyTorch (meta device, errors included) and
the 1-D example's values and gradients against torch.nn.functional.conv1d and autograd."""

from __future__ import annotations

from typing import Any

from dlverify.problem import AnswerSpec, Case, Measurement, Problem, Property, SymbolSpec

SETUP_1D = (
    "1-D convolution: x has 5 channels and length 7, stored position-first, x ∈ R^{7×5}, x[n, c]; one filter "
    "W ∈ R^{1×5×3}, W[1, c, k]; kernel 3, stride 2, no padding, no bias; cross-correlation (no kernel flip). "
    "The output is f_W(x) ∈ R^3 (the filter axis dropped), g = ∂ℓ/∂f_W(x) ∈ R^3. A Jacobian ∂f/∂W has the shape of "
    "f followed by the shape of W; the gradient of ℓ has the shape of the variable."
)


def _derivations() -> Any:
    from derivations import conv

    return conv


def _numerics() -> Any:
    from numerics import conv

    return conv


def _int(name: str, lo: str, hi: str, meaning: str) -> SymbolSpec:
    return SymbolSpec(name, name, "integer", meaning, bounds=(lo, hi))


GENERAL_SYMBOLS = (
    _int("H", "1", "40", "input height"), _int("W", "1", "40", "input width"), _int("K", "1", "7", "kernel size"),
    _int("P", "0", "3", "padding on each side"), _int("S", "1", "4", "stride"), _int("D", "1", "3", "dilation"),
    _int("F", "1", "8", "number of filters"), _int("C", "1", "6", "input channels"),
)  # fmt: skip


# ---- shapes ---------------------------------------------------------------------------------


def _general_cases() -> Any:
    from hypothesis import strategies as st

    return st.fixed_dictionaries(
        {k: st.integers(int(s.bounds[0]), int(s.bounds[1])) for k, s in ((s.name, s) for s in GENERAL_SYMBOLS)}
    )


def _derived_length(size, kernel, stride, dilation, pad_l, pad_r) -> int | None:
    """The derived output length, or None where the window does not fit (invalid)."""
    from dlverify.evaluation import scalar_value

    d = _derivations().output_length()
    case = {"L": size, "K": kernel, "S": stride, "D": dilation, "P_l": pad_l, "P_r": pad_r}
    if size + pad_l + pad_r < dilation * (kernel - 1) + 1:
        return None
    return int(scalar_value(d.result, d.symbols, case))


def _shape_measure(label: str, derived, observed) -> Measurement:
    return Measurement(f"{label}: derived {derived}, PyTorch {observed}", 0.0 if derived == observed else 1.0, 0.5)


def _general_compare(problem: Problem, case: Case) -> list[Measurement]:
    from dlverify.evaluation import scalar_value

    d = problem.derive()
    valid = all(size + 2 * case["P"] >= case["D"] * (case["K"] - 1) + 1 for size in (case["H"], case["W"]))
    derived = tuple(int(scalar_value(a, d.symbols, case)) for a in d.result) if valid else None
    observed = _numerics().conv_shape(
        [case["H"], case["W"]], [case["K"]] * 2, [case["S"]] * 2, [case["D"]] * 2, [case["P"]] * 2, [case["P"]] * 2,
        case["C"], case["F"], 1,
    )  # fmt: skip
    return [_shape_measure("conv2d output shape", derived, observed)]


def _any_conv(case: Case) -> list[Measurement]:
    """1-, 2- and 3-D, per-axis kernel/stride/dilation, asymmetric padding, groups:
    invalid exactly when PyTorch raises."""
    import random

    rng = random.Random(case["seed"])
    dims = rng.randint(1, 3)
    axes = [
        tuple(rng.randint(lo, hi) for lo, hi in ((1, 12), (1, 5), (1, 3), (1, 3), (0, 3), (0, 3)))
        for _ in range(dims)
    ]  # fmt: skip
    groups = rng.choice([1, 1, 2, 3])
    channels, filters = rng.randint(1, 6), rng.randint(1, 6)
    lengths = [_derived_length(*a) for a in axes]
    valid = None not in lengths and channels % groups == 0 and filters % groups == 0
    derived = (filters, *lengths) if valid else None
    observed = _numerics().conv_shape(
        [a[0] for a in axes], [a[1] for a in axes], [a[2] for a in axes], [a[3] for a in axes],
        [a[4] for a in axes], [a[5] for a in axes], channels, filters, groups,
    )  # fmt: skip
    return [_shape_measure(f"conv{dims}d, groups {groups}", derived, observed)]


def _transposed(case: Case) -> list[Measurement]:
    import random

    from dlverify.evaluation import scalar_value

    rng = random.Random(case["seed"])
    L, K, S, D = rng.randint(1, 12), rng.randint(1, 5), rng.randint(1, 4), rng.randint(1, 3)
    P, O = rng.randint(0, 3), rng.randint(0, max(S, D) - 1)  # noqa: E741 - PyTorch's output_padding
    d = _derivations().transposed_length()
    length = int(scalar_value(d.result, d.symbols, {"L": L, "K": K, "S": S, "D": D, "P": P, "O": O}))
    derived = length if length >= 1 else None
    return [_shape_measure("conv_transpose1d length", derived, _numerics().transposed_length(L, K, S, D, P, O))]


def _pooled(case: Case) -> list[Measurement]:
    import random

    from dlverify.evaluation import scalar_value

    rng = random.Random(case["seed"])
    L, K, S, D, P = rng.randint(1, 15), rng.randint(1, 5), rng.randint(1, 4), rng.randint(1, 3), rng.randint(0, 3)
    d = _derivations().pool_length()
    length = int(scalar_value(d.result, d.symbols, {"L": L, "K": K, "S": S, "D": D, "P": P}))
    # PyTorch's conditions: padding at most half the kernel, and at least one output
    derived = length if 2 * P <= K and length >= 1 else None
    return [_shape_measure("max_pool1d(ceil_mode) length", derived, _numerics().pool_length(L, K, S, D, P))]


def _seeded_general_cases() -> Any:
    from hypothesis import strategies as st

    return _general_cases().flatmap(lambda c: st.integers(0, 2**31).map(lambda seed: {**c, "seed": seed}))


def _fixed(pid: str, title: str, statement: str, derive, oracle, **kw) -> Problem:
    from_topic = pid.split(".")[0]
    return Problem(
        id=pid, topic=from_topic, title=title, kind="shape", statement=statement, symbols=(),
        derive=derive, oracle=oracle, oracle_name=kw.pop("oracle_name", "PyTorch's output shape"),
        cases=kw.pop("cases", _conv1d_cases), tolerance=lambda c: 0.5, tolerance_note="shapes must match exactly",
        **kw,
    )  # fmt: skip


# ---- the 1-D example ----------------------------------------------------------------------------


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
        return _numerics().conv1d_jacobians(case["x"], case["W"], 2)[name]

    return oracle


TENSORS = (
    SymbolSpec("x", "x", "sequence", "the input x[n, c]"),
    SymbolSpec("W", "W", "sequence", "the filter W[1, c, k]"),
    SymbolSpec("g", "g", "sequence", "the upstream gradient g[r] = ∂ℓ/∂f_W(x)[r]"),
)
INDICES = {
    "r": SymbolSpec("r", "r", "index", "output position", bounds=("1", "3")),
    "c": SymbolSpec("c", "c", "index", "channel", bounds=("1", "5")),
    "k": SymbolSpec("k", "k", "index", "kernel tap", bounds=("1", "3")),
    "n": SymbolSpec("n", "n", "index", "input position", bounds=("1", "7")),
}


def _indexed(pid: str, title: str, ask: str, derive, oracle, free: str, axes: tuple[str, ...], oracle_name: str,
             properties: tuple = ()):  # fmt: skip
    return Problem(
        id=pid, topic="conv1d", title=title, kind="indexed", statement=SETUP_1D + " " + ask,
        symbols=(*TENSORS, *(INDICES[i] for i in free)), derive=derive, oracle=oracle, oracle_name=oracle_name,
        cases=_conv1d_cases, tolerance=lambda c: 1e-13,
        tolerance_note="1e-13 relative to max(1, largest entry): sums of 15 products of O(1) values",
        axes=axes, properties=properties,
    )  # fmt: skip


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
            "C": channels, "F": filters, "S": stride, "D": dilation, "K": kernel, "L": sizes, "R": out,
            "X": rng.uniform(-1, 1, (channels, *sizes)), "Wf": rng.uniform(-1, 1, (filters, channels, *kernel)),
            "G": rng.uniform(-1, 1, (filters, *out)),
        }  # fmt: skip

    return st.tuples(st.integers(1, 4), st.integers(1, 3), st.integers(0, 2**31)).map(build)


def _identities_compare(problem: Problem, case: Case) -> list[Measurement]:
    """The identity ops against autograd, and (1-D) the derived entry formula at every entry."""
    import numpy as np

    from dlverify.evaluation import scalar_value

    r = _numerics().gradient_identities(case["X"], case["Wf"], case["G"], case["S"], case["D"])
    scale = lambda a: max(1.0, float(np.abs(a).max()))  # noqa: E731
    tol = 1e-12  # sums of at most a few hundred O(1) products
    out = [
        Measurement("∂ℓ/∂W = correlation of x with g (dilation S)",
                    float(np.abs(r["identity_W"] - r["autograd_W"]).max()) / scale(r["autograd_W"]), tol),
        Measurement("∂ℓ/∂x = transposed convolution of g with W",
                    float(np.abs(r["identity_x"] - r["autograd_x"]).max()) / scale(r["autograd_x"]), tol),
    ]  # fmt: skip
    d = problem.derive()
    grad = r["autograd_W"]
    worst = 0.0
    at = {k: case[k] for k in ("C", "F", "X", "Wf", "G")}
    if len(case["S"]) == 1:
        at.update({k: case[k][0] for k in ("K", "S", "D", "R")})
        names = ("f", "c", "k")
    else:
        at.update({f"{k}{a + 1}": case[k][a] for k in ("K", "S", "D", "R") for a in range(2)})
        names = ("f", "c", "k1", "k2")
    for index in np.ndindex(grad.shape):
        value = scalar_value(d.result, d.symbols, {**at, **{n: i + 1 for n, i in zip(names, index, strict=True)}})
        worst = max(worst, abs(value - grad[index]) / scale(grad))
    out.append(Measurement("derived ∂ℓ/∂W entry formula = autograd, every entry", worst, tol))
    return out


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
        tensor = _numerics().conv1d_jacobians(x_, W_, S_)[step_of]
        d = getattr(_derivations(), f"conv1d_{step_of}")()
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


def _identity_problem(dims: int, pid: str, title: str, statement: str, derive) -> Problem:
    """A claim on the gradient identities in ``dims`` spatial dimensions, checked by _identities_compare."""
    return Problem(
        id=pid,
        topic=pid.split(".")[0],
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
        compare=_identities_compare,
    )


def _shape_of(name: str):
    return lambda: _derivations().conv1d_shapes()[name]


PROBLEMS = (
    _fixed(
        "conv.out_shape_example", "Output size of a 21×12 input, 4×5 kernel, stride 4",
        "A 21×12 input (one channel), one 4×5 filter, stride 4, no padding: the spatial output size H × W.",
        lambda: _derivations().out_shape_example(),
        lambda c: _numerics().conv_shape([21, 12], [4, 5], [4, 4], [1, 1], [0, 0], [0, 0], 1, 1, 1)[1:],
        cases=lambda: __import__("hypothesis").strategies.just({}),
    ),
    Problem(
        id="conv.out_shape_general",
        topic="conv",
        title="Output shape of a K×K convolution with padding, stride, dilation and F filters",
        kind="shape",
        statement="A K×K convolution with padding P on each side, stride S, dilation D and F filters on a C×H×W "
        "input: the output shape (each axis an expression in H, W, K, P, S, D, F).",
        symbols=GENERAL_SYMBOLS,
        derive=lambda: _derivations().out_shape_general(),
        oracle=lambda c: None,
        oracle_name="PyTorch's conv shapes and errors (small CPU tensors)",
        cases=_seeded_general_cases,
        tolerance=lambda c: 0.5,
        tolerance_note="shapes must match exactly, and invalid exactly where PyTorch raises",
        sizes=("H", "W", "K"),
        compare=_general_compare,
        properties=(
            Property("conv1d/2d/3d with asymmetric padding and groups", _any_conv),
            Property("transposed convolution", _transposed),
            Property("max pooling with ceil_mode", _pooled),
        ),
    ),
    _fixed("conv1d.out_shape", "Shape of f_W(x)", SETUP_1D + " The shape of f_W(x).", _shape_of("out_shape"),
           lambda c: _numerics().conv1d(c["x"], c["W"], 2).shape),
    _fixed("conv1d.df_dW_shape", "Shape of ∂f/∂W", SETUP_1D + " The shape of ∂f_W(x)/∂W.", _shape_of("df_dW_shape"),
           lambda c: _jac("df_dW")(c).shape, oracle_name="the shape of torch.func.jacrev's Jacobian"),
    _fixed("conv1d.df_dx_shape", "Shape of ∂f/∂x", SETUP_1D + " The shape of ∂f_W(x)/∂x.", _shape_of("df_dx_shape"),
           lambda c: _jac("df_dx")(c).shape, oracle_name="the shape of torch.func.jacrev's Jacobian"),
    _fixed("conv1d.dl_dW_shape", "Shape of ∂ℓ/∂W", SETUP_1D + " The shape of ∂ℓ/∂W.", _shape_of("dl_dW_shape"),
           lambda c: _numerics().conv1d_dl_dW(c["x"], c["W"], 2, c["g"]).shape,
           oracle_name="the shape of autograd's gradient", answer=AnswerSpec(hint="a gradient has the shape of W")),
    _identity_problem(
        1,
        "conv1d.grad_identities",
        "∂ℓ/∂W as a correlation, ∂ℓ/∂x as a transposed convolution (general 1-D, beyond the catalog)",
        "For y = conv1d(x, W) with F filters, C channels, stride S and dilation D, and ℓ = Σ g ⊙ y: "
        "∂ℓ/∂W[f, c, k] = Σ_r g[f, r] x[c, S(r−1) + D(k−1) + 1] — a correlation of x with g whose taps are S apart — "
        "and ∂ℓ/∂x is the transposed convolution of g with W.",
        lambda: _derivations().gradient_identities(),
    ),
    _identity_problem(
        2,
        "conv.grad_identities_2d",
        "The same identities in 2-D (beyond the catalog)",
        "For conv2d with per-axis stride and dilation: ∂ℓ/∂W is the correlation of x with g dilated by "
        "the stride, ∂ℓ/∂x the transposed convolution of g with W.",
        lambda: _derivations().gradient_identities_2d(),
    ),
    _indexed("conv1d.out_value", "f_W(x)[r]", "Give f_W(x)[r] (free index r).",
             lambda: _derivations().conv1d_out_value(), lambda c: _numerics().conv1d(c["x"], c["W"], 2).numpy(),
             "r", ("r",), "torch.nn.functional.conv1d (float64)"),
    _indexed("conv1d.df_dW", "Entry [r, 1, c, k] of ∂f/∂W", "Give the entry [r, 1, c, k] of ∂f_W(x)/∂W.",
             lambda: _derivations().conv1d_df_dW(), _jac("df_dW"), "rck", ("r", "1", "c", "k"),
             "torch.func.jacrev of F.conv1d (float64)",
             (Property("the general formula at random sizes", _general_entries("df_dW")),)),
    _indexed("conv1d.df_dx", "Entry [r, n, c] of ∂f/∂x", "Give the entry [r, n, c] of ∂f_W(x)/∂x.",
             lambda: _derivations().conv1d_df_dx(), _jac("df_dx"), "rnc", ("r", "n", "c"),
             "torch.func.jacrev of F.conv1d (float64)",
             (Property("the general formula at random sizes", _general_entries("df_dx")),)),
    _indexed("conv1d.dl_dW", "Entry [1, c, k] of ∂ℓ/∂W", "Given g, give the entry [1, c, k] of ∂ℓ/∂W.",
             lambda: _derivations().conv1d_dl_dW(),
             lambda c: _numerics().conv1d_dl_dW(c["x"], c["W"], 2, c["g"]), "ck", ("1", "c", "k"),
             "torch autograd through F.conv1d (float64)"),
)  # fmt: skip
