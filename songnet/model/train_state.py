"""One training run's state: what it updates epoch after epoch (:class:`TrainSession`),
and the resumable training-state file rewritten after every epoch.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from typing import Any

import torch
from torch.utils.data import DataLoader

from songnet.core.errors import SongnetError
from songnet.model.archs import DEFAULT_ARCH
from songnet.model.checkpoint import checkpoint_payload, read_payload, write_payload
from songnet.model.network import Network

__all__ = ["TrainSession", "load_state", "resume_session", "save_state"]


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
class TrainSession:
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


def resume_session(run: TrainSession, state: Mapping[str, Any], *, epochs: int) -> None:
    """Continue ``run`` from a saved training state (weights, optimizer, RNGs, history)."""
    run.model.load_state_dict(state["state_dict"])
    run.optimizer.load_state_dict(state["optimizer"])
    run.scheduler.load_state_dict(state["scheduler"])
    _set_rng_state(state["rng"], run.sampler_gen)
    run.early = dict(state["early"])
    run.best_state = state["best_state"]
    run.history = [dict(row) for row in state["history"]]
    run.start_epoch = epochs + 1 if state["stopped"] else int(state["epoch"]) + 1


def save_state(run: TrainSession, path: str | os.PathLike, *, epoch: int, stopped: bool,
                classes: list[str], feature_params: dict, train_params: dict) -> None:
    """Write the resumable training state (rewritten after every epoch)."""
    payload = checkpoint_payload(run.model, classes=classes, feature_params=feature_params,
                                 train_params=train_params, meta={"epoch": epoch})
    payload.update(epoch=epoch, stopped=stopped, optimizer=run.optimizer.state_dict(),
                   scheduler=run.scheduler.state_dict(), rng=_rng_state(run.sampler_gen),
                   early=run.early, best_state=run.best_state, history=run.history)
    write_payload(path, payload)


def load_state(path: str | os.PathLike, train_params: dict, classes: list[str],
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
