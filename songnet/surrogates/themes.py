"""Song themes: the catalog (one YAML file per theme), validation, and pitch contours.

In one locality every bird sings the same trill, the *dialect*; themes differ in their
introductory notes (DESIGN.md, "Song"). A catalog folder therefore holds a
``dialect.yaml`` with the shared trill and one file per theme::

    # dialect.yaml
    name: Pereyra
    description: the locality's trill
    trill:                    # one brief syllable repeated (see below)
      {shape: sweep, pitch_khz: [6.3, 3.8], note_ms: 40, interval_ms: 70, count: 15,
       peak_at: 0.7, loudness: [0.55, 1.0, 0.7], drift: {pitch: -0.03, interval: 0.06},
       jitter: 0.01}

    # T01.yaml
    name: T01
    description: a 4.6 kHz whistle and a long 6.6-to-3.4 kHz downsweep
    notes:                    # the introductory notes, in order
      - {shape: whistle, pitch_khz: [4.6], duration_ms: 190, gap_ms: 60}
      - {shape: sweep, pitch_khz: [6.6, 3.4], duration_ms: 330, gap_ms: 70}

A theme inherits the dialect's trill; a ``trill:`` mapping in the theme file overrides
single keys of it (``trill: {interval_ms: 90}``). A theme file that gives a complete
``trill:`` of its own (the format before dialects) loads as before, with or without a
``dialect.yaml`` beside it. ``shape`` is one of ``whistle``, ``sweep``, ``chevron``,
``slur`` (see :func:`songnet.synth.note_contour`); ``gap_ms`` is the silence after a note.
Trill keys: ``shape``, ``pitch_khz``, ``note_ms``, ``interval_ms``, ``count`` (required);
``peak_at`` (where the syllable envelope peaks, 0–1; absent: flat), ``loudness`` (relative
level of the first, loudest and last syllables), ``drift`` (``pitch`` and ``interval``:
relative change from first to last syllable), ``jitter`` (syllable-to-syllable pitch and
timing s.d.), ``second`` (a second element: ``shape``, ``pitch_khz``, ``note_ms``,
``gap_ms``, ``level``). A learned theme (``songnet themes learn``) may add ``spread:
{pitch, tempo, songs}``, the measured song-to-song variation. One note may span a pitch
ratio of up to :data:`MAX_NOTE_RATIO` (the model varies γ slowly for wide songs:
:func:`songnet.synth.gamma_profile`).

The default catalog in ``songnet/surrogates/catalog/`` is illustrative: built from
published facts and measurements of real chingolo songs (DESIGN.md, "Real songs"), not
transcribed from recordings.
"""

from __future__ import annotations

import dataclasses
import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from songnet.core.errors import SongnetError
from songnet.core.labels import NO_SONG, UNKNOWN
from songnet.core.params import read_yaml, short_repr
from songnet.song.distance import note_vector
from songnet.surrogates.fields import TRILL_KEYS, FieldReader, spread_fields, trill_fields
from songnet.synth import SR, TONAL_BETA, f0_for_beta, note_contour, trill_contour

__all__ = [
    "DEFAULT_CATALOG",
    "DIALECT_FILE",
    "MAX_NOTE_RATIO",
    "MAX_THEME_S",
    "Element",
    "Note",
    "Spread",
    "Theme",
    "Trill",
    "contour",
    "load_catalog",
    "load_dialect",
    "load_theme",
    "theme_from_mapping",
]

DEFAULT_CATALOG = Path(__file__).with_name("catalog")
DIALECT_FILE = "dialect.yaml"
"""The catalog-level file holding the trill its themes share."""
VARIATION_MARGIN = 1.06
"""A trill syllable must fit one γ even when a bird shifts its pitches by this factor."""
MAX_NOTE_RATIO = 3.2
"""Widest pitch ratio of one introductory note (a 2.5 → 7.5 kHz sweep is 3)."""
_NAME = re.compile(r"(?!\.)[\w.+-]{1,60}")
MAX_THEME_S = 10.0
"""Longest song a theme may describe, in seconds (real songs last about two)."""



@dataclasses.dataclass(frozen=True)
class Note:
    """One introductory note: a pitch contour (Hz), its duration and the gap after it (s)."""

    shape: str
    pitch_hz: tuple[float, ...]
    duration_s: float
    gap_s: float


@dataclasses.dataclass(frozen=True)
class Element:
    """A second element of a trill syllable, ``gap_s`` after the first, at ``level``."""

    shape: str
    pitch_hz: tuple[float, ...]
    note_s: float
    gap_s: float
    level: float = 0.7


@dataclasses.dataclass(frozen=True)
class Trill:
    """The trill: ``count`` syllables of ``note_s`` seconds, one every ``interval_s`` seconds.

    ``peak_at`` (None: flat envelope), ``loudness`` (first, loudest, last syllable),
    ``drift_pitch`` and ``drift_interval`` (relative change first → last), ``jitter``
    (syllable-to-syllable s.d.) and ``second`` (a second element) shape it as a real trill
    (see :func:`songnet.synth.trill_contour`).
    """

    shape: str
    pitch_hz: tuple[float, ...]
    note_s: float
    interval_s: float
    count: int
    peak_at: float | None = None
    loudness: tuple[float, float, float] = (1.0, 1.0, 1.0)
    drift_pitch: float = 0.0
    drift_interval: float = 0.0
    jitter: float = 0.0
    second: Element | None = None

    @property
    def syllable_s(self) -> float:
        """One syllable's length, with its second element (s)."""
        return self.note_s + (0.0 if self.second is None else self.second.gap_s
                              + self.second.note_s)

    def duration_s(self, count: int | None = None) -> float:
        """From the first syllable's onset to the last one's end (s)."""
        count = self.count if count is None else count
        k = np.arange(count - 1)
        drift = 1 + self.drift_interval * k / max(count - 1, 1)
        return float(np.sum(self.interval_s * drift)) + self.syllable_s

    @property
    def pitches_hz(self) -> tuple[float, ...]:
        """Every pitch the trill reaches (Hz), drift included."""
        p = list(self.pitch_hz) + ([] if self.second is None else list(self.second.pitch_hz))
        return tuple(p) + tuple(v * (1 + self.drift_pitch) for v in p)


@dataclasses.dataclass(frozen=True)
class Spread:
    """Song-to-song variation measured in real songs (``spread:``, written by
    ``songnet themes learn``): s.d. of a song's transposition and of its tempo (fractions),
    over ``songs`` songs. When given, it replaces ``bird_pitch_sd`` and ``bird_tempo_sd``
    for this theme's birds."""

    pitch: float
    tempo: float
    songs: int


@dataclasses.dataclass(frozen=True)
class Theme:
    """A song theme: introductory notes then a trill (and, optionally, its spread)."""

    name: str
    notes: tuple[Note, ...]
    trill: Trill
    description: str = ""
    source: str = "<mapping>"
    spread: Spread | None = None

    @property
    def duration_s(self) -> float:
        """Song duration (s) from the first note's onset to the last trill note's end."""
        intro = sum(n.duration_s + n.gap_s for n in self.notes)
        return intro + self.trill.duration_s()

    @property
    def pitch_range_hz(self) -> tuple[float, float]:
        """Lowest and highest pitch of the song (Hz)."""
        p = [f for n in self.notes for f in n.pitch_hz] + list(self.trill.pitches_hz)
        return min(p), max(p)

    def note_vectors(self) -> np.ndarray:
        """The introduction as note vectors ``(k, 4)``, what introductions are compared by
        (:func:`songnet.song.distance.note_vector`,
        :func:`songnet.song.distance.intro_distance`)."""
        return np.stack([note_vector(n.pitch_hz, n.duration_s) for n in self.notes])

    def summary(self) -> dict[str, Any]:
        """A flat, JSON-ready description (for ``songnet themes``)."""
        lo, hi = self.pitch_range_hz
        return {"name": self.name, "n_notes": len(self.notes),
                "note_shapes": "+".join(n.shape for n in self.notes),
                "trill_shape": self.trill.shape,
                "trill_interval_ms": round(self.trill.interval_s * 1000, 1),
                "trill_count": self.trill.count, "pitch_min_khz": round(lo / 1000, 2),
                "pitch_max_khz": round(hi / 1000, 2), "duration_s": round(self.duration_s, 3),
                "description": self.description}


def _read_yaml(path: Path, what: str) -> Any:
    """Size-capped, alias-free YAML (:func:`songnet.core.params.read_yaml`)."""
    return read_yaml(path, what=what, error=SongnetError)


def load_dialect(path: str | os.PathLike) -> dict[str, Any]:
    """Read a catalog's ``dialect.yaml``: its shared ``trill`` mapping (checked on use).

    Returns
    -------
    dict
        ``{"name": str, "description": str, "trill": mapping, "source": str}``.
    """
    path = Path(path)
    r = FieldReader(str(path))
    m = r.mapping(_read_yaml(path, "dialect"), "")
    unknown = sorted(set(m) - {"name", "description", "trill"})
    if unknown:
        r.fail(unknown[0], " is not a dialect field; use name, description and trill")
    trill = dict(r.mapping(r.get(m, "trill", dict, ""), "trill"))
    bad = sorted(set(trill) - set(TRILL_KEYS))
    if bad:
        r.fail(f"trill.{bad[0]}", f" is not a trill field; use {', '.join(TRILL_KEYS)}")
    return {"name": str(m.get("name", path.parent.name)),
            "description": str(m.get("description", "")), "trill": trill,
            "source": str(path)}


def load_theme(path: str | os.PathLike, *, dialect: Mapping[str, Any] | None = None) -> Theme:
    """Read and validate one theme YAML file.

    Parameters
    ----------
    path : path
        The theme file.
    dialect : mapping, optional
        The catalog's dialect (:func:`load_dialect`); default: the ``dialect.yaml`` beside
        ``path``, if there is one.
    """
    path = Path(path)
    if dialect is None and (path.parent / DIALECT_FILE).is_file():
        dialect = load_dialect(path.parent / DIALECT_FILE)
    return theme_from_mapping(_read_yaml(path, "theme"), source=str(path), dialect=dialect)


def load_catalog(folder: str | os.PathLike | None = None) -> list[Theme]:
    """All themes (``*.yaml``) of a catalog folder, sorted by name; default: the shipped one.

    The folder's ``dialect.yaml``, when present, gives the trill its themes share.
    """
    folder = DEFAULT_CATALOG if folder is None else Path(folder)
    if not folder.is_dir():
        raise SongnetError(f"theme catalog folder {folder} not found; pass a folder of "
                           "theme YAML files")
    files = [f for f in sorted(folder.glob("*.yaml")) + sorted(folder.glob("*.yml"))
             if f.name not in (DIALECT_FILE, "dialect.yml")]
    if not files:
        raise SongnetError(f"theme catalog folder {folder} holds no *.yaml theme files")
    dialect_path = next((folder / n for n in (DIALECT_FILE, "dialect.yml")
                         if (folder / n).is_file()), None)
    dialect = None if dialect_path is None else load_dialect(dialect_path)
    themes = [load_theme(f, dialect=dialect) for f in files]
    names = [t.name for t in themes]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise SongnetError(f"{folder}: theme name {dup[0]!r} is used by more than one file; "
                           "give each theme its own name")
    for reserved in (NO_SONG, UNKNOWN):
        if reserved in names:
            raise SongnetError(f"{folder}: {reserved!r} is reserved (a class of its own); "
                               "rename that theme")
    return sorted(themes, key=lambda t: t.name)


def theme_from_mapping(data: Any, *, source: str = "<mapping>",
                       dialect: Mapping[str, Any] | None = None) -> Theme:
    """Build and validate a :class:`Theme` from parsed YAML; errors name file and field.

    ``dialect`` (:func:`load_dialect`) gives the trill; the theme's own ``trill:`` keys
    override it. Without a dialect the theme must give a complete trill.
    """
    r = FieldReader(source)
    m = r.mapping(data, "")
    name = r.get(m, "name", str, "")
    if not _NAME.fullmatch(name):
        r.fail("name", f"={short_repr(name)} must be a name of letters, digits, '-', '_' or "
               "'.' (up to 60, not starting with '.'): it names files")
    raw_notes = r.get(m, "notes", list, "")
    if not 1 <= len(raw_notes) <= 6:
        r.fail("notes", f" has {len(raw_notes)} notes; give 1 to 6 introductory notes")
    notes = []
    for i, raw in enumerate(raw_notes):
        where = f"notes[{i}]."
        nm = r.mapping(raw, f"notes[{i}]")
        shape = r.shape(nm, where)
        pitches = r.pitches(nm, where, shape)
        if max(pitches) / min(pitches) > MAX_NOTE_RATIO:
            r.fail(where + "pitch_khz", f"={[p / 1000 for p in pitches]} spans a pitch ratio "
                   f"of {max(pitches) / min(pitches):.2f}; one note may span at most "
                   f"{MAX_NOTE_RATIO:g} (split it into two notes)")
        notes.append(Note(shape=shape, pitch_hz=pitches,
                          duration_s=r.positive(nm, "duration_ms", where) / 1000,
                          gap_s=r.positive(nm, "gap_ms", where, zero_ok=True) / 1000))
    own = m.get("trill")
    if own is not None:
        own = r.mapping(own, "trill")
    if dialect is None and own is None:
        r.fail("trill", " is missing, and there is no dialect.yaml beside the theme to give "
               "it; add a trill: mapping, or put the theme in a catalog folder with a "
               "dialect.yaml")
    merged = dict(dialect["trill"] if dialect is not None else {})
    merged.update(own or {})
    trill = _trill(r, merged, "trill." if own else "dialect trill.")
    description = m.get("description", "")
    spread = None if m.get("spread") is None else Spread(**spread_fields(r, m["spread"]))
    theme = Theme(name=name, notes=tuple(notes), trill=trill, description=str(description),
                  source=source, spread=spread)
    if theme.duration_s > MAX_THEME_S:
        r.fail("notes", f" and trill last {theme.duration_s:.3g} s, over the limit of "
               f"{MAX_THEME_S:g} s for one song; shorten the notes, gaps or trill")
    return theme


def _trill(r: FieldReader, tm: Mapping, where: str) -> Trill:
    """The trill from its (merged) mapping; ``where`` prefixes field names in errors."""
    kw = trill_fields(r, tm, where)
    second = None if kw["second"] is None else Element(**kw["second"])
    trill = Trill(**{**kw, "second": second})
    di, jitter = trill.drift_interval, trill.jitter
    shortest = trill.interval_s * (1 + min(di, 0.0)) * (1 - 3 * jitter)
    if trill.syllable_s >= shortest:
        r.fail(where + "note_ms", f"={trill.note_s * 1000:g} must be shorter than "
               f"{where}interval_ms={trill.interval_s * 1000:g} (with the second element, "
               "drift and jitter)")
    for pitches in ([trill.pitch_hz] + ([] if second is None else [second.pitch_hz])):
        span = max(pitches) / min(pitches) * VARIATION_MARGIN ** 2
        if span > _one_gamma_ratio():
            r.fail(where + "pitch_khz", f" values span {min(pitches) / 1000:.2f}–"
                   f"{max(pitches) / 1000:.2f} kHz: a trill syllable must fit one gamma "
                   f"(a ratio of at most {_one_gamma_ratio() / VARIATION_MARGIN ** 2:.2f})")
    return trill


def _one_gamma_ratio() -> float:
    """The widest pitch ratio β sings at one γ (within :data:`TONAL_BETA`)."""
    lo, hi = f0_for_beta(np.array(TONAL_BETA))
    return float(hi / lo)


def contour(theme: Theme, *, pitch: float = 1.0, tempo: float = 1.0,
            note_pitch: Sequence[float] | None = None, note_time: Sequence[float] | None = None,
            note_amp: Sequence[float] | None = None, trill_interval: float = 1.0,
            trill_count: int | None = None, lead_s: float = 0.05, sr: int = SR,
            rng: np.random.Generator | None = None
            ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The pitch contour and amplitude of one song of ``theme``, one point per sample.

    Parameters
    ----------
    theme : Theme
    pitch : float
        Factor on every pitch (a bird's personal transposition).
    tempo : float
        Durations and gaps are divided by it.
    note_pitch, note_time, note_amp : sequence of float, optional
        Per introductory note factors on pitch and duration, and amplitudes (0–1).
    trill_interval : float
        Factor on the trill interval (and syllable length).
    trill_count : int, optional
        Number of trill syllables (default: the theme's).
    lead_s : float
        Silence before the first note (s), also kept after the last one.
    sr : int
        Sample rate (Hz).
    rng : numpy.random.Generator, optional
        Draws the trill's syllable-to-syllable jitter (``trill.jitter``); None: none.

    Returns
    -------
    times_s, f0_hz, amplitude : np.ndarray [shape=(n,)]
        ``f0_hz`` is NaN and ``amplitude`` 0 between notes.
    """
    k = len(theme.notes)
    note_pitch = np.ones(k) if note_pitch is None else np.asarray(note_pitch, dtype=float)
    note_time = np.ones(k) if note_time is None else np.asarray(note_time, dtype=float)
    note_amp = np.ones(k) if note_amp is None else np.asarray(note_amp, dtype=float)
    tr = theme.trill
    count = tr.count if trill_count is None else max(1, int(trill_count))
    scale = trill_interval / tempo
    second = None if tr.second is None else (
        tr.second.shape, np.array(tr.second.pitch_hz) * pitch, tr.second.note_s * scale,
        tr.second.gap_s * scale, tr.second.level)
    trill_f0, trill_amp = trill_contour(
        count, pitch_hz=np.array(tr.pitch_hz) * pitch, note_s=tr.note_s * scale,
        interval_s=tr.interval_s * scale, shape=tr.shape, sr=sr, loudness=tr.loudness,
        peak_at=tr.peak_at, drift_pitch=tr.drift_pitch, drift_interval=tr.drift_interval,
        second=second, jitter=tr.jitter, rng=rng)
    t = lead_s
    onsets = []
    for i, note in enumerate(theme.notes):
        onsets.append(t)
        t += (note.duration_s * note_time[i] + note.gap_s) / tempo
    i_trill = round(t * sr)
    n = i_trill + trill_f0.size + round(lead_s * sr)
    f0 = np.full(n, np.nan)
    amp = np.zeros(n)
    for i, (note, onset) in enumerate(zip(theme.notes, onsets, strict=True)):
        i0 = round(onset * sr)
        m = max(2, round(note.duration_s * note_time[i] / tempo * sr))
        pitches = np.array(note.pitch_hz) * pitch * note_pitch[i]
        f0[i0:i0 + m] = note_contour(note.shape, pitches, m)[: n - i0]
        amp[i0:i0 + m] = note_amp[i]
    f0[i_trill:i_trill + trill_f0.size] = trill_f0
    amp[i_trill:i_trill + trill_f0.size] = trill_amp
    return np.arange(n) / sr, f0, amp
