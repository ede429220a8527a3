"""Matrix backprop through a ReLU network, f = ½‖Y − W_L σ(⋯ σ(W_1 X))‖_F², σ = ReLU, any depth L.

The forward graph (the homework's numbering, for L = 3):
V1 = W1 X, V2 = σ(V1), V3 = W2 V2, V4 = σ(V3), V5 = W3 V4, D = Y − V5, z = ½‖D‖_F².
Reverse mode visits the nodes from z back to X with four recorded rules — no SymPy matrix
derivative (it has silent bugs and the transposed layout):

    z = ½‖D‖_F²:  ḡ_D = D;      D = Y − V:  ḡ_V = −ḡ_D;
    V = A B:      ḡ_A = ḡ_V Bᵀ,  ḡ_B = Aᵀ ḡ_V;      V = σ(U):  ḡ_U = ḡ_V ⊙ 1[U > 0],

where ḡ_V = ∂z/∂V has the shape of V.  At a kink (an entry of U exactly 0) ReLU has no
derivative; 1[U > 0] takes the subgradient 0 there, as PyTorch does.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import sympy as sp

from derivations.core import Derivation, Step, inline, substitute_definitions
from derivations.matexpr import Elementwise
from derivations.symbols import Partial

N = sp.Symbol("N", integer=True, positive=True)  # samples (columns)


def width(level: int) -> sp.Symbol:
    """d_0 = rows of X, d_l = rows of W_l (d_L = rows of Y)."""
    return sp.Symbol(f"d_{level}", integer=True, positive=True)


@dataclass(frozen=True)
class Network:
    """The symbols of a depth-L network and its forward definitions."""

    depth: int

    @property
    def X(self) -> sp.MatrixSymbol:
        return sp.MatrixSymbol("X", width(0), N)

    @property
    def Y(self) -> sp.MatrixSymbol:
        return sp.MatrixSymbol("Y", width(self.depth), N)

    def W(self, level: int) -> sp.MatrixSymbol:
        return sp.MatrixSymbol(f"W_{level}", width(level), width(level - 1))

    def rows(self, k: int) -> sp.Symbol:
        return width((k + 1) // 2)

    def V(self, k: int) -> sp.MatrixSymbol:
        """V_1 … V_{2L−1}: odd k are the linear layers, even k the activations."""
        return sp.MatrixSymbol(f"V_{k}", self.rows(k), N)

    def g(self, k: int) -> sp.MatrixSymbol:
        """ḡ_{V_k} = ∂z/∂V_k, written g_{V_k} (or V_k.g, \\bar{V}_k)."""
        return sp.MatrixSymbol(f"g_{{V_{k}}}", self.rows(k), N)

    @property
    def last(self) -> int:
        return 2 * self.depth - 1

    @property
    def D(self) -> sp.MatrixSymbol:
        return sp.MatrixSymbol("D", width(self.depth), N)

    def below(self, k: int) -> sp.MatrixExpr:
        return self.X if k == 0 else self.V(k)

    def forward(self) -> dict[sp.MatrixSymbol, sp.MatrixExpr]:
        defs: dict[sp.MatrixSymbol, sp.MatrixExpr] = {}
        for k in range(1, self.last + 1):
            if k % 2:  # V_k = W_l V_{k−1}
                defs[self.V(k)] = self.W((k + 1) // 2) * self.below(k - 1)
            else:
                defs[self.V(k)] = Elementwise("relu", self.V(k - 1))
        defs[self.D] = self.Y - self.V(self.last)
        return defs

    def symbols(self) -> dict[str, sp.Basic]:
        out: dict[str, sp.Basic] = {"N": N, "X": self.X, "Y": self.Y, "D": self.D}
        out.update({f"d_{level}": width(level) for level in range(self.depth + 1)})
        out.update({f"W_{level}": self.W(level) for level in range(1, self.depth + 1)})
        out.update({f"V_{k}": self.V(k) for k in range(1, self.last + 1)})
        out.update({f"g_V{k}": self.g(k) for k in range(1, self.last + 1)})
        return out


@dataclass(frozen=True)
class Backprop:
    """Every gradient in its local form (in the gradient one node above) and the rules' steps."""

    local: dict[sp.MatrixSymbol, sp.MatrixExpr]  # g_{V_k} and ∂z/∂W_l
    steps: tuple[Step, ...]


@cache
def backprop(depth: int) -> Backprop:
    net = Network(depth)
    steps = [
        Step(
            "z = ½‖D‖_F² = ½ Σ D_ij², so ∂z/∂D_ij = D_ij; through D = Y − V_last the sign flips:",
            rhs=-net.D,
            lhs=net.g(net.last),
        )
    ]
    local: dict[sp.MatrixSymbol, sp.MatrixExpr] = {net.g(net.last): -net.D}
    for k in range(net.last, 0, -1):
        upstream = net.g(k)
        if k % 2:  # V_k = W_l V_{k−1}: both factors get a gradient
            level = (k + 1) // 2
            W, below = net.W(level), net.below(k - 1)
            grad_W = upstream * below.T
            local[W] = grad_W
            steps.append(
                Step(
                    f"V_{k} = W_{level} {inline(below)}: a product A B gives A the gradient ḡ Bᵀ,",
                    rhs=grad_W,
                    lhs=Partial("z", W),
                )
            )
            if k > 1:
                grad_below = W.T * upstream
                local[net.g(k - 1)] = grad_below
                steps.append(
                    Step(
                        "and B the gradient Aᵀ ḡ:",
                        rhs=grad_below,
                        lhs=net.g(k - 1),
                    )
                )
        else:  # V_k = σ(V_{k−1}): entry by entry, times σ′ = 1[· > 0]
            grad_below = sp.HadamardProduct(upstream, Elementwise("step", net.V(k - 1)))
            local[net.g(k - 1)] = grad_below
            steps.append(
                Step(
                    f"V_{k} = σ(V_{k - 1}) entry by entry: each entry's gradient is multiplied by "
                    f"σ′ = 1[V_{k - 1} > 0]:",
                    rhs=grad_below,
                    lhs=net.g(k - 1),
                )
            )
    return Backprop(local, tuple(steps))


def _catalog_form(net: Network, target: sp.MatrixSymbol, local: dict) -> sp.MatrixExpr:
    """The local gradient with g_{V_2} and g_{V_1} (not catalog items) written out."""
    keep = {net.g(k) for k in range(3, net.last + 1)}
    inline = {
        s: e for s, e in local.items() if isinstance(s, sp.MatrixSymbol) and s.name.startswith("g_") and s not in keep
    }
    return substitute_definitions(local[target], inline)


def gradient(depth: int, target: str) -> Derivation:
    """∂z/∂target (``V_k`` or ``W_l``) for the depth-``depth`` network."""
    net = Network(depth)
    found = backprop(depth)
    names = {v: k for k, v in net.symbols().items()}
    if target.startswith("W"):
        symbol = net.symbols()[target]
        label = Partial("z", symbol)
    else:
        k = int(target.split("_")[1])
        symbol = label = net.g(k)
    upto = next(n for n, step in enumerate(found.steps) if step.lhs == label)
    result = _catalog_form(net, symbol, found.local)
    final = Step(
        "So, in the gradients the catalog names (g_{V_k} = ∂z/∂V_k; each may also be written out):",
        rhs=result,
        lhs=Partial("z", net.symbols()[target]),
    )
    definitions = {names[k]: v for k, v in net.forward().items()}
    definitions.update({names[k]: v for k, v in found.local.items() if names[k].startswith("g_V")})
    return Derivation(result, (*found.steps[: upto + 1], final), net.symbols(), definitions)


@cache
def catalog_gradient(target: str) -> Derivation:
    return gradient(3, target)


VALUE_ENTRIES = ("V1_v", "V2_v", "V3_v", "V4_v", "V5_v")
GRADIENT_ENTRIES = ("V5_g", "V4_g", "V3_g", "V2_g", "V1_g", "W3_g", "W2_g", "W1_g")
DIGITS = 30


def values(data: dict) -> Derivation:
    """Every node value and gradient of the catalog's network at the given matrices (Y, X, W_1,
    W_2, W_3 as arrays of numbers): the derived formulas evaluated by SymPy in 30-digit arithmetic."""
    net = Network(3)
    found = backprop(3)
    numbers = {
        net.symbols()[name]: sp.ImmutableMatrix([[sp.Float(float(x), DIGITS) for x in row] for row in data[name]])
        for name in ("Y", "X", "W_1", "W_2", "W_3")
    }
    # node by node, forward then backward: each definition refers only to nodes already known
    known = dict(numbers)
    weight_gradients = {}
    for node, definition in (*net.forward().items(), *found.local.items()):
        value = sp.ImmutableMatrix(definition.xreplace(known).doit())
        if node.name.startswith("W"):  # ∂z/∂W_l, keyed by W_l: kept apart from W_l's own value
            weight_gradients[node] = value
        else:
            known[node] = value
    table: dict[str, sp.Basic] = {f"V{k}_v": known[net.V(k)] for k in range(1, 6)}
    table.update({f"V{k}_g": known[net.g(k)] for k in range(5, 0, -1)})
    table.update({f"W{level}_g": weight_gradients[net.W(level)] for level in (3, 2, 1)})
    steps = (
        Step(
            "The forward pass V1 = W1 X, V2 = σ(V1), V3 = W2 V2, V4 = σ(V3), V5 = W3 V4 and the backward pass "
            "(mlp.grad_V5 … mlp.grad_W1) evaluated at the seeded matrices, in 30-digit arithmetic:"
        ),
        Step(
            "Each entry is an array of the node's shape (V1, V2: 4×50; V3, V4: 3×50; V5: 2×50; the weights' "
            "gradients 4×5, 3×4, 2×3); the report shows their first columns."
        ),
    )
    return Derivation(table, steps, {})
