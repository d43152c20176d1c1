"""The batched Constant-Q transform in PyTorch: librosa's filters as strided convolutions.

``librosa.cqt`` computes each octave as an STFT of a (down-sampled) signal multiplied by
a sparse frequency-domain filter basis. Every octave's basis is built as librosa builds it
and turned back into the time-domain kernel it applies to each frame
(:mod:`songnet.features.kernels`, NumPy only), then run here at the full sample rate as
one ``conv1d`` per octave with ``stride=hop_length``. The top octave is then identical to
librosa's; lower octaves differ only by librosa's down-sampling filters. Frames are
centred like librosa's (frame ``t`` at sample ``t * hop_length``, zero padding), so a
signal of ``n`` samples gives ``n // hop + 1`` frames. :mod:`songnet.features.npcqt`
applies the same kernels with NumPy, for classifying without torch.

The kernels are built once per (parameters, device) and cached.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING

import torch
import torch.nn.functional as F

from songnet.core.device import resolve_device
from songnet.features.kernels import SPARSITY, cqt_frequencies, octave_kernels, wavelet_lengths

if TYPE_CHECKING:
    from songnet.features.params import FeatureParams

__all__ = ["SPARSITY", "OctaveKernels", "batch_power", "cqt_frequencies", "cqt_magnitude",
           "kernels", "wavelet_lengths"]


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


@functools.lru_cache(maxsize=16)
def _kernels_cached(sr: int, fmin: float, bins_per_octave: int, n_bins: int,
                    device: torch.device) -> OctaveKernels:
    groups = [(lo, hi, torch.from_numpy(w).to(device))
              for lo, hi, w in octave_kernels(sr, fmin, bins_per_octave, n_bins)]
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
    return _transform(x, params=params, device=device, magnitude=True)


def batch_power(x: torch.Tensor, *, params: FeatureParams,
              device: str | torch.device = "auto") -> torch.Tensor:
    """CQT power ``|C|**2`` of a batch of signals, on ``device``.

    As :func:`cqt_magnitude` squared, computed directly as ``re**2 + im**2`` (no square
    root); same parameters, same shape ``(B, n_bins, n // hop_length + 1)``.
    """
    return _transform(x, params=params, device=device, magnitude=False)


def _transform(x: torch.Tensor, *, params: FeatureParams, device: str | torch.device,
               magnitude: bool) -> torch.Tensor:
    if x.ndim != 2:
        raise ValueError(f"expected signals of shape (B, n), got {tuple(x.shape)}")
    dev = resolve_device(device)
    kern = kernels(params, dev)
    hop = params.hop_length
    with torch.inference_mode():
        x = x.to(dev, dtype=torch.float32)[:, None, :]  # (B, 1, n)
        n_frames = x.shape[-1] // hop + 1
        # zero padding once for the longest kernel; shorter ones read a centred slice
        pad = max(w.shape[-1] for _, _, w in kern.groups) // 2
        xp = F.pad(x, (pad, pad))  # (B, 1, n + 2 * pad)
        out = torch.empty(x.shape[0], params.n_bins, n_frames, device=dev)  # (B, n_bins, T)
        for lo, hi, w in kern.groups:
            cut = pad - w.shape[-1] // 2
            resp = F.conv1d(xp[..., cut:xp.shape[-1] - cut], w, stride=hop)  # (B, 2k, T)
            k = hi - lo
            resp.square_()
            if magnitude:
                torch.sqrt(resp[:, :k] + resp[:, k:], out=out[:, lo:hi])
            else:
                torch.add(resp[:, :k], resp[:, k:], out=out[:, lo:hi])
    return out
