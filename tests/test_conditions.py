"""Recording conditions: SNR mixing, noise colours, wind, insects, clutter, reverberation."""

from __future__ import annotations

import numpy as np
import pytest

from songnet.surrogates import conditions as cond
from songnet.synth import SR


def _tone(f=4000.0, s=1.0):
    return np.sin(2 * np.pi * f * np.arange(int(s * SR)) / SR)


def test_mix_at_snr_hits_the_requested_ratio():
    rng = np.random.default_rng(0)
    s = _tone()
    n = cond.coloured_noise(SR, exponent=1.0, rng=rng)
    for snr in (-6.0, 10.0, 30.0):
        mixed = cond.mix_at_snr(s, n, snr_db=snr)
        assert 20 * np.log10(cond.rms(s) / cond.rms(mixed - s)) == pytest.approx(snr, abs=1e-6)


def test_noise_colours_and_wind_band():
    rng = np.random.default_rng(1)
    brown = np.abs(np.fft.rfft(cond.coloured_noise(SR, exponent=2.0, rng=rng))) ** 2
    white = np.abs(np.fft.rfft(cond.coloured_noise(SR, exponent=0.0, rng=rng))) ** 2
    assert brown[100:1000].mean() > 100 * brown[10000:20000].mean()
    assert white[100:1000].mean() == pytest.approx(white[10000:20000].mean(), rel=0.2)
    wind = np.abs(np.fft.rfft(cond.wind_rumble(SR, rng=rng))) ** 2
    assert wind[:400].sum() > 0.95 * wind.sum()  # bins are 1 Hz wide: below 400 Hz


def test_distance_attenuates_and_dulls_high_pitches():
    low, high = _tone(3000.0), _tone(8000.0)
    assert cond.rms(cond.apply_distance(low, 5.0)) == pytest.approx(cond.rms(low), rel=0.05)
    far_low, far_high = cond.apply_distance(low, 40.0), cond.apply_distance(high, 40.0)
    assert cond.rms(far_low) < cond.rms(low) * 5 / 40
    assert cond.rms(far_high) < cond.rms(far_low)


def test_insects_are_narrow_band_and_pulsed():
    y = cond.insect_tone(SR, rng=np.random.default_rng(2))
    spec = np.abs(np.fft.rfft(y)) ** 2
    peak = int(np.argmax(spec))
    assert 3000 <= peak <= 10000
    assert spec[peak - 200:peak + 200].sum() > 0.8 * spec.sum()
    assert np.mean(np.abs(y) < 1e-6) > 0.2  # silent between pulses and outside its span


def test_clutter_calls_are_model_sounds_and_reproducible():
    a = cond.clutter_calls(SR, count=2, rng=np.random.default_rng(3))
    b = cond.clutter_calls(SR, count=2, rng=np.random.default_rng(3))
    assert np.array_equal(a, b) and cond.rms(a) == pytest.approx(1.0)
    spec = np.abs(np.fft.rfft(a)) ** 2
    assert spec[1500:9000].sum() > 0.9 * spec.sum()
    assert np.all(cond.clutter_calls(1000, count=0, rng=np.random.default_rng(0)) == 0)


def test_reverberation_adds_a_decaying_tail():
    click = np.zeros(SR)
    click[100] = 1.0
    y = cond.reverberate(click, t60_s=0.5, wet=0.5, rng=np.random.default_rng(4))
    early = cond.rms(y[200:200 + SR // 20])
    late = cond.rms(y[100 + SR // 2 - SR // 40:100 + SR // 2 + SR // 40])
    assert y[100] == pytest.approx(1.0, abs=0.1)
    assert 20 * np.log10(early / late) > 40  # ~60 dB down after T60, far less early
