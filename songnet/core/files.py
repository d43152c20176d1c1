"""Outputs: the one output policy of every command, and atomic writes.

The policy (checked by :func:`check_output_file` and :func:`check_output_dir` before any
work, and again by the writers):

- an output is never an input of the same run (the same file, or for a folder replaced
  as a whole, a folder holding an input or the current folder), nor another output of it
  (two outputs on one path, or a file inside a folder replaced as a whole):
  :func:`check_outputs` checks every output of a command at once;
- a folder, FIFO, socket or block device where a file is expected is refused; a
  character device (``/dev/null``, a terminal) is written to as a sink, never replaced;
- names made from what input files say (a sketch's ``# id:``, a recording's name) go
  through :func:`safe_name` and :func:`inside`, so nothing lands outside the output folder;
- every write is atomic: a temporary name beside the target, then a rename. An
  interrupted run never leaves a half-written file that DVC or a later stage would trust.

Use :func:`atomic_path` for libraries that write by path (``soundfile``, ``torch.save``,
``numpy.save``, ``Figure.savefig``) and :func:`atomic_dir` for outputs that are whole
folders.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from songnet.core.errors import SongnetError

__all__ = ["FIGURE_SUFFIXES", "MAX_JSON_BYTES", "MAX_NAME_CHARS", "atomic_dir", "atomic_path",
           "check_output_dir", "check_output_file", "check_outputs", "ensure_parent", "inside",
           "read_json_file", "safe_name", "write_json", "write_text"]

MAX_NAME_CHARS = 120
"""Longest file name (before the suffix) that :func:`safe_name` gives."""
FIGURE_SUFFIXES = (".png", ".pdf", ".svg")
"""Names a figure output may end in (``check_output_file(..., suffixes=FIGURE_SUFFIXES)``)."""
_UNSAFE = re.compile(r"[^\w.+-]+")


def safe_name(name: str, *, what: str = "name", default: str | None = None) -> str:
    """A file name made from text an input file supplies (an id, a recording's stem).

    Runs of anything but letters, digits, ``.``, ``+``, ``-`` and ``_`` (path separators,
    spaces, control characters) become ``_``; leading and trailing dots and underscores
    go, so the result is never ``.``, ``..`` or hidden; it is cut to
    :data:`MAX_NAME_CHARS`. Ordinary ids (``1966-T01v``) come back unchanged.

    Parameters
    ----------
    name : str
    what : str
        Names the source in the error message.
    default : str, optional
        The name to give when nothing usable is left (a recording whose name is a
        newline); None: that is an error.

    Raises
    ------
    SongnetError
        When nothing usable is left and there is no ``default``.
    """
    cleaned = _UNSAFE.sub("_", str(name)).strip("._")[:MAX_NAME_CHARS].strip("._")
    if not cleaned and default is not None:
        return default
    if not cleaned:
        raise SongnetError(f"{what} {_short(name)} gives no usable file name; use letters, "
                           "digits, '-' or '_'")
    return cleaned


def inside(folder: str | os.PathLike, name: str) -> Path:
    """``folder / name``, refused when it resolves outside ``folder`` (``..``, ``/abs``, links).

    Raises
    ------
    SongnetError
        Naming ``name`` and the folder.
    """
    root = Path(folder).resolve()
    target = (root / name).resolve()
    if target == root or root not in target.parents:
        raise SongnetError(f"output name {_short(name)} resolves to {target}, outside the output "
                           f"folder {folder}; rename it (ids become file names)")
    return Path(folder) / name


def check_output_file(path: str | os.PathLike, *, inputs: tuple | list = (),
                      what: str = "output", suffixes: tuple[str, ...] = ()) -> Path:
    """Refuse, before any work, an output file that must not or cannot be written.

    Parameters
    ----------
    path : path-like
        The file the command will write.
    inputs : sequence of path-like
        Every file the run reads; the output may be none of them.
    what : str
        Names the output in messages (``"output"``, ``"--csv"``).
    suffixes : tuple of str
        The names the file may end in (lower case, e.g. :data:`FIGURE_SUFFIXES`); empty:
        any.

    Raises
    ------
    SongnetError
        When ``path`` is a folder, FIFO, socket or block device, is one of ``inputs``,
        does not end in one of ``suffixes``, or its folder cannot be created or written. A
        character device (``/dev/null``) is allowed: it is written as a sink.
    """
    path = Path(path)
    if path.name in ("", ".", "..") or str(path).endswith(("/", os.sep)):
        raise SongnetError(f"{what} {path} names a folder; give a file name")
    if suffixes and path.suffix.lower() not in suffixes:
        raise SongnetError(f"{what} {path}: give a name ending in {', '.join(suffixes[:-1])}"
                           f"{' or ' if len(suffixes) > 1 else ''}{suffixes[-1]} (the format "
                           "is taken from the name)")
    kind = _kind(path)
    if kind == "folder":
        raise SongnetError(f"{what} {path} is a folder; give a file name")
    if kind not in (None, "file", "character device"):
        raise SongnetError(f"{what} {path} is a {kind}, not a file; give a file name "
                           "(songnet never replaces it)")
    _check_not_input(path, inputs, what)
    if kind != "character device":
        _check_writable(path.parent, path, what)
    return path


def check_output_dir(path: str | os.PathLike, *, inputs: tuple | list = (),
                     replaced: bool = True, what: str = "output folder") -> Path:
    """Refuse, before any work, an output folder that must not or cannot be written.

    Parameters
    ----------
    path : path-like
        The folder the command writes.
    inputs : sequence of path-like
        Files and folders the run reads.
    replaced : bool
        The folder is replaced as a whole (:func:`atomic_dir`): then it may not hold an
        input, nor be or hold the current folder. Otherwise files are written into it
        (check each with :func:`check_output_file`).

    Raises
    ------
    SongnetError
        Naming the folder and the rule.
    """
    path = Path(path)
    kind = _kind(path)
    if kind not in (None, "folder"):
        raise SongnetError(f"{what} {path} is a {kind}, not a folder; give a folder path")
    if replaced:
        real = path.resolve()
        cwd = Path.cwd().resolve()
        if real == cwd or real in cwd.parents:
            raise SongnetError(f"{what} {path} is {'the' if real == cwd else 'above the'} "
                               "current folder, and an output folder is replaced as a whole; "
                               "name a new folder for the output")
        for inp in inputs:
            ri = Path(inp).resolve()
            if ri == real or real in ri.parents:
                raise SongnetError(f"{what} {path} holds the input {inp}, and an output folder "
                                   "is replaced as a whole; choose another output folder")
    else:
        _check_not_input(path, inputs, what)
    # a replaced folder is made beside itself; otherwise files are made inside it
    probe = path.resolve().parent if replaced else (path if kind == "folder" else path.parent)
    _check_writable(probe, path, what)
    return path


def check_outputs(files: dict[str, str | os.PathLike | None] | None = None, *,
                  folders: dict[str, str | os.PathLike | None] | None = None,
                  inputs: tuple | list = (),
                  suffixes: dict[str, tuple[str, ...]] | None = None) -> None:
    """Check every output of one run, before any work: each against the inputs (as
    :func:`check_output_file` and :func:`check_output_dir` do) and against each other.

    Parameters
    ----------
    files : dict
        The option naming each output file (``"--csv"``) -> its path; None: not written.
    folders : dict
        The same for output folders replaced as a whole (``"-o"``).
    inputs : sequence of path-like
        Every file and folder the run reads.
    suffixes : dict
        For some ``files``: the names they may end in (``{"--plot": FIGURE_SUFFIXES}``).

    Raises
    ------
    SongnetError
        For an output that one of the checks refuses, two outputs on one path, or an
        output file inside an output folder (replacing the folder would lose it).
    """
    files = {w: Path(p) for w, p in (files or {}).items() if p is not None}
    folders = {w: Path(p) for w, p in (folders or {}).items() if p is not None}
    for what, path in files.items():
        check_output_file(path, inputs=inputs, what=what,
                          suffixes=(suffixes or {}).get(what, ()))
    for what, path in folders.items():
        check_output_dir(path, inputs=inputs, what=what)
    seen: dict[Any, tuple[str, Path]] = {}
    for what, path in [*files.items(), *folders.items()]:
        if _kind(path) == "character device":
            continue  # /dev/null takes any number of outputs
        key = _identity(path)
        if key in seen:
            other, first = seen[key]
            raise SongnetError(f"{what} {path} and {other} {first} are the same path; one "
                               "output would replace the other: give each its own path")
        seen[key] = (what, path)
    for what, path in files.items():
        real = path.resolve()
        for fwhat, folder in folders.items():
            if folder.resolve() in real.parents:
                raise SongnetError(f"{what} {path} lies inside {fwhat} {folder}, which is "
                                   "replaced as a whole; write it elsewhere")


def _identity(path: Path) -> Any:
    """What makes two paths one file: its inode when it exists, else its resolved path."""
    try:
        st = os.stat(path)
    except OSError:
        return ("path", str(path.resolve()))
    return ("inode", st.st_dev, st.st_ino)


def _short(value: object, limit: int = 80) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[:limit - 5] + "…" + text[-4:]


def _kind(path: Path) -> str | None:
    """What is at ``path`` (links followed): None when nothing, else a readable kind."""
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        return None
    except NotADirectoryError:
        return None  # a parent is a file: _check_writable says so
    except OSError as exc:
        raise SongnetError(f"cannot inspect {path}: {exc.strerror}; choose another "
                           "output path") from exc
    if stat.S_ISREG(mode):
        return "file"
    if stat.S_ISDIR(mode):
        return "folder"
    if stat.S_ISCHR(mode):
        return "character device"
    if stat.S_ISBLK(mode):
        return "block device"
    if stat.S_ISFIFO(mode):
        return "FIFO (named pipe)"
    if stat.S_ISSOCK(mode):
        return "socket"
    return "special file"


def _check_not_input(path: Path, inputs: tuple | list, what: str) -> None:
    try:
        st = os.stat(path)
    except OSError:
        return  # nothing there: no input can be it
    for inp in inputs:
        try:
            other = os.stat(inp)
        except (OSError, TypeError, ValueError):
            continue
        if (other.st_dev, other.st_ino) == (st.st_dev, st.st_ino):
            raise SongnetError(f"{what} {path} is also an input of this run ({inp}); writing "
                               "it would destroy the input: choose another output path")


def _check_writable(folder: Path, path: Path, what: str) -> None:
    """The nearest existing ancestor of ``folder`` is a folder we can create files in."""
    probe = folder
    while not probe.exists() and probe != probe.parent:
        if probe.is_symlink():
            break
        probe = probe.parent
    if probe.exists() and not probe.is_dir():
        raise SongnetError(f"cannot write {what} {path}: {probe} is a file, not a folder; "
                           "choose another output path")
    try:
        with tempfile.TemporaryFile(dir=probe if str(probe) else "."):
            pass
    except OSError as exc:
        raise SongnetError(f"cannot write {what} {path}: the folder {probe} is not writable "
                           f"({exc.strerror}); choose another output path") from exc


def ensure_parent(path: str | os.PathLike) -> Path:
    """Create the parent folder of ``path`` if needed, with a clear error if it cannot be."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise SongnetError(
            f"cannot create the folder {path.parent} for {path}: {exc.strerror}; "
            "choose another output path"
        ) from exc
    return path


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike, *, suffix: str | None = None) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it onto ``path`` on success.

    Parameters
    ----------
    path : path-like
        The final output file.
    suffix : str, optional
        Suffix of the temporary file (default: the suffix of ``path``), for writers
        that pick a format from the extension.
    """
    path = Path(path)
    kind = _kind(path)
    if kind not in (None, "file", "character device"):
        raise SongnetError(f"output {path} is a {'folder' if kind == 'folder' else kind}, not "
                           "a file; give a file name (songnet never replaces it)")
    sink = kind == "character device"  # /dev/null, a terminal: write into it, never replace
    if not sink:
        path = ensure_parent(path)
    suffix = path.suffix if suffix is None else suffix
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=f".tmp{suffix}",
                                   dir=None if sink else path.parent)
    except OSError as exc:
        raise SongnetError(f"cannot write {path}: {exc.strerror}; choose another output "
                           "path") from exc
    os.close(fd)
    tmp_path = Path(tmp)
    os.chmod(tmp_path, 0o666 & ~_umask())  # mkstemp makes 0600; outputs are ordinary files
    try:
        yield tmp_path
        if sink:
            with tmp_path.open("rb") as src, path.open("wb") as dst:
                shutil.copyfileobj(src, dst)
            tmp_path.unlink()
        else:
            os.replace(tmp_path, path)
    except BaseException as exc:
        with contextlib.suppress(FileNotFoundError):
            tmp_path.unlink()
        if isinstance(exc, OSError):
            raise SongnetError(f"cannot write {path}: {exc.strerror or exc}; choose another "
                               "output path") from exc
        raise


@contextlib.contextmanager
def atomic_dir(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary folder beside ``path``; it replaces ``path`` on success.

    An existing ``path`` is removed only once the new folder is complete.
    """
    check_output_dir(path)  # not a file or device, not the current folder, writable
    path = ensure_parent(Path(path).resolve() if Path(path).name in ("", ".", "..") else path)
    try:
        tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent))
    except OSError as exc:
        raise SongnetError(f"cannot write the folder {path}: {exc.strerror}; choose another "
                           "output folder") from exc
    os.chmod(tmp, 0o777 & ~_umask())  # mkdtemp makes 0700
    try:
        yield tmp
        if path.exists():
            old = path.with_name(f".{path.name}.old-{os.getpid()}")
            os.replace(path, old)
            os.replace(tmp, path)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, path)
    except BaseException as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        if isinstance(exc, OSError):
            raise SongnetError(f"cannot write the folder {path}: {exc.strerror or exc}; "
                               "choose another output folder") from exc
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_text(path: str | os.PathLike, text: str) -> Path:
    """Write ``text`` to ``path`` atomically (UTF-8)."""
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return Path(path)


def write_json(path: str | os.PathLike, obj: Any, *, indent: int = 2) -> Path:
    """Write ``obj`` as JSON to ``path`` atomically; NaN is refused (it is not JSON)."""
    return write_text(path, json.dumps(obj, indent=indent, allow_nan=False) + "\n")


MAX_JSON_BYTES = 16 << 20
"""Largest JSON file songnet reads (its own are a few hundred KB at most): a bigger one is
refused before it is read, so memory stays bounded whatever a file holds."""


def read_json_file(path: str | os.PathLike, *, what: str, fix: str) -> Any:
    """A JSON file's content, refused with a one-line ``SongnetError`` naming ``path`` (what
    it should be, and ``fix``) when it is missing, over :data:`MAX_JSON_BYTES`, not UTF-8
    or not JSON."""
    try:
        size = Path(path).stat().st_size
        if size > MAX_JSON_BYTES:
            raise SongnetError(f"{path}: {size / 2**20:.0f} MiB is too large for {what} "
                               f"(at most {MAX_JSON_BYTES >> 20} MiB); {fix}")
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise SongnetError(f"{path}: cannot read {what} ({exc}); {fix}") from exc
