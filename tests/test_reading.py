"""Reading a song out of its notes (songnet.song.reading) where the tracker leaves the
faint ends of sounds beside them: tails and echoes, as in reverberant recordings."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from songnet.discover.songs import DIP_DB, TAIL_DB
from songnet.resynth.songs import LearnParams
from songnet.song.reading import SongRules, read_song
from songnet.song.segment import Segment

HOP = 0.002
DISCOVER = dataclasses.replace(LearnParams().rules, dip_db=DIP_DB, tail_db=TAIL_DB,
                               echo_db=TAIL_DB, trim_start=True)


def _seg(a: float, b: float, f1: float, f2: float, db: float) -> Segment:
    """A sound from ``a`` to ``b`` s gliding from ``f1`` to ``f2`` Hz, ``db`` re full level."""
    t = np.arange(a, b, HOP)
    return Segment(onset_s=a, offset_s=b, times_s=t, f0_hz=np.geomspace(f1, f2, t.size),
                   amplitude=np.full(t.size, 10 ** (db / 20)))


INTRO = [_seg(0.0, 0.30, 4000, 4300, 0), _seg(0.38, 0.68, 4500, 5400, -2),
         _seg(0.76, 1.26, 6000, 3500, -1)]
TRILL = [_seg(1.35 + 0.075 * k, 1.376 + 0.075 * k, 5800, 3700, -6) for k in range(14)]


def test_syllable_tails_neither_halve_the_trill_nor_join_the_introduction():
    """Each syllable's faint end (14 dB down, 11 ms after it, 4.8 -> 4.0 kHz), as the
    tracker cut it on reverberant development scenes: read as syllables, they put a
    sound every half beat; discover's reading sets them aside."""
    tails = [_seg(s.offset_s + 0.011, s.offset_s + 0.035, 4800, 4000, -20) for s in TRILL]
    group = sorted(INTRO + TRILL + tails, key=lambda s: s.onset_s)
    plain = read_song(group, rules=SongRules())
    assert (len(plain.intro), plain.count) != (3, 14)  # what the tails do
    read = read_song(group, rules=DISCOVER)
    assert (len(read.intro), read.count) == (3, 14)
    assert read.interval_s == pytest.approx(0.075, abs=0.002)
    assert sum("tail" in s for s in read.skipped) == len(tails)


def test_a_long_notes_echo_is_not_one_more_note():
    """The last note's echo 14 dB down, 25 ms after it at its end pitch: below the 20-dB
    echo rule of ``themes learn``, within discover's."""
    echo = _seg(1.285, 1.32, 3550, 3600, -15)
    group = [*INTRO, echo, *TRILL]
    assert len(read_song(group, rules=SongRules()).intro) == 4
    assert len(read_song(group, rules=DISCOVER).intro) == 3


def test_a_quiet_note_after_a_gap_is_still_a_note():
    """A note 12 dB below the one before it is a real bird's quiet note when it starts
    after a real gap (40 ms): only sounds within 20 ms of a louder sound's end are its
    tail."""
    quiet = [INTRO[0], _seg(0.34, 0.68, 4500, 5400, -14), INTRO[2]]
    assert len(read_song(quiet + TRILL, rules=DISCOVER).intro) == 3


def test_notes_at_the_trills_beat_stay_notes():
    """A slow-trill theme whose last two notes (flat, 56 ms) keep the trill's beat, the
    second near its syllables' pitch: a trill grown from the first note drifts into the
    syllables (each sound like the few before it). Discover's reading starts the trill
    where its sounds are like its syllables as a whole."""
    t = 1.0
    notes = [_seg(0.0, 0.37, 5200, 3400, 0), _seg(0.44, 0.84, 4000, 5500, 0),
             _seg(t, t + 0.056, 5000, 5000, -3), _seg(t + 0.095, t + 0.151, 4150, 4100, -2)]
    trill = [_seg(t + 0.19 + 0.097 * k, t + 0.209 + 0.097 * k, 5400, 3800, -6)
             for k in range(10)]
    plain = read_song(notes + trill, rules=SongRules())
    assert len(plain.intro) < 4  # what the beat does
    read = read_song(notes + trill, rules=DISCOVER)
    assert (len(read.intro), read.count) == (4, 10)
