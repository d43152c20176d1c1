"""Open-set theme matching: nearest theme centroid and a threshold from the within-theme
spread, in the network's embedding space.

The same rule answers two questions: the latent stage's *which 1966 songs persist*
(:mod:`songnet.latent.project`), and classify's *is this a theme the model knows, or
``unknown``?* (the matcher fitted by ``train`` on the validation birds, stored in the
checkpoint and in the ONNX file's metadata). NumPy only: it runs on the classify path.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from songnet.core.errors import SongnetError

__all__ = ["METRICS", "OPEN_SET_KEY", "UNKNOWN_MIN_P_KEY", "ThemeMatcher", "check_matrix"]

METRICS = ("standardized", "cosine")
"""Spaces a :class:`ThemeMatcher` measures distances in."""

OPEN_SET_KEY = "open_set"
"""Key of the fitted :class:`ThemeMatcher` (:meth:`ThemeMatcher.to_dict`) in a checkpoint's
metadata and in an ONNX file's metadata (JSON)."""
UNKNOWN_MIN_P_KEY = "unknown_min_p"
"""Key, in a checkpoint's metadata, of the least ``p(unknown)`` a sound ranked ``unknown``
needs to be a song (:func:`songnet.model.calibrate.fit_unknown_min_p`)."""


def check_matrix(X: np.ndarray, *, what: str, n_features: int | None = None) -> np.ndarray:
    """``X`` as a finite float64 ``(n_songs, embed_dim)`` matrix, or an error naming
    ``what``."""
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2 or X.shape[0] == 0:
        raise SongnetError(f"{what}: expected embeddings of shape (n_songs, embed_dim), "
                           f"got {X.shape}")
    if n_features is not None and X.shape[1] != n_features:
        raise SongnetError(f"{what}: embeddings have {X.shape[1]} dimensions, the map was "
                           f"fitted on {n_features}; embed them with the same model")
    if not np.all(np.isfinite(X)):
        raise SongnetError(f"{what}: embeddings contain NaN or inf")
    return X



class ThemeMatcher:
    """Nearest 2020 theme for any song, with a threshold learned from within-theme spread.

    Parameters
    ----------
    threshold_quantile : float
        Quantile of the 2020 song-to-own-centroid distances that sets the spread.
    threshold_scale : float
        The threshold is ``threshold_scale`` × that spread: a 1966 song farther than it
        from its nearest theme's centroid is ``lost``.
    pooling : {"pooled", "per_theme"}
        ``pooled``: one spread from the distances of all 2020 songs to their own theme's
        centroid (stable with few songs per theme); ``per_theme``: each theme's own.
    metric : {"standardized", "cosine"}
        The space distances are measured in. ``standardized``: each embedding dimension
        centred and divided by its standard deviation over the 2020 songs; ``cosine``: each
        embedding scaled to unit length (only its direction counts, so a song's loudness
        and how strongly the network responds to it do not), distances between those unit
        vectors and the themes' mean directions.

    Attributes
    ----------
    themes_ : np.ndarray [shape=(n_themes,)]
        The 2020 theme names, sorted.
    centroids_ : np.ndarray [shape=(n_themes, embed_dim)]
        Theme centroids in the matcher's space (``metric``).
    thresholds_ : np.ndarray [shape=(n_themes,)]
        Match threshold per theme (same units as the distances; all equal when pooled).
    """

    def __init__(self, *, threshold_quantile: float = 0.98, threshold_scale: float = 1.0,
                 pooling: str = "pooled", metric: str = "standardized") -> None:
        self.threshold_quantile = threshold_quantile
        self.threshold_scale = threshold_scale
        self.pooling = pooling
        self.metric = metric

    def fit(self, X: np.ndarray, themes: Sequence[str],
            groups: Sequence[str] | None = None) -> ThemeMatcher:
        """Learn centroids and thresholds from 2020 embeddings ``X`` and their theme labels.

        ``groups`` (optional, one label per song) splits each theme's songs into kinds of
        evidence (model-made songs and real recordings, say): a theme's centroid is then the
        mean of its groups' means, so a few real songs weigh as much as many surrogates.
        The threshold comes from every song's distance to its theme's centroid.
        """
        X = check_matrix(X, what="2020 embeddings")
        themes = np.asarray(themes, dtype=str)
        if themes.shape != (X.shape[0],):
            raise SongnetError(f"2020 embeddings: {X.shape[0]} songs but {themes.size} labels")
        groups = (np.zeros(themes.size, dtype=str) if groups is None
                  else np.asarray(groups, dtype=str))
        if groups.shape != themes.shape:
            raise SongnetError(f"2020 embeddings: {themes.size} songs but {groups.size} groups")
        if not 0 < self.threshold_quantile <= 1 or self.threshold_scale <= 0:
            raise SongnetError(f"threshold_quantile={self.threshold_quantile} must be in (0, 1] "
                               f"and threshold_scale={self.threshold_scale} positive")
        if self.metric not in METRICS:
            raise SongnetError(f"metric={self.metric!r} must be one of {', '.join(METRICS)}")
        if self.metric == "standardized":
            self.mean_ = X.mean(axis=0)
            self.scale_ = np.where(X.std(axis=0) > 1e-12, X.std(axis=0), 1.0)
        else:  # directions only: no centring, no scaling before the unit length
            self.mean_, self.scale_ = np.zeros(X.shape[1]), np.ones(X.shape[1])
        Z = self._space(X)
        self.themes_ = np.unique(themes)
        self.centroids_ = np.stack([
            np.mean([Z[(themes == t) & (groups == g)].mean(axis=0)
                     for g in np.unique(groups[themes == t])], axis=0)
            for t in self.themes_])
        if self.pooling not in ("pooled", "per_theme"):
            raise SongnetError(f"pooling={self.pooling!r} must be 'pooled' or 'per_theme'")
        within = [np.linalg.norm(Z[themes == t] - self.centroids_[i], axis=1)
                  for i, t in enumerate(self.themes_)]
        if all(d.size < 2 for d in within):
            raise SongnetError("2020 embeddings: every theme has a single song, so no "
                               "within-theme spread can be learned; embed more songs per theme")
        if self.pooling == "pooled":
            pooled = np.concatenate([d for d in within if d.size > 1])
            spread = np.full(len(within), np.quantile(pooled, self.threshold_quantile))
        else:
            spread = np.array([np.quantile(d, self.threshold_quantile) if d.size > 1
                               else np.nan for d in within])
            spread = np.where(np.isnan(spread), np.nanmedian(spread), spread)
        self.thresholds_ = self.threshold_scale * spread
        return self

    def distances(self, X: np.ndarray) -> np.ndarray:
        """Distances [shape=(n_songs, n_themes)] from each song to each theme centroid."""
        X = check_matrix(X, what="embeddings", n_features=self.mean_.shape[0])
        Z = self._space(X)
        return np.linalg.norm(Z[:, None, :] - self.centroids_[None, :, :], axis=2)

    def _space(self, X: np.ndarray) -> np.ndarray:
        """Embeddings in the matcher's space (``metric``)."""
        Z = (X - self.mean_) / self.scale_
        if self.metric == "cosine":  # an all-zero embedding stays at the origin
            Z = Z / np.maximum(np.linalg.norm(Z, axis=1, keepdims=True), 1e-12)
        return Z

    def nearest(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Per song: its nearest theme's index into ``themes_``, the distance to that
        theme's centroid, and that theme's threshold (arrays ``(n_songs,)``)."""
        D = self.distances(X)
        idx = D.argmin(axis=1)
        return idx, D[np.arange(len(D)), idx], self.thresholds_[idx]

    def match(self, X: np.ndarray) -> Any:
        """Nearest theme per song: a DataFrame with columns ``theme_2020, distance,
        threshold, status`` (``persists`` within the threshold, else ``lost``)."""
        import pandas as pd  # not on the classify path, which uses :meth:`nearest`

        idx, dist, thr = self.nearest(X)
        return pd.DataFrame({"theme_2020": self.themes_[idx], "distance": dist,
                             "threshold": thr,
                             "status": np.where(dist <= thr, "persists", "lost")})

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready copy of the fitted matcher (stored in checkpoints and ONNX files)."""
        return {"threshold_quantile": float(self.threshold_quantile),
                "threshold_scale": float(self.threshold_scale), "pooling": self.pooling,
                "metric": self.metric, "themes": [str(t) for t in self.themes_],
                "mean": self.mean_.tolist(), "scale": self.scale_.tolist(),
                "centroids": self.centroids_.tolist(), "thresholds": self.thresholds_.tolist()}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> ThemeMatcher:
        """The matcher :meth:`to_dict` wrote (one without ``metric``, from before the
        cosine metric, is ``standardized``).

        Raises
        ------
        SongnetError
            For missing fields or arrays of inconsistent shapes.
        """
        try:
            m = cls(threshold_quantile=float(d["threshold_quantile"]),
                    threshold_scale=float(d["threshold_scale"]), pooling=str(d["pooling"]),
                    metric=str(d.get("metric", "standardized")))
            m.themes_ = np.asarray(d["themes"], dtype=str)
            m.mean_ = np.asarray(d["mean"], dtype=np.float64)
            m.scale_ = np.asarray(d["scale"], dtype=np.float64)
            m.centroids_ = np.asarray(d["centroids"], dtype=np.float64)
            m.thresholds_ = np.asarray(d["thresholds"], dtype=np.float64)
        except (KeyError, TypeError, ValueError) as exc:
            raise SongnetError(f"open-set matcher: missing or bad field ({exc})") from exc
        k, e = len(m.themes_), m.mean_.shape[0]
        if m.metric not in METRICS:
            raise SongnetError(f"open-set matcher: unknown metric {m.metric!r}; train or "
                               "export the model again with this songnet")
        if (m.scale_.shape != (e,) or m.centroids_.shape != (k, e)
                or m.thresholds_.shape != (k,) or k == 0):
            raise SongnetError("open-set matcher: arrays of inconsistent shapes; train or "
                               "export the model again")
        return m
