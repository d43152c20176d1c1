"""The syrinx model's equations: NumPy reference vs compiled path, silence, the guard."""

from __future__ import annotations

import numpy as np
import pytest

from songnet.core.errors import SongnetError
from songnet.synth import SR, Tract, render, render_reference
from songnet.synth.model import ALPHA_SILENT, BETA_SILENT, cavity_matrices


def _ramp(n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    t = np.arange(n) / SR
    return np.full(n, 0.03), 1.0 + 2.0 * t / t[-1], np.minimum(1.0, t / 0.003)


def test_reference_and_compiled_paths_agree():
    alpha, beta, env = _ramp(int(0.02 * SR))
    ref = render_reference(alpha, beta, env)
    fast = render(alpha, beta, env)
    assert np.corrcoef(ref, fast)[0, 1] > 0.99999
    assert np.max(np.abs(ref - fast)) < 1e-5 * np.max(np.abs(ref))


def test_reference_is_batched_like_single_songs():
    alpha, beta, env = _ramp(200)
    batch = render_reference(np.stack([alpha, alpha]), np.stack([beta, beta * 1.1]),
                             np.stack([env, env]))
    np.testing.assert_allclose(batch[0], render_reference(alpha, beta, env))
    assert not np.allclose(batch[0], batch[1])


def test_silence_parameters_give_silence():
    n = int(0.1 * SR)
    y = render(np.full(n, ALPHA_SILENT), np.full(n, BETA_SILENT), np.ones(n))
    loud = render(np.full(n, 0.03), np.full(n, 1.5), np.ones(n))
    tail = slice(n // 2, None)
    assert np.max(np.abs(y[tail])) < 1e-6 * np.max(np.abs(loud[tail]))


def test_zero_envelope_is_silent():
    n = 2000
    y = render(np.full(n, 0.03), np.full(n, 1.5), np.zeros(n))
    assert np.all(y == 0)


def test_guard_names_the_parameters():
    n = 500
    with pytest.raises(SongnetError, match=r"blew up .*alpha=-1000.*beta=.*gamma=24000"):
        render(np.full(n, -1000.0), np.full(n, 1.0), np.ones(n))
    with pytest.raises(SongnetError, match="blew up"):
        render_reference(np.full(n, -1000.0), np.full(n, 1.0), np.ones(n))


@pytest.mark.parametrize(("bad", "message"), [
    (dict(alpha=np.full(10, np.nan)), r"^alpha contains NaN or inf"),
    (dict(beta=np.ones(9)), r"must have one shape, got \(10,\), \(9,\), \(10,\)"),
    (dict(gamma=-1.0), r"^gamma=-1\.0 must be a positive number"),
    (dict(alpha=np.float64(0.1)), r"^alpha must be a time series"),
])
def test_bad_inputs_are_named(bad, message):
    kw = dict(alpha=np.full(10, 0.03), beta=np.ones(10), envelope=np.ones(10), gamma=24000.0)
    kw.update(bad)
    with pytest.raises(SongnetError, match=message):
        render(kw["alpha"], kw["beta"], kw["envelope"], gamma=kw["gamma"])


def test_tract_validation_and_delay():
    assert Tract().delay_substeps(20) == round(3.5 / 35000 * SR * 20)
    with pytest.raises(SongnetError, match="reflection"):
        Tract(reflection=1.5)
    with pytest.raises(SongnetError, match="length_cm"):
        Tract(length_cm=0.0)


def test_cavity_is_a_stable_resonator_near_4_khz():
    m, _ = cavity_matrices(Tract())
    eig = np.linalg.eigvals(m)
    assert np.all(eig.real < 0)
    resonance_hz = np.max(np.abs(eig.imag)) / (2 * np.pi)
    assert 3000 < resonance_hz < 4500
