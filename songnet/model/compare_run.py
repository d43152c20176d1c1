"""A whole comparison (``songnet compare``): every (arch, frontend) pair not kept in
``OUT/runs/`` yet trained, measured (:func:`songnet.model.compare.compare_pair`), saved and
kept; the table, and its files (:func:`save_comparison`).
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

import pandas as pd
import torch

from songnet.core.device import resolve_device
from songnet.core.files import atomic_path, write_text
from songnet.core.labels import class_names
from songnet.core.params import params_to_dict
from songnet.features.featureset import FeatureSplit, compute_features
from songnet.features.params import FeatureParams
from songnet.model.checkpoint import load_checkpoint, save_checkpoint
from songnet.model.compare import (
    COLUMNS,
    CompareParams,
    compare_pair,
    comparison_figure,
    images_per_second,
    load_rows,
    pair_key,
    save_row,
)
from songnet.model.openset import OPEN_SET_KEY, UNKNOWN_MIN_P_KEY
from songnet.model.train import new_network
from songnet.model.train_params import TrainParams
from songnet.surrogates.cliplength import clip_length

__all__ = ["RETIME_ROUNDS", "Bar", "Soundscape", "run_comparison", "save_comparison"]


RETIME_ROUNDS = 5
"""Rounds of ``retime``: every network timed once per round, in turn, keeping its best."""


Soundscape = Callable[[Path], Mapping[str, float]]
"""Scores a saved model (its path) on the soundscape benchmark's scenes:
``{"soundscape_precision": ..., "soundscape_recall": ...}``."""


Bar = Callable[..., AbstractContextManager[Any]]
"""``bar(total, desc=..., unit=...)``: a progress bar whose ``update(n)`` counts work
(:func:`songnet.core.progress.bar`)."""


@contextlib.contextmanager
def _no_bar(total: float, *, desc: str, unit: str = "it") -> Iterator[Any]:
    """A silent stand-in for a progress bar."""
    yield type("_Silent", (), {"update": staticmethod(lambda n=1: None)})()


def run_comparison(manifest: pd.DataFrame, *, root: Path, out: Path, data: str,
                   params: CompareParams, feature_params: FeatureParams,
                   train_params: TrainParams, device: str | None = None,
                   retime: bool = False, soundscape: Soundscape | None = None,
                   bar: Bar = _no_bar, on_row: Callable[[dict], object] | None = None
                   ) -> pd.DataFrame:
    """Train and measure every (arch, frontend) pair of ``params`` not kept in
    ``out/runs/`` yet; the comparison table.

    Parameters
    ----------
    manifest : pandas.DataFrame
        The surrogate manifest (:func:`songnet.surrogates.synthesize.load_manifest`); its
        clips lie under ``root``.
    out : Path
        The comparison folder: ``runs/`` (one row per pair, kept as each ends) and
        ``models/ARCH-FRONTEND.pt``.
    data : str
        A digest of the manifest: part of each pair's key, with the params.
    params, feature_params, train_params
        ``[compare]``, ``[features]`` (lengthened to the clips) and ``[train]``.
    device : str, optional
        Where features and trainings run (default: ``train_params.device``); no part of a
        pair's key.
    retime : bool
        Time every pair's network again (:data:`RETIME_ROUNDS` rounds, each keeping its
        best), from its saved model or, without one, the same network built afresh.
    soundscape : callable, optional
        Scores each model on the soundscape benchmark (:data:`Soundscape`); kept rows
        without those figures get them too.
    bar : callable
        Progress bars (:data:`Bar`); ``on_row(row)`` after each pair trained.

    Returns
    -------
    pandas.DataFrame
        :data:`COLUMNS`, one row per pair, front end by front end.
    """
    base = feature_params.for_clips(clip_length(manifest))  # images as long as the clips
    run = _Comparison(manifest=manifest, root=root, out=out, params=params, base=base,
                      train_params=train_params, soundscape=soundscape, bar=bar,
                      on_row=on_row)
    keys = run.keys(data)
    if device is not None:  # after the keys: rows trained elsewhere stay valid
        run.train_params = dataclasses.replace(run.train_params, device=device)
    resolve_device(run.train_params.device)  # a missing GPU fails before any work
    rows = load_rows(out / "runs", keys)
    for frontend in params.frontends:
        todo = [a for a in params.archs if (a, frontend) not in rows]
        if todo:
            run.train_frontend(frontend, todo, rows=rows, keys=keys)
    if soundscape is not None:  # rows kept from a run without a soundscape
        run.score_kept(rows, keys=keys)
    if retime:
        run.retime(rows, keys=keys)
    return pd.DataFrame([rows[(a, f)] for f in params.frontends for a in params.archs],
                        columns=list(COLUMNS))


@dataclasses.dataclass
class _Comparison:
    """What every pair of one :func:`run_comparison` shares."""

    manifest: pd.DataFrame
    root: Path
    out: Path
    params: CompareParams
    base: FeatureParams
    train_params: TrainParams
    soundscape: Soundscape | None
    bar: Bar
    on_row: Callable[[dict], object] | None
    plain: dict[str, dict[str, Any]] = dataclasses.field(default_factory=dict)

    def keys(self, data: str) -> dict[tuple[str, str], str]:
        """Each pair's key; sets the schedule every pair trains with (arch aside)."""
        epochs = self.params.epochs or self.train_params.epochs
        self.train_params = dataclasses.replace(
            self.train_params, epochs=epochs, patience=max(self.train_params.patience, epochs))
        self.plain = {f: params_to_dict(dataclasses.replace(self.base, frontend=f))
                      for f in self.params.frontends}
        return {(a, f): pair_key(a, f, train_params=self.train_params,
                                 feature_params=self.plain[f], data=data)
                for f in self.params.frontends for a in self.params.archs}

    def model_path(self, arch: str, frontend: str) -> Path:
        return self.out / "models" / f"{arch}-{frontend}.pt"

    def train_frontend(self, frontend: str, todo: Sequence[str], *,
                       rows: dict[tuple[str, str], dict],
                       keys: Mapping[tuple[str, str], str]) -> None:
        """One front end's images, then each network of ``todo`` trained on them, saved,
        scored and its row kept."""
        tp = self.train_params
        with self.bar(len(self.manifest), desc=f"features {frontend}", unit="clip") as pb:
            fs = compute_features(self.manifest, root=self.root,
                                  params=dataclasses.replace(self.base, frontend=frontend),
                                  device=tp.device, progress=pb.update)
        splits = {name: FeatureSplit(s.images, s.labels, name=name)
                  for name, s in fs.splits.items()}
        for arch in todo:
            with self.bar(tp.epochs * len(splits["train"]), desc=f"{arch}/{frontend}",
                          unit="img") as pb:
                row, result = compare_pair(
                    arch, frontend, train=splits["train"], val=splits["val"], scored=splits,
                    classes=fs.classes, feature_params=self.plain[frontend], train_params=tp,
                    params=self.params, progress=pb.update)
            meta = {OPEN_SET_KEY: result.open_set, UNKNOWN_MIN_P_KEY: result.unknown_min_p}
            save_checkpoint(self.model_path(arch, frontend), result.model, classes=fs.classes,
                            feature_params=self.plain[frontend],
                            train_params=params_to_dict(dataclasses.replace(tp, arch=arch)),
                            meta={k: v for k, v in meta.items() if v is not None})
            if self.soundscape is not None:
                row.update(self.soundscape(self.model_path(arch, frontend)))
            save_row(self.out / "runs", row, key=keys[(arch, frontend)])
            rows[(arch, frontend)] = row
            if self.on_row is not None:
                self.on_row(row)
        del fs, splits
        torch.set_num_threads(tp.num_threads)

    def score_kept(self, rows: dict[tuple[str, str], dict], *,
                   keys: Mapping[tuple[str, str], str]) -> None:
        """The soundscape figures of kept rows that lack them."""
        for (arch, frontend), row in rows.items():
            if not math.isnan(float(row["soundscape_recall"])):
                continue
            row.update(self.soundscape(self.model_path(arch, frontend)))
            save_row(self.out / "runs", row, key=keys[(arch, frontend)])

    def retime(self, rows: dict[tuple[str, str], dict], *,
               keys: Mapping[tuple[str, str], str]) -> None:
        """Every pair's speed measured again.

        Speed depends on the network's shape, not its weights: the saved model when it is
        there, else the same network built afresh (models/ is not kept in git). A shared
        machine's speed drifts over minutes, so every network is timed in each of a few
        rounds, in turn, and keeps its best: drift then moves all pairs alike.
        """
        base, tp = self.base, self.train_params
        classes = class_names(self.manifest["theme"].astype(str).tolist())
        models = {}
        for arch, frontend in rows:
            path = self.model_path(arch, frontend)
            models[(arch, frontend)] = (
                load_checkpoint(path).model if path.is_file() else
                new_network(dataclasses.replace(tp, arch=arch),
                            image_shape=(base.n_bins, base.n_frames), n_classes=len(classes)))
        best = dict.fromkeys(rows, 0.0)
        for _ in range(RETIME_ROUNDS):
            for pair, model in models.items():
                best[pair] = max(best[pair], images_per_second(
                    model, n_bins=base.n_bins, n_frames=base.n_frames,
                    batch=self.params.speed_batch, threads=self.params.speed_threads))
        for pair, row in rows.items():
            row["images_per_s"] = round(best[pair], 1)
            save_row(self.out / "runs", row, key=keys[pair])
        torch.set_num_threads(tp.num_threads)


def save_comparison(table: pd.DataFrame, out: Path) -> None:
    """Write ``comparison.csv`` and ``comparison.png`` into ``out``, atomically."""
    write_text(out / "comparison.csv", table.to_csv(index=False, float_format="%.4g"))
    fig = comparison_figure(table.to_dict("records"))
    with atomic_path(out / "comparison.png") as tmp:
        fig.savefig(tmp, dpi=110, format="png")
