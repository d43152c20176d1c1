"""Labels shared by every stage: the classes (themes sorted, then ``no_song``) and splits."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np

__all__ = ["NO_SONG", "REAL_CLIP_SUFFIX", "SPLITS", "UNKNOWN", "class_names", "ranks_unknown_first",
           "theme_classes"]

SPLITS = ("train", "val", "test", "stress")
"""Dataset splits, by bird: ``test`` birds never sing in ``train``; ``stress`` birds sing
under harder conditions."""

NO_SONG = "no_song"
"""The background class: no chingolo song in the clip or window. Reserved: no theme may
take this name, and it is always the network's last output."""


UNKNOWN = "unknown"
"""A chingolo song of a theme the catalog does not hold. Reserved: no theme may take this
name. As a class it holds the dataset's foreign themes (:mod:`songnet.surrogates.foreign`)
and comes just before :data:`NO_SONG`; as an event's theme it also means the song lies
farther from every theme than the open-set threshold."""


def class_names(themes: Iterable[str]) -> list[str]:
    """Theme names sorted, then :data:`UNKNOWN` (when given), then :data:`NO_SONG` last
    (added when absent)."""
    names = set(themes)
    unknown = [UNKNOWN] if UNKNOWN in names else []
    return [*sorted(names - {NO_SONG, UNKNOWN}), *unknown, NO_SONG]


def ranks_unknown_first(scores: np.ndarray, classes: Sequence[str]) -> np.ndarray:
    """Per row of class scores ``(n, n_classes)`` (probabilities or logits, ``no_song``
    last): whether :data:`UNKNOWN` scores highest among the song classes (everything but
    ``no_song``). All False when ``classes`` lack it."""
    scores = np.asarray(scores)
    if UNKNOWN not in classes:
        return np.zeros(scores.shape[0], dtype=bool)
    return scores[:, :-1].argmax(axis=1) == list(classes).index(UNKNOWN)


def theme_classes(classes: Iterable[str]) -> list[str]:
    """The catalog themes among a model's classes (without ``unknown`` and ``no_song``)."""
    return [c for c in classes if c not in (NO_SONG, UNKNOWN)]


REAL_CLIP_SUFFIX = ".real.wav"
"""How ``synthesize`` names the clips of real songs (``wavs/<split>/<theme>/...real.wav``,
:mod:`songnet.surrogates.realdata`): later stages tell them from the model-made ones by it."""
