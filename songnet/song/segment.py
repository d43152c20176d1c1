"""Notes and trill syllables cut from a pitch track, and grouped into songs (what a group of
notes reads as, :mod:`songnet.song.reading`)."""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Sequence

import numpy as np

from songnet.core.quantiles import median, percentile
from songnet.song.track import PitchTrack, cents

__all__ = ["JUMP_CENTS", "JUMP_MIN_S", "MIN_PERCENTILE_FRAMES", "Note", "Segment", "segment",
           "segment_groups", "segment_notes", "set_aside_faint", "split_at_dips"]

JUMP_CENTS = 100.0
"""A level dip half as deep as :func:`split_at_dips`'s ``dip_db`` cuts a note where the
pitch jumps this far across it: in one frame's step, and the pitch on each side lies this
far off the line through the other side's."""

JUMP_MIN_S = 0.05
"""... when both parts are at least this long (s): introductory notes, not syllables."""

MIN_PERCENTILE_FRAMES = 10
"""A note's level is the 90th percentile of its frames' levels, or, with fewer voiced
frames than this, its loudest frame's (too few frames for a percentile)."""


@dataclasses.dataclass(frozen=True)
class Note:
    """One note of a track: frames ``start`` (inclusive) to ``stop`` (exclusive)."""

    start: int
    stop: int


def segment_notes(track: PitchTrack, *, min_note_s: float = 0.008, max_gap_s: float = 0.006,
                  max_jump_cents: float = 300.0) -> list[Note]:
    """Split a track into notes: voiced runs, bridging short gaps, cut at pitch jumps.

    Parameters
    ----------
    track : PitchTrack
        The tracked contour.
    min_note_s : float
        Shorter voiced runs are dropped (clicks, noise).
    max_gap_s : float
        Unvoiced gaps up to this long inside a note are bridged.
    max_jump_cents : float
        A pitch jump between consecutive voiced frames larger than this starts a new note.

    Returns
    -------
    list of Note
        In time order; frames ``note.start`` and ``note.stop - 1`` are voiced.
    """
    hop = track.hop_s or 1.0
    voiced = np.flatnonzero(track.voiced)
    if voiced.size == 0:
        return []
    with np.errstate(invalid="ignore"):
        jump = np.abs(cents(track.f0_hz[voiced[1:]], track.f0_hz[voiced[:-1]]))
    gap = (np.diff(voiced) - 1) * hop
    cut = np.flatnonzero((gap > max_gap_s) | (jump > max_jump_cents)) + 1  # a new note
    starts = np.concatenate([[0], cut])
    stops = np.concatenate([cut, [voiced.size]])
    min_frames = max(1, int(np.ceil(min_note_s / hop)))
    return [Note(int(voiced[a]), int(voiced[b - 1]) + 1) for a, b in zip(starts, stops, strict=True)
            if int(voiced[b - 1]) + 1 - int(voiced[a]) >= min_frames]


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
    def start_s(self) -> float:
        """The first frame within 12 dB of the note's level (s): where a trill reads its
        rhythm. A syllable's half-level onset moves by half its length when it swells
        slowly (a crescendo's level sits near half its peak); this one barely moves."""
        return float(self.times_s[0])

    @property
    def extent_s(self) -> float:
        """From the first to the last frame within 12 dB of the note's level (s)."""
        return float(self.times_s[-1] - self.times_s[0])

    @property
    def peak(self) -> float:
        return float(self.amplitude.max())

    @property
    def peak_s(self) -> float:
        """Time of the loudest frame (s)."""
        return float(self.times_s[np.argmax(self.amplitude)])

    @functools.cached_property
    def ends_hz(self) -> tuple[float, float]:
        """Start and end pitch (Hz): the medians of the first and last three frames."""
        k = min(3, self.f0_hz.size)
        return float(median(self.f0_hz[:k])), float(median(self.f0_hz[-k:]))

    @functools.cached_property
    def pitch_hz(self) -> float:
        """Median pitch (Hz)."""
        return float(median(self.f0_hz))


def segment(track: PitchTrack, start: int, stop: int) -> Segment | None:
    """Frames ``start:stop`` of ``track`` as a :class:`Segment` (None with under 3 voiced
    frames). Its level is the 90th percentile of its voiced frames (the loudest frame's
    with under :data:`MIN_PERCENTILE_FRAMES`): a spike of a few frames does not set it."""
    t = track.times_s[start:stop]
    a = track.amplitude[start:stop]
    v = track.voiced[start:stop]
    if v.sum() < 3:
        return None
    ref = float(a[v].max() if v.sum() < MIN_PERCENTILE_FRAMES else percentile(a[v], 90))
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


def segment_groups(track: PitchTrack, *, song_gap_s: float, dip_db: float | None = None
                   ) -> list[list[Segment]]:
    """The notes of ``track`` (voiced runs, cut at pitch jumps; with ``dip_db``, also at
    level dips that deep, :func:`split_at_dips`) as :class:`Segment` s, grouped where less
    than ``song_gap_s`` of silence separates them."""
    notes = segment_notes(track, min_note_s=0.01, max_gap_s=0.008, max_jump_cents=400)
    if dip_db is not None:
        notes = split_at_dips(track, notes, dip_db=dip_db)
    groups: list[list[Segment]] = []
    for n in notes:
        seg = segment(track, n.start, n.stop)
        if seg is None or seg.duration_s < 0.008:
            continue
        if groups and seg.onset_s - groups[-1][-1].offset_s <= song_gap_s:
            groups[-1].append(seg)
        else:
            groups.append([seg])
    return groups


def set_aside_faint(group: Sequence[Segment], *, db: float, gap_s: float,
                    before_next: bool = False) -> tuple[list[Segment], list[Segment]]:
    """``group`` split into the sounds kept and those set aside: a sound at least ``db``
    quieter than the sound kept before it, starting within ``gap_s`` of that one's end (its
    reverberant or faint tail); with ``before_next``, also a sound that quiet ending
    within ``gap_s`` of the next sound's start (half-level times)."""
    floor = 10 ** (-db / 20)
    kept: list[Segment] = []
    aside: list[Segment] = []
    for k, seg in enumerate(group):
        after = group[k + 1] if before_next and k + 1 < len(group) else None
        if (kept and seg.onset_s - kept[-1].offset_s < gap_s
                and seg.peak < kept[-1].peak * floor) or (
                after is not None and after.onset_s - seg.offset_s < gap_s
                and seg.peak < after.peak * floor):
            aside.append(seg)
        else:
            kept.append(seg)
    return kept, aside


def split_at_dips(track: PitchTrack, notes: Sequence[Note], *, dip_db: float,
                  min_s: float = 0.02) -> list[Note]:
    """``notes`` cut where a note's level dips at least ``dip_db`` below its louder parts
    on both sides (each part at least ``min_s`` long), or half as far where the pitch
    also jumps by :data:`JUMP_CENTS` across the dip (each part at least
    :data:`JUMP_MIN_S` long), recursively at the deepest dip.

    Two notes run together when the silence between them is filled: a reverberant tail
    keeps the gap tonal at the first note's end pitch, so no unvoiced frame and no pitch
    jump separates notes of one pitch. The tail still lies well below both notes. A note
    of another pitch starting out of that tail jumps in pitch where the tail is quietest,
    though the tail may lie only a few dB down (development scenes: 8 dB, 150 cents); a
    note's own sweep, however fast, continues its line. A trill syllable too short to
    hold two such parts is never cut by a jump: in noise its pitch track can jump and its
    level dip (a real bird's 66-ms syllable: 290 cents and 15 dB within it).
    """
    hop = track.hop_s or 1.0
    k = max(2, round(min_s / hop))
    long = round(JUMP_MIN_S / hop)
    db = 20 * np.log10(np.maximum(np.nan_to_num(track.amplitude), 1e-9))
    # 5-frame median: a single frame's dropout is not a dip
    pad = np.pad(db, 2, mode="edge")
    smooth = np.median(np.lib.stride_tricks.sliding_window_view(pad, 5), axis=1)
    log_f0 = np.log(np.where(track.voiced, track.f0_hz, np.nan))

    step = np.abs(np.diff(log_f0)) * 1200 / np.log(2)  # cents from each frame to the next

    def jumps(m: int) -> bool:
        """The pitch steps :data:`JUMP_CENTS` from one frame to the next within 2 frames
        of ``m``, three times its median step of the 20 frames around (a sweep's steps
        are even), and the pitch 10 frames either side of ``m`` lies that far off the
        line through the other side's, both ways (medians: a sweep, however fast,
        continues its line; a track's few wild frames move no median)."""
        near, around = step[max(m - 2, 0):m + 2], step[max(m - 10, 0):m + 10]
        if np.isnan(near).all() or np.isnan(around).all():
            return False
        big = np.nanmax(near)
        if big < JUMP_CENTS or big < 3 * np.nanmedian(around):
            return False
        idx = np.arange(max(m - 10, 0), m), np.arange(m + 1, min(m + 11, log_f0.size))
        sides = [(i[~np.isnan(log_f0[i])], log_f0[i][~np.isnan(log_f0[i])]) for i in idx]
        if min(x.size for x, _ in sides) < 5:
            return False
        off = []
        for (x, y), (u, v) in (sides, sides[::-1]):
            slope, level = np.polyfit(x, y, 1)
            off.append(abs(float(np.median(v - (slope * u + level)))))
        return min(off) * 1200 / np.log(2) >= JUMP_CENTS

    def split(s: int, e: int) -> list[Note]:
        if e - s < 2 * k + 1:
            return [Note(s, e)]
        level = smooth[s:e]
        before = np.maximum.accumulate(level)  # loudest up to each frame
        after = np.maximum.accumulate(level[::-1])[::-1]  # loudest from each frame on
        depth = (np.minimum(before, after) - level)[k:e - s - k]
        # the deepest dip, not the quietest frame: a note's quiet tail is no dip, as
        # nothing louder follows it
        for j in np.argsort(-depth, kind="stable"):
            if depth[j] < dip_db / 2:
                break
            m = s + k + int(j)
            if depth[j] >= dip_db or (min(m - s, e - m) >= long and jumps(m)):
                return split(s, m) + split(m + 1, e)
        return [Note(s, e)]

    return [part for n in notes for part in split(n.start, n.stop)]


# ---- songs read from their notes: the trill is what repeats ---------------------------


