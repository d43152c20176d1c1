"""``verified.csv``: a researcher's verdicts on songnet's detections, exported by the review
page (``songnet review``), read back by ``themes learn --verified``, ``classify
--verified`` and the ``themes`` stage."""

from __future__ import annotations

import csv
import dataclasses
import math
from pathlib import Path

from songnet.core.errors import SongnetError

__all__ = ["VERDICTS", "VERIFIED_COLUMNS", "Verdict", "read_verified"]

VERIFIED_COLUMNS = ("file", "start_s", "end_s", "predicted", "verdict", "theme")
VERDICTS = ("correct", "wrong", "theme")
MAX_BYTES = 64 * 2**20


@dataclasses.dataclass(frozen=True)
class Verdict:
    """One reviewed song: where it is, what songnet said, and what the reviewer said.

    ``verdict`` is ``correct`` (the song is ``predicted``), ``wrong`` (not that theme, or
    no song) or ``theme`` (the song is ``theme``)."""

    file: str
    start_s: float
    end_s: float
    predicted: str
    verdict: str
    theme: str

    @property
    def true_theme(self) -> str | None:
        """The theme the reviewer gave the song (None for ``wrong``)."""
        if self.verdict == "correct":
            return self.predicted
        return self.theme if self.verdict == "theme" else None

    def overlaps(self, file: str, start_s: float, end_s: float) -> bool:
        """Whether a song of ``file`` from ``start_s`` to ``end_s`` is this one."""
        same = Path(file).resolve() == Path(self.file).resolve()
        return same and start_s < self.end_s and end_s > self.start_s


def read_verified(path: str | Path) -> list[Verdict]:
    """The verdicts of a ``verified.csv``; file paths relative to its folder are resolved.

    Raises
    ------
    SongnetError
        A missing, oversized or malformed file, naming it and the line.
    """
    path = Path(path)
    try:
        if path.stat().st_size > MAX_BYTES:
            raise SongnetError(f"{path}: larger than {MAX_BYTES >> 20} MiB; not a verified.csv")
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise SongnetError(f"{path}: cannot be read ({exc}); export it again from the "
                           "review page") from exc
    rows = list(csv.DictReader(text.splitlines()))
    if not rows:
        return []
    if not set(VERIFIED_COLUMNS) <= set(rows[0]):
        raise SongnetError(f"{path}: needs the columns {', '.join(VERIFIED_COLUMNS)} (the "
                           "review page's export)")
    out = []
    for i, r in enumerate(rows, start=2):
        if r["verdict"] not in VERDICTS:
            raise SongnetError(f"{path}: line {i}: verdict {r['verdict']!r} must be one of "
                               f"{', '.join(VERDICTS)}")
        try:
            start, end = float(r["start_s"]), float(r["end_s"])
        except (TypeError, ValueError) as exc:
            raise SongnetError(f"{path}: line {i}: start_s and end_s must be numbers") from exc
        if not (math.isfinite(start) and math.isfinite(end) and 0 <= start < end):
            raise SongnetError(f"{path}: line {i}: need 0 <= start_s < end_s")
        if r["verdict"] == "theme" and not (r["theme"] or "").strip():
            raise SongnetError(f"{path}: line {i}: verdict theme needs the theme's name")
        file = Path(r["file"])
        if not file.is_absolute() and not file.exists():
            file = path.parent / file
        out.append(Verdict(str(file), start, end, r["predicted"] or "", r["verdict"],
                           (r["theme"] or "").strip()))
    return out
