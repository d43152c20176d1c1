"""The resume journal of ``songnet classify --resume`` (:class:`songnet.core.journal.Journal`):
one line per recording classified, holding its events."""

from __future__ import annotations

import os
from typing import Any

from songnet.classify.events import Event
from songnet.classify.report import FileResult
from songnet.core import journal as core_journal
from songnet.core.journal import journal_path

__all__ = ["Journal", "journal_path"]


class Journal(core_journal.Journal[FileResult]):
    """Recordings already classified under the same params and model (``key``)."""

    def __init__(self, path: str | os.PathLike, *, key: dict[str, Any]) -> None:
        super().__init__(path, key=key, decode=_result)

    def record(self, result: FileResult, *, stat: os.stat_result) -> None:  # type: ignore[override]
        """Add a recording classified (``stat`` taken before it was read)."""
        if not result.ok:
            return  # failures are tried again
        super().record(result.file, {"duration_s": result.duration_s,
                                     "events": [_event_dict(ev) for ev in result.events]},
                       result, stat=stat)


def _result(d: dict[str, Any]) -> FileResult:
    return FileResult(d["file"], tuple(_event(e) for e in d["events"]), float(d["duration_s"]))


def _event_dict(ev: Event) -> dict[str, Any]:
    return {"start_s": ev.start_s, "end_s": ev.end_s, "theme": ev.theme,
            "confidence": ev.confidence, "top": [list(t) for t in ev.top],
            "low_hz": ev.low_hz, "high_hz": ev.high_hz, "file": ev.file,
            **ev.open_set_fields()}


def _event(d: dict[str, Any]) -> Event:
    return Event(d["file"], float(d["start_s"]), float(d["end_s"]), d["theme"],
                 float(d["confidence"]), tuple((str(t), float(p)) for t, p in d["top"]),
                 float(d["low_hz"]), float(d["high_hz"]), str(d.get("nearest", "")),
                 _nan_if_none(d.get("distance")), _nan_if_none(d.get("threshold")),
                 _nan_if_none(d.get("note_distance")), _nan_if_none(d.get("note_threshold")))


def _nan_if_none(x: Any) -> float:
    return float("nan") if x is None else float(x)
