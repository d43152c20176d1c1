"""Measuring songs the way DESIGN.md measures real chingolos ("Real songs, measured").

One measure for model songs and real recordings alike, the one ``songnet themes`` reads
songs with (:mod:`songnet.song`): the pitch track, its notes (half-level onsets and
offsets), and the song read from them: the trill is the longest run of similar
syllables at a steady rate, the introductory notes are those before it.
``benchmarks/realism.py`` prints these figures for the default themes beside songs
assembled from the real notes in ``../shared/data/``.

>>> m = measure(y, sr=44100)
>>> [s.duration_ms for s in m.trill], m.song_s, m.h2_db
"""

from __future__ import annotations

import dataclasses

import numpy as np

from songnet.core.errors import SongnetError
from songnet.core.sound import Sound
from songnet.song.find import TrackSettings
from songnet.song.reading import SongRules, best_read
from songnet.song.segment import Segment, segment_groups
from songnet.synth.calibration import harmonic_level_db

__all__ = ["REAL_RANGES", "SongMeasures", "Syllable", "measure"]

REAL_RANGES = {
    "trill_ms": (25.0, 50.0),
    "trill_start_khz": (5.9, 6.6),
    "trill_end_khz": (3.3, 4.1),
    "trill_sweep_ratio": (1.45, 2.0),
    "intro_ms": (100.0, 500.0),
    "song_s": (1.5, 2.5),
    "h2_db": (-49.0, -44.0),
}
"""Real chingolo figures of the two birds the default themes were made after (DESIGN.md,
"Real songs, measured", and the real syllables). Other birds differ (DESIGN.md, "Real
birds vary"): these are the default catalog's targets, not the species' limits."""


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
    """Everything :func:`measure` finds in one song or clip.

    Attributes
    ----------
    syllables : tuple of Syllable
        Every note found, in time order.
    intro, trill : tuple of Syllable
        The song's introductory notes and its trill syllables (seen whole), as
        :func:`songnet.song.reading.read_song` reads them; empty when the clip holds no
        trill (a single note, say).
    h2_db : float
        2nd harmonic re the fundamental (dB).
    """

    syllables: tuple[Syllable, ...]
    intro: tuple[Syllable, ...]
    trill: tuple[Syllable, ...]
    h2_db: float

    @property
    def song_s(self) -> float:
        """From the first note's onset to the last one's offset (s)."""
        if not self.syllables:
            return 0.0
        return self.syllables[-1].offset_s - self.syllables[0].onset_s


def _syllable(seg: Segment, hop_s: float) -> Syllable:
    """A note's extent: its frames within 12 dB of its level (as DESIGN.md measures a
    syllable's length on a spectrogram, not the half-level length themes are learned
    with), and its start and end pitch (medians of three frames)."""
    start, end = seg.ends_hz
    return Syllable(onset_s=float(seg.times_s[0]) - hop_s / 2,
                    offset_s=float(seg.times_s[-1]) + hop_s / 2, f_start_hz=start,
                    f_end_hz=end)


def measure(y: np.ndarray, *, sr: int, settings: TrackSettings | None = None) -> SongMeasures:
    """The notes, the song and the timbre of ``y``.

    Parameters
    ----------
    y : np.ndarray [shape=(n,)]
        A song, a clip of one, or a single note.
    sr : int
        Sample rate (Hz).
    settings : TrackSettings
        The pitch tracker's settings (``songnet themes``' by default).

    Returns
    -------
    SongMeasures
        ``h2_db``: :func:`songnet.synth.harmonic_level_db` (2nd harmonic re the
        fundamental, median over loud 1024-point frames).
    """
    y = np.asarray(y, dtype=np.float64)
    if y.ndim != 1 or y.size == 0 or not np.all(np.isfinite(y)):
        raise SongnetError(f"measure needs finite mono audio, got shape {y.shape}")
    settings = TrackSettings() if settings is None else settings
    track = settings.track(Sound(y.astype(np.float32), sr, "<song>"))
    groups = segment_groups(track, song_gap_s=SongRules().song_gap_s)
    best = best_read(groups)
    hop = settings.hop_s
    return SongMeasures(syllables=tuple(_syllable(s, hop) for g in groups for s in g),
                        intro=() if best is None else tuple(_syllable(s, hop)
                                                            for s in best.intro),
                        trill=() if best is None else tuple(_syllable(s, hop)
                                                            for s in best.trill),
                        h2_db=harmonic_level_db(y, sr=sr))
