"""Gestures: note shapes, β ramps, γ choice, and the timbre of sung notes."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf

from songnet.core.errors import SongnetError
from songnet.song.track import steady_pitch
from songnet.surrogates.themes import contour, load_catalog
from songnet.synth import (
    SR,
    f0_for_beta,
    gamma_for_range,
    gestures_from_contour,
    harmonic_level_db,
    note_contour,
    render,
    render_gesture,
)


def test_note_shapes():
    n = 1001
    assert np.allclose(note_contour("whistle", [4000.0], n), 4000.0)
    up = note_contour("sweep", [3000.0, 5000.0], n)
    assert np.all(np.diff(up) > 0) and up[0] == pytest.approx(3000, rel=0.01)
    chev = note_contour("chevron", [3500.0, 5000.0, 3500.0], n)
    assert np.argmax(chev) == pytest.approx(n // 2, abs=10) and chev.max() > 4900
    slur = note_contour("slur", [5500.0, 4000.0], n)
    assert np.all(np.diff(slur) <= 0) and slur[-1] == pytest.approx(4000, rel=0.01)
    with pytest.raises(SongnetError, match="unknown note shape 'trumpet'"):
        note_contour("trumpet", [4000.0], n)


def test_beta_ramp_gives_a_monotonic_sweep():
    n = int(0.4 * SR)
    beta = np.linspace(1.0, 3.0, n)
    y = render(np.full(n, 0.03), beta, np.ones(n))
    win = int(0.03 * SR)
    f0 = [steady_pitch(y[i:i + win], sr=SR) for i in range(int(0.05 * SR), n - win, win)]
    assert np.all(np.diff(f0) > 0)
    assert f0[-1] / f0[0] > 1.4


def test_gaps_are_silent_and_notes_are_not():
    t = np.array([0.0, 0.05, 0.15, 0.151, 0.25, 0.251, 0.35, 0.4])
    f = np.array([np.nan, 4000, 4000, np.nan, np.nan, 5000, 5000, np.nan])
    a = np.array([0, 1, 1, 0, 0, 1, 1, 0.0])
    y = render_gesture(gestures_from_contour(t, f, a))
    note = np.abs(y[int(0.07 * SR):int(0.13 * SR)]).max()
    gap = np.abs(y[int(0.17 * SR):int(0.23 * SR)]).max()
    assert gap < 1e-3 * note


def test_gamma_for_range_and_its_limit():
    g = gamma_for_range(3000.0, 6000.0)
    assert 10000 < g < 40000
    with pytest.raises(SongnetError, match="narrow the song's pitch range"):
        gamma_for_range(2000.0, 9000.0)


def test_bad_contours_are_named():
    with pytest.raises(SongnetError, match="strictly increasing"):
        gestures_from_contour([0.0, 0.0], [4000, 4000], [1, 1])
    with pytest.raises(SongnetError, match="no voiced point"):
        gestures_from_contour([0.0, 0.1], [np.nan, np.nan], [1, 1])
    with pytest.raises(SongnetError, match="one length"):
        gestures_from_contour([0.0, 0.1], [4000], [1, 1])


def test_notes_are_nearly_pure_tones():
    levels = []
    for beta in (1.15, 2.0, 4.0):  # richer at low beta, purer at high beta
        g = gestures_from_contour([0.0, 0.05, 0.35], [np.nan, 4500.0, 4500.0],
                                  [0.0, 1.0, 1.0], gamma=4500.0 / f0_for_beta(beta) * 24000)
        levels.append(harmonic_level_db(render_gesture(g)))
    assert all(-60.0 < v < -40.0 for v in levels)
    assert levels[0] > levels[2]


def test_timbre_sits_beside_the_real_syllables(real_syllables):
    real = []
    for path in real_syllables:
        y, sr = sf.read(path)
        if y.size / sr > 0.1:  # the short trill syllables hold too few frames
            real.append(harmonic_level_db(y, sr=sr))
    ours = [harmonic_level_db(render_gesture(gestures_from_contour(*contour(theme))))
            for theme in load_catalog()[:4]]
    assert abs(np.median(ours) - np.median(real)) < 3.0
    assert min(real) - 5 < min(ours) and max(ours) < max(real) + 5
    assert -50 < np.median(real) < -43  # the measurement reproduces DESIGN.md's 44–49 dB


@pytest.mark.parametrize(("f_from", "f_to"), [(2500.0, 7500.0), (7500.0, 2500.0)])
def test_a_threefold_sweep_is_sung_in_tune_with_the_tonal_timbre(f_from, f_to):
    n = round(0.3 * SR)
    want = f_from * (f_to / f_from) ** (np.arange(n) / (n - 1))
    t = np.concatenate([[0.0], 0.05 + np.arange(n) / SR, [0.4]])
    f = np.concatenate([[np.nan], want, [np.nan]])
    g = gestures_from_contour(t, f, np.isfinite(f) * 1.0)
    assert np.ndim(g.gamma) == 1 and g.gamma.max() / g.gamma.min() > 2  # γ(t) varies
    on = g.envelope > 0.5 * g.envelope.max()
    assert g.beta[on].min() >= 0.99 and g.beta[on].max() <= 5.0  # β stays tonal
    y = render_gesture(g)
    i0 = round(0.05 * SR)
    win = round(0.012 * SR)
    errs = []
    for i in range(i0 + win, i0 + n - 2 * win, win):
        sung = steady_pitch(y[i:i + win], sr=SR)
        errs.append(1200 * np.log2(sung / np.exp(np.log(want[i - i0:i - i0 + win]).mean())))
    assert np.median(np.abs(errs)) < 15
    loud = np.abs(y[i0:i0 + n]).reshape(-1, n // 10).max(axis=1)
    assert loud.max() / loud.min() < 2.0  # level compensated along the sweep
    assert -50 < harmonic_level_db(y) < -43


def test_gamma_profile_is_smooth_and_keeps_beta_tonal():
    from songnet.synth import beta_for_f0, gamma_profile
    from songnet.synth.gestures import GAMMA_SMOOTH_S

    f = np.concatenate([np.full(SR // 5, 3000.0), np.geomspace(3000, 8500, SR // 5),
                        np.full(SR // 5, 8500.0)])
    g = gamma_profile(f)

    b = beta_for_f0(f, gamma=g)
    assert b.min() >= 0.999 and b.max() <= 5.001
    step = np.abs(np.diff(np.log(g)))  # relative change per sample
    assert step.max() < 3 * np.log(8500 / 3000) / (GAMMA_SMOOTH_S * SR)
    with pytest.raises(SongnetError, match="cannot be sung as a pure tone"):
        gamma_profile(np.full(100, 600.0))


def test_trill_contour_is_a_periodic_downsweep_with_envelope_and_drift():
    from songnet.synth import trill_contour

    f0, amp = trill_contour(12, pitch_hz=np.array([6500.0, 3800.0]), note_s=0.04,
                            interval_s=0.07, peak_at=0.7, loudness=(0.5, 1.0, 0.6),
                            drift_pitch=-0.05, drift_interval=0.1)
    on = np.flatnonzero(np.diff((amp > 0).astype(int)) == 1) + 1
    on = np.concatenate([[0], on])
    assert on.size == 12
    gaps = np.diff(on) / SR
    assert gaps[0] == pytest.approx(0.07, abs=2e-4) and gaps[-1] > gaps[0] * 1.08
    m = round(0.04 * SR)
    first = amp[:m]
    assert np.argmax(first) / m == pytest.approx(0.7, abs=0.03)  # peaks late, as real ones
    assert f0[1] > 6400 and f0[m - 1] < 3900 and np.all(np.diff(f0[:m]) < 0)
    peaks = np.array([amp[i:i + m].max() for i in on])
    assert peaks[0] == pytest.approx(0.5, rel=0.02) and peaks.max() == pytest.approx(1.0, rel=0.05)
    assert peaks[-1] == pytest.approx(0.6, rel=0.02)
    assert f0[on[-1] + 1] == pytest.approx(0.95 * f0[1], rel=0.01)
    _, amp2 = trill_contour(3, pitch_hz=np.array([6500.0, 3800.0]), note_s=0.03,
                              interval_s=0.08, second=("sweep", np.array([4800.0, 4200.0]),
                                                       0.012, 0.004, 0.7))
    runs = np.flatnonzero(np.diff((amp2 > 0).astype(int)) == 1).size + 1
    assert runs == 6  # two elements per syllable
