"""Which network, which front end: every (arch, frontend) pair trained on the same surrogates.

For each front end (:data:`songnet.features.frontends.FRONTENDS`) the surrogate clips become
images once; for each network (:data:`songnet.model.archs.ARCHS`) :func:`compare_pair`
trains it with the ``[train]`` params (only ``arch`` and, when given, ``epochs`` changed),
scores the test and stress splits, counts its parameters and multiply-accumulates per
image, and times it on the CPU. Everything random comes from ``train.seed``, so a pair's
row does not depend on which other pairs ran.

The rows are what :func:`save_row`/:func:`load_rows` keep in ``OUT/runs/`` (one JSON per
pair, written when the pair ends, so an interrupted comparison resumes where it stopped);
:func:`comparison_figure` draws accuracy against MFLOPs. The whole run is
:mod:`songnet.model.compare_run`.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from songnet.core.errors import SongnetError
from songnet.core.files import read_json_file, write_text
from songnet.core.params import params_to_dict
from songnet.features.featureset import FeatureSplit
from songnet.features.frontends import FRONTENDS
from songnet.model.archs import ARCHS, count_flops, count_params
from songnet.model.checkpoint import Checkpoint, predict_proba
from songnet.model.train import TrainResult, train_model
from songnet.model.train_params import TrainParams

__all__ = ["COLUMNS", "CompareParams", "compare_pair", "comparison_figure",
           "images_per_second", "load_rows", "pair_key", "save_row"]

COLUMNS = ("arch", "frontend", "params", "mflops", "images_per_s", "test_accuracy",
           "stress_accuracy", "soundscape_recall", "soundscape_precision", "train_s")
"""The columns of ``comparison.csv``; MFLOPs = 2 x multiply-accumulates, per image."""


@dataclasses.dataclass(frozen=True)
class CompareParams:
    """The ``compare`` section of params.yaml.

    Attributes
    ----------
    archs : tuple of str
        Networks to train (:data:`songnet.model.archs.ARCHS`).
    frontends : tuple of str
        Front ends to make images with (:data:`songnet.features.frontends.FRONTENDS`).
    epochs : int
        Training schedule of every pair; 0 = ``train.epochs``.
    speed_threads : int
        CPU threads when timing a network (images per second).
    speed_batch : int
        Images per timed forward pass.
    soundscape_scenes : int
        Song scenes of the soundscape benchmark per pair (when the command is given it).
    soundscape_negative_min : float
        Minutes of negative-only scenes of that benchmark per pair.
    """

    archs: tuple[str, ...] = tuple(ARCHS)
    frontends: tuple[str, ...] = tuple(FRONTENDS)
    epochs: int = 0
    speed_threads: int = 2
    speed_batch: int = 64
    soundscape_scenes: int = 2
    soundscape_negative_min: float = 10.0

    def __post_init__(self) -> None:
        for name, values, known in (("archs", self.archs, ARCHS),
                                    ("frontends", self.frontends, FRONTENDS)):
            bad = [v for v in values if v not in known]
            if not values or bad or len(set(values)) != len(values):
                raise ValueError(f"{name}={list(values)} must list distinct names of "
                                 f"{', '.join(known)}")
        if self.epochs < 0 or self.speed_threads < 1 or self.speed_batch < 1:
            raise ValueError(f"epochs={self.epochs} must be >= 0, speed_threads="
                             f"{self.speed_threads} and speed_batch={self.speed_batch} >= 1")
        if self.soundscape_scenes < 1 or not self.soundscape_negative_min > 0:
            raise ValueError(f"soundscape_scenes={self.soundscape_scenes} must be >= 1 and "
                             f"soundscape_negative_min={self.soundscape_negative_min} > 0")


def pair_key(arch: str, frontend: str, *, train_params: TrainParams,
             feature_params: Mapping[str, Any], data: str) -> str:
    """A digest of everything a pair's row depends on (a cached row with another is stale)."""
    blob = json.dumps({"arch": arch, "frontend": frontend, "train": params_to_dict(train_params),
                       "features": dict(feature_params), "data": data}, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def images_per_second(model: torch.nn.Module, *, n_bins: int, n_frames: int, batch: int = 64,
                      threads: int = 2, repeats: int = 5, warmup_s: float = 1.0) -> float:
    """CPU inference speed: images per second of the best of ``repeats`` timed batches,
    after at least ``warmup_s`` seconds of untimed ones (thread pool start, allocations,
    kernel choice, clock ramp: without it the first network timed in a process reads up
    to twice as slow)."""
    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    model = model.eval().cpu()
    x = torch.rand(batch, 1, n_bins, n_frames, generator=torch.Generator().manual_seed(0))
    try:
        with torch.no_grad():
            t0 = time.perf_counter()
            model(x)
            while time.perf_counter() - t0 < warmup_s:
                model(x)
            best = float("inf")
            for _ in range(repeats):
                t0 = time.perf_counter()
                model(x)
                best = min(best, time.perf_counter() - t0)
    finally:
        torch.set_num_threads(before)
    return batch / best


def compare_pair(arch: str, frontend: str, *, train: FeatureSplit, val: FeatureSplit,
                 scored: Mapping[str, FeatureSplit], classes: list[str],
                 feature_params: Mapping[str, Any], train_params: TrainParams,
                 params: CompareParams,
                 progress: Callable[[int], object] | None = None
                 ) -> tuple[dict[str, Any], TrainResult]:
    """Train one network on one front end's images and measure it.

    Parameters
    ----------
    arch, frontend : str
    train, val : FeatureSplit
        Training and validation images of that front end.
    scored : mapping
        ``{"test": ..., "stress": ...}``: the splits whose accuracy is reported.
    classes : list of str
    feature_params : mapping
        The images' feature params (stored in the checkpoint).
    train_params : TrainParams
        ``[train]``; its ``arch`` (and ``epochs`` when ``params.epochs`` is set) replaced.
    params : CompareParams
    progress : callable, optional
        ``progress(n)`` after each training batch of ``n`` images.

    Returns
    -------
    row : dict
        :data:`COLUMNS` (the soundscape figures NaN: the command adds them).
    result : TrainResult
    """
    tp = dataclasses.replace(train_params, arch=arch,
                             epochs=params.epochs or train_params.epochs,
                             patience=max(train_params.patience,
                                          params.epochs or train_params.epochs))
    t0 = time.perf_counter()
    result = train_model(train, val, classes=classes, feature_params=feature_params,
                         params=tp, progress=progress)
    train_s = time.perf_counter() - t0
    model = result.model.cpu()
    ckpt = Checkpoint(model=model, config=model.config, classes=list(classes),
                      feature_params=dict(feature_params), train_params=params_to_dict(tp),
                      meta={})
    n_bins, n_frames = train.images.shape[1:]
    row: dict[str, Any] = {
        "arch": arch, "frontend": frontend, "params": count_params(model),
        "mflops": round(2 * count_flops(model, n_bins, n_frames) / 1e6, 2),
        "images_per_s": round(images_per_second(model, n_bins=n_bins, n_frames=n_frames,
                                                batch=params.speed_batch,
                                                threads=params.speed_threads), 1)}
    for name in ("test", "stress"):
        split = scored[name]
        proba = predict_proba(ckpt, split.images, batch_size=128)
        row[f"{name}_accuracy"] = round(float(np.mean(proba.argmax(1) == split.labels)), 4)
    row.update(soundscape_recall=float("nan"), soundscape_precision=float("nan"),
               train_s=round(train_s, 1))
    torch.set_num_threads(train_params.num_threads)
    return row, result


def save_row(folder: Path, row: Mapping[str, Any], *, key: str) -> Path:
    """Keep one pair's row (and the digest it was made under) in ``folder``."""
    path = folder / f"{row['arch']}-{row['frontend']}.json"
    write_text(path, json.dumps({"key": key, "row": dict(row)}, indent=1, allow_nan=True))
    return path


def load_rows(folder: Path, keys: Mapping[tuple[str, str], str]) -> dict[tuple[str, str], dict]:
    """The rows kept in ``folder`` whose digest still matches ``keys[(arch, frontend)]``."""
    rows = {}
    for (arch, frontend), key in keys.items():
        path = folder / f"{arch}-{frontend}.json"
        try:
            kept = read_json_file(path, what="a kept comparison row", fix="it is rebuilt")
        except SongnetError:  # missing, too large or not JSON: the row is trained again
            continue
        if isinstance(kept, dict) and kept.get("key") == key and isinstance(kept.get("row"),
                                                                              dict):
            rows[(arch, frontend)] = kept["row"]
    return rows


def comparison_figure(rows: Sequence[Mapping[str, Any]]) -> Any:
    """Test and stress accuracy against MFLOPs per image: one marker per network, one
    colour per front end.

    Returns
    -------
    matplotlib.figure.Figure
    """
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D

    if not rows:
        raise SongnetError("no comparison rows to draw")
    markers = dict(zip(ARCHS, "osD^", strict=True))
    colours = dict(zip(FRONTENDS, ("tab:blue", "tab:orange", "tab:green"), strict=True))
    fig = Figure(figsize=(11, 4.2), layout="constrained")
    axes = fig.subplots(1, 2, sharey=True)
    for ax, split in zip(axes, ("test", "stress"), strict=True):
        for r in rows:
            ax.scatter(r["mflops"], r[f"{split}_accuracy"], marker=markers[r["arch"]],
                       color=colours[r["frontend"]], s=60, edgecolor="black", linewidth=0.5)
        ax.set_xscale("log")
        ticks = sorted({float(r["mflops"]) for r in rows})
        ax.set_xticks(ticks, [f"{t:.0f}" for t in ticks])
        ax.minorticks_off()
        ax.margins(x=0.08, y=0.08)
        ax.set_xlabel("MFLOPs per image (2 x multiply-accumulates)")
        ax.set_title(f"{split} accuracy", fontsize=10)
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("accuracy")
    handles = ([Line2D([], [], marker=m, ls="", color="grey", label=a)
                for a, m in markers.items() if any(r["arch"] == a for r in rows)]
               + [Line2D([], [], marker="o", ls="", color=c, label=f)
                  for f, c in colours.items() if any(r["frontend"] == f for r in rows)])
    fig.legend(handles=handles, fontsize=8, loc="outside right center")
    return fig
