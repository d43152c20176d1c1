"""Which files are recordings: the audio suffixes a folder search takes (:data:`AUDIO_SUFFIXES`,
:func:`audio_files`) and the theme folders of ``data/2020/`` (:func:`theme_folders`).
"""

from __future__ import annotations

import os
from pathlib import Path

from songnet.core.errors import SongnetError

__all__ = ["AUDIO_SUFFIXES", "audio_files", "theme_folders"]


AUDIO_SUFFIXES = frozenset({".wav", ".wave", ".flac", ".ogg", ".oga", ".opus", ".mp3",
                            ".aif", ".aiff", ".aifc", ".w64", ".rf64"})
"""File name suffixes (lower case) that a folder search takes for audio: every command that
reads a folder of recordings uses this one list. A file named explicitly is read whatever
its suffix (libsndfile decides)."""


def audio_files(folder: Path, *, recursive: bool = False) -> list[Path]:
    """The audio files (:data:`AUDIO_SUFFIXES`) in ``folder``, sorted by path.

    Parameters
    ----------
    folder : Path
    recursive : bool
        Search subfolders at any depth too.
    """
    found = folder.rglob("*") if recursive else folder.iterdir()
    return sorted(p for p in found if p.suffix.lower() in AUDIO_SUFFIXES and p.is_file())


def theme_folders(folder: str | os.PathLike) -> list[tuple[str, list[Path]]]:
    """``(theme name, recordings)`` for each subfolder of ``folder`` holding audio files
    (at any depth: ``T01/bird3/*.wav`` belongs to T01): the layout of ``data/2020/``.

    Subfolders whose names start with ``.`` or ``_`` are not themes (``_unsorted/``, the
    songs ``songnet themes discover`` could not place).

    Raises
    ------
    SongnetError
        For a theme folder that is a symbolic link: it points inside ``folder`` (so its
        recordings would count for two themes, or ``T01 -> .`` for every theme), above it
        or outside it (recordings the folder does not hold).
    """
    folder = Path(folder)
    if not folder.is_dir():
        return []
    out = []
    for sub in sorted(p for p in folder.iterdir()
                      if p.is_dir() and not p.name.startswith((".", "_"))):
        if sub.is_symlink():
            target, root = sub.resolve(), folder.resolve()
            where = ("inside" if target == root or root in target.parents
                     else "above" if target in root.parents else "outside")
            raise SongnetError(f"{sub}: a theme folder is a link to {target}, {where} the "
                               f"recordings folder {folder}; make it a real folder holding "
                               "that theme's recordings")
        files = audio_files(sub, recursive=True)
        if files:
            out.append((sub.name, files))
    return out
