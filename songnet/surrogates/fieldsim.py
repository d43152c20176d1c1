"""Simulated field recordings: model songs of known themes at known times, in noise.

A known answer for ``songnet classify``: the tests and ``benchmarks/classify.py`` mix
songs sung by the syrinx model (:func:`songnet.surrogates.birds.sing`) into continuous
background noise (a low rumble plus a broadband hiss, one filtered noise stream without
seams) and keep the truth (onset, offset, theme) of every song. Written block by block,
a recording of any length is made in bounded memory.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Sequence

import numpy as np
import scipy.signal

from songnet.core.errors import SongnetError
from songnet.surrogates.birds import sing
from songnet.surrogates.themes import Theme
from songnet.synth import SR

__all__ = ["NOISE_RMS", "SongTruth", "plan_songs", "render_recording", "sound_extent"]

NOISE_RMS = 0.02
"""RMS of the background noise (full scale = 1)."""


@dataclasses.dataclass(frozen=True)
class SongTruth:
    """Where a song was put: onset and offset of its sound (s) and its theme."""

    start_s: float
    end_s: float
    theme: str


def sound_extent(y: np.ndarray, *, sr: int = SR, rel_db: float = -30.0) -> tuple[float, float]:
    """First and last time (s) the 5 ms envelope of ``y`` is within ``rel_db`` of its peak."""
    win = max(1, round(0.005 * sr))
    env = np.sqrt(np.convolve(np.square(y, dtype=np.float64), np.ones(win) / win, mode="same"))
    if env.size == 0 or env.max() <= 0:
        raise SongnetError("the song is silent; check the theme")
    loud = np.flatnonzero(env >= env.max() * 10 ** (rel_db / 20))
    return loud[0] / sr, (loud[-1] + 1) / sr


def plan_songs(themes: Sequence[Theme], *, duration_s: float, interval_s: float = 20.0,
               rng: np.random.Generator) -> list[tuple[float, Theme]]:
    """One song per ``interval_s`` stretch, at a random time inside it, of a random theme.

    Returns
    -------
    list of (float, Theme)
        Onset of each clip (s) and its theme, in time order; every clip ends at least
        3 s before the next stretch so songs never overlap.
    """
    if not themes:
        raise SongnetError("no themes to sing; pass at least one theme")
    if interval_s < 6.0:
        raise SongnetError(f"interval_s={interval_s} must be at least 6 s (a song and gaps)")
    plan = []
    for k in range(int(duration_s // interval_s)):
        start = k * interval_s + rng.uniform(0.5, interval_s - 5.0)
        plan.append((float(start), themes[int(rng.integers(len(themes)))]))
    return plan


def render_recording(plan: Sequence[tuple[float, Theme]], *, duration_s: float,
                     snr_db: float = 10.0, rng: np.random.Generator, sr: int = SR,
                     block_s: float = 60.0) -> tuple[Iterator[np.ndarray], list[SongTruth]]:
    """Sing the planned songs and mix them into noise, block by block.

    Parameters
    ----------
    plan : sequence of (float, Theme)
        Clip onsets (s) and themes, as :func:`plan_songs` gives.
    duration_s : float
        Length of the recording (s).
    snr_db : float
        Song RMS (over its sound) over the noise RMS, in dB.
    rng : numpy.random.Generator
    sr : int
        Output rate; the songs are sung at :data:`songnet.synth.SR`.
    block_s : float
        Length of the yielded blocks (s).

    Returns
    -------
    blocks : iterator of np.ndarray [shape=(n,), dtype=float32]
        Consecutive samples; concatenated they are the recording, peak below 1.
    truth : list of SongTruth
        Onset, offset and theme of every song's sound.
    """
    if sr != SR:
        raise SongnetError(f"sr={sr}: songs are sung at {SR} Hz; resample the output instead")
    songs, truth = [], []
    for start, theme in plan:
        y = sing(theme, rng=rng).astype(np.float64)
        a, b = sound_extent(y, sr=sr)
        level = np.sqrt(np.mean(np.square(y[round(a * sr):round(b * sr)])))
        gain = NOISE_RMS * 10 ** (snr_db / 20) / level
        n0 = round(start * sr)
        if n0 + y.size > duration_s * sr:
            continue
        songs.append((n0, (gain * y).astype(np.float32)))
        truth.append(SongTruth(round(float(start + a), 3), round(float(start + b), 3),
                               theme.name))
    return _blocks(songs, n_total=round(duration_s * sr), block_n=round(block_s * sr),
                   rng=rng), truth


def _blocks(songs: list[tuple[int, np.ndarray]], *, n_total: int, block_n: int,
            rng: np.random.Generator) -> Iterator[np.ndarray]:
    """Noise with the songs added, ``block_n`` samples at a time (filter state carried)."""
    rumble_b, rumble_a = scipy.signal.butter(2, 0.01)  # below ~220 Hz at 44.1 kHz
    hiss_b, hiss_a = scipy.signal.butter(1, 0.5)  # softly darkened broadband hiss
    zr = np.zeros(max(len(rumble_a), len(rumble_b)) - 1)
    zh = np.zeros(max(len(hiss_a), len(hiss_b)) - 1)
    # unit-variance mix: rumble carries ~80 % of the power, hiss the rest
    r_gain = np.sqrt(0.8) / np.sqrt(_power_gain(rumble_b, rumble_a))
    h_gain = np.sqrt(0.2) / np.sqrt(_power_gain(hiss_b, hiss_a))
    for start in range(0, n_total, block_n):
        n = min(block_n, n_total - start)
        rumble, zr = scipy.signal.lfilter(rumble_b, rumble_a, rng.standard_normal(n), zi=zr)
        hiss, zh = scipy.signal.lfilter(hiss_b, hiss_a, rng.standard_normal(n), zi=zh)
        y = NOISE_RMS * (r_gain * rumble + h_gain * hiss)
        for n0, song in songs:
            lo, hi = max(n0, start), min(n0 + song.size, start + n)
            if lo < hi:
                y[lo - start:hi - start] += song[lo - n0:hi - n0]
        yield np.clip(y, -0.99, 0.99).astype(np.float32)


def _power_gain(b: np.ndarray, a: np.ndarray) -> float:
    """Output variance of the filter ``b/a`` fed unit-variance white noise."""
    impulse = np.zeros(20000)
    impulse[0] = 1.0
    return float(np.sum(scipy.signal.lfilter(b, a, impulse) ** 2))
