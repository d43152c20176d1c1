"""Which recordings a ``songnet classify`` call names: files, folders and glob patterns."""

from __future__ import annotations

import glob
import os
from collections.abc import Sequence
from pathlib import Path

from songnet.core.audio import AUDIO_SUFFIXES, audio_files

__all__ = ["find_recordings"]

_GLOB_CHARS = frozenset("*?[")


def find_recordings(paths: Sequence[str | os.PathLike]) -> tuple[list[str], list[tuple[str, str]]]:
    """Expand files, folders (recursively) and glob patterns into recordings.

    Parameters
    ----------
    paths : sequence of path-like
        What the user named. A file is taken as it is (whatever its extension, so a
        non-audio file fails loudly later); a folder contributes its audio files
        (:data:`songnet.core.audio.AUDIO_SUFFIXES`) at any depth; a pattern with ``*``,
        ``?`` or ``[`` is expanded (``**`` recurses).

    Returns
    -------
    files : list of str
        Recordings in the order named, folder contents sorted, duplicates dropped.
    problems : list of (str, str)
        ``(path, message)`` for each path that names nothing.
    """
    files: list[str] = []
    problems: list[tuple[str, str]] = []
    seen: set[Path] = set()

    def add(p: Path) -> None:
        key = p.resolve()
        if key not in seen:
            seen.add(key)
            files.append(str(p))

    for raw in paths:
        text = os.fspath(raw)
        path = Path(text)
        if path.is_dir():
            found = audio_files(path, recursive=True)
            if not found:
                problems.append((text, "folder holds no audio files "
                                       f"({', '.join(sorted(AUDIO_SUFFIXES))})"))
            for p in found:
                add(p)
        elif path.exists():
            add(path)
        elif _GLOB_CHARS & set(text):
            matches = sorted(glob.glob(text, recursive=True))
            hits = [p for m in matches for p in (audio_files(Path(m), recursive=True)
                                                 if Path(m).is_dir() else [Path(m)])]
            if not hits:
                problems.append((text, "pattern matches no files"))
            for p in hits:
                add(p)
        else:
            problems.append((text, "no such file or folder; check the path"))
    return files, problems

