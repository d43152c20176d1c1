"""A known-answer model for tests of classify's decisions.

:class:`Scripted` is the shipped model's CQT, song detection and note check with the
network's theme probabilities and the open set's answer set by the test: every window
the real network hears a song in (p(no_song) < 0.5) gets the scripted probabilities, and
the open set names the scripted theme at the scripted distance and threshold. A test
built on it checks how classify turns those into columns and calls, whatever a trained
network happens to answer on one seed's song.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from songnet.core.labels import NO_SONG


class FixedMatcher:
    """An open set that names ``theme`` at ``distance`` with ``threshold`` for every song."""

    def __init__(self, themes: Any, *, theme: str, distance: float, threshold: float) -> None:
        self.themes_ = np.asarray(themes)
        self.index = int(np.flatnonzero(self.themes_ == theme)[0])
        self.distance, self.threshold = float(distance), float(threshold)

    def nearest(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        n = len(X)
        return (np.full(n, self.index), np.full(n, self.distance),
                np.full(n, self.threshold))


class Scripted:
    """A backend (:class:`songnet.classify.backends.Backend`) answering ``probs``
    (class -> probability given a song; the rest 0, no_song 0) on every song window."""

    def __init__(self, backend: Any, *, probs: Mapping[str, float], nearest: str,
                 distance: float = 0.1, threshold: float = 0.5,
                 unknown_min_p: float = 0.5) -> None:
        self._backend = backend
        row = np.zeros(len(backend.classes), dtype=np.float32)
        for name, p in probs.items():
            row[backend.classes.index(name)] = p
        assert abs(row.sum() - 1.0) < 1e-6, "scripted probabilities sum to 1"
        self.row = row
        self.open_set = FixedMatcher(backend.open_set.themes_, theme=nearest,
                                     distance=distance, threshold=threshold)
        self.note_check = backend.note_check
        self.unknown_min_p = unknown_min_p

    def __getattr__(self, name: str) -> Any:
        if name == "_backend":
            raise AttributeError(name)
        return getattr(self._backend, name)

    def predict(self, images: Any) -> tuple[np.ndarray, np.ndarray]:
        probs, emb = self._backend.predict(images)
        probs = np.array(probs, dtype=np.float32)
        song = probs[:, self._backend.classes.index(NO_SONG)] < 0.5
        probs[song] = self.row
        return probs, emb
