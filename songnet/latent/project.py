"""The latent map: 2-D projections of embeddings and the 1966-vs-2020 persistence table.

Two fitted transforms, following scikit-learn's conventions (``__init__`` stores
arguments, ``fit`` returns ``self``, learned attributes end in ``_``):

- :class:`LatentMap` standardises embeddings, fits UMAP (umap-learn) and PCA on the 2020
  songs and places any song (1966 included) into the same two maps;
- :class:`ThemeMatcher` learns each 2020 theme's centroid and its within-theme spread,
  and names for a 1966 song its nearest 2020 theme, the distance and whether that lies
  within the threshold learned from that spread (``persists``) or beyond it (``lost``).

Matching happens in the standardised embedding space, not in the 2-D map: UMAP keeps
neighbourhoods, not distances. :func:`persistence_table` assembles the answer; 2020
themes that no 1966 song matches are listed as ``new``. :func:`load` reads a ``project``
output folder back as DataFrames for notebooks.
"""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from songnet.core.errors import SongnetError
from songnet.core.files import read_json_file
from songnet.model.openset import METRICS, ThemeMatcher, check_matrix

__all__ = [
    "MAP_COLUMNS",
    "LatentMap",
    "LatentOutputs",
    "ProjectParams",
    "ThemeMatcher",
    "load",
    "persistence_table",
    "rule_settings",
    "save",
    "validated_rule",
]

MAP_COLUMNS = ("umap_1", "umap_2", "pca_1", "pca_2")


@dataclasses.dataclass(frozen=True)
class ProjectParams:
    """The ``project`` section of ``params.yaml``.

    Attributes
    ----------
    n_neighbors, min_dist : UMAP settings (see :class:`LatentMap`).
    random_state : int
        Seed of UMAP and PCA: the same seed gives the same map.
    threshold_quantile, threshold_scale : float
        The match threshold (see :class:`ThemeMatcher`).
    threshold_pooling : {"pooled", "per_theme"}
        One spread for all themes, or one per theme (see :class:`ThemeMatcher`).
    threshold_decision : {"either", "distance"}
        ``distance``: a 1966 song is ``lost`` beyond the threshold; ``either``: also when
        the network's most probable class for it is ``unknown`` (the embed stage's
        ``unknown_top`` column; a model without that class never says so).
    threshold_metric : {"standardized", "cosine"}
        The space the distances are measured in (see :class:`ThemeMatcher`).
    threshold_from : str
        A ``validate`` stage's ``rule.json`` (or its ``summary.json``): its chosen rule
        (metric, decision, pooling, quantile) replaces the four ``threshold_*`` settings
        above, so the rule is the one the validation chose out of sample, never typed in.
        ``""``: use them as given.
    bootstrap : int
        Resamples of the 2020 songs (within each theme, with replacement) behind each
        decision's ``persist_share`` (:func:`persistence_table`); 0 = none.
    """

    n_neighbors: int = 15
    min_dist: float = 0.1
    random_state: int = 0
    threshold_quantile: float = 0.98
    threshold_scale: float = 1.0
    threshold_pooling: Literal["pooled", "per_theme"] = "pooled"
    threshold_decision: Literal["either", "distance"] = "distance"
    threshold_metric: Literal["standardized", "cosine"] = "cosine"
    threshold_from: str = "experiments/validation/rule.json"
    bootstrap: int = 200

    def __post_init__(self) -> None:
        if self.bootstrap < 0:
            raise ValueError(f"bootstrap={self.bootstrap} must be >= 0 (0 = no resampling)")
        if self.threshold_metric not in METRICS:
            raise ValueError(f"threshold_metric={self.threshold_metric!r} must be one of "
                             f"{', '.join(METRICS)}")
        if self.threshold_decision not in ("either", "distance"):
            raise ValueError(f"threshold_decision={self.threshold_decision!r} must be "
                             "'either' or 'distance'")
        if self.n_neighbors < 2 or not 0 <= self.min_dist:
            raise ValueError(f"n_neighbors={self.n_neighbors} must be ≥ 2 and min_dist ≥ 0")
        if not 0 < self.threshold_quantile <= 1 or self.threshold_scale <= 0:
            raise ValueError(f"threshold_quantile={self.threshold_quantile} must lie in (0, 1] "
                             f"and threshold_scale={self.threshold_scale} be positive")


class LatentMap:
    """UMAP and PCA maps fitted on 2020 embeddings.

    Parameters
    ----------
    n_neighbors : int
        UMAP neighbourhood size (clamped to ``n_songs - 1``).
    min_dist : float
        UMAP minimum distance between embedded points.
    random_state : int
        Seed of UMAP's optimisation; the same seed gives the same map.

    Attributes
    ----------
    mean_, scale_ : np.ndarray [shape=(embed_dim,)]
        Standardisation learned from the 2020 embeddings.
    umap_ : umap.UMAP
        The fitted UMAP.
    pca_ : sklearn.decomposition.PCA
        The fitted 2-component PCA.
    """

    def __init__(self, *, n_neighbors: int = 15, min_dist: float = 0.1,
                 random_state: int = 0) -> None:
        self.n_neighbors = n_neighbors
        self.min_dist = min_dist
        self.random_state = random_state

    def fit(self, X: np.ndarray) -> LatentMap:
        """Fit both maps on 2020 embeddings ``X`` [shape=(n_songs, embed_dim)]."""
        import umap  # slow import (numba); only when a map is fitted
        from sklearn.decomposition import PCA

        X = check_matrix(X, what="2020 embeddings")
        if X.shape[0] < 4:
            raise SongnetError(f"2020 embeddings: {X.shape[0]} songs are too few for a map; "
                               "embed at least 4 songs")
        self.mean_ = X.mean(axis=0)
        self.scale_ = np.where(X.std(axis=0) > 1e-12, X.std(axis=0), 1.0)
        Z = (X - self.mean_) / self.scale_
        self.umap_ = umap.UMAP(n_neighbors=min(self.n_neighbors, X.shape[0] - 1),
                               min_dist=self.min_dist, random_state=self.random_state,
                               n_jobs=1).fit(Z)
        self.pca_ = PCA(n_components=2, random_state=self.random_state).fit(Z)
        return self

    def transform(self, X: np.ndarray) -> np.ndarray:
        """Place songs in both maps.

        Returns
        -------
        np.ndarray [shape=(n_songs, 4)]
            Columns ``umap_1, umap_2, pca_1, pca_2`` (see :data:`MAP_COLUMNS`).
        """
        X = check_matrix(X, what="embeddings", n_features=self.mean_.shape[0])
        Z = (X - self.mean_) / self.scale_
        return np.column_stack([self.umap_.transform(Z), self.pca_.transform(Z)])

    def fit_transform(self, X: np.ndarray) -> np.ndarray:
        """Fit on ``X`` and return its map coordinates (UMAP's own embedding of ``X``)."""
        self.fit(X)
        Z = (np.asarray(X, dtype=np.float64) - self.mean_) / self.scale_
        return np.column_stack([self.umap_.embedding_, self.pca_.transform(Z)])


def persistence_table(matcher: ThemeMatcher, X1966: np.ndarray, *, song_ids: Sequence[str],
                      themes_1966: Sequence[str] | None = None,
                      unknown: Sequence[bool] | None = None,
                      X2020: np.ndarray | None = None, themes_2020: Sequence[str] | None = None,
                      bootstrap: int = 0, seed: int = 0) -> pd.DataFrame:
    """Which 1966 songs persist in 2020, which are lost, and which 2020 themes are new.

    Parameters
    ----------
    matcher : ThemeMatcher
        Fitted on the 2020 embeddings.
    X1966 : np.ndarray [shape=(n_1966, embed_dim)]
        Embeddings of the resynthesized 1966 songs.
    song_ids : sequence of str
        One id per 1966 song.
    themes_1966 : sequence of str, optional
        The 1966 theme label of each song where known (``""`` where not).
    unknown : sequence of bool, optional
        Per 1966 song, whether the network's most probable class is ``unknown`` (the
        ``either`` decision): such a song is ``lost`` whatever its distance.
    X2020, themes_2020 : optional
        The 2020 embeddings and themes ``matcher`` was fitted on: with ``bootstrap`` > 0,
        the matcher is refitted on ``bootstrap`` resamples of them (each theme's songs drawn
        with replacement) and every decision gets its ``persist_share``.
    bootstrap : int
        Number of resamples (0: ``persist_share`` is NaN).
    seed : int
        Seed of the resampling.

    Returns
    -------
    pd.DataFrame
        Columns ``song_id, theme_1966, theme_2020, distance, threshold, margin, status,
        persist_share, n_2020, n_1966_given``: one row per 1966 song (``persists`` or
        ``lost``, with its nearest 2020 theme), then one row per 2020 theme that no 1966
        song matched (``new``, with the distance to its nearest 1966 song).
        ``margin = threshold - distance`` (positive: inside the threshold; a small absolute
        value is a close call). ``persist_share``: on a 1966 row, the share of resamples
        of the 2020 songs in which that song persists; on a ``new`` row, the share in
        which some 1966 song persists as that theme (near 0: firmly new). ``n_2020``: the
        2020 songs of the row's 2020 theme, which its centroid rests on. ``new`` means "not
        found among the 1966 songs given": ``n_1966_given`` is, on a 1966 row, the number
        of 1966 songs given with that row's 1966 theme (1 when unlabelled), and on a
        ``new`` row the number of 1966 songs given in all.
    """
    song_ids = [str(s) for s in song_ids]
    labels = [""] * len(song_ids) if themes_1966 is None else [str(t) for t in themes_1966]
    if len(labels) != len(song_ids) or len(song_ids) != np.asarray(X1966).shape[0]:
        raise SongnetError(f"1966 embeddings: {np.asarray(X1966).shape[0]} songs, "
                           f"{len(song_ids)} ids and {len(labels)} labels; they must agree")
    old = matcher.match(X1966)
    if unknown is not None:
        flags = np.asarray(unknown, dtype=bool)
        if flags.shape != (len(song_ids),):
            raise SongnetError(f"1966 embeddings: {len(song_ids)} songs but {flags.size} "
                               "unknown flags")
        old["status"] = np.where(flags, "lost", old.status)
    old.insert(0, "theme_1966", labels)
    old.insert(0, "song_id", song_ids)
    counts = pd.Series(labels).value_counts()
    old["n_1966_given"] = [int(counts[t]) if t else 1 for t in labels]
    kept = set(old.loc[old.status == "persists", "theme_2020"])
    D = matcher.distances(X1966)
    new_rows = [{"song_id": "", "theme_1966": "", "theme_2020": t,
                 "distance": float(D[:, i].min()), "threshold": float(matcher.thresholds_[i]),
                 "status": "new", "n_1966_given": len(song_ids)}
                for i, t in enumerate(matcher.themes_) if t not in kept]
    table = pd.concat([old, pd.DataFrame(new_rows, columns=old.columns)], ignore_index=True)
    table.insert(5, "margin", table.threshold - table.distance)
    share = np.full(len(table), np.nan)
    if bootstrap > 0:
        if X2020 is None or themes_2020 is None:
            raise SongnetError("persistence_table: bootstrap needs the 2020 embeddings and "
                               "themes the matcher was fitted on")
        song_share, theme_share = _persist_shares(
            matcher, np.asarray(X2020), np.asarray(themes_2020, dtype=str),
            np.asarray(X1966), flags=None if unknown is None else np.asarray(unknown, bool),
            n=bootstrap, seed=seed)
        n_old = len(song_ids)
        share[:n_old] = song_share
        index = {t: i for i, t in enumerate(matcher.themes_)}
        share[n_old:] = [theme_share[index[t]] for t in table.theme_2020.iloc[n_old:]]
    table.insert(7, "persist_share", share)
    counts_2020 = (pd.Series(np.asarray(themes_2020, dtype=str)).value_counts()
                   if themes_2020 is not None else pd.Series(dtype=int))
    table.insert(8, "n_2020", [int(counts_2020.get(t, 0)) for t in table.theme_2020])
    return table


def _persist_shares(matcher: ThemeMatcher, X2020: np.ndarray, themes: np.ndarray,
                    X1966: np.ndarray, *, flags: np.ndarray | None, n: int, seed: int
                    ) -> tuple[np.ndarray, np.ndarray]:
    """Per 1966 song, the share of ``n`` resamples of the 2020 songs in which it persists;
    per 2020 theme (``matcher.themes_`` order), the share in which some 1966 song persists
    as it."""
    rng = np.random.default_rng([seed, 1966])
    members = [np.flatnonzero(themes == t) for t in matcher.themes_]
    persists = np.zeros(X1966.shape[0])
    matched = np.zeros(len(members))
    for _ in range(n):
        rows = np.concatenate([rng.choice(m, size=m.size, replace=True) for m in members])
        again = ThemeMatcher(threshold_quantile=matcher.threshold_quantile,
                             threshold_scale=matcher.threshold_scale, pooling=matcher.pooling,
                             metric=matcher.metric).fit(X2020[rows], themes[rows])
        m = again.match(X1966)
        ok = (m.status == "persists").to_numpy()
        if flags is not None:
            ok = ok & ~flags
        persists += ok
        matched += np.isin(again.themes_, m.theme_2020[ok].to_numpy())
    return persists / n, matched / n


@dataclasses.dataclass(frozen=True)
class LatentOutputs:
    """A ``project`` output folder, read back for a notebook.

    Attributes
    ----------
    maps : pd.DataFrame
        One row per song: ``song_id, era ("2020" or "1966"), theme, umap_1, umap_2,
        pca_1, pca_2`` (plus any other metadata columns written by ``project``).
    persistence : pd.DataFrame
        The persistence table (see :func:`persistence_table`).
    info : dict
        Parameters and counts of the run (``latent.json``).
    """

    maps: pd.DataFrame
    persistence: pd.DataFrame
    info: dict

    @property
    def songs_2020(self) -> pd.DataFrame:
        """The 2020 rows of :attr:`maps`."""
        return self.maps[self.maps.era == "2020"]

    @property
    def songs_1966(self) -> pd.DataFrame:
        """The 1966 rows of :attr:`maps`."""
        return self.maps[self.maps.era == "1966"]


def save(outputs: LatentOutputs, folder: str | os.PathLike) -> Path:
    """Write ``maps.csv``, ``persistence.csv`` and ``latent.json`` into ``folder``.

    The command layer passes a temporary folder (``songnet.core.files.atomic_dir``), so the
    final folder appears complete or not at all.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    outputs.maps.to_csv(folder / "maps.csv", index=False, float_format="%.6g")
    outputs.persistence.to_csv(folder / "persistence.csv", index=False, float_format="%.6g")
    (folder / "latent.json").write_text(json.dumps(outputs.info, indent=2, allow_nan=False)
                                        + "\n", encoding="utf-8")
    return folder


def load(folder: str | os.PathLike) -> LatentOutputs:
    """Read ``maps.csv``, ``persistence.csv`` and ``latent.json`` from a ``project`` folder."""
    folder = Path(folder)
    paths = {name: folder / name for name in ("maps.csv", "persistence.csv", "latent.json")}
    for path in paths.values():
        if not path.is_file():
            raise SongnetError(f"{path} not found; run `songnet project` (or `dvc repro "
                               "project`) to make the latent map folder")
    str_cols = {"song_id": str, "era": str, "theme": str, "theme_1966": str, "theme_2020": str}
    maps = pd.read_csv(paths["maps.csv"], dtype=str_cols, keep_default_na=False)
    for col in MAP_COLUMNS:
        maps[col] = pd.to_numeric(maps[col])
    persistence = pd.read_csv(paths["persistence.csv"], dtype=str_cols, keep_default_na=False)
    for col in ("distance", "threshold", "margin", "persist_share"):
        if col in persistence.columns:
            persistence[col] = pd.to_numeric(persistence[col])
    info = read_json_file(paths["latent.json"], what="a latent.json",
                          fix="rerun `songnet project`")
    return LatentOutputs(maps=maps, persistence=persistence, info=info)


def rule_settings(path: str | Path) -> dict[str, Any]:
    """The ``threshold_*`` settings of the rule a ``validate`` run chose (its ``rule.json``
    or ``summary.json``), as ``params.yaml``'s ``project`` section spells them.

    ``make adopt-rule`` writes them into ``params.yaml``
    (:func:`songnet.core.params.set_params_values`), so the file shows the rule the
    ``project`` stage runs with (it reads it from ``threshold_from``); a test checks the
    two agree.

    Raises
    ------
    SongnetError
        For a missing or unreadable file, or one without a complete chosen rule, naming it.
    """
    path = Path(path)
    if not path.exists():
        raise SongnetError(f"project.threshold_from: {path} not found; run `songnet validate` "
                           "(`dvc repro validation/dvc.yaml`) first, or set threshold_from: "
                           "\"\" to use the threshold_* settings as given")
    data = read_json_file(path, what="a validate run's rule (project.threshold_from)",
                          fix="run `songnet validate` again")
    try:
        rule = data["validation"]["rule"]
        return {"threshold_metric": str(rule["metric"]),
                "threshold_decision": str(rule["decision"]),
                "threshold_pooling": str(rule["threshold_pooling"]),
                "threshold_quantile": float(rule["threshold_quantile"])}
    except (ValueError, KeyError, TypeError) as exc:
        raise SongnetError(f"project.threshold_from: {path} holds no validated rule "
                           f"({type(exc).__name__}: {exc}); run `songnet validate` again") from exc


def validated_rule(params: ProjectParams) -> ProjectParams:
    """``params`` with the rule of ``params.threshold_from`` (a ``validate`` stage's
    ``rule.json`` or ``summary.json``, :func:`rule_settings`) in its ``threshold_*``
    settings; ``params`` itself without one.

    Raises
    ------
    SongnetError
        For a missing or unreadable file, or one without a complete chosen rule, naming it.
    """
    if not params.threshold_from:
        return params
    path = Path(params.threshold_from)
    chosen = rule_settings(path)
    try:
        return dataclasses.replace(params, **chosen)
    except ValueError as exc:
        raise SongnetError(f"project.threshold_from: {path}: {exc}") from exc
