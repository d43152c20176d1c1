"""The resume journal of ``songnet classify --resume``: recordings done, one JSON line each.

The journal lies beside the output (``OUT.journal.jsonl``). Its first line holds what the
results depend on (params, model); then one line per recording classified: its path, size,
``mtime_ns`` and events. Each line is flushed and fsynced as it is written, so an
interruption leaves at most a partial last line, which is ignored. A recording whose size
or modification time changed since is classified again.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from songnet.classify.events import Event
from songnet.classify.report import FileResult
from songnet.core.errors import SongnetError

__all__ = ["Journal", "journal_path"]


def journal_path(output: str | os.PathLike) -> Path:
    """The journal beside ``output`` (a file, or a folder of outputs)."""
    return Path(str(output).rstrip("/" + os.sep) + ".journal.jsonl")


class Journal:
    """Recordings already classified under the same params and model.

    Parameters
    ----------
    path : path-like
        The journal file; created when missing.
    key : dict
        JSON-able description of what results depend on; a journal written under another
        key is an error (a rerun would mix results).
    """

    def __init__(self, path: str | os.PathLike, *, key: dict[str, Any]) -> None:
        self.path = Path(path)
        self.key = json.loads(json.dumps(key))
        self.results: dict[str, tuple[int, int, FileResult]] = {}
        if self.path.exists():
            self._read()
        else:
            self._append({"key": self.key})

    def done(self, file: str) -> FileResult | None:
        """The journal's result for ``file`` when the file is unchanged since, else None."""
        entry = self.results.get(file)
        if entry is None:
            return None
        try:
            st = os.stat(file)
        except OSError:
            return None
        size, mtime_ns, result = entry
        return result if (st.st_size, st.st_mtime_ns) == (size, mtime_ns) else None

    def record(self, result: FileResult, *, stat: os.stat_result) -> None:
        """Add a recording classified (``stat`` taken before it was read)."""
        if not result.ok:
            return  # failures are tried again
        self._append({"file": result.file, "size": stat.st_size, "mtime_ns": stat.st_mtime_ns,
                      "duration_s": result.duration_s,
                      "events": [_event_dict(ev) for ev in result.events]})
        self.results[result.file] = (stat.st_size, stat.st_mtime_ns, result)

    def _read(self) -> None:
        lines = self.path.read_text().splitlines()
        try:
            head = json.loads(lines[0]) if lines else {}
        except json.JSONDecodeError:
            head = {}
        if head.get("key") != self.key:
            raise SongnetError(f"{self.path}: the journal was written with other params or "
                               "another model; delete it, or run without --resume")
        for line in lines[1:]:
            try:
                d = json.loads(line)
                events = tuple(_event(e) for e in d["events"])
                result = FileResult(d["file"], events, float(d["duration_s"]))
                self.results[d["file"]] = (int(d["size"]), int(d["mtime_ns"]), result)
            except (json.JSONDecodeError, KeyError, TypeError, ValueError):
                continue  # a line cut by an interruption
        if lines and not self.path.read_text().endswith("\n"):
            with open(self.path, "a") as f:  # the next line starts on a line of its own
                f.write("\n")

    def _append(self, obj: dict[str, Any]) -> None:
        with open(self.path, "a") as f:
            f.write(json.dumps(obj, allow_nan=False) + "\n")
            f.flush()
            os.fsync(f.fileno())


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
