"""Song events' boundaries from the song itself: the onset of its first note to the end
of its trill.

A song candidate is a run of loud frames (:func:`songnet.classify.activity.song_candidates`),
and loud is not the song: a reverberant tail keeps the frames after the last syllable
loud, another bird's call a fraction of a second away joins the run. The song itself is
read as the note check reads it (:mod:`songnet.song.notecheck`): the pitch track of the
song band's peak in each frame (:func:`songnet.song.track.peaks_track` on
``Activity.peaks``, :func:`activity_peaks`), its notes grouped where less than the song
gap separates them, and the group whose trill is the longest after at least one
introductory note (:func:`songnet.song.reading.best_read`). Real songs need some care
around that reading (:func:`read_event`):

- reverberation: a quiet copy of each note follows it, and breaks the trill's rhythm; the
  notes are also read without these echoes (:func:`without_echoes`), and the reading with
  the longer trill wins (the one without echoes among equals);
- another bird just before the song: a leading "note" at a pitch no chingolo note has
  (:data:`songnet.song.notecheck.GATE`) is not the song's; one at a chingolo's pitch
  within the gap between notes cannot be told from a first note and stays;
- quiet first notes (up to 12 dB below the song): they are read as any note, but a note
  too faint to make its frames loud has no peaks to read, and the event starts later; a
  song whose notes are not read at all (only its trill) starts at the first sound of its
  group at a chingolo's pitch;
- the trill's end: its last syllables may run together into one sound (merged, or
  blurred by a reverberant tail); that sound counts when it starts on the trill's beat at
  its syllables' pitch (:meth:`EventSong.trill_end_s`).

The event then runs from the first voiced frame of its first note to the half-level
offset of its trill's last sound (:attr:`EventSong.span_s`). Where no song can be read (a
sound that does not repeat, or no peaks), :func:`song_bounds` says so and the event keeps
its candidate's span.

``benchmarks/boundaries.py`` measures it on songs assembled from real notes, in noise, with
other species close by, dry and reverberant. NumPy only: ``classify`` uses it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from songnet.song.notecheck import GATE, SONG_GAP_S
from songnet.song.reading import ReadSong, SongRules, best_read
from songnet.song.segment import Segment, segment_groups, set_aside_faint
from songnet.song.track import PitchTrack, cents, clean_track, peaks_track, power_peaks

if TYPE_CHECKING:
    from songnet.classify.activity import Activity

__all__ = ["ECHO_DB", "MARGIN_S", "NEAR_FRAMES", "EventSong", "activity_peaks", "event_frames",
           "event_track", "read_event", "song_bounds", "without_echoes"]

MARGIN_S = 0.15
"""Seconds around an event that are read too, here and by the note check
(:func:`event_frames`): a quiet note's start may lie outside the loud frames."""
MAX_JUMP_CENTS = 400.0
"""A note's pitch moves less than this from one frame to the next (the jump at which
:func:`songnet.song.segment.segment_groups` starts a new note)."""
ECHO_DB = 15.0
"""A sound this much quieter than the sound before it, right after it, is its reverberant
tail (:func:`without_echoes`): more than the 12 dB by which a real bird's quiet
introductory notes lie below its loudest, less than the 17–29 dB by which the tails read
on the reverberant songs of ``benchmarks/boundaries.py``'s development seeds lay below
their notes."""
NEAR_FRAMES = 2
"""Peaks are read on the frames within this many of a loud one (:func:`activity_peaks`)."""


def activity_peaks(power: np.ndarray, frequencies: np.ndarray, active: np.ndarray, *,
                   near_frames: int = NEAR_FRAMES) -> np.ndarray:
    """What :attr:`songnet.classify.activity.Activity.peaks` holds: the song band's peaks
    (:func:`songnet.song.track.power_peaks`) of the frames within ``near_frames`` of an
    active one, NaN elsewhere.

    Parameters
    ----------
    power : np.ndarray [shape=(n_bins, T)]
        Linear Constant-Q power.
    frequencies : np.ndarray [shape=(n_bins,)]
        Bin centre frequencies, Hz.
    active : np.ndarray [shape=(T,), dtype=bool]
        The loud frames (:attr:`songnet.classify.activity.Activity.active`).

    Returns
    -------
    np.ndarray [shape=(3, T), dtype=float32]
        Pitch (Hz), peak level and the band's median level (dB) per frame.
    """
    active = np.asarray(active, dtype=bool)
    near = active.copy()
    for k in range(1, near_frames + 1):
        near[k:] |= active[:-k]
        near[:-k] |= active[k:]
    return power_peaks(power, frequencies, active=near)


def event_track(activity: Activity, start_s: float, end_s: float, *,
                margin_s: float = MARGIN_S) -> PitchTrack | None:
    """The cleaned pitch track of the frames from ``start_s - margin_s`` to
    ``end_s + margin_s``, times in seconds of the recording; None without peaks."""
    if activity.peaks is None:
        return None
    frames = event_frames(activity, start_s, end_s, margin_s=margin_s)
    if frames.stop - frames.start < 3:
        return None
    f0, peak, median = activity.peaks[:, frames]
    track = clean_track(peaks_track(f0, peak, median, activity.frame_s))
    return dataclasses.replace(track, times_s=track.times_s + frames.start * activity.frame_s)


def event_frames(activity: Activity, start_s: float, end_s: float, *,
                 margin_s: float = MARGIN_S) -> slice:
    """The frames of ``activity`` from ``start_s - margin_s`` to ``end_s + margin_s``: what
    the boundaries and the note check read of an event."""
    fs = activity.frame_s
    j0 = max(0, int(np.floor((start_s - margin_s) / fs)))
    j1 = min(activity.active.shape[0], int(np.ceil((end_s + margin_s) / fs)) + 1)
    return slice(j0, max(j0, j1))


def without_echoes(group: Sequence[Segment], *, echo_db: float = ECHO_DB,
                   echo_s: float = SongRules().echo_s) -> list[Segment]:
    """``group`` without the reverberant tails of its sounds: a sound at least ``echo_db``
    quieter than the sound kept before it, starting within ``echo_s`` of that one's end
    (half-level times; :func:`songnet.song.segment.set_aside_faint`)."""
    return set_aside_faint(group, db=echo_db, gap_s=echo_s)[0]


def read_event(activity: Activity, start_s: float, end_s: float, *,
               margin_s: float = MARGIN_S) -> EventSong | None:
    """The song of an event, read as the note check reads it (times in seconds of the
    recording).

    The notes of the event's frames (and ``margin_s`` on each side) are read twice,
    without their echoes (:func:`without_echoes`) and as they are (once where there is no
    echo to set aside); the read with the longer trill wins (the one without echoes among
    equals: an echo read as part of a syllable would lengthen the song by its tail), and
    one with introductory notes before one without. Leading notes that no chingolo sings
    (a median pitch outside :data:`songnet.song.notecheck.GATE`'s: another bird's call
    just before the song) are left out of the introduction.

    Parameters
    ----------
    activity : Activity
        The recording's frame activity, with ``peaks``.
    start_s, end_s : float
        The event's span, s.
    margin_s : float
        Seconds before and after the span that are read too.

    Returns
    -------
    EventSong or None
        None when no trill can be read there, or ``activity`` has no peaks.
    """
    track = event_track(activity, start_s, end_s, margin_s=margin_s)
    if track is None:
        return None
    plain = segment_groups(track, song_gap_s=SONG_GAP_S)
    dry = [without_echoes(g) for g in plain]
    readings = (dry, plain) if sum(map(len, dry)) < sum(map(len, plain)) else (plain,)
    for with_intro in (True, False):
        reads = [(r, groups) for groups in readings
                 if (r := best_read(groups, with_intro=with_intro)) is not None]
        if reads:
            break
    else:
        return None
    read, groups = max(reads, key=lambda rg: rg[0].count)
    first = read.trill[0]
    group = next((g for g in groups if g[0].onset_s <= first.onset_s <= g[-1].offset_s),
                 read.trill)
    intro = list(read.intro)
    while intro and not _chingolo_note(intro[0]):
        intro.pop(0)
    return EventSong(dataclasses.replace(read, intro=tuple(intro)), tuple(group), track)


def _chingolo_note(seg: Segment) -> bool:
    """Whether a note's median pitch lies in the species' range
    (:data:`songnet.song.notecheck.GATE`; its length was checked by the reading, against
    the wider :class:`songnet.song.reading.SongRules`)."""
    lo_hz, hi_hz = GATE["pitch_hz"]
    return lo_hz <= seg.pitch_hz <= hi_hz


@dataclasses.dataclass(frozen=True, eq=False)
class EventSong:
    """The song read in an event (:func:`read_event`).

    Attributes
    ----------
    read : ReadSong
        Its introductory notes and trill (times in seconds of the recording).
    group : tuple of Segment
        The sounds it was read from, in order.
    track : PitchTrack
        The pitch track they were cut from.
    """

    read: ReadSong
    group: tuple[Segment, ...]
    track: PitchTrack

    @property
    def span_s(self) -> tuple[float, float]:
        """From the first note's first voiced frame to the trill's end (s).

        The first note (where no note was read: the group's first sound before the trill
        at a chingolo's pitch, else the trill's first syllable) starts at the first voiced
        frame of its run in the track (:meth:`note_start_s`), so a note that swells slowly
        starts where it is first heard; the trill ends at the half-level
        offset of its last sound (:meth:`trill_end_s`), so a reverberant tail (quieter
        than half its level) is left out.
        """
        read = self.read
        first = read.intro[0] if read.intro else next(
            (s for s in self.group if s.onset_s < read.trill[0].onset_s and _chingolo_note(s)),
            read.trill[0])
        return self.note_start_s(first), self.trill_end_s()

    def trill_end_s(self) -> float:
        """The half-level offset of the trill's last sound (s).

        That is its last syllable seen whole; or, where the read counts syllables past it
        (they ran together), the last sound before the trill's next beat; or a sound that
        starts on that beat at the pitch its syllables start at (syllables run together,
        however many: in a reverberant place a trill's last syllables blur into one
        sound). Echoes (:data:`ECHO_DB` below the last syllable) never count.
        """
        read, rules = self.read, SongRules()
        beat, last = read.interval_s, read.trill[-1]
        merged = read.count - 1 > read.slots[-1]
        next_s = last.start_s + (read.count - read.slots[-1]) * beat  # the next beat
        start_hz = float(np.median([s.ends_hz[0] for s in read.trill]))
        end = last.offset_s
        for seg in self.group:
            if seg.onset_s < last.offset_s or seg.peak < last.peak * 10 ** (-ECHO_DB / 20):
                continue
            if seg.start_s < next_s - rules.interval_tol * beat:  # before the next beat
                end = max(end, seg.offset_s) if merged else end
                continue
            if abs(seg.start_s - next_s) <= rules.interval_tol * beat \
                    and abs(float(cents(seg.ends_hz[0], start_hz))) < rules.similar_cents:
                end = max(end, seg.offset_s)
            break
        return end

    def note_start_s(self, seg: Segment) -> float:
        """The first voiced frame of the run that holds ``seg``'s first frame (s), the run
        cut where the pitch jumps by more than a note may (as
        :func:`songnet.song.segment.segment_groups` cuts notes)."""
        times, voiced, f0 = self.track.times_s, self.track.voiced, self.track.f0_hz
        j = int(np.clip(np.searchsorted(times, seg.start_s - 1e-9), 0, times.size - 1))
        while j > 0 and voiced[j - 1] and abs(float(cents(f0[j - 1], f0[j]))) <= MAX_JUMP_CENTS:
            j -= 1
        return float(min(times[j], seg.start_s))


def song_bounds(activity: Activity, start_s: float, end_s: float, *,
                margin_s: float = MARGIN_S) -> tuple[float, float] | None:
    """The span of the song in an event, read from the song itself.

    Parameters
    ----------
    activity : Activity
        The recording's frame activity, with ``peaks`` (without them: None).
    start_s, end_s : float
        The event's span from its loud frames (a song candidate), s.
    margin_s : float
        Seconds before and after the span that are read too.

    Returns
    -------
    (float, float) or None
        The onset of the song's first note and the end of its trill, s
        (:attr:`EventSong.span_s` of :func:`read_event`). None when no song can be read:
        the event keeps its span.
    """
    song = read_event(activity, start_s, end_s, margin_s=margin_s)
    return None if song is None else song.span_s
