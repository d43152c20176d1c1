"""The resume journal of ``songnet classify --resume`` (:class:`songnet.core.journal.Journal`):
one line per recording classified, holding its events.

A line is used only when it is what :meth:`Journal.record` writes for that recording as it
is now: its ``duration_s`` at most the file's own (read from its header; a truncated file
decodes shorter) plus :data:`DURATION_TOLERANCE_S` (or 1 %), at most :func:`max_events`
events for that duration, each one (:meth:`~songnet.classify.events.Event.from_dict`) of
that file, with printable names and ending within ``duration_s``; and the line at most
:func:`max_line_bytes` long.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterable
from typing import Any

from songnet.classify.events import Event
from songnet.classify.report import FileResult
from songnet.core import journal as core_journal
from songnet.core.errors import SongnetError
from songnet.core.journal import journal_path

__all__ = ["DURATION_TOLERANCE_S", "MAX_EVENTS_PER_S", "Journal", "journal_path",
           "max_events", "max_line_bytes"]

MAX_EVENTS_PER_S = 20.0
"""Most events per second of audio a line may hold (a song lasts some 2 s)."""
DURATION_TOLERANCE_S = 1.0
"""How far a line's ``duration_s`` may run past the file's header (or 1 % of it), and its
events past ``duration_s``."""
EVENT_BYTES = 2048
"""Bytes one event's JSON takes at most, besides its file name."""


def max_events(duration_s: float) -> int:
    """Most events a recording of ``duration_s`` seconds may have in a journal."""
    return int(MAX_EVENTS_PER_S * max(0.0, duration_s)) + 10


def max_line_bytes(file: str, duration_s: float) -> int:
    """Longest journal line of ``file``, ``duration_s`` seconds long: its events, each
    naming the file (escaped, up to 6 bytes a character), and the line's own fields."""
    name = len(file.encode("utf-8", "surrogatepass")) * 6
    return 4096 + name + max_events(duration_s) * (EVENT_BYTES + name)


class Journal(core_journal.Journal[FileResult]):
    """Recordings already classified under the same params and model (``key``).

    Parameters
    ----------
    path : path-like
    key : dict
        What the events depend on (params and model).
    files : iterable of str, optional
        The recordings of this run (lines of others are passed over unread); None: every
        line is read.
    """

    def __init__(self, path: str | os.PathLike, *, key: dict[str, Any],
                 files: Iterable[str] | None = None) -> None:
        self._durations: dict[str, float | None] = {}
        super().__init__(path, key=key, decode=self._result, files=files,
                         line_limit=self._line_limit)

    def record(self, result: FileResult, *, stat: os.stat_result) -> None:  # type: ignore[override]
        """Add a recording classified (``stat`` taken before it was read)."""
        if not result.ok:
            return  # failures are tried again
        super().record(result.file, {"duration_s": result.duration_s,
                                     "events": [ev.to_dict() for ev in result.events]},
                       result, stat=stat)

    def _duration(self, file: str) -> float | None:
        """The recording's duration from its header (None: it cannot be read)."""
        if file not in self._durations:
            from songnet.core.decode import info
            try:
                seconds = float(info(file).duration)
            except (SongnetError, OSError, RuntimeError, ValueError):
                seconds = math.nan
            self._durations[file] = seconds if math.isfinite(seconds) and seconds >= 0 else None
        return self._durations[file]

    def _line_limit(self, file: str) -> int | None:
        seconds = self._duration(file)
        return None if seconds is None else max_line_bytes(file, seconds)

    def _result(self, d: dict[str, Any]) -> FileResult:
        file, seconds = d["file"], self._duration(d["file"])
        duration = d["duration_s"]
        if seconds is None or isinstance(duration, bool) or not isinstance(duration, (int, float)):
            raise SongnetError("no duration")
        if not 0 <= duration <= seconds + max(DURATION_TOLERANCE_S, 0.01 * seconds):
            raise SongnetError(f"duration {duration} s, the file {seconds} s")
        raw = d["events"]
        if not isinstance(raw, list) or len(raw) > max_events(duration):
            raise SongnetError("events is not a list of at most max_events(duration)")
        events = tuple(Event.from_dict(e) for e in raw)
        end = duration + DURATION_TOLERANCE_S
        for ev in events:
            names = (ev.theme, ev.nearest, ev.unknown_by, *(t for t, _ in ev.top))
            if ev.file != file or ev.end_s > end or not all(n.isprintable() for n in names):
                raise SongnetError("an event of another file, beyond the recording, or with "
                                   "a name that is not printable")
        return FileResult(file, events, float(duration))
