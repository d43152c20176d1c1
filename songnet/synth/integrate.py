"""The compiled, batched integrator of the full syrinx model (the fast path).

Same equations and substep scheme as :func:`songnet.synth.model.render_reference`, with
two differences that cost no accuracy worth measuring:

* the loops are compiled with numba, and a batch of songs runs in parallel threads;
* the cavity, being linear with its input held over a substep, advances by its exact
  one-substep transition matrix (zero-order hold, ``expm(M·dt)``) instead of RK4.

The source keeps classical RK4. ``benchmarks/synth.py`` measures the agreement with the
NumPy reference (F0 and waveform correlation) and the speed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numba
import numpy as np
import scipy.linalg

from songnet.core.errors import SongnetError
from songnet.synth.model import (
    DEFAULT_TRACT,
    GAMMA,
    OUTPUT_GAIN,
    REFERENCE_SUBSTEPS,
    SR,
    X_LIMIT,
    Y_LIMIT,
    Tract,
    _blowup_message,
    cavity_matrices,
    check_inputs,
)

__all__ = ["cavity_transition", "render", "render_batch", "render_gesture"]


def cavity_transition(tract: Tract, dt: float) -> tuple[np.ndarray, np.ndarray]:
    """Exact one-step update of the cavity with its input held: ``i ← Φ i + Γ u``.

    Returns
    -------
    phi : np.ndarray [shape=(3, 3)]
    gam : np.ndarray [shape=(3, 2)]
    """
    m, n = cavity_matrices(tract)
    # Augmented matrix exponential gives Φ and Γ = ∫ expm(M s) ds · N in one go.
    aug = np.zeros((5, 5))
    aug[:3, :3] = m * dt
    aug[:3, 3:] = n * dt
    e = scipy.linalg.expm(aug)
    return np.ascontiguousarray(e[:3, :3]), np.ascontiguousarray(e[:3, 3:])


_FAST = {"contract", "arcp", "nsz", "reassoc"}  # no nnan/ninf: the guard must see NaN
LANES = 8
"""Songs integrated in lockstep per thread (independent chains keep the CPU's pipelines full)."""


@numba.njit(cache=True, fastmath=_FAST, nogil=True, inline="always")
def _accel(x, y, a, b, g, g2):
    """y' of the labial normal form (the one vector field every RK4 stage evaluates)."""
    return g2 * (-a - b * x + x * x - x * x * x) - g * x * y * (1.0 + x)


@numba.njit(cache=True, fastmath=_FAST, nogil=True)
def _integrate_lanes(alpha, beta, env, gamma, n_sub, delay, r, phi, gam, gain, out, status):
    """Integrate W songs of equal length in lockstep into ``out`` (W, n).

    ``gamma`` is (W, n): γ per song and output sample (held over the sample's substeps,
    like α and β). ``status[j]`` becomes the sample index where song j left the sane range
    (else stays -1); a song that blew up is zeroed from there on, the others carry on.
    """
    n_lanes, n = alpha.shape
    dt = 1.0 / (SR * n_sub)
    h2 = 0.5 * dt
    h6 = dt / 6.0
    inv_dt = 1.0 / dt
    x = np.zeros(n_lanes)
    y = np.zeros(n_lanes)
    c1 = np.zeros(n_lanes)
    c2 = np.zeros(n_lanes)
    c3 = np.zeros(n_lanes)
    pt_prev = np.zeros(n_lanes)
    size = 2 * delay
    ring = np.zeros((n_lanes, 2 * delay.max()))  # p_in over the last 2·delay substeps
    slot = np.zeros(n_lanes, dtype=np.int64)      # ring[slot]: p_in(k − 2·delay)
    back = delay.copy()                           # ring[back]: p_in(k − delay)
    live = np.ones(n_lanes)  # 0 for a lane that blew up: it stays at rest
    a = np.empty(n_lanes)
    b = np.empty(n_lanes)
    g = np.empty(n_lanes)
    g2 = np.empty(n_lanes)
    half_amp = np.empty(n_lanes)
    for i in range(n):
        for j in range(n_lanes):
            a[j] = alpha[j, i]
            b[j] = beta[j, i]
            g[j] = gamma[j, i] * live[j]
            g2[j] = g[j] * g[j]
            half_amp[j] = 0.5 * env[j, i]
        for _ in range(n_sub):
            for j in range(n_lanes):  # source: one RK4 step
                xx = x[j]
                yy = y[j]
                aa = a[j]
                bb = b[j]
                gg = g[j]
                gg2 = g2[j]
                k1x = yy
                k1y = _accel(xx, yy, aa, bb, gg, gg2)
                xa = xx + h2 * k1x
                ya = yy + h2 * k1y
                k2x = ya
                k2y = _accel(xa, ya, aa, bb, gg, gg2)
                xa = xx + h2 * k2x
                ya = yy + h2 * k2y
                k3x = ya
                k3y = _accel(xa, ya, aa, bb, gg, gg2)
                xa = xx + dt * k3x
                ya = yy + dt * k3y
                k4x = ya
                k4y = _accel(xa, ya, aa, bb, gg, gg2)
                x[j] = xx + h6 * (k1x + 2.0 * k2x + 2.0 * k3x + k4x)
                y[j] = yy + h6 * (k1y + 2.0 * k2y + 2.0 * k3y + k4y)
            for j in range(n_lanes):  # trachea delay line, then the cavity's exact step
                s = slot[j]
                bk = back[j]
                pt = (1.0 - r[j]) * ring[j, bk]
                ring[j, s] = half_amp[j] * y[j] - r[j] * ring[j, s]
                s += 1
                bk += 1
                slot[j] = 0 if s == size[j] else s
                back[j] = 0 if bk == size[j] else bk
                dpt = (pt - pt_prev[j]) * inv_dt
                pt_prev[j] = pt
                p = phi[j]
                q = gam[j]
                u1 = c1[j]
                u2 = c2[j]
                u3 = c3[j]
                c1[j] = p[0, 0] * u1 + p[0, 1] * u2 + p[0, 2] * u3 + q[0, 0] * pt + q[0, 1] * dpt
                c2[j] = p[1, 0] * u1 + p[1, 1] * u2 + p[1, 2] * u3 + q[1, 0] * pt + q[1, 1] * dpt
                c3[j] = p[2, 0] * u1 + p[2, 1] * u2 + p[2, 2] * u3 + q[2, 0] * pt + q[2, 1] * dpt
        for j in range(n_lanes):
            if status[j] >= 0:
                continue
            ylim = Y_LIMIT * gamma[j, i] / GAMMA
            if not (abs(x[j]) <= X_LIMIT and abs(y[j]) <= ylim):  # also catches NaN
                status[j] = i
                x[j] = 0.0
                y[j] = 0.0
                c1[j] = 0.0
                c2[j] = 0.0
                c3[j] = 0.0
                pt_prev[j] = 0.0
                ring[j, :] = 0.0
                live[j] = 0.0
            else:
                out[j, i] = gain[j] * c3[j]


@numba.njit(cache=True, parallel=True, nogil=True)
def _integrate_batch(alpha, beta, env, gamma, n_sub, delay, r, phi, gam, gain, out, status):
    n_groups = (alpha.shape[0] + LANES - 1) // LANES
    for grp in numba.prange(n_groups):
        lo = grp * LANES
        hi = min(lo + LANES, alpha.shape[0])
        # contiguous copies: numba compiles slices as any-layout arrays, 2-3x slower to index
        out_g = np.zeros((hi - lo, alpha.shape[1]))
        status_g = np.full(hi - lo, -1, dtype=np.int64)
        _integrate_lanes(alpha[lo:hi].copy(), beta[lo:hi].copy(), env[lo:hi].copy(),
                         gamma[lo:hi].copy(), n_sub, delay[lo:hi].copy(), r[lo:hi].copy(),
                         phi[lo:hi].copy(), gam[lo:hi].copy(), gain[lo:hi].copy(), out_g,
                         status_g)
        out[lo:hi] = out_g
        status[lo:hi] = status_g


def render_batch(alpha: np.ndarray, beta: np.ndarray, envelope: np.ndarray, *,
                 gamma: float | np.ndarray = GAMMA, tracts: Tract | list[Tract] = DEFAULT_TRACT,
                 n_sub: int = REFERENCE_SUBSTEPS, parallel: bool = True) -> np.ndarray:
    """Integrate a batch of songs of equal length, in parallel threads by default.

    Parameters
    ----------
    alpha, beta, envelope : np.ndarray [shape=(B, n)]
        Gesture time series per output sample at :data:`SR`.
    gamma : float or np.ndarray [shape=(B,) or (B, n)]
        γ per song (1/s), or per song and output sample (a slowly varying γ(t): see
        :mod:`songnet.synth.gestures`, "Wide sweeps").
    tracts : Tract or list of B Tract
        Trachea and cavity constants per song.
    n_sub : int
        RK4 substeps per output sample (20 = the reference accuracy).
    parallel : bool
        Spread groups of songs over numba's threads. Pass False when calling from several
        Python threads at once (the serial kernel releases the GIL and is thread-safe).

    Returns
    -------
    np.ndarray [shape=(B, n), dtype=float64]
        Radiated pressure at :data:`SR`.

    Raises
    ------
    SongnetError
        For bad inputs, or when a song's state leaves the sane range (the message names
        the song's α, β and γ at that moment).
    """
    alpha = np.atleast_2d(np.asarray(alpha, dtype=np.float64))
    n_songs = alpha.shape[0]
    gamma = np.asarray(gamma, dtype=np.float64)
    if gamma.ndim == 2:
        if gamma.shape != alpha.shape:
            raise SongnetError(f"gamma of shape {gamma.shape} must be one value per song "
                               f"(B,) or per song and sample {alpha.shape}")
        gamma_t = np.ascontiguousarray(gamma)
    else:
        try:
            per_song = np.broadcast_to(gamma, (n_songs,))
        except ValueError:
            raise SongnetError(f"gamma of shape {gamma.shape} must be one value per song "
                               f"({n_songs},) or per song and sample {alpha.shape}") from None
        gamma_t = np.repeat(per_song[:, None], alpha.shape[1], axis=1)
    tract_list = [tracts] * n_songs if isinstance(tracts, Tract) else list(tracts)
    if len(tract_list) != n_songs:
        raise SongnetError(f"got {len(tract_list)} tracts for {n_songs} songs; pass one per song")
    if int(n_sub) != n_sub or n_sub < 1:
        raise SongnetError(f"n_sub={n_sub!r} must be a positive integer")
    n_sub = int(n_sub)
    bad_gamma = gamma_t[~(np.isfinite(gamma_t) & (gamma_t > 0))]
    alpha_b, beta_b, env_b = check_inputs(alpha, beta, envelope,
                                          float(bad_gamma[0]) if bad_gamma.size else GAMMA)
    alpha_b, beta_b, env_b = (np.ascontiguousarray(np.atleast_2d(a))
                              for a in (alpha_b, beta_b, env_b))
    dt = 1.0 / (SR * n_sub)
    cache: dict[Tract, tuple[np.ndarray, np.ndarray]] = {}
    phi = np.empty((n_songs, 3, 3))
    gam = np.empty((n_songs, 3, 2))
    for j, t in enumerate(tract_list):
        if t not in cache:
            cache[t] = cavity_transition(t, dt)
        phi[j], gam[j] = cache[t]
    delay = np.array([t.delay_substeps(n_sub) for t in tract_list], dtype=np.int64)
    refl = np.array([t.reflection for t in tract_list])
    gain = np.array([OUTPUT_GAIN * t.rb for t in tract_list])
    out = np.zeros(alpha_b.shape)
    status = np.full(n_songs, -1, dtype=np.int64)
    if parallel:
        _integrate_batch(alpha_b, beta_b, env_b, gamma_t, n_sub, delay, refl, phi, gam, gain,
                         out, status)
    else:
        for lo in range(0, n_songs, LANES):
            hi = min(lo + LANES, n_songs)
            out_g = np.zeros((hi - lo, alpha_b.shape[1]))
            status_g = np.full(hi - lo, -1, dtype=np.int64)
            _integrate_lanes(alpha_b[lo:hi].copy(), beta_b[lo:hi].copy(), env_b[lo:hi].copy(),
                             gamma_t[lo:hi].copy(), n_sub, delay[lo:hi].copy(),
                             refl[lo:hi].copy(), phi[lo:hi].copy(), gam[lo:hi].copy(),
                             gain[lo:hi].copy(), out_g, status_g)
            out[lo:hi] = out_g
            status[lo:hi] = status_g
    failed = np.flatnonzero(status >= 0)
    if failed.size:
        j = int(failed[0])
        i = int(status[j])
        raise SongnetError(_blowup_message(i, alpha_b[j, i], beta_b[j, i], gamma_t[j, i]))
    return out


def render(alpha: np.ndarray, beta: np.ndarray, envelope: np.ndarray, *,
           gamma: float | np.ndarray = GAMMA, tract: Tract = DEFAULT_TRACT,
           n_sub: int = REFERENCE_SUBSTEPS) -> np.ndarray:
    """Sing one gesture: the full model (source + trachea + cavity) at :data:`SR`.

    Parameters
    ----------
    alpha, beta, envelope : np.ndarray [shape=(n,)]
        Air-sac pressure α, syringeal tension β and trachea input amplitude A (0–1), one
        value per output sample. Silence: α = β = −0.15 (or A = 0).
    gamma : float or np.ndarray [shape=(n,)]
        Time-scale constant γ (1/s), or one per sample; F0 scales linearly with it.
    tract : Tract
        Trachea and cavity constants.
    n_sub : int
        RK4 substeps per sample (default 20, the reference accuracy).

    Returns
    -------
    np.ndarray [shape=(n,), dtype=float64]
        Radiated pressure, peak near 1 for a loud note.

    Raises
    ------
    SongnetError
        Bad inputs, or a blow-up (the message names α, β, γ and the time).
    """
    alpha, beta, envelope = check_inputs(alpha, beta, envelope, gamma)
    if alpha.ndim != 1:
        raise SongnetError(f"render takes one song of shape (n,), got {alpha.shape}; "
                           "use render_batch for several")
    gamma = np.asarray(gamma, dtype=np.float64)
    return render_batch(alpha[None], beta[None], envelope[None],
                        gamma=gamma[None] if gamma.ndim == 1 else gamma, tracts=[tract],
                        n_sub=n_sub)[0]


if TYPE_CHECKING:
    from songnet.synth.gestures import Gesture


def render_gesture(gesture: Gesture, *, tract: Tract = DEFAULT_TRACT,
                   n_sub: int = REFERENCE_SUBSTEPS) -> np.ndarray:
    """Render a :class:`songnet.synth.gestures.Gesture` with the full model; float64
    ``(n,)`` at :data:`SR`."""
    return render(gesture.alpha, gesture.beta, gesture.envelope, gamma=gesture.gamma,
                  tract=tract, n_sub=n_sub)
