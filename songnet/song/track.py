"""Pitch tracks: the one pitch tracker of songnet.

Chingolo notes are whistles between about 2.5 and 8 kHz with their second harmonic
40–50 dB down, so the fundamental is the strongest spectral peak in the song band. Frame
by frame, the tracker takes the peak inside the band and refines it by parabolic
interpolation of its log level (a sub-hertz estimate for a steady tone). A frame is voiced
when its peak stands well above the band's median level and is not far below the loudest
frame of the stretch. Two front ends feed the same rule:

- :func:`track_pitch`: a waveform, through a zero-padded Hann spectrum (``songnet themes``,
  resynthesis, the realism measures, the model's calibration);
- :func:`frame_peaks` / :func:`db_track`: Constant-Q frames, as ``classify`` and the
  network see them (the note check).

NumPy only: ``classify`` uses it.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from songnet.core.errors import SongnetError
from songnet.core.sound import Sound

__all__ = ["BAND_HZ", "PitchTrack", "cents", "clean_track", "db_track", "frame_peaks",
           "peaks_track", "pitch_error_cents", "power_peaks", "steady_pitch", "track_pitch"]

SILENCE_DB = -100.0  # a peak below this (re full scale 1.0) is silence, whatever its shape


@dataclasses.dataclass(frozen=True, eq=False)
class PitchTrack:
    """A pitch contour on a regular frame grid.

    Attributes
    ----------
    times_s : np.ndarray [shape=(n_frames,)]
        Frame centres in seconds from the start of the sound.
    f0_hz : np.ndarray [shape=(n_frames,)]
        Fundamental frequency in Hz; NaN where the frame is unvoiced.
    amplitude : np.ndarray [shape=(n_frames,)]
        Peak amplitude of the fundamental (linear, same scale as the samples).
    voiced : np.ndarray [shape=(n_frames,), dtype=bool]
        True where a tone was found.
    """

    times_s: np.ndarray
    f0_hz: np.ndarray
    amplitude: np.ndarray
    voiced: np.ndarray

    @property
    def hop_s(self) -> float:
        """Frame hop in seconds."""
        return float(self.times_s[1] - self.times_s[0]) if len(self.times_s) > 1 else 0.0



def cents(f_hz: np.ndarray | float, ref_hz: np.ndarray | float) -> np.ndarray:
    """Interval from ``ref_hz`` to ``f_hz`` in cents (1200 per octave)."""
    return 1200.0 * np.log2(np.asarray(f_hz, dtype=np.float64) / np.asarray(ref_hz,
                                                                             dtype=np.float64))



def clean_track(track: PitchTrack) -> PitchTrack:
    """Unvoice single frames whose pitch jumps away from both neighbours (noise spikes)."""
    f, v = track.f0_hz, track.voiced.copy()
    spike = np.zeros_like(v)
    with np.errstate(invalid="ignore"):
        spike[1:-1] = (v[1:-1] & v[:-2] & v[2:] & (np.abs(cents(f[1:-1], f[:-2])) > 300)
                       & (np.abs(cents(f[1:-1], f[2:])) > 300))
    v &= ~spike
    return dataclasses.replace(track, voiced=v, f0_hz=np.where(v, f, np.nan),
                               amplitude=np.where(v, track.amplitude, 0.0))



BAND_HZ = (2000.0, 9000.0)
"""The song band (Hz) tracked by default: every chingolo note lies inside it."""


def frame_peaks(levels: np.ndarray, frequencies: np.ndarray, *,
                band_hz: tuple[float, float] = BAND_HZ, power: bool = False
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per frame of a Constant-Q stretch ``(n_bins, T)`` (bins at ``frequencies``,
    log-spaced), in dB or, with ``power``, linear power: the pitch of the loudest bin in
    ``band_hz`` (Hz, refined by parabolic interpolation of the dB levels), its level and
    the band's median level (dB; the upper middle bin for an even count); float32 ``(T,)``
    each. Only the few levels needed are taken to dB."""
    f = np.asarray(frequencies, dtype=np.float64)
    lo, hi = np.searchsorted(f, band_hz)
    band = np.asarray(levels, dtype=np.float32)[lo:hi]
    n = band.shape[1]
    if band.shape[0] < 3 or n == 0:
        nothing = np.full(n, np.nan, dtype=np.float32)
        return nothing, nothing.copy(), nothing.copy()

    def db(x: np.ndarray) -> np.ndarray:
        return 10.0 * np.log10(x + np.float32(1e-12)) if power else x

    k = np.clip(band.argmax(axis=0), 1, band.shape[0] - 2)
    cols = np.arange(n)
    a, b, c = db(band[k - 1, cols]), db(band[k, cols]), db(band[k + 1, cols])
    den = a - 2 * b + c
    delta = np.clip(np.where(np.abs(den) > 1e-9, 0.5 * (a - c) / np.where(den == 0, 1, den),
                             0.0), -0.5, 0.5)
    f0 = f[lo + k] * 2.0 ** (delta * np.log2(f[lo + 1] / f[lo]))
    middle = band.shape[0] // 2
    median = db(np.partition(band, middle, axis=0)[middle])
    return (f0.astype(np.float32), (b - 0.25 * (a - c) * delta).astype(np.float32),
            median.astype(np.float32))


def power_peaks(power: np.ndarray, frequencies: np.ndarray, *, active: np.ndarray | None = None,
                band_hz: tuple[float, float] = BAND_HZ) -> np.ndarray:
    """:func:`frame_peaks` of linear Constant-Q power ``(n_bins, T)``, stacked ``(3, T)``
    float32 (pitch, peak level, median level); only the frames where ``active`` is True
    (all without it), the others NaN (never voiced)."""
    if active is None:
        return np.stack(frame_peaks(power, frequencies, band_hz=band_hz, power=True))
    out = np.full((3, power.shape[1]), np.nan, dtype=np.float32)
    cols = np.flatnonzero(active)
    if cols.size:
        out[:, cols] = np.stack(frame_peaks(np.asarray(power)[:, cols], frequencies,
                                            band_hz=band_hz, power=True))
    return out


def peaks_track(f0_hz: np.ndarray, peak_db: np.ndarray, median_db: np.ndarray,
                frame_s: float, *, tonality_db: float = 15.0, floor_db: float = -35.0,
                range_db: float = 80.0) -> PitchTrack:
    """The pitch track of a stretch from its :func:`frame_peaks`: a frame is voiced when its
    peak stands ``tonality_db`` above the band's median and within ``floor_db`` of the
    stretch's loudest, levels first floored ``range_db`` below the loudest (as the
    network's images are)."""
    peak = np.asarray(peak_db, dtype=np.float64)
    n = peak.size
    if n == 0 or not np.isfinite(peak).any():
        return PitchTrack(np.arange(n) * float(frame_s), np.full(n, np.nan), np.zeros(n),
                          np.zeros(n, dtype=bool))
    top = float(np.nanmax(peak))
    peak = np.maximum(np.nan_to_num(peak, nan=-np.inf), top - range_db)
    median = np.maximum(np.nan_to_num(np.asarray(median_db, dtype=np.float64), nan=np.inf),
                        top - range_db)
    voiced = (peak - median >= tonality_db) & (peak >= top + floor_db)
    return PitchTrack(times_s=np.arange(n) * float(frame_s),
                      f0_hz=np.where(voiced, np.asarray(f0_hz, dtype=np.float64), np.nan),
                      amplitude=np.where(voiced, 10.0 ** (peak / 20.0), 0.0), voiced=voiced)


def db_track(db: np.ndarray, frequencies: np.ndarray, frame_s: float, **kwargs: float
             ) -> PitchTrack:
    """The pitch track of a Constant-Q stretch in dB (:func:`frame_peaks`, then
    :func:`peaks_track` with ``kwargs``)."""
    return peaks_track(*frame_peaks(db, frequencies), frame_s, **kwargs)



_CHUNK_FRAMES = 2048  # frames transformed at once (some 70 MB of spectra at 4096 points)


def track_pitch(sound: Sound, *, fmin: float = 2000.0, fmax: float = 9000.0,
                hop_s: float = 0.002, window_s: float = 0.008, n_fft: int = 4096,
                tonality_db: float = 15.0, floor_db: float = -35.0) -> PitchTrack:
    """Track the fundamental of a nearly pure tone, frame by frame.

    Parameters
    ----------
    sound : Sound
        The recording (any rate whose Nyquist frequency lies above ``fmax``).
    fmin, fmax : float
        Search band in Hz.
    hop_s : float
        Frame hop in seconds.
    window_s : float
        Hann window length in seconds (shorter follows fast sweeps, longer resolves noise).
    n_fft : int
        FFT size (zero-padding) in samples; at least the window length.
    tonality_db : float
        A voiced frame's peak must lie this many dB above the band's median level.
    floor_db : float
        A voiced frame's peak must lie within this many dB of the clip's loudest peak.

    Returns
    -------
    PitchTrack
        Frames centred at ``k * hop_s``, for ``k = 0 … ceil(duration / hop_s)``.
    """
    sr = sound.sr
    if not 0 < fmin < fmax < sr / 2:
        raise SongnetError(f"{sound.source}: pitch band fmin={fmin}, fmax={fmax} Hz must satisfy "
                           f"0 < fmin < fmax < sr/2={sr / 2:g}; resample or narrow the band")
    win = max(16, round(window_s * sr))
    hop = max(1, round(hop_s * sr))
    n_fft = max(n_fft, int(2 ** np.ceil(np.log2(win))))
    y = sound.samples.astype(np.float64)
    n_frames = max(1, int(np.ceil(len(y) / hop)) + 1)
    padded = np.pad(y, (win // 2, win // 2 + n_frames * hop))
    window = np.hanning(win)
    freqs = np.fft.rfftfreq(n_fft, 1.0 / sr)
    lo, hi = np.searchsorted(freqs, [fmin, fmax])
    f0, peak_db, median_db = (np.empty(n_frames) for _ in range(3))
    peak = np.empty(n_frames)
    # frames a chunk at a time: a long recording's spectra never lie in memory at once
    for r0 in range(0, n_frames, _CHUNK_FRAMES):
        rows = np.arange(r0, min(r0 + _CHUNK_FRAMES, n_frames))
        idx = np.arange(win)[None, :] + hop * rows[:, None]  # (frames, win)
        spec = np.abs(np.fft.rfft(padded[idx] * window, n=n_fft, axis=1))
        band = spec[:, lo:hi] + 1e-12
        k = np.argmax(band, axis=1)
        k = np.clip(k, 1, band.shape[1] - 2)
        at = np.arange(rows.size)
        a, b, c = (np.log(band[at, k - 1]), np.log(band[at, k]), np.log(band[at, k + 1]))
        denom = a - 2 * b + c
        delta = np.where(np.abs(denom) > 1e-12,
                         0.5 * (a - c) / np.where(denom == 0, 1, denom), 0.0)
        delta = np.clip(delta, -0.5, 0.5)
        f0[rows] = (lo + k + delta) * sr / n_fft
        peak[rows] = np.exp(b - 0.25 * (a - c) * delta) * 2.0 / window.sum()
        median_db[rows] = 20 * np.log10(np.median(band, axis=1) * 2.0 / window.sum())
    peak_db = 20 * np.log10(peak)
    voiced = ((peak_db - median_db >= tonality_db) & (peak_db >= peak_db.max() + floor_db)
              & (peak_db >= SILENCE_DB))
    times = np.arange(n_frames) * hop / sr
    return PitchTrack(times_s=times, f0_hz=np.where(voiced, f0, np.nan),
                      amplitude=np.where(voiced, peak, 0.0), voiced=voiced)


def pitch_error_cents(reference: PitchTrack, candidate: PitchTrack) -> np.ndarray:
    """Absolute pitch error in cents over the frames voiced in ``reference``.

    Frames voiced in the reference but silent in the candidate count as the largest
    error of the contour's band (1200 cents), so that a candidate cannot score well by
    staying silent.

    Returns
    -------
    np.ndarray [shape=(n_voiced,)]
        One error per reference-voiced frame (the two tracks share their frame grid up to
        the shorter length).
    """
    n = min(len(reference.times_s), len(candidate.times_s))
    ref_v = reference.voiced[:n]
    cand_v = candidate.voiced[:n]
    err = np.full(int(ref_v.sum()), 1200.0)
    both = cand_v[ref_v]
    err[both] = np.abs(cents(candidate.f0_hz[:n][ref_v][both], reference.f0_hz[:n][ref_v][both]))
    return err


def steady_pitch(y: np.ndarray, *, sr: int, fmin: float = 500.0,
                 fmax: float | None = None) -> float:
    """The pitch (Hz) of a steady tone: the median of :func:`track_pitch` over its voiced
    frames, with a 20-ms window (a steady tone allows a long one), for the syrinx model's
    calibration and checks. NaN for silence or a sound with no tone.

    Parameters
    ----------
    y : np.ndarray [shape=(n,)]
        At least a few dozen periods of the steady part of a note.
    sr : int
        Sample rate (Hz).
    fmin, fmax : float
        Band searched (Hz); ``fmax`` defaults to 0.45 × ``sr``.
    """
    y = np.asarray(y, dtype=np.float64)
    if y.size < 64 or not np.any(np.abs(y) > 1e-9 * max(1.0, float(np.abs(y).max()))):
        return float("nan")
    window_s = min(0.02, y.size / sr / 2)
    track = track_pitch(Sound(y.astype(np.float32), sr, "<tone>"), fmin=fmin,
                        fmax=0.45 * sr if fmax is None else fmax, hop_s=window_s / 4,
                        window_s=window_s, n_fft=16384)
    # frames that reach past either end see the zero padding: keep the inner ones
    inner = (track.times_s >= window_s / 2) & (track.times_s <= y.size / sr - window_s / 2)
    f = track.f0_hz[track.voiced & inner]
    return float(np.median(f)) if f.size else float("nan")
