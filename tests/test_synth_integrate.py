"""The compiled batched integrator: batching, threads, and no NaN anywhere."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from songnet.core.errors import SongnetError
from songnet.synth import SR, Tract, render, render_batch
from songnet.synth.integrate import cavity_transition
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
