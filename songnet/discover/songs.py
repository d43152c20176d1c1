"""Every chingolo song of a recording, whatever its theme, measured note by note.

A recording is streamed in blocks (bounded memory however long it is). In each block the
song reader of ``songnet themes learn`` (:func:`songnet.resynth.songs.find_songs`: notes
from the pitch track, a trill where a syllable repeats at a steady rate, its introduction
the notes before) proposes songs; each proposal is then put to the classifier's
species-level decision, the one ``songnet classify`` makes: the network's ``1 -
p(no_song)`` on the proposal's own image (placed by the song, as classify places a song
candidate) must reach ``detect_threshold``. Which theme the network names plays no part,
so songs of themes outside any catalog are kept; other species' trills preceded by a
call are not (the note reader alone reads 9 such "songs" in 300 s of the model's other
species, the network passes none of them: ``benchmarks/discover.py`` prints both).

Each song keeps what grouping needs: its introduction as note vectors
(:func:`songnet.song.distance.intro_vectors`) and its trill's rate and pitch.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import os
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from songnet.classify.activity import noise_floor
from songnet.classify.backends import Backend
from songnet.classify.candidates import candidate_images
from songnet.core import audio
from songnet.core.errors import SongnetError
from songnet.core.journal import number_field, text_field
from songnet.core.sound import Sound
from songnet.resynth.songs import LearnParams, describe
from songnet.song.distance import TRANSPOSITION, intro_vectors
from songnet.song.find import SR, FoundSong, find_songs

__all__ = ["DIP_DB", "OVERLAP_S", "TAIL_DB", "TRILL_PITCH", "TRILL_RATE", "DiscoverParams",
           "SongFound", "recording_songs", "trill_differs", "trills_differ"]

TRILL_RATE = math.log(1.4)
"""Trills whose rates differ by more than a factor 1.4 are another trill (as
:func:`songnet.surrogates.foreign.theme_distance` counts one)."""
TRILL_PITCH = math.log(1.15)
"""... or whose syllables start or end more than 15 % apart in pitch."""
DIP_DB = 10.0
"""Notes are also cut where their level dips this far, or half as far where the pitch
jumps across the dip (:func:`songnet.song.segment.split_at_dips`): reverberation fills
the silences between notes."""


@dataclasses.dataclass(frozen=True)
class DiscoverParams:
    """How songs are found and grouped (``songnet themes discover``'s options).

    Attributes
    ----------
    detect_threshold : float
        A song proposed by the note reader is a chingolo song when the network's
        ``1 - p(no_song)`` on it reaches this (classify's ``detect_threshold``).
    min_songs : int
        Groups with fewer songs go to ``_unsorted``.
    threshold : float
        Songs merge while they differ on average by at most this, in notes' worth.
    tolerance : float or None
        The free part of each note's difference (notes' worth); None: measured on the
        recordings (:func:`songnet.discover.group.within_bird_tolerance`).
    block_s : float
        Streamed block length (s); memory grows with it.
    margin_s : float
        Audio kept before and after each song in its clip (s).
    """

    detect_threshold: float = 0.5
    min_songs: int = 3
    threshold: float = 1.0
    tolerance: float | None = None
    block_s: float = 60.0
    margin_s: float = 0.5

    def __post_init__(self) -> None:
        if not 0.0 < self.detect_threshold <= 1.0:
            raise ValueError(f"detect_threshold={self.detect_threshold} must be in (0, 1]")
        if self.min_songs < 1:
            raise ValueError(f"min_songs={self.min_songs} must be at least 1")
        if not 0.0 < self.threshold < 10.0:
            raise ValueError(f"threshold={self.threshold} must lie in (0, 10) notes' worth")
        if self.tolerance is not None and not 0.0 <= self.tolerance <= 2.0:
            raise ValueError(f"tolerance={self.tolerance} must lie in [0, 2] notes' worth")
        if self.block_s < 4 * OVERLAP_S or not 0.1 <= self.margin_s <= OVERLAP_S / 4:
            raise ValueError(f"block_s={self.block_s} must be at least {4 * OVERLAP_S:g} s "
                             f"and margin_s={self.margin_s} within [0.1, {OVERLAP_S / 4:g}] s")


TAIL_DB = 12.0
"""A sound this far below the sound before it, starting within 20 ms of its end, is that
sound's tail (:class:`songnet.song.reading.SongRules`, ``tail_db``); starting within
60 ms at its end pitch, its echo (``echo_db``, 20 dB for ``themes learn``). In a
reverberant recording the faint end of each trill syllable, read as a syllable, halves
the trill's beat and pushes its first syllables into the introduction, and a long note's
echo reads as one more note (development scenes: tails and echoes 14-26 dB below their
sound). Quiet real introductory notes lie within 12 dB of the song's loudest. Discover also
starts a trill only where its sounds are like its syllables as a whole (``trim_start``):
a theme whose last notes keep the trill's beat otherwise lent them to the trill in some
songs and not in others."""

OVERLAP_S = 12.0
"""Seconds shared by consecutive blocks: longer than any song (the catalog's longest theme
is 10 s), so a song cut at one block's end lies whole in the next."""


@dataclasses.dataclass(frozen=True)
class SongFound:
    """One song of a recording.

    Attributes
    ----------
    source : str
        The recording.
    start_s, end_s : float
        First introductory note's onset, last trill syllable's offset (s from the start).
    p_song : float
        The network's ``1 - p(no_song)`` on the song.
    notes : np.ndarray [shape=(k, 4)]
        The introduction's note vectors (:func:`songnet.song.distance.note_vector`).
    trill_interval_s, trill_start_hz, trill_end_hz : float
        The trill's onset-to-onset interval and its syllables' median start and end pitch.
    trill_count : int
        Syllables in the trill.
    description : str
        How the song was read (:func:`songnet.song.find.describe`).
    found_by : str
        ``network``: its ``p_song`` reached the detector's threshold; ``notes``: it did
        not, but its notes match songs the network kept
        (:func:`songnet.discover.group.confirm`).
    """

    source: str
    start_s: float
    end_s: float
    p_song: float
    notes: np.ndarray
    trill_interval_s: float
    trill_start_hz: float
    trill_end_hz: float
    trill_count: int
    description: str
    found_by: str = "network"

    @functools.cached_property
    def intro_pitch(self) -> float:
        """ln of the median middle pitch of the introductory notes (NaN: none); once per
        song, as grouping compares every pair."""
        return float(np.median(self.notes[:, 1])) if len(self.notes) else math.nan

    def as_dict(self) -> dict[str, Any]:
        """JSON-able (the resume journal)."""
        d = dataclasses.asdict(self)
        d["notes"] = self.notes.tolist()
        if d["trill_interval_s"] != d["trill_interval_s"]:
            d["trill_interval_s"] = None  # NaN (a trill of one syllable) is not JSON
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> SongFound:
        """The song :meth:`as_dict` wrote; ``SongnetError`` for anything else (a field
        missing or of another type, a time or pitch out of range, a text not printable)."""
        if not isinstance(d, dict):
            raise SongnetError("a song is not a JSON object")

        def number(key: str, *, null_nan: bool = False) -> float:
            return number_field(d, key, what="song", low=0.0, null_nan=null_nan)

        def text(key: str, choices: tuple[str, ...] = ()) -> str:
            return text_field(d, key, what="song", limit=1000, printable=True,
                              choices=choices)

        notes, count = d.get("notes"), d.get("trill_count")
        if not isinstance(notes, list) or len(notes) > 64 or not all(
                isinstance(n, list) and len(n) == 4 and all(
                    isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)
                    for v in n) for n in notes):
            raise SongnetError("song field notes is not a list of note vectors")
        if isinstance(count, bool) or not isinstance(count, int) or not 0 <= count <= 10_000:
            raise SongnetError("song field trill_count is not a count")
        start, end = number("start_s"), number("end_s")
        if end < start:
            raise SongnetError(f"a song that ends ({end:g} s) before it starts ({start:g} s)")
        return cls(source=text("source"), start_s=start, end_s=end, p_song=number("p_song"),
                   notes=np.asarray(notes, dtype=float).reshape(-1, 4),
                   trill_interval_s=number("trill_interval_s", null_nan=True),
                   trill_start_hz=number("trill_start_hz"),
                   trill_end_hz=number("trill_end_hz"), trill_count=count,
                   description=text("description"),
                   found_by=text("found_by", ("network", "notes")))


def trill_differs(a: SongFound, b: SongFound) -> bool:
    """Whether two songs end in different trills (:func:`trills_differ`)."""
    return bool(trills_differ(a, [b])[0])


def trills_differ(song: SongFound, others: Sequence[SongFound]) -> np.ndarray:
    """Whether ``song`` and each of ``others`` end in different trills: rates more than
    :data:`TRILL_RATE` apart, or syllables starting or ending more than
    :data:`TRILL_PITCH` apart in pitch once the two birds' own pitch is taken out.

    A bird sings its whole song at its own pitch: a bird 9 % lower than another of its
    theme sings its trill 9 % lower too. The introductions' pitch difference (the median
    of their notes' middle pitches, within the transposition the introduction distance
    allows, :data:`songnet.song.distance.TRANSPOSITION`) is taken out of the trills'
    before they are compared. A trill of one syllable (no rate) differs by pitch only.
    """
    if not others:
        return np.zeros(0, dtype=bool)
    with np.errstate(invalid="ignore"):
        rate = np.abs(np.log([o.trill_interval_s / song.trill_interval_s for o in others]))
    lo, hi = np.log(TRANSPOSITION)
    shift = np.clip(np.nan_to_num(np.array([o.intro_pitch for o in others])
                                  - song.intro_pitch), lo, hi)
    pitch = np.abs(np.log([[o.trill_start_hz / song.trill_start_hz,
                            o.trill_end_hz / song.trill_end_hz] for o in others])
                   - shift[:, None]).max(axis=1)
    return (rate > TRILL_RATE) | (pitch > TRILL_PITCH)


def _song(found: FoundSong, offset_s: float, p_song: float) -> SongFound:
    starts = np.array([s.ends_hz[0] for s in found.trill])
    ends = np.array([s.ends_hz[1] for s in found.trill])
    onsets = [s.onset_s for s in found.trill]
    span = max(found.slots[-1] - found.slots[0], 1)
    interval = (onsets[-1] - onsets[0]) / span if len(onsets) > 1 else float("nan")
    return SongFound(source=found.source, start_s=found.start_s + offset_s,
                     end_s=found.end_s + offset_s, p_song=p_song,
                     notes=intro_vectors(found.intro), trill_interval_s=float(interval),
                     trill_start_hz=float(np.median(starts)),
                     trill_end_hz=float(np.median(ends)), trill_count=int(found.count),
                     description=describe(found))


def _p_song(backend: Backend, y: np.ndarray, sr: int, songs: Sequence[FoundSong]
            ) -> list[float]:
    """The network's ``1 - p(no_song)`` on each song's own image, from a block ``y`` at
    ``sr`` (the block's noise floor holds everything outside the song down)."""
    if not songs:
        return []
    fp = backend.fp
    x = audio.resample(y, orig_sr=sr, sr=fp.sr)
    power = backend.power(x)
    spans = [(int(s.start_s * fp.sr / fp.hop_length),
              math.ceil(s.end_s * fp.sr / fp.hop_length)) for s in songs]
    images, _ = candidate_images(backend, x, spans, noise_floor(power))
    probs, _ = backend.predict(images)
    return [float(1.0 - p[-1]) for p in np.asarray(probs)]


def recording_songs(path: str | os.PathLike, *, backend: Backend, learn: LearnParams,
                    params: DiscoverParams,
                    progress: Callable[[float], object] | None = None
                    ) -> tuple[list[SongFound], list[SongFound], float]:
    """The chingolo songs of one recording, streamed.

    Returns
    -------
    songs : list of SongFound
        In time order.
    doubted : list of SongFound
        Songs the note reader proposed that the network's species-level decision refused:
        another species' sound, most often; a song of a theme the network hears poorly,
        sometimes (:func:`songnet.discover.group.confirm` takes those back).
    duration_s : float
        Seconds of audio read.
    """
    songs: list[SongFound] = []
    doubted: list[SongFound] = []
    rules = dataclasses.replace(learn.rules, dip_db=DIP_DB, tail_db=TAIL_DB,
                                echo_db=TAIL_DB, trim_start=True)
    seen_to = 0.0  # audio before this was reported to progress
    for block in audio.stream(path, sr=SR, block_s=params.block_s, overlap_s=OVERLAP_S):
        sound = Sound(block.samples, SR, str(path))
        found, _ = find_songs(sound, settings=learn.settings, rules=rules)
        # a song in the overlap is read in both blocks: take it once
        seen = [s.start_s for s in songs[-50:] + doubted[-50:]]
        new = [f for f in found
               if not any(abs(f.start_s + block.start_s - t) < 0.1 for t in seen)]
        for f, p in zip(new, _p_song(backend, block.samples, SR, new), strict=True):
            (songs if p >= params.detect_threshold else doubted).append(
                _song(f, block.start_s, p))
        end = block.start_s + block.samples.shape[0] / SR
        if progress is not None:
            progress(end - seen_to)
        seen_to = end
    songs.sort(key=lambda s: s.start_s)
    doubted.sort(key=lambda s: s.start_s)
    return songs, doubted, seen_to
