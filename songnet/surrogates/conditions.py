"""Recording conditions for surrogate clips: distance, noise, wind, clutter, reverberation.

Every function is pure and draws its randomness from the ``numpy.random.Generator`` it is
given. Signals are float64 at :data:`songnet.synth.SR`.
"""

from __future__ import annotations

import numpy as np
import scipy.signal

from songnet.synth import (
    SR,
    gestures_from_contour,
    note_contour,
    render_batch,
)

__all__ = [
    "apply_distance",
    "clutter_calls",
    "coloured_noise",
    "insect_tone",
    "mix_at_snr",
    "reverberate",
    "rms",
    "wind_rumble",
]

REFERENCE_DISTANCE_M = 5.0
AIR_ABSORPTION_DB_PER_M = 0.05
"""Excess attenuation at 4 kHz (dB/m); it grows as f^1.5 (a rough fit to ISO 9613-1)."""


def rms(y: np.ndarray) -> float:
    """Root mean square of ``y``."""
    return float(np.sqrt(np.mean(np.square(y)))) if y.size else 0.0


def apply_distance(y: np.ndarray, distance_m: float, *, sr: int = SR) -> np.ndarray:
    """Spherical spreading (1/d from 5 m) and frequency-dependent air absorption.

    Parameters
    ----------
    y : np.ndarray [shape=(n,)]
    distance_m : float
        Distance from the bird (m).

    Returns
    -------
    np.ndarray [shape=(n,)]
    """
    spec = np.fft.rfft(y)
    f = np.fft.rfftfreq(y.size, 1 / sr)
    loss_db = AIR_ABSORPTION_DB_PER_M * distance_m * (f / 4000.0) ** 1.5
    spec *= 10 ** (-loss_db / 20)
    return np.fft.irfft(spec, y.size) * (REFERENCE_DISTANCE_M / max(distance_m, 1e-3))


def coloured_noise(n: int, *, exponent: float, rng: np.random.Generator) -> np.ndarray:
    """Noise with power spectrum ∝ 1/f^exponent (0 white, 1 pink, 2 brown), unit RMS."""
    spec = rng.standard_normal(n // 2 + 1) + 1j * rng.standard_normal(n // 2 + 1)
    f = np.fft.rfftfreq(n, 1 / SR)
    f[0] = f[1]
    spec *= f ** (-exponent / 2)
    y = np.fft.irfft(spec, n)
    return y / max(rms(y), 1e-12)


def wind_rumble(n: int, *, rng: np.random.Generator, sr: int = SR) -> np.ndarray:
    """Wind-like rumble: noise below ~300 Hz with slow gusts, unit RMS."""
    cutoff = rng.uniform(80, 300)
    sos = scipy.signal.butter(4, cutoff, fs=sr, output="sos")
    y = scipy.signal.sosfilt(sos, rng.standard_normal(n))
    gust_rate = rng.uniform(0.2, 1.5)
    t = np.arange(n) / sr
    y *= 1.0 + 0.8 * np.sin(2 * np.pi * gust_rate * t + rng.uniform(0, 2 * np.pi))
    return y / max(rms(y), 1e-12)


def insect_tone(n: int, *, rng: np.random.Generator, sr: int = SR) -> np.ndarray:
    """Insect-like stridulation: a narrow-band tone (3–10 kHz) pulsed at 15–60 Hz, unit RMS."""
    t = np.arange(n) / sr
    carrier = rng.uniform(3000, 10000)
    pulse = rng.uniform(15, 60)
    duty = rng.uniform(0.2, 0.6)
    gate = ((t * pulse + rng.uniform()) % 1.0) < duty
    gate = np.convolve(gate.astype(float), np.hanning(65) / np.hanning(65).sum(), mode="same")
    y = np.sin(2 * np.pi * carrier * t + 0.3 * np.sin(2 * np.pi * 7 * t)) * gate
    span = int(n * rng.uniform(0.3, 1.0))  # insects start and stop
    start = rng.integers(0, n - span + 1)
    mask = np.zeros(n)
    mask[start:start + span] = 1
    y *= mask
    return y / max(rms(y), 1e-12)


def clutter_calls(n: int, *, count: int, rng: np.random.Generator,
                  sr: int = SR) -> np.ndarray:
    """Other birds' calls made by the syrinx model: short chirps that are not chingolo songs.

    Each call is one to three notes of 20–120 ms with random shapes and pitches in
    2–8 kHz, placed at random; unit RMS (zeros when ``count`` is 0).
    """
    out = np.zeros(n)
    if count <= 0:
        return out
    gestures = []
    for _ in range(count):
        n_notes = int(rng.integers(1, 4))
        lo = rng.uniform(2000, 5000)
        points_t, points_f, points_a = [0.0], [np.nan], [0.0]
        t = 0.01
        for _ in range(n_notes):
            dur = rng.uniform(0.02, 0.12)
            shape = str(rng.choice(["sweep", "chevron", "slur"]))
            pitches = lo * rng.uniform(1.0, 1.7, size=3)
            m = max(4, int(dur * 1000))
            f = note_contour(shape, pitches, m)
            ts = t + np.arange(m) / 1000
            points_t += list(ts)
            points_f += list(f)
            points_a += [1.0] * m
            t = ts[-1] + rng.uniform(0.02, 0.08)
            points_t.append(t - 0.005)
            points_f.append(np.nan)
            points_a.append(0.0)
        points_t.append(t + 0.01)
        points_f.append(np.nan)
        points_a.append(0.0)
        gestures.append(gestures_from_contour(np.array(points_t), np.array(points_f),
                                              np.array(points_a)))
    length = max(g.n_samples for g in gestures)
    alpha = np.full((count, length), -0.15)
    beta = np.full((count, length), -0.15)
    env = np.zeros((count, length))
    for j, g in enumerate(gestures):
        alpha[j, :g.n_samples] = g.alpha
        beta[j, :g.n_samples] = g.beta
        env[j, :g.n_samples] = g.envelope
    calls = render_batch(alpha, beta, env, gamma=np.array([g.gamma for g in gestures]),
                         parallel=False)
    for j, g in enumerate(gestures):
        call = calls[j, :g.n_samples]
        call = call / max(np.abs(call).max(), 1e-12)
        start = int(rng.integers(0, max(1, n - call.size)))
        seg = call[: n - start]
        out[start:start + seg.size] += seg * rng.uniform(0.3, 1.0)
    return out / max(rms(out), 1e-12)


def reverberate(y: np.ndarray, *, t60_s: float, wet: float, rng: np.random.Generator,
                sr: int = SR) -> np.ndarray:
    """Add a diffuse reverberant tail: an exponentially decaying noise impulse response.

    Parameters
    ----------
    t60_s : float
        Time for the tail to decay by 60 dB (s).
    wet : float
        Level of the tail relative to the direct sound (0–1).
    """
    n_ir = int(t60_s * sr)
    t = np.arange(n_ir) / sr
    ir = rng.standard_normal(n_ir) * 10 ** (-3 * t / t60_s)
    ir *= wet / max(np.sqrt(np.sum(ir ** 2)), 1e-12)
    return y + scipy.signal.fftconvolve(y, ir)[: y.size]


def mix_at_snr(signal: np.ndarray, noise: np.ndarray, *, snr_db: float,
               signal_rms: float | None = None) -> np.ndarray:
    """``signal + g·noise`` with ``g`` such that RMS(signal)/RMS(g·noise) is ``snr_db``.

    ``signal_rms`` overrides the signal's RMS (e.g. the RMS over the song only, not the clip).
    """
    s = rms(signal) if signal_rms is None else signal_rms
    g = s / max(rms(noise), 1e-12) * 10 ** (-snr_db / 20)
    return signal + g * noise
