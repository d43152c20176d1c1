"""The compiled batched integrator: batching, threads, and no NaN anywhere."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from songnet.core.errors import SongnetError
from songnet.synth import SR, Tract, render, render_batch
from songnet.synth.integrate import cavity_block, cavity_transition
from songnet.synth.model import cavity_matrices


def _songs(k: int, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    betas = np.linspace(1.0, 3.0, k)
    return np.full((k, n), 0.03), np.repeat(betas[:, None], n, axis=1), np.ones((k, n))


def test_batch_matches_single_songs_and_threads_do_not_matter():
    alpha, beta, env = _songs(6, 3000)
    tracts = [Tract(length_cm=3.3 + 0.1 * j) for j in range(6)]
    gammas = np.linspace(20000, 26000, 6)
    par = render_batch(alpha, beta, env, gamma=gammas, tracts=tracts)
    ser = render_batch(alpha, beta, env, gamma=gammas, tracts=tracts, parallel=False)
    np.testing.assert_array_equal(par, ser)
    one = render(alpha[4], beta[4], env[4], gamma=gammas[4], tract=tracts[4])
    np.testing.assert_allclose(par[4], one, rtol=0, atol=1e-12 * np.abs(one).max())


def test_blown_up_song_is_reported_not_its_neighbours():
    alpha, beta, env = _songs(4, 400)
    alpha[2] = -1000.0
    with pytest.raises(SongnetError, match="alpha=-1000"):
        render_batch(alpha, beta, env)


def test_cavity_transition_matches_matrix_exponential_series():
    dt = 1 / (SR * 20)
    phi, gam = cavity_transition(Tract(), dt)
    m, n = cavity_matrices(Tract())
    term = np.eye(3)
    series = np.eye(3)
    integral = np.eye(3) * dt
    for k in range(1, 12):  # Taylor series of expm(M dt) and of its integral
        term = term @ m * dt / k
        series = series + term
        integral = integral + term * dt / (k + 1)
    np.testing.assert_allclose(phi, series, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(gam, integral @ n, rtol=1e-6, atol=1e-18)


def test_tract_count_must_match():
    alpha, beta, env = _songs(2, 100)
    with pytest.raises(SongnetError, match="tracts"):
        render_batch(alpha, beta, env, tracts=[Tract()])


@settings(max_examples=25, deadline=None)
@given(alpha=st.floats(-3.0, 3.0), beta=st.floats(-3.0, 10.0), gamma=st.floats(3000.0, 80000.0),
       env=st.floats(0.0, 2.0))
def test_no_nan_or_inf_the_guard_fires_instead(alpha, beta, gamma, env):
    n = 441
    try:
        y = render(np.full(n, alpha), np.full(n, beta), np.full(n, env), gamma=gamma)
    except SongnetError as exc:
        assert "blew up" in str(exc)
    else:
        assert np.all(np.isfinite(y))


def test_gamma_per_sample_matches_the_reference_and_a_constant_one():
    from songnet.synth import render_reference

    n = 1500
    alpha = np.full(n, 0.03)
    beta = np.full(n, 1.5)
    env = np.ones(n)
    const = render(alpha, beta, env, gamma=20000.0)
    np.testing.assert_array_equal(render(alpha, beta, env, gamma=np.full(n, 20000.0)), const)
    ramp = np.geomspace(16000.0, 40000.0, n)
    fast = render(alpha, beta, env, gamma=ramp)
    ref = render_reference(alpha, beta, env, gamma=ramp)
    assert np.corrcoef(fast, ref)[0, 1] > 0.9999
    with pytest.raises(SongnetError, match="gamma of shape"):
        render(alpha, beta, env, gamma=np.full(n - 1, 20000.0))


def test_cavity_block_is_the_substep_update_composed():
    n_sub = 20
    dt = 1 / (SR * n_sub)
    phi, gam = cavity_transition(Tract(), dt)
    phin, weights = cavity_block(Tract(), n_sub)
    rng = np.random.default_rng(0)
    pt = rng.normal(size=n_sub + 1)  # P_t at the substep before the sample and during it
    c0 = rng.normal(size=3) * [1e-6, 1e-2, 1e-6]
    c = c0.copy()
    for m in range(n_sub):
        c = phi @ c + gam[:, 0] * pt[m + 1] + gam[:, 1] * (pt[m + 1] - pt[m]) / dt
    block = phin @ c0 + weights[:, :n_sub + 1] @ pt
    np.testing.assert_allclose(block, c, rtol=1e-9, atol=1e-12 * np.abs(c).max())
    assert weights.shape[1] % 8 == 0 and not weights[:, n_sub + 1:].any()


@pytest.mark.parametrize(("tract", "n_sub"), [(Tract(), 20), (Tract(length_cm=0.3), 20),
                                              (Tract(length_cm=4.0, reflection=0.3), 8)])
def test_matches_the_reference_on_a_wide_sweep_with_varying_gamma(tract, n_sub):
    """A 2.5x pitch sweep driven by β and γ(t) together, a steady note and a trill-like
    gated sweep: the compiled path against the NumPy RK4 reference (a short delay line,
    shorter than a sample's substeps, and a coarser scheme too)."""
    from songnet.song.track import steady_pitch
    from songnet.synth import render_reference

    n = 1800
    ramp = np.linspace(0.0, 1.0, n)
    alpha = np.full((3, n), 0.03)
    beta = np.stack([1.0 + 3.0 * ramp, np.full(n, 2.0), 4.0 - 3.0 * (10 * ramp % 1.0)])
    gamma = np.stack([np.geomspace(16000.0, 40000.0, n), np.full(n, 24000.0),
                      np.full(n, 30000.0)])
    env = np.stack([np.ones(n), np.ones(n), np.sin(np.pi * 10 * ramp) ** 2])
    fast = render_batch(alpha, beta, env, gamma=gamma, tracts=tract, n_sub=n_sub)
    ref = render_reference(alpha, beta, env, gamma=gamma, tract=tract, n_sub=n_sub)
    for f, r in zip(fast, ref, strict=True):
        assert np.corrcoef(f, r)[0, 1] > 0.999999
        # the cavity's exact step differs from the reference's RK4 by its O(dt^4) error
        tol = 1e-6 if n_sub == 20 else 1e-5
        np.testing.assert_allclose(f, r, rtol=0, atol=tol * np.abs(r).max())
    cents = 1200 * np.log2(steady_pitch(fast[1, n // 2:], sr=SR)
                           / steady_pitch(ref[1, n // 2:], sr=SR))
    assert abs(cents) < 1.0


def test_a_blown_up_song_is_zeroed_from_there_and_its_neighbours_are_untouched():
    from songnet.synth import integrate

    alpha, beta, env = _songs(3, 2000)
    alpha[1, 700:] = -1000.0
    gamma = np.full((3, 2000), 24000.0)
    phin, weights = cavity_block(Tract(), 20)
    out = np.zeros((3, 2000))
    status = np.full(3, -1)
    integrate._integrate_lanes(alpha, beta, env, gamma, 20, np.full(3, Tract().delay_substeps(20)),
                               np.full(3, 0.1), np.repeat(phin[None], 3, 0),
                               np.repeat(0.9 * weights[None], 3, 0), np.full(3, 5e6 / 300), out,
                               status, 0, 3)
    assert status[1] >= 700 and status[0] == status[2] == -1
    assert not out[1, status[1]:].any() and np.all(np.isfinite(out))
    clean = render_batch(alpha[[0, 2]], beta[[0, 2]], env[[0, 2]])
    np.testing.assert_allclose(out[[0, 2]], clean, rtol=0, atol=1e-12 * np.abs(clean).max())
