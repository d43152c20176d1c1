"""Which recordings a ``songnet classify`` call names (files, folders and glob patterns),
and reading a recording's blocks ahead on a second thread."""

from __future__ import annotations

import contextlib
import glob
import os
import queue
import threading
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

from songnet.core.audio import Block
from songnet.core.audio_files import AUDIO_SUFFIXES, audio_files

__all__ = ["find_recordings", "read_ahead"]

_GLOB_CHARS = frozenset("*?[")


def find_recordings(paths: Sequence[str | os.PathLike]) -> tuple[list[str], list[tuple[str, str]]]:
    """Expand files, folders (recursively) and glob patterns into recordings.

    Parameters
    ----------
    paths : sequence of path-like
        What the user named. A file is taken as it is (whatever its extension, so a
        non-audio file fails loudly later); a folder contributes its audio files
        (:data:`songnet.core.audio_files.AUDIO_SUFFIXES`) at any depth; a pattern with ``*``,
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


@contextlib.contextmanager
def read_ahead(blocks: Iterable[Block], *, depth: int = 1) -> Iterator[Iterator[Block]]:
    """Iterate ``blocks`` with the next ones read by a background thread.

    Decoding and resampling (libsndfile, soxr) release the GIL, so they run on one core
    while the transform of the previous block runs on another. An error while reading is
    raised where the block would have been; leaving the context stops the reader.
    """
    items: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()
    done = object()

    def read() -> None:
        try:
            for block in blocks:
                while not stop.is_set():
                    try:
                        items.put(block, timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
            items.put(done)
        except BaseException as exc:  # handed to the consumer, raised there
            items.put(exc)

    def consume() -> Iterator[Block]:
        while True:
            item = items.get()
            if item is done:
                return
            if isinstance(item, BaseException):
                raise item
            yield item

    reader = threading.Thread(target=read, name="songnet-audio", daemon=True)
    reader.start()
    try:
        yield consume()
    finally:
        stop.set()
        with contextlib.suppress(queue.Empty):
            while True:
                items.get_nowait()
        reader.join(timeout=5.0)

