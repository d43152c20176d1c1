"""How far two introductions differ, in notes' worth.

After the best common transposition (±10 %) and tempo (±12 %), one unit per note added or
dropped and up to two per note sung differently (10 % of pitch, or a factor 1.5 in length,
is one unit). :func:`songnet.surrogates.foreign.theme_distance` adds one for another
trill.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import numpy as np

from songnet.core.quantiles import median
from songnet.song.segment import Segment

__all__ = ["TRANSPOSITION", "edit_cost", "edit_costs", "intro_distance", "intro_distances",
           "intro_vectors", "note_vector"]

TRANSPOSITION = (0.90, 1.10)
"""The common transposition two introductions may differ by at no cost (a bird's own
pitch): pitch factors from, to."""

_PITCH_SCALE = float(np.log(1.10))  # 10 % of pitch = one unit
_TIME_SCALE = float(np.log(1.5))    # a factor 1.5 in length = one unit
_SHIFTS = np.log(np.linspace(*TRANSPOSITION, 9))
_TEMPI = np.log(np.linspace(0.88, 1.12, 7))
_OFFSETS = np.array([[s, s, s, t] for s, t in itertools.product(_SHIFTS, _TEMPI)])


def note_vector(pitch_hz: Sequence[float], duration_s: float) -> np.ndarray:
    """(ln start, ln middle, ln end pitch, ln duration) of a note sung along ``pitch_hz``
    (its start, midpoints and end) for ``duration_s``."""
    p = np.log(np.asarray(pitch_hz, dtype=float))
    mid = p[len(p) // 2] if len(p) > 2 else 0.5 * (p[0] + p[-1])
    return np.array([p[0], mid, p[-1], np.log(duration_s)])


def edit_cost(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Edit distances of note sequences ``a (m, k, 4)`` to ``b (l, 4)``: ``(m,)``.

    Adding or dropping a note costs 1; singing one differently up to 2.
    """
    return edit_costs(a, np.asarray(b)[None])[:, 0]


def edit_costs(a: np.ndarray, b: np.ndarray, *, tolerance: float = 0.0,
               merge: float | None = None) -> np.ndarray:
    """:func:`edit_cost` of every sequence of ``a (m, k, 4)`` to every one of
    ``b (n, l, 4)`` (all of one length): ``(m, n)``.

    ``tolerance``: that much of each note's cost of being sung differently is free (a
    bird's own note-to-note variation; 0 counts every difference). ``merge``: two
    neighbouring notes of one sequence may also stand for one note of the other, at this
    cost plus how differently the joined pair is sung (its first note's start pitch, the
    pitch where the two meet, its last note's end pitch, their summed length): notes
    that a reverberant tail or a short silence ran together, or one note a level dip
    split (None: never).
    """
    m, na, nb = a.shape[0], a.shape[1], b.shape[1]
    sub = _sub(a, b, tolerance)  # (m, n, na, nb)
    if merge is not None:
        joined_a = _sub(_joined(a), b, tolerance) + merge  # (m, n, na - 1, nb)
        joined_b = _sub(a, _joined(b), tolerance) + merge  # (m, n, na, nb - 1)
    d = np.zeros((m, b.shape[0], na + 1, nb + 1))
    d[:, :, :, 0] = np.arange(na + 1)
    d[:, :, 0, :] = np.arange(nb + 1)
    for i in range(1, na + 1):
        for j in range(1, nb + 1):
            best = np.minimum(np.minimum(d[:, :, i - 1, j], d[:, :, i, j - 1]) + 1,
                              d[:, :, i - 1, j - 1] + sub[:, :, i - 1, j - 1])
            if merge is not None and i >= 2:
                best = np.minimum(best, d[:, :, i - 2, j - 1] + joined_a[:, :, i - 2, j - 1])
            if merge is not None and j >= 2:
                best = np.minimum(best, d[:, :, i - 1, j - 2] + joined_b[:, :, i - 1, j - 2])
            d[:, :, i, j] = best
    return d[:, :, na, nb]


def _sub(a: np.ndarray, b: np.ndarray, tolerance: float) -> np.ndarray:
    """Cost of singing each note of ``a (m, k, 4)`` as each of ``b (n, l, 4)``, at most 2,
    less ``tolerance``: ``(m, n, k, l)``."""
    pitch = np.abs(a[:, None, :, None, :3] - b[None, :, None, :, :3]).max(axis=-1) \
        / _PITCH_SCALE
    time = np.abs(a[:, None, :, None, 3] - b[None, :, None, :, 3]) / _TIME_SCALE
    sub = np.minimum(2.0, pitch + time)
    return np.maximum(sub - tolerance, 0.0) if tolerance else sub


def _joined(v: np.ndarray) -> np.ndarray:
    """Each pair of neighbouring notes of ``v (m, k, 4)`` as one note: ``(m, k - 1, 4)``."""
    return np.stack([v[:, :-1, 0], 0.5 * (v[:, :-1, 2] + v[:, 1:, 0]), v[:, 1:, 2],
                     np.logaddexp(v[:, :-1, 3], v[:, 1:, 3])], axis=-1)


def intro_distance(a: np.ndarray, b: np.ndarray) -> float:
    """How many notes' worth two introductions differ by (the module text): note vectors
    ``a (k, 4)`` and ``b (l, 4)`` (:func:`note_vector`); the smaller of the two directions
    of alignment, each at its best transposition and tempo."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    there = edit_cost(a[None] + _OFFSETS[:, None], b).min()
    back = edit_cost(b[None] + _OFFSETS[:, None], a).min()
    return float(min(there, back))


def intro_distances(a: np.ndarray, others: Sequence[np.ndarray], *,
                    tolerance: float = 0.0, merge: float | None = None) -> np.ndarray:
    """:func:`intro_distance` from ``a (k, 4)`` to each introduction of ``others``, at once
    (the same figures, computed for all introductions of one length together);
    ``tolerance`` and ``merge`` as :func:`edit_costs` (0 and None: :func:`intro_distance`'s
    figures)."""
    a = np.asarray(a, dtype=float)
    out = np.full(len(others), np.nan)
    m = len(_OFFSETS)
    by_length: dict[int, list[int]] = {}
    for i, b in enumerate(others):
        by_length.setdefault(len(b), []).append(i)
    for length, idx in by_length.items():
        b = np.stack([np.asarray(others[i], dtype=float) for i in idx]).reshape(-1, length, 4)
        there = edit_costs(a[None] + _OFFSETS[:, None], b, tolerance=tolerance,
                           merge=merge).min(axis=0)
        shifted = (b[:, None] + _OFFSETS[None, :, None]).reshape(-1, length, 4)
        back = edit_costs(shifted, a[None], tolerance=tolerance, merge=merge)[:, 0]
        back = back.reshape(len(idx), m).min(axis=1)
        out[idx] = np.minimum(there, back)
    return out



def _line_at(u: np.ndarray, y: np.ndarray, at: float) -> float:
    """The least-squares line through ``(u, y)`` evaluated at ``at`` (the mean of ``y``
    for fewer than two distinct ``u``)."""
    du = u - u.mean()
    ss = float(du @ du)
    return float(y.mean() + (du @ (y - y.mean())) / ss * (at - u.mean())) if ss > 0 \
        else float(y.mean())


def intro_vectors(intro: Sequence[Segment]) -> np.ndarray:
    """Note vectors ``(k, 4)`` (:func:`note_vector`) of measured notes: each note's start and
    end pitch from lines fitted to its first and last 35 % (log pitch against time,
    extrapolated to its half-level onset and offset), its middle pitch the median of its
    middle fifth, and its half-level duration."""
    out = []
    for s in intro:
        dur = max(s.duration_s, 1e-3)
        u = np.clip((s.times_s - s.onset_s) / dur, 0.0, 1.0)
        logf = np.log(s.f0_hz)
        first, last, mid = u <= 0.35, u >= 0.65, (u >= 0.4) & (u <= 0.6)
        start = _line_at(u[first], logf[first], 0.0) if first.any() else float(logf[0])
        end = _line_at(u[last], logf[last], 1.0) if last.any() else float(logf[-1])
        middle = float(median(logf[mid])) if mid.any() else 0.5 * (start + end)
        out.append(note_vector(np.exp([start, middle, end]), dur))
    return np.array(out).reshape(-1, 4)

