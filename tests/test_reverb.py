"""The reverberation time read after a song (songnet.song.reverb), and real songs' measures
taking the place of the default range in synthesize."""

from __future__ import annotations

import numpy as np
import pytest

from songnet.song.reverb import tail_t60
from songnet.surrogates import conditions as cond
from songnet.surrogates.birds import sing
from songnet.surrogates.realdata import MIN_REVERB_SONGS, RealMaterial, RealSong
from songnet.surrogates.synthesize_params import SynthesizeParams
from songnet.surrogates.themes import load_catalog
from songnet.synth import SR


@pytest.fixture(scope="module")
def song():
    return sing(load_catalog()[3], rng=np.random.default_rng(0), params=SynthesizeParams())


def _scene(song, *, t60, snr, after_s=1.5, seed=0):
    rng = np.random.default_rng(seed)
    active = np.flatnonzero(np.abs(song) > 0.01 * np.abs(song).max())
    y = np.concatenate([np.zeros(SR // 2), song[:active[-1] + 1], np.zeros(round(after_s * SR))])
    if t60 > 0:
        y = cond.reverberate(y, t60_s=t60, wet=0.3, rng=rng)
    level = np.sqrt(np.mean(song[active[0]:active[-1] + 1] ** 2))
    y = cond.mix_at_snr(y, rng.standard_normal(y.size), snr_db=snr, signal_rms=level)
    return y, (SR // 2 + active[-1] + 1) / SR


def test_a_dry_song_reads_no_tail_and_a_reverberant_one_its_t60(song):
    y, end = _scene(song, t60=0.0, snr=30)
    assert tail_t60(y, SR, end).t60_s == 0.0
    for t60 in (0.3, 0.7):
        y, end = _scene(song, t60=t60, snr=30)
        got = tail_t60(y, SR, end)
        assert got.range_db >= 30
        assert 0.6 * t60 < got.t60_s < 1.1 * t60  # a little short, as the README says


def test_no_number_is_read_off_the_noise(song):
    y, end = _scene(song, t60=0.7, snr=15)  # the tail lies in the noise
    got = tail_t60(y, SR, end)
    assert np.isnan(got.t60_s) and got.range_db < 30
    y, end = _scene(song, t60=0.7, snr=30, after_s=0.5)  # the recording stops too soon
    assert np.isnan(tail_t60(y, SR, end).t60_s)


def test_real_songs_give_the_range_only_when_enough_are_measured():
    def material(*t60s):
        songs = tuple(RealSong("T01", "rec.wav", "train", np.zeros(10, np.float32), 0.0, 1.0,
                               20.0, t) for t in t60s)
        return RealMaterial(songs, (), (), ())

    assert MIN_REVERB_SONGS == 3
    assert material(0.3, 0.5, np.nan, np.nan).t60_range_s is None
    assert material(0.3, 0.5, 0.0, np.nan).t60_range_s == (0.0, 0.5)
    assert RealSong("T01", "r", "train", np.zeros(1, np.float32), 0, 1, 20.0).t60_s != 0.0
