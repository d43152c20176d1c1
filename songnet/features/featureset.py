"""The features stage: a manifest of clips -> one image array per split.

:func:`compute_features` reads every clip of a manifest (columns ``path``, relative to the
manifest's folder, ``theme`` and ``split``), fits it to one window and turns it into a
Constant-Q image with the batched path, loading the next batch of audio on worker threads
while the current one is transformed. Classes are the manifest's theme names sorted, then
``no_song`` last (always present, so every model has a "no chingolo song" outcome).
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import os
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from songnet.core.audio import load
from songnet.core.errors import SongnetError
from songnet.core.files import read_json_file, write_json
from songnet.core.labels import REAL_CLIP_SUFFIX, SPLITS, class_names
from songnet.core.params import params_to_dict
from songnet.core.progress import ProgressCallback
from songnet.features.frontends import frequency_rows, stft_n_fft, top_frequency
from songnet.features.images import fit_window, images
from songnet.features.params import FeatureParams

__all__ = ["FEATURES_JSON", "FeatureSet", "FeatureSplit", "SplitFeatures", "compute_features",
           "load_meta", "load_split", "preview_figure", "real_rows", "save_features",
           "split_ids"]

FEATURES_JSON = "features.json"


@dataclasses.dataclass(frozen=True, eq=False)
class SplitFeatures:
    """The images of one split.

    Attributes
    ----------
    images : np.ndarray [shape=(N, n_bins, n_frames), dtype=float16]
        Images in [0, 1].
    labels : np.ndarray [shape=(N,), dtype=int64]
        Index into the feature set's ``classes``.
    rows : np.ndarray [shape=(N,), dtype=int64]
        Position of each clip in the manifest (0 = first data row), to join back.
    ids : list of str
        The manifest's ``id`` column when it has one, else its ``path``.
    """

    images: np.ndarray
    labels: np.ndarray
    rows: np.ndarray
    ids: list[str]


@dataclasses.dataclass(frozen=True)
class FeatureSplit:
    """Images and labels of one split.

    Parameters
    ----------
    images : np.ndarray [shape=(N, n_bins, n_frames)]
        CQT images in [0, 1] (float16 or float32).
    labels : np.ndarray [shape=(N,)], int64
        Class indices.
    name : str
        The split's name, for messages.
    """

    images: np.ndarray
    labels: np.ndarray
    name: str = "split"

    def __post_init__(self) -> None:
        if self.images.ndim != 3:
            raise SongnetError(f"{self.name} images must have shape (N, n_bins, n_frames), "
                               f"got {self.images.shape}; rerun `songnet features`")
        if self.labels.shape != (self.images.shape[0],):
            raise SongnetError(f"{self.name}: {self.labels.shape[0]} labels for "
                               f"{self.images.shape[0]} images; rerun `songnet features`")

    def __len__(self) -> int:
        return int(self.images.shape[0])


@dataclasses.dataclass(frozen=True, eq=False)
class FeatureSet:
    """All splits of a manifest, with the parameters and class order that made them."""

    params: FeatureParams
    classes: list[str]
    splits: dict[str, SplitFeatures]

    def meta(self) -> dict[str, Any]:
        """What ``features.json`` records: params, classes, counts, manifest rows and ids."""
        return {
            "params": params_to_dict(self.params),
            "classes": list(self.classes),
            "shape": [self.params.n_bins, self.params.n_frames],
            "dtype": "float16",
            "frequencies_hz": [round(float(f), 3) for f in self.params.frequencies],
            "frame_s": self.params.frame_s,
            "counts": {s: len(f.labels) for s, f in self.splits.items()},
            "class_counts": {s: {c: int(np.sum(f.labels == i))
                                 for i, c in enumerate(self.classes)}
                             for s, f in self.splits.items()},
            "rows": {s: f.rows.tolist() for s, f in self.splits.items()},
            "ids": {s: list(f.ids) for s, f in self.splits.items()},
        }


def compute_features(manifest: pd.DataFrame, *, root: str | os.PathLike,
                     params: FeatureParams, device: str = "auto", batch_size: int = 64,
                     workers: int = 2, progress: ProgressCallback | None = None) -> FeatureSet:
    """Constant-Q images of every clip in a manifest, split by split.

    Parameters
    ----------
    manifest : pd.DataFrame
        Columns ``path`` (relative to ``root``, or absolute), ``theme``, ``split``;
        optional ``id``. Row order is kept within each split.
    root : path-like
        The folder the manifest's paths are relative to (the manifest's folder).
    params : FeatureParams
        The transform; clips are resampled to ``params.sr`` and fitted with
        :func:`songnet.features.npcqt.fit_window`.
    device : str
        ``"auto"`` (GPU when present), ``"cpu"`` or ``"cuda"``.
    batch_size : int
        Clips per batched transform.
    workers : int
        Threads reading and resampling audio (1 = read in the main thread).
    progress : callable, optional
        Called with the number of clips done after each batch.

    Returns
    -------
    FeatureSet
        Every split of :data:`SPLITS` (empty when the manifest has none of it).

    Raises
    ------
    SongnetError
        For an unreadable clip (naming it) or bad ``batch_size``/``workers``.
    """
    if batch_size < 1 or workers < 1:
        raise SongnetError(f"batch_size={batch_size} and workers={workers} must be >= 1")
    classes = class_names(manifest["theme"].astype(str).tolist())
    index = {c: i for i, c in enumerate(classes)}
    root = Path(root)
    ids = manifest["id"].astype(str) if "id" in manifest.columns else manifest["path"]

    def read(rel: str) -> np.ndarray:
        return fit_window(load(root / rel, sr=params.sr).samples, params=params)

    splits = {}
    with concurrent.futures.ThreadPoolExecutor(max_workers=workers) as pool:
        for split in SPLITS:
            rows = np.flatnonzero((manifest["split"] == split).to_numpy())
            out = np.empty((len(rows), params.n_bins, params.n_frames), dtype=np.float16)
            chunks = [rows[i:i + batch_size] for i in range(0, len(rows), batch_size)]
            pending = [pool.submit(read, manifest["path"].iloc[r]) for r in chunks[0]] \
                if chunks else []
            done = 0
            for k, chunk in enumerate(chunks):
                clips = [f.result() for f in pending]
                if k + 1 < len(chunks):  # read the next batch while this one transforms
                    pending = [pool.submit(read, manifest["path"].iloc[r])
                               for r in chunks[k + 1]]
                imgs = images(np.stack(clips), params=params, device=device,
                              batch_size=batch_size)
                out[done:done + len(chunk)] = imgs
                done += len(chunk)
                if progress is not None:
                    progress(len(chunk))
            labels = np.array([index[str(t)] for t in manifest["theme"].iloc[rows]],
                              dtype=np.int64)
            splits[split] = SplitFeatures(out, labels, rows.astype(np.int64),
                                          [str(i) for i in ids.iloc[rows]])
    return FeatureSet(params=params, classes=classes, splits=splits)


def preview_figure(features: FeatureSet, *, per_class: int = 4) -> Any:
    """A grid of images: one row per class, its first ``per_class`` clips (train first).

    Returns
    -------
    matplotlib.figure.Figure
        Frequency up (CQT bins, ticks in kHz), time (s) across; a class with no clip
        shows an empty row.
    """
    from matplotlib.figure import Figure

    p = features.params
    picks: dict[int, list[np.ndarray]] = {i: [] for i in range(len(features.classes))}
    for split in features.splits.values():
        for img, label in zip(split.images, split.labels, strict=True):
            if len(picks[int(label)]) < per_class:
                picks[int(label)].append(img)
    n_rows = len(features.classes)
    fig = Figure(figsize=(2.2 * per_class, 1.5 * n_rows + 0.5), layout="constrained")
    axes = fig.subplots(n_rows, per_class, squeeze=False, sharex=True, sharey=True)
    extent = (0.0, p.n_frames * p.frame_s, -0.5, p.n_bins - 0.5)
    khz = [k for k in (1, 2, 4, 8, 16) if p.fmin <= k * 1e3 <= p.frequencies[-1]]
    ticks = frequency_rows(np.asarray(khz, dtype=float) * 1e3, params=p)
    for i, name in enumerate(features.classes):
        for j in range(per_class):
            ax = axes[i, j]
            if j < len(picks[i]):
                ax.imshow(np.asarray(picks[i][j], dtype=np.float32), origin="lower",
                          aspect="auto", extent=extent, vmin=0.0, vmax=1.0, cmap="magma")
            if j == 0:
                ax.set_ylabel(f"{name}\nkHz", fontsize=8)
            if i == n_rows - 1:
                ax.set_xlabel("s", fontsize=8)
            ax.set_yticks(ticks, [str(k) for k in khz])
            ax.tick_params(labelsize=7)
    bands = (f"Constant-Q images ({p.n_bins} bins from {p.fmin:.0f} Hz, "
             f"{p.bins_per_octave}/octave" if p.frontend == "cqt" else
             f"{'Linear' if p.frontend == 'stft' else 'Mel'} STFT images ({p.n_bins} bands, "
             f"{p.fmin:.0f}-{top_frequency(p):.0f} Hz, n_fft {stft_n_fft(p.sr)}")
    fig.suptitle(f"{bands}, hop {p.frame_s * 1e3:.1f} ms)", fontsize=9)
    return fig

def save_features(features: FeatureSet, folder: Path, *, manifest: str,
                  preview_per_class: int = 4) -> dict[str, Any]:
    """Write the features stage's folder (call inside :func:`songnet.core.files.atomic_dir`).

    Writes ``{split}.npy`` (N, n_bins, n_frames) float16, ``{split}.labels.npy`` int64 for
    every split of :data:`SPLITS`, ``features.json`` (:meth:`FeatureSet.meta` plus the
    manifest's path) and ``preview.png``. Returns what ``features.json`` holds.
    """
    meta = features.meta()
    meta["manifest"] = manifest
    for split in SPLITS:
        np.save(folder / f"{split}.npy", features.splits[split].images)
        np.save(folder / f"{split}.labels.npy", features.splits[split].labels)
    write_json(folder / FEATURES_JSON, meta)
    preview_figure(features, per_class=preview_per_class).savefig(folder / "preview.png",
                                                                  dpi=100)
    return meta


def load_meta(folder: Path) -> dict[str, Any]:
    """``folder/features.json``, checked to hold ``classes`` and ``params``.

    Raises
    ------
    SongnetError
        A missing or unreadable file, naming it and what to run.
    """
    path = folder / FEATURES_JSON
    if not path.is_file():
        raise SongnetError(f"{path} not found; run `songnet features` first (or pass "
                           "--features FOLDER)")
    meta = read_json_file(path, what="a features.json", fix="rerun `songnet features`")
    try:
        meta["classes"] = [str(c) for c in meta["classes"]]
        meta["params"] = dict(meta["params"])
    except (KeyError, TypeError, ValueError) as exc:
        raise SongnetError(f"{path}: not a features.json with 'classes' and 'params' "
                           f"({exc}); rerun `songnet features`") from exc
    return meta


def load_split(folder: Path, split: str) -> FeatureSplit:
    """Images (float16, as stored) and labels of one split of a features folder."""
    images_path = folder / f"{split}.npy"
    labels_path = folder / f"{split}.labels.npy"
    for path in (images_path, labels_path):
        if not path.is_file():
            raise SongnetError(f"{path} not found; run `songnet features` to make the "
                               f"{split} split")
    try:
        images_ = np.load(images_path, allow_pickle=False)
        labels = np.load(labels_path, allow_pickle=False)
    except (ValueError, OSError, EOFError) as exc:
        raise SongnetError(f"{images_path}: unreadable feature array ({exc}); "
                           "rerun `songnet features`") from exc
    return FeatureSplit(np.asarray(images_), labels.astype(np.int64), name=split)


def real_rows(meta: dict[str, Any], split: str, n: int) -> np.ndarray:
    """``(n,)`` bool: which clips of ``split`` are real songs (the researcher's recordings,
    :data:`songnet.core.labels.REAL_CLIP_SUFFIX`), from ``features.json``'s ids."""
    return np.array([i.endswith(REAL_CLIP_SUFFIX) for i in split_ids(meta, split, n)],
                    dtype=bool).reshape(n)


def split_ids(meta: dict[str, Any], split: str, n: int) -> list[str]:
    """The clip ids of ``split`` recorded in ``features.json`` (``split-k`` when absent)."""
    ids = meta.get("ids", {}).get(split)
    return [str(i) for i in ids] if ids and len(ids) == n else [f"{split}-{i}" for i in range(n)]
