"""Oracles for training the ℓ2-regularised linear autoencoder with PyTorch: one optimizer step of
real torch.nn / torch.optim setups, compared with the gradient step on L_λ computed by autograd
from the formula (numerics.lae). Every setup trains two bias-free nn.Linear layers on the batch
Xᵀ (one sample per row) unless it says otherwise."""

from __future__ import annotations

import itertools

import numpy as np
import torch
from numpy.typing import ArrayLike

from numerics import lae

DTYPE = torch.float64
LR = 0.1
COMPONENTS = ("weight decay", "dropout", "layer norm", "batch norm", "SGD")
LOSSES = ("L1Loss", "MSELoss", "CrossEntropyLoss")


def _linear(rows: int, cols: int, weight: np.ndarray) -> torch.nn.Linear:
    layer = torch.nn.Linear(cols, rows, bias=False, dtype=DTYPE)
    with torch.no_grad():
        layer.weight.copy_(torch.as_tensor(weight, dtype=DTYPE))
    return layer


def _model(W1: np.ndarray, W2: np.ndarray, between: tuple[str, ...] = ()) -> torch.nn.Sequential:
    k, m = W1.shape
    middle = {
        "dropout": lambda: torch.nn.Dropout(0.5),
        "layer norm": lambda: torch.nn.LayerNorm(k, elementwise_affine=False, dtype=DTYPE),
        "batch norm": lambda: torch.nn.BatchNorm1d(k, affine=False, dtype=DTYPE),
    }
    return torch.nn.Sequential(_linear(k, m, W1), *(middle[name]() for name in between), _linear(m, k, W2))


def _criterion(name: str, reduction_mean: bool, n: int):
    if name == "MSELoss":
        return torch.nn.MSELoss() if reduction_mean else (lambda out, x: torch.nn.MSELoss(reduction="sum")(out, x) / n)
    return getattr(torch.nn, name)()


def step(
    X: ArrayLike,
    W1: ArrayLike,
    W2: ArrayLike,
    weight_decay: float,
    *,
    loss: str = "MSELoss",
    mean: bool = False,
    between: tuple[str, ...] = (),
    optimizer: str = "SGD",
    lr: float = LR,
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """The two Linear weights after one optimizer step on the full batch (the model in train mode).

    ``mean=False``: MSELoss summed over a sample's coordinates, averaged over the batch;
    ``mean=True``: nn.MSELoss()'s default mean over every entry."""
    model = _model(np.asarray(W1, dtype=float), np.asarray(W2, dtype=float), between)
    return _step_model(model, X, weight_decay, loss=loss, mean=mean, optimizer=optimizer, lr=lr, seed=seed)


def _step_model(
    model: torch.nn.Module,
    X: ArrayLike,
    weight_decay: float,
    *,
    loss: str = "MSELoss",
    mean: bool = False,
    optimizer: str = "SGD",
    lr: float = LR,
    seed: int = 0,
) -> tuple[np.ndarray, ...]:
    """One optimizer step of ``model`` on the batch Xᵀ; its parameters afterwards."""
    torch.manual_seed(seed)  # dropout's mask
    X_ = np.asarray(X, dtype=float)
    opt = getattr(torch.optim, optimizer)(model.parameters(), lr=lr, weight_decay=weight_decay)
    batch = torch.as_tensor(X_.T, dtype=DTYPE)
    opt.zero_grad()
    _criterion(loss, mean, X_.shape[1])(model(batch), batch).backward()
    opt.step()
    return tuple(p.detach().numpy().copy() for p in model.parameters())


def _flat(*arrays: np.ndarray) -> np.ndarray:
    return np.concatenate([np.ravel(a) for a in arrays])


def target_step(X: ArrayLike, W1: ArrayLike, W2: ArrayLike, lam: float, lr: float = LR) -> np.ndarray:
    """−η∇L_λ, flattened (W1 then W2): autograd of the formula, no torch.optim involved."""
    g = lae.gradients(X, W1, W2, lam)
    return -lr * _flat(g["W_1"], g["W_2"])


def fit_weight_decay(X: ArrayLike, W1: ArrayLike, W2: ArrayLike, lam: float, **setup) -> dict[str, float]:
    """The weight_decay wd and scale c with which one step of the setup equals c·(−η∇L_λ).

    An SGD step is affine in wd, so two steps (wd = 0 and wd = 1) determine it; (wd, c) solve
    the least-squares problem Δ(0) + wd·(Δ(1) − Δ(0)) = c·Δ*, and ``residual`` (relative to
    ‖Δ*‖) says whether any (wd, c) makes the steps equal."""
    start = _flat(np.asarray(W1, dtype=float), np.asarray(W2, dtype=float))
    d0 = _flat(*step(X, W1, W2, 0.0, **setup)) - start
    d1 = _flat(*step(X, W1, W2, 1.0, **setup)) - start
    want = target_step(X, W1, W2, lam)
    # unknowns (wd, c): wd·(d1 − d0) − c·want = −d0
    system = np.stack([d1 - d0, -want], axis=1)
    (wd, c), *_ = np.linalg.lstsq(system, -d0, rcond=None)
    residual = float(np.linalg.norm(d0 + wd * (d1 - d0) - c * want) / np.linalg.norm(want))
    return {"weight_decay": float(wd), "scale": float(c), "residual": residual}


def _is_gradient_step(
    after: tuple[np.ndarray, ...], X: ArrayLike, W1: ArrayLike, W2: ArrayLike, lam: float, tol: float, lr: float = LR
) -> bool:
    """Whether parameters ``after`` one step from (W1, W2) are the gradient step −η∇L_λ, within ``tol``."""
    got = _flat(*after) - _flat(np.asarray(W1, dtype=float), np.asarray(W2, dtype=float))
    want = target_step(X, W1, W2, lam, lr)
    return bool(np.linalg.norm(got - want) <= tol * np.linalg.norm(want))


def matches(X: ArrayLike, W1: ArrayLike, W2: ArrayLike, lam: float, weight_decay: float, tol: float, **setup) -> bool:
    """Whether one step of the setup with this weight_decay equals the gradient step −η∇L_λ (η = LR)."""
    return _is_gradient_step(step(X, W1, W2, weight_decay, **setup), X, W1, W2, lam, tol)


def loss_functions_along_gradient(X: ArrayLike, W1: ArrayLike, W2: ArrayLike, lam: float, tol: float) -> frozenset:
    """The loss classes whose SGD step, for some weight_decay and learning-rate scale c > 0,
    points along −∇L_λ (nn.MSELoss with its default mean: wd = 2λ/m, c = 1/m)."""
    found = set()
    for name in LOSSES:
        fitted = fit_weight_decay(X, W1, W2, lam, loss=name, mean=True)
        if fitted["residual"] <= tol and fitted["scale"] > 0:
            found.add(name)
    return frozenset(found)


def _stack(count: int, m: int, k: int) -> torch.nn.Sequential:
    """``count`` bias-free nn.Linear layers from R^m back to R^m, through width k where there is room."""
    widths = {0: [], 1: [m, m], 2: [m, k, m], 3: [m, k, k, m]}[count]
    return torch.nn.Sequential(*(torch.nn.Linear(a, b, bias=False, dtype=DTYPE) for a, b in itertools.pairwise(widths)))


def layer_counts_matching(X: ArrayLike, W1: ArrayLike, W2: ArrayLike, lam: float, tol: float) -> frozenset:
    """The numbers of layers (0–3) whose parameters are exactly L_λ's (W1: k×m, W2: m×k) and whose
    SGD step (weight_decay 2λ), from W1 and W2, is the gradient step on L_λ. One layer has a single
    m×m matrix (its penalty λ‖W‖² is another objective), three a third penalised matrix, none no
    parameters."""
    A, B = np.asarray(W1, dtype=float), np.asarray(W2, dtype=float)
    k, m = A.shape
    found = set()
    for count in range(4):
        model = _stack(count, m, k)
        params = list(model.parameters())
        if [tuple(p.shape) for p in params] != [A.shape, B.shape]:
            continue  # not L_λ's parameters: no step of it can be L_λ's
        with torch.no_grad():
            for p, value in zip(params, (A, B), strict=True):
                p.copy_(torch.as_tensor(value, dtype=DTYPE))
        if _is_gradient_step(_step_model(model, X, 2 * lam), X, A, B, lam, tol):
            found.add(str(count))
    return frozenset(found)


def minimal_components(X: ArrayLike, W1: ArrayLike, W2: ArrayLike, lam: float, tol: float) -> frozenset:
    """By brute force over all 32 subsets of COMPONENTS: the smallest subset with which one step
    equals the gradient step on L_λ. Absent "SGD" means torch.optim.Adam; absent "weight decay"
    means weight_decay = 0 (present: 2λ); dropout (p = 0.5), layer norm and batch norm (without
    learnable affine parameters) sit between the layers. Empty if no subset, or two, are smallest."""
    matching = []
    for size in range(len(COMPONENTS) + 1):
        for subset in itertools.combinations(COMPONENTS, size):
            chosen = set(subset)
            between = tuple(c for c in ("dropout", "layer norm", "batch norm") if c in chosen)
            if matches(
                X,
                W1,
                W2,
                lam,
                2 * lam if "weight decay" in chosen else 0.0,
                tol,
                between=between,
                optimizer="SGD" if "SGD" in chosen else "Adam",
            ):
                matching.append(frozenset(chosen))
        if matching:
            return matching[0] if len(matching) == 1 else frozenset()
    return frozenset()
