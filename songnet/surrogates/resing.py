"""A real song sung again: its notes and trill syllables re-spaced, its trill shortened or
lengthened, within the variation its bird's other songs show.

A bird does not sing one song twice alike: the gaps between its introductory notes and
the number of its trill syllables change from song to song (``DESIGN.md``, "Real songs").
A few real songs of a theme, copied with pitch, tempo and background alone, teach the
network those few songs' exact timing. :func:`resing` cuts a real song at its notes and
syllables (the times ``songnet themes`` read from it) and puts it back together:

- each gap up to the trill, scaled by a factor drawn from the range of that gap over the
  theme's real songs (each gap against its median over them);
- the trill, cut after fewer syllables or lengthened by repeating its last whole period
  (a syllable and the silence after it), to a count drawn from the range the theme's real
  songs hold.

The pieces are the recording's own samples, so notes, echoes and background stay as
recorded; a re-spaced gap is the gap's own background, cut shorter or lengthened with its
own samples, each new join faded over :data:`FADE_S`. With a single real song, or songs
read with different numbers of notes, the ranges are that song's own values: nothing
changes.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import numpy as np

from songnet.synth import SR

__all__ = ["FADE_S", "MARGIN_S", "SR", "SongVariation", "resing", "theme_variation"]

MARGIN_S = 0.01
"""Samples kept around each note and syllable when it is cut out (s)."""
FADE_S = 0.003
"""Cross-fade at every join of two pieces that were not next to each other (s)."""
GAP_RATIO = (0.5, 2.0)
"""A gap is never scaled beyond these factors, whatever the songs show."""


@dataclasses.dataclass(frozen=True)
class SongVariation:
    """How a theme's real songs vary.

    Attributes
    ----------
    counts : (int, int)
        The fewest and the most trill syllables a real song of the theme holds.
    gap_ratio : (float, float)
        The lowest and highest ratio of a gap (between introductory notes, and before the
        trill) to that gap's median over the theme's songs.
    """

    counts: tuple[int, int]
    gap_ratio: tuple[float, float]


def theme_variation(songs: Sequence) -> dict[str, SongVariation]:
    """Each theme's :class:`SongVariation` from its real songs (those read with their notes).

    Gaps are compared over the songs read with the theme's most common number of notes;
    a theme with one such song gets ratio ``(1, 1)``.
    """
    out: dict[str, SongVariation] = {}
    for theme in sorted({s.theme for s in songs}):
        own = [s for s in songs if s.theme == theme and s.n_intro >= 1
               and len(s.parts) - s.n_intro >= 2]
        if not own:
            continue
        counts = [len(s.parts) - s.n_intro for s in own]
        n_intro = max(set(s.n_intro for s in own), key=[s.n_intro for s in own].count)
        gaps = np.array([_gaps(s) for s in own if s.n_intro == n_intro])
        ratio = (1.0, 1.0)
        if gaps.shape[0] >= 2:
            median = np.median(gaps, axis=0)
            r = gaps[:, median > 0] / median[median > 0]
            if r.size:
                ratio = (float(np.clip(r.min(), *GAP_RATIO)), float(np.clip(r.max(), *GAP_RATIO)))
        out[theme] = SongVariation((min(counts), max(counts)), ratio)
    return out


def _gaps(song) -> np.ndarray:
    """The gaps after each introductory note (the last one: before the trill), s."""
    p = song.parts
    return np.array([max(p[i + 1][0] - p[i][1], 0.0) for i in range(song.n_intro)])


def resing(song, variation: SongVariation, rng: np.random.Generator, *,
           max_samples: int | None = None) -> np.ndarray:
    """``song``'s samples sung again with gaps and trill count drawn from ``variation``
    (see the module docstring); float64. A song whose notes were not read, or whose trill
    has fewer than two syllables, comes back as recorded. The trill is kept at its own
    count when the longer one would pass ``max_samples``."""
    y = np.asarray(song.samples, dtype=np.float64)
    n, parts = song.n_intro, song.parts
    count = len(parts) - n
    if n < 1 or count < 2:
        return y
    on = [min(max(round(a * SR), 0), y.size) for a, _ in parts]
    off = [min(max(round(b * SR), 0), y.size) for _, b in parts]
    m = round(MARGIN_S * SR)
    # cut points around each introductory note: a margin, at most half the gap
    ranges: list[tuple[int, int]] = [(0, max(on[0] - m, 0))]
    for i in range(n):
        gap = max(on[i + 1] - off[i], 0)
        a = off[i] + min(m, gap // 2)
        b = on[i + 1] - min(m, gap - gap // 2)
        ranges.append((ranges[-1][1], a))  # the note with its margins
        want = round(float(rng.uniform(*variation.gap_ratio)) * gap) - (gap - (b - a))
        ranges += _resized((a, b), want)
    start = ranges[-1][1]
    fewest, most = variation.counts
    target = int(rng.integers(fewest, max(most, fewest) + 1))
    trill = _trill(on[n:], off[n:], start, y.size, m, target)
    out = _join(y, ranges + trill)
    if max_samples is not None and out.size > max_samples and target > count:
        out = _join(y, ranges + _trill(on[n:], off[n:], start, y.size, m, count))
    return out


def _resized(gap: tuple[int, int], want: int) -> list[tuple[int, int]]:
    """Sample ranges of ``y`` that make the gap ``gap`` ``want`` samples long: its two ends
    when shorter; when longer, its middle repeated between its two halves (a gap with no
    samples stays as it is)."""
    a, b = gap
    size = b - a
    want = max(want, 0)
    if want <= size:
        return [(a, a + want // 2), (b - (want - want // 2), b)]
    half = a + size // 2
    fill = []
    extra = want - size
    while extra > 0 and size > 0:
        piece = min(extra, size)
        s0 = a + (size - piece) // 2
        fill.append((s0, s0 + piece))
        extra -= piece
    return [(a, half), *fill, (half, b)]


def _trill(on: list[int], off: list[int], start: int, end: int, m: int, count: int
           ) -> list[tuple[int, int]]:
    """Sample ranges of the trill cut or lengthened to ``count`` syllables, then the song's
    tail. A period runs from one syllable's cut point to the next's."""
    c = len(on)
    cut = [start] + [max(o - m, start) for o in on[1:]]
    last_end = min(off[-1] + m, end)
    if count <= c:
        stop = min(off[count - 1] + m, end) if count < c else last_end
        # the syllable `count - 1` ends the trill; then the tail after the last syllable
        return [(start, max(stop, cut[count - 1])), (last_end, end)]
    period = (cut[c - 2], cut[c - 1])  # the last whole period, repeated
    return ([(start, cut[c - 1])] + [period] * (count - c)
            + [(cut[c - 1], last_end), (last_end, end)])


def _join(y: np.ndarray, ranges: list[tuple[int, int]]) -> np.ndarray:
    """``y``'s ranges one after another; where two do not meet in ``y`` the join is a
    cross-fade of :data:`FADE_S` (shorter when a piece is)."""
    fade = round(FADE_S * SR)
    pieces: list[np.ndarray] = []
    prev_end = None
    for a, b in ranges:
        if b <= a:
            continue
        piece = y[a:b].copy()
        if pieces and prev_end != a:
            k = min(fade, pieces[-1].size, piece.size)
            if k > 0:
                w = np.linspace(0.0, 1.0, k + 2)[1:-1]
                head = pieces[-1]
                piece[:k] = head[-k:] * (1 - w) + piece[:k] * w
                pieces[-1] = head[:-k]
        pieces.append(piece)
        prev_end = b
    return np.concatenate(pieces) if pieces else y[:0].copy()
