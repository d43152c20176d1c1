"""Songs into proposed themes: how far two songs differ, and where a theme ends.

Two songs differ by their introductions' edit distance in notes' worth
(:func:`songnet.song.distance.intro_distances`: after the best common transposition and
tempo, one per note added or dropped, up to two per note sung differently), plus one when
their trills differ (:func:`songnet.discover.songs.trills_differ`: in rate, or in pitch
once the birds' own pitch, the introductions' transposition, is taken out). The trill's
length never counts: a bird adds or drops repeats from song to song.

What a bird varies from song to song is measured on the recordings themselves: the songs
of one recording are taken as one bird singing one theme, so how differently they sing
each note (the distance of two such songs with the same number of notes, per note) is
within-bird variation, the reader's own noise included. Its 90th percentile is the
*tolerance*: that much of every note's difference is free. Songs of one theme then lie
within a fraction of a note of each other whatever their number of notes (without it,
small per-note differences add up, and a six-note theme's birds lie two notes apart), and
songs of different themes still differ by whole notes.

Songs are grouped by average linkage, merged while they differ on average by at most
:data:`THRESHOLD`, one note's worth: a note added, dropped or sung as another note
separates two themes; a note the reader missed in one song does not pull it from its
theme's group. A song still left out joins the group that holds most of its recording's
songs when it lies within :data:`ADOPT` of one of them: its recording vouches for it. A
recording none of whose songs found a group joins the group most of them (two or more, at
least half) lie within :data:`ADOPT` of.

Birds of one theme differ more than one bird does from song to song: each sings each
note a little higher or longer than the next bird (development scenes: one note 7-12 %
off the theme's other birds, a whole bird's notes a few % off each in its own way), and
with the within-bird tolerance alone such a bird made a group of its own. So the songs
are grouped twice. The first grouping, with the within-bird tolerance, puts the birds
that sing alike together; the distances per note between songs of two recordings of one
such group are between-bird variation, and their 75th percentile is the tolerance of the
second grouping (never below the first; the first stands when no group holds two birds).
It is measured only on birds already grouped together, so it stays below the difference
of two themes. Its quantile was chosen on the development scenes of
``benchmarks/discover.py`` (seeds 6-11): the 90th percentile let one bird's misread
songs form a group of their own, the 50th did not join one bird to its theme.
"""

from __future__ import annotations

import collections
import dataclasses
import itertools
from collections.abc import Callable, Sequence

import numpy as np

from songnet.discover.songs import SongFound, trills_differ
from songnet.song.distance import intro_distances

__all__ = ["FALLBACK", "THRESHOLD", "UNSORTED", "Grouping", "Shared", "Tolerance",
           "average_linkage", "between_bird_tolerance", "confirm", "distance_matrix",
           "distances_to", "group_songs", "representatives", "shared_recordings",
           "within_bird_tolerance"]

UNSORTED = "_unsorted"
THRESHOLD = 1.0   # notes' worth
QUANTILE = 0.9
BETWEEN_QUANTILE = 0.75  # between birds: the upper quartile (development scenes, see the text)
BETWEEN_SAMPLE = 60     # songs of a group measured for it, at most (1 770 pairs)
FALLBACK = 0.3    # the tolerance with fewer than MIN_PAIRS pairs to measure it on
MIN_PAIRS = 3
MERGE = 0.5       # two neighbouring notes read as one: half a note
ADOPT = 2.0       # an unsorted song joins its recording's group this close to one of its songs
EXACT_UP_TO = 1000  # songs grouped from every pair's distance; beyond, by representatives
RADIUS = 0.25     # a song this close to a representative is represented by it
MAX_TOLERANCE = 0.8  # never more: a note sung differently costs at least 1.2 (foreign.py)


def distances_to(song: SongFound, others: Sequence[SongFound], *,
                 tolerance: float = 0.0) -> np.ndarray:
    """Distances (the module text) from ``song`` to each of ``others``, in notes' worth."""
    if not others:
        return np.zeros(0)
    intro = intro_distances(song.notes, [s.notes for s in others], tolerance=tolerance,
                            merge=MERGE)
    return intro + trills_differ(song, others)


def distance_matrix(songs: Sequence[SongFound], *, tolerance: float = 0.0) -> np.ndarray:
    """``(n, n)`` distances in notes' worth (the module text); symmetric, zero diagonal."""
    n = len(songs)
    d = np.zeros((n, n))
    for i in range(n - 1):
        d[i, i + 1:] = distances_to(songs[i], songs[i + 1:], tolerance=tolerance)
    return d + d.T


@dataclasses.dataclass(frozen=True)
class Tolerance:
    """The free part of each note's difference, and where it came from."""

    value: float
    pairs: int
    source: str


def _per_note(songs: Sequence[SongFound], key: Callable[[int], object | None], *,
              same_source: bool, limit: int | None = None) -> list[float]:
    """Distance per note of every pair of songs with as many notes and the same
    ``key(i)`` (None: left out), of one recording (``same_source``) or of two; with
    ``limit``, of at most that many songs per key, evenly spaced in order (the pairs grow
    with the square of a key's songs)."""
    per_note: list[float] = []
    by_key: dict[object, list[int]] = {}
    for i in range(len(songs)):
        k = key(i)
        if k is not None:
            by_key.setdefault(k, []).append(i)
    for members in by_key.values():
        if limit is not None and len(members) > limit:
            members = [members[j] for j in np.linspace(0, len(members) - 1, limit).round()
                       .astype(int)]
        for n, i in enumerate(members[:-1]):
            s = songs[i]
            same = [songs[j] for j in members[n + 1:] if len(songs[j].notes) == len(s.notes)
                    and (songs[j].source == s.source) == same_source]
            if same and len(s.notes):
                per_note += list(intro_distances(s.notes, [t.notes for t in same])
                                 / len(s.notes))
    return per_note


def within_bird_tolerance(songs: Sequence[SongFound]) -> Tolerance:
    """The tolerance (the module text): the 90th percentile, over pairs of songs of one
    recording with the same number of notes, of their distance per note."""
    per_note = _per_note(songs, lambda i: songs[i].source, same_source=True)
    if len(per_note) < MIN_PAIRS:
        return Tolerance(FALLBACK, len(per_note),
                         f"the default {FALLBACK:g}: fewer than {MIN_PAIRS} pairs of songs "
                         "with as many notes share a recording")
    q = float(np.quantile(per_note, QUANTILE))
    value = min(q, MAX_TOLERANCE)
    return Tolerance(value, len(per_note),
                     f"the 90th percentile of {len(per_note)} within-recording song pairs' "
                     f"distance per note" + (f" ({q:.2f}), at most {MAX_TOLERANCE:g}"
                                             if q > MAX_TOLERANCE else ""))


def between_bird_tolerance(songs: Sequence[SongFound], labels: Sequence[str],
                           within: Tolerance) -> Tolerance:
    """The tolerance between birds of one theme (the module text): the 75th percentile,
    over pairs of songs of two recordings that one group of ``labels`` holds (with as many
    notes; at most :data:`BETWEEN_SAMPLE` songs of a group, evenly spaced), of their
    distance per note; never below ``within``'s value nor above
    :data:`MAX_TOLERANCE`. ``within`` itself when fewer than :data:`MIN_PAIRS` such pairs
    exist (no group holds two birds)."""
    per_note = _per_note(songs, lambda i: None if labels[i] == UNSORTED else labels[i],
                         same_source=False, limit=BETWEEN_SAMPLE)
    if len(per_note) < MIN_PAIRS:
        return within
    q = float(np.quantile(per_note, BETWEEN_QUANTILE))
    if q <= within.value:
        return within
    value = min(q, MAX_TOLERANCE)
    return Tolerance(value, len(per_note),
                     f"the 75th percentile of {len(per_note)} song pairs' distance per note "
                     "between recordings grouped together with the within-recording "
                     f"tolerance ({within.value:.2f}, {within.source})"
                     + (f"; {q:.2f}, at most {MAX_TOLERANCE:g}" if q > MAX_TOLERANCE else ""))


def confirm(kept: Sequence[SongFound], doubted: Sequence[SongFound], *, tolerance: float,
            threshold: float = THRESHOLD) -> list[SongFound]:
    """The doubted songs whose notes match a kept song's (within ``threshold`` with
    ``tolerance``, trill included), marked ``found_by="notes"``.

    The network hears themes it was taught well and others less: a song of an unheard
    theme, or a faint one, can fall below the detector's threshold while other songs of
    the same theme pass it. Another species' sound read as a song matches no kept
    chingolo theme within a note.
    """
    if not kept or not doubted:
        return []
    if len(kept) > EXACT_UP_TO:  # the kept songs' representatives stand for them
        _, reps = representatives(kept, tolerance=tolerance, radius=RADIUS)
        kept = [kept[r] for r in reps]
    return [dataclasses.replace(s, found_by="notes") for s in doubted
            if distances_to(s, kept, tolerance=tolerance).min() <= threshold]


@dataclasses.dataclass(frozen=True)
class Shared:
    """Two groups holding songs of the same recordings: one bird sings one theme, so
    either the reader read that bird's songs two ways (the groups are one theme: their
    distance is small) or the recording holds two birds (a neighbour counter-singing)."""

    groups: tuple[str, str]
    recordings: tuple[str, ...]
    distance: float
    """The groups' mean distance, song to song (notes' worth)."""

    def as_dict(self) -> dict:
        return {"groups": list(self.groups), "recordings": list(self.recordings),
                "distance": round(self.distance, 3)}


def shared_recordings(labels: Sequence[str], songs: Sequence[SongFound],
                      dist: Callable[[list[int], list[int]], np.ndarray]) -> list[Shared]:
    """The pairs of groups that hold songs of one recording (:class:`Shared`), nearest
    first; ``dist(is, js)``: the distances between songs ``is`` and ``js``."""
    members: dict[str, list[int]] = {}
    for i, g in enumerate(labels):
        if g != UNSORTED:
            members.setdefault(g, []).append(i)
    sources = {g: {songs[i].source for i in m} for g, m in members.items()}
    out = []
    for a, b in itertools.combinations(sorted(members), 2):
        both = sources[a] & sources[b]
        if both:
            out.append(Shared((a, b), tuple(sorted(both)),
                              float(dist(members[a], members[b]).mean())))
    return sorted(out, key=lambda x: (x.distance, x.groups))


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
    threshold : float
        Songs merge while they differ on average by at most this (notes' worth).
    tolerance : Tolerance
        The tolerance the groups were made with: between birds (:func:`group_songs`).
    shared : list of Shared
        Pairs of groups that hold songs of one recording, nearest first.
    within : Tolerance or None
        The within-recording tolerance the first grouping was made with (None: the
        grouping's own ``tolerance``).
    """

    labels: list[str]
    to_centre: np.ndarray
    centres: dict[str, int]
    threshold: float
    tolerance: Tolerance
    shared: list[Shared] = dataclasses.field(default_factory=list)
    within: Tolerance | None = None

    @property
    def groups(self) -> list[str]:
        return sorted(self.centres)


def _vouched(labels: list[str], songs: Sequence[SongFound], dist) -> list[str]:
    """Unsorted songs whose recording vouches for them (one bird sings one theme in one
    recording). A song left out of every group joins the group that holds most of its
    recording's songs, when it lies within :data:`ADOPT` of one of that group's songs (a
    song the reader misread by a note or two). A recording none of whose songs is in a
    group (a bird the reader reads unevenly: reverberation, a faint recording) joins the
    group that most of its songs lie within :data:`ADOPT` of, when two or more and at
    least half of them do (a lone song vouches for nothing); its songs that lie that close
    join. ``dist(i, js)``: distances of song ``i`` to songs ``js``."""
    out = list(labels)
    by_source: dict[str, list[int]] = {}
    for i, s in enumerate(songs):
        by_source.setdefault(s.source, []).append(i)
    members = {g: [j for j, h in enumerate(labels) if h == g] for g in set(labels) - {UNSORTED}}
    for mine in by_source.values():
        counts = collections.Counter(labels[j] for j in mine if labels[j] != UNSORTED)
        left = [i for i in mine if labels[i] == UNSORTED]
        if not left or not members:
            continue
        if counts:  # the group holding most of the recording's songs (ties: by name)
            best = max(sorted(counts), key=lambda k: counts[k])
            near = {best: [i for i in left if dist(i, members[best]).min() <= ADOPT]}
        else:  # no song of the recording in a group: most of its songs agree on one
            near = {g: [i for i in left if dist(i, m).min() <= ADOPT]
                    for g, m in sorted(members.items())}
            best = max(near, key=lambda g: len(near[g]))
            if len(near[best]) < 2 or 2 * len(near[best]) < len(mine):
                continue
        for i in near[best]:
            out[i] = best
    return out


def representatives(songs: Sequence[SongFound], *, tolerance: float, radius: float,
                    progress: Callable[[int], object] | None = None
                    ) -> tuple[np.ndarray, list[int]]:
    """Each song's representative: the first song within ``radius`` of it, in order (a
    song farther from every earlier representative is one itself).

    Returns
    -------
    lead : np.ndarray [shape=(n,)]
        Index into ``reps`` of each song's representative.
    reps : list of int
        The representatives' song indices.
    """
    lead = np.zeros(len(songs), dtype=int)
    reps: list[int] = []
    for i, s in enumerate(songs):
        if reps:
            d = distances_to(s, [songs[r] for r in reps], tolerance=tolerance)
            k = int(np.argmin(d))
            if d[k] <= radius:
                lead[i] = k
                if progress is not None:
                    progress(1)
                continue
        lead[i] = len(reps)
        reps.append(i)
        if progress is not None:
            progress(1)
    return lead, reps


def average_linkage(d: np.ndarray, weights: np.ndarray, threshold: float) -> np.ndarray:
    """Flat clusters of weighted average linkage (UPGMA): the two clusters nearest on
    average merge while that average is at most ``threshold``; a point of weight *w*
    stands for *w* points at distance 0 from each other. With unit weights, the clusters
    of ``scipy``'s average linkage cut at ``threshold``. Returns a cluster number per
    point (1, 2, ... in order of first point)."""
    n = len(d)
    d = np.array(d, dtype=float)
    np.fill_diagonal(d, np.inf)
    w = np.asarray(weights, dtype=float).copy()
    alive = np.ones(n, dtype=bool)
    root = np.arange(n)
    while alive.sum() > 1:
        flat = int(np.argmin(d))
        i, j = divmod(flat, n)
        if d[i, j] > threshold:
            break
        if j < i:
            i, j = j, i
        merged = (w[i] * d[i] + w[j] * d[j]) / (w[i] + w[j])
        d[i], d[:, i] = merged, merged
        d[i, i] = np.inf
        d[j], d[:, j] = np.inf, np.inf
        w[i] += w[j]
        alive[j] = False
        root[root == j] = i
    _, labels = np.unique(root, return_inverse=True)
    first = {}
    for k in labels:
        first.setdefault(int(k), len(first) + 1)
    return np.array([first[int(k)] for k in labels])


def group_songs(songs: Sequence[SongFound], *, min_songs: int = 3,
                threshold: float = THRESHOLD, tolerance: Tolerance | None = None,
                between_birds: bool = True, exact_up_to: int = EXACT_UP_TO,
                progress: Callable[[int], object] | None = None) -> Grouping:
    """Average-linkage groups of ``songs`` cut at ``threshold`` notes' worth, with the
    given tolerance (None: measured on ``songs``); groups smaller than ``min_songs`` are
    unsorted.

    ``between_birds``: the songs are grouped a first time with that tolerance, the
    tolerance between birds of one theme is measured on those groups
    (:func:`between_bird_tolerance`), and the songs are grouped again with it (the
    returned grouping's ``within`` is the first tolerance); False: grouped once.

    Up to ``exact_up_to`` songs, every pair's distance is computed (time grows with the
    square of the songs). Beyond, songs within :data:`RADIUS` of an earlier song are
    represented by it (:func:`representatives`) and the representatives are grouped,
    each weighted by the songs it stands for: time grows with the songs times the
    representatives. ``progress(n)`` advances by songs done, once per grouping (twice the
    songs in all with ``between_birds``).
    """
    within = within_bird_tolerance(songs) if tolerance is None else tolerance
    first = _group_once(songs, min_songs=min_songs, threshold=threshold, tol=within,
                        exact_up_to=exact_up_to, progress=progress)
    if not between_birds:
        return first
    tol = between_bird_tolerance(songs, first.labels, within)
    if tol == within:
        if progress is not None:
            progress(len(songs))
        return first
    again = _group_once(songs, min_songs=min_songs, threshold=threshold, tol=tol,
                        exact_up_to=exact_up_to, progress=progress)
    return dataclasses.replace(again, within=within)


def _group_once(songs: Sequence[SongFound], *, min_songs: int, threshold: float,
                tol: Tolerance, exact_up_to: int,
                progress: Callable[[int], object] | None) -> Grouping:
    """:func:`group_songs` with one tolerance."""
    n = len(songs)
    if n == 0:
        return Grouping([], np.zeros(0), {}, threshold, tol, within=tol)
    if n <= exact_up_to:
        lead, reps = np.arange(n), list(range(n))
    else:
        lead, reps = representatives(songs, tolerance=tol.value, radius=RADIUS,
                                     progress=progress)
    rep_songs = [songs[r] for r in reps]
    m = len(reps)
    d = np.zeros((m, m))
    for i in range(m - 1):
        d[i, i + 1:] = distances_to(rep_songs[i], rep_songs[i + 1:], tolerance=tol.value)
        if progress is not None and n <= exact_up_to:
            progress(1)
    d = d + d.T
    if progress is not None and n <= exact_up_to:
        progress(1)
    weights = np.bincount(lead, minlength=m)
    raw = average_linkage(d, weights, threshold)[lead]  # a cluster number per song
    ids = [k for k in np.unique(raw) if np.sum(raw == k) >= min_songs]
    # largest first; ties by the earliest song
    ids.sort(key=lambda k: (-int(np.sum(raw == k)), int(np.flatnonzero(raw == k)[0])))
    width = max(2, len(str(len(ids))))
    names = {k: f"D{i:0{width}d}" for i, k in enumerate(ids, start=1)}
    labels = _vouched([names.get(k, UNSORTED) for k in raw], songs,
                      lambda i, js: d[lead[i], lead[js]])
    to_centre = np.full(n, np.nan)
    centres: dict[str, int] = {}
    for name in names.values():
        members = np.array([i for i, g in enumerate(labels) if g == name])
        held = np.bincount(lead[members], minlength=m)  # songs per representative
        mean = d[lead[members]] @ held / len(members)  # each member's mean distance
        centre = int(members[np.argmin(mean)])
        centres[name] = centre
        to_centre[members] = d[lead[members], lead[centre]]
    shared = shared_recordings(labels, songs, lambda a, b: d[np.ix_(lead[a], lead[b])])
    return Grouping(labels, to_centre, centres, threshold, tol, shared, within=tol)
