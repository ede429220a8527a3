"""The oracle's program: each forward statement's parsed tree as the small tree ``numerics.course``
runs in torch.

It is built from the parsed text, not from what the checker's resolver made of it (the SymPy
statements the derivation reads), so that the torch program and the derivation share only the
grammar: a misreading in the resolver shows as a disagreement with the oracle.
"""

from __future__ import annotations

from typing import Any

from dlverify.course.errors import Where


def oracle_functions() -> dict[str, str]:
    """Every spelling of a function a statement may apply → the name the oracle knows it by: the
    spellings of the entrywise rows of the one function table (derivations.functions; sigmoid → sigma,
    ReLU → relu, ln → log), and diag.  Read when a file is loaded, so that an added row counts."""
    from derivations.functions import by_spelling

    names = {spelling: row.name for spelling, row in by_spelling().items() if row.matrix}
    names["diag"] = "diag"
    # scalars of a square matrix, by the spellings the answer reader knows (resolve.MATRIX_SCALARS)
    names.update({"tr": "trace", "Tr": "trace", "trace": "trace", "Trace": "trace"})
    names.update({"det": "det", "Determinant": "det"})
    return names


def _number(n: Any) -> float | None:
    """The value of an exponent written as a number (3, -1, 1/2, \\frac12), else None."""
    if n.rule == "num":
        return float(n.args[0])
    if n.rule in ("neg", "paren"):
        inner = _number(n.args[0])
        return None if inner is None else -inner if n.rule == "neg" else inner
    if n.rule == "div":
        top, bottom = (_number(a) for a in n.args)
        return None if top is None or not bottom else top / bottom
    return None


def tree(node: Any, by_key: dict[str, Any], where: Where, line: int, column: int) -> Any:
    """The oracle's tree, straight from the parsed text: names by their key, products in order,
    a function name applying to the factor after it.  A function the oracle cannot run is refused
    here, at its column."""
    from dlverify.checking.names import TRANSPOSE_MARKS, key
    from numerics.course_functions import runs

    functions = oracle_functions()

    def name_of(n: Any) -> str | None:
        k = key(n)
        obj = by_key.get(k) if k is not None else None
        return str(obj.name) if obj is not None and hasattr(obj, "name") else None

    def walk(n: Any) -> Any:
        rule = n.rule
        found = name_of(n) if rule in ("name", "sub", "font", "accent") else None
        if found is not None:
            return ("sym", found)
        if rule == "name":
            bare = n.args[0].lstrip("\\")
            if bare in functions:
                if not runs(functions[bare]):
                    raise where.error("forward", f"the oracle (torch) has no function {bare}", line, column + n.pos)
                return ("fn", functions[bare], bare)  # the spelling, for messages
        if rule == "font" and key(n) == "mathbb{1}" or rule == "font" and n.args[0] == "mathbf" and key(n) == "1":
            return ("ones",)
        if rule in ("name", "font") and key(n) in ("I", "mathbb{I}", "mathbf{I}"):
            return ("eye",)  # the identity, as large as its neighbour
        if rule == "num":
            return ("num", float(n.args[0]))
        if rule in ("paren", "font"):
            return walk(n.args[-1])
        if rule == "add":
            return ("add", [walk(a) for a in n.args])
        if rule == "neg":
            return ("neg", walk(n.args[0]))
        if rule in ("div", "hadamard_div"):
            return ("div", walk(n.args[0]), walk(n.args[1]))
        if rule == "sqrt":
            return ("apply", "sqrt", walk(n.args[0]))
        if rule == "bars":  # |X|: a determinant, an absolute value or a norm, by the value's shape when run
            return ("bars", walk(n.args[0]))
        if rule == "hadamard_pow":
            exponent = _number(n.args[1])
            if exponent is None:
                raise where.error("forward", "an entrywise power here is a number", line, column + n.pos)
            return ("hpow", walk(n.args[0]), exponent)
        if rule == "hadamard":
            return ("had", [walk(a) for a in n.args])
        if rule == "transpose":
            return ("T", walk(n.args[0]))
        if rule == "norm":
            return ("norm", walk(n.args[0]))
        if rule == "sub" and n.args[0].rule in ("norm", "bars") and key(n.args[1]) in ("F", "2"):
            return ("norm", walk(n.args[0].args[0]))
        if rule == "pow":
            base, sup = n.args
            bare = base.args[0] if base.rule == "sub" and base.args[0].rule in ("norm", "bars") else base
            if bare.rule in ("norm", "bars") and sup.rule == "num" and sup.args[0] == "2":
                return ("sqnorm" if bare.rule == "norm" else "sqbars", walk(bare.args[0]))
            if key(sup) in TRANSPOSE_MARKS and sup.rule != "paren":
                inner = walk(base)
                return ("onesT",) if inner == ("ones",) else ("T", inner)
            exponent = _number(sup)
            if exponent is not None:  # X^3, X^{-1}, (…)^{1/2}
                return ("pow", walk(base), exponent)
            raise where.error("forward", "a power here is a number or a transpose", line, column + n.pos)
        if rule == "mul":
            parts = [walk(a) for a in n.args]
            out: list[Any] = []
            k = 0
            while k < len(parts):
                negated = parts[k][0] == "neg" and parts[k][1][0] == "fn"  # -log(b): the minus of the call
                head = parts[k][1] if negated else parts[k]
                if head[0] != "fn":
                    out.append(parts[k])
                    k += 1
                    continue
                heads = [head]  # \log \det X: each call applies to the next one's value
                k += 1
                while k < len(parts) and parts[k][0] == "fn":
                    heads.append(parts[k])
                    k += 1
                if k == len(parts):
                    raise where.error("forward", f"{heads[-1][2]} needs an argument", line, column + n.pos)
                value, power = parts[k], None
                arg = n.args[k]
                if arg.rule == "pow" and arg.args[0].rule == "paren" and value[0] == "pow":
                    value, power = walk(arg.args[0]), value[2]  # tanh(x)^2, \det(X)^2: the call's value squared
                for fn in reversed(heads):
                    value = ("apply", fn[1], value)
                if power is not None:  # a function's power is entry by entry, never a matrix power
                    value = ("hpow", value, power)
                out.append(("neg", value) if negated else value)
                k += 1
            return out[0] if len(out) == 1 else ("prod", out)
        raise where.error("forward", f"the oracle cannot run {rule} here", line, column + n.pos)

    return walk(node)
