"""Pitch tracking on generated tones and sweeps with known frequencies."""

from __future__ import annotations

import numpy as np
import pytest

from songnet.core.errors import SongnetError
from songnet.core.sound import Sound
from songnet.song.segment import segment_notes
from songnet.song.track import cents, pitch_error_cents, track_pitch

SR = 44100


def tone(f_hz, dur_s, *, sr=SR, amp=0.5):
    t = np.arange(int(dur_s * sr)) / sr
    return amp * np.sin(2 * np.pi * f_hz * t)


def test_steady_tone_within_two_cents():
    track = track_pitch(Sound(tone(4500.0, 0.2).astype(np.float32), SR))
    inner = track.f0_hz[5:-5]
    assert track.voiced[5:-5].all()
    assert np.max(np.abs(cents(inner, 4500.0))) < 2.0


def test_linear_sweep_followed():
    sr = SR
    t = np.arange(int(0.3 * sr)) / sr
    f = 5000.0 - (1500.0 / 0.3) * t  # 5000 -> 3500 Hz
    y = 0.5 * np.sin(2 * np.pi * np.cumsum(f) / sr)
    track = track_pitch(Sound(y.astype(np.float32), sr))
    expect = np.interp(track.times_s, t, f)
    ok = track.voiced & (track.times_s > 0.01) & (track.times_s < 0.29)
    assert np.median(np.abs(cents(track.f0_hz[ok], expect[ok]))) < 5.0


def test_silence_is_unvoiced_and_notes_are_segmented():
    gap = np.zeros(int(0.05 * SR))
    rng = np.random.default_rng(0)
    y = np.concatenate([gap, tone(4000.0, 0.1), gap, tone(6000.0, 0.08), gap])
    y = y + 1e-4 * rng.standard_normal(y.size)
    track = track_pitch(Sound(y.astype(np.float32), SR))
    assert not track.voiced[: int(0.04 / track.hop_s)].any()
    notes = segment_notes(track)
    assert len(notes) == 2
    f_first = np.nanmedian(track.f0_hz[notes[0].start:notes[0].stop])
    f_second = np.nanmedian(track.f0_hz[notes[1].start:notes[1].stop])
    assert abs(cents(f_first, 4000.0)) < 5 and abs(cents(f_second, 6000.0)) < 5
    assert notes[0].start * track.hop_s == pytest.approx(0.05, abs=0.008)


def test_pitch_error_known_offset_and_silent_candidate():
    ref = track_pitch(Sound(tone(4000.0, 0.1).astype(np.float32), SR))
    sharp = track_pitch(Sound(tone(4000.0 * 2 ** (50 / 1200), 0.1).astype(np.float32), SR))
    err = pitch_error_cents(ref, sharp)
    assert np.median(err) == pytest.approx(50.0, abs=2.0)
    silent = track_pitch(Sound(np.zeros(int(0.1 * SR), dtype=np.float32), SR))
    assert np.all(pitch_error_cents(ref, silent) == 1200.0)


def test_band_above_nyquist_is_an_error():
    with pytest.raises(SongnetError, match="fmax=9000"):
        track_pitch(Sound(tone(1000.0, 0.1, sr=16000).astype(np.float32), 16000))
