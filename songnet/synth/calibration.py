"""Pitch calibration: the model's own F0(β) curve, cached, and its inverse.

The curve is computed by the model (full model, reference accuracy) at α =
:data:`~songnet.synth.model.ALPHA_SOUND` and γ = :data:`~songnet.synth.model.GAMMA`, and
shipped as ``songnet/synth/calibration.csv``; :func:`regenerate` rebuilds it. Since F0
scales linearly with γ, one curve serves every γ::

    F0(β, γ) = F0(β, γ0) · γ / γ0
"""

from __future__ import annotations

import functools
import io
import os
from pathlib import Path
from typing import Any

import numpy as np

from songnet.core.errors import SongnetError
from songnet.song.track import steady_pitch
from songnet.synth.model import ALPHA_SOUND, GAMMA, SR

__all__ = [
    "CALIBRATION_PATH",
    "beta_for_f0",
    "calibration_curve",
    "compute_curve",
    "f0_for_beta",
    "f0_range",
    "harmonic_level_db",
    "level_for_beta",
    "level_for_beta_gamma",
    "regenerate",
]

CALIBRATION_PATH = Path(__file__).with_name("calibration.csv")
DEFAULT_BETAS = np.round(np.geomspace(0.3, 6.0, 48), 4)


def harmonic_level_db(y: np.ndarray, *, sr: int = SR, n_fft: int = 1024,
                      fmin: float = 2000.0, fmax: float = 9000.0,
                      voiced_db: float = 20.0) -> float:
    """Level of the 2nd harmonic relative to the fundamental (dB), median over frames.

    Frames of ``n_fft`` samples (Hann, hop ``n_fft/2``); in each, the fundamental is the
    strongest peak in ``[fmin, fmax]`` and the 2nd harmonic the strongest bin within ±4 %
    of twice its frequency. Only frames whose fundamental is within ``voiced_db`` of the
    loudest frame count (the notes, not the gaps).

    Returns
    -------
    float
        Median ``20·log10(|H2| / |H1|)`` in dB (negative), NaN if no frame qualifies.
    """
    y = np.asarray(y, dtype=np.float64)
    if y.size < n_fft:
        y = np.pad(y, (0, n_fft - y.size))
    hop = n_fft // 2
    frames = np.lib.stride_tricks.sliding_window_view(y, n_fft)[::hop]
    spec = np.abs(np.fft.rfft(frames * np.hanning(n_fft), axis=1))
    freqs = np.fft.rfftfreq(n_fft, 1 / sr)
    band = (freqs >= fmin) & (freqs <= fmax)
    k1 = np.flatnonzero(band)[np.argmax(spec[:, band], axis=1)]
    h1 = spec[np.arange(spec.shape[0]), k1]
    if not h1.max() > 0:
        return float("nan")  # silence
    voiced = h1 >= h1.max() * 10 ** (-voiced_db / 20)
    levels = []
    for i in np.flatnonzero(voiced):
        f2 = 2 * freqs[k1[i]]
        if f2 >= sr / 2 * 0.95:
            continue
        near = np.abs(freqs - f2) <= 0.04 * f2 + freqs[1]
        levels.append(20 * np.log10(max(spec[i, near].max(), 1e-20) / h1[i]))
    return float(np.median(levels)) if levels else float("nan")


def compute_curve(betas: np.ndarray = DEFAULT_BETAS, *, alpha: float = ALPHA_SOUND,
                  gamma: float = GAMMA, duration_s: float = 0.3) -> np.ndarray:
    """Run the model at constant α, β and measure F0 on the second half of each note.

    Returns
    -------
    np.ndarray [shape=(len(betas), 3)]
        Columns β, F0 (Hz; NaN where the model is silent) and the output's RMS level at
        envelope 1.
    """
    from songnet.synth.integrate import render_batch

    betas = np.asarray(betas, dtype=np.float64)
    n = round(duration_s * SR)
    shape = (betas.size, n)
    out = render_batch(np.full(shape, alpha), np.repeat(betas[:, None], n, axis=1),
                       np.ones(shape), gamma=gamma)
    f0 = np.array([steady_pitch(o[n // 2:], sr=SR) for o in out])
    level = np.sqrt(np.mean(out[:, n // 2:] ** 2, axis=1))
    return np.column_stack([betas, f0, level])


def regenerate(path: str | os.PathLike = CALIBRATION_PATH, *,
               betas: np.ndarray = DEFAULT_BETAS) -> Path:
    """Recompute the calibration curve and write it to ``path`` (CSV, ``beta,f0_hz``)."""
    curve = compute_curve(betas)
    curve = curve[np.isfinite(curve[:, 1])]
    buf = io.StringIO()
    buf.write(f"# syrinx model F0(beta) at alpha={ALPHA_SOUND}, gamma={GAMMA:g}; "
              "made by songnet.synth.calibration.regenerate()\n")
    np.savetxt(buf, curve, fmt=["%.4f", "%.3f", "%.6g"], delimiter=",", header="beta,f0_hz,level",
               comments="")
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(buf.getvalue(), encoding="utf-8")
    os.replace(tmp, path)
    calibration_curve.cache_clear()
    return path


@functools.cache
def calibration_curve() -> tuple[np.ndarray, np.ndarray]:
    """The cached curve ``(beta, f0_hz, level)`` at γ0, F0 strictly increasing."""
    data = np.loadtxt(CALIBRATION_PATH, delimiter=",", comments="#", skiprows=2)
    beta, f0, level = data[:, 0], data[:, 1], data[:, 2]
    if not np.all(np.diff(f0) > 0):
        raise SongnetError(f"{CALIBRATION_PATH}: F0 is not increasing with beta; "
                           "rebuild it with songnet.synth.calibration.regenerate()")
    return beta, f0, level


def f0_range(*, gamma: float | np.ndarray = GAMMA) -> tuple[Any, Any]:
    """The lowest and highest F0 (Hz) the calibrated β range reaches at ``gamma``.

    Floats for a number ``gamma``; arrays shaped like ``gamma`` for one γ per sample.
    """
    _, f0, _ = calibration_curve()
    g = np.asarray(gamma, dtype=np.float64)
    if g.ndim:
        return f0[0] * g / GAMMA, f0[-1] * g / GAMMA
    return float(f0[0] * g / GAMMA), float(f0[-1] * g / GAMMA)


def f0_for_beta(beta: float | np.ndarray, *, gamma: float | np.ndarray = GAMMA) -> np.ndarray:
    """F0 (Hz) of the model at tension ``beta`` (α = ALPHA_SOUND), interpolated.

    Parameters
    ----------
    beta : float or np.ndarray
        Within the calibrated range (see :func:`calibration_curve`).
    gamma : float
        Time-scale constant γ (1/s).

    Returns
    -------
    np.ndarray [shape like ``beta``]
    """
    b, f0, _ = calibration_curve()
    beta = np.asarray(beta, dtype=np.float64)
    if np.any(beta < b[0]) or np.any(beta > b[-1]):
        raise SongnetError(f"beta={_first_outside(beta, b[0], b[-1]):.4g} lies outside the "
                           f"calibrated range [{b[0]:.4g}, {b[-1]:.4g}]")
    return np.interp(np.log(beta), np.log(b), f0) * (gamma / GAMMA)


def beta_for_f0(f0_hz: float | np.ndarray, *, gamma: float | np.ndarray = GAMMA) -> np.ndarray:
    """The tension β that makes the model sing ``f0_hz`` (the calibration inverted).

    Parameters
    ----------
    f0_hz : float or np.ndarray
        Wanted pitch in Hz.
    gamma : float or np.ndarray [shape like ``f0_hz``]
        Time-scale constant γ (1/s), or one per pitch.

    Returns
    -------
    np.ndarray [shape like ``f0_hz``]

    Raises
    ------
    SongnetError
        A pitch the model cannot reach at this γ (the message gives the reachable range).
    """
    b, f0, _ = calibration_curve()
    wanted = np.asarray(f0_hz, dtype=np.float64)
    g = np.asarray(gamma, dtype=np.float64)
    f = wanted * (GAMMA / g)
    out = ~(np.isfinite(f) & (f >= f0[0]) & (f <= f0[-1]))
    if np.any(out):
        k = int(np.flatnonzero(np.ravel(out))[0])
        gk = float(np.ravel(np.broadcast_to(g, f.shape))[k])
        lo, hi = f0_range(gamma=gk)
        raise SongnetError(f"pitch {float(np.ravel(wanted * np.ones_like(f))[k]):.1f} Hz "
                           f"cannot be reached by the model at gamma={gk:.6g} (reachable "
                           f"{lo:.0f}–{hi:.0f} Hz); choose a pitch in that range or change "
                           "gamma")
    return np.exp(np.interp(f, f0, np.log(b)))


def level_for_beta(beta: float | np.ndarray) -> np.ndarray:
    """RMS output level of a steady note at tension ``beta`` and envelope 1 (at γ0)."""
    b, _, level = calibration_curve()
    beta = np.clip(np.asarray(beta, dtype=np.float64), b[0], b[-1])
    return np.exp(np.interp(np.log(beta), np.log(b), np.log(level)))


LEVEL_BETAS = np.geomspace(0.8, 6.0, 10)
LEVEL_GAMMAS = np.geomspace(8000.0, 64000.0, 10)


@functools.cache
def _level_table() -> np.ndarray:
    """log RMS level of steady notes over (β, γ) grids: ``(len(LEVEL_BETAS), len(LEVEL_GAMMAS))``.

    Computed by the model on first use (about 10 s of song, well under a second).
    """
    from songnet.synth.integrate import render_batch

    n = round(0.08 * SR)
    bb, gg = np.meshgrid(LEVEL_BETAS, LEVEL_GAMMAS, indexing="ij")
    shape = (bb.size, n)
    out = render_batch(np.full(shape, ALPHA_SOUND), np.repeat(bb.reshape(-1, 1), n, axis=1),
                       np.ones(shape), gamma=gg.ravel())
    level = np.sqrt(np.mean(out[:, n // 2:] ** 2, axis=1))
    return np.log(np.maximum(level, 1e-12)).reshape(bb.shape)


def level_for_beta_gamma(beta: float | np.ndarray, gamma: float | np.ndarray) -> np.ndarray:
    """RMS output level of a steady note at tension ``beta`` and γ ``gamma`` (envelope 1).

    The level depends on γ mostly through the pitch: the trachea and the cavity pass
    some frequencies better (a steady note at β = 1.15 is 8 times quieter at γ = 48000
    than at 24000). Bilinear in (log β, log γ) over a table the model computes once.
    """
    table = _level_table()
    lb = np.log(np.clip(np.asarray(beta, dtype=np.float64), LEVEL_BETAS[0], LEVEL_BETAS[-1]))
    lg = np.log(np.clip(np.asarray(gamma, dtype=np.float64), LEVEL_GAMMAS[0],
                        LEVEL_GAMMAS[-1]))
    lb, lg = np.broadcast_arrays(lb, lg)
    xb = np.interp(lb, np.log(LEVEL_BETAS), np.arange(LEVEL_BETAS.size))
    xg = np.interp(lg, np.log(LEVEL_GAMMAS), np.arange(LEVEL_GAMMAS.size))
    i = np.minimum(xb.astype(int), LEVEL_BETAS.size - 2)
    j = np.minimum(xg.astype(int), LEVEL_GAMMAS.size - 2)
    u, v = xb - i, xg - j
    z = ((1 - u) * (1 - v) * table[i, j] + u * (1 - v) * table[i + 1, j]
         + (1 - u) * v * table[i, j + 1] + u * v * table[i + 1, j + 1])
    return np.exp(z)


def _first_outside(values: np.ndarray, lo: float, hi: float) -> float:
    flat = np.atleast_1d(values).ravel()
    bad = flat[~((flat >= lo) & (flat <= hi))]
    return float(bad[0]) if bad.size else float(flat[0])
