"""Finding chingolo songs in a recording and reading each into notes and a trill.

A song (DESIGN.md, "Song") is one to six introductory notes, then a *trill*: one syllable
repeated at a steady rate. The recording is pitch-tracked in the song band
(:func:`songnet.song.track.track_pitch`), the voiced runs become notes (cut at pitch jumps
and level dips, :func:`songnet.song.segment.segment_groups`), notes closer than
``song_gap_s`` form a group, and a group is a song when it holds a trill
(:func:`songnet.song.reading.read_song`: the longest run of similar syllables at a steady
rate). The song starts at its first introductory note and ends with its trill's last
syllable; other sounds before and after it (another bird, a call) are not notes of it. A
song that touches the edge of the analysed span is cut and is skipped, with the reason.

A note's onset and offset are where its level crosses half of its level (the 90th
percentile of its frames; the loudest frame for a note of a few frames), interpolated between
frames: a definition that noise and the tracker's window hardly move.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from songnet.core.audio import resample
from songnet.core.errors import SongnetError
from songnet.core.sound import Sound
from songnet.song.reading import ReadSong, SongRules, read_song
from songnet.song.segment import Segment, segment_groups
from songnet.song.track import PitchTrack, clean_track, track_pitch

__all__ = ["FoundSong", "Skipped", "TrackSettings", "describe", "find_songs"]

SR = 44100  # the rate songs are read at (the syrinx model's)


@dataclasses.dataclass(frozen=True)
class TrackSettings:
    """How a recording is pitch-tracked before its songs are read.

    Attributes
    ----------
    fmin_hz, fmax_hz : float
        Song band (Hz); sounds outside it are ignored.
    hop_s, window_s : float
        Frame hop and Hann window (s).
    tonality_db : float
        A voiced frame's peak stands this far above the band's median level (dB).
    floor_db : float
        ... and within this many dB of the span's loudest frame.
    edge_s : float
        A song whose sound comes this close to the span's edge is cut (s).
    """

    fmin_hz: float = 2000.0
    fmax_hz: float = 9000.0
    hop_s: float = 0.002
    window_s: float = 0.008
    tonality_db: float = 15.0
    floor_db: float = -40.0
    edge_s: float = 0.01


    def track(self, sound: Sound) -> PitchTrack:
        """The cleaned pitch track of ``sound`` with these settings."""
        return clean_track(track_pitch(sound, fmin=self.fmin_hz, fmax=self.fmax_hz,
                                       hop_s=self.hop_s, window_s=self.window_s,
                                       tonality_db=self.tonality_db, floor_db=self.floor_db))


@dataclasses.dataclass(frozen=True, eq=False)
class FoundSong:
    """A song found in a recording: its notes, its trill and its audio (at ``SR``).

    ``slots`` gives each syllable of ``trill`` its place in the trill (missing or merged
    syllables leave their numbers out); ``count`` is how many the trill holds.
    """

    source: str
    intro: tuple[Segment, ...]
    trill: tuple[Segment, ...]
    sound: Sound
    sound_start_s: float
    slots: tuple[int, ...] = ()
    count: int = 0
    skipped: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not self.slots:
            object.__setattr__(self, "slots", tuple(range(len(self.trill))))
        if not self.count:
            object.__setattr__(self, "count", self.slots[-1] + 1 if self.slots else 0)

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


def describe(read: ReadSong | FoundSong) -> str:
    """How a song was read, for messages: ``2 introductory notes (4.4 kHz 150 ms,
    5.2→3.1 kHz 490 ms), then a trill of 14 syllables every 55 ms``."""
    notes = []
    for s in read.intro:
        a, b = s.ends_hz
        khz = f"{a / 1000:.1f}" if abs(np.log2(b / a)) < 0.1 else f"{a / 1000:.1f}→{b / 1000:.1f}"
        notes.append(f"{khz} kHz {s.duration_s * 1000:.0f} ms")
    onsets = [s.onset_s for s in read.trill]
    span = max(read.slots[-1] - read.slots[0], 1)
    interval = (onsets[-1] - onsets[0]) / span * 1000 if len(onsets) > 1 else float("nan")
    n = len(read.intro)
    return (f"{n} introductory note{'s' if n != 1 else ''} ({', '.join(notes)}), then a trill "
            f"of {read.count} syllables every {interval:.0f} ms")


def _track(sound: Sound, t0: float, t1: float, settings: TrackSettings):
    i0, i1 = round(t0 * SR), round(t1 * SR)
    track = settings.track(Sound(sound.samples[i0:i1], SR, sound.source))
    return dataclasses.replace(track, times_s=track.times_s + t0)


def _found(sound: Sound, read: ReadSong, i0: int, i1: int) -> FoundSong:
    lo = max(i0, round((read.intro[0].onset_s - 0.1) * SR))
    hi = min(i1, round((read.trill[-1].offset_s + 0.1) * SR))
    return FoundSong(source=sound.source, intro=read.intro, trill=read.trill,
                     sound=Sound(sound.samples[lo:hi], SR, sound.source),
                     sound_start_s=lo / SR, slots=read.slots, count=read.count,
                     skipped=read.skipped)


def find_songs(sound: Sound, *, settings: TrackSettings | None = None,
               rules: SongRules | None = None, start_s: float | None = None,
               end_s: float | None = None, one_song: bool = False
               ) -> tuple[list[FoundSong], list[Skipped]]:
    """Find the complete songs in ``sound`` (or in ``[start_s, end_s]`` of it).

    Parameters
    ----------
    sound : Sound
        A recording, any rate (resampled to ``SR``).
    settings : TrackSettings
    rules : SongRules
    start_s, end_s : float, optional
        The span to search (s); default: the whole recording.
    one_song : bool
        The span holds one song (the user said so): every note in it is read as one
        song, whatever the silences, and a song touching the span's edge is kept.

    Returns
    -------
    songs : list of FoundSong
        In time order; times in seconds from the recording's start.
    skipped : list of Skipped
        Songs cut at the span's edge, trills without introductory notes.
    """
    settings = TrackSettings() if settings is None else settings
    rules = SongRules() if rules is None else rules
    if sound.sr != SR:
        sound = Sound(resample(sound.samples, orig_sr=sound.sr, sr=SR), SR, sound.source)
    t0 = 0.0 if start_s is None else float(start_s)
    t1 = sound.duration if end_s is None else min(float(end_s), sound.duration)
    if not 0 <= t0 < t1:
        raise SongnetError(f"{sound.source}: --start {t0:g} s must lie before --end {t1:g} s "
                           f"within the recording (0–{sound.duration:.2f} s)")
    i0, i1 = round(t0 * SR), round(t1 * SR)
    track = _track(sound, t0, t1, settings)
    groups = segment_groups(track, song_gap_s=np.inf if one_song else rules.song_gap_s,
                            dip_db=rules.dip_db)
    songs: list[FoundSong] = []
    skipped: list[Skipped] = []
    margin = settings.edge_s + settings.window_s
    for group in groups:
        read = read_song(group, rules=rules)
        if read is None:
            continue  # another sound: nothing repeats
        head = read.intro[0] if read.intro else read.trill[0]
        first = float(head.times_s[0])
        last = float(read.trill[-1].times_s[-1])
        if not one_song:
            # the sounds before the song (its head may be several pieces joined, so not
            # itself one of the group's)
            before = sum(1 for s in group if s.offset_s <= head.onset_s)
            # cut at the start: the song's first sound, or a sound just before it, touches
            # the span's start; at the end: the trill's next syllable would start past it
            cut_start = first <= t0 + margin or (
                before > 0 and float(group[0].times_s[0]) <= t0 + margin
                and head.onset_s - group[before - 1].offset_s < 0.1)
            cut_end = last >= t1 - margin or (
                read.trill[-1] is group[-1]
                and read.trill[-1].onset_s + read.interval_s > t1 - settings.edge_s)
            if cut_start or cut_end:
                where = (f"at the edge ({t0:.2f} s, before its first note)" if cut_start
                         else f"at the edge ({t1:.2f} s, in its trill)")
                start = group[0].onset_s if cut_start else head.onset_s
                end = group[-1].offset_s if cut_end else read.trill[-1].offset_s
                skipped.append(Skipped(sound.source, start, end, f"song cut {where}; skipped"))
                continue
        if not read.intro:
            skipped.append(Skipped(sound.source, read.trill[0].onset_s, read.trill[-1].offset_s,
                                   "a trill without introductory notes; skipped"))
            continue
        songs.append(_found(sound, read, i0, i1))
    return songs, skipped
