"""The oracle of a course's own problem: its forward statements run as a torch program (float64),
differentiated by autograd.

The statements arrive as small trees built straight from the parsed text (never from a
derivation): ("sym", name), ("num", value), ("add", [..]), ("neg", a), ("prod", [..]),
("div", a, b), ("had", [..]), ("T", a), ("pow", a, k), ("hpow", a, k), ("apply", function, a), ("sqnorm", a),
("norm", a), ("bars", a), ("sqbars", a).
A function is named as the homework names it (sigma, relu); ``numerics.course_functions`` says
which torch function runs it.  A product multiplies matrices, or scales by a 1×1 factor or a number.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import torch

from numerics.course_functions import function

DTYPE = torch.float64


def _product(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    if a.dim() == 0 or b.dim() == 0 or a.shape == (1, 1) or b.shape == (1, 1):
        if a.shape == (1, 1) and b.shape == (1, 1):
            return a @ b
        return a * b  # a number or a 1×1 factor scales
    return a @ b


def evaluate(tree: Any, env: Mapping[str, torch.Tensor]) -> torch.Tensor:
    kind = tree[0]
    if kind == "sym":
        return env[tree[1]]
    if kind == "num":
        return torch.tensor(float(tree[1]), dtype=DTYPE)
    if kind == "add":
        parts = [evaluate(t, env) for t in tree[1]]
        sized = next((q for q in parts if isinstance(q, torch.Tensor) and q.dim() == 2), None)
        if sized is not None:  # M + I: the identity as large as the sum
            parts = [torch.eye(sized.shape[0], dtype=DTYPE) if isinstance(q, str) and q == "eye" else q for q in parts]
        out = parts[0]
        for p in parts[1:]:
            out = out + p
        return out
    if kind == "neg":
        return -evaluate(tree[1], env)
    if kind in ("ones", "onesT", "eye"):
        return kind  # a ones vector, the identity: its size from its neighbour
    if kind == "prod":
        parts = [evaluate(t, env) for t in tree[1]]
        for k, p in enumerate(parts):
            if isinstance(p, torch.Tensor):
                continue
            if p == "eye":  # I A, A I: as large as its neighbour
                after = next((q for q in parts[k + 1 :] if isinstance(q, torch.Tensor) and q.dim() == 2), None)
                before = next((q for q in parts[:k][::-1] if isinstance(q, torch.Tensor) and q.dim() == 2), None)
                size = after.shape[0] if after is not None else before.shape[1] if before is not None else 1
                parts[k] = torch.eye(size, dtype=DTYPE)
            elif p == "ones" and k > 0 and isinstance(parts[k - 1], torch.Tensor):  # A 1: as long as A is wide
                parts[k] = torch.ones(parts[k - 1].shape[-1], 1, dtype=DTYPE)
            elif p == "onesT" and k + 1 < len(parts) and isinstance(parts[k + 1], torch.Tensor):
                parts[k] = torch.ones(1, parts[k + 1].shape[0], dtype=DTYPE)  # 1ᵀ B: as long as B is tall
            else:  # 1 log(…) before a 1×1 factor: its length is the sum's, which torch broadcasts to
                parts[k] = torch.ones(1, 1, dtype=DTYPE)
        out = parts[0]
        for p in parts[1:]:
            out = _product(out, p)
        return out
    if kind == "div":
        return evaluate(tree[1], env) / evaluate(tree[2], env)
    if kind == "had":
        parts = [evaluate(t, env) for t in tree[1]]
        out = parts[0]
        for p in parts[1:]:
            out = out * p
        return out
    if kind == "T":
        return evaluate(tree[1], env).T
    if kind == "pow":
        base = evaluate(tree[1], env)
        k = float(tree[2])
        if base.dim() == 2 and base.shape[0] == base.shape[1] and base.shape != (1, 1):
            if not k.is_integer():
                raise ValueError(f"a fractional power {k} of a matrix")
            return torch.linalg.matrix_power(base, int(k))  # X^{-1}: torch inverts
        return base**k
    if kind == "hpow":  # x^{∘k}: entry by entry
        return evaluate(tree[1], env) ** float(tree[2])
    if kind in ("bars", "sqbars"):  # |X|: det of a square matrix, else |x| or the Euclidean norm
        value = evaluate(tree[1], env)
        if value.dim() == 2 and value.shape[0] == value.shape[1] and value.shape != (1, 1):
            out = torch.linalg.det(value).reshape(1, 1)
        else:
            out = torch.sqrt((value * value).sum()).reshape(1, 1)
        return out * out if kind == "sqbars" else out
    if kind in ("sqnorm", "norm"):  # the squared Euclidean (Frobenius) norm, or the norm
        value = evaluate(tree[1], env)
        squared = (value * value).sum().reshape(1, 1)
        return squared if kind == "sqnorm" else torch.sqrt(squared)
    if kind == "apply":
        apply = function(tree[1])
        if apply is None:  # the loader refuses such a statement: only a hand-built tree gets here
            raise ValueError(f"torch has no function {tree[1]}")
        return apply(evaluate(tree[2], env))
    raise ValueError(f"cannot run {kind}")


def run(statements: Sequence[tuple[str, Any]], inputs: Mapping[str, Any]) -> dict[str, torch.Tensor]:
    """Every quantity of the forward model at ``inputs`` (arrays by name)."""
    env: dict[str, torch.Tensor] = {
        k: torch.as_tensor(np.asarray(v, dtype=float), dtype=DTYPE) for k, v in inputs.items()
    }
    for name, tree in statements:
        env[name] = evaluate(tree, env)
    return env


def derivative(
    statements: Sequence[tuple[str, Any]], inputs: Mapping[str, Any], target: str, variable: str, jacobian: bool
) -> np.ndarray:
    """∂target/∂variable by torch: the gradient (the variable's shape) of a 1×1 target, or (``jacobian``)
    the Jacobian of a column vector by a column vector (entry [i, j] = ∂target_i/∂variable_j)."""
    base = {k: np.asarray(v, dtype=float) for k, v in inputs.items()}
    if variable not in base:  # an intermediate quantity: its value here, then a leaf of the graph
        base[variable] = run(statements, inputs)[variable].numpy()

    def f(x: torch.Tensor) -> torch.Tensor:
        env = {k: torch.as_tensor(v, dtype=DTYPE) for k, v in base.items()}
        env[variable] = x
        for name, tree in statements:
            if name != variable:
                env[name] = evaluate(tree, env)
        return env[target]

    x0 = torch.as_tensor(base[variable], dtype=DTYPE)
    out = f(x0)
    if not jacobian:
        x = x0.clone().requires_grad_(True)
        (grad,) = torch.autograd.grad(f(x).reshape(()), x)
        return grad.detach().numpy()
    jac = torch.func.jacrev(f)(x0)  # (rows, 1, n, 1) for column vectors
    return jac.reshape(out.shape[0], x0.shape[0]).detach().numpy()
