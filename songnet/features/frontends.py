"""The linear-frequency and mel front ends, in NumPy only (no torch, no librosa).

``features.frontend`` picks how a window of audio becomes the power behind an image:

- ``"cqt"``: the Constant-Q transform (:mod:`songnet.features.kernels`), the default;
- ``"stft"``: the power spectrogram ``|STFT|**2`` averaged into ``n_bins`` bands of equal
  width in Hz;
- ``"mel"``: the same power spectrogram through ``n_bins`` mel filters (Slaney's mel scale
  and area normalisation, as ``librosa.filters.mel(htk=False, norm="slaney")``).

All three share the band, the frames and hence the image shape: the ``stft`` and ``mel``
bands span ``fmin`` to the centre of the top CQT bin, ``fmin * 2 ** ((n_bins - 1) /
bins_per_octave)``, and frame ``t`` is centred on sample ``t * hop_length`` with zero
padding at both ends, as the CQT's (``n // hop_length + 1`` frames), so a network needs
no change to read any of them.

The STFT uses a periodic Hann window of :func:`stft_n_fft` samples, 512 at 22 050 Hz
(23 ms): 43 Hz between FFT bins, finer than the 110 Hz bands of the defaults (every band
averages two or three bins) and than the mel bands above 1.5 kHz, while a 50 ms trill
still spans two windows; the hop (5.8 ms) stays a quarter of the window. The filters here
are the only ones the classify path needs; :mod:`songnet.features.images` runs the same
STFT with torch for the batched features stage.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from songnet.features.params import FeatureParams

__all__ = ["FRONTENDS", "band_frequencies", "band_problem", "filterbank", "frequency_rows",
           "hz_to_mel", "linear_filters", "mel_filters", "mel_to_hz", "reference_power",
           "spectral_power", "stft_n_fft", "top_frequency"]

FRONTENDS = ("cqt", "stft", "mel")
"""The values of ``features.frontend``."""

_TILE_FRAMES = 4096  # frames per FFT call (bounds the memory of long signals)

# Slaney's mel scale (librosa's htk=False): linear below 1 kHz, logarithmic above
_F_SP = 200.0 / 3  # Hz per mel below 1 kHz
_MIN_LOG_HZ = 1000.0
_MIN_LOG_MEL = _MIN_LOG_HZ / _F_SP
_LOGSTEP = np.log(6.4) / 27.0


def stft_n_fft(sr: int) -> int:
    """FFT length of the ``stft`` and ``mel`` front ends: the power of two nearest 23.2 ms.

    512 at 22 050 Hz, 1024 at 44 100 Hz, 256 at 11 025 Hz (see the module docstring).
    """
    return int(2 ** round(np.log2(sr * 512 / 22050)))


def top_frequency(params: FeatureParams) -> float:
    """Upper band edge of ``stft`` and ``mel`` (Hz): the centre of the top CQT bin."""
    return float(params.fmin * 2.0 ** ((params.n_bins - 1) / params.bins_per_octave))


def hz_to_mel(hz: np.ndarray | float) -> np.ndarray:
    """Slaney's mel scale, as ``librosa.hz_to_mel(hz, htk=False)``."""
    hz = np.asarray(hz, dtype=float)
    linear = hz / _F_SP
    log = _MIN_LOG_MEL + np.log(np.maximum(hz, _MIN_LOG_HZ) / _MIN_LOG_HZ) / _LOGSTEP
    return np.where(hz >= _MIN_LOG_HZ, log, linear)


def mel_to_hz(mel: np.ndarray | float) -> np.ndarray:
    """The inverse of :func:`hz_to_mel`, as ``librosa.mel_to_hz(mel, htk=False)``."""
    mel = np.asarray(mel, dtype=float)
    log = _MIN_LOG_HZ * np.exp(_LOGSTEP * (mel - _MIN_LOG_MEL))
    return np.where(mel >= _MIN_LOG_MEL, log, _F_SP * mel)


def _fft_frequencies(sr: int, n_fft: int) -> np.ndarray:
    return np.fft.rfftfreq(n_fft, d=1.0 / sr)


def mel_filters(*, sr: int, n_fft: int, n_mels: int, fmin: float, fmax: float) -> np.ndarray:
    """Triangular mel filters with Slaney's area normalisation.

    As ``librosa.filters.mel(sr=sr, n_fft=n_fft, n_mels=n_mels, fmin=fmin, fmax=fmax,
    htk=False, norm="slaney")``: ``n_mels + 2`` points equally spaced in mel from ``fmin``
    to ``fmax``; filter ``k`` rises from point ``k`` to ``k + 1`` and falls to ``k + 2``,
    scaled by ``2 / (f[k + 2] - f[k])``.

    Returns
    -------
    np.ndarray [shape=(n_mels, n_fft // 2 + 1), dtype=float64]
        ``mel_power = filters @ stft_power``.
    """
    fftfreqs = _fft_frequencies(sr, n_fft)
    mel_f = mel_to_hz(np.linspace(hz_to_mel(fmin), hz_to_mel(fmax), n_mels + 2))
    fdiff = np.diff(mel_f)
    ramps = mel_f[:, np.newaxis] - fftfreqs[np.newaxis, :]  # (n_mels + 2, n_freqs)
    lower = -ramps[:-2] / fdiff[:-1, np.newaxis]
    upper = ramps[2:] / fdiff[1:, np.newaxis]
    weights = np.maximum(0.0, np.minimum(lower, upper))  # (n_mels, n_freqs)
    return weights * (2.0 / (mel_f[2:] - mel_f[:-2]))[:, np.newaxis]


def linear_filters(*, sr: int, n_fft: int, n_bands: int, fmin: float, fmax: float
                   ) -> np.ndarray:
    """Equal-width bands from ``fmin`` to ``fmax``, each the mean of its FFT bins.

    Band ``k`` holds the FFT bins whose frequency lies in ``[fmin + k w, fmin + (k + 1) w)``
    (the last band also holds ``fmax``), ``w = (fmax - fmin) / n_bands``; each of its
    bins weighs ``1 / count``, so white noise gives every band the same power.

    Returns
    -------
    np.ndarray [shape=(n_bands, n_fft // 2 + 1), dtype=float64]
        ``band_power = filters @ stft_power``.
    """
    fftfreqs = _fft_frequencies(sr, n_fft)
    band = np.floor((fftfreqs - fmin) / (fmax - fmin) * n_bands).astype(np.int64)
    band[fftfreqs == fmax] = n_bands - 1
    inside = (fftfreqs >= fmin) & (fftfreqs <= fmax)
    weights = np.zeros((n_bands, fftfreqs.size))
    weights[band[inside], np.flatnonzero(inside)] = 1.0
    counts = weights.sum(axis=1, keepdims=True)
    return weights / np.maximum(counts, 1.0)


def band_problem(*, frontend: str, sr: int, fmin: float, fmax: float, n_bins: int,
                 hop_length: int) -> str | None:
    """Why an ``stft`` or ``mel`` front end cannot be built from these values, or None."""
    n_fft = stft_n_fft(sr)
    if fmax >= sr / 2:
        return (f"frontend={frontend!r}: the top band edge ({fmax:.0f} Hz) must stay below "
                f"sr/2={sr / 2:.0f} Hz; lower fmin or n_bins, or raise sr")
    if hop_length > n_fft:
        return (f"frontend={frontend!r}: hop_length={hop_length} exceeds the {n_fft}-sample "
                "FFT window, so samples between windows would be lost; lower hop_length")
    bank = _full_bank(frontend, sr, fmin, fmax, n_bins)
    empty = np.flatnonzero(~np.any(bank > 0, axis=1))
    if empty.size:
        return (f"frontend={frontend!r}: band {int(empty[0])} of n_bins={n_bins} holds no "
                f"FFT bin ({sr / n_fft:.1f} Hz apart at n_fft={n_fft}); lower n_bins or "
                "widen the band (fmin, bins_per_octave)")
    return None


@functools.lru_cache(maxsize=16)
def _full_bank(frontend: str, sr: int, fmin: float, fmax: float, n_bins: int) -> np.ndarray:
    """The filters of ``frontend`` over every FFT bin, float64, read-only (cached)."""
    n_fft = stft_n_fft(sr)
    if frontend == "stft":
        bank = linear_filters(sr=sr, n_fft=n_fft, n_bands=n_bins, fmin=fmin, fmax=fmax)
    else:
        bank = mel_filters(sr=sr, n_fft=n_fft, n_mels=n_bins, fmin=fmin, fmax=fmax)
    bank.setflags(write=False)
    return bank


@functools.lru_cache(maxsize=16)
def _bank(frontend: str, sr: int, fmin: float, fmax: float, n_bins: int
          ) -> tuple[np.ndarray, int, int]:
    full = _full_bank(frontend, sr, fmin, fmax, n_bins)
    used = np.flatnonzero(np.any(full != 0, axis=0))
    lo, hi = int(used[0]), int(used[-1]) + 1
    bank = np.ascontiguousarray(full[:, lo:hi], dtype=np.float32)
    bank.setflags(write=False)
    return bank, lo, hi


def filterbank(params: FeatureParams) -> tuple[np.ndarray, int, int]:
    """The band filters of an ``stft`` or ``mel`` front end, restricted to the bins used.

    Returns
    -------
    bank : np.ndarray [shape=(n_bins, hi - lo), dtype=float32], read-only
    lo, hi : int
        The FFT bins the filters reach: ``band_power = bank @ stft_power[lo:hi]``.
    """
    if params.frontend not in ("stft", "mel"):
        raise ValueError(f"frontend={params.frontend!r} has no STFT filter bank")
    return _bank(params.frontend, params.sr, params.fmin, top_frequency(params),
                 params.n_bins)


def band_frequencies(params: FeatureParams) -> np.ndarray:
    """Band centres in Hz ``(n_bins,)`` of an ``stft`` (equal widths) or ``mel`` front end."""
    fmax = top_frequency(params)
    if params.frontend == "stft":
        edges = np.linspace(params.fmin, fmax, params.n_bins + 1)
        return (edges[:-1] + edges[1:]) / 2
    if params.frontend == "mel":
        mels = np.linspace(hz_to_mel(params.fmin), hz_to_mel(fmax), params.n_bins + 2)
        return mel_to_hz(mels[1:-1])
    raise ValueError(f"frontend={params.frontend!r} has no STFT bands")


def frequency_rows(hz: np.ndarray | float, *, params: FeatureParams) -> np.ndarray:
    """Image row (fractional) at which each frequency ``hz`` sits, for axis ticks."""
    hz = np.asarray(hz, dtype=float)
    if params.frontend == "cqt":
        return params.bins_per_octave * np.log2(hz / params.fmin)
    rows = np.arange(params.n_bins, dtype=float)
    centres = band_frequencies(params)
    if params.frontend == "mel":
        return np.interp(hz_to_mel(hz), hz_to_mel(centres), rows)
    return np.interp(hz, centres, rows)


def _frames(padded: np.ndarray, n_fft: int, hop: int, t0: int, t1: int) -> np.ndarray:
    view = np.lib.stride_tricks.sliding_window_view(padded, n_fft)
    return view[t0 * hop:(t1 - 1) * hop + 1:hop]  # (t1 - t0, n_fft)


def _hann(n: int, dtype: type = np.float32) -> np.ndarray:
    """The periodic Hann window, as ``scipy.signal.get_window("hann", n)``."""
    return (0.5 - 0.5 * np.cos(2 * np.pi * np.arange(n) / n)).astype(dtype)


def spectral_power(y: np.ndarray, *, params: FeatureParams) -> np.ndarray:
    """Band power of an ``stft`` or ``mel`` front end over a whole signal, every frame.

    Parameters
    ----------
    y : np.ndarray [shape=(n,)]
        Samples at ``params.sr``.
    params : FeatureParams
        ``params.frontend`` is ``"stft"`` or ``"mel"``.

    Returns
    -------
    np.ndarray [shape=(n_bins, n // hop_length + 1), dtype=float32]
        ``filters @ |STFT|**2``, lowest band first; frame ``t`` is the Hann-windowed
        :func:`stft_n_fft` samples centred on sample ``t * hop_length`` (zero padding at
        both ends), as ``librosa.stft(y, center=True, pad_mode="constant")``.
    """
    y = np.asarray(y, dtype=np.float32)
    if y.ndim != 1:
        raise ValueError(f"spectral_power needs one mono signal of shape (n,), got {y.shape}")
    bank, lo, hi = filterbank(params)
    n_fft, hop = stft_n_fft(params.sr), params.hop_length
    half = n_fft // 2
    n_frames = y.shape[0] // hop + 1
    padded = np.zeros(y.shape[0] + 2 * half, dtype=np.float32)
    padded[half:half + y.shape[0]] = y
    window = _hann(n_fft)
    out = np.empty((params.n_bins, n_frames), dtype=np.float32)  # (n_bins, T)
    for t0 in range(0, n_frames, _TILE_FRAMES):
        t1 = min(n_frames, t0 + _TILE_FRAMES)
        spec = np.fft.rfft(_frames(padded, n_fft, hop, t0, t1) * window, axis=1)[:, lo:hi]
        power = np.square(spec.real) + np.square(spec.imag)  # (tile, hi - lo)
        out[:, t0:t1] = bank @ power.T
    return out


@functools.lru_cache(maxsize=16)
def _reference(frontend: str, sr: int, fmin: float, fmax: float, n_bins: int,
               centre: float) -> float:
    n_fft = stft_n_fft(sr)
    t = np.arange(n_fft) - n_fft // 2  # a frame centred on a peak of the sine
    frame = np.cos(2 * np.pi * centre * t / sr) * _hann(n_fft, np.float64)
    bank = _full_bank(frontend, sr, fmin, fmax, n_bins)
    return float(np.max(bank @ np.abs(np.fft.rfft(frame)) ** 2))


def reference_power(params: FeatureParams) -> float:
    """Band power of a full-scale sine at the centre of the lowest band (``stft``, ``mel``).

    The reference of ``normalize="fixed"``, as a full-scale sine at ``fmin`` is the CQT's:
    the loudest band of one frame of ``cos(2 pi f t)``, ``f`` = ``band_frequencies[0]``.
    """
    return _reference(params.frontend, params.sr, params.fmin, top_frequency(params),
                      params.n_bins, float(band_frequencies(params)[0]))
