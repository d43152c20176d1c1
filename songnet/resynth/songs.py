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
from songnet.core.sound import Sound
from songnet.resynth.pitch import PitchTrack, cents, segment_notes, track_pitch
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
class Segment:
    """One note or trill syllable: its half-level onset and offset and its voiced frames.

    Attributes
    ----------
    onset_s, offset_s : float
        Half-level crossings, s from the start of the recording.
    times_s, f0_hz, amplitude : np.ndarray [shape=(k,)]
        The note's voiced frames (s, Hz, linear amplitude).
    """

    onset_s: float
    offset_s: float
    times_s: np.ndarray
    f0_hz: np.ndarray
    amplitude: np.ndarray

    @property
    def duration_s(self) -> float:
        return self.offset_s - self.onset_s

    @property
    def peak(self) -> float:
        return float(self.amplitude.max())

    @property
    def peak_s(self) -> float:
        """Time of the loudest frame (s)."""
        return float(self.times_s[np.argmax(self.amplitude)])

    @property
    def pitch_hz(self) -> float:
        """Median pitch (Hz)."""
        return float(np.median(self.f0_hz))


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


def _segment(track: PitchTrack, start: int, stop: int, *, trill: bool) -> Segment | None:
    t = track.times_s[start:stop]
    a = track.amplitude[start:stop]
    v = track.voiced[start:stop]
    if v.sum() < 3:
        return None
    ref = float(a[v].max() if trill else np.percentile(a[v], 90))
    above = np.flatnonzero(a >= 0.5 * ref)
    i, j = int(above[0]), int(above[-1])

    def cross(k0: int, k1: int) -> float:  # interpolate the half-level crossing k0 -> k1
        if not 0 <= k0 < len(a):
            return float(t[k1])
        a0, a1 = a[k0], a[k1]
        w = (0.5 * ref - a0) / (a1 - a0) if a1 != a0 else 1.0
        return float(t[k0] + (t[k1] - t[k0]) * w)

    onset, offset = cross(i - 1, i), cross(j + 1, j)
    keep = v & (a >= 0.25 * ref)
    return Segment(onset_s=onset, offset_s=offset, times_s=t[keep],
                   f0_hz=track.f0_hz[start:stop][keep], amplitude=a[keep])


def _clean(track: PitchTrack) -> PitchTrack:
    """Unvoice single frames whose pitch jumps away from both neighbours (noise spikes)."""
    f, v = track.f0_hz, track.voiced.copy()
    spike = np.zeros_like(v)
    with np.errstate(invalid="ignore"):
        spike[1:-1] = (v[1:-1] & v[:-2] & v[2:] & (np.abs(cents(f[1:-1], f[:-2])) > 300)
                       & (np.abs(cents(f[1:-1], f[2:])) > 300))
    v &= ~spike
    return dataclasses.replace(track, voiced=v, f0_hz=np.where(v, f, np.nan),
                               amplitude=np.where(v, track.amplitude, 0.0))


def _find_trill(group: list[Segment], params: LearnParams) -> tuple[int, int] | None:
    """The longest run of short, evenly spaced syllables of one pitch: ``(first, stop)``."""
    best: tuple[int, int] | None = None
    i = 0
    while i < len(group):
        if group[i].duration_s >= params.trill_max_s:
            i += 1
            continue
        j = i + 1
        while j < len(group) and group[j].duration_s < params.trill_max_s:
            d = group[j].onset_s - group[j - 1].onset_s
            ref = (np.median(np.diff([s.onset_s for s in group[i:j]])) if j - i >= 2 else d)
            pitch = abs(cents(group[j].pitch_hz, group[i].pitch_hz))
            if not 0.6 * ref <= d <= 1.6 * ref or pitch > 600:
                break
            j += 1
        if j - i >= params.min_trill and (best is None or j - i > best[1] - best[0]):
            best = (i, j)
        i = j
    return best


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
    track = _clean(track_pitch(span, fmin=params.fmin_hz, fmax=params.fmax_hz,
                               hop_s=params.hop_s, window_s=params.window_s,
                               tonality_db=params.tonality_db, floor_db=-40.0))
    track = dataclasses.replace(track, times_s=track.times_s + t0)
    notes = segment_notes(track, min_note_s=0.01, max_gap_s=0.008, max_jump_cents=400)
    segs = []
    for n in notes:
        short = (n.stop - n.start) * track.hop_s < params.trill_max_s
        seg = _segment(track, n.start, n.stop, trill=short)
        if seg is not None and seg.duration_s >= 0.008:
            segs.append(seg)
    groups: list[list[Segment]] = []
    for seg in segs:
        if groups and seg.onset_s - groups[-1][-1].offset_s <= params.song_gap_s:
            groups[-1].append(seg)
        else:
            groups.append([seg])
    songs: list[FoundSong] = []
    skipped: list[Skipped] = []
    for group in groups:
        first, last = float(group[0].times_s[0]), float(group[-1].times_s[-1])
        at_start = first <= t0 + params.edge_s + params.window_s
        at_end = last >= t1 - params.edge_s - params.window_s
        trill = _find_trill(group, params)
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
