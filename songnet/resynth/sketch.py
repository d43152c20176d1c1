"""Digitised 1966 sonogram sketches: a small CSV of notes, parsed, validated, made contours.

A sketch is what one reads off a hand-drawn sonogram: for each note its onset and offset
and its frequency at the start, at the end and optionally at evenly spaced midpoints.
The format (documented with an example in ``data/1966/README.md``)::

    # id: 1966-01
    # theme: T01
    onset_s,offset_s,start_hz,end_hz,mid_hz,amplitude,repeat,interval_s
    0.00,0.16,4500,4500,,1.0,,
    0.26,0.56,5000,3500,4700;4100,0.9,,
    0.70,0.74,6500,3800,,0.8,12,0.06

- required columns: ``onset_s``, ``offset_s`` (seconds), ``start_hz``, ``end_hz`` (Hz);
- optional: ``mid_hz`` (midpoint frequencies separated by ``;``, evenly spaced in time),
  ``amplitude`` (relative, 0–1, default 1), ``repeat`` and ``interval_s`` (a trill: the
  note repeated ``repeat`` times, onsets ``interval_s`` apart);
- ``# key: value`` lines before the header carry metadata (``id``, ``theme`` when the
  theme is known, ``note`` free text).

Limits (checked before any work): a file of at most :data:`MAX_SKETCH_BYTES`, at most
:data:`MAX_NOTES` notes (repeats counted), :data:`MAX_MIDPOINTS` midpoints per note, and
every note ending within :data:`MAX_SKETCH_S` seconds.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import itertools
import os
from pathlib import Path

import numpy as np

from songnet.core.errors import SongnetError
from songnet.core.params import short_repr

__all__ = ["Sketch", "SketchNote", "parse_sketch", "read_sketch", "sketch_contour"]

REQUIRED = ("onset_s", "offset_s", "start_hz", "end_hz")
OPTIONAL = ("mid_hz", "amplitude", "repeat", "interval_s")
F_RANGE_HZ = (500.0, 12000.0)
MAX_SKETCH_BYTES = 1 << 20
"""Largest sketch file read (a real sketch is a few hundred bytes)."""
MAX_NOTES = 1000
"""Most notes in one sketch, trill repeats included (a song has a few dozen)."""
MAX_MIDPOINTS = 64
"""Most ``mid_hz`` points in one note."""
MAX_SKETCH_S = 30.0
"""Latest time (s) a note may end; a chingolo song lasts about two seconds."""


@dataclasses.dataclass(frozen=True)
class SketchNote:
    """One drawn note: a pitch path from ``onset_s`` to ``offset_s``.

    Attributes
    ----------
    onset_s, offset_s : float
        Start and end in seconds.
    freqs_hz : tuple of float
        Frequencies at evenly spaced times from onset to offset (start, midpoints, end).
    amplitude : float
        Relative amplitude in (0, 1].
    """

    onset_s: float
    offset_s: float
    freqs_hz: tuple[float, ...]
    amplitude: float = 1.0


@dataclasses.dataclass(frozen=True)
class Sketch:
    """A digitised sonogram: notes in time order plus metadata (``id``, ``theme``)."""

    notes: tuple[SketchNote, ...]
    meta: dict[str, str]
    source: str = "<sketch>"

    @property
    def id(self) -> str:
        """The sketch id (``# id:`` line, else the file stem)."""
        return self.meta.get("id") or Path(self.source).stem

    @property
    def theme(self) -> str:
        """The known theme label (``# theme:`` line), or ``""``."""
        return self.meta.get("theme", "")

    @property
    def duration_s(self) -> float:
        """End of the last note in seconds."""
        return max(n.offset_s for n in self.notes)


def read_sketch(path: str | os.PathLike) -> Sketch:
    """Read a sketch CSV file (see the module docstring for the format)."""
    path = Path(path)
    try:
        size = path.stat().st_size
        if size > MAX_SKETCH_BYTES:
            raise SongnetError(f"sketch {path}: {size} bytes is over the limit of "
                               f"{MAX_SKETCH_BYTES} bytes for a sketch; pass a sketch CSV")
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise SongnetError(f"sketch {path} not found; check the path") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise SongnetError(f"sketch {path}: cannot read it as UTF-8 text ({exc}); "
                           "save the sketch as a plain CSV file") from exc
    return parse_sketch(text, source=str(path))


def parse_sketch(text: str, *, source: str = "<sketch>") -> Sketch:
    """Parse sketch CSV text into a validated :class:`Sketch`.

    Raises
    ------
    SongnetError
        Naming ``source``, the line and the rule, for a missing column, a non-numeric
        value, an offset not after its onset, a frequency outside 500–12000 Hz, an
        amplitude outside (0, 1], or notes that overlap in time.
    """
    meta: dict[str, str] = {}
    rows: list[tuple[int, str]] = []
    for lineno, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if not stripped:
            continue
        if stripped.startswith("#"):
            key, sep, value = stripped.lstrip("#").partition(":")
            if sep and key.strip():
                meta[key.strip().lower()] = value.strip()
            continue
        rows.append((lineno, line))
        if len(rows) > MAX_NOTES + 1:
            raise SongnetError(f"{source}: more than {MAX_NOTES} note rows (the limit); a "
                               "sketch is one song")
    if not rows:
        raise SongnetError(f"{source}: no header and no notes; a sketch needs the columns "
                           f"{', '.join(REQUIRED)} and one row per note")
    header_line, header = rows[0]
    columns = [c.strip() for c in next(csv.reader([header]))]
    missing = [c for c in REQUIRED if c not in columns]
    if missing:
        raise SongnetError(f"{source}: line {header_line}: missing column {missing[0]!r} "
                           f"(required: {', '.join(REQUIRED)}); add it to the header")
    unknown = [c for c in columns if c not in REQUIRED + OPTIONAL]
    if unknown:
        raise SongnetError(f"{source}: line {header_line}: unknown column {unknown[0]!r} "
                           f"(known: {', '.join(REQUIRED + OPTIONAL)}); fix the spelling")
    notes: list[SketchNote] = []
    reader = csv.reader(io.StringIO("\n".join(line for _, line in rows[1:])))
    for (lineno, _), values in zip(rows[1:], reader, strict=True):
        if len(values) > len(columns):
            raise SongnetError(f"{source}: line {lineno}: {len(values)} values for "
                               f"{len(columns)} columns; remove the extra commas")
        record = dict(zip(columns, (v.strip() for v in values), strict=False))
        notes.extend(_notes_from_row(record, where=f"{source}: line {lineno}"))
        if len(notes) > MAX_NOTES:
            raise SongnetError(f"{source}: line {lineno}: more than {MAX_NOTES} notes with "
                               "the repeats (the limit); a sketch is one song")
    if not notes:
        raise SongnetError(f"{source}: the sketch has a header but no notes; add one row per note")
    notes.sort(key=lambda n: n.onset_s)
    for prev, nxt in itertools.pairwise(notes):
        if nxt.onset_s < prev.offset_s - 1e-9:
            raise SongnetError(f"{source}: the note at {nxt.onset_s:g} s starts before the note "
                               f"at {prev.onset_s:g} s ends ({prev.offset_s:g} s); "
                               "a chingolo sings one note at a time, fix the times")
    return Sketch(notes=tuple(notes), meta=meta, source=source)


def _number(record: dict[str, str], key: str, where: str, *, default: float | None = None
            ) -> float:
    raw = record.get(key, "")
    if raw == "":
        if default is None:
            raise SongnetError(f"{where}: empty {key}; give a number")
        return default
    try:
        value = float(raw)
    except ValueError as exc:
        raise SongnetError(f"{where}: {key}={short_repr(raw)} is not a number") from exc
    if not np.isfinite(value):
        raise SongnetError(f"{where}: {key}={short_repr(raw)} must be finite")
    return value


def _notes_from_row(record: dict[str, str], *, where: str) -> list[SketchNote]:
    onset = _number(record, "onset_s", where)
    offset = _number(record, "offset_s", where)
    if onset < 0:
        raise SongnetError(f"{where}: onset_s={onset:g} is negative; times start at 0")
    if offset <= onset:
        raise SongnetError(f"{where}: offset_s={offset:g} is not after onset_s={onset:g}; "
                           "swap or fix the times")
    if offset > MAX_SKETCH_S:
        raise SongnetError(f"{where}: offset_s={offset:g} is over the limit of "
                           f"{MAX_SKETCH_S:g} s; give times in seconds from the song's start")
    freqs = [_number(record, "start_hz", where)]
    mids = [m for m in record.get("mid_hz", "").split(";", MAX_MIDPOINTS + 1) if m.strip()]
    if len(mids) > MAX_MIDPOINTS:
        raise SongnetError(f"{where}: more than {MAX_MIDPOINTS} mid_hz points (the limit); "
                           "keep the points that shape the note")
    for i, raw in enumerate(mids):
        freqs.append(_number({"mid_hz": raw.strip()}, "mid_hz", f"{where} (midpoint {i + 1})"))
    freqs.append(_number(record, "end_hz", where))
    for f in freqs:
        if not F_RANGE_HZ[0] <= f <= F_RANGE_HZ[1]:
            raise SongnetError(f"{where}: frequency {f:g} Hz outside {F_RANGE_HZ[0]:g}–"
                               f"{F_RANGE_HZ[1]:g} Hz; give frequencies in Hz, not kHz")
    amplitude = _number(record, "amplitude", where, default=1.0)
    if not 0 < amplitude <= 1:
        raise SongnetError(f"{where}: amplitude={amplitude:g} must be in (0, 1]")
    repeat_f = _number(record, "repeat", where, default=1.0)
    if not 1 <= repeat_f <= MAX_NOTES or repeat_f != int(repeat_f):
        raise SongnetError(f"{where}: repeat={repeat_f:g} must be a whole number from 1 to "
                           f"{MAX_NOTES} (the limit)")
    repeat = int(repeat_f)
    interval = _number(record, "interval_s", where, default=offset - onset)
    if repeat > 1 and interval < offset - onset:
        raise SongnetError(f"{where}: interval_s={interval:g} is shorter than the note "
                           f"({offset - onset:g} s), so the repeats would overlap")
    end = offset + (repeat - 1) * interval
    if end > MAX_SKETCH_S:
        raise SongnetError(f"{where}: the repeats end at {end:g} s, over the limit of "
                           f"{MAX_SKETCH_S:g} s; check repeat={repeat} and interval_s={interval:g}")
    return [SketchNote(onset + k * interval, offset + k * interval, tuple(freqs), amplitude)
            for k in range(repeat)]


def sketch_contour(sketch: Sketch, *, frame_s: float = 0.001, ramp_s: float = 0.006,
                   lead_s: float = 0.05) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A sketch as a pitch contour and amplitude envelope on a regular time grid.

    Within a note the frequency is interpolated linearly in log frequency through the
    drawn points; the amplitude rises and falls with raised-cosine ramps of ``ramp_s``.

    Parameters
    ----------
    sketch : Sketch
        The parsed sketch.
    frame_s : float
        Grid step in seconds.
    ramp_s : float
        Onset/offset ramp length in seconds (shortened for very short notes).
    lead_s : float
        Silence before the first note and after the last, in seconds.

    Returns
    -------
    times_s : np.ndarray [shape=(n,)]
        Grid times in seconds; the sketch's time 0 lies at ``lead_s``.
    f0_hz : np.ndarray [shape=(n,)]
        Frequency in Hz inside notes, NaN in silences.
    amplitude : np.ndarray [shape=(n,)]
        Relative amplitude in [0, 1], 0 in silences.
    """
    n = int(np.ceil((sketch.duration_s + 2 * lead_s) / frame_s)) + 1
    times = np.arange(n) * frame_s
    f0 = np.full(n, np.nan)
    amp = np.zeros(n)
    for note in sketch.notes:
        t0, t1 = note.onset_s + lead_s, note.offset_s + lead_s
        inside = (times >= t0) & (times <= t1)
        t = times[inside]
        knots = np.linspace(t0, t1, len(note.freqs_hz))
        f0[inside] = np.exp(np.interp(t, knots, np.log(note.freqs_hz)))
        ramp = min(ramp_s, (t1 - t0) / 3)
        rise = np.clip((t - t0) / ramp, 0, 1)
        fall = np.clip((t1 - t) / ramp, 0, 1)
        amp[inside] = note.amplitude * 0.5 * (1 - np.cos(np.pi * np.minimum(rise, fall)))
    return times, f0, amp
