"""Foreign themes: songs the catalog does not hold, for the network's ``unknown`` class.

A network trained only on the catalog's themes learns just enough to tell *them* apart; a
theme it never heard lands wherever the features it happened to learn put it, often close
to a known theme and with a confident wrong name (the open-set problem). So the dataset
also holds songs of **foreign themes**, labelled ``unknown``: random themes drawn from the
same grammar as real chingolo introductions (DESIGN.md, "Real songs"), each sung once by its
own bird. Learning to call them ``unknown`` makes the network look at the whole
introduction, so a new theme comes out far from every known one (Hendrycks et al. 2019,
"Deep anomaly detection with outlier exposure", do the same with outside data).

A foreign theme must really be another theme, not a variant of a catalog one: it is kept
only when :func:`theme_distance` puts it at least ``min_distance`` from every catalog theme.
The distance counts, after the best common transposition (±10 %) and tempo (±12 %), one
unit per introductory note added or dropped, and up to one per note sung differently
(10 % of pitch, or a factor 1.5 in length, is one unit), plus one for another trill. A
realistic 1966 → 2020 drift (one note dropped or repeated, 5–8 % transposition, ±10 %
tempo, a trill rate changed by up to a third: :func:`songnet.resynth.variants.drift_variant`)
stays near 1;
the default ``min_distance`` of 2 keeps foreign themes at least two notes' worth away.

Half of them (``near``) are *near misses*: a catalog theme with two or three of its notes
changed, added or dropped (:func:`mutate_theme`), still ``min_distance`` away. These teach
the sharpest boundary; each records the theme it came from, so that a leave-one-theme-out
check can drop the near misses of the theme it holds out (they would tell the network
where that theme lies).

Most foreign themes keep the catalog's dialect trill (a theme heard in the same place); a
share ``own_trill`` of them get a trill of another dialect (a bird from elsewhere).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import numpy as np

from songnet.core.errors import SongnetError
from songnet.core.labels import UNKNOWN
from songnet.song.distance import intro_distance
from songnet.surrogates.themes import Note, Theme, Trill

__all__ = ["MAX_SONG_S", "NOTE_KINDS", "foreign_themes", "mutate_theme", "random_theme",
           "theme_distance"]

NOTE_KINDS = ("whistle", "rising", "long_down", "short_down", "upsweep", "chevron", "click")
"""The kinds of introductory note drawn (their ranges: :func:`_random_note`)."""
MAX_SONG_S = 2.5
"""Longest foreign song (s), as the longest real ones."""


def _random_note(kind: str, rng: np.random.Generator) -> Note:
    """One introductory note of ``kind``, in the ranges real ones take (kHz, ms)."""
    u = rng.uniform
    gap = u(0.03, 0.12)
    if kind == "whistle":
        return Note("whistle", (u(3.6, 5.6) * 1e3,), u(0.08, 0.32), gap)
    if kind == "rising":
        f0 = u(3.8, 5.0)
        return Note("slur", (f0 * 1e3, f0 * u(1.08, 1.3) * 1e3), u(0.12, 0.32), gap)
    if kind == "long_down":
        return Note("sweep", (u(5.3, 7.4) * 1e3, u(2.9, 4.2) * 1e3), u(0.15, 0.5), gap)
    if kind == "short_down":
        return Note("sweep", (u(5.2, 7.2) * 1e3, u(3.4, 4.6) * 1e3), u(0.05, 0.15), gap)
    if kind == "upsweep":
        return Note("sweep", (u(2.9, 4.2) * 1e3, u(5.3, 7.4) * 1e3), u(0.12, 0.45), gap)
    if kind == "chevron":
        lo, hi = u(3.2, 4.2), u(5.2, 7.0)
        return Note("chevron", (lo * 1e3, hi * 1e3, lo * u(0.9, 1.1) * 1e3), u(0.08, 0.25),
                    gap)
    if kind == "click":  # the short high or low notes of alternating introductions
        return Note("whistle", (u(3.2, 7.0) * 1e3,), u(0.03, 0.08), u(0.03, 0.08))
    raise SongnetError(f"unknown note kind {kind!r}; use one of {', '.join(NOTE_KINDS)}")


def _random_trill(rng: np.random.Generator, like: Trill) -> Trill:
    """A trill of another dialect: still the species' fast downsweeps (DESIGN.md, "Real
    songs": 25–50 ms from 6.0–6.5 kHz to 3.3–4.0 kHz), at another pitch, length and rate.
    Other syllable shapes are other species' trills (:mod:`songnet.surrogates.others`)."""
    u = rng.uniform
    note_s = u(0.022, 0.05)
    shape = "sweep"
    low = u(3.3, 4.3)  # a syllable sings at one gamma: a ratio of at most ~1.9
    pitch = (low * u(1.4, 1.9) * 1e3, low * 1e3)
    interval = note_s + u(0.015, 0.08)
    count = int(rng.integers(8, 22))
    return dataclasses.replace(like, shape=shape, pitch_hz=pitch, note_s=note_s,
                               interval_s=interval, count=count, second=None,
                               drift_pitch=u(-0.05, 0.02), drift_interval=u(0.0, 0.1))


def random_theme(rng: np.random.Generator, *, trill: Trill, own_trill: float = 0.25,
                 name: str = UNKNOWN) -> Theme:
    """A random theme: 1–5 introductory notes of :data:`NOTE_KINDS`, then a trill.

    Parameters
    ----------
    rng : numpy.random.Generator
    trill : Trill
        The locality's trill (the catalog's dialect), kept with chance ``1 - own_trill``.
    own_trill : float
        Chance of a trill of another dialect instead.
    name : str
        The theme's name.
    """
    n = int(rng.choice([1, 2, 2, 3, 3, 3, 4, 4, 5]))
    notes: list[Note] = []
    while len(notes) < n:
        if notes and rng.uniform() < 0.25:  # a repeated note (as T04, T07, T11)
            notes.append(notes[-1])
            continue
        kind = NOTE_KINDS[int(rng.integers(len(NOTE_KINDS)))]
        if kind == "click":  # alternating short notes come in runs
            notes += [_random_note(kind, rng) for _ in range(int(rng.integers(2, 6)))]
        else:
            notes.append(_random_note(kind, rng))
    notes = notes[:6]
    song_trill = trill if rng.uniform() >= own_trill else _random_trill(rng, trill)
    return Theme(name=name, notes=tuple(notes), trill=song_trill,
                 description="foreign theme (random)", source="<foreign>")


def mutate_theme(base: Theme, rng: np.random.Generator, *, edits: int = 2) -> Theme:
    """``base`` with ``edits`` random changes: a note replaced, added or dropped, one note's
    pitch moved by 15–35 % or its length by a factor 1.6–2.5. Named :data:`UNKNOWN`."""
    notes = list(base.notes)
    for _ in range(edits):
        what = int(rng.integers(5)) if len(notes) > 1 else int(rng.choice([0, 1, 3, 4]))
        i = int(rng.integers(len(notes)))
        kind = NOTE_KINDS[int(rng.integers(len(NOTE_KINDS) - 1))]  # no click runs here
        if what == 0:
            notes[i] = _random_note(kind, rng)
        elif what == 1 and len(notes) < 6:
            notes.insert(int(rng.integers(len(notes) + 1)), _random_note(kind, rng))
        elif what == 2:
            del notes[i]
        elif what == 3:
            factor = rng.uniform(1.15, 1.35) ** rng.choice([-1, 1])
            notes[i] = dataclasses.replace(notes[i], pitch_hz=tuple(
                float(np.clip(p * factor, 2500.0, 8000.0)) for p in notes[i].pitch_hz))
        else:
            factor = rng.uniform(1.6, 2.5) ** rng.choice([-1, 1])
            notes[i] = dataclasses.replace(
                notes[i], duration_s=float(np.clip(notes[i].duration_s * factor, 0.03, 0.5)))
    return Theme(name=UNKNOWN, notes=tuple(notes), trill=base.trill,
                 description=f"foreign theme (near {base.name})", source="<foreign>")


def _trill_differs(a: Trill, b: Trill) -> bool:
    """Another dialect's trill: another shape, start or end pitch (15 %) or rate (×1.4)."""
    rate = abs(np.log(a.interval_s / b.interval_s)) > np.log(1.4)
    pitch = np.abs(np.log(np.array(a.pitch_hz[:1] + a.pitch_hz[-1:])
                          / np.array(b.pitch_hz[:1] + b.pitch_hz[-1:]))).max() > np.log(1.15)
    return bool(rate or pitch or a.shape != b.shape)


def theme_distance(a: Theme, b: Theme) -> float:
    """How many notes' worth two themes differ by (see the module text); 0 = the same.

    Symmetric: the smaller of the two directions of alignment.
    """
    return intro_distance(a.note_vectors(), b.note_vectors()) + float(_trill_differs(a.trill,
                                                                                    b.trill))


def foreign_themes(catalog: Sequence[Theme], n: int, *, rng: np.random.Generator,
                   min_distance: float = 2.0, own_trill: float = 0.25, near: float = 0.5,
                   max_s: float = MAX_SONG_S) -> list[tuple[Theme, str]]:
    """``n`` foreign themes, each at least ``min_distance`` from every catalog theme and
    no longer than ``max_s`` seconds (real songs last 1.5–2.5 s).

    A share ``near`` are near misses (:func:`mutate_theme` of a random catalog theme); the
    rest are drawn from the grammar (:func:`random_theme`), with the first catalog theme's
    trill (the catalog's dialect) or, with chance ``own_trill``, another one.

    Returns
    -------
    list of (Theme, str)
        Each theme with the name of the catalog theme it was mutated from ("" for none).

    Raises
    ------
    SongnetError
        When the catalog leaves too little room: fewer than one draw in 50 is far enough.
    """
    if not catalog:
        raise SongnetError("foreign themes need a catalog to stay away from; give one")
    out: list[tuple[Theme, str]] = []
    tries = 0
    while len(out) < n:
        tries += 1
        if tries > 50 * (n + 10):
            raise SongnetError(f"only {len(out)} of {n} random themes lie {min_distance:g} "
                               "from every catalog theme; lower synthesize.unknown_distance")
        if rng.uniform() < near:
            base = catalog[int(rng.integers(len(catalog)))]
            theme, origin = mutate_theme(base, rng, edits=int(rng.choice([2, 2, 3]))), base.name
        else:
            theme, origin = random_theme(rng, trill=catalog[0].trill, own_trill=own_trill), ""
        if theme.duration_s <= max_s and all(theme_distance(theme, c) >= min_distance
                                             for c in catalog):
            out.append((theme, origin))
    return out
