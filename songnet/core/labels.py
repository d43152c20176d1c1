"""Labels shared by every stage: the classes (themes sorted, then ``no_song``) and splits."""

from __future__ import annotations

from collections.abc import Iterable

__all__ = ["NO_SONG", "SPLITS", "class_names"]

SPLITS = ("train", "val", "test", "stress")
"""Dataset splits, by bird: ``test`` birds never sing in ``train``; ``stress`` birds sing
under harder conditions."""

NO_SONG = "no_song"
"""The background class: no chingolo song in the clip or window. Reserved: no theme may
take this name, and it is always the network's last output."""


def class_names(themes: Iterable[str]) -> list[str]:
    """Theme names sorted, then :data:`NO_SONG` last (added when absent)."""
    return [*sorted(set(themes) - {NO_SONG}), NO_SONG]
