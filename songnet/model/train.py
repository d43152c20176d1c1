"""Training the theme CNN: augmentation, AdamW + one-cycle schedule, early stopping, resume.

:func:`train_model` is the core: it takes the train and validation images in memory, the
:class:`TrainParams`, and optionally a checkpoint file that it rewrites (atomically) at the
end of every epoch with the full training state: weights, optimizer, scheduler, RNG states
and the early-stopping state. ``resume=True`` continues from that file and reaches the
same final weights as an uninterrupted run.

The augmentation is :mod:`songnet.model.augment` (from the global torch RNG, seeded once
from ``seed``), the resumable state :mod:`songnet.model.train_state`, and what the trained
network is fitted with afterwards :mod:`songnet.model.calibrate`.
"""

from __future__ import annotations

import csv
import dataclasses
import datetime
import io
import math
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.utils.data import BatchSampler, DataLoader, Dataset, RandomSampler

from songnet.core.device import resolve_device
from songnet.core.errors import SongnetError
from songnet.core.files import write_text
from songnet.core.labels import NO_SONG, theme_classes
from songnet.core.params import params_to_dict
from songnet.features.featureset import FeatureSplit
from songnet.model.archs import build_model, config_from_dict
from songnet.model.augment import augment
from songnet.model.calibrate import fit_open_set, fit_unknown_min_p
from songnet.model.network import Network
from songnet.model.train_params import TrainParams
from songnet.model.train_state import TrainSession, load_state, resume_session, save_state

__all__ = ["HISTORY_COLUMNS", "TrainResult", "new_network", "save_history", "supcon_loss",
           "train_model", "training_date"]

_DEFAULT_PARAMS = TrainParams()


HISTORY_COLUMNS = ("epoch", "train_loss", "train_acc", "val_loss", "val_acc", "lr")
"""Columns of ``history.csv``, one row per epoch."""


@dataclasses.dataclass
class TrainResult:
    """The best model (lowest validation loss), the per-epoch history, and the open-set
    matcher fitted on the validation birds' theme songs
    (:meth:`songnet.model.openset.ThemeMatcher.to_dict`; None when the validation split has
    too few songs per theme)."""

    model: Network
    history: list[dict[str, float]]
    best_epoch: int
    best_val_loss: float
    best_val_acc: float
    open_set: dict[str, Any] | None = None
    unknown_min_p: float = 0.0


class _Batches(Dataset):
    """Index a list of positions -> (images float32 (b, n_bins, n_frames), labels (b,))."""

    def __init__(self, split: FeatureSplit) -> None:
        self.images = torch.from_numpy(np.ascontiguousarray(split.images))
        self.labels = torch.from_numpy(split.labels.astype(np.int64))

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, idx: list[int]) -> tuple[torch.Tensor, torch.Tensor]:
        index = torch.as_tensor(idx)
        return self.images[index].float(), self.labels[index]


@torch.no_grad()
def _evaluate(model: Network, split: FeatureSplit, device: torch.device,
              batch_size: int) -> tuple[float, float]:
    """Mean cross-entropy and accuracy on a split, in eval mode."""
    model.eval()
    total_loss, correct = 0.0, 0
    for start in range(0, len(split), batch_size):
        xb = torch.from_numpy(split.images[start:start + batch_size]).float().to(device)
        yb = torch.from_numpy(split.labels[start:start + batch_size].astype(np.int64)).to(device)
        logits = model(xb[:, None])  # (b, 1, n_bins, n_frames) -> (b, n_classes)
        total_loss += float(nn.functional.cross_entropy(logits, yb, reduction="sum"))
        correct += int((logits.argmax(1) == yb).sum())
    n = max(len(split), 1)
    return total_loss / n, correct / n


def train_model(train: FeatureSplit, val: FeatureSplit, *, classes: list[str],
                feature_params: Mapping[str, Any], params: TrainParams = _DEFAULT_PARAMS,
                checkpoint: str | os.PathLike | None = None, resume: bool = False,
                progress: Callable[[int], object] | None = None,
                on_epoch: Callable[[dict[str, float]], object] | None = None,
                real: FeatureSplit | None = None) -> TrainResult:
    """Train the network ``params.arch`` with early stopping on the validation loss.

    Parameters
    ----------
    train, val : FeatureSplit
        Images ``(N, n_bins, n_frames)`` in [0, 1] and labels indexing ``classes``.
    classes : list of str
        Class names (themes sorted, ``no_song`` last); ``no_song`` images are the
        backgrounds mixed in by the augmentation.
    feature_params : mapping
        The feature params of the images (stored in the checkpoint).
    params : TrainParams
    checkpoint : path-like, optional
        Training-state file rewritten at the end of every epoch.
    resume : bool
        Continue from ``checkpoint`` when it exists (same params and data required).
    progress : callable, optional
        ``progress(n)`` after each batch of ``n`` training images.
    on_epoch : callable, optional
        Called with each epoch's history row after its checkpoint is written.
    real : FeatureSplit, optional
        The real songs of ``train`` (the researcher's recordings,
        :mod:`songnet.surrogates.realdata`): they join the open-set fit
        (:func:`fit_open_set`).

    Returns
    -------
    TrainResult
        The model holds the weights of the best validation epoch, in eval mode.
    """
    n_bins, n_frames = _check_splits(train, val, n_classes=len(classes))
    train_dict = params_to_dict(params)
    plain_features = dict(feature_params)
    run = _start(train, classes=classes, image_shape=(n_bins, n_frames), params=params)
    if resume and checkpoint is not None and Path(checkpoint).is_file():
        resume_session(run, load_state(checkpoint, train_dict, classes, plain_features),
                epochs=params.epochs)
    for epoch in range(run.start_epoch, params.epochs + 1):
        train_loss, train_acc = _train_epoch(run, params=params, progress=progress)
        val_loss, val_acc = _evaluate(run.model, val, run.device, params.batch_size)
        row = {"epoch": epoch, "train_loss": train_loss, "train_acc": train_acc,
               "val_loss": val_loss, "val_acc": val_acc,
               "lr": float(run.optimizer.param_groups[0]["lr"])}
        stopped = _end_epoch(run, row, patience=params.patience)
        if checkpoint is not None:
            save_state(run, checkpoint, epoch=epoch, stopped=stopped, classes=classes,
                        feature_params=plain_features, train_params=train_dict)
        if on_epoch is not None:
            on_epoch(row)
        if stopped:
            break
    run.model.load_state_dict(run.best_state)
    run.model.eval()
    return TrainResult(model=run.model, history=run.history,
                       best_epoch=int(run.early["best_epoch"]),
                       best_val_loss=float(run.early["best_val_loss"]),
                       best_val_acc=float(run.early["best_val_acc"]),
                       open_set=fit_open_set(run.model, val, classes=classes, params=params,
                                             device=run.device, real=real),
                       unknown_min_p=fit_unknown_min_p(run.model, val, classes=classes,
                                                       params=params, device=run.device))


def _check_splits(train: FeatureSplit, val: FeatureSplit, *, n_classes: int) -> tuple[int, int]:
    """The image shape ``(n_bins, n_frames)``; SongnetError for splits that cannot train."""
    n_bins, n_frames = train.images.shape[1:]
    if val.images.shape[1:] != (n_bins, n_frames):
        raise SongnetError(f"val images {val.images.shape[1:]} differ from train images "
                           f"{(n_bins, n_frames)}; rerun `songnet features`")
    if len(train) == 0 or len(val) == 0:
        raise SongnetError("the train and val splits must both hold images; "
                           "check the synthesize params (birds per split)")
    for split in (train, val):
        bad = (split.labels < 0) | (split.labels >= n_classes)
        if bad.any():
            raise SongnetError(f"{split.name} label {int(split.labels[bad][0])} is outside "
                               f"the {n_classes} classes; rerun `songnet features`")
    return int(n_bins), int(n_frames)


def new_network(params: TrainParams, *, image_shape: tuple[int, int], n_classes: int
                ) -> Network:
    """The untrained network ``params.arch`` that training starts from (from the global
    torch RNG; ``train`` seeds it first)."""
    return build_model(params.arch, config_from_dict(params.arch, {
        "n_bins": image_shape[0], "n_frames": image_shape[1], "n_classes": n_classes,
        "channels": params.channels, "embed_dim": params.embed_dim, "dropout": params.dropout}))


def _start(train: FeatureSplit, *, classes: list[str], image_shape: tuple[int, int],
           params: TrainParams) -> TrainSession:
    """A fresh network, optimizer, one-cycle schedule and shuffled batches (all seeded)."""
    device = resolve_device(params.device)
    torch.manual_seed(params.seed)
    sampler_gen = torch.Generator().manual_seed(params.seed)
    model = new_network(params, image_shape=image_shape, n_classes=len(classes)).to(device)
    drop_last = len(train) > params.batch_size
    loader = DataLoader(_Batches(train), batch_size=None, sampler=BatchSampler(
        RandomSampler(range(len(train)), generator=sampler_gen),
        batch_size=params.batch_size, drop_last=drop_last))
    optimizer = torch.optim.AdamW(model.parameters(), lr=params.lr,
                                  weight_decay=params.weight_decay)
    scheduler = torch.optim.lr_scheduler.OneCycleLR(
        optimizer, max_lr=params.lr, total_steps=params.epochs * len(loader), pct_start=0.2)
    noise = None
    if NO_SONG in classes:  # background images, mixed into others by the augmentation
        noise = torch.from_numpy(train.images[train.labels == classes.index(NO_SONG)])
    return TrainSession(
        model=model, optimizer=optimizer, scheduler=scheduler, loader=loader,
        sampler_gen=sampler_gen, noise=noise, device=device,
        early={"best_val_loss": math.inf, "best_val_acc": 0.0, "best_epoch": 0,
               "bad_epochs": 0},
        best_state={k: v.detach().cpu().clone() for k, v in model.state_dict().items()},
        history=[], anchors=torch.tensor([c in theme_classes(classes) for c in classes],
                                         device=device))


def supcon_loss(emb: torch.Tensor, labels: torch.Tensor, *, anchors: torch.Tensor,
                temperature: float) -> torch.Tensor:
    """Supervised contrastive loss (Khosla et al. 2020, the "out" form) on unit-length
    embeddings: each anchor is pulled toward the other songs of its class and pushed from
    every other song of the batch.

    Only songs with ``anchors`` true (catalog themes) are anchors; ``unknown`` and
    ``no_song`` images are negatives only, so the varied foreign themes and backgrounds are
    not pulled into one cluster of their own. Anchors without a positive in the batch are
    skipped; a batch without any gives 0.

    Parameters
    ----------
    emb : torch.Tensor [shape=(B, E)]
    labels : torch.Tensor [shape=(B,)]
    anchors : torch.Tensor [shape=(B,), dtype=bool]
    temperature : float
    """
    z = nn.functional.normalize(emb, dim=1)
    sim = z @ z.T / temperature
    eye = torch.eye(len(z), dtype=torch.bool, device=z.device)
    sim = sim.masked_fill(eye, float("-inf"))
    log_p = sim - torch.logsumexp(sim, dim=1, keepdim=True)
    positive = (labels[:, None] == labels[None, :]) & ~eye
    count = positive.sum(1)
    use = anchors & (count > 0)
    if not bool(use.any()):
        return emb.sum() * 0.0
    mean_log_p = log_p.masked_fill(~positive, 0.0).sum(1)[use] / count[use]
    return -mean_log_p.mean()


def _train_epoch(run: TrainSession, *, params: TrainParams,
                 progress: Callable[[int], object] | None) -> tuple[float, float]:
    """One pass over the shuffled, augmented training images: (mean loss, accuracy)."""
    run.model.train()
    total_loss, correct, seen = 0.0, 0, 0
    for xb, yb in run.loader:
        xb = augment(xb, params=params, noise=run.noise)
        xb, yb = xb.to(run.device), yb.to(run.device)
        # (b, 1, n_bins, n_frames) -> logits (b, n_classes), embedding (b, embed_dim)
        logits, emb = run.model.logits_and_embedding(xb[:, None])
        loss = nn.functional.cross_entropy(logits, yb)
        if params.metric_weight > 0:  # the embedding itself trained: themes cluster
            loss = loss + params.metric_weight * supcon_loss(
                emb, yb, anchors=run.anchors[yb], temperature=params.metric_temperature)
        run.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        run.optimizer.step()
        run.scheduler.step()
        total_loss += float(loss.detach()) * len(yb)
        correct += int((logits.argmax(1) == yb).sum())
        seen += len(yb)
        if progress is not None:
            progress(len(yb))
    return total_loss / seen, correct / seen


def _end_epoch(run: TrainSession, row: dict[str, float], *, patience: int) -> bool:
    """Record an epoch, keep the best weights; True when early stopping ends the run."""
    run.history.append(row)
    if row["val_loss"] < run.early["best_val_loss"]:
        run.early.update(best_val_loss=row["val_loss"], best_val_acc=row["val_acc"],
                         best_epoch=row["epoch"], bad_epochs=0)
        run.best_state = {k: v.detach().cpu().clone()
                          for k, v in run.model.state_dict().items()}
    else:
        run.early["bad_epochs"] += 1
    return run.early["bad_epochs"] >= patience


def save_history(history: list[dict[str, float]], path: Path) -> None:
    """Write ``history.csv`` (:data:`HISTORY_COLUMNS`, 6 significant digits) atomically."""
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=HISTORY_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for row in history:
        writer.writerow({k: (f"{row[k]:.6g}" if k != "epoch" else int(row[k]))
                         for k in HISTORY_COLUMNS})
    write_text(path, buf.getvalue())


def training_date(environ: Mapping[str, str] = os.environ) -> str:
    """Today's UTC date (ISO), or the date of ``SOURCE_DATE_EPOCH`` when that is set.

    The checkpoint records it and the model card shows it. ``SOURCE_DATE_EPOCH`` (the
    reproducible-builds convention, seconds since 1970) makes a retraining on another day
    give the same bytes.
    """
    stamp = environ.get("SOURCE_DATE_EPOCH")
    if stamp is None:
        when = datetime.datetime.now(datetime.UTC)
    else:
        try:
            when = datetime.datetime.fromtimestamp(int(stamp), datetime.UTC)
        except (ValueError, OverflowError, OSError) as exc:
            raise SongnetError(f"SOURCE_DATE_EPOCH={stamp!r} must be whole seconds since "
                               "1970-01-01; unset it to use today's date") from exc
    return when.date().isoformat()
