"""What the network said about a recording: class probabilities of windows on a regular grid
(:class:`WindowScores`) and of song candidates scored alone (:class:`Candidates`); the windows
that hold a stretch of sound (:func:`holding_windows`) and their pooled scores.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import numpy as np

from songnet.core.errors import SongnetError

__all__ = ["Candidates", "WindowScores", "holding_windows", "pooled_scores"]


@dataclasses.dataclass(frozen=True, eq=False)
class WindowScores:
    """Class probabilities of windows on a regular grid.

    Attributes
    ----------
    starts_s : np.ndarray [shape=(n,), dtype=float64]
        Window onsets in seconds, increasing.
    probs : np.ndarray [shape=(n, n_classes), dtype=float32]
        Per-window class probabilities; rows sum to 1; the last class is ``no_song``.
    window_s : float
        Window length in seconds.
    classes : tuple of str
        Class names, ``no_song`` last.
    embeddings : np.ndarray [shape=(n, embed_dim), dtype=float32], optional
        Per-window embeddings (zeros for windows the network did not run on).
    """

    starts_s: np.ndarray
    probs: np.ndarray
    window_s: float
    classes: tuple[str, ...]
    embeddings: np.ndarray | None = None

    def __post_init__(self) -> None:
        starts = np.asarray(self.starts_s, dtype=np.float64).reshape(-1)
        probs = np.asarray(self.probs, dtype=np.float32)
        if probs.ndim != 2 or probs.shape[0] != starts.shape[0]:
            raise SongnetError(f"window probabilities of shape {probs.shape} do not match "
                               f"{starts.shape[0]} window starts")
        if probs.shape[1] != len(self.classes) or len(self.classes) < 2:
            raise SongnetError(f"{probs.shape[1]} probability columns for classes "
                               f"{list(self.classes)}; need the themes and no_song last")
        if self.window_s <= 0:
            raise SongnetError(f"window_s={self.window_s} must be positive")
        object.__setattr__(self, "starts_s", starts)
        object.__setattr__(self, "probs", probs)
        object.__setattr__(self, "classes", tuple(self.classes))
        if self.embeddings is not None:
            emb = np.asarray(self.embeddings, dtype=np.float32)
            if emb.ndim != 2 or emb.shape[0] != starts.shape[0]:
                raise SongnetError(f"window embeddings of shape {emb.shape} do not match "
                                   f"{starts.shape[0]} window starts")
            object.__setattr__(self, "embeddings", emb)

    def __len__(self) -> int:
        return int(self.starts_s.shape[0])


@dataclasses.dataclass(frozen=True, eq=False)
class Candidates:
    """Stretches of sound that may be songs, each scored by the network *alone*.

    A candidate is a run of loud frames (:func:`songnet.classify.activity.song_candidates`);
    its image is the analysis window around it with every frame outside it held down to the
    noise floor, so the network judges that sound and not its neighbours (another bird a
    second away, or the next song).

    Attributes
    ----------
    start_s, end_s : np.ndarray [shape=(k,)]
        Onset and offset in seconds, in time order.
    probs : np.ndarray [shape=(k, n_classes), dtype=float32]
        Class probabilities of each candidate's image (``no_song`` last).
    embeddings : np.ndarray [shape=(k, embed_dim), dtype=float32]
    """

    start_s: np.ndarray
    end_s: np.ndarray
    probs: np.ndarray
    embeddings: np.ndarray

    def __post_init__(self) -> None:
        k = np.asarray(self.start_s).shape[0]
        if not (np.asarray(self.end_s).shape[0] == np.asarray(self.probs).shape[0]
                == np.asarray(self.embeddings).shape[0] == k):
            raise SongnetError("candidates: starts, ends, probabilities and embeddings "
                               "disagree in number")

    def __len__(self) -> int:
        return int(np.asarray(self.start_s).shape[0])

    @classmethod
    def concatenate(cls, parts: Sequence[Candidates], *, n_classes: int,
                    embed_dim: int) -> Candidates:
        """Join candidates of consecutive stretches, in time order."""
        parts = [p for p in parts if len(p)]
        if not parts:
            return cls(np.zeros(0), np.zeros(0), np.zeros((0, n_classes), np.float32),
                       np.zeros((0, embed_dim), np.float32))
        return cls(*(np.concatenate([getattr(p, f) for p in parts])
                     for f in ("start_s", "end_s", "probs", "embeddings")))


def pooled_scores(scores: WindowScores, holding: np.ndarray, p_song: np.ndarray
            ) -> tuple[np.ndarray, np.ndarray | None]:
    """Probabilities and embedding of a song from its holding windows, each weighted by
    its song probability."""
    weights = p_song[holding] + 1e-9  # (h,)
    probs = (weights[:, None] * scores.probs[holding]).sum(axis=0) / weights.sum()  # (C,)
    emb = None if scores.embeddings is None else \
        (weights[:, None] * scores.embeddings[holding]).sum(axis=0) / weights.sum()
    return probs, emb


def holding_windows(starts_s: np.ndarray, seg: tuple[float, float], *,
                    window_s: float) -> np.ndarray:
    """Indices of the windows that contain the largest part of ``seg``.

    Parameters
    ----------
    starts_s : np.ndarray [shape=(n,)]
        Window onsets in seconds, increasing.
    seg : (float, float)
        Start and end of a loud stretch in seconds.
    window_s : float
        Window length in seconds.

    Returns
    -------
    np.ndarray of int
        All windows holding the whole stretch (or, for a stretch longer than a window,
        those lying inside it); empty when no window overlaps it.
    """
    start, end = seg
    lo = int(np.searchsorted(starts_s, start - window_s, side="right"))
    hi = int(np.searchsorted(starts_s, end, side="left"))
    idx = np.arange(lo, hi)
    if idx.size == 0:
        return idx
    w_starts = starts_s[idx]
    overlap = np.minimum(w_starts + window_s, end) - np.maximum(w_starts, start)
    return idx[overlap >= overlap.max() - 1e-6]
