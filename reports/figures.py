"""Figures for the reports (matplotlib → PDF), one list per topic.

Each figure is computed when the report is built: the numeric curve from the oracle
(autograd), and where a closed form exists, the derived curve drawn over it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Figure:
    filename: str
    caption: str


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plt.rcParams.update({"font.size": 9, "figure.figsize": (5.2, 3.2), "savefig.bbox": "tight", "pdf.compression": 6})
    return plt


def _save(fig, path: Path) -> None:
    # No creation date: two builds give the same file.
    fig.savefig(path, format="pdf", metadata={"CreationDate": None, "ModDate": None, "Producer": None})


def scalar_rnn_decay(out: Path) -> Figure:
    """|∂y/∂h_t| against t for w below, at and above 1: autograd against the closed form |w|^{T−t}."""
    import numpy as np

    from derivations import scalar_rnn as d
    from dlverify.crosscheck import evaluate
    from numerics.scalar_rnn import state_gradients

    plt = _pyplot()
    length = 40
    u = np.random.default_rng(0).uniform(-1, 1, size=length).tolist()
    derivation = d.state_gradient_general()
    fig, ax = plt.subplots()
    for w, colour in ((0.9, "tab:blue"), (1.0, "tab:green"), (1.1, "tab:red")):
        grads = state_gradients(w, u)
        steps = np.arange(1, length + 1)
        closed = [
            abs(evaluate(derivation.result, derivation.symbols, {"w": w, "T": length, "t": int(t)})) for t in steps
        ]
        ax.semilogy(steps, closed, "-", color=colour, lw=1, label=f"|w|^(T-t), w = {w}")
        ax.semilogy(steps, grads, "o", color=colour, ms=3, mfc="none", label=f"autograd, w = {w}")
    ax.set_xlabel("t")
    ax.set_ylabel("|dy/dh_t|")
    ax.set_title(f"linear scalar RNN, T = {length}")
    ax.legend(fontsize=7, ncol=2)
    name = "scalar_rnn_decay.pdf"
    _save(fig, out / name)
    plt.close(fig)
    return Figure(
        name,
        r"$|\partial y/\partial h_t|$ against $t$ ($T = 40$) for $w = 0.9, 1, 1.1$: autograd (circles) lies on "
        r"the derived $|w|^{T-t}$ (lines): it vanishes geometrically for $|w| < 1$, stays at 1 for $|w| = 1$ "
        r"and explodes for $|w| > 1$.",
    )


def scalar_rnn_activations(out: Path) -> Figure:
    """|∂y/∂h_t| for linear, tanh and ReLU scalar RNNs with the same weight and inputs (autograd)."""
    import numpy as np

    from numerics.scalar_rnn import state_gradients

    plt = _pyplot()
    length = 40
    u = np.random.default_rng(1).uniform(-1, 1, size=length).tolist()
    fig, ax = plt.subplots()
    for activation, marker in (("linear", "o"), ("tanh", "s"), ("relu", "^")):
        grads = state_gradients(1.1, u, activation)
        shown = [g if g > 0 else np.nan for g in grads]  # a dead ReLU has gradient 0: off the log scale
        ax.semilogy(range(1, length + 1), shown, marker + "-", ms=3, lw=0.8, label=activation)
    ax.set_xlabel("t")
    ax.set_ylabel("|dy/dh_t|")
    ax.set_title("w = 1.1, same inputs")
    ax.legend(fontsize=7)
    name = "scalar_rnn_activations.pdf"
    _save(fig, out / name)
    plt.close(fig)
    return Figure(
        name,
        r"$|\partial y/\partial h_t|$ for $h_t = \varphi(w(u_t + h_{t-1}))$ with $w = 1.1$ (autograd): the linear "
        r"RNN explodes as $1.1^{T-t}$; $\tanh$ multiplies each step by $\tanh' \le 1$ and here vanishes instead; "
        r"ReLU passes the gradient while the pre-activation is positive and cuts it to 0 where it is not "
        r"(missing points).",
    )


FIGURES: dict[str, tuple[Callable[[Path], Figure], ...]] = {
    "scalar_rnn": (scalar_rnn_decay, scalar_rnn_activations),
}
