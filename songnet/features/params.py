"""The ``features`` params: how audio becomes an image (Constant-Q, linear or mel).

Every model and feature set records these; a model used with other values is refused by
:func:`check_compatible`, with a message naming the first differing key.
"""

from __future__ import annotations

import dataclasses
import functools
from typing import Literal

import numpy as np

from songnet.core.errors import ParamsError, SongnetError
from songnet.features import frontends
from songnet.features.kernels import cqt_frequencies, wavelet_lengths

__all__ = ["FeatureParams", "FeatureParamsError", "cached_wavelet_lengths", "check_compatible"]


class FeatureParamsError(ParamsError, ValueError):
    """Feature parameters that cannot make a valid transform."""


@dataclasses.dataclass(frozen=True)
class FeatureParams:
    """The ``features`` section of params.yaml: how audio becomes an image.

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
        For a surrogate set whose clips are longer (a catalog with long songs), the
        features stage lengthens it to the clips' (:meth:`for_clips`).
    db_floor : float
        Lowest level kept, in dB below the reference (negative); maps to 0 in the image.
    normalize : {"max", "fixed"}
        dB reference: each image's own maximum, or a full-scale sine (at ``fmin`` for
        ``cqt``, at the lowest band's centre for ``stft`` and ``mel``).
    frontend : {"cqt", "stft", "mel"}
        The transform (:mod:`songnet.features.frontends`): the Constant-Q transform, or a
        power spectrogram in ``n_bins`` equal-width (``stft``) or mel (``mel``) bands
        from ``fmin`` to the top CQT bin's centre; every one gives ``(n_bins, n_frames)``
        images. Feature params stored without it (older models) read as ``cqt``.
    """

    sr: int = 22050
    fmin: float = 1000.0
    bins_per_octave: int = 24
    n_bins: int = 80
    hop_length: int = 128
    window_s: float = 3.0
    db_floor: float = -80.0
    normalize: Literal["max", "fixed"] = "max"
    frontend: Literal["cqt", "stft", "mel"] = "cqt"

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
        if self.frontend not in frontends.FRONTENDS:
            raise FeatureParamsError(f"frontend={self.frontend!r} must be one of "
                                     f"{', '.join(map(repr, frontends.FRONTENDS))}")
        fmax = frontends.top_frequency(self)
        if self.frontend != "cqt":
            problem = frontends.band_problem(frontend=self.frontend, sr=self.sr,
                                             fmin=self.fmin, fmax=fmax, n_bins=self.n_bins,
                                             hop_length=self.hop_length)
            if problem:
                raise FeatureParamsError(problem)
            return
        _, cutoff = cached_wavelet_lengths(self.sr, self.fmin, self.bins_per_octave, self.n_bins)
        if cutoff > self.sr / 2:
            raise FeatureParamsError(
                f"the top bin ({fmax:.0f} Hz, filter reaching {cutoff:.0f} Hz) must stay "
                f"below sr/2={self.sr / 2:.0f} Hz; lower fmin or n_bins, or raise sr")

    def for_clips(self, clip_s: float | None) -> FeatureParams:
        """These params with a window at least ``clip_s`` long, so that an image holds a
        whole surrogate clip (``clip_s`` as
        :func:`songnet.surrogates.cliplength.clip_length` reads it); ``None``, or clips
        no longer than ``window_s``: these params."""
        if clip_s is None or round(clip_s * self.sr) <= self.n_samples:
            return self
        return dataclasses.replace(self, window_s=float(clip_s))

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
        """Bin (band) centre frequencies in Hz, shape ``(n_bins,)``, lowest first."""
        if self.frontend != "cqt":
            return frontends.band_frequencies(self)
        return cqt_frequencies(self.n_bins, self.fmin, self.bins_per_octave)


@functools.lru_cache(maxsize=32)
def cached_wavelet_lengths(sr: int, fmin: float, bins_per_octave: int, n_bins: int
                     ) -> tuple[np.ndarray, float]:
    return wavelet_lengths(sr, fmin, bins_per_octave, n_bins)


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
