"""Constant-Q images: the network's view of every recording.

A clip at ``FeatureParams.sr`` is fitted to one window (:func:`fit_window`), transformed
by a Constant-Q transform (``n_bins`` bins from ``fmin``, ``bins_per_octave`` per octave,
one frame every ``hop_length`` samples) and turned into an image in [0, 1]:

- power ``P = |C|**2`` in dB, ``10 * log10(P / ref)``;
- ``normalize="max"``: ``ref`` is the image's own maximum (so its loudest pixel is 1);
  ``normalize="fixed"``: ``ref`` is the peak power of a full-scale sine at ``fmin``, so
  levels compare across images;
- clipped below at ``db_floor`` (and above at 0 dB) and mapped linearly, ``db_floor`` -> 0,
  0 dB -> 1. A silent clip gives an all-zero image.

Two paths compute the transform: :func:`image_reference` (``librosa.cqt``, one clip) and
:func:`images` (PyTorch convolutions, batched, on a GPU when present; see
:mod:`songnet.features.cqt`). They agree to a correlation above 0.99 on the dB images.
For long recordings, :func:`cqt_power` transforms a whole block at once and
:func:`power_to_images` normalises any run of its frames as an image.

``features.frontend="stft"`` or ``"mel"`` replaces the CQT by band power of a Hann STFT
(:mod:`songnet.features.frontends`; ``torch.stft`` here, ``np.fft`` on the classify path,
``librosa.stft``/``librosa.feature.melspectrogram`` in :func:`image_reference`), with the
same frames, image shape and normalisation (``fixed``: a full-scale sine at the lowest
band's centre). :func:`power` and :func:`batch_power` pick the transform.
"""

from __future__ import annotations

import functools
from typing import TypeVar

import numpy as np
import torch

from songnet.core.device import resolve_device
from songnet.core.errors import SongnetError
from songnet.features import cqt, frontends, npcqt
from songnet.features.npcqt import fit_window
from songnet.features.params import FeatureParams

__all__ = ["batch_power", "cqt_power", "fit_window", "image_reference", "images", "power",
           "power_to_images"]

ArrayT = TypeVar("ArrayT", np.ndarray, torch.Tensor)

_AMIN = npcqt.AMIN  # power floor before the logarithm (avoids log(0))


def power_to_images(power: ArrayT, *, params: FeatureParams) -> ArrayT:
    """Normalise CQT power to images in [0, 1] (see the module docstring).

    Parameters
    ----------
    power : np.ndarray or torch.Tensor [shape=(..., n_bins, n_frames)]
        Linear power ``|C|**2``; each trailing ``(n_bins, n_frames)`` slice is one image
        (e.g. frames of :func:`cqt_power` cut into windows).

    Returns
    -------
    Same type, shape and device as ``power``, float32: 0 = ``db_floor``, 1 = the reference.
    """
    if isinstance(power, np.ndarray):
        return npcqt.power_to_images(power, params=params)
    # a pass over the pixels costs as much as the logarithm: take the maximum on the power
    # (log10 is monotonic) and apply the affine map in place, 5 passes instead of 10
    ref = npcqt.reference_db(params)
    if ref is None:
        # the reference never sits less than -db_floor above the power floor, so a
        # silent image lies at the floor rather than being stretched to 1
        peak = torch.amax(power, dim=(-2, -1), keepdim=True).float().clamp_(min=_AMIN)
        ref = torch.clamp(10.0 * torch.log10(peak), min=10.0 * np.log10(_AMIN) - params.db_floor)
    scale = 10.0 / -params.db_floor  # image units per decade of power
    offset = (ref + params.db_floor) / params.db_floor  # (-ref - floor) / -floor
    img = torch.clamp(power.float(), min=_AMIN).log10_()  # (..., n_bins, n_frames)
    return img.mul_(scale).add_(offset).clamp_(0.0, 1.0)


def cqt_power(y: np.ndarray | torch.Tensor, *, params: FeatureParams,
              device: str | torch.device = "auto") -> torch.Tensor:
    """CQT power of a whole (long) signal, every frame, without cropping to a window.

    Parameters
    ----------
    y : array [shape=(n,)]
        Samples at ``params.sr``, e.g. a block from :func:`songnet.core.audio.stream`.
    device : str or torch.device
        ``"auto"`` uses a GPU when present.

    Returns
    -------
    torch.Tensor [shape=(n_bins, n // hop_length + 1), dtype=float32], on ``device``
        ``|C|**2``; frame ``t`` is centred on sample ``t * hop_length``. Frames
        ``t0 : t0 + params.n_frames`` through :func:`power_to_images` give the image of
        the window starting at sample ``t0 * hop_length`` (up to the zero padding that
        :func:`images` puts at a clip's edges).
    """
    x = torch.as_tensor(np.asarray(y, dtype=np.float32) if isinstance(y, np.ndarray) else y)
    if x.ndim != 1:
        raise SongnetError(f"cqt_power needs one mono signal of shape (n,), got "
                           f"{tuple(x.shape)}")
    return cqt.batch_power(x[None], params=params, device=device)[0]


def power(y: np.ndarray | torch.Tensor, *, params: FeatureParams,
          device: str | torch.device = "auto") -> torch.Tensor:
    """Power of the ``params.frontend`` transform of a whole signal, every frame.

    As :func:`cqt_power` (same shape, frames and device) for any front end.
    """
    x = torch.as_tensor(np.asarray(y, dtype=np.float32) if isinstance(y, np.ndarray) else y)
    if x.ndim != 1:
        raise SongnetError(f"power needs one mono signal of shape (n,), got {tuple(x.shape)}")
    return batch_power(x[None], params=params, device=device)[0]


def batch_power(x: torch.Tensor, *, params: FeatureParams,
                device: str | torch.device = "auto") -> torch.Tensor:
    """Power of the ``params.frontend`` transform of a batch of signals, on ``device``.

    Parameters
    ----------
    x : torch.Tensor [shape=(B, n), dtype=float32]
        Signals at ``params.sr`` (any device).

    Returns
    -------
    torch.Tensor [shape=(B, n_bins, n // hop_length + 1), dtype=float32]
        :func:`songnet.features.cqt.batch_power` for ``"cqt"``; for ``"stft"`` and
        ``"mel"`` the band power of ``torch.stft`` (Hann window of
        :func:`songnet.features.frontends.stft_n_fft` samples, centred frames, zero
        padding), equal to :func:`songnet.features.frontends.spectral_power`.
    """
    if params.frontend == "cqt":
        return cqt.batch_power(x, params=params, device=device)
    if x.ndim != 2:
        raise SongnetError(f"expected signals of shape (B, n), got {tuple(x.shape)}")
    dev = resolve_device(device)
    bank, window, lo, hi = _stft_filters(params, dev)
    with torch.inference_mode():
        spec = torch.stft(x.to(dev, dtype=torch.float32), window.shape[0],
                          hop_length=params.hop_length, window=window, center=True,
                          pad_mode="constant", return_complex=True)[:, lo:hi]  # (B, F, T)
        spec = torch.view_as_real(spec).square_().sum(dim=-1)  # (B, F, T), F = hi - lo
        return torch.matmul(bank, spec)  # (B, n_bins, T)


@functools.lru_cache(maxsize=16)
def _stft_filters(params: FeatureParams, device: torch.device
                  ) -> tuple[torch.Tensor, torch.Tensor, int, int]:
    """The band filters, the Hann window and the FFT bins used, on ``device`` (cached)."""
    bank, lo, hi = frontends.filterbank(params)
    window = torch.hann_window(frontends.stft_n_fft(params.sr), periodic=True, device=device)
    return torch.from_numpy(bank.copy()).to(device), window, lo, hi


def images(batch: np.ndarray | torch.Tensor, *, params: FeatureParams,
           device: str | torch.device = "auto", batch_size: int = 64) -> np.ndarray:
    """Images of a batch of clips (``params.frontend``): the fast, batched PyTorch path.

    Parameters
    ----------
    batch : array [shape=(B, n)]
        Clips at ``params.sr``; when ``n != params.n_samples`` every clip goes through
        :func:`fit_window` first.
    device : str or torch.device
        ``"auto"`` uses a GPU when present.
    batch_size : int
        Clips per convolution call (bounds memory).

    Returns
    -------
    np.ndarray [shape=(B, n_bins, n_frames), dtype=float32]
        Images in [0, 1], lowest frequency in row 0.
    """
    x = batch.detach().cpu().numpy() if isinstance(batch, torch.Tensor) else np.asarray(batch)
    if x.ndim != 2:
        raise SongnetError(f"images needs clips of shape (B, n), got {x.shape}")
    x = x.astype(np.float32, copy=False)
    if not np.isfinite(x).all():
        raise SongnetError("clips contain NaN or inf samples; check the audio they came from")
    if x.shape[1] != params.n_samples:
        x = np.stack([fit_window(row, params=params) for row in x]) if len(x) else \
            np.zeros((0, params.n_samples), dtype=np.float32)
    dev = resolve_device(device)
    out = np.empty((x.shape[0], params.n_bins, params.n_frames), dtype=np.float32)
    for b in range(0, x.shape[0], batch_size):
        p = batch_power(torch.from_numpy(x[b:b + batch_size]), params=params, device=dev)
        out[b:b + batch_size] = power_to_images(p, params=params).cpu().numpy()
    return out


def image_reference(y: np.ndarray, *, params: FeatureParams) -> np.ndarray:
    """Image of one clip with ``librosa.cqt`` (or ``librosa.stft``): the reference path.

    For ``frontend="stft"`` the band filters of :mod:`songnet.features.frontends` applied
    to ``librosa.stft``'s power; for ``"mel"``, ``librosa.feature.melspectrogram``.

    Parameters
    ----------
    y : np.ndarray [shape=(n,)]
        One clip at ``params.sr``; fitted with :func:`fit_window`.

    Returns
    -------
    np.ndarray [shape=(n_bins, n_frames), dtype=float32]
        Image in [0, 1], as :func:`images` computes it.
    """
    y = np.asarray(y, dtype=np.float32)
    if y.ndim != 1 or not np.isfinite(y).all():
        raise SongnetError("image_reference needs one finite mono clip of shape (n,), got "
                           f"shape {y.shape}")
    import librosa  # the reference only: the fast path never imports librosa

    y = fit_window(y, params=params)
    if params.frontend == "cqt":
        c = librosa.cqt(y, sr=params.sr, hop_length=params.hop_length, fmin=params.fmin,
                        n_bins=params.n_bins, bins_per_octave=params.bins_per_octave)
        p = np.abs(c) ** 2
    else:
        n_fft = frontends.stft_n_fft(params.sr)
        if params.frontend == "mel":
            p = librosa.feature.melspectrogram(
                y=y, sr=params.sr, n_fft=n_fft, hop_length=params.hop_length, window="hann",
                center=True, pad_mode="constant", power=2.0, n_mels=params.n_bins,
                fmin=params.fmin, fmax=frontends.top_frequency(params), htk=False,
                norm="slaney")
        else:
            s = librosa.stft(y, n_fft=n_fft, hop_length=params.hop_length, window="hann",
                             center=True, pad_mode="constant")
            bank, lo, hi = frontends.filterbank(params)
            p = bank @ (np.abs(s[lo:hi]) ** 2)
    return power_to_images(p.astype(np.float32)[:, : params.n_frames], params=params)
