"""Training the theme CNN: augmentation, AdamW + one-cycle schedule, early stopping, resume.

:func:`train_model` is the core: it takes the train and validation images in memory, the
:class:`TrainParams`, and optionally a checkpoint file that it rewrites (atomically) at the
end of every epoch with the full training state: weights, optimizer, scheduler, RNG states
and the early-stopping state. ``resume=True`` continues from that file and reaches the
same final weights as an uninterrupted run.

Augmentation runs on the CPU from the global torch RNG (seeded once from ``seed``), so a
run is reproducible on any device: a random time shift, a gain change in dB, mixing with a
background (``no_song``) image, then frequency and time masking (torchaudio).
"""

from __future__ import annotations

import csv
import dataclasses
import datetime
import io
import math
import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torchaudio
from torch import nn
from torch.utils.data import BatchSampler, DataLoader, Dataset, RandomSampler

from songnet.core.device import resolve_device
from songnet.core.errors import SongnetError
from songnet.core.files import write_text
from songnet.core.labels import NO_SONG, UNKNOWN, ranks_unknown_first, theme_classes
from songnet.core.params import params_to_dict
from songnet.features.featureset import FeatureSplit
from songnet.features.params import FeatureParams
from songnet.model.archs import DEFAULT_ARCH, build_model, check_arch, config_from_dict
from songnet.model.checkpoint import checkpoint_payload, read_payload, write_payload
from songnet.model.network import Network
from songnet.model.openset import METRICS, ThemeMatcher
from songnet.song.notecheck import NoteCheck, image_vectors

__all__ = ["HISTORY_COLUMNS", "TrainParams", "TrainResult", "augment", "fit_note_check",
           "fit_open_set",
           "fit_unknown_min_p", "new_network", "save_history", "train_model", "training_date",
           "warp_reference"]


HISTORY_COLUMNS = ("epoch", "train_loss", "train_acc", "val_loss", "val_acc", "lr")
"""Columns of ``history.csv``, one row per epoch."""


@dataclasses.dataclass(frozen=True)
class TrainParams:
    """The ``train`` section of params.yaml.

    Time quantities are in image frames and frequency quantities in CQT bins; ``stretch``
    is the largest tempo change (fraction); ``gain`` and ``noise_drop`` are in normalised
    image units (1 = the image's dB range). ``epochs`` is the length of the one-cycle
    learning-rate schedule; training stops earlier only after ``patience`` epochs without a
    lower validation loss, so ``patience >= epochs`` (the default) always runs the whole
    schedule and keeps the epoch with the lowest validation loss.

    ``arch`` names the network (:data:`songnet.model.archs.ARCHS`); ``channels`` (the
    widths of its stages), ``embed_dim`` and ``dropout`` apply to every network.

    ``metric_weight`` > 0 adds a supervised contrastive loss on the embedding
    (:func:`supcon_loss`, at ``metric_temperature``) to the cross-entropy, so the
    embedding the open set and the persistence table measure distances in is trained for
    that, not only as the classifier's input.
    """

    seed: int = 0
    epochs: int = 60
    batch_size: int = 64
    lr: float = 3e-3
    weight_decay: float = 1e-2
    patience: int = 60
    arch: str = DEFAULT_ARCH
    channels: tuple[int, ...] = (16, 32, 64, 128)
    embed_dim: int = 64
    dropout: float = 0.2
    shift_frames: int = 60
    pitch_bins: int = 3
    stretch: float = 0.1
    time_warp: float = 6.0
    gain: float = 0.1
    noise_prob: float = 0.5
    noise_drop: float = 0.2
    freq_mask: int = 4
    time_mask: int = 20
    num_threads: int = 2
    device: str = "auto"
    open_set_quantile: float = 0.98
    open_set_scale: float = 1.0
    open_set_pooling: str = "pooled"
    open_set_metric: str = "cosine"
    open_set_real: bool = True
    note_check_quantile: float = 0.99
    unknown_quantile: float = 0.05
    metric_weight: float = 0.0
    metric_temperature: float = 0.1

    def __post_init__(self) -> None:
        positive = {"epochs": self.epochs, "batch_size": self.batch_size, "lr": self.lr,
                    "patience": self.patience, "num_threads": self.num_threads}
        for name, value in positive.items():
            if value <= 0:
                raise ValueError(f"{name}={value} must be > 0")
        for name in ("shift_frames", "pitch_bins", "freq_mask", "time_mask", "gain",
                     "noise_drop", "weight_decay"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name}={getattr(self, name)} must be >= 0")
        if not 0.0 <= self.stretch < 1.0:
            raise ValueError(f"stretch={self.stretch} must lie in [0, 1)")
        if not 0.0 <= self.time_warp <= 20.0:
            raise ValueError(f"time_warp={self.time_warp} must lie in [0, 20] frames")
        if not 0.0 <= self.noise_prob <= 1.0:
            raise ValueError(f"noise_prob={self.noise_prob} must lie in [0, 1]")
        if not 0.0 < self.note_check_quantile <= 1.0:
            raise ValueError(f"note_check_quantile={self.note_check_quantile} must lie in "
                             "(0, 1]")
        if not 0.0 < self.open_set_quantile <= 1.0 or self.open_set_scale <= 0:
            raise ValueError(f"open_set_quantile={self.open_set_quantile} must lie in (0, 1] "
                             f"and open_set_scale={self.open_set_scale} be positive")
        if not 0.0 <= self.unknown_quantile < 1.0:
            raise ValueError(f"unknown_quantile={self.unknown_quantile} must lie in [0, 1)")
        if self.metric_weight < 0 or self.metric_temperature <= 0:
            raise ValueError(f"metric_weight={self.metric_weight} must be >= 0 and "
                             f"metric_temperature={self.metric_temperature} > 0")
        check_arch(self.arch)
        if self.open_set_pooling not in ("pooled", "per_theme"):
            raise ValueError(f"open_set_pooling={self.open_set_pooling!r} must be 'pooled' or "
                             "'per_theme'")
        if self.open_set_metric not in METRICS:
            raise ValueError(f"open_set_metric={self.open_set_metric!r} must be one of "
                             f"{', '.join(METRICS)}")


@dataclasses.dataclass
class TrainResult:
    """The best model (lowest validation loss), the per-epoch history, and the open-set
    matcher fitted on the validation birds' theme songs (:meth:`ThemeMatcher.to_dict`; None
    when the validation split has too few songs per theme)."""

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


def _warp_draws(b: int, params: TrainParams) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Per image, from the global torch RNG: the time shift (frames, float), the
    transposition (whole bins, int64) and the tempo factor (> 1: a slower song)."""
    shift = torch.randint(-params.shift_frames, params.shift_frames + 1, (b,)).float()
    pitch = torch.randint(-params.pitch_bins, params.pitch_bins + 1, (b,))
    scale = 1.0 + (torch.rand(b) * 2 - 1) * params.stretch
    return shift, pitch, scale


def _warp(x: torch.Tensor, params: TrainParams) -> torch.Tensor:
    """Per-image time shift (frames), transposition (bins) and tempo change, zero-filled.

    On a Constant-Q image a transposition is a shift along frequency and a tempo change a
    stretch along time (about the image's centre). The transposition is a whole number of
    bins, so it is an exact shift; time is resampled linearly: output frame ``u`` reads the
    input at ``(u + 0.5 - T/2) / scale + (T - 1)/2 - shift``, zero outside the image (the
    bilinear ``affine_grid`` + ``grid_sample`` of the same transform gives the same image
    to float rounding, 3-4 times slower on a CPU). With ``params.time_warp`` > 0 a smooth
    wobble is added to that reading position (:func:`_wobble`): notes move against each
    other, as in a bird that times its notes differently.
    """
    b, f, t = x.shape
    shift, pitch, scale = _warp_draws(b, params)
    moved = torch.zeros_like(x)
    for p in pitch.unique().tolist():  # output bin v reads input bin v - p
        rows = pitch == p
        if p >= 0:
            moved[rows, p:] = x[rows, :f - p]
        else:
            moved[rows, :f + p] = x[rows, -p:]
    u = torch.arange(t, dtype=torch.float32) + 0.5 - t / 2
    src = u[None, :] / scale[:, None] + (t - 1) / 2 - shift[:, None]  # (B, T)
    if params.time_warp > 0:
        src = src + _wobble(b, t, params)
    i0 = src.floor()
    w1 = src - i0
    i0 = i0.long()
    out = torch.zeros_like(x)
    for i, w in ((i0, 1.0 - w1), (i0 + 1, w1)):
        w = torch.where((i >= 0) & (i < t), w, 0.0)  # zero padding outside the image
        idx = i.clamp(0, t - 1)[:, None, :].expand(b, f, t)
        out += moved.gather(2, idx) * w[:, None, :]
    return out


def _wobble(b: int, t: int, params: TrainParams) -> torch.Tensor:
    """Per image, a displacement in frames of each output frame's reading position:
    ``a * sin(2 pi u / period + phase)``, ``|a|`` up to ``params.time_warp``, a period of 60
    to 200 frames (0.35-1.2 s at the default hop) and at least long enough that the reading
    position keeps moving forward at the fastest tempo (no frame is read backwards)."""
    shortest = max(60.0, 2 * math.pi * params.time_warp * (1 + params.stretch) * 1.25)
    amp = (torch.rand(b) * 2 - 1) * params.time_warp
    period = shortest + torch.rand(b) * max(0.0, 200.0 - shortest)
    phase = torch.rand(b) * 2 * math.pi
    u = torch.arange(t, dtype=torch.float32)
    return amp[:, None] * torch.sin(2 * math.pi * u[None, :] / period[:, None]
                                    + phase[:, None])


def warp_reference(x: torch.Tensor, params: TrainParams) -> torch.Tensor:
    """The transform of the augmentation's warp as one bilinear affine resampling
    (``affine_grid`` + ``grid_sample``), from the same random draws (:func:`_warp_draws`): the
    reference the tests and ``benchmarks/train_step.py`` hold :func:`augment` to (its affine
    part: ``time_warp`` 0)."""
    b, f, t = x.shape
    shift, pitch, scale = _warp_draws(b, params)
    theta = torch.zeros(b, 2, 3)
    theta[:, 0, 0], theta[:, 0, 2] = 1.0 / scale, -2.0 * shift / t
    theta[:, 1, 1], theta[:, 1, 2] = 1.0, -2.0 * pitch.float() / f
    grid = nn.functional.affine_grid(theta, [b, 1, f, t], align_corners=False)
    return nn.functional.grid_sample(x[:, None], grid, mode="bilinear", padding_mode="zeros",
                                     align_corners=False)[:, 0]


def augment(x: torch.Tensor, *, params: TrainParams,
            noise: torch.Tensor | None = None) -> torch.Tensor:
    """Random time shift, transposition, tempo, gain, background mixing, masks.

    Parameters
    ----------
    x : torch.Tensor [shape=(B, n_bins, n_frames)], float32 in [0, 1]
    params : TrainParams
    noise : torch.Tensor [shape=(M, n_bins, n_frames)], optional
        Background images to mix in (``no_song`` examples).

    Returns
    -------
    torch.Tensor [shape=(B, n_bins, n_frames)] in [0, 1]
        Uses the global torch RNG.
    """
    b = x.shape[0]
    if (params.shift_frames > 0 or params.pitch_bins > 0 or params.stretch > 0
            or params.time_warp > 0):
        x = _warp(x, params)
    if params.gain > 0:
        g = (torch.rand(b, 1, 1) * 2 - 1) * params.gain
        x = torch.where(x > 0, (x + g).clamp(0, 1), x)  # the dB floor stays the floor
    if noise is not None and len(noise) and params.noise_prob > 0:
        pick = torch.randint(0, len(noise), (b,))
        drop = torch.rand(b, 1, 1) * params.noise_drop
        mixed = torch.maximum(x, (noise[pick].float() - drop).clamp(min=0))
        use = (torch.rand(b, 1, 1) < params.noise_prob)
        x = torch.where(use, mixed, x)
    x = x[:, None]  # (B, 1, n_bins, n_frames) for torchaudio's iid masks
    if params.freq_mask > 0:
        x = torchaudio.transforms.FrequencyMasking(params.freq_mask, iid_masks=True)(x)
    if params.time_mask > 0:
        x = torchaudio.transforms.TimeMasking(params.time_mask, iid_masks=True)(x)
    return x[:, 0]


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


def _rng_state(sampler_gen: torch.Generator) -> dict[str, Any]:
    state = {"torch": torch.get_rng_state(), "sampler": sampler_gen.get_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def _set_rng_state(state: Mapping[str, Any], sampler_gen: torch.Generator) -> None:
    torch.set_rng_state(state["torch"])
    sampler_gen.set_state(state["sampler"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


@dataclasses.dataclass
class _Session:
    """Everything one training run updates, epoch after epoch (and saves for resume)."""

    model: Network
    optimizer: torch.optim.Optimizer
    scheduler: torch.optim.lr_scheduler.LRScheduler
    loader: DataLoader
    sampler_gen: torch.Generator
    noise: torch.Tensor | None
    device: torch.device
    early: dict[str, Any]
    best_state: dict[str, torch.Tensor]
    history: list[dict[str, float]]
    anchors: torch.Tensor | None = None
    start_epoch: int = 1


def train_model(train: FeatureSplit, val: FeatureSplit, *, classes: list[str],
                feature_params: Mapping[str, Any], params: TrainParams = TrainParams(),
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
        _resume(run, _load_state(checkpoint, train_dict, classes, plain_features),
                epochs=params.epochs)
    for epoch in range(run.start_epoch, params.epochs + 1):
        train_loss, train_acc = _train_epoch(run, params=params, progress=progress)
        val_loss, val_acc = _evaluate(run.model, val, run.device, params.batch_size)
        row = {"epoch": epoch, "train_loss": train_loss, "train_acc": train_acc,
               "val_loss": val_loss, "val_acc": val_acc,
               "lr": float(run.optimizer.param_groups[0]["lr"])}
        stopped = _end_epoch(run, row, patience=params.patience)
        if checkpoint is not None:
            _save_state(run, checkpoint, epoch=epoch, stopped=stopped, classes=classes,
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


def fit_unknown_min_p(model: Network, split: FeatureSplit, *, classes: Sequence[str],
                      params: TrainParams, device: torch.device | str = "cpu") -> float:
    """The least ``p(unknown)`` an event needs to be a song of an unknown theme: the
    ``unknown_quantile`` quantile of ``p(unknown)`` over ``split``'s ``unknown`` songs that
    the network ranks ``unknown`` first among the song classes (0 without such songs).

    A sound the network ranks ``unknown`` with less than that is weaker evidence than all
    but ``unknown_quantile`` of the foreign songs it knows: classify takes it for no song.
    """
    if UNKNOWN not in classes:
        return 0.0
    iu = list(classes).index(UNKNOWN)
    pick = np.flatnonzero(split.labels == iu)
    if pick.size == 0:
        return 0.0
    p = _eval_batches(model, split.images, pick, batch_size=params.batch_size, device=device,
                      fn=lambda m, x: torch.softmax(m(x), dim=1))
    top = ranks_unknown_first(p, classes)
    if not top.any():
        return 0.0
    return float(np.quantile(p[top, iu], params.unknown_quantile))


def _eval_batches(model: Network, images: np.ndarray, rows: np.ndarray, *, batch_size: int,
                  device: torch.device | str, fn: Callable[[Network, torch.Tensor],
                                                           torch.Tensor]) -> np.ndarray:
    """``fn(model, x)`` of ``images[rows]`` (``x``: ``(b, 1, n_bins, n_frames)``), batch by
    batch, in eval mode without gradients, as one NumPy array."""
    model.eval()
    out = []
    with torch.no_grad():
        for start in range(0, rows.size, batch_size):
            xb = torch.from_numpy(images[rows[start:start + batch_size]])
            out.append(fn(model, xb.float().to(device)[:, None]).cpu().numpy())
    return np.concatenate(out)


def fit_open_set(model: Network, split: FeatureSplit, *, classes: Sequence[str],
                 params: TrainParams, device: torch.device | str = "cpu",
                 real: FeatureSplit | None = None) -> dict[str, Any] | None:
    """The open-set matcher of a trained model: theme centroids and thresholds from the
    embeddings of ``split``'s theme songs (``unknown`` and ``no_song`` left out), with the
    ``open_set_*`` rule of ``params``.

    With ``real`` (real songs of the catalog's themes, however many) and
    ``params.open_set_real``, each theme's centroid is the mean of two centroids, its
    model-made songs' and its real songs', and the threshold's quantile runs over both
    kinds' distances: the validation birds are model-made, and alone they put a theme's
    centre where the model sings it, farther from the real birds than from its own
    surrogates.

    Returns
    -------
    dict or None
        :meth:`ThemeMatcher.to_dict`; None when no theme has two songs in ``split``.
    """
    themes = theme_classes(classes)
    keep = np.flatnonzero(np.isin(split.labels, [list(classes).index(t) for t in themes]))
    if keep.size < 2:
        return None
    emb = _eval_batches(model, split.images, keep, batch_size=params.batch_size,
                        device=device, fn=lambda m, x: m.embed(x))
    labels = [classes[i] for i in split.labels[keep]]
    groups = ["model"] * len(labels)
    if real is not None and len(real) and params.open_set_real:
        rows = np.flatnonzero(np.isin(real.labels, [list(classes).index(t) for t in themes]))
        if rows.size:
            emb = np.concatenate([emb, _eval_batches(model, real.images, rows,
                                                     batch_size=params.batch_size,
                                                     device=device, fn=lambda m, x: m.embed(x))])
            labels += [classes[i] for i in real.labels[rows]]
            groups += ["real"] * rows.size
    try:
        matcher = ThemeMatcher(threshold_quantile=params.open_set_quantile,
                               threshold_scale=params.open_set_scale,
                               pooling=params.open_set_pooling,
                               metric=params.open_set_metric).fit(emb, labels, groups)
    except SongnetError:  # every theme with a single song: no spread to learn
        return None
    return matcher.to_dict()


def fit_note_check(splits: Sequence[FeatureSplit], *, classes: Sequence[str],
                   feature_params: Mapping[str, Any], templates: Mapping[str, np.ndarray],
                   params: TrainParams) -> dict[str, Any] | None:
    """The note check of a model (:class:`songnet.song.notecheck.NoteCheck`): each catalog
    theme's introduction (``templates``: note vectors) and the threshold learned from the
    introductions measured on ``splits``' songs of those themes (the training and
    validation birds: the check does not depend on the network, so every bird the model
    was built from counts): the ``note_check_quantile`` of their distances to their own
    theme.

    Returns
    -------
    dict or None
        :meth:`NoteCheck.to_dict`; None for a front end other than the CQT (the check
        reads pitches off log-spaced bins), without templates, or when too few songs are
        measured cleanly.
    """
    fp = FeatureParams(**dict(feature_params))
    known = [t for t in theme_classes(classes) if t in templates]
    if fp.frontend != "cqt" or not known:
        return None
    frame_s = fp.hop_length / fp.sr
    songs = []
    for split in splits:
        for image, label in zip(split.images, split.labels, strict=True):
            theme = classes[int(label)]
            if theme in known:
                songs.append((theme, image_vectors(image, fp.frequencies, frame_s,
                                                   fp.db_floor)))
    try:
        return NoteCheck.fit({t: templates[t] for t in known}, songs,
                             quantile=params.note_check_quantile).to_dict()
    except SongnetError:
        return None


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
           params: TrainParams) -> _Session:
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
    return _Session(
        model=model, optimizer=optimizer, scheduler=scheduler, loader=loader,
        sampler_gen=sampler_gen, noise=noise, device=device,
        early={"best_val_loss": math.inf, "best_val_acc": 0.0, "best_epoch": 0,
               "bad_epochs": 0},
        best_state={k: v.detach().cpu().clone() for k, v in model.state_dict().items()},
        history=[], anchors=torch.tensor([c in theme_classes(classes) for c in classes],
                                         device=device))


def _resume(run: _Session, state: Mapping[str, Any], *, epochs: int) -> None:
    """Continue ``run`` from a saved training state (weights, optimizer, RNGs, history)."""
    run.model.load_state_dict(state["state_dict"])
    run.optimizer.load_state_dict(state["optimizer"])
    run.scheduler.load_state_dict(state["scheduler"])
    _set_rng_state(state["rng"], run.sampler_gen)
    run.early = dict(state["early"])
    run.best_state = state["best_state"]
    run.history = [dict(row) for row in state["history"]]
    run.start_epoch = epochs + 1 if state["stopped"] else int(state["epoch"]) + 1


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


def _train_epoch(run: _Session, *, params: TrainParams,
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


def _end_epoch(run: _Session, row: dict[str, float], *, patience: int) -> bool:
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


def _save_state(run: _Session, path: str | os.PathLike, *, epoch: int, stopped: bool,
                classes: list[str], feature_params: dict, train_params: dict) -> None:
    """Write the resumable training state (rewritten after every epoch)."""
    payload = checkpoint_payload(run.model, classes=classes, feature_params=feature_params,
                                 train_params=train_params, meta={"epoch": epoch})
    payload.update(epoch=epoch, stopped=stopped, optimizer=run.optimizer.state_dict(),
                   scheduler=run.scheduler.state_dict(), rng=_rng_state(run.sampler_gen),
                   early=run.early, best_state=run.best_state, history=run.history)
    write_payload(path, payload)


def _load_state(path: str | os.PathLike, train_params: dict, classes: list[str],
                feature_params: dict) -> dict[str, Any]:
    """Read a training-state checkpoint and refuse one made with other params or data."""
    state = read_payload(path)
    if "optimizer" not in state:
        raise SongnetError(f"{path}: holds a model but no training state; "
                           "run without --resume to start afresh")
    saved = {"arch": DEFAULT_ARCH, **state["train_params"]}  # no arch: made before it
    for key, value in train_params.items():
        if saved.get(key) != value:
            raise SongnetError(f"{path}: made with train.{key}={saved.get(key)!r}, params say "
                               f"{value!r}; run without --resume to start afresh")
    if list(state["classes"]) != list(classes):
        raise SongnetError(f"{path}: made for classes {state['classes']}, the features have "
                           f"{classes}; run without --resume to start afresh")
    from songnet.model.checkpoint import check_features
    check_features(state["feature_params"], feature_params, what=str(path))
    return state


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
