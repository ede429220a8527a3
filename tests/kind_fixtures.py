"""Test-only problem descriptions, one per answer kind that no catalog topic uses yet.

They exercise the checker's kinds (shape, number, choice, bigO) on realistic
references; the catalog's own items of these kinds arrive with their topics.
"""

from __future__ import annotations

import sympy as sp

from derivations.core import Derivation, Step
from dlverify.problem import AnswerSpec, Problem, SymbolSpec

H, W, K, S, D, P = sp.symbols("H W K S D P", integer=True, positive=True)
m = sp.Symbol("m", integer=True, positive=True)
T, Kb, M = sp.symbols("T K M", integer=True, positive=True)


def _problem(pid: str, kind: str, result, symbols=(), objects=None, answer=None, alternatives=()) -> Problem:
    derivation = Derivation(result, (Step("fixture"),), objects or {}, {}, alternatives)
    return Problem(
        id=pid,
        topic="fixture",
        title=pid,
        kind=kind,
        statement="a test fixture",
        symbols=tuple(symbols),
        derive=lambda: derivation,
        oracle=lambda case: None,
        oracle_name="none",
        cases=lambda: None,
        tolerance=lambda case: 0.0,
        tolerance_note="",
        answer=answer or AnswerSpec(),
    )


def _int(name: str, bounds=("1", "")) -> SymbolSpec:
    return SymbolSpec(name, name, "integer", "a size", bounds=bounds)


CONV_SHAPE = _problem(
    "fixture.conv_shape",
    "shape",
    sp.Tuple(sp.floor((H + 2 * P - D * (K - 1) - 1) / S) + 1, sp.floor((W + 2 * P - D * (K - 1) - 1) / S) + 1),
    [
        _int("H", ("9", "30")),
        _int("W", ("9", "30")),
        _int("K", ("1", "3")),
        _int("S", ("1", "4")),
        _int("D", ("1", "2")),
        _int("P", ("0", "2")),
    ],
    {"H": H, "W": W, "K": K, "S": S, "D": D, "P": P},
)

GRAD_SHAPE = _problem(
    "fixture.grad_shape", "shape", sp.Tuple(1, 5, 3), answer=AnswerSpec(hint="a gradient has the shape of W")
)

VECTOR_SHAPE = _problem("fixture.vector_shape", "shape", sp.Tuple(m), [_int("m")], {"m": m})

LOSS = _problem("fixture.initial_loss", "number", sp.log(4), answer=AnswerSpec(tolerance=5e-4))

BEAM_STEP = _problem(
    "fixture.beam_step",
    "choice",
    frozenset({"neural network", "network neural"}),
    answer=AnswerSpec(options=("neural neural", "neural network", "network neural", "network network"), multiple=True),
)

TRUE_FALSE = _problem(
    "fixture.true_false", "choice", frozenset({"false"}), answer=AnswerSpec(options=("true", "false"))
)

BEAM_COST = _problem(
    "fixture.beam_cost",
    "bigO",
    T * Kb * M * sp.log(M),
    [_int("T"), _int("K"), _int("M")],
    {"T": T, "K": Kb, "M": M},
    AnswerSpec(order=(("K", "M"),)),
)

NO_CACHE = _problem(
    "fixture.beam_no_cache",
    "bigO",
    T**2 * Kb * M + T * Kb * M * sp.log(M),
    [_int("T"), _int("K"), _int("M")],
    {"T": T, "K": Kb, "M": M},
    AnswerSpec(order=(("K", "M"),)),
    alternatives=(T**2 * Kb * M * sp.log(M),),
)


# ---- matrix answers --------------------------------------------------------------------
from derivations.matexpr import Elementwise, OrderedProduct, SequenceElement  # noqa: E402

mm = sp.Symbol("m", integer=True, positive=True)
Tt, tt = sp.symbols("T t", integer=True, positive=True)
Wt = sp.MatrixSymbol("W_t", mm, mm)
ht = sp.MatrixSymbol("h_t", mm, 1)
bt = sp.MatrixSymbol("b_t", mm, 1)
Wh = sp.MatrixSymbol("W_h", mm, mm)
Wf = sp.MatrixSymbol("W_f", 1, mm)
yhat, y = sp.symbols("yhat y", real=True)
j = sp.Symbol("j", integer=True)
hseq = SequenceElement("h", 0, mm, 1)


def _matrix(pid, result, specs, objects) -> Problem:
    return _problem(pid, "matrix", result, specs, objects)


SIZE_M = SymbolSpec("m", "m", "integer", "hidden size", bounds=("1", "4"))
RESNET = _matrix(
    "fixture.resnet",
    sp.Identity(mm) + sp.DiagMatrix(Elementwise("sigma'", Wt * ht + bt)) * Wt,
    [
        SIZE_M,
        SymbolSpec("W_t", "W_t", "matrix", shape=("m", "m")),
        SymbolSpec("h_t", "h_t", "matrix", shape=("m", "1")),
        SymbolSpec("b_t", "b_t", "matrix", shape=("m", "1")),
    ],
    {"m": mm, "W_t": Wt, "h_t": ht, "b_t": bt},
)

_RNN_SYMBOLS = [
    SIZE_M,
    SymbolSpec("T", "T", "integer", bounds=("1", "6")),
    SymbolSpec("t", "t", "integer", bounds=("1", "T")),
    SymbolSpec("yhat", r"\hat{y}", "real", spellings=(r"\hat{y}_T", "y_hat", "yhat")),
    SymbolSpec("y", "y", "real", spellings=("y_T",)),
    SymbolSpec("W^f", "W^f", "matrix", shape=("1", "m")),
    SymbolSpec("W^h", "W^h", "matrix", shape=("m", "m")),
]
_RNN_OBJECTS = {"m": mm, "T": Tt, "t": tt, "yhat": yhat, "y": y, "W^f": Wf, "W^h": Wh}

LINEAR_RNN = _matrix("fixture.linear_rnn", 2 * (yhat - y) * Wf * sp.MatPow(Wh, Tt - tt), _RNN_SYMBOLS, _RNN_OBJECTS)

_step = sp.DiagMatrix(
    sp.OneMatrix(mm, 1) - sp.HadamardProduct(SequenceElement("h", Tt - j, mm, 1), SequenceElement("h", Tt - j, mm, 1))
)
TANH_RNN = _matrix(
    "fixture.tanh_rnn",
    2 * (yhat - y) * Wf * OrderedProduct(_step * Wh, (j, 0, Tt - tt - 1)),
    [*_RNN_SYMBOLS, SymbolSpec("h", "h", "vector_sequence", shape=("m", "1"))],
    {**_RNN_OBJECTS, "h": hseq},
)


# ---- indexed answers (the 1-D convolution of the catalog, position-first x[n, c]) -------
xb, Wb, gb = sp.IndexedBase("x"), sp.IndexedBase("W"), sp.IndexedBase("g")
r_, c_, k_, n_ = sp.symbols("r c k n", integer=True)
_kk = sp.Symbol("k", integer=True)
_cc = sp.Symbol("c", integer=True)
_CONV_SYMBOLS = [
    SymbolSpec("x", "x", "sequence", "input x[n, c]"),
    SymbolSpec("W", "W", "sequence", "filter W[1, c, k]"),
    SymbolSpec("r", "r", "index", bounds=("1", "3")),
    SymbolSpec("c", "c", "index", bounds=("1", "5")),
    SymbolSpec("k", "k", "index", bounds=("1", "3")),
    SymbolSpec("n", "n", "index", bounds=("1", "7")),
]
_CONV_OBJECTS = {"x": xb, "W": Wb, "r": r_, "c": c_, "k": k_, "n": n_}


def _indexed(pid, result, used):
    specs = [s for s in _CONV_SYMBOLS if s.name in used]
    return _problem(pid, "indexed", result, specs, {k: v for k, v in _CONV_OBJECTS.items() if k in used})


CONV_OUT = _indexed(
    "fixture.conv_out",
    sp.Sum(sp.Sum(Wb[1, _cc, _kk] * xb[2 * (r_ - 1) + _kk, _cc], (_kk, 1, 3)), (_cc, 1, 5)),
    {"x", "W", "r"},
)
_offset = n_ - 2 * (r_ - 1)
CONV_DF_DX = _indexed(
    "fixture.conv_df_dx",
    Wb[1, c_, _offset] * sp.Piecewise((1, sp.And(_offset >= 1, _offset <= 3)), (0, True)),
    {"W", "r", "n", "c"},
)
