"""Figures for the reports (matplotlib → PDF), one list per topic.

Each figure is computed when the report is built: the numeric curve from the oracle
(autograd), and where a closed form exists, the derived curve drawn over it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Figure:
    filename: str
    caption: str
    item: str = ""  # the item it illustrates: the figure is set right after that item


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plt.rcParams.update({"font.size": 9, "figure.figsize": (5.2, 3.2), "savefig.bbox": "tight", "pdf.compression": 6})
    return plt


def _save(fig, path: Path) -> None:
    # No creation date: two builds give the same file.
    fig.savefig(path, format="pdf", metadata={"CreationDate": None, "ModDate": None, "Producer": None})


@contextmanager
def plot(path: Path, xlabel: str, ylabel: str, title: str = "", ncol: int = 1) -> Iterator[Any]:
    """The axes of a new figure; on leaving, label them, add the legend, save without dates, close."""
    plt = _pyplot()
    fig, ax = plt.subplots()
    try:
        yield ax
        ax.set_xlabel(xlabel)
        ax.set_ylabel(ylabel)
        if title:
            ax.set_title(title)
        ax.legend(fontsize=7, ncol=ncol)
        _save(fig, path)
    finally:
        plt.close(fig)


FIGURES: dict[str, list[Callable[[Path], Figure]]] = {}


def figure(topic: str, item: str) -> Callable[[Callable[[Path], Figure]], Callable[[Path], Figure]]:
    """Register a function that draws one of ``topic``'s figures into a folder, set after ``item``."""

    def register(make: Callable[[Path], Figure]) -> Callable[[Path], Figure]:
        def placed(out: Path) -> Figure:
            return dataclasses.replace(make(out), item=item)

        FIGURES.setdefault(topic, []).append(placed)
        return make

    return register


@figure("scalar_rnn", "scalar_rnn.dy_dw_general")
def scalar_rnn_decay(out: Path) -> Figure:
    """|∂y/∂h_t| against t for w below, at and above 1: autograd against the closed form |w|^{T−t}."""
    import numpy as np

    from derivations import scalar_rnn as d
    from dlverify.evaluation import scalar_value
    from numerics.scalar_rnn import state_gradients

    length = 40
    u = np.random.default_rng(0).uniform(-1, 1, size=length).tolist()
    derivation = d.state_gradient_general()
    name = "scalar_rnn_decay.pdf"
    with plot(out / name, r"$t$", r"$|\partial y / \partial h_t|$", f"linear scalar RNN, $T = {length}$", ncol=2) as ax:
        for w, colour in ((0.9, "tab:blue"), (1.0, "tab:green"), (1.1, "tab:red")):
            grads = state_gradients(w, u)
            steps = np.arange(1, length + 1)
            closed = [
                abs(scalar_value(derivation.result, derivation.symbols, {"w": w, "T": length, "t": int(t)}))
                for t in steps
            ]
            ax.semilogy(steps, closed, "-", color=colour, lw=1, label=rf"$|w|^{{T-t}}$, $w = {w}$")
            ax.semilogy(steps, grads, "o", color=colour, ms=3, mfc="none", label=f"autograd, $w = {w}$")
    return Figure(
        name,
        r"$|\partial y/\partial h_t|$ against $t$ ($T = 40$) for $w = 0.9, 1, 1.1$: autograd (circles) lies on "
        r"the derived $|w|^{T-t}$ (lines): it vanishes geometrically for $|w| < 1$, stays at 1 for $|w| = 1$ "
        r"and explodes for $|w| > 1$.",
    )


@figure("scalar_rnn", "scalar_rnn.dy_dw_general")
def scalar_rnn_activations(out: Path) -> Figure:
    """|∂y/∂h_t| for linear, tanh and ReLU scalar RNNs with the same weight and inputs (autograd)."""
    import numpy as np

    from numerics.scalar_rnn import state_gradients

    length = 40
    u = np.random.default_rng(1).uniform(-1, 1, size=length).tolist()
    name = "scalar_rnn_activations.pdf"
    with plot(out / name, r"$t$", r"$|\partial y / \partial h_t|$", r"$w = 1.1$, same inputs") as ax:
        for activation, marker in (("linear", "o"), ("tanh", "s"), ("relu", "^")):
            grads = state_gradients(1.1, u, activation)
            shown = [g if g > 0 else np.nan for g in grads]  # a dead ReLU has gradient 0: off the log scale
            ax.semilogy(range(1, length + 1), shown, marker + "-", ms=3, lw=0.8, label=activation)
    return Figure(
        name,
        r"$|\partial y/\partial h_t|$ for $h_t = \varphi(w(u_t + h_{t-1}))$ with $w = 1.1$ (autograd): the linear "
        r"RNN explodes as $1.1^{T-t}$; $\tanh$ multiplies each step by $\tanh' \le 1$ and here vanishes instead; "
        r"ReLU passes the gradient while the pre-activation is positive and cuts it to 0 where it is not "
        r"(missing points).",
    )


@figure("rnn", "rnn.explode_condition")
def rnn_spectral(out: Path) -> Figure:
    """‖∂L/∂h_t‖ against T − t for spectral radius below, at and above 1; non-normal and Jordan cases."""
    import numpy as np

    from numerics.rnn import gradient_norms

    T = 60
    rng = np.random.default_rng(3)
    P = np.eye(4) + 0.3 * rng.uniform(-1, 1, (4, 4))
    W_f = rng.uniform(-1, 1, (1, 4))
    cases = []
    for rho in (0.9, 1.0, 1.1):
        lams = np.array([rho, 0.5 * rho, -0.3 * rho, 0.2 * rho])
        cases.append((rf"diagonalizable, $\rho = {rho}$", P @ np.diag(lams) @ np.linalg.inv(P), "-"))
    non_normal = np.array([[0.9, 4.0, 0, 0], [0, 0.9, 4.0, 0], [0, 0, 0.9, 0], [0, 0, 0, 0.5]])
    jordan = np.array([[1.0, 1.0, 0, 0], [0, 1.0, 0, 0], [0, 0, 0.5, 0], [0, 0, 0, 0.3]])
    cases += [(r"non-normal, $\rho = 0.9$", non_normal, "--"), ("Jordan block at 1", jordan, ":")]
    name = "rnn_spectral.pdf"
    with plot(
        out / name, r"$T - t$", r"$\|\partial L / \partial h_t\|$", f"linear RNN, $m = 4$, $T = {T}$ (autograd)"
    ) as ax:
        for label, W_h, style in cases:
            norms = gradient_norms(W_h, W_f, T)
            ax.semilogy(range(T - 1, -1, -1), norms, style, lw=1.2, label=label)
    return Figure(
        name,
        r"$\|\partial L/\partial h_t\|$ of a linear RNN against $T - t$ (autograd), with $W^h = P\Lambda P^{-1}$: "
        r"it decays like $\rho^{T-t}$ for spectral radius $\rho = 0.9$, levels off for $\rho = 1$ and grows for "
        r"$\rho = 1.1$. A non-normal $W^h$ with $\rho = 0.9$ first grows by orders of magnitude before it decays "
        r"(transient growth), and a Jordan block at eigenvalue 1 grows polynomially, like $T - t$.",
    )


@figure("rnn", "rnn.dL_dh_tanh")
def rnn_activations(out: Path) -> Figure:
    """Linear, tanh and ReLU RNNs with the same W^h (ρ = 1.1) and inputs."""
    import numpy as np

    from numerics.rnn import state_gradient_norms

    T, m, n = 40, 4, 2
    rng = np.random.default_rng(4)
    P = np.eye(m) + 0.3 * rng.uniform(-1, 1, (m, m))
    W_h = P @ np.diag([1.1, 0.5, -0.4, 0.2]) @ np.linalg.inv(P)
    W_x, W_f, b = rng.uniform(-1, 1, (m, n)), rng.uniform(-1, 1, (1, m)), rng.uniform(-0.5, 0.5, m)
    xs = [rng.uniform(-1, 1, n) for _ in range(T)]
    name = "rnn_activations.pdf"
    with plot(
        out / name, r"$t$", r"$\|\partial L / \partial h_t\|$", r"same $W^h$ (spectral radius 1.1) and inputs"
    ) as ax:
        for activation, marker in (("linear", "o"), ("tanh", "s"), ("relu", "^")):
            norms = state_gradient_norms(W_h, W_x, W_f, b, xs, activation)
            shown = [v if v > 0 else np.nan for v in norms]
            ax.semilogy(range(1, T + 1), shown, marker + "-", ms=3, lw=0.8, label=activation)
    return Figure(
        name,
        r"$\|\partial L/\partial h_t\|$ for linear, $\tanh$ and ReLU RNNs sharing $W^h$ (spectral radius 1.1) "
        r"and inputs (autograd): the linear RNN explodes geometrically; $\tanh' \le 1$ damps each step; ReLU "
        r"keeps the linear growth on the active units and cuts the gradient where units are off.",
    )


@figure("rnn", "rnn.stacked")
def rnn_training(out: Path) -> Figure:
    """Training curves of the running-average experiment, from its stored results."""
    import json

    import numpy as np

    results = json.loads(
        (Path(__file__).resolve().parents[1] / "dlverify" / "data" / "running_average.json").read_text()
    )
    name = "rnn_training.pdf"
    with plot(out / name, "Adam step", "training MSE") as ax:
        for layers, r in sorted(results.items()):
            steps = np.arange(len(r["curve"])) * 100
            ax.semilogy(steps, r["curve"], label=f"{layers} layer(s): final MSE {r['final_mse']:.1e}")
        ax.axhline(1e-3, color="grey", lw=0.6, ls="--")
        ax.axhline(1e-2, color="grey", lw=0.6, ls=":")
    cfg = results["1"]["config"]
    return Figure(
        name,
        rf"Running average ($y_t = \frac{{1}}{{t}}\sum_{{i \le t}} x_i$): training MSE of sigmoid RNNs with "
        rf"{cfg['hidden']} hidden units ({cfg['sequences']} sequences of length {cfg['length']}, Adam, lr "
        rf"{cfg['lr']}, seed {cfg['seed']}); dashed 0.001, dotted 0.01. Stored results, regenerated by "
        r"\texttt{python scripts/running\_average.py}; \texttt{dlverify verify rnn.stacked} retrains and checks "
        r"the thresholds.",
    )


def _lae_data(m: int = 6, n: int = 40, seed: int = 5):
    """A centred X with Σ's eigenvalues chosen (gaps of at least 0.1), as in the lae checks."""
    from dlverify.problems.lae import spectrum_case

    return spectrum_case(m, 2, n - m, seed)


@figure("lae", "lae.pca_is_optimal")
def lae_angles(out: Path) -> Figure:
    """The largest principal angle between span W2 and the top-k eigenvectors along L-BFGS, random starts."""
    import numpy as np

    from numerics.lae import fit, max_principal_angle, pca

    case = _lae_data()
    X, k = case["X"], case["k"]
    U_k = pca(X, k)["U_k"]
    name = "lae_angles.pdf"
    with plot(out / name, "L-BFGS iteration", "largest principal angle (rad)", r"$m = 6$, $k = 2$, $n = 40$") as ax:
        for seed in range(5):
            run = fit(X, k, seed=seed, history=True)
            angles = [max(max_principal_angle(W, U_k), 1e-17) for W in run["W_2_history"]]
            ax.semilogy(
                np.arange(len(angles)),
                angles,
                lw=1,
                label=f"start {seed}: final $L - L_{{\\min}}$ = "
                f"{run['loss'] - float(np.sum(np.asarray(case['sigma'][k:]) ** 2)):.1e}",
            )
    return Figure(
        name,
        r"The largest principal angle between the column space of $W_2$ and that of $U_k$ (from "
        r"\texttt{scipy.linalg.eigh}) along L-BFGS runs from five random starts: every run converges to the top-$k$ "
        r"subspace, to the precision float64 gradients allow, and its loss to $\sum_{i>k}\sigma_i^2$ (legend).",
    )


@figure("rlae", "rlae.optimum")
def rlae_orthonormality(out: Path) -> Figure:
    """‖W2ᵀW2 − I‖₂ at the regularised optimum against λ: L-BFGS against the derived closed form."""
    import numpy as np

    from dlverify.experiments.rlae import optimum_at
    from numerics.lae import fit, pca

    case = _lae_data()
    X, k = case["X"], case["k"]
    top = float(pca(X, k)["eigenvalues"][k - 1])
    lams = top * np.geomspace(1e-3, 0.95, 16)
    derived, measured = [], []
    for lam in lams:
        W2, _ = optimum_at(X, k, lam)
        derived.append(np.linalg.norm(W2.T @ W2 - np.eye(k), 2))
        W2_fit = fit(X, k, lam, seed=0)["W_2"]
        measured.append(np.linalg.norm(W2_fit.T @ W2_fit - np.eye(k), 2))
    name = "rlae_orthonormality.pdf"
    with plot(out / name, r"$\lambda / \sigma_k^2$", r"$\|W_2^\top W_2 - I\|_2$", r"$m = 6$, $k = 2$, $n = 40$") as ax:
        ax.loglog(lams / top, derived, "-", lw=1, label=r"derived: $U_k (I - \lambda\Lambda_k^{-1})^{1/2} O$")
        ax.loglog(lams / top, measured, "o", ms=3, mfc="none", label="L-BFGS from a random start")
    return Figure(
        name,
        r"How far the columns of the regularised optimum $W_2$ are from orthonormal, $\|W_2^\top W_2 - I\|_2$, "
        r"against $\lambda/\sigma_k^2$: L-BFGS's optimum (circles) lies on the derived closed form (line), which "
        r"equals $\lambda/\sigma_k^2$; as $\lambda \to 0$ the columns become orthonormal, as in plain PCA.",
    )


@figure("optim", "optim.adam")
def optim_training(out: Path) -> Figure:
    """Loss curves of the derived Adagrad, RMSprop and Adam over torch.optim's, on one small task."""
    import numpy as np

    from derivations import optim as d
    from dlverify.experiments.optim import DerivedOptimizer
    from numerics.optim import train_classifier

    settings = {
        "adagrad": {"lr": 0.1},
        "rmsprop": {"lr": 0.002, "alpha": 0.9},
        "adam": {"lr": 0.02, "betas": (0.9, 0.999)},
    }
    steps = 200
    name = "optim_training.pdf"
    gaps = []
    with plot(out / name, "step", "training cross-entropy", "3 Gaussian blobs, 2-16-3 tanh network", ncol=2) as ax:
        for (optimizer, hyper), colour in zip(settings.items(), ("tab:blue", "tab:green", "tab:red"), strict=True):
            mine = [DerivedOptimizer(optimizer, getattr(d, optimizer)().entries(), hyper) for _ in range(4)]

            def update(params, grads, t, mine=mine):
                return [rule.step(p, g, t) for rule, p, g in zip(mine, params, grads, strict=True)]

            theirs = train_classifier(optimizer, hyper, steps)
            derived = train_classifier(optimizer, hyper, steps, update)
            gaps.append(float(np.max(np.abs(np.array(theirs) - np.array(derived)))))
            ax.semilogy(range(steps), theirs, "-", color=colour, lw=2.5, alpha=0.35, label=f"torch.optim, {optimizer}")
            ax.semilogy(range(steps), derived, "--", color=colour, lw=1, label=f"derived, {optimizer}")
    return Figure(
        name,
        r"Full-batch training of a 2--16--3 $\tanh$ classifier on three Gaussian blobs (fixed seeds) with Adagrad "
        r"(lr 0.1), RMSprop (lr 0.002, $\alpha = 0.9$) and Adam (lr 0.02): the derived update rules (dashed; "
        r"gradients by autograd) lie on \texttt{torch.optim}'s curves (wide); the largest loss difference over the "
        rf"three runs is {max(gaps):.1e}. (With RMSprop at lr 0.01 the run oscillates after 70 steps, and the "
        r"two implementations' rounding differences of $10^{-17}$ grow to $10^{-4}$ in the loss: the dynamics "
        r"amplify them, which is why \texttt{dlverify verify} compares single steps.)",
    )


@figure("beam", "beam.best_sequence")
def beam_tree(out: Path) -> Figure:
    """Every prefix of the catalog's example as a tree; the beam's kept prefixes and the best path marked."""
    import itertools

    from derivations import beam as d

    kept = {s for step in d.beams() for s in step}
    best = sorted(itertools.product(d.WORDS, repeat=d.LENGTH), key=lambda s: (-d.score(s), s))[0]
    name = "beam_tree.pdf"
    with plot(out / name, "step", "", "kept by the beam (filled), the most likely sequence (red)") as ax:
        positions = {(): (0, 0.0)}
        for depth in range(1, d.LENGTH + 1):
            prefixes = list(itertools.product(d.WORDS, repeat=depth))
            for k, prefix in enumerate(prefixes):
                y = (k - (len(prefixes) - 1) / 2) / max(1, len(prefixes) - 1) * 6
                positions[prefix] = (depth, y)
                x0, y0 = positions[prefix[:-1]]
                on_best = prefix == best[:depth]
                ax.plot([x0, depth], [y0, y], "-", color="tab:red" if on_best else "0.7", lw=2 if on_best else 0.8)
                ax.plot(depth, y, "o", ms=7, color="tab:blue" if prefix in kept else "white", mec="tab:blue")
                ax.annotate(
                    f"{prefix[-1]} ({float(d.score(prefix)):.2f})",
                    (depth, y),
                    textcoords="offset points",
                    xytext=(6, 3),
                    fontsize=6,
                )
        ax.plot([], [], "o", color="tab:blue", label=r"kept ($K = 2$)")
        ax.plot([], [], "-", color="tab:red", label=f"most likely: {' '.join(best)}")
        ax.set_xticks(range(d.LENGTH + 1))
        ax.set_yticks([])
        ax.set_xlim(-0.2, d.LENGTH + 0.9)
    return Figure(
        name,
        r"Every prefix of the catalog's example with its summed log-probability: the beam (width 2) keeps the "
        r"filled nodes and ends with ``neural network network'' ($-1.85$), while the most likely sequence, "
        r"``neural neural neural'' ($-1.46$, red), left the beam at step 2 behind two prefixes that were ahead "
        r"then.",
    )


@figure("beam", "beam.complexity_no_cache")
def beam_cost(out: Path) -> Figure:
    """Counted work against T, with and without cached hidden states, and the fitted log-log slopes."""
    from numerics.beam import counted_search, fitted_exponent

    lengths = (8, 16, 32, 64, 128)
    name = "beam_cost.pdf"
    slopes = {}
    with plot(out / name, r"$T$ (sequence length)", "model operations + sort comparisons", r"$K = 2$, $M = 32$") as ax:
        for cached, style in ((True, "o-"), (False, "s--")):
            counts = [counted_search(32, T, 2, cached).total for T in lengths]
            slopes[cached] = fitted_exponent(lengths, counts)
            label = f"{'cached' if cached else 'recomputed'} states: slope {slopes[cached]:.2f}"
            ax.loglog(lengths, counts, style, ms=4, lw=1, label=label)
    return Figure(
        name,
        rf"Work counted by an instrumented beam search (model operations and sort comparisons) against $T$: "
        rf"with cached hidden states the log-log slope is {slopes[True]:.2f} (derived: $\Theta(TKM\log M)$, "
        rf"slope 1); recomputing each state from the start gives {slopes[False]:.2f}, approaching 2 "
        r"($\Theta(T^2KM + TKM\log M)$) as the quadratic term takes over.",
    )


# ---- the homework's experiment questions (issue 27): a figure and a table of numbers for each ---------------


def _table(path: Path, header: list[str], rows: list[list[str]], widths: list[float] | None = None) -> None:
    """A table of measured numbers drawn as a figure (set after its item like the plots)."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(5.2, 0.24 * (len(rows) + 1) + 0.1))
    ax.axis("off")
    table = ax.table(cellText=rows, colLabels=header, loc="center", cellLoc="center", colWidths=widths)
    table.auto_set_font_size(False)
    table.set_fontsize(7)
    table.scale(1, 1.25)
    wrapped = any("\n" in h for h in header)
    for (row, _), cell in table.get_celld().items():
        cell.set_linewidth(0.4)
        if row == 0:
            cell.set_text_props(fontweight="bold", fontsize=6.5)
            if wrapped:  # a header of two lines
                cell.set_height(cell.get_height() * 1.8)
    try:
        _save(fig, path)
    finally:
        plt.close(fig)


def _stored(name: str) -> dict:
    import json

    return json.loads((Path(__file__).resolve().parents[1] / "dlverify" / "data" / name).read_text())


@figure("rnn", "rnn.more_exploding")
def rnn_relu_tanh(out: Path) -> Figure:
    """The activation grid: median gradient ratio against the spectral radius, for ReLU and tanh."""
    from dlverify.experiments import gradient_flow as flow
    from numerics import gradient_flow as numeric

    name = "rnn_relu_tanh.pdf"
    medians = flow.radius_medians()
    with plot(
        out / name,
        r"spectral radius $\rho(W^h)$",
        r"median $\|\partial L/\partial h_1\| / \|\partial L/\partial h_T\|$",
        r"$m = 32$, $T = 60$, 20 seeds per radius",
    ) as ax:
        for activation, marker in (("relu", "^"), ("tanh", "s")):
            radii, ratios = zip(*medians[activation], strict=True)
            ax.loglog(radii, ratios, marker + "-", ms=4, lw=0.9, label=flow.NAMES[activation])
        ax.axhline(1e3, color="grey", lw=0.6, ls="--")
        ax.axhline(1e-3, color="grey", lw=0.6, ls=":")
        ax.axvline(1.0, color="grey", lw=0.4)
        ax.set_xticks(list(numeric.RADII), [f"{r:.2g}" for r in numeric.RADII])
        ax.minorticks_off()
    return Figure(
        name,
        r"ReLU and $\tanh$ RNNs on the same weights and inputs: the median growth of the gradient over the sequence "
        r"against the spectral radius of $W^h$ (autograd). Above $\rho \approx 1.4$ ReLU explodes while $\tanh$ "
        r"still shrinks; below 1 both vanish. Dashed: $10^3$ (exploding), dotted: $10^{-3}$ (vanishing).",
    )


@figure("rnn", "rnn.more_exploding")
def rnn_relu_tanh_table(out: Path) -> Figure:
    import numpy as np

    from dlverify.experiments import gradient_flow as flow
    from numerics import gradient_flow as numeric

    rows = []
    for rho in numeric.RADII:
        cells = [f"{rho:.2f}"]
        for activation in ("relu", "tanh"):
            runs = [r for r in flow.activation_runs() if r.activation == activation and r.radius == rho]
            cells += [
                f"{np.mean([r.ratio > numeric.FACTOR for r in runs]):.0%}",
                f"{np.mean([r.ratio < 1 / numeric.FACTOR for r in runs]):.0%}",
                f"{np.mean([r.state > numeric.FACTOR for r in runs]):.0%}",
            ]
        rows.append(cells)
    f = flow.fractions()
    rows.append(["all"] + [f"{f[a][k]:.0%}" for a in f for k in ("explode", "vanish", "state")])
    name = "rnn_relu_tanh_table.pdf"
    header = [
        "ρ",
        "ReLU\ngrows",
        "ReLU\nshrinks",
        "ReLU\n‖h_T‖ > 10³",
        "tanh\ngrows",
        "tanh\nshrinks",
        "tanh\n‖h_T‖ > 10³",
    ]
    _table(out / name, header, rows)
    return Figure(
        name,
        r"Measured: for each spectral radius, the fraction of the 20 runs whose gradient grows or shrinks by more "
        r"than $10^3$ over $T = 60$ steps, and the fraction whose $\|h_T\|$ exceeds $10^3$ (last row: over all "
        r"180 runs). These decide \texttt{rnn.more\_exploding} and "
        r"\texttt{rnn.more\_vanishing}.",
    )


@figure("rnn", "rnn.all_targets_long_range")
def rnn_terms(out: Path) -> Figure:
    from dlverify.experiments import gradient_flow as flow

    ratios = flow.term_ratios()
    name = "rnn_terms.pdf"
    with plot(
        out / name,
        r"$k - t$",
        r"median $\|\partial L_k/\partial h_t\| / \|\partial L_t/\partial h_t\|$",
        r"$\tanh$ RNN, $m = 16$, $T = 50$, 10 seeds",
    ) as ax:
        for label, style in (("all steps", "o-"), ("last step", "x")):
            gaps = sorted(ratios[label])
            ax.semilogy(gaps, [ratios[label][d] for d in gaps], style, ms=3, lw=0.8, label=f"loss at {label}")
        ax.axhline(1e-3, color="grey", lw=0.6, ls=":")
    return Figure(
        name,
        r"Each term $\partial L_k/\partial h_t$ of the gradient with a loss at every step, against $k - t$, relative "
        r"to the nearest term (median over seeds and $t$; autograd): it vanishes geometrically, exactly as the "
        r"last-step loss's term (crosses) does; the per-step losses add only short-range terms. ",
    )


@figure("rnn", "rnn.all_targets_long_range")
def rnn_terms_table(out: Path) -> Figure:
    from dlverify.experiments import gradient_flow as flow

    ratios = flow.term_ratios()
    rows = [[str(d), f"{ratios['all steps'][d]:.2e}", f"{ratios['last step'][d]:.2e}"] for d in flow.GAPS]
    _table(out / "rnn_terms_table.pdf", ["k − t", "a loss at\nevery step", "the last step's\nloss only"], rows)
    return Figure("rnn_terms_table.pdf", r"Measured: the median ratios of the figure above at a few gaps $k - t$.")


@figure("lstm", "lstm.vanish_slower")
def lstm_decay(out: Path) -> Figure:
    import numpy as np

    from numerics import gradient_flow as numeric

    name = "lstm_decay.pdf"
    T = numeric.DECAY_SIZES["T"]
    with plot(out / name, r"$t$", r"$\|\partial L/\partial h_t\| / \|\partial L/\partial h_T\|$", "seed 0") as ax:
        for label, kind, bias in (("tanh RNN", "rnn", None), ("LSTM", "lstm", None), ("LSTM, $b^f = 1$", "lstm", 1.0)):
            _, norms = numeric.decay_rate(kind, 0, bias)
            ax.semilogy(range(1, T + 1), np.asarray(norms) / norms[-1], lw=1, label=label)
    return Figure(
        name,
        r"$\|\partial L/\partial h_t\|$ against $t$ for a $\tanh$ RNN and an LSTM of the same size ($m = 32$, "
        r"$T = 60$, torch's default initialisation, seed 0; autograd): the LSTM's gradient decays more slowly, "
        r"much more so with the forget gate's bias at 1. Table: the per-step factor over 20 initialisations.",
    )


@figure("lstm", "lstm.vanish_slower")
def lstm_decay_table(out: Path) -> Figure:
    import numpy as np

    from dlverify.experiments import gradient_flow as flow

    rows = [
        [k, f"{np.median(v):.3f}", f"{np.quantile(v, 0.1):.3f}", f"{np.quantile(v, 0.9):.3f}"]
        for k, v in flow.decay_rates().items()
    ]
    _table(out / "lstm_decay_table.pdf", ["network", "median\nfactor", "10 %", "90 %"], rows)
    return Figure(
        "lstm_decay_table.pdf",
        r"Measured: the per-step decay factor $(\|\partial L/\partial h_1\|/\|\partial L/\partial h_T\|)^{1/(T-1)}$, "
        r"median and 10--90\,\% spread over 20 initialisations (closer to 1: slower vanishing).",
    )


@figure("lstm", "lstm.can_explode")
def lstm_witness(out: Path) -> Figure:
    from dlverify.experiments import gradient_flow as flow
    from numerics import gradient_flow as numeric
    from numerics import lstm

    w = flow.witness()
    lengths = tuple(range(10, 201, 10))
    norms = numeric.lstm_backprop_norms(lstm.Params.from_arrays(w["U"], w["W"], w["b"]), w["x"], w["w"], lengths)
    name = "lstm_witness.pdf"
    with plot(out / name, r"$T$", r"$\|\partial L/\partial h_1\|$", "the stored witness, re-measured") as ax:
        ax.semilogy(lengths, norms, "o-", ms=3, lw=0.8, label=r"LSTM, $m = 8$, large recurrent weights")
    return Figure(
        name,
        r"The stored LSTM witness (\texttt{dlverify/data/lstm\_witness.json}): $\|\partial L/\partial h_1\|$ for "
        r"$L = h_T w$ as the sequence grows, re-measured by autograd: it grows geometrically, so LSTM gradients "
        r"can explode (against one homework solution). Measured at "
        + ", ".join(f"$T = {T}$: {v:.3g}" for T, v in zip(w["lengths"], flow.witness_norms(), strict=True))
        + ".",
    )


@figure("resnet", "resnet.gradient_through_depth")
def resnet_depth(out: Path) -> Figure:
    from dlverify.experiments import gradient_flow as flow
    from numerics import gradient_flow as numeric

    medians = flow.depth_medians()
    name = "resnet_depth.pdf"
    with plot(out / name, r"depth $L$", r"$\|\partial h_L/\partial h_0\|_2$", r"$m = 16$, median of 10 seeds") as ax:
        ax.semilogy(numeric.DEPTHS, medians["skip"], "o-", ms=3, lw=0.9, label="with skips")
        ax.semilogy(numeric.DEPTHS, medians["plain"], "s-", ms=3, lw=0.9, label="without skips")
        ax.semilogy(numeric.DEPTHS, medians["bound"], ":", color="grey", lw=0.9, label=r"$\prod_t \|W_t\|_2/4$")
    return Figure(
        name,
        r"$\|\partial h_L/\partial h_0\|_2$ over depth for $h_{t+1} = \sigma(W_t h_t + b_t) + h_t$ and for the same "
        r"layers without the skip (jacrev of the whole stack): the skip keeps it of order one, as the LSTM's cell "
        r"state does; without, it vanishes geometrically, under the derived bound $\prod_t \|W_t\|_2/4$.",
    )


@figure("resnet", "resnet.gradient_through_depth")
def resnet_depth_table(out: Path) -> Figure:
    from dlverify.experiments import gradient_flow as flow
    from numerics import gradient_flow as numeric

    medians = flow.depth_medians()
    rows = [
        [str(d), f"{medians['skip'][i]:.3g}", f"{medians['plain'][i]:.3g}", f"{medians['bound'][i]:.3g}"]
        for i, d in enumerate(numeric.DEPTHS)
    ]
    _table(out / "resnet_depth_table.pdf", ["L", "with\nskips", "without\nskips", "derived bound\n(median)"], rows)
    return Figure("resnet_depth_table.pdf", r"Measured: the medians of the figure above, depth by depth.")


@figure("beam", "beam.stored_state")
def beam_state_table(out: Path) -> Figure:
    from dlverify.experiments import beam_state as experiment
    from numerics import beam_state as numeric

    reference = numeric.reference()
    key = experiment.stored_state({})
    shown = [("the key", key)]
    shown += [(f"− {item}", key - {item}) for item in sorted(key)]
    shown += [(f"+ {item}", key | {item}) for item in numeric.ITEMS if item not in key]
    shown += [("every h instead of the final", (key - {"final hidden state"}) | {"every hidden state"})]
    rows = []
    for label, keep in shown:
        again, without = numeric.search(keep), numeric.search(keep, recompute=False)
        rows.append(
            [
                label,
                str(again.stored),
                str(again.recomputed),
                "yes" if numeric.same_beams(again.beams, reference) else "no",
                "yes" if numeric.same_beams(without.beams, reference) else "no",
            ]
        )
    name = "beam_state_table.pdf"
    header = ["kept", "numbers\nkept", "steps\nrecomputed", "same\nbeams", "same beams,\nno recomputing"]
    _table(out / name, header, rows, widths=[0.38, 0.11, 0.15, 0.11, 0.21])
    return Figure(
        name,
        r"Measured: the instrumented beam search over an LSTM decoder ($V = 5$, $m = 8$, $T = 4$, $K = 3$): the "
        r"numbers each hypothesis keeps, the decoder steps run again over stored tokens, and whether the final "
        r"beams equal those of a search that recomputes every prefix (with recomputation, and without: a missing "
        r"state then starts from zeros, a missing score is the last step's alone). The key is the smallest set "
        r"that needs no recomputation.",
    )


@figure("curves", "curves.spike_cause")
def curves_losses(out: Path) -> Figure:
    import math

    stored = _stored("curves_runs.json")
    name = "curves_losses.pdf"
    with plot(out / name, "gradient-descent step", "training loss", "seed 0 of each condition", ncol=2) as ax:
        for label in ("large rate", "small rate", "warm-up", "clipping", "larger model"):
            curve = stored["runs"][label][0][:150]
            ax.semilogy(range(len(curve)), curve, lw=0.9, label=label)
        ax.axhline(math.log(10), color="grey", lw=0.6, ls="--")
    return Figure(
        name,
        r"Loss curves of the small classifier (full-batch gradient descent on the digits, seed 0 of the stored "
        r"runs): at learning rate 3 the loss spikes above its initial value ($\log 10$, dashed) and comes back; at "
        r"0.3, with a 50-step warm-up, or with the gradient clipped to norm 1 it does not; the 256-wide model "
        r"still spikes.",
    )


@figure("curves", "curves.spike_cause")
def curves_table(out: Path) -> Figure:
    from dlverify.experiments import curves as experiment
    from numerics import curves as numeric

    stored = _stored("curves_runs.json")
    rows = []
    for label in experiment.CONDITIONS:
        runs = stored["runs"][label]
        first = [numeric.spikes_above_initial(c)[0] for c in runs if experiment.spiked(c)]
        rows.append(
            [
                label,
                f"{experiment.spiking_seeds(label)} of {len(runs)}",
                f"{max(max(c[1:]) for c in runs):.3g}",
                f"{min(first)}–{max(first)}" if first else "–",
                f"{sum(c[-1] for c in runs) / len(runs):.3g}",
            ]
        )
    name = "curves_table.pdf"
    _table(
        out / name,
        ["condition", "seeds\nspiking", "highest\nloss", "first spike\nat step", "final loss\n(mean)"],
        rows,
        widths=[0.3, 0.15, 0.15, 0.17, 0.2],
    )
    return Figure(
        name,
        r"Measured (stored runs, seeds 0--4): per condition, how many seeds spike above the initial loss, the "
        r"highest loss after the first step, the steps of the first spikes, and the mean final loss. These decide "
        r"\texttt{curves.spike\_cause}, \texttt{curves.spike\_above\_initial} and \texttt{curves.spike\_fix}.",
    )


@figure("optim", "optim.digits_accuracy")
def optim_digits(out: Path) -> Figure:
    import numpy as np

    stored = _stored("digits_runs.json")["classifier"]
    name = "optim_digits.pdf"
    with plot(out / name, "epoch", "training cross-entropy", "derived rules, 3-layer network, seeds 0–2") as ax:
        for optimizer, runs in stored.items():
            curves = np.array([r["loss"] for r in runs.values()])
            epochs = np.arange(1, curves.shape[1] + 1)
            ax.semilogy(epochs, curves.mean(axis=0), lw=1, label=optimizer)
            ax.fill_between(epochs, curves.min(axis=0), curves.max(axis=0), alpha=0.2)
    return Figure(
        name,
        r"Training loss against epoch on the 8$\times$8 digits for the project's own Adagrad, RMSprop and Adam (the "
        r"derived update rules; mean and range over seeds 0--2, stored results). MNIST cannot be downloaded here.",
    )


@figure("optim", "optim.digits_accuracy")
def optim_digits_table(out: Path) -> Figure:
    import numpy as np

    stored = _stored("digits_runs.json")["classifier"]
    rows = [
        [optimizer]
        + [f"{r['accuracy'][-1]:.2%}" for r in runs.values()]
        + [f"{np.mean([r['accuracy'][-1] for r in runs.values()]):.2%}"]
        for optimizer, runs in stored.items()
    ]
    _table(out / "optim_digits_table.pdf", ["optimizer", "seed 0", "seed 1", "seed 2", "mean"], rows)
    return Figure(
        "optim_digits_table.pdf",
        r"Measured: test accuracy after 30 epochs (450 test images: one image is 0.22\,\%). The homework's 98\,\% "
        r"(for MNIST) is reached by at most one run here; every run stays above 97\,\%.",
    )


@figure("concepts", "concepts.latent_size")
def concepts_latent(out: Path) -> Figure:
    stored = _stored("digits_runs.json")["autoencoder"]
    fits = {int(k): v for k, v in stored["fits"].items()}
    spectrum = stored["spectrum"]
    sizes = sorted(fits)
    name = "concepts_latent.pdf"
    with plot(out / name, r"code size $k$", "reconstruction loss", "linear autoencoders on the digits") as ax:
        ax.semilogy(sizes, [fits[k]["loss"] for k in sizes], "o", ms=4, mfc="none", label="trained (L-BFGS)")
        ax.semilogy(sizes, [sum(spectrum[k:]) for k in sizes], "-", lw=0.8, label=r"$\sum_{i>k} \sigma_i^2$")
        twin = ax.twinx()
        twin.plot(sizes, [fits[k]["accuracy"] for k in sizes], "s-", color="tab:red", ms=3, lw=0.8)
        twin.axhline(stored["raw accuracy"], color="tab:red", lw=0.5, ls=":")
        twin.set_ylabel("probe accuracy (red; dotted: raw pixels)", color="tab:red")
    return Figure(
        name,
        r"Reconstruction loss and linear-probe accuracy against the code size $k$ (stored results): the trained "
        r"loss lies on the derived minimum $\sum_{i>k}\sigma_i^2$ of the training covariance, and the probe's "
        r"accuracy rises, then levels off near the raw pixels' (dotted).",
    )


@figure("concepts", "concepts.latent_size")
def concepts_latent_table(out: Path) -> Figure:
    stored = _stored("digits_runs.json")["autoencoder"]
    fits = {int(k): v for k, v in stored["fits"].items()}
    spectrum = stored["spectrum"]
    rows = [
        [str(k), f"{fits[k]['loss']:.5g}", f"{sum(spectrum[k:]):.5g}", f"{fits[k]['accuracy']:.2%}"]
        for k in sorted(fits)
    ]
    rows.append(["raw pixels", "–", "–", f"{stored['raw accuracy']:.2%}"])
    _table(out / "concepts_latent_table.pdf", ["k", "trained\nloss", "Σ_{i>k} σ_i²", "probe\naccuracy"], rows)
    return Figure("concepts_latent_table.pdf", r"Measured: the points of the figure above.")
