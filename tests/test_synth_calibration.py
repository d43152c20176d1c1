"""Pitch calibration: the cached curve is the model's own, and its inverse drives pitch."""

from __future__ import annotations

import numpy as np
import pytest

from songnet.core.errors import SongnetError
from songnet.song.track import steady_pitch
from songnet.synth import (
    GAMMA,
    SR,
    beta_for_f0,
    f0_for_beta,
    f0_range,
    gestures_from_contour,
    harmonic_level_db,
    render,
    render_gesture,
)
from songnet.synth.calibration import calibration_curve, compute_curve, regenerate


def test_steady_pitch_on_a_known_tone():
    t = np.arange(int(0.1 * SR)) / SR
    tone = np.sin(2 * np.pi * 4321.0 * t) + 0.1 * np.sin(2 * np.pi * 8642.0 * t + 1)
    assert steady_pitch(tone, sr=SR) == pytest.approx(4321.0, rel=1e-4)
    assert np.isnan(steady_pitch(np.zeros(4000), sr=SR))


def test_harmonic_level_of_a_known_mixture():
    t = np.arange(int(0.2 * SR)) / SR
    y = np.sin(2 * np.pi * 4000 * t) + 10 ** (-46 / 20) * np.sin(2 * np.pi * 8000 * t)
    assert harmonic_level_db(y) == pytest.approx(-46.0, abs=0.5)


def test_cached_curve_is_the_models_own():
    beta, f0, _ = calibration_curve()
    assert np.all(np.diff(f0) > 0)
    picks = beta[[5, 20, 40]]
    fresh = compute_curve(picks, duration_s=0.1)
    np.testing.assert_allclose(fresh[:, 1], f0[[5, 20, 40]], rtol=2e-3)


def test_whistle_f0_matches_the_calibration_within_one_percent():
    for beta in (1.2, 2.5):
        n = int(0.2 * SR)
        y = render(np.full(n, 0.03), np.full(n, beta), np.ones(n), gamma=21000.0)
        want = float(f0_for_beta(beta, gamma=21000.0))
        assert steady_pitch(y[n // 2:], sr=SR) == pytest.approx(want, rel=0.01)


def test_gestures_sing_the_wanted_pitch():
    for f in (2600.0, 4500.0, 7800.0):
        g = gestures_from_contour([0.0, 0.05, 0.3], [np.nan, f, f], [0.0, 1.0, 1.0])
        y = render_gesture(g)
        assert steady_pitch(y[int(0.15 * SR):int(0.28 * SR)], sr=SR) == pytest.approx(f, rel=0.01)


def test_inverse_round_trip_and_gamma_scaling():
    b = np.array([0.5, 1.0, 2.0, 4.0])
    np.testing.assert_allclose(beta_for_f0(f0_for_beta(b)), b, rtol=1e-6)
    np.testing.assert_allclose(f0_for_beta(b, gamma=2 * GAMMA), 2 * f0_for_beta(b))


def test_unreachable_pitch_is_named():
    lo, hi = f0_range()
    with pytest.raises(SongnetError, match=r"pitch 20000.0 Hz cannot be reached"):
        beta_for_f0(20000.0)
    with pytest.raises(SongnetError, match="beta=50"):
        f0_for_beta(50.0)
    assert lo < 2500 < 8000 < hi * 1.0


def test_regenerate_writes_a_loadable_curve(tmp_path):
    path = regenerate(tmp_path / "cal.csv", betas=np.array([1.0, 2.0]))
    text = path.read_text().splitlines()
    assert text[1] == "beta,f0_hz,level"
    values = np.loadtxt(path, delimiter=",", skiprows=2)
    np.testing.assert_allclose(values[:, 1], f0_for_beta(np.array([1.0, 2.0])), rtol=2e-3)
