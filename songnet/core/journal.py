"""Resume journals: recordings done, one JSON line each, beside a command's output.

The journal lies beside the output (``OUT.journal.jsonl``). Its first line holds what the
results depend on (params, model); then one line per recording done: its path, size,
``mtime_ns`` and what the command keeps of it. Each line is flushed and fsynced as it is
written, so an interruption leaves at most a partial last line, which is ignored. A
recording whose size or modification time changed since is done again.

A journal is read as untrusted input, since anything may have written it:

- it must be a regular file (not a link, a folder or a FIFO), and not a file the run
  reads; its first line must be a songnet key (:data:`MAX_HEAD_BYTES` at most);
- lines of recordings outside the run are passed over unread, and more lines than
  :data:`MAX_LINES` plus four per recording is an error;
- a recording's line may be at most ``line_limit(file)`` bytes (by default
  :data:`MAX_LINE_BYTES`), must be strict JSON with finite numbers, and must decode (the
  command's ``decode`` checks its schema); anything else is ignored, with one
  ``warning:`` line, and those recordings are done again.

So reading a journal takes no more memory than the longest line it accepts.
"""

from __future__ import annotations

import json
import math
import os
import re
import stat
import warnings
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import IO, Any, Generic, TypeVar

from songnet.core.errors import SongnetError, SongnetWarning
from songnet.core.files import check_output_file, ensure_parent
from songnet.core.numbers import check_numbers

__all__ = ["MAX_HEAD_BYTES", "MAX_LINES", "MAX_LINE_BYTES", "Journal", "journal_path",
           "number_field", "text_field"]

T = TypeVar("T")

MAX_HEAD_BYTES = 1 << 20
"""Longest first line (the key: params and model)."""
MAX_LINE_BYTES = 16 << 20
"""Longest line of one recording (a command may ask less, by the recording's length)."""
MAX_LINES = 1_000_000
"""Lines a journal may hold beyond four per recording of the run."""
_PREFIX_BYTES = 64 << 10  # enough for the `{"file": "..."` that starts every line
_CHUNK = 1 << 20
_FILE_PREFIX = re.compile(rb'\{"file": ("(?:[^"\\]|\\.)*")')
_BAD_ENTRY = (SongnetError, KeyError, TypeError, ValueError, IndexError, AttributeError,
              OverflowError, RecursionError)


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
        :meth:`record` was given); raises ``SongnetError`` (or ``KeyError``,
        ``TypeError``, ``ValueError``) for a line that is not what :meth:`record` wrote.
    files : iterable of str, optional
        The recordings of this run: lines of others are passed over unread, and the
        journal may not be one of them. None: every line is read.
    line_limit : callable, optional
        A recording -> the longest line its entry may take, in bytes (None: its lines are
        not used, e.g. for a file that cannot be opened); by default
        :data:`MAX_LINE_BYTES` for every recording.

    Raises
    ------
    SongnetError
        For a journal that is not a regular file, not a songnet journal, written under
        another key, or longer than :data:`MAX_LINES` (plus four per recording).
    """

    def __init__(self, path: str | os.PathLike, *, key: dict[str, Any],
                 decode: Callable[[dict[str, Any]], T], files: Iterable[str] | None = None,
                 line_limit: Callable[[str], int | None] | None = None) -> None:
        self.path = Path(path)
        self.key = json.loads(json.dumps(key))
        self.decode = decode
        self.files = None if files is None else {str(f) for f in files}
        self.line_limit = line_limit or (lambda file: MAX_LINE_BYTES)
        self.results: dict[str, tuple[int, int, T]] = {}
        self.ignored = 0
        self._cut = False  # the last line has no newline (an interruption): append one first
        kind = _kind(self.path)
        if kind not in (None, "file"):
            raise SongnetError(f"{self.path}: the --resume journal is a {kind}, not a file "
                               "songnet wrote; remove it, or run without --resume")
        check_output_file(self.path, inputs=sorted(self.files or ()),
                          what="the --resume journal")
        if kind is None:
            ensure_parent(self.path)
            self._append({"key": self.key}, create=True)
            return
        self._read()
        if self.ignored:
            warnings.warn(SongnetWarning(
                f"{self.path}: {self.ignored} line{'s' if self.ignored != 1 else ''} ignored "
                "(not a journal entry songnet wrote for these recordings: too long, not JSON, "
                "or a field missing or out of range); their recordings are done again"),
                stacklevel=2)

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

    def _not_a_journal(self, why: str) -> SongnetError:
        return SongnetError(f"{self.path}: not a songnet resume journal ({why}); delete it, or "
                            "run without --resume")

    def _read(self) -> None:
        with self._open() as fh:
            head = fh.readline(MAX_HEAD_BYTES + 1)
            if len(head) > MAX_HEAD_BYTES:
                raise self._not_a_journal(f"its first line is over {MAX_HEAD_BYTES} bytes")
            obj = _loads(head)
            if not isinstance(obj, dict) or "key" not in obj:
                raise self._not_a_journal("its first line is not a songnet key")
            if obj["key"] != self.key:
                raise SongnetError(f"{self.path}: the journal was written with other params "
                                   "or another model; delete it, or run without --resume")
            self._cut = not head.endswith(b"\n")
            most = MAX_LINES + 4 * len(self.files or ())
            n = 0
            while line := fh.readline(_PREFIX_BYTES):
                n += 1
                if n > most:
                    raise self._not_a_journal(f"more than {most} lines, more than songnet "
                                              "writes for this run")
                self._line(fh, line)

    def _line(self, fh: IO[bytes], line: bytes) -> None:
        """Read one line that starts with ``line`` (its first bytes); keep its entry."""
        match = _FILE_PREFIX.match(line)
        file = _loads(match.group(1)) if match else None
        if not isinstance(file, str):
            self._skip(fh, line, bad=True)
            return
        if self.files is not None and file not in self.files:
            self._skip(fh, line, bad=False)  # another run's recording: not ours to judge
            return
        limit = self.line_limit(file)
        if limit is None:
            self._skip(fh, line, bad=False)
            return
        limit = min(int(limit), MAX_LINE_BYTES)
        if not line.endswith(b"\n") and len(line) <= limit:
            line += fh.readline(limit + 1 - len(line))
        if len(line.rstrip(b"\n")) > limit:
            self._skip(fh, line, bad=True)
            return
        self._cut = not line.endswith(b"\n")
        entry = self._entry(line, file)
        if entry is not None:
            self.results[file] = entry
        elif not self._cut:  # a cut last line is an interruption, not a fault
            self.ignored += 1

    def _skip(self, fh: IO[bytes], line: bytes, *, bad: bool) -> None:
        """Pass over the rest of a line without keeping it."""
        while not line.endswith(b"\n"):
            line = fh.readline(_CHUNK)
            if not line:
                self._cut = True
                return
        self.ignored += bad

    def _entry(self, line: bytes, file: str) -> tuple[int, int, T] | None:
        d = _loads(line)
        if not isinstance(d, dict) or d.get("file") != file:
            return None
        size, mtime_ns = d.get("size"), d.get("mtime_ns")
        if not (_whole(size) and _whole(mtime_ns) and size >= 0):
            return None
        try:
            check_numbers(d, where=str(self.path), max_int=2**63)
            return size, mtime_ns, self.decode(d)
        except _BAD_ENTRY:
            return None

    def _open(self) -> IO[bytes]:
        """The journal for reading: a regular file, never a link, never blocking on a FIFO."""
        flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
        try:
            fd = os.open(self.path, flags)
        except OSError as exc:
            raise SongnetError(f"{self.path}: cannot read the --resume journal "
                               f"({exc.strerror}); delete it, or run without --resume") from exc
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            os.close(fd)
            raise self._not_a_journal("not a regular file")
        return os.fdopen(fd, "rb")

    def _append(self, obj: dict[str, Any], *, create: bool = False) -> None:
        flags = os.O_WRONLY | os.O_APPEND | getattr(os, "O_NOFOLLOW", 0)
        if create:
            flags |= os.O_CREAT | os.O_EXCL
        text = ("\n" if self._cut else "") + json.dumps(obj, allow_nan=False) + "\n"
        try:
            fd = os.open(self.path, flags, 0o666)
        except OSError as exc:
            raise SongnetError(f"cannot write the --resume journal {self.path}: "
                               f"{exc.strerror}; choose another output path") from exc
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        self._cut = False


def number_field(d: Mapping[str, Any], key: str, *, what: str, low: float = -math.inf,
                 high: float = math.inf, null_nan: bool = False) -> float:
    """``d[key]``, a field of a journal entry, as a finite number in [``low``, ``high``]
    (``null_nan``: JSON's null stands for NaN, "no value").

    Raises
    ------
    SongnetError
        Naming the ``what`` (``"event"``, ``"song"``), the field and its value: a field
        missing, a bool, a text, or a number outside the range or not finite.
    """
    x = d.get(key)
    if x is None and null_nan:
        return math.nan
    if isinstance(x, bool) or not isinstance(x, (int, float)) or not math.isfinite(x) \
            or not low <= x <= high:
        raise SongnetError(f"{what} field {key}={str(x)[:40]!r} is not a number in "
                           f"[{low:g}, {high:g}]")
    return float(x)


def text_field(d: Mapping[str, Any], key: str, *, what: str, limit: int,
               default: str | None = None, printable: bool = False,
               choices: tuple[str, ...] = ()) -> str:
    """``d[key]``, a field of a journal entry, as a text of at most ``limit`` characters
    (``default`` where the field is missing; ``printable``: no control characters;
    ``choices``: one of these).

    Raises
    ------
    SongnetError
        Naming the ``what`` and the field.
    """
    x = d.get(key, default)
    if not isinstance(x, str) or len(x) > limit or (printable and not x.isprintable()) \
            or (choices and x not in choices):
        raise SongnetError(f"{what} field {key} is not a short"
                           f"{' printable' if printable else ''} text"
                           f"{' (one of ' + ', '.join(choices) + ')' if choices else ''}")
    return x


def _loads(data: bytes) -> Any:
    """Strict JSON (no NaN or Infinity), or None for anything else."""
    try:
        return json.loads(data, parse_constant=_no_constant)
    except (ValueError, RecursionError):  # UnicodeDecodeError is a ValueError
        return None


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _whole(x: Any) -> bool:
    return isinstance(x, int) and not isinstance(x, bool) and abs(x) < 2**63


def _kind(path: Path) -> str | None:
    """What is at ``path`` itself (a link is not followed): None when nothing."""
    try:
        mode = os.lstat(path).st_mode
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise SongnetError(f"cannot inspect the --resume journal {path}: {exc.strerror}; "
                           "choose another output path") from exc
    for test, name in ((stat.S_ISREG, "file"), (stat.S_ISLNK, "symbolic link"),
                       (stat.S_ISDIR, "folder"), (stat.S_ISFIFO, "FIFO (named pipe)"),
                       (stat.S_ISSOCK, "socket")):
        if test(mode):
            return name
    return "device"
