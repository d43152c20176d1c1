"""Atomic file output: write to a temporary name beside the target, then rename.

An interrupted run never leaves a half-written file that DVC or a later stage would
trust. Use :func:`atomic_path` for libraries that write by path (``soundfile``,
``torch.save``, ``numpy.save``, ``Figure.savefig``) and :func:`atomic_dir` for outputs
that are whole folders.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from songnet.core.errors import SongnetError

__all__ = ["atomic_dir", "atomic_path", "ensure_parent", "write_json", "write_text"]


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
    path = ensure_parent(path)
    suffix = path.suffix if suffix is None else suffix
    fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=f".tmp{suffix}", dir=path.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    os.chmod(tmp_path, 0o666 & ~_umask())  # mkstemp makes 0600; outputs are ordinary files
    try:
        yield tmp_path
        os.replace(tmp_path, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp_path.unlink()
        raise


@contextlib.contextmanager
def atomic_dir(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary folder beside ``path``; it replaces ``path`` on success.

    An existing ``path`` is removed only once the new folder is complete.
    """
    path = ensure_parent(path)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent))
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
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
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
