"""The problems of a file: each asked derivative (``ask = ["dL/dW"]``) becomes a catalog-like
``Problem`` — derived by ``derivations.course`` from the resolved statements, verified against
``numerics.course`` running the oracle's program — derived once at load, and refused there if
it cannot be derived or is too large to check answers against."""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from dlverify.course.errors import Where
from dlverify.course.limits import MAX_ASKS, MAX_EXPANDED_DEPTH, MAX_REFERENCE_SIZE
from dlverify.course.reading import Model
from dlverify.course.statements import written_out
from dlverify.problem import Case, Problem, SymbolSpec

EPS = sys.float_info.epsilon
# A declared structure as the checker's draws know it (dlverify.problem.Assumption).  A symmetric matrix
# is drawn symmetric positive definite there (the checker has no plainer symmetric draw), a positive one
# is positive only where the checker honours it (a diagonal matrix, a scalar): verify's own cases draw
# every structure exactly (_structured).
ASSUMED = {
    "symmetric": "symmetric positive definite",
    "positive definite": "symmetric positive definite",
    "diagonal": "diagonal",
    "orthogonal": "orthogonal",
    "positive": "positive",
    "invertible": None,
}
# W with Wᵀ = W: the derivation's result written with W (−2AᵀW(x − As), not −AᵀWᵀ(x − As) − AᵀW(x − As))
SYMMETRIC = frozenset({"symmetric", "positive definite", "diagonal"})
ASK = re.compile(r"^\s*(?:d|∂|\\partial\s*)\s*(\w+)\s*/\s*(?:d|∂|\\partial\s*)\s*(\w+)\s*$")
FRAC_ASK = re.compile(r"^\s*\\frac\{\s*\\partial\s*(\w+)\s*\}\{\s*\\partial\s*(\w+)\s*\}\s*$")


@dataclass(frozen=True)
class Ask:
    """One asked derivative: as written (``dL/dW``), of ``target`` by ``variable``."""

    text: str
    target: str
    variable: str


def asks(table: dict, model: Model, where: Where) -> list[Ask]:
    """The table's ``ask`` list read: each a derivative of a computed quantity by a symbol or another
    computed quantity, a gradient of a scalar or a Jacobian of a vector by a vector."""
    asks = table.get("ask")
    if not isinstance(asks, list) or not asks or not all(isinstance(a, str) for a in asks):
        raise where.error("ask", 'ask is a list such as ["dL/dW", "dh/dx"]')
    if len(asks) > MAX_ASKS:
        raise where.error("ask", f"more than {MAX_ASKS} asked derivatives in one problem")
    out = []
    computed = {name for name, _ in model.forward_text}
    for ask in asks:
        m = ASK.match(ask) or FRAC_ASK.match(ask)
        if m is None:
            raise where.error("ask", f"{ask!r:.60}: write a derivative as dL/dW")
        target, variable = m.groups()
        if target not in computed:
            raise where.error("ask", f"{ask}: {target} is not computed by the forward statements")
        if variable not in model.objects or variable in model.sizes:
            raise where.error("ask", f"{ask}: {variable} is not a symbol or a computed quantity")
        t_obj, v_obj = model.objects[target], model.objects[variable]
        if t_obj.shape != (1, 1) and (t_obj.shape[1] != 1 or v_obj.shape[1] != 1):
            raise where.error("ask", f"{ask}: a gradient of a scalar, or a Jacobian of a vector by a vector")
        out.append(Ask(ask, target, variable))
    return out


def problem(model: Model, topic: str, ask: Ask) -> Problem:
    """The asked derivative as a problem of ``topic``, id ``<model id>.d<target>_d<variable>``."""
    target, variable = ask.target, ask.variable
    slug = f"d{target}_d{variable}"
    specs = [SymbolSpec(s, s, "integer", "a size", bounds=("1", "4")) for s in model.sizes]
    for name, (rows, cols) in model.inputs.items():
        declared = model.structure.get(name, ())
        assumptions = tuple(dict.fromkeys(ASSUMED[w] for w in declared if ASSUMED.get(w)))
        meaning = f"given ({', '.join(declared)})" if declared else "given"
        specs.append(SymbolSpec(name, name, "matrix", meaning, shape=(rows, cols), assumptions=assumptions))
    for name, written in model.forward_text:
        obj = model.objects[name]
        spellings = (rf"\hat{{{name[:-3]}}}",) if name.endswith("hat") and len(name) > 3 else ()
        specs.append(
            SymbolSpec(name, name, "matrix", f"= {written}", spellings, shape=tuple(str(d) for d in obj.shape))
        )
    forward = "; ".join(f"{name} = {written}" for name, written in model.forward_text)
    shapes = ", ".join(
        f"{name} {'×'.join(shape) if shape != ('1', '1') else 'scalar'}" for name, shape in model.inputs.items()
    )
    statement = f"{model.title}. Given {shapes}: {forward}. Find {ask.text}."
    layout = "the gradient has the variable's shape" if model.objects[target].shape == (1, 1) else "numerator layout"
    return Problem(
        id=f"{model.id}.{slug}",
        topic=topic,
        title=f"{ask.text} ({model.title})",
        kind="matrix",
        statement=statement + f" ({layout})",
        symbols=tuple(specs),
        derive=_deriver(model, target, variable),
        oracle=_oracle(model, target, variable),
        oracle_name="the forward statements run in torch (float64), differentiated by autograd",
        cases=_cases(model, target, variable),
        tolerance=lambda case: 64 * (sum(case[s] for s in model.sizes) + len(model.statements)) * EPS,
        tolerance_note="64(Σ sizes + statements)·eps relative to the largest entry of |…| on absolute values",
        sizes=model.sizes,
    )


def check_reference(problem: Problem, model: Model, ask: Ask, where: Where) -> None:
    """Derive the asked derivative now (its derive() keeps the result) and refuse it if it cannot be
    derived, or if written out in the inputs — as the checker evaluates it, against every wrong
    answer's likely mistakes — it is too large to check in the time an answer has."""
    from derivations.course import Unsupported

    asked = ask.text
    try:
        result = problem.derive().result
        size, depth = written_out(result, model.measures, MAX_REFERENCE_SIZE)
    except Unsupported as exc:
        raise where.error("ask", f"{asked}: unsupported: {exc} cannot be derived here") from None
    except (RecursionError, MemoryError, OverflowError) as exc:
        raise where.error("ask", f"{asked}: the derivative is too large to derive ({type(exc).__name__})") from None
    except Exception as exc:  # a derivation bug on an unusual file: still one line, not a traceback
        if os.environ.get("DLVERIFY_DEBUG"):
            raise
        raise where.error("ask", f"{asked}: the derivation failed ({type(exc).__name__}); please report it") from None
    if size > MAX_REFERENCE_SIZE or depth > MAX_EXPANDED_DEPTH:
        reason = (
            f"{asked}: the derivative written out in the inputs is {'over ' if size > MAX_REFERENCE_SIZE else ''}"
            f"{min(size, MAX_REFERENCE_SIZE)} nodes, {depth} levels deep (at most {MAX_REFERENCE_SIZE} nodes, "
            f"{MAX_EXPANDED_DEPTH} levels): too large to check answers against; ask about fewer steps"
        )
        raise where.error("ask", reason)


def _deriver(model: Model, target: str, variable: str) -> Callable[[], Any]:
    memo: list[Any] = []

    def derive() -> Any:
        if not memo:
            import sympy as sp

            from derivations.course import gradient, vector_jacobian

            t, v = model.objects[target], model.objects[variable]
            how = gradient if t.shape == (1, 1) else vector_jacobian
            d = how(model.statements, t, v)
            symmetric = {
                sp.Transpose(model.objects[name]): model.objects[name]
                for name, declared in model.structure.items()
                if SYMMETRIC & set(declared)
            }
            orthogonal = {model.objects[n] for n, declared in model.structure.items() if "orthogonal" in declared}
            if symmetric or orthogonal:  # Wᵀ is W, QᵀQ is I: the result as the Cookbook writes it
                result = d.result.xreplace(symmetric)
                if orthogonal:
                    result = result.replace(lambda e: isinstance(e, sp.MatMul), lambda e: _cancelled(e, orthogonal))
                result = result.replace(lambda e: isinstance(e, (sp.MatAdd, sp.MatMul)), lambda e: e.doit(deep=False))
                d = replace(d, result=result)
            memo.append(replace(d, symbols=dict(model.objects), definitions=dict(model.in_inputs)))
        return memo[0]

    return derive


def _cancelled(product: Any, orthogonal: set[Any]) -> Any:
    """A product with every Qᵀ Q and Q Qᵀ of an orthogonal Q left out."""
    import sympy as sp

    args = list(product.args)
    k = 0
    while k + 1 < len(args):
        a, b = args[k], args[k + 1]
        if (a in orthogonal and b == a.T) or (b in orthogonal and a == b.T):
            del args[k : k + 2]
            k = max(k - 1, 0)
        else:
            k += 1
    if not any(isinstance(a, sp.MatrixExpr) for a in args):
        args.append(sp.Identity(product.shape[0]))
    return sp.MatMul(*args) if len(args) > 1 else args[0]


def _oracle(model: Model, target: str, variable: str) -> Callable[[Case], Any]:
    def oracle(case: Case) -> Any:
        from numerics.course import derivative

        jacobian = model.objects[target].shape != (1, 1)
        given = {k: case[k] for k in (*model.inputs, *model.sizes)}  # a size may appear as a number (1/n)
        return derivative(model.program, given, target, variable, jacobian)

    return oracle


def _cases(model: Model, target: str, variable: str) -> Callable[[], Any]:
    def cases() -> Any:
        from hypothesis import strategies as st

        from dlverify.strategies import matrix, sizes_then

        def build(sizes: dict) -> dict:
            def n(axis: str) -> int:
                return 1 if axis == "1" else sizes[axis]

            return {
                name: _structured(matrix(n(rows), n(cols)), model.structure.get(name, ()))
                for name, (rows, cols) in model.inputs.items()
            }

        drawn = sizes_then({s: st.integers(1, 4) for s in model.sizes}, build)
        return drawn.filter(lambda case: _differentiable(model, target, variable, case))

    return cases


def _differentiable(model: Model, target: str, variable: str, case: Any) -> bool:
    """Whether autograd's derivative is finite at ``case``: verify's cases are the points where the model
    is differentiable (‖x − a‖ is not at x = a, log b not at b = 0).  Only the domain is decided here;
    the reference is still compared with the oracle's value at each case."""
    import numpy as np

    try:
        return bool(np.isfinite(_oracle(model, target, variable)(case)).all())
    except (ValueError, RuntimeError, ArithmeticError):
        return False


def _structured(drawn: Any, declared: tuple[str, ...]) -> Any:
    """A strategy for an input of the declared structure, from one of its entries in [-1, 1]: symmetric
    (A + Aᵀ)/2; positive definite A Aᵀ + n I; diagonal; orthogonal (the Q of A + 2I); invertible, well
    conditioned A + (n + 1) I (strictly diagonally dominant); positive entries in [1/2, 3/2]."""
    import numpy as np

    def shaped(a: Any) -> Any:
        out = np.array(a, dtype=float)
        n = out.shape[0]
        if "positive definite" in declared:
            out = out @ out.T + n * np.eye(n)
        elif "symmetric" in declared:
            out = (out + out.T) / 2
        if "diagonal" in declared:
            out = np.diag(np.diag(out))
            if "positive" in declared or "positive definite" in declared:
                out = np.abs(out) + np.eye(n) / 2
        if "orthogonal" in declared:
            out, _ = np.linalg.qr(out + 2 * np.eye(n))
        if "invertible" in declared:
            out = out + (n + 1) * np.eye(n)
        if "positive" in declared and "diagonal" not in declared:
            out = np.abs(out) + 0.5
        return out

    return drawn.map(shaped) if declared else drawn
