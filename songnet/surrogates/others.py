"""The world around a chingolo: other species' sounds and noises, for ``no_song`` clips.

A detector trained with backgrounds of coloured noise and a few model-made chirps takes any
other bird's tonal song for a chingolo's (issue: a dense chorus of another species and a
clip of warblers each gave "songs"). These generators give the ``no_song`` class, and the
backgrounds of song clips, the kinds of sound a field recording holds (DESIGN.md,
"Real soundscapes"): each returns a unit-RMS signal of ``n`` samples at :data:`SR`.

- :func:`tonal_calls`: whistles and slurs of other shapes than chingolo notes: long
  warbled or vibrato whistles, rising-falling arches, fast sweeps in series;
- :func:`harmonic_stack`: notes with rich harmonics (tapaculo-, corvid- or parrot-like),
  fundamental 0.5–2.5 kHz;
- :func:`chatter`: fast irregular notes and buzzes (noisy, frequency-modulated);
- :func:`other_trill`: trills of other syllable shapes (upsweeps, chevrons, clicks) and
  rates (8–40 syllables per second), longer or shorter than a chingolo's;
- :func:`chorus`: several individuals of one or more of these kinds, overlapping;
- :func:`rain`: drops (broadband clicks) on a hiss; :func:`human_noise`: engine hum with
  harmonics and a babble of voice-like harmonic formants below 3 kHz.

:func:`world_mix` draws a random mixture of them. Insects and wind live in
:mod:`songnet.surrogates.conditions`. These are simple additive syntheses, not the syrinx
model: other species need not sound like the model's bird, only like other birds.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from songnet.synth import SR

__all__ = ["KINDS", "WEIGHTS", "chatter", "chorus", "harmonic_stack", "human_noise", "other_trill",
           "rain", "tonal_calls", "world_mix"]


def _unit(y: np.ndarray) -> np.ndarray:
    r = float(np.sqrt(np.mean(y ** 2)))
    return y / r if r > 0 else y


def _tone(f_hz: np.ndarray, amp: np.ndarray, *, sr: int, harmonics: tuple[float, ...] = (1.0,),
          rng: np.random.Generator) -> np.ndarray:
    """A tone following ``f_hz`` (per sample) with the given harmonic amplitudes."""
    phase = 2 * np.pi * np.cumsum(f_hz) / sr + rng.uniform(0, 2 * np.pi)
    out = np.zeros(f_hz.size)
    for k, a in enumerate(harmonics, start=1):
        if a > 0:
            out += a * np.sin(k * phase) * (k * f_hz < 0.45 * sr)
    return out * amp


def _envelope(m: int, *, attack: float = 0.1) -> np.ndarray:
    u = np.linspace(0, 1, m)
    a = max(attack, 1e-3)
    return np.minimum(1.0, np.minimum(u / a, (1 - u) / a)) ** 1.5


def _place(out: np.ndarray, note: np.ndarray, at: int) -> None:
    end = min(out.size, at + note.size)
    if end > at >= 0:
        out[at:end] += note[:end - at]


def tonal_calls(n: int, *, rng: np.random.Generator, sr: int = SR) -> np.ndarray:
    """Whistles and slurs of other shapes: warbles, vibrato, arches, fast sweep series."""
    out = np.zeros(n)
    for _ in range(int(rng.integers(1, 5))):
        m = int(rng.uniform(0.08, 0.9) * sr)
        t = np.arange(m) / sr
        f0 = rng.uniform(1500, 8000)
        kind = int(rng.integers(4))
        if kind == 0:  # vibrato or warble
            f = f0 * (1 + rng.uniform(0.02, 0.15) * np.sin(2 * np.pi * rng.uniform(5, 40) * t))
        elif kind == 1:  # arch: up then down
            f = f0 * (1 + rng.uniform(0.2, 0.8) * np.sin(np.pi * t / t[-1]))
        elif kind == 2:  # upsweep
            f = f0 * np.exp(np.log(rng.uniform(1.3, 2.5)) * t / t[-1])
        else:  # stepped whistle
            steps = rng.uniform(0.7, 1.4, int(rng.integers(2, 5)))
            f = f0 * steps[np.minimum((t / t[-1] * steps.size).astype(int), steps.size - 1)]
        f = np.clip(f, 500, 0.45 * sr)
        _place(out, _tone(f, _envelope(m), sr=sr, rng=rng), int(rng.integers(0, max(1, n - m))))
    return _unit(out)


def harmonic_stack(n: int, *, rng: np.random.Generator, sr: int = SR) -> np.ndarray:
    """Notes with rich harmonics on a low fundamental (0.5–2.5 kHz)."""
    out = np.zeros(n)
    for _ in range(int(rng.integers(1, 6))):
        m = int(rng.uniform(0.05, 0.6) * sr)
        t = np.arange(m) / sr
        f = rng.uniform(500, 2500) * (1 + rng.uniform(-0.2, 0.2) * t / t[-1])
        harm = tuple(rng.uniform(0.2, 1.0, int(rng.integers(3, 9))))
        _place(out, _tone(f, _envelope(m, attack=0.05), harmonics=harm, sr=sr, rng=rng),
               int(rng.integers(0, max(1, n - m))))
    return _unit(out)


def chatter(n: int, *, rng: np.random.Generator, sr: int = SR) -> np.ndarray:
    """Fast irregular notes and buzzes."""
    out = np.zeros(n)
    at = int(rng.integers(0, max(1, n // 2)))
    stop = min(n, at + int(rng.uniform(0.3, 2.5) * sr))
    while at < stop:
        m = int(rng.uniform(0.01, 0.08) * sr)
        f0 = rng.uniform(2000, 8000)
        t = np.arange(m) / sr
        if rng.uniform() < 0.4:  # buzz: noise band-limited by a fast FM carrier
            f = f0 * (1 + 0.3 * np.sin(2 * np.pi * rng.uniform(80, 300) * t))
            note = _tone(f, _envelope(m), sr=sr, rng=rng) * (1 + rng.standard_normal(m))
        else:
            f = f0 * np.exp(rng.uniform(-0.6, 0.6) * t / max(t[-1], 1e-3))
            note = _tone(f, _envelope(m), sr=sr, rng=rng)
        _place(out, note * rng.uniform(0.3, 1.0), at)
        at += m + int(rng.uniform(0.005, 0.06) * sr)
    return _unit(out)


def other_trill(n: int, *, rng: np.random.Generator, sr: int = SR) -> np.ndarray:
    """A trill of another syllable shape (upsweep, chevron, click) and rate."""
    out = np.zeros(n)
    rate = rng.uniform(8, 40)
    syl = min(0.8 / rate, rng.uniform(0.008, 0.06))
    count = int(rng.integers(5, 60))
    lo, hi = sorted(rng.uniform(1500, 8500, 2))
    hi = max(hi, lo * 1.1)
    shape = int(rng.integers(3))
    m = max(8, int(syl * sr))
    u = np.linspace(0, 1, m)
    f = (lo * (hi / lo) ** u if shape == 0 else
         lo * (hi / lo) ** np.sin(np.pi * u) if shape == 1 else np.full(m, (lo + hi) / 2))
    note = _tone(f, _envelope(m, attack=0.2), sr=sr, rng=rng)
    at = int(rng.integers(0, max(1, n // 2)))
    for k in range(count):
        _place(out, note * (0.6 + 0.4 * np.sin(np.pi * k / count)), at + int(k * sr / rate))
    return _unit(out)


def rain(n: int, *, rng: np.random.Generator, sr: int = SR) -> np.ndarray:
    """Rain: random broadband drops on a steady hiss."""
    out = 0.3 * rng.standard_normal(n)
    drops = rng.integers(0, n, int(rng.uniform(20, 200) * n / sr))
    for d in drops:
        m = int(rng.uniform(0.001, 0.006) * sr)
        _place(out, rng.standard_normal(m) * np.exp(-np.arange(m) / (m / 4)) * rng.uniform(1, 5),
               int(d))
    return _unit(out)


def human_noise(n: int, *, rng: np.random.Generator, sr: int = SR) -> np.ndarray:
    """Engine hum (harmonics of 30–120 Hz) and voice-like harmonic babble below 3 kHz."""
    t = np.arange(n) / sr
    f = np.full(n, rng.uniform(30, 120)) * (1 + 0.05 * np.sin(2 * np.pi * 0.2 * t))
    out = _tone(f, np.ones(n), harmonics=tuple(1 / np.arange(1, 25)), sr=sr, rng=rng)
    for _ in range(int(rng.integers(0, 6))):  # syllables of speech: 100-250 Hz voiced
        m = int(rng.uniform(0.1, 0.4) * sr)
        fv = rng.uniform(100, 250) * (1 + 0.1 * np.sin(np.pi * np.arange(m) / m))
        harm = tuple(np.exp(-((np.arange(1, 25) * fv.mean() - rng.uniform(300, 2500)) / 500) ** 2)
                     + 0.05)
        _place(out, 3 * _tone(fv, _envelope(m), harmonics=harm, sr=sr, rng=rng),
               int(rng.integers(0, max(1, n - m))))
    return _unit(out)


def chorus(n: int, *, rng: np.random.Generator, sr: int = SR) -> np.ndarray:
    """Several individuals singing at once: 3–8 voices of the bird kinds, overlapping."""
    out = np.zeros(n)
    for _ in range(int(rng.integers(3, 9))):
        kind = _BIRDS[int(rng.integers(len(_BIRDS)))]
        out += rng.uniform(0.3, 1.0) * kind(n, rng=rng, sr=sr)
    return _unit(out)


_BIRDS: tuple[Callable[..., np.ndarray], ...] = (tonal_calls, harmonic_stack, chatter,
                                                  other_trill)
KINDS: dict[str, Callable[..., np.ndarray]] = {
    "tonal_calls": tonal_calls, "harmonic_stack": harmonic_stack, "chatter": chatter,
    "other_trill": other_trill, "chorus": chorus, "rain": rain, "human_noise": human_noise}
"""Every kind of other sound, by name."""


WEIGHTS = {"tonal_calls": 1.0, "harmonic_stack": 1.0, "chatter": 1.0, "other_trill": 2.0,
           "chorus": 2.0, "rain": 0.5, "human_noise": 0.5}
"""How often :func:`world_mix` picks each kind: other species' trills and choruses twice as
often as the rest (they are what a chingolo detector most easily takes for a song)."""


def world_mix(n: int, *, rng: np.random.Generator, sr: int = SR,
              max_kinds: int = 3) -> tuple[np.ndarray, list[str]]:
    """A random mixture of 1–``max_kinds`` kinds (drawn with :data:`WEIGHTS`) at random
    levels, unit RMS, and their names."""
    names = list(KINDS)
    w = np.array([WEIGHTS[k] for k in names])
    picked = [names[i] for i in rng.choice(len(names), int(rng.integers(1, max_kinds + 1)),
                                           replace=False, p=w / w.sum())]
    out = np.zeros(n)
    for name in picked:
        out += rng.uniform(0.3, 1.0) * KINDS[name](n, rng=rng, sr=sr)
    return _unit(out), picked
