"""Measuring songs the way DESIGN.md measures real chingolos ("Real songs, measured").

One measure for model songs and real recordings alike: the spectral peak per 1.5 ms frame
(512-point FFT, Hann), frames within 20 dB of the loudest are sound, runs of sound frames
are syllables (notes). A syllable shorter than :data:`TRILL_MAX_S` is a trill syllable,
a longer one an introductory note. ``benchmarks/realism.py`` prints these figures for the
default themes beside the real syllables in ``../shared/data/real-syllables/``.

>>> m = measure(y, sr=44100)
>>> [s.duration_ms for s in m.trill], m.song_s, m.h2_db
"""

from __future__ import annotations

import dataclasses

import numpy as np

from songnet.core.errors import SongnetError
from songnet.synth.calibration import harmonic_level_db

__all__ = [
    "REAL_RANGES",
    "TRILL_MAX_S",
    "PeakTrack",
    "SongMeasures",
    "Syllable",
    "find_syllables",
    "measure",
    "peak_track",
]

TRILL_MAX_S = 0.07
"""Syllables shorter than this (s) are trill syllables; longer ones introductory notes."""
REAL_RANGES = {
    "trill_ms": (25.0, 50.0),
    "trill_start_khz": (5.9, 6.6),
    "trill_end_khz": (3.3, 4.1),
    "trill_sweep_ratio": (1.45, 2.0),
    "intro_ms": (100.0, 500.0),
    "song_s": (1.5, 2.5),
    "h2_db": (-49.0, -44.0),
}
"""Real chingolo figures (DESIGN.md, "Real songs, measured", and the real syllables)."""


@dataclasses.dataclass(frozen=True, eq=False)
class PeakTrack:
    """Spectral peak per frame.

    Attributes
    ----------
    times_s, f_hz, level_db : np.ndarray [shape=(n_frames,)]
        Frame centre (s), peak frequency (Hz) and peak level (dB re the loudest frame).
    """

    times_s: np.ndarray
    f_hz: np.ndarray
    level_db: np.ndarray


@dataclasses.dataclass(frozen=True)
class Syllable:
    """One run of sound frames: where it is and its start and end pitch."""

    onset_s: float
    offset_s: float
    f_start_hz: float
    f_end_hz: float

    @property
    def duration_ms(self) -> float:
        """Duration in ms."""
        return (self.offset_s - self.onset_s) * 1000

    @property
    def ratio(self) -> float:
        """Pitch span: the larger of start and end pitch over the smaller (≥ 1)."""
        return max(self.f_start_hz, self.f_end_hz) / min(self.f_start_hz, self.f_end_hz)

    @property
    def sweep_oct_s(self) -> float:
        """Sweep rate in octaves per second (positive for a downsweep)."""
        return float(np.log2(self.f_start_hz / self.f_end_hz) / max(self.duration_ms / 1000,
                                                                     1e-9))


@dataclasses.dataclass(frozen=True)
class SongMeasures:
    """Everything :func:`measure` finds in one song or clip."""

    syllables: tuple[Syllable, ...]
    h2_db: float

    @property
    def trill(self) -> tuple[Syllable, ...]:
        """The trill syllables (shorter than :data:`TRILL_MAX_S`)."""
        return tuple(s for s in self.syllables if s.duration_ms < TRILL_MAX_S * 1000)

    @property
    def intro(self) -> tuple[Syllable, ...]:
        """The introductory notes (the longer syllables)."""
        return tuple(s for s in self.syllables if s.duration_ms >= TRILL_MAX_S * 1000)

    @property
    def song_s(self) -> float:
        """From the first syllable's onset to the last one's offset (s)."""
        if not self.syllables:
            return 0.0
        return self.syllables[-1].offset_s - self.syllables[0].onset_s


def peak_track(y: np.ndarray, *, sr: int, frame_s: float = 0.0015, n_fft: int = 512,
               fmin: float = 2000.0, fmax: float = 9000.0) -> PeakTrack:
    """Spectral peak frequency and level per frame (Hann window, ``n_fft`` points).

    Parameters
    ----------
    y : np.ndarray [shape=(n,)]
        Mono audio.
    sr : int
        Sample rate (Hz).
    frame_s : float
        Hop between frames (s); frames are centred on ``k·hop``.
    n_fft : int
        FFT length (samples).
    fmin, fmax : float
        Band searched for the peak (Hz).

    Returns
    -------
    PeakTrack
    """
    y = np.asarray(y, dtype=np.float64)
    if y.ndim != 1 or y.size == 0 or not np.all(np.isfinite(y)):
        raise SongnetError(f"peak_track needs finite mono audio, got shape {y.shape}")
    if not 0 < fmin < fmax <= sr / 2:
        raise SongnetError(f"fmin={fmin:g} and fmax={fmax:g} must satisfy 0 < fmin < fmax "
                           f"<= sr/2={sr / 2:g}")
    hop = max(1, round(frame_s * sr))
    padded = np.pad(y, (n_fft // 2, n_fft // 2))
    frames = np.lib.stride_tricks.sliding_window_view(padded, n_fft)[::hop]
    spec = np.abs(np.fft.rfft(frames * np.hanning(n_fft), axis=1))  # (n_frames, n_fft//2+1)
    freqs = np.fft.rfftfreq(n_fft, 1 / sr)
    band = (freqs >= fmin) & (freqs <= fmax)
    k = np.argmax(spec[:, band], axis=1)
    peak = spec[:, band][np.arange(spec.shape[0]), k]
    with np.errstate(divide="ignore", invalid="ignore"):  # silence: -inf dB everywhere
        level = 20 * np.log10(peak / float(peak.max())) if peak.max() > 0 \
            else np.full(peak.shape, -np.inf)
    return PeakTrack(times_s=np.arange(spec.shape[0]) * hop / sr, f_hz=freqs[band][k],
                     level_db=level)


def find_syllables(track: PeakTrack, *, floor_db: float = 20.0, max_gap_s: float = 0.005,
                   min_s: float = 0.006, edge_frames: int = 3) -> tuple[Syllable, ...]:
    """Runs of frames within ``floor_db`` of the loudest, as syllables.

    Parameters
    ----------
    track : PeakTrack
    floor_db : float
        Frames within this many dB of the loudest are sound.
    max_gap_s : float
        Quieter stretches up to this long inside a run do not split it (s).
    min_s : float
        Shorter runs are dropped (clicks) (s).
    edge_frames : int
        Start and end pitch are the medians of this many frames at each end.

    Returns
    -------
    tuple of Syllable
        In time order.
    """
    loud = np.flatnonzero(track.level_db >= -floor_db)
    if loud.size == 0:
        return ()
    hop = float(track.times_s[1] - track.times_s[0]) if track.times_s.size > 1 else 1.0
    splits = np.flatnonzero(np.diff(loud) * hop > max_gap_s + 1e-9)
    out = []
    for run in np.split(loud, splits + 1):
        a, b = int(run[0]), int(run[-1])
        if (b - a + 1) * hop < min_s:
            continue
        k = min(edge_frames, b - a + 1)
        out.append(Syllable(onset_s=float(track.times_s[a]),
                            offset_s=float(track.times_s[b] + hop),
                            f_start_hz=float(np.median(track.f_hz[a:a + k])),
                            f_end_hz=float(np.median(track.f_hz[b - k + 1:b + 1]))))
    return tuple(out)


def measure(y: np.ndarray, *, sr: int, floor_db: float = 20.0) -> SongMeasures:
    """Syllables (:func:`find_syllables` on :func:`peak_track`) and the timbre of a song.

    Parameters
    ----------
    y : np.ndarray [shape=(n,)]
        A song, a clip of one, or a single syllable.
    sr : int
        Sample rate (Hz).
    floor_db : float
        Sound frames lie within this many dB of the loudest.

    Returns
    -------
    SongMeasures
        ``h2_db``: :func:`songnet.synth.harmonic_level_db` (2nd harmonic re the
        fundamental, median over loud 1024-point frames).
    """
    syl = find_syllables(peak_track(y, sr=sr), floor_db=floor_db)
    return SongMeasures(syllables=syl, h2_db=harmonic_level_db(np.asarray(y, float), sr=sr))
