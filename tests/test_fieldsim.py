"""Simulated field recordings: song placement, truth times, noise level, blocks."""

from __future__ import annotations

import numpy as np
import pytest

from songnet.core.errors import SongnetError
from songnet.surrogates.fieldsim import NOISE_RMS, plan_songs, render_recording, sound_extent
from songnet.surrogates.themes import load_catalog
from songnet.synth import SR


def test_sound_extent_finds_a_burst():
    y = np.zeros(SR * 2)
    y[SR // 2:SR] = np.sin(2 * np.pi * 4000 * np.arange(SR // 2) / SR)
    a, b = sound_extent(y)
    assert a == pytest.approx(0.5, abs=0.005) and b == pytest.approx(1.0, abs=0.005)
    with pytest.raises(SongnetError, match="silent"):
        sound_extent(np.zeros(100))


def test_plan_puts_one_song_per_interval_without_overlap():
    themes = load_catalog()
    plan = plan_songs(themes, duration_s=100.0, interval_s=20.0, rng=np.random.default_rng(0))
    assert len(plan) == 5
    for k, (start, theme) in enumerate(plan):
        assert 20.0 * k + 0.5 <= start <= 20.0 * (k + 1) - 5.0
        assert theme in themes
    with pytest.raises(SongnetError, match="interval_s"):
        plan_songs(themes, duration_s=10.0, interval_s=3.0, rng=np.random.default_rng(0))


def test_recording_holds_the_songs_at_their_times_and_snr():
    themes = load_catalog()[:2]
    plan = [(3.0, themes[0]), (12.0, themes[1])]
    blocks, truth = render_recording(plan, duration_s=20.0, snr_db=10.0,
                                     rng=np.random.default_rng(1), block_s=7.0)
    parts = list(blocks)
    assert [p.size for p in parts] == [7 * SR, 7 * SR, 6 * SR]
    y = np.concatenate(parts)
    assert [t.theme for t in truth] == [themes[0].name, themes[1].name]
    for t, (start, theme) in zip(truth, plan, strict=True):
        assert start <= t.start_s < t.end_s <= start + theme.duration_s + 0.5
        song = y[round(t.start_s * SR):round(t.end_s * SR)]
        snr = 20 * np.log10(np.sqrt(np.mean(song.astype(np.float64) ** 2)) / NOISE_RMS)
        assert snr == pytest.approx(10.0, abs=1.0)  # song + noise over noise
    quiet = y[round(7.0 * SR):round(11.0 * SR)]
    assert np.sqrt(np.mean(quiet.astype(np.float64) ** 2)) == pytest.approx(NOISE_RMS, rel=0.15)
