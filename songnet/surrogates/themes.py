"""Song themes: the catalog (one YAML file per theme), validation, and pitch contours.

A theme file::

    name: T01
    description: a whistle, a long downsweep, fast grassland trill
    notes:                    # the introductory notes, in order
      - {shape: whistle, pitch_khz: [4.5], duration_ms: 150, gap_ms: 50}
      - {shape: sweep, pitch_khz: [5.0, 3.6], duration_ms: 300, gap_ms: 60}
    trill:                    # one brief note repeated
      {shape: sweep, pitch_khz: [6.4, 3.9], note_ms: 20, interval_ms: 50, count: 16}

``shape`` is one of ``whistle``, ``sweep``, ``chevron``, ``slur`` (see
:func:`songnet.synth.note_contour`); ``gap_ms`` is the silence after a note. The default
catalog in ``songnet/surrogates/catalog/`` is illustrative: built from published facts
about chingolo songs (2–4 introductory whistles, trill intervals 50–200 ms, pitches
2.5–8 kHz), not transcribed from recordings.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from songnet.core.errors import SongnetError
from songnet.core.labels import NO_SONG
from songnet.synth import SHAPES, SR, gamma_for_range, note_contour

__all__ = [
    "DEFAULT_CATALOG",
    "Note",
    "Theme",
    "Trill",
    "contour",
    "load_catalog",
    "load_theme",
    "theme_from_mapping",
]

DEFAULT_CATALOG = Path(__file__).with_name("catalog")
PITCH_LIMITS_HZ = (1500.0, 10000.0)
"""Pitches a theme may ask for: the model's reach over the γ values it uses."""
VARIATION_MARGIN = 1.06
"""A theme's pitch range must fit one γ even when a bird shifts it by this factor."""


@dataclasses.dataclass(frozen=True)
class Note:
    """One introductory note: a pitch contour (Hz), its duration and the gap after it (s)."""

    shape: str
    pitch_hz: tuple[float, ...]
    duration_s: float
    gap_s: float


@dataclasses.dataclass(frozen=True)
class Trill:
    """The trill: ``count`` notes of ``note_s`` seconds, one every ``interval_s`` seconds."""

    shape: str
    pitch_hz: tuple[float, ...]
    note_s: float
    interval_s: float
    count: int


@dataclasses.dataclass(frozen=True)
class Theme:
    """A song theme: introductory notes then a trill."""

    name: str
    notes: tuple[Note, ...]
    trill: Trill
    description: str = ""
    source: str = "<mapping>"

    @property
    def duration_s(self) -> float:
        """Song duration (s) from the first note's onset to the last trill note's end."""
        intro = sum(n.duration_s + n.gap_s for n in self.notes)
        return intro + (self.trill.count - 1) * self.trill.interval_s + self.trill.note_s

    @property
    def pitch_range_hz(self) -> tuple[float, float]:
        """Lowest and highest pitch of the song (Hz)."""
        p = [f for n in self.notes for f in n.pitch_hz] + list(self.trill.pitch_hz)
        return min(p), max(p)

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


def load_theme(path: str | os.PathLike) -> Theme:
    """Read and validate one theme YAML file."""
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise SongnetError(f"cannot read theme file {path}: {exc.strerror}") from exc
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise SongnetError(f"{path}: not a valid YAML theme file; fix the syntax") from exc
    return theme_from_mapping(data, source=str(path))


def load_catalog(folder: str | os.PathLike | None = None) -> list[Theme]:
    """All themes (``*.yaml``) of a catalog folder, sorted by name; default: the shipped one."""
    folder = DEFAULT_CATALOG if folder is None else Path(folder)
    if not folder.is_dir():
        raise SongnetError(f"theme catalog folder {folder} not found; pass a folder of "
                           "theme YAML files")
    files = sorted(folder.glob("*.yaml")) + sorted(folder.glob("*.yml"))
    if not files:
        raise SongnetError(f"theme catalog folder {folder} holds no *.yaml files")
    themes = [load_theme(f) for f in files]
    names = [t.name for t in themes]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise SongnetError(f"{folder}: theme name {dup[0]!r} is used by more than one file; "
                           "give each theme its own name")
    if NO_SONG in names:
        raise SongnetError(f"{folder}: {NO_SONG!r} is reserved for the background class; "
                           "rename that theme")
    return sorted(themes, key=lambda t: t.name)


def theme_from_mapping(data: Any, *, source: str = "<mapping>") -> Theme:
    """Build and validate a :class:`Theme` from parsed YAML; errors name file and field."""
    r = _Reader(source)
    m = r.mapping(data, "")
    name = r.get(m, "name", str, "")
    if not name or "/" in name or name != name.strip():
        r.fail("name", f"={name!r} must be a non-empty name without '/' or edge spaces")
    raw_notes = r.get(m, "notes", list, "")
    if not 1 <= len(raw_notes) <= 6:
        r.fail("notes", f" has {len(raw_notes)} notes; give 1 to 6 introductory notes")
    notes = []
    for i, raw in enumerate(raw_notes):
        where = f"notes[{i}]."
        nm = r.mapping(raw, f"notes[{i}]")
        shape = r.shape(nm, where)
        notes.append(Note(shape=shape, pitch_hz=r.pitches(nm, where, shape),
                          duration_s=r.positive(nm, "duration_ms", where) / 1000,
                          gap_s=r.positive(nm, "gap_ms", where, zero_ok=True) / 1000))
    tm = r.mapping(r.get(m, "trill", dict, ""), "trill")
    shape = r.shape(tm, "trill.")
    note_s = r.positive(tm, "note_ms", "trill.") / 1000
    interval_s = r.positive(tm, "interval_ms", "trill.") / 1000
    count = r.get(tm, "count", int, "trill.")
    if count < 1:
        r.fail("trill.count", f"={count} must be at least 1")
    if note_s >= interval_s:
        r.fail("trill.note_ms", f"={note_s * 1000:g} must be shorter than trill.interval_ms="
               f"{interval_s * 1000:g}")
    trill = Trill(shape=shape, pitch_hz=r.pitches(tm, "trill.", shape), note_s=note_s,
                  interval_s=interval_s, count=count)
    description = m.get("description", "")
    theme = Theme(name=name, notes=tuple(notes), trill=trill, description=str(description),
                  source=source)
    lo, hi = theme.pitch_range_hz
    try:
        gamma_for_range(lo / VARIATION_MARGIN, hi * VARIATION_MARGIN)
    except SongnetError as exc:
        r.fail("pitch_khz", f" values span {lo / 1000:.2f}–{hi / 1000:.2f} kHz: {exc}")
    return theme


class _Reader:
    """Field access with errors that name the file and the field."""

    def __init__(self, source: str) -> None:
        self.source = source

    def fail(self, field: str, what: str) -> None:
        raise SongnetError(f"{self.source}: field '{field}'{what}")

    def mapping(self, data: Any, field: str) -> Mapping:
        if not isinstance(data, Mapping):
            self.fail(field or "<top>", f" must be a mapping of fields, got {type(data).__name__}")
        return data

    def get(self, m: Mapping, key: str, tp: type, where: str) -> Any:
        if key not in m or m[key] is None:
            self.fail(where + key, " is missing; add it (see the catalog format in the README)")
        value = m[key]
        ok = isinstance(value, tp) and not (tp is int and isinstance(value, bool))
        if tp is float:
            ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        if not ok:
            self.fail(where + key, f"={value!r} must be of type {tp.__name__}")
        return value

    def positive(self, m: Mapping, key: str, where: str, *, zero_ok: bool = False) -> float:
        value = float(self.get(m, key, float, where))
        if not np.isfinite(value) or value < 0 or (value == 0 and not zero_ok):
            rule = "non-negative" if zero_ok else "positive"
            self.fail(where + key, f"={value:g} must be {rule}")
        return value

    def shape(self, m: Mapping, where: str) -> str:
        shape = self.get(m, "shape", str, where)
        if shape not in SHAPES:
            self.fail(where + "shape", f"={shape!r} must be one of {', '.join(SHAPES)}")
        return shape

    def pitches(self, m: Mapping, where: str, shape: str) -> tuple[float, ...]:
        if m.get("pitch_khz") is None:
            self.fail(where + "pitch_khz", " is missing; add it (a list of pitches in kHz)")
        raw = m["pitch_khz"]
        raw = [raw] if isinstance(raw, (int, float)) and not isinstance(raw, bool) else raw
        if not isinstance(raw, list) or not raw or not all(
                isinstance(v, (int, float)) and not isinstance(v, bool) for v in raw):
            self.fail(where + "pitch_khz", f"={raw!r} must be a list of numbers (kHz)")
        hz = tuple(float(v) * 1000 for v in raw)
        need = {"whistle": 1, "sweep": 2, "chevron": 2, "slur": 2}[shape]
        if len(hz) < need:
            self.fail(where + "pitch_khz", f" needs at least {need} pitches for a {shape}")
        lo, hi = PITCH_LIMITS_HZ
        for v in hz:
            if not (lo <= v <= hi):
                self.fail(where + "pitch_khz", f"={v / 1000:g} kHz cannot be reached by the "
                          f"model; use {lo / 1000:g}–{hi / 1000:g} kHz")
        return hz


def contour(theme: Theme, *, pitch: float = 1.0, tempo: float = 1.0,
            note_pitch: Sequence[float] | None = None, note_time: Sequence[float] | None = None,
            note_amp: Sequence[float] | None = None, trill_interval: float = 1.0,
            trill_count: int | None = None, lead_s: float = 0.05,
            sr: int = SR) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
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
        Factor on the trill interval (and note length).
    trill_count : int, optional
        Number of trill notes (default: the theme's).
    lead_s : float
        Silence before the first note (s), also kept after the last one.
    sr : int
        Sample rate (Hz).

    Returns
    -------
    times_s, f0_hz, amplitude : np.ndarray [shape=(n,)]
        ``f0_hz`` is NaN and ``amplitude`` 0 between notes.
    """
    k = len(theme.notes)
    note_pitch = np.ones(k) if note_pitch is None else np.asarray(note_pitch, dtype=float)
    note_time = np.ones(k) if note_time is None else np.asarray(note_time, dtype=float)
    note_amp = np.ones(k) if note_amp is None else np.asarray(note_amp, dtype=float)
    count = theme.trill.count if trill_count is None else max(1, int(trill_count))
    pieces: list[tuple[float, str, tuple[float, ...], float, float]] = []  # onset, shape, ...
    t = lead_s
    for i, note in enumerate(theme.notes):
        dur = note.duration_s * note_time[i] / tempo
        pieces.append((t, note.shape, tuple(p * pitch * note_pitch[i] for p in note.pitch_hz),
                       dur, float(note_amp[i])))
        t += dur + note.gap_s / tempo
    interval = theme.trill.interval_s * trill_interval / tempo
    note_s = theme.trill.note_s * trill_interval / tempo
    for j in range(count):
        pieces.append((t + j * interval, theme.trill.shape,
                       tuple(p * pitch for p in theme.trill.pitch_hz), note_s, 1.0))
    end = t + (count - 1) * interval + note_s + lead_s
    n = round(end * sr) + 1
    f0 = np.full(n, np.nan)
    amp = np.zeros(n)
    for onset, shape, pitches, dur, a in pieces:
        i0 = round(onset * sr)
        m = max(2, round(dur * sr))
        f0[i0:i0 + m] = note_contour(shape, np.array(pitches), m)[: n - i0]
        amp[i0:i0 + m] = a
    return np.arange(n) / sr, f0, amp
