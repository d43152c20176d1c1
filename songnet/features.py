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
:mod:`songnet.cqt`). They agree to a correlation above 0.99 on the dB images.
For long recordings, :func:`cqt_power` transforms a whole block at once and
:func:`power_to_images` normalises any run of its frames as an image.
"""

from __future__ import annotations

import dataclasses
import functools
from typing import Literal, TypeVar

import numpy as np
import torch

from songnet import cqt
from songnet.cqt import cqt_frequencies, resolve_device, wavelet_lengths
from songnet.errors import ParamsError, SongnetError

__all__ = ["FeatureParams", "FeatureParamsError", "check_compatible", "cqt_power",
           "fit_window", "image_reference", "images", "power_to_images"]

ArrayT = TypeVar("ArrayT", np.ndarray, torch.Tensor)

_AMIN = 1e-20  # power floor before the logarithm (avoids log(0))


class FeatureParamsError(ParamsError, ValueError):
    """Feature parameters that cannot make a valid transform."""


@dataclasses.dataclass(frozen=True)
class FeatureParams:
    """The ``features`` section of params.yaml: how audio becomes a Constant-Q image.

    Attributes
    ----------
    sr : int
        Pipeline sample rate in Hz; every recording is resampled to it.
    fmin : float
        Centre frequency of the lowest bin in Hz.
    bins_per_octave : int
        Frequency resolution; 24 gives Q ≈ 34 (a 34 ms filter at 1 kHz, 5 ms at 7 kHz).
    n_bins : int
        Number of bins; the top one is ``fmin * 2 ** ((n_bins - 1) / bins_per_octave)``.
    hop_length : int
        Samples between frames (128 at 22 050 Hz = 5.8 ms, fine enough for 50 ms trills).
    window_s : float
        Image length in seconds; clips are fitted to ``n_samples`` by :func:`fit_window`.
    db_floor : float
        Lowest level kept, in dB below the reference (negative); maps to 0 in the image.
    normalize : {"max", "fixed"}
        dB reference: each image's own maximum, or a full-scale sine at ``fmin``.
    """

    sr: int = 22050
    fmin: float = 1000.0
    bins_per_octave: int = 24
    n_bins: int = 80
    hop_length: int = 128
    window_s: float = 3.0
    db_floor: float = -80.0
    normalize: Literal["max", "fixed"] = "max"

    def __post_init__(self) -> None:
        for name in ("sr", "bins_per_octave", "n_bins", "hop_length"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
                raise FeatureParamsError(f"{name}={value!r} must be a positive integer")
        if self.n_bins < 2:
            raise FeatureParamsError(f"n_bins={self.n_bins} must be at least 2 (filter "
                                     "bandwidths come from neighbouring bins)")
        if not self.fmin > 0:
            raise FeatureParamsError(f"fmin={self.fmin} must be positive (Hz)")
        if not self.window_s > 0:
            raise FeatureParamsError(f"window_s={self.window_s} must be positive (seconds)")
        if not self.db_floor < 0:
            raise FeatureParamsError(f"db_floor={self.db_floor} must be negative (dB)")
        if self.normalize not in ("max", "fixed"):
            raise FeatureParamsError(f"normalize={self.normalize!r} must be 'max' or 'fixed'")
        fmax = self.fmin * 2.0 ** ((self.n_bins - 1) / self.bins_per_octave)
        _, cutoff = _wavelet_lengths(self.sr, self.fmin, self.bins_per_octave, self.n_bins)
        if cutoff > self.sr / 2:
            raise FeatureParamsError(
                f"the top bin ({fmax:.0f} Hz, filter reaching {cutoff:.0f} Hz) must stay "
                f"below sr/2={self.sr / 2:.0f} Hz; lower fmin or n_bins, or raise sr")

    @property
    def n_samples(self) -> int:
        """Samples in one window, ``round(window_s * sr)``."""
        return round(self.window_s * self.sr)

    @property
    def n_frames(self) -> int:
        """Frames in one image, ``n_samples // hop_length + 1`` (centred frames)."""
        return self.n_samples // self.hop_length + 1

    @property
    def frame_s(self) -> float:
        """Seconds between frames."""
        return self.hop_length / self.sr

    @property
    def frequencies(self) -> np.ndarray:
        """Bin centre frequencies in Hz, shape ``(n_bins,)``, lowest first."""
        return cqt_frequencies(self.n_bins, self.fmin, self.bins_per_octave)


@functools.lru_cache(maxsize=32)
def _wavelet_lengths(sr: int, fmin: float, bins_per_octave: int, n_bins: int
                     ) -> tuple[np.ndarray, float]:
    return wavelet_lengths(sr, fmin, bins_per_octave, n_bins)


def _ref_power_fixed(params: FeatureParams) -> float:
    """Peak CQT power of a full-scale sine at ``fmin``: ``length / 4`` (scaled filters)."""
    lengths, _ = _wavelet_lengths(params.sr, params.fmin, params.bins_per_octave, params.n_bins)
    return float(lengths[0]) / 4.0


def check_compatible(expected: FeatureParams, actual: FeatureParams, *, what: str) -> None:
    """Refuse features made with other parameters than ``expected``.

    Parameters
    ----------
    expected : FeatureParams
        What ``what`` (a model, a feature set) was made with.
    actual : FeatureParams
        What the features at hand use.
    what : str
        Names the thing that expects ``expected``, e.g. the checkpoint path.

    Raises
    ------
    SongnetError
        Naming the first differing parameter and both values.
    """
    for field in dataclasses.fields(FeatureParams):
        want, got = getattr(expected, field.name), getattr(actual, field.name)
        if want != got:
            raise SongnetError(
                f"{what} was made with features.{field.name}={want!r} but these features use "
                f"{field.name}={got!r}; set features.{field.name} to {want!r} in params.yaml "
                "or use a model/feature set made with the same features")


def fit_window(y: np.ndarray, *, params: FeatureParams) -> np.ndarray:
    """Crop or pad a clip to exactly one window, ``params.n_samples`` samples.

    Policy: a shorter clip is zero-padded at the end (the audio keeps its start time, never
    an error); a longer clip is cropped to its loudest window (the ``n_samples`` stretch
    of largest energy; the earliest one on ties, so a constant or silent clip keeps its
    start).

    Parameters
    ----------
    y : np.ndarray [shape=(n,)]
        Samples at ``params.sr``.

    Returns
    -------
    np.ndarray [shape=(params.n_samples,), dtype=float32]
    """
    y = np.asarray(y, dtype=np.float32)
    if y.ndim != 1:
        raise SongnetError(f"fit_window needs one mono clip of shape (n,), got {y.shape}")
    n = params.n_samples
    if y.shape[0] == n:
        return y
    if y.shape[0] < n:
        out = np.zeros(n, dtype=np.float32)
        out[: y.shape[0]] = y
        return out
    energy = np.concatenate([[0.0], np.cumsum(y.astype(np.float64) ** 2)])
    window_energy = energy[n:] - energy[:-n]  # (len(y) - n + 1,)
    start = int(np.argmax(window_energy >= window_energy.max() * (1 - 1e-9)))
    return np.ascontiguousarray(y[start:start + n])


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
    is_numpy = isinstance(power, np.ndarray)
    p = torch.from_numpy(np.asarray(power, dtype=np.float32)) if is_numpy else power.float()
    db = 10.0 * torch.log10(torch.clamp(p, min=_AMIN))
    if params.normalize == "max":
        # the reference never sits less than -db_floor above the power floor, so a
        # silent image lies at the floor rather than being stretched to 1
        ref = torch.amax(db, dim=(-2, -1), keepdim=True)
        ref = torch.clamp(ref, min=10.0 * np.log10(_AMIN) - params.db_floor)
    else:
        ref = 10.0 * np.log10(_ref_power_fixed(params))
    img = torch.clamp((db - ref - params.db_floor) / -params.db_floor, 0.0, 1.0)
    return img.numpy() if is_numpy else img


def cqt_power(y: np.ndarray | torch.Tensor, *, params: FeatureParams,
              device: str | torch.device = "auto") -> torch.Tensor:
    """CQT power of a whole (long) signal, every frame, without cropping to a window.

    Parameters
    ----------
    y : array [shape=(n,)]
        Samples at ``params.sr``, e.g. a block from :func:`songnet.audio.stream`.
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
    return cqt.cqt_power(x[None], params=params, device=device)[0]


def images(batch: np.ndarray | torch.Tensor, *, params: FeatureParams,
           device: str | torch.device = "auto", batch_size: int = 64) -> np.ndarray:
    """Constant-Q images of a batch of clips: the fast, batched PyTorch path.

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
        power = cqt.cqt_power(torch.from_numpy(x[b:b + batch_size]), params=params, device=dev)
        out[b:b + batch_size] = power_to_images(power, params=params).cpu().numpy()
    return out


def image_reference(y: np.ndarray, *, params: FeatureParams) -> np.ndarray:
    """Constant-Q image of one clip with ``librosa.cqt``: the reference path.

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
    c = librosa.cqt(y, sr=params.sr, hop_length=params.hop_length, fmin=params.fmin,
                    n_bins=params.n_bins, bins_per_octave=params.bins_per_octave)
    power = (np.abs(c) ** 2).astype(np.float32)[:, : params.n_frames]
    return power_to_images(power, params=params)
