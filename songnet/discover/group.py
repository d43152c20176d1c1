"""Songs into proposed themes: how far two songs differ, and where a theme ends.

Two songs differ by their introductions' edit distance in notes' worth
(:func:`songnet.song.distance.intro_distance`: after the best common transposition and
tempo, one per note added or dropped, up to two per note sung differently), plus one when
their trills differ (:func:`songnet.discover.songs.trill_differs`). The trill's length
never counts: a bird adds or drops repeats from song to song.

Songs are grouped by average linkage, cut at a threshold measured on the recordings
themselves: the songs of one recording are taken as one bird singing one theme, so the
distances between them are within-bird variation (the measurement's own noise included).
Songs of one theme by different birds differ more than one bird's songs do (about twice
as much on model-made birds, where the truth is known), and different themes differ by
whole notes, so the threshold is twice the 90th percentile of the within-recording
distances, kept between one note's worth (a note missed by the reader must not split a
bird) and :data:`CEILING` (themes two notes apart are two themes: songnet's own
definition of a foreign theme, :func:`songnet.surrogates.foreign.foreign_themes`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import numpy as np

from songnet.discover.songs import TRILL_PITCH, TRILL_RATE, SongFound
from songnet.song.distance import intro_distances

__all__ = ["CEILING", "FACTOR", "FALLBACK", "FLOOR", "UNSORTED", "Grouping", "Threshold",
           "distance_matrix", "group_songs", "grouping_threshold"]

UNSORTED = "_unsorted"
FACTOR = 2.0      # threshold = FACTOR x the within-recording 90th percentile ...
QUANTILE = 0.9
FLOOR = 1.0       # ... but at least one note's worth
CEILING = 1.9     # ... and below two
FALLBACK = 1.5    # with fewer than MIN_PAIRS within-recording pairs
MIN_PAIRS = 3


def distance_matrix(songs: Sequence[SongFound]) -> np.ndarray:
    """``(n, n)`` distances in notes' worth (the module text); symmetric, zero diagonal."""
    n = len(songs)
    d = np.zeros((n, n))
    notes = [s.notes for s in songs]
    rate = np.log([s.trill_interval_s for s in songs])
    start = np.log([s.trill_start_hz for s in songs])
    end = np.log([s.trill_end_hz for s in songs])
    for i in range(n - 1):
        intro = intro_distances(notes[i], notes[i + 1:])
        trill = (np.abs(rate[i + 1:] - rate[i]) > TRILL_RATE) | (
            np.maximum(np.abs(start[i + 1:] - start[i]), np.abs(end[i + 1:] - end[i]))
            > TRILL_PITCH)
        d[i, i + 1:] = intro + trill
    return d + d.T


@dataclasses.dataclass(frozen=True)
class Threshold:
    """The merging threshold and where it came from."""

    value: float
    within_pairs: int
    within_q90: float
    source: str


def grouping_threshold(songs: Sequence[SongFound], d: np.ndarray,
                       given: float | None = None) -> Threshold:
    """The threshold (the module text) from the within-recording distances of ``d``, or
    ``given``."""
    sources = np.array([s.source for s in songs])
    same = (sources[:, None] == sources[None, :]) & np.triu(np.ones_like(d, dtype=bool), 1)
    within = d[same]
    q = float(np.quantile(within, QUANTILE)) if within.size else float("nan")
    if given is not None:
        return Threshold(given, int(within.size), q, "given (--threshold)")
    if within.size < MIN_PAIRS:
        return Threshold(FALLBACK, int(within.size), q,
                         f"the default {FALLBACK:g}: fewer than {MIN_PAIRS} pairs of songs "
                         "share a recording, too few to measure within-bird variation")
    value = float(np.clip(FACTOR * q, FLOOR, CEILING))
    return Threshold(value, int(within.size), q,
                     f"{FACTOR:g} x the 90th percentile ({q:.2f}) of {within.size} "
                     f"within-recording distances, kept within [{FLOOR:g}, {CEILING:g}]")


@dataclasses.dataclass(frozen=True)
class Grouping:
    """Songs grouped into proposed themes.

    Attributes
    ----------
    labels : list of str
        Each song's group (``D01``, ``D02``, ... largest first) or :data:`UNSORTED`.
    to_centre : np.ndarray [shape=(n,)]
        Each song's distance to its group's centre (the song nearest on average to the
        others); NaN for unsorted songs.
    centres : dict
        Group name -> index of its centre song.
    threshold : Threshold
    """

    labels: list[str]
    to_centre: np.ndarray
    centres: dict[str, int]
    threshold: Threshold

    @property
    def groups(self) -> list[str]:
        return sorted(self.centres)


def group_songs(songs: Sequence[SongFound], *, min_songs: int = 3,
                threshold: float | None = None) -> Grouping:
    """Average-linkage groups of ``songs`` cut at the measured (or given) threshold;
    groups smaller than ``min_songs`` are unsorted."""
    n = len(songs)
    d = distance_matrix(songs)
    th = grouping_threshold(songs, d, threshold)
    if n == 0:
        return Grouping([], np.zeros(0), {}, th)
    if n == 1:
        raw = np.array([1])
    else:
        from scipy.cluster.hierarchy import fcluster, linkage
        from scipy.spatial.distance import squareform

        raw = fcluster(linkage(squareform(d, checks=False), method="average"), t=th.value,
                       criterion="distance")
    ids = [k for k in np.unique(raw) if np.sum(raw == k) >= min_songs]
    # largest first; ties by the earliest song
    ids.sort(key=lambda k: (-int(np.sum(raw == k)), int(np.flatnonzero(raw == k)[0])))
    width = max(2, len(str(len(ids))))
    names = {k: f"D{i:0{width}d}" for i, k in enumerate(ids, start=1)}
    labels = [names.get(k, UNSORTED) for k in raw]
    to_centre = np.full(n, np.nan)
    centres: dict[str, int] = {}
    for k, name in names.items():
        members = np.flatnonzero(raw == k)
        sub = d[np.ix_(members, members)]
        centre = int(members[np.argmin(sub.mean(axis=1))])
        centres[name] = centre
        to_centre[members] = d[members, centre]
    return Grouping(labels, to_centre, centres, th)
