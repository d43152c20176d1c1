"""What a review page lists: the events of ``songnet classify`` (its JSON or CSV) or the
songs of a ``songnet themes discover`` folder, as one kind of item."""

from __future__ import annotations

import csv
import dataclasses
import json
import math
from pathlib import Path
from typing import Any

from songnet.core.errors import SongnetError

__all__ = ["MAX_ITEMS", "Item", "read_items"]

MAX_ITEMS = 50_000
"""At most this many items on one page (a season's detections; more: split the input)."""
MAX_INPUT_BYTES = 200 * 2**20


@dataclasses.dataclass(frozen=True)
class Item:
    """One song to review.

    Attributes
    ----------
    file : str
        Its recording.
    start_s, end_s : float
        Where the song lies in it (s).
    predicted : str
        What songnet said: the theme (classify) or the proposed group (discover).
    confidence : float
        The theme's confidence (classify's ``theme_confidence``) or the network's song
        probability (discover); NaN where unknown.
    nearest, distance, note_distance : str, float, float
        The nearest theme and its embedding distance, the note distance (classify; empty
        and NaN otherwise).
    notes : str
        The notes as read (discover).
    """

    file: str
    start_s: float
    end_s: float
    predicted: str
    confidence: float = math.nan
    nearest: str = ""
    distance: float = math.nan
    note_distance: float = math.nan
    notes: str = ""


def _num(x: Any) -> float:
    if x is None or x == "":
        return math.nan
    v = float(x)
    if not math.isfinite(v):
        return math.nan
    return v


def _item(row: dict[str, Any], *, where: str, base: Path) -> Item:
    try:
        file = str(row["file"] if "file" in row else row["source"])
        start, end = float(row["start_s"]), float(row["end_s"])
    except (KeyError, TypeError, ValueError) as exc:
        raise SongnetError(f"{where}: needs file (or source), start_s and end_s; "
                           f"{exc.__class__.__name__}: {exc}") from exc
    if not (math.isfinite(start) and math.isfinite(end) and 0 <= start < end):
        raise SongnetError(f"{where}: start_s {start} and end_s {end} must be finite with "
                           "0 <= start_s < end_s")
    path = Path(file)
    if not path.is_absolute() and not path.exists():
        path = base / path  # a file named relative to the input's folder
    try:
        return Item(file=str(path), start_s=start, end_s=end,
                    predicted=str(row.get("theme", row.get("group", ""))),
                    confidence=_num(row.get("theme_confidence", row.get("confidence",
                                                                        row.get("p_song")))),
                    nearest=str(row.get("nearest") or ""), distance=_num(row.get("distance")),
                    note_distance=_num(row.get("note_distance")),
                    notes=str(row.get("notes") or ""))
    except ValueError as exc:
        raise SongnetError(f"{where}: {exc}") from exc


def read_items(path: str | Path) -> tuple[list[Item], str]:
    """The items of ``path`` and its kind (``events`` or ``discover``).

    ``path`` is classify's ``--format json`` or ``csv`` output, or a ``themes discover``
    output folder (its ``discover.csv``).

    Raises
    ------
    SongnetError
        A file that is none of these, too large, or with a malformed row, naming it.
    """
    path = Path(path)
    kind = "events"
    if path.is_dir():
        if not (path / "discover.csv").is_file():
            raise SongnetError(f"{path}: a folder to review must be a `songnet themes "
                               "discover` output (it holds no discover.csv)")
        path, kind = path / "discover.csv", "discover"
    if not path.is_file():
        raise SongnetError(f"{path}: no such file; give classify's events (.json or .csv) "
                           "or a themes discover folder")
    if path.stat().st_size > MAX_INPUT_BYTES:
        raise SongnetError(f"{path}: larger than {MAX_INPUT_BYTES >> 20} MiB; review a "
                           "part of the events at a time")
    text = path.read_text(encoding="utf-8", errors="replace")
    if path.suffix.lower() == ".json":
        try:
            rows = json.loads(text)
        except json.JSONDecodeError as exc:
            raise SongnetError(f"{path}: not valid JSON ({exc.msg} at line {exc.lineno}); "
                               "write it with songnet classify --format json") from exc
        if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
            raise SongnetError(f"{path}: a JSON list of events is expected (songnet classify "
                               "--format json)")
    else:
        rows = list(csv.DictReader(text.splitlines()))
        if rows and not ({"start_s", "end_s"} <= set(rows[0])):
            raise SongnetError(f"{path}: the CSV needs file (or source), start_s and end_s "
                               "columns (songnet classify --format csv)")
    if len(rows) > MAX_ITEMS:
        raise SongnetError(f"{path}: {len(rows)} items; at most {MAX_ITEMS} on one page: "
                           "review a part at a time")
    base = path.parent
    return [_item(r, where=f"{path}: item {i + 1}", base=base)
            for i, r in enumerate(rows)], kind
