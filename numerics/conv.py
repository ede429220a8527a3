"""Oracles for convolutions: PyTorch's own output shapes and errors, and autograd through
torch.nn.functional.conv1d.

Shapes are taken from small real (CPU) tensors, not the meta device: PyTorch's meta kernels
skip some checks (channels not divisible by groups passes there), and "invalid exactly where
PyTorch raises" needs every check."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
import torch.nn.functional as F

DTYPE = torch.float64


def conv_shape(
    sizes: Sequence[int],
    kernel: Sequence[int],
    stride: Sequence[int],
    dilation: Sequence[int],
    pad_left: Sequence[int],
    pad_right: Sequence[int],
    channels: int,
    filters: int,
    groups: int,
) -> tuple[int, ...] | None:
    """(filters, *spatial) of convNd after asymmetric padding (F.pad), or None where PyTorch raises."""
    dims = len(sizes)
    conv = {1: F.conv1d, 2: F.conv2d, 3: F.conv3d}[dims]
    try:
        x = torch.zeros(1, channels, *sizes)
        w = torch.zeros(filters, max(1, channels // groups), *kernel)
        pads = [v for k in reversed(range(dims)) for v in (pad_left[k], pad_right[k])]  # F.pad: last axis first
        x = F.pad(x, pads)
        return tuple(conv(x, w, stride=tuple(stride), dilation=tuple(dilation), groups=groups).shape[1:])
    except (RuntimeError, ValueError, ZeroDivisionError):
        return None


def transposed_length(
    length: int, kernel: int, stride: int, dilation: int, padding: int, output_padding: int
) -> int | None:
    try:
        x = torch.zeros(1, 1, length)
        w = torch.zeros(1, 1, kernel)
        y = F.conv_transpose1d(x, w, stride=stride, padding=padding, output_padding=output_padding, dilation=dilation)
        return int(y.shape[-1])
    except (RuntimeError, ValueError):
        return None


def pool_length(length: int, kernel: int, stride: int, dilation: int, padding: int) -> int | None:
    try:
        x = torch.zeros(1, 1, length)
        y = F.max_pool1d(x, kernel, stride=stride, padding=padding, dilation=dilation, ceil_mode=True)
        return int(y.shape[-1])
    except (RuntimeError, ValueError):
        return None


def conv1d(x_nc: np.ndarray, W: np.ndarray, stride: int, dilation: int = 1) -> torch.Tensor:
    """f_W(x) for position-first x[n, c] and one filter W[1, c, k]: cross-correlation, no padding."""
    x_ = torch.as_tensor(x_nc, dtype=DTYPE).T.unsqueeze(0)  # (1, C, L)
    W_ = torch.as_tensor(W, dtype=DTYPE)  # (1, C, K)
    return F.conv1d(x_, W_, stride=stride, dilation=dilation)[0, 0]  # the filter axis dropped


def conv1d_jacobians(x_nc: np.ndarray, W: np.ndarray, stride: int) -> dict[str, np.ndarray]:
    """f, ∂f/∂W (shape f + W), ∂f/∂x (shape f + x) by torch.func.jacrev."""
    from torch.func import jacrev

    x_, W_ = torch.as_tensor(x_nc, dtype=DTYPE), torch.as_tensor(W, dtype=DTYPE)
    return {
        "f": conv1d(x_nc, W, stride).numpy(),
        "df_dW": jacrev(lambda w: conv1d(x_, w, stride))(W_).numpy(),
        "df_dx": jacrev(lambda x: conv1d(x, W_, stride))(x_).numpy(),
    }


def conv1d_dl_dW(x_nc: np.ndarray, W: np.ndarray, stride: int, g: np.ndarray) -> np.ndarray:
    """∂ℓ/∂W for ℓ = Σ_r g[r] f[r] (so ∂ℓ/∂f = g), by autograd; the shape of W."""
    W_ = torch.as_tensor(W, dtype=DTYPE).requires_grad_(True)
    loss = torch.dot(conv1d(torch.as_tensor(x_nc, dtype=DTYPE), W_, stride), torch.as_tensor(g, dtype=DTYPE))
    loss.backward()
    return W_.grad.numpy()


def gradient_identities(x: np.ndarray, W: np.ndarray, g: np.ndarray, stride: tuple, dilation: tuple) -> dict:
    """Autograd's ∂ℓ/∂W and ∂ℓ/∂x for ℓ = Σ g ⊙ conv(x, W), beside the two identities
    ∂ℓ/∂W = correlation of x with g spread `stride` apart (dilation = stride), and
    ∂ℓ/∂x = transposed convolution of g with W.  x: (C, *L), W: (F, C, *K), g: (F, *R); 1-D or 2-D."""
    dims = x.ndim - 1
    conv = {1: F.conv1d, 2: F.conv2d}[dims]
    conv_t = {1: F.conv_transpose1d, 2: F.conv_transpose2d}[dims]
    x_ = torch.as_tensor(x, dtype=DTYPE).unsqueeze(0).requires_grad_(True)
    W_ = torch.as_tensor(W, dtype=DTYPE).requires_grad_(True)
    g_ = torch.as_tensor(g, dtype=DTYPE).unsqueeze(0)
    y = conv(x_, W_, stride=stride, dilation=dilation)
    (y * g_).sum().backward()
    kernel = W.shape[2:]
    # ∂ℓ/∂W[f, c, k] = Σ_r g[f, r] x[c, S r + D k]: channels of x as a batch, g as the filters
    corr = conv(torch.as_tensor(x, dtype=DTYPE).unsqueeze(1), g_.transpose(0, 1), dilation=stride)
    corr = corr[
        (slice(None), slice(None), *(slice(0, dilation[a] * (kernel[a] - 1) + 1, dilation[a]) for a in range(dims)))
    ]
    dW = corr.transpose(0, 1)
    # ∂ℓ/∂x: the transposed convolution, padded at the end to the input's length
    out = conv_t(g_, torch.as_tensor(W, dtype=DTYPE), stride=stride, dilation=dilation)
    pad = [v for a in reversed(range(dims)) for v in (0, x.shape[1 + a] - out.shape[2 + a])]
    dx = F.pad(out, pad)[0]
    return {
        "autograd_W": W_.grad.numpy(),
        "autograd_x": x_.grad[0].numpy(),
        "identity_W": dW.numpy(),
        "identity_x": dx.numpy(),
        "output_shape": tuple(y.shape[2:]),
    }
