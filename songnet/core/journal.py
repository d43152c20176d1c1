"""Resume journals: recordings done, one JSON line each, beside a command's output.

The journal lies beside the output (``OUT.journal.jsonl``). Its first line holds what the
results depend on (params, model); then one line per recording done: its path, size,
``mtime_ns`` and what the command keeps of it. Each line is flushed and fsynced as it is
written, so an interruption leaves at most a partial last line, which is ignored. A
recording whose size or modification time changed since is done again.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, Generic, TypeVar

from songnet.core.errors import SongnetError

__all__ = ["Journal", "journal_path"]

T = TypeVar("T")


def journal_path(output: str | os.PathLike) -> Path:
    """The journal beside ``output`` (a file, or a folder of outputs)."""
    return Path(str(output).rstrip("/" + os.sep) + ".journal.jsonl")


class Journal(Generic[T]):
    """Recordings already done under the same params and model.

    Parameters
    ----------
    path : path-like
        The journal file; created when missing.
    key : dict
        JSON-able description of what results depend on; a journal written under another
        key is an error (a rerun would mix results).
    decode : callable
        A recording's result from its line (a dict with ``file`` and what
        :meth:`record` was given).
    """

    def __init__(self, path: str | os.PathLike, *, key: dict[str, Any],
                 decode: Callable[[dict[str, Any]], T]) -> None:
        self.path = Path(path)
        self.key = json.loads(json.dumps(key))
        self.decode = decode
        self.results: dict[str, tuple[int, int, T]] = {}
        if self.path.exists():
            self._read()
        else:
            self._append({"key": self.key})

    def done(self, file: str) -> T | None:
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

    def record(self, file: str, payload: dict[str, Any], result: T, *,
               stat: os.stat_result) -> None:
        """Add a recording done (``stat`` taken before it was read): ``payload`` is what
        the line keeps (``decode`` turns it back into ``result``)."""
        self._append({"file": file, "size": stat.st_size, "mtime_ns": stat.st_mtime_ns,
                      **payload})
        self.results[file] = (stat.st_size, stat.st_mtime_ns, result)

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
                self.results[d["file"]] = (int(d["size"]), int(d["mtime_ns"]), self.decode(d))
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
