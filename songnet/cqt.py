"""The batched Constant-Q transform in PyTorch: librosa's filters as strided convolutions.

``librosa.cqt`` computes each octave as an STFT of a (down-sampled) signal multiplied by
a sparse frequency-domain filter basis. Here every octave's basis is built exactly as
librosa builds it (``librosa.filters.wavelet``, the same length normalisation, the same
1 % sparsification), turned back into the time-domain kernel it applies to each frame,
and run at the full sample rate as one ``conv1d`` per octave with ``stride=hop_length``.
The top octave is then identical to librosa's; lower octaves differ only by librosa's
down-sampling filters. Frames are centred like librosa's (frame ``t`` at sample
``t * hop_length``, zero padding), so a signal of ``n`` samples gives ``n // hop + 1``
frames.

The kernels are built once per (parameters, device) and cached.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING

import librosa
import numpy as np
import torch
import torch.nn.functional as F

if TYPE_CHECKING:
    from songnet.features import FeatureParams

__all__ = ["SPARSITY", "OctaveKernels", "cqt_magnitude", "kernels", "resolve_device"]

SPARSITY = 0.01
"""Fraction of each filter's spectral mass dropped, as ``librosa.cqt``'s default."""


def resolve_device(device: str | torch.device = "auto") -> torch.device:
    """``"auto"`` -> the first CUDA GPU when present, else the CPU; anything else as given."""
    if isinstance(device, torch.device):
        return device
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


class OctaveKernels:
    """The convolution kernels of one set of feature parameters on one device.

    Attributes
    ----------
    groups : list of (lo, hi, weight)
        Bins ``lo:hi`` (one octave, lowest bins first in the image) and their kernels,
        ``weight`` of shape ``(2 * (hi - lo), 1, n_fft)``: real parts then imaginary
        parts, ``n_fft`` a power of two, centred on the frame.
    """

    def __init__(self, groups: list[tuple[int, int, torch.Tensor]]) -> None:
        self.groups = groups


def _octave_kernel(freqs: np.ndarray, alpha: np.ndarray, sr: int) -> np.ndarray:
    """Time-domain kernels ``(n, n_fft)`` complex for one octave at rate ``sr``.

    ``C[k, t] = sum_m v[k, m] * y[t * hop + m - n_fft // 2]``, the same linear map as
    librosa's ``fft_basis @ stft(y, window="ones")``, divided by ``sqrt(length_k)``.
    """
    basis, lengths = librosa.filters.wavelet(freqs=freqs, sr=sr, filter_scale=1, norm=1,
                                             pad_fft=True, window="hann", alpha=alpha)
    n_fft = basis.shape[1]
    basis = basis * (lengths[:, np.newaxis] / n_fft)
    fft_basis = np.fft.fft(basis, n=n_fft, axis=1)[:, : n_fft // 2 + 1]
    fft_basis = librosa.util.sparsify_rows(fft_basis, quantile=SPARSITY).toarray()
    # the STFT row f of a frame x is sum_m x[m] exp(-2j pi f m / n_fft)
    f = np.arange(n_fft // 2 + 1)
    m = np.arange(n_fft)
    v = fft_basis @ np.exp(-2j * np.pi * np.outer(f, m) / n_fft)  # (n, n_fft)
    return v / np.sqrt(lengths[:, np.newaxis])


@functools.lru_cache(maxsize=16)
def _kernels_numpy(sr: int, fmin: float, bins_per_octave: int, n_bins: int
                   ) -> tuple[tuple[int, int, np.ndarray], ...]:
    freqs = librosa.cqt_frequencies(n_bins=n_bins, fmin=fmin, bins_per_octave=bins_per_octave)
    alpha = librosa.filters._relative_bandwidth(freqs=freqs)
    groups = []
    hi = n_bins
    while hi > 0:  # octaves from the top, as librosa slices them
        lo = max(0, hi - bins_per_octave)
        v = _octave_kernel(freqs[lo:hi], alpha[lo:hi], sr)
        w = np.concatenate([v.real, v.imag]).astype(np.float32)[:, np.newaxis, :]
        groups.append((lo, hi, np.ascontiguousarray(w)))
        hi = lo
    return tuple(groups)


@functools.lru_cache(maxsize=16)
def _kernels_cached(sr: int, fmin: float, bins_per_octave: int, n_bins: int,
                    device: torch.device) -> OctaveKernels:
    groups = [(lo, hi, torch.from_numpy(w).to(device))
              for lo, hi, w in _kernels_numpy(sr, fmin, bins_per_octave, n_bins)]
    return OctaveKernels(groups)


def kernels(params: FeatureParams, device: str | torch.device = "auto") -> OctaveKernels:
    """The cached convolution kernels for ``params`` on ``device``."""
    return _kernels_cached(params.sr, params.fmin, params.bins_per_octave, params.n_bins,
                           resolve_device(device))


def cqt_magnitude(x: torch.Tensor, *, params: FeatureParams,
                  device: str | torch.device = "auto") -> torch.Tensor:
    """CQT magnitudes of a batch of signals, on ``device``.

    Parameters
    ----------
    x : torch.Tensor [shape=(B, n), dtype=float32]
        Signals at ``params.sr`` Hz (any device; moved to ``device``).
    params : FeatureParams
        Uses ``sr, fmin, bins_per_octave, n_bins, hop_length``.
    device : str or torch.device
        ``"auto"`` (GPU when present), ``"cpu"``, ``"cuda"``, …

    Returns
    -------
    torch.Tensor [shape=(B, n_bins, n // hop_length + 1), dtype=float32]
        ``|C|`` as ``librosa.cqt(..., scale=True)`` (linear magnitude), lowest bin first.
    """
    if x.ndim != 2:
        raise ValueError(f"expected signals of shape (B, n), got {tuple(x.shape)}")
    dev = resolve_device(device)
    kern = kernels(params, dev)
    hop = params.hop_length
    with torch.inference_mode():
        x = x.to(dev, dtype=torch.float32)[:, None, :]  # (B, 1, n)
        n_frames = x.shape[-1] // hop + 1
        out = torch.empty(x.shape[0], params.n_bins, n_frames, device=dev)  # (B, n_bins, T)
        for lo, hi, w in kern.groups:
            half = w.shape[-1] // 2
            resp = F.conv1d(F.pad(x, (half, half)), w, stride=hop)  # (B, 2k, T)
            k = hi - lo
            out[:, lo:hi] = torch.sqrt(resp[:, :k] ** 2 + resp[:, k:] ** 2)
    return out
