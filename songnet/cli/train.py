"""``songnet train``: train the theme CNN on the feature arrays."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import click
import torch

from songnet.cli.common import (
    catalog_option,
    common_options,
    device_option,
    features_dir_option,
    out_option,
)
from songnet.core.device import resolve_device
from songnet.core.files import check_output_dir, check_output_file
from songnet.core.params import load_params, params_to_dict
from songnet.core.progress import bar
from songnet.features.featureset import FeatureSplit, load_meta, load_split, real_rows
from songnet.model.calibrate import fit_note_check
from songnet.model.checkpoint import save_checkpoint
from songnet.model.openset import OPEN_SET_KEY, UNKNOWN_MIN_P_KEY
from songnet.model.train import save_history, train_model, training_date
from songnet.model.train_params import TrainParams
from songnet.song.notecheck import NOTE_CHECK_KEY
from songnet.surrogates.themes import load_catalog


@click.command("train")
@features_dir_option()
@out_option("Output folder: model.pt, history.csv, checkpoints/last.pt.",
            default=Path("experiments/model"))
@click.option("--resume", is_flag=True,
              help="Continue an interrupted run from OUT/checkpoints/last.pt.")
@device_option(default=None)
@catalog_option
@common_options
def command(features_dir: Path, out: Path, resume: bool, device: str | None,
            catalog_dir: Path | None, params_file: Path, quiet: bool) -> None:
    """Train the theme CNN (AdamW, one-cycle schedule, early stopping on val loss).

    Writes OUT/model.pt (the best epoch's weights with config, classes, feature and
    training params, the open-set matcher and the note check), OUT/history.csv (one row per
    epoch) and a resumable training state in OUT/checkpoints/last.pt after every epoch.
    The note check compares a song's introduction with the catalog's (--catalog: the one
    the features were made from; default: the shipped catalog).
    """
    params = load_params(params_file, "train", TrainParams)
    check_output_dir(out, replaced=False)
    inputs = [params_file, *sorted(features_dir.glob("*"))] if features_dir.is_dir() else []
    for name in ("model.pt", "history.csv"):
        check_output_file(out / name, inputs=inputs)
    if device is not None:
        params = dataclasses.replace(params, device=device)
    resolve_device(params.device)  # a missing GPU fails before any work
    meta = load_meta(features_dir)
    templates = {t.name: t.note_vectors() for t in load_catalog(catalog_dir)}
    train = load_split(features_dir, "train")
    val = load_split(features_dir, "val")
    real = real_rows(meta, "train", len(train))  # the researcher's real songs, if any
    torch.set_num_threads(params.num_threads)
    os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")  # deterministic cuBLAS
    torch.use_deterministic_algorithms(True, warn_only=True)
    state = out / "checkpoints" / "last.pt"
    if resume and not state.is_file() and not quiet:
        click.echo(f"note: no training state at {state}; starting afresh", err=True)

    with bar(params.epochs * len(train), desc="train", unit="img", quiet=quiet) as pbar:
        def on_epoch(row: dict) -> None:
            pbar.set_postfix(epoch=row["epoch"], loss=f"{row['train_loss']:.3f}",
                             acc=f"{row['train_acc']:.3f}", val_acc=f"{row['val_acc']:.3f}")
        result = train_model(train, val, classes=meta["classes"],
                             feature_params=meta["params"], params=params, checkpoint=state,
                             resume=resume, progress=pbar.update, on_epoch=on_epoch,
                             real=FeatureSplit(train.images[real], train.labels[real],
                                               name="real") if real.any() else None)
    info = {"best_epoch": result.best_epoch, "epochs_run": len(result.history),
            "val_loss": result.best_val_loss, "val_acc": result.best_val_acc,
            "n_train": len(train), "n_val": len(val), "trained": training_date()}
    if result.open_set is not None:
        info[OPEN_SET_KEY] = result.open_set
    if "unknown" in meta["classes"]:
        info[UNKNOWN_MIN_P_KEY] = result.unknown_min_p
    note_check = fit_note_check([train, val], classes=meta["classes"],
                                feature_params=meta["params"], templates=templates,
                                params=params)
    if note_check is not None:
        info[NOTE_CHECK_KEY] = note_check
    save_checkpoint(out / "model.pt", result.model, classes=meta["classes"],
                    feature_params=meta["params"], train_params=params_to_dict(params),
                    meta=info)
    save_history(result.history, out / "history.csv")
    if not quiet:
        click.echo(f"best epoch {result.best_epoch}: val_acc {result.best_val_acc:.4f}, "
                   f"val_loss {result.best_val_loss:.4f} -> {out / 'model.pt'}", err=True)
