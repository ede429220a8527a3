"""Convolution shapes, and the 1-D convolution of the catalog with its gradients.

Output length along one axis: a window of K taps D apart starts at positions 0, S, 2S, …
of the padded input (length L + P_l + P_r) and must end inside it.  The 1-D example is
derived entry by entry with indexed symbols (position-first x[n, c], W[1, c, k],
cross-correlation, 1-based indices), for general C, L, K, S and D, then specialised.
"""

from __future__ import annotations

from functools import cache

import sympy as sp

from derivations.core import Derivation, Step
from derivations.symbols import Entry, Name, Partial, Position, Words, minus, plus, times

L, K, S, D = sp.symbols("L K S D", integer=True, positive=True)
P_l, P_r, P = sp.symbols("P_l P_r P", integer=True, nonnegative=True)
H, W_in, F, C = sp.symbols("H W F C", integer=True, positive=True)
p = sp.Symbol("p", integer=True, nonnegative=True)


@cache
def output_length() -> Derivation:
    """floor((L + P_l + P_r − D(K−1) − 1)/S) + 1, valid when the window fits: L + P_l + P_r ≥ D(K−1) + 1."""
    padded = L + P_l + P_r
    last_tap = p + D * (K - 1)  # 0-based position of the window's last tap when it starts at p
    bound = sp.solve(sp.Le(last_tap, padded - 1), p)
    span = padded - 1 - D * (K - 1)  # the largest start
    result = sp.floor(span / S) + 1
    # SymPy check on a grid: the count of admissible starts 0, S, 2S, … equals the formula
    for vals in [(7, 0, 0, 3, 2, 1), (21, 0, 0, 4, 4, 1), (9, 1, 2, 3, 2, 2), (5, 2, 2, 2, 3, 3)]:
        sub = dict(zip((L, P_l, P_r, K, S, D), vals, strict=True))
        starts = [
            q
            for q in range(0, int(padded.subs(sub)))
            if q % int(S.subs(sub)) == 0 and q + int((D * (K - 1)).subs(sub)) <= int((padded - 1).subs(sub))
        ]
        if len(starts) != result.subs(sub):
            raise ArithmeticError(f"window count at {vals}")
    steps = (
        Step("Padding makes the input", rhs=padded, lhs=Name("L'")),
        Step(
            "A window starting at p (0-based) has its last tap at",
            rhs=last_tap,
            lhs=plus("p", times("D", plus("K", minus(1)))),
        ),
        Step(
            "It must end inside the padded input; SymPy solves for the start:",
            rhs=bound,
            lhs=Words("admissible", "p"),
        ),
        Step("The starts are 0, S, 2S, … up to", rhs=span, lhs=Name(r"p_{\max}")),
        Step(
            "so their number is (valid when the largest start is ≥ 0, i.e. L' ≥ D(K−1) + 1; a grid of values "
            "is counted by SymPy to confirm):",
            rhs=result,
            lhs=Name(r"L_{\text{out}}"),
        ),
    )
    return Derivation(result, steps, {"L": L, "P_l": P_l, "P_r": P_r, "K": K, "S": S, "D": D})


def length(
    size: sp.Basic, kernel: sp.Basic, stride: sp.Basic, dilation: sp.Basic, pad_l: sp.Basic, pad_r: sp.Basic
) -> sp.Basic:
    return output_length().result.xreplace({L: size, K: kernel, S: stride, D: dilation, P_l: pad_l, P_r: pad_r})


@cache
def transposed_length() -> Derivation:
    """Transposed convolution: the input's positions spread S apart, each writing K taps D apart."""
    out_pad = sp.Symbol("O", integer=True, nonnegative=True)  # output_padding
    result = (L - 1) * S - 2 * P + D * (K - 1) + out_pad + 1
    steps = (
        Step(
            "The last input position lands at (L − 1)S and writes its last tap D(K − 1) further; padding P "
            "removes P positions at each end and output_padding O adds O at the end (O < max(S, D)):",
            rhs=result,
            lhs=Name(r"L_{\text{out}}"),
        ),
    )
    return Derivation(result, steps, {"L": L, "K": K, "S": S, "D": D, "P": P, "O": out_pad})


@cache
def pool_length() -> Derivation:
    """Max pooling with ceil_mode: ceil instead of floor, but a window may not start in the right padding."""
    ceil = sp.ceiling((L + 2 * P - D * (K - 1) - 1) / S) + 1
    result = sp.Piecewise((ceil - 1, (ceil - 1) * S >= L + P), (ceil, True))
    steps = (
        Step(
            "With ceil_mode the count rounds up, keeping a partial last window:",
            rhs=ceil,
            lhs=Words("count"),
        ),
        Step(
            "but a window that would start in the right padding is dropped (PyTorch's rule):",
            rhs=result,
            lhs=Name(r"L_{\text{out}}"),
        ),
    )
    return Derivation(result, steps, {"L": L, "K": K, "S": S, "D": D, "P": P})


@cache
def out_shape_example() -> Derivation:
    h, w = length(21, 4, 4, 1, 0, 0), length(12, 5, 4, 1, 0, 0)
    steps = (
        Step("Height: 21 rows, kernel 4, stride 4, no padding:", rhs=h, lhs=Name(r"H_{\text{out}}")),
        Step("Width: 12 columns, kernel 5, stride 4:", rhs=w, lhs=Name(r"W_{\text{out}}")),
    )
    return Derivation(sp.Tuple(h, w), steps, {})


@cache
def out_shape_general() -> Derivation:
    h, w = length(H, K, S, D, P, P), length(W_in, K, S, D, P, P)
    result = sp.Tuple(F, h, w)
    steps = (
        Step(
            "Each of the F filters gives one output channel; each spatial axis follows the output length with "
            "P_l = P_r = P:",
            rhs=result,
            lhs=Words("output shape"),
        ),
    )
    return Derivation(result, steps, {"H": H, "W": W_in, "K": K, "P": P, "S": S, "D": D, "F": F, "C": C})


# ---- the 1-D example: x[n, c] (n = 1..L, c = 1..C), one filter W[1, c, k], stride S -------------

x, Wt, g = sp.IndexedBase("x"), sp.IndexedBase("W"), sp.IndexedBase("g")
r, c, k, n = sp.symbols("r c k n", integer=True, positive=True)
_c, _k = sp.symbols("i j", integer=True, positive=True)  # bound: channel and tap of the window
EXAMPLE = {C: 5, L: 7, K: 3, S: 2}
INDEXED = {"x": x, "W": Wt, "g": g, "r": r, "c": c, "k": k, "n": n, "C": C, "L": L, "K": K, "S": S}


def _in_range(expr: sp.Basic, domain: set) -> sp.Basic:
    """Drop the range conditions SymPy keeps on Kronecker-delta sums: the indices are entries."""

    known = {d.canonical for d in domain}

    def holds(cond: sp.Basic) -> bool:
        parts = cond.args if isinstance(cond, sp.And) else (cond,)
        return all(part.canonical in known for part in parts)

    for _ in range(3):
        expr = expr.replace(lambda e: isinstance(e, sp.Piecewise) and holds(e.args[0].cond), lambda e: e.args[0].expr)
    return expr


def _f_general() -> sp.Basic:
    return sp.Sum(sp.Sum(Wt[1, _c, _k] * x[S * (r - 1) + _k, _c], (_k, 1, K)), (_c, 1, C))


def _specialise(expr: sp.Basic) -> sp.Basic:
    return expr.xreplace(EXAMPLE)


@cache
def conv1d_out_value() -> Derivation:
    general = _f_general().xreplace({_c: c, _k: k})  # only r is free here: the sums may use c and k
    result = _specialise(general)
    steps = (
        Step(
            "Output r starts at input position S(r − 1) + 1 (1-based) and correlates the C × K filter with the "
            "window, without flipping it:",
            rhs=general,
            lhs=Entry("f_W(x)", "r"),
        ),
        Step("With C = 5 channels, kernel K = 3 and stride S = 2:", rhs=result, lhs=Entry("f_W(x)", "r")),
    )
    return Derivation(result, steps, INDEXED)


@cache
def conv1d_df_dW() -> Derivation:
    raw = sp.diff(_f_general(), Wt[1, c, k]).doit()
    general = _in_range(raw, {c >= 1, c <= C, k >= 1, k <= K})
    result = _specialise(general)
    steps = (
        Step(
            "Differentiate f_W(x)[r] in the filter entry W[1, c, k]: only the term with c' = c, k' = k survives "
            "(SymPy sums the Kronecker deltas):",
            rhs=general,
            lhs=Partial(Entry("f", "r"), Entry("W", 1, "c", "k")),
        ),
        Step("In the example:", rhs=result, lhs=Position("r", 1, "c", "k")),
    )
    return Derivation(result, steps, INDEXED)


@cache
def conv1d_df_dx() -> Derivation:
    raw = sp.diff(_f_general(), x[n, c]).doit()
    general = _in_range(raw, {c >= 1, c <= C})  # only c's range: the window's indicator on k stays
    result = _specialise(general)
    steps = (
        Step(
            "Differentiate f_W(x)[r] in the input entry x[n, c]: the tap k = n − S(r − 1) touches it, if that "
            "k is within 1..K (an indicator):",
            rhs=general,
            lhs=Partial(Entry("f", "r"), Entry("x", "n", "c")),
        ),
        Step("In the example:", rhs=result, lhs=Position("r", "n", "c")),
    )
    return Derivation(result, steps, INDEXED)


@cache
def conv1d_dl_dW() -> Derivation:
    outputs = output_length().result.xreplace({P_l: 0, P_r: 0, D: 1})
    per_entry = conv1d_df_dW().steps[0].rhs  # ∂f[r]/∂W[1, c, k] for general sizes
    general = sp.Sum(g[r] * per_entry, (r, 1, outputs))
    result = _specialise(general)
    steps = (
        Step(
            "The chain rule over the outputs: ∂ℓ/∂W[1, c, k] = Σ_r g[r] ∂f[r]/∂W[1, c, k], with the per-entry Jacobian",
            rhs=per_entry,
            lhs=Partial(Entry("f", "r"), Entry("W", 1, "c", "k")),
        ),
        Step(
            "Summed over the output positions r = 1..L_out — a correlation of x with g spread S apart:",
            rhs=general,
            lhs=Partial(r"\ell", Entry("W", 1, "c", "k")),
        ),
        Step(
            "In the example (L_out = 3):",
            rhs=result,
            lhs=Partial(r"\ell", Entry("W", 1, "c", "k")),
        ),
    )
    return Derivation(result, steps, INDEXED)


@cache
def conv1d_shapes() -> dict[str, Derivation]:
    """The shapes by the layout rule: a Jacobian ∂a/∂b is shape(a) + shape(b); ∂ℓ/∂W has W's shape."""
    out = length(L, K, S, 1, 0, 0).xreplace(EXAMPLE)
    f_shape, W_shape, x_shape = (out,), (1, EXAMPLE[C], EXAMPLE[K]), (EXAMPLE[L], EXAMPLE[C])
    shapes = {
        "out_shape": f_shape,
        "df_dW_shape": f_shape + W_shape,
        "df_dx_shape": f_shape + x_shape,
        "dl_dW_shape": W_shape,
    }
    text = {
        "out_shape": "With one filter the output has L_out = floor((7 − 3)/2) + 1 positions (filter axis dropped):",
        "df_dW_shape": "A Jacobian has the shape of f followed by the shape of W (1 × 5 × 3):",
        "df_dx_shape": "The shape of f followed by the shape of x (7 × 5, position-first):",
        "dl_dW_shape": "The gradient of the scalar ℓ has the shape of W:",
    }
    # a Jacobian's operands, in layout order: an answer may group its axes by them, 3 × (7 × 5)
    operands = {"df_dW_shape": {"f": f_shape, "W": W_shape}, "df_dx_shape": {"f": f_shape, "x": x_shape}}
    derived = {}
    for name, shape in shapes.items():
        given = {f"shape of {a}": sp.Tuple(*s) for a, s in operands.get(name, {}).items()}
        if given and sum((tuple(s) for s in given.values()), ()) != shape:
            raise ArithmeticError(f"{name}: the operands' shapes do not make up the shape")
        step = Step(text[name], rhs=sp.Tuple(*shape), lhs=Words("shape"))
        derived[name] = Derivation(sp.Tuple(*shape), (step,), {}, given=given)
    return derived


# ---- general 1-D gradients (channel-first, F filters, dilation D) and the two identities ---------

X, Wf, G = sp.IndexedBase("X"), sp.IndexedBase("Wf"), sp.IndexedBase("G")
f_, ci, ki, ri, ni = sp.symbols("f c k r n", integer=True, positive=True)
Fs = sp.Symbol("F", integer=True, positive=True)
R = sp.Symbol("R", integer=True, positive=True)  # number of output positions
GENERAL_GRADIENT_SYMBOLS = {
    "X": X,
    "Wf": Wf,
    "G": G,
    "f": f_,
    "c": ci,
    "k": ki,
    "n": ni,
    "C": C,
    "K": K,
    "S": S,
    "D": D,
    "F": Fs,
    "R": R,
}


@cache
def gradient_identities() -> Derivation:
    """∂ℓ/∂W and ∂ℓ/∂x for y[f, r] = Σ_c Σ_k W[f, c, k] x[c, S(r−1) + D(k−1) + 1], ℓ = Σ g[f, r] y[f, r]."""
    i, j, q = sp.symbols("i j q", integer=True, positive=True)
    pos = lambda r_, k_: S * (r_ - 1) + D * (k_ - 1) + 1  # noqa: E731 - the tap's input position
    y = sp.Sum(sp.Sum(Wf[q, i, j] * X[i, pos(ri, j)], (j, 1, K)), (i, 1, C))
    loss_term = lambda v: sp.Sum(sp.Sum(G[q, ri] * v, (ri, 1, R)), (q, 1, Fs))  # noqa: E731
    raw = sp.diff(loss_term(y), Wf[f_, ci, ki]).doit()
    # sum the filter delta first (q = f), then the outputs r
    (var_r, *lim_r), (var_q, *lim_q) = raw.limits
    raw = sp.Sum(sp.Sum(raw.function, (var_q, *lim_q)).doit(), (var_r, *lim_r))
    dW = _in_range(raw, {f_ >= 1, f_ <= Fs, ci >= 1, ci <= C, ki >= 1, ki <= K})
    dx = sp.Sum(
        sp.Sum(sp.Sum(G[q, ri] * Wf[q, ni, j] * sp.KroneckerDelta(ci, pos(ri, j)), (j, 1, K)), (ri, 1, R)), (q, 1, Fs)
    )
    steps = (
        Step(
            "With F filters and channel-first x[c, n], output r of filter f reads the taps S(r − 1) + D(k − 1) + 1:",
            rhs=y.xreplace({q: f_}),
            lhs=Entry("y", "f", "r"),
        ),
        Step(
            "For ℓ = Σ_f Σ_r g[f, r] y[f, r], SymPy differentiates in W[f, c, k] (the Kronecker deltas summed): a "
            "correlation of x with g whose taps are S apart — a convolution with dilation S, read every D:",
            rhs=dW,
            lhs=Partial(r"\ell", Entry("W", "f", "c", "k")),
        ),
        Step(
            "In x[c', n'] every tap with S(r − 1) + D(k − 1) + 1 = n' contributes g[f, r] W[f, c', k]: a transposed "
            "convolution of g with W (stride S, dilation D):",
            rhs=dx,
            lhs=Partial(r"\ell", Entry("x", "c'", "n'")),
        ),
    )
    return Derivation(dW, steps, GENERAL_GRADIENT_SYMBOLS)


@cache
def gradient_identities_2d() -> Derivation:
    """The 2-D ∂ℓ/∂W entry formula: the same derivation with two spatial axes, strides and dilations."""
    S1, S2, D1, D2, K1, K2, R1, R2 = sp.symbols("S1 S2 D1 D2 K1 K2 R1 R2", integer=True, positive=True)
    k1, k2, r1, r2 = sp.symbols("k1 k2 r1 r2", integer=True, positive=True)
    i, j1, j2, q = sp.symbols("i j1 j2 q", integer=True, positive=True)
    X2, W2, G2 = sp.IndexedBase("X"), sp.IndexedBase("Wf"), sp.IndexedBase("G")
    y = sp.Sum(
        W2[q, i, j1, j2] * X2[i, S1 * (r1 - 1) + D1 * (j1 - 1) + 1, S2 * (r2 - 1) + D2 * (j2 - 1) + 1],
        (j1, 1, K1),
        (j2, 1, K2),
        (i, 1, C),
    )
    loss = sp.Sum(G2[q, r1, r2] * y, (r1, 1, R1), (r2, 1, R2), (q, 1, Fs))
    raw = sp.diff(loss, W2[f_, ci, k1, k2]).doit()
    (v1, *l1), (v2, *l2), (vq, *lq) = raw.limits
    raw = sp.Sum(sp.Sum(raw.function, (vq, *lq)).doit(), (v1, *l1), (v2, *l2))
    dW = _in_range(raw, {f_ >= 1, f_ <= Fs, ci >= 1, ci <= C, k1 >= 1, k1 <= K1, k2 >= 1, k2 <= K2})
    steps = (
        Step(
            "With two spatial axes, SymPy differentiates ℓ in W[f, c, k1, k2]: a 2-D correlation of x with g whose "
            "taps are (S1, S2) apart:",
            rhs=dW,
            lhs=Partial(r"\ell", Entry("W", "f", "c", "k_1", "k_2")),
        ),
    )
    symbols = {
        "X": X2,
        "Wf": W2,
        "G": G2,
        "f": f_,
        "c": ci,
        "k1": k1,
        "k2": k2,
        "C": C,
        "F": Fs,
        "S1": S1,
        "S2": S2,
        "D1": D1,
        "D2": D2,
        "K1": K1,
        "K2": K2,
        "R1": R1,
        "R2": R2,
    }
    return Derivation(dW, steps, symbols)
