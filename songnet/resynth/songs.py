"""Finding chingolo songs in a recording and cutting them into notes and trill syllables.

A song (DESIGN.md, "Song") is one to five introductory notes, then a *trill*: one brief
syllable repeated at a steady interval, with silences under a fifth of a second inside.
The recording is pitch-tracked in the song band (:func:`songnet.resynth.pitch.track_pitch`),
the voiced runs become notes, notes closer than ``song_gap_s`` form a group, and a group is
a song when it holds a trill: at least ``min_trill`` short notes (under ``trill_max_s``)
at a steady interval and pitch. The song starts at the group's first note and ends with
its trill's last syllable; sounds outside that span (another bird before or after, a
call after the trill) and outside the tracker's band are ignored. A song that touches the
edge of the analysed span is cut and is skipped, with the reason.

A note's onset and offset are where its amplitude crosses half of its level (the 90th
percentile of its frames' amplitude; the maximum for a trill syllable), interpolated
between frames: a definition that noise and the tracker's window hardly move.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import scipy.signal

from songnet.core.errors import SongnetError
from songnet.core.notes import Segment, clean_track, find_trill, segment_groups
from songnet.core.sound import Sound
from songnet.resynth.pitch import track_pitch
from songnet.synth import SR

__all__ = ["FoundSong", "LearnParams", "Segment", "Skipped", "find_songs"]


@dataclasses.dataclass(frozen=True)
class LearnParams:
    """The ``themes`` section of ``params.yaml``: how songs are found and learned.

    Attributes
    ----------
    fmin_hz, fmax_hz : float
        Song band searched by the pitch tracker (Hz); sounds outside it are ignored.
    hop_s, window_s : float
        Tracker frame hop and Hann window (s).
    tonality_db : float
        A voiced frame's peak stands this far above the band's median level (dB).
    song_gap_s : float
        A silence this long separates two songs, or a song from another sound (s).
    trill_max_s : float
        Notes shorter than this may be trill syllables (s).
    min_trill : int
        A song's trill has at least this many syllables.
    edge_s : float
        A song whose sound comes this close to the analysed span's edge is cut (s).
    n_refine : int
        Sing-measure-correct passes of each learned song (0 = the measurement as is).
    """

    fmin_hz: float = 2000.0
    fmax_hz: float = 9000.0
    hop_s: float = 0.002
    window_s: float = 0.008
    tonality_db: float = 15.0
    song_gap_s: float = 0.25
    trill_max_s: float = 0.075
    min_trill: int = 3
    edge_s: float = 0.01
    n_refine: int = 3

    def __post_init__(self) -> None:
        if not 0 < self.fmin_hz < self.fmax_hz < SR / 2:
            raise ValueError(f"fmin_hz={self.fmin_hz} and fmax_hz={self.fmax_hz} must satisfy "
                             f"0 < fmin_hz < fmax_hz < {SR / 2:g}")
        if min(self.hop_s, self.window_s, self.song_gap_s, self.trill_max_s) <= 0:
            raise ValueError("hop_s, window_s, song_gap_s and trill_max_s must be positive")
        if self.min_trill < 2 or self.n_refine < 0 or self.edge_s < 0:
            raise ValueError(f"min_trill={self.min_trill} must be >= 2, n_refine="
                             f"{self.n_refine} and edge_s={self.edge_s} >= 0")


@dataclasses.dataclass(frozen=True, eq=False)
class FoundSong:
    """A song found in a recording: its notes, its trill and its audio (at ``SR``)."""

    source: str
    intro: tuple[Segment, ...]
    trill: tuple[Segment, ...]
    sound: Sound
    sound_start_s: float

    @property
    def start_s(self) -> float:
        return self.intro[0].onset_s

    @property
    def end_s(self) -> float:
        return self.trill[-1].offset_s

    @property
    def where(self) -> str:
        """``FILE: song at S–E s``, for messages."""
        return f"{self.source}: song at {self.start_s:.2f}–{self.end_s:.2f} s"


@dataclasses.dataclass(frozen=True)
class Skipped:
    """A stretch that looked like a song but was not learned, and why."""

    source: str
    start_s: float
    end_s: float
    reason: str

    def __str__(self) -> str:
        return f"{self.source}: {self.start_s:.2f}–{self.end_s:.2f} s: {self.reason}"


def _to_sr(sound: Sound) -> Sound:
    if sound.sr == SR:
        return sound
    g = int(np.gcd(int(sound.sr), SR))
    y = scipy.signal.resample_poly(sound.samples.astype(np.float64), SR // g, sound.sr // g)
    return Sound(y.astype(np.float32), SR, sound.source)


def find_songs(sound: Sound, *, params: LearnParams = LearnParams(),
               start_s: float | None = None, end_s: float | None = None
               ) -> tuple[list[FoundSong], list[Skipped]]:
    """Find the complete songs in ``sound`` (or in ``[start_s, end_s]`` of it).

    Parameters
    ----------
    sound : Sound
        A recording, any rate (resampled to ``SR``).
    params : LearnParams
    start_s, end_s : float, optional
        The span to search (s); default: the whole recording.

    Returns
    -------
    songs : list of FoundSong
        In time order; times in seconds from the recording's start.
    skipped : list of Skipped
        Songs cut at the span's edge, and trills without introductory notes.
    """
    sound = _to_sr(sound)
    t0 = 0.0 if start_s is None else float(start_s)
    t1 = sound.duration if end_s is None else min(float(end_s), sound.duration)
    if not 0 <= t0 < t1:
        raise SongnetError(f"{sound.source}: --start {t0:g} s must lie before --end {t1:g} s "
                           f"within the recording (0–{sound.duration:.2f} s)")
    i0, i1 = round(t0 * SR), round(t1 * SR)
    span = Sound(sound.samples[i0:i1], SR, sound.source)
    track = clean_track(track_pitch(span, fmin=params.fmin_hz, fmax=params.fmax_hz,
                                    hop_s=params.hop_s, window_s=params.window_s,
                                    tonality_db=params.tonality_db, floor_db=-40.0))
    track = dataclasses.replace(track, times_s=track.times_s + t0)
    groups = segment_groups(track, trill_max_s=params.trill_max_s,
                            song_gap_s=params.song_gap_s)
    songs: list[FoundSong] = []
    skipped: list[Skipped] = []
    for group in groups:
        first, last = float(group[0].times_s[0]), float(group[-1].times_s[-1])
        at_start = first <= t0 + params.edge_s + params.window_s
        at_end = last >= t1 - params.edge_s - params.window_s
        trill = find_trill(group, trill_max_s=params.trill_max_s,
                           min_trill=params.min_trill)
        # a song cut at the start shows its trill; one cut at the end its long intro notes
        intro_like = any(s.duration_s >= 0.1 for s in group)
        if (at_start and trill is not None) or (at_end and (trill is not None or intro_like)):
            edge = t0 if at_start else t1
            skipped.append(Skipped(sound.source, group[0].onset_s, group[-1].offset_s,
                                   f"song cut at the edge ({edge:.2f} s); skipped"))
            continue
        if at_start or at_end:
            continue  # another sound at the edge
        if trill is None:
            continue  # another sound: no trill
        a, b = trill
        if a == 0:
            skipped.append(Skipped(sound.source, group[0].onset_s, group[b - 1].offset_s,
                                   "a trill without introductory notes; skipped"))
            continue
        intro, syllables = tuple(group[:a]), tuple(group[a:b])
        interval = float(np.median(np.diff([g.onset_s for g in syllables])))
        if b == len(group) and t1 - syllables[-1].offset_s < interval + params.edge_s:
            skipped.append(Skipped(sound.source, intro[0].onset_s, syllables[-1].offset_s,
                                   f"song cut at the edge ({t1:.2f} s, in its trill); "
                                   "skipped"))
            continue
        lo = max(i0, round((intro[0].onset_s - 0.1) * SR))
        hi = min(i1, round((syllables[-1].offset_s + 0.1) * SR))
        songs.append(FoundSong(source=sound.source, intro=intro, trill=syllables,
                               sound=Sound(sound.samples[lo:hi], SR, sound.source),
                               sound_start_s=lo / SR))
    return songs, skipped
