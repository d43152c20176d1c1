"""Reading a song out of its notes (songnet.song.reading, songnet.song.segment) as
reverberant and noisy recordings leave them: syllables' faint tails, notes' echoes, notes
run together through a filled gap, last notes at the trill's beat; and the real birds'
songs read by the same rules."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import soundfile as sf

from songnet.core.sound import Sound
from songnet.discover.songs import DIP_DB, TAIL_DB
from songnet.resynth.songs import LearnParams
from songnet.song.find import find_songs
from songnet.song.reading import SongRules, read_song
from songnet.song.segment import Note, Segment, split_at_dips
from songnet.song.track import PitchTrack

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


def test_notes_are_cut_at_their_deepest_dip_even_before_a_quiet_tail():
    """Two notes joined by a reverberant gap 16 dB down, the second ending in a tail 30 dB
    down (the quietest frames, but no dip: nothing louder follows them). The cut is at
    the gap (it was tried at the quietest frame only, and nothing was cut)."""
    hop = 0.002
    level_db = np.concatenate([np.full(90, -12.0), np.full(20, -28.0), np.full(90, -12.0),
                               np.linspace(-20.0, -42.0, 60)])
    n = level_db.size
    track = PitchTrack(times_s=np.arange(n) * hop, f0_hz=np.full(n, 4400.0),
                       amplitude=10 ** (level_db / 20), voiced=np.ones(n, dtype=bool))
    notes = split_at_dips(track, [Note(0, n)], dip_db=10.0)
    assert len(notes) == 2
    assert 90 <= notes[0].stop <= 110 and notes[1].start <= 111


def _track(level_db: np.ndarray, f0_hz: np.ndarray) -> PitchTrack:
    n = level_db.size
    return PitchTrack(times_s=np.arange(n) * 0.002, f0_hz=f0_hz,
                      amplitude=10 ** (level_db / 20), voiced=np.ones(n, dtype=bool))


def test_a_shallow_dip_cuts_only_where_the_pitch_jumps_across_it():
    """A 6.96-kHz note whose reverberant tail (8 dB down, at its pitch) runs into a
    6.39-kHz note: cut where the pitch jumps (development scene, seed 6). The same dip
    within one pitch, or a sweep through the same pitch change without a dip, is one
    note."""
    level = np.concatenate([np.full(40, -23.0), np.full(15, -31.0), np.full(40, -19.0)])
    two = np.concatenate([np.full(55, 6960.0), np.full(40, 6390.0)])
    notes = split_at_dips(_track(level, two), [Note(0, 95)], dip_db=10.0)
    assert len(notes) == 2 and 40 <= notes[0].stop < notes[1].start <= 56  # in the dip
    one_pitch = np.full(95, 6960.0)
    assert len(split_at_dips(_track(level, one_pitch), [Note(0, 95)], dip_db=10.0)) == 1
    sweep = np.geomspace(6960.0, 6390.0, 95)
    assert len(split_at_dips(_track(np.full(95, -20.0), sweep), [Note(0, 95)],
                             dip_db=10.0)) == 1


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_discovers_reading_finds_every_real_song_with_its_notes(real_birds, tmp_path, seed):
    """Songs assembled from the real birds' notes (and the dialect birds: one real trill
    after each bird's introduction), in their gaps, levels and noise: discover's reading
    (dips, jumps, tails, echoes, the trill's start) finds every song, and reads the
    bird's introductory notes in nearly all of them. (A 5-dB dip with a pitch jump once
    cut a real bird's noisy 66-ms trill syllables in two, and its songs were lost.)"""
    birds = [*real_birds.BIRDS, *real_birds.DIALECT]
    sung = real_birds.record_birds(tmp_path, birds, files=1, songs=4, seed=seed)
    right = 0
    for bird in birds:
        y, sr = sf.read(tmp_path / bird.name / "rec-0.wav", dtype="float32")
        found, _ = find_songs(Sound(y, sr, bird.name), settings=LearnParams().settings,
                              rules=DISCOVER)
        truth = [s for s in sung if s["bird"] == bird.name]
        assert len(found) == len(truth), bird.name
        right += sum(len(f.intro) == len(bird.intro) for f in found)
    assert right >= 0.9 * len(sung)
