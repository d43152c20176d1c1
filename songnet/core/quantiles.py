"""Medians and percentiles of finite arrays without ``numpy.ma``.

``np.median`` and ``np.percentile`` import ``numpy.ma`` on first use, some 30 ms of a
command's start-up; ``classify`` needs neither's generality. Both functions here partition
the array instead (linear interpolation, as NumPy's default method).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["median", "median_rows", "percentile", "small_median"]


def median(x: np.ndarray, axis: int = 0) -> np.ndarray:
    """``np.median(x, axis)`` of a finite array, bit for bit (its dtype kept); NaN along an
    empty axis."""
    x = np.asarray(x)
    n = x.shape[axis]
    if n == 0:
        shape = x.shape[:axis] + x.shape[axis + 1:]
        return np.full(shape, np.nan, dtype=x.dtype if x.dtype.kind == "f" else np.float64)
    k = n // 2
    if n % 2:
        return np.take(np.partition(x, k, axis=axis), k, axis=axis)
    part = np.partition(x, (k - 1, k), axis=axis)
    return (np.take(part, k - 1, axis=axis) + np.take(part, k, axis=axis)) / 2


def percentile(x: np.ndarray, q: float, axis: int = 0) -> np.ndarray:
    """``np.percentile(x, q, axis)`` (linear interpolation) of a finite array, in float64:
    NumPy's value for float64 input, to float32 rounding for float32 input."""
    x = np.asarray(x, dtype=np.float64)
    n = x.shape[axis]
    pos = q / 100.0 * (n - 1)
    lo, hi = int(np.floor(pos)), int(np.ceil(pos))
    part = np.partition(x, (lo, hi) if hi != lo else lo, axis=axis)
    a, b = np.take(part, lo, axis=axis), np.take(part, hi, axis=axis)
    t = pos - lo
    return b - (b - a) * (1 - t) if t >= 0.5 else a + (b - a) * t


def small_median(x: Sequence[float]) -> float:
    """The median of a short list of floats (as ``np.median``: the mean of the middle two
    for an even count), without NumPy's per-call overhead."""
    v = sorted(x)
    k = len(v) // 2
    return v[k] if len(v) % 2 else (v[k - 1] + v[k]) / 2


def median_rows(a: np.ndarray) -> np.ndarray:
    """``np.median(a, axis=0)`` of a few rows, bit for bit, at a fraction of its cost."""
    v = np.sort(a, axis=0)
    k = v.shape[0] // 2
    return v[k] if v.shape[0] % 2 else (v[k - 1] + v[k]) / 2
