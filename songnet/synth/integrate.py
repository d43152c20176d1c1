"""The compiled, batched integrator of the full syrinx model (the fast path).

Same equations and substep scheme as :func:`songnet.synth.model.render_reference`, with
differences that cost no accuracy worth measuring:

* the loops are compiled with numba; :data:`LANES` songs run in lockstep (SIMD across the
  songs), and a batch's groups of songs run in parallel threads;
* the source keeps classical RK4, written in substep units (``v = y·dt``, step 1), the same
  arithmetic up to rounding;
* the cavity, being linear with its input held over a substep, advances by its exact
  one-substep transition (zero-order hold, ``expm(M·dt)``) instead of RK4, composed over
  each output sample's substeps into one step (:func:`cavity_block`) that reads the
  trachea's pressure straight from the delay line.

``benchmarks/synth.py`` measures the agreement with the NumPy reference (F0 and waveform
correlation) and the speed."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numba
import numpy as np

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

__all__ = ["cavity_block", "cavity_transition", "render", "render_batch", "render_gesture"]


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
    e = _expm(aug)
    return np.ascontiguousarray(e[:3, :3]), np.ascontiguousarray(e[:3, 3:])


_FAST = {"contract", "arcp", "nsz", "reassoc"}  # no nnan/ninf: the guard must see NaN
LANES = 16
"""Songs integrated in lockstep per thread (independent chains keep the SIMD pipelines full)."""
BLOCK = 16
"""Output samples the source runs ahead before the trachea and cavity catch up."""
TAP_PAD = 8
"""The cavity's weights are zero-padded to a multiple of this (whole SIMD vectors)."""


def _expm(a: np.ndarray) -> np.ndarray:
    """Matrix exponential of a small matrix: Taylor series after scaling, then squaring.

    (scipy.linalg.expm gives the same to 1e-13 but wakes BLAS threads, which took
    milliseconds a call on a busy host, as long as a short song's integration.)
    """
    norm = np.abs(a).sum(axis=1).max()
    squarings = max(0, int(np.ceil(np.log2(norm))) + 1) if norm > 0 else 0
    b = a / 2.0 ** squarings  # norm at most 1/2: 20 terms leave < 1e-25
    term = np.eye(a.shape[0])
    out = term.copy()
    for k in range(1, 21):
        term = term @ b / k
        out += term
    for _ in range(squarings):
        out = out @ out
    return out


def cavity_block(tract: Tract, n_sub: int) -> tuple[np.ndarray, np.ndarray]:
    """The cavity over one output sample's ``n_sub`` substeps, as one exact linear step.

    Composes :func:`cavity_transition`'s substep update ``n_sub`` times (``P_t'`` is the
    backward difference over one substep), so the state after the sample is
    ``Φⁿ i + Σ_m w_m P_t(k₀ − 1 + m)`` over the transmitted pressure ``P_t`` at the
    sample's substeps and the one before. Same map as stepping substep by substep, with
    its terms regrouped.

    Returns
    -------
    phin : np.ndarray [shape=(3, 3)]
    weights : np.ndarray [shape=(3, n_taps)]
        ``weights[:, m]`` multiplies ``P_t(k₀ − 1 + m)``; columns past ``n_sub + 1`` are
        zero (padding to a multiple of :data:`TAP_PAD`).
    """
    dt = 1.0 / (SR * n_sub)
    phi, gam = cavity_transition(tract, dt)
    drive = np.zeros((3, n_sub + 1))  # state after m substeps, per unit input at each tap
    for m in range(n_sub):
        drive = phi @ drive
        drive[:, m + 1] += gam[:, 0] + gam[:, 1] / dt
        drive[:, m] -= gam[:, 1] / dt
    n_taps = -(-(n_sub + 1) // TAP_PAD) * TAP_PAD
    weights = np.zeros((3, n_taps))
    weights[:, :n_sub + 1] = drive
    return np.linalg.matrix_power(phi, n_sub), weights


@numba.njit(cache=True, fastmath=_FAST, nogil=True, inline="always")
def _accel(x, v, pa, pb, g2, g):
    """dv/dk of the labial normal form in substep units (``v = y·dt``, ``g = γ·dt``,
    ``pa = −α·g²``, ``pb = −β·g²``): the vector field every RK4 stage evaluates."""
    return pa + x * (pb + x * (g2 - g2 * x)) - g * v * (x + x * x)


@numba.njit(cache=True, fastmath=_FAST, nogil=True)
def _integrate_lanes(alpha, beta, env, gamma, n_sub, delay, r, phin, weights, gain, out,
                     status, lo, hi):
    """Integrate songs ``lo:hi`` of the batch (B, n) in lockstep into ``out[lo:hi]``.

    ``gamma`` is (B, n): γ per song and output sample (held over the sample's substeps,
    like α and β). ``phin`` (B, 3, 3) and ``weights`` (B, 3, n_taps) are each song's
    :func:`cavity_block`, the weights already scaled by the trachea's transmission 1 − r.
    ``status[j]`` becomes the sample index where song j left the sane range (else stays
    -1); a song that blew up is zeroed from there on, the others carry on.

    Per block of :data:`BLOCK` samples: the source (RK4, SIMD across the songs) writes
    ``0.5·A·y`` at every substep into each song's delay line ``line[j]``; the delay line
    then adds its reflection in place (``p_in(k) = 0.5·A·y(k) − r·p_in(k − 2T)``, in pieces
    no longer than 2T so that no piece reads what it writes); the cavity steps once per
    sample on ``P_t(k) = (1 − r)·p_in(k − T)``, read straight from the line.
    """
    n_lanes = hi - lo
    n = alpha.shape[1]
    dt = 1.0 / (SR * n_sub)
    x = np.zeros(n_lanes)
    v = np.zeros(n_lanes)  # labial velocity in substep units, y·dt
    pa = np.empty(n_lanes)
    pb = np.empty(n_lanes)
    g = np.empty(n_lanes)
    g2 = np.empty(n_lanes)
    half_amp = np.empty(n_lanes)
    live = np.ones(n_lanes)  # 0 for a lane that blew up: it stays at rest
    cav = np.zeros((n_lanes, 3))
    n_taps = weights.shape[2]
    span = BLOCK * n_sub
    hist = 2 * delay[lo:hi].max() + n_taps  # what the next block reads from before its start
    line = np.zeros((n_lanes, 2 * hist + 8 * span + n_taps))  # p_in per substep
    pos = hist  # line[:, pos] is the block's first substep
    sixth = 1.0 / 6.0
    for i0 in range(0, n, BLOCK):
        i1 = min(i0 + BLOCK, n)
        kb = (i1 - i0) * n_sub
        if pos + kb + n_taps > line.shape[1]:
            line[:, :hist] = line[:, pos - hist:pos]
            pos = hist
        for i in range(i0, i1):
            for j in range(n_lanes):
                gg = gamma[lo + j, i] * dt * live[j]
                g[j] = gg
                g2[j] = gg * gg
                pa[j] = -gg * gg * alpha[lo + j, i]
                pb[j] = -gg * gg * beta[lo + j, i]
                half_amp[j] = 0.5 * env[lo + j, i] / dt
            k0 = pos + (i - i0) * n_sub
            for m in range(n_sub):  # source: one RK4 step (h = 1 substep) per substep
                k = k0 + m
                for j in range(n_lanes):
                    xx = x[j]
                    vv = v[j]
                    k1 = _accel(xx, vv, pa[j], pb[j], g2[j], g[j])
                    v2 = vv + 0.5 * k1
                    k2 = _accel(xx + 0.5 * vv, v2, pa[j], pb[j], g2[j], g[j])
                    v3 = vv + 0.5 * k2
                    k3 = _accel(xx + 0.5 * v2, v3, pa[j], pb[j], g2[j], g[j])
                    k4 = _accel(xx + v3, vv + k3, pa[j], pb[j], g2[j], g[j])
                    k23 = k2 + k3
                    x[j] = xx + vv + (k1 + k23) * sixth
                    vv = vv + (k1 + k4 + 2.0 * k23) * sixth
                    v[j] = vv
                    line[j, k] = half_amp[j] * vv
            for j in range(n_lanes):
                vlim = Y_LIMIT * dt * gamma[lo + j, i] / GAMMA
                if status[lo + j] < 0 and not (abs(x[j]) <= X_LIMIT and abs(v[j]) <= vlim):
                    status[lo + j] = i  # (the test also catches NaN)
                    x[j] = 0.0
                    v[j] = 0.0
                    live[j] = 0.0
        for j in range(n_lanes):  # trachea: the reflection, in place
            d2 = 2 * delay[lo + j]
            rj = r[lo + j]
            row = line[j]
            for s0 in range(0, kb, d2):
                ln = min(d2, kb - s0)
                # slices, not row[pos + s0 + k]: a possibly negative index costs a
                # wrap-around test per element and stops SIMD
                dst = row[pos + s0:pos + s0 + ln]
                src = row[pos + s0 - d2:pos + s0 - d2 + ln]
                for k in range(ln):
                    dst[k] -= rj * src[k]
        for j in range(n_lanes):  # cavity: one exact step per output sample
            u1, u2, u3 = cav[j, 0], cav[j, 1], cav[j, 2]
            row = line[j]
            w0, w1, w2 = weights[lo + j, 0], weights[lo + j, 1], weights[lo + j, 2]
            p = phin[lo + j]
            base = pos - 1 - delay[lo + j]
            for i in range(i0, i1):
                k0 = base + (i - i0) * n_sub
                seg = row[k0:k0 + n_taps]
                n1 = 0.0
                n2 = 0.0
                n3 = 0.0
                for m in range(n_taps):
                    n1 += w0[m] * seg[m]
                    n2 += w1[m] * seg[m]
                    n3 += w2[m] * seg[m]
                t1 = n1 + p[0, 0] * u1 + p[0, 1] * u2 + p[0, 2] * u3
                t2 = n2 + p[1, 0] * u1 + p[1, 1] * u2 + p[1, 2] * u3
                u3 = n3 + p[2, 0] * u1 + p[2, 1] * u2 + p[2, 2] * u3
                u1 = t1
                u2 = t2
                out[lo + j, i] = gain[lo + j] * u3
            cav[j, 0], cav[j, 1], cav[j, 2] = u1, u2, u3
        pos += kb
        for j in range(n_lanes):
            if i0 <= status[lo + j] < i1:
                out[lo + j, status[lo + j]:i1] = 0.0
                line[j, :] = 0.0
                cav[j, :] = 0.0


@numba.njit(cache=True, parallel=True, nogil=True)
def _integrate_batch(alpha, beta, env, gamma, n_sub, delay, r, phin, weights, gain, out,
                     status):
    n_groups = (alpha.shape[0] + LANES - 1) // LANES
    for grp in numba.prange(n_groups):
        lo = grp * LANES
        _integrate_lanes(alpha, beta, env, gamma, n_sub, delay, r, phin, weights, gain, out,
                         status, lo, min(lo + LANES, alpha.shape[0]))


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
    cache: dict[Tract, tuple[np.ndarray, np.ndarray]] = {}
    for t in tract_list:
        if t not in cache:
            phin_t, weights_t = cavity_block(t, n_sub)
            cache[t] = phin_t, weights_t * (1.0 - t.reflection)  # P_t = (1 − r)·p_in(k − T)
    phin = np.stack([cache[t][0] for t in tract_list])      # (B, 3, 3)
    weights = np.stack([cache[t][1] for t in tract_list])   # (B, 3, n_taps)
    delay = np.array([t.delay_substeps(n_sub) for t in tract_list], dtype=np.int64)
    refl = np.array([t.reflection for t in tract_list])
    gain = np.array([OUTPUT_GAIN * t.rb for t in tract_list])
    out = np.zeros(alpha_b.shape)
    status = np.full(n_songs, -1, dtype=np.int64)
    if parallel:
        _integrate_batch(alpha_b, beta_b, env_b, gamma_t, n_sub, delay, refl, phin, weights,
                         gain, out, status)
    else:
        for lo in range(0, n_songs, LANES):
            _integrate_lanes(alpha_b, beta_b, env_b, gamma_t, n_sub, delay, refl, phin, weights,
                             gain, out, status, lo, min(lo + LANES, n_songs))
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
