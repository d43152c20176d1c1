"""``songnet train``: train the theme CNN on the feature arrays."""

from __future__ import annotations

import csv
import io
import os
from pathlib import Path

import click
import torch

from songnet.cli._features_data import read_features_meta, read_split
from songnet.cli.common import common_options, features_dir_option
from songnet.core.files import write_text
from songnet.core.params import load_params, params_to_dict
from songnet.core.progress import bar
from songnet.model.checkpoint import save_checkpoint
from songnet.model.train import TrainParams, train_model

HISTORY_COLUMNS = ("epoch", "train_loss", "train_acc", "val_loss", "val_acc", "lr")


@click.command("train")
@features_dir_option()
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path),
              default=Path("experiments/model"), show_default=True,
              help="Output folder: model.pt, history.csv, checkpoints/last.pt.")
@click.option("--resume", is_flag=True,
              help="Continue an interrupted run from OUT/checkpoints/last.pt.")
@common_options
def command(features_dir: Path, out_dir: Path, resume: bool, params_file: Path,
            quiet: bool) -> None:
    """Train the theme CNN (AdamW, one-cycle schedule, early stopping on val loss).

    Writes OUT/model.pt (the best epoch's weights with config, classes, feature and
    training params), OUT/history.csv (one row per epoch) and a resumable training state
    in OUT/checkpoints/last.pt after every epoch.
    """
    params = load_params(params_file, "train", TrainParams)
    classes, feature_params = read_features_meta(features_dir)
    train = read_split(features_dir, "train")
    val = read_split(features_dir, "val")
    torch.set_num_threads(params.num_threads)
    os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")  # deterministic cuBLAS
    torch.use_deterministic_algorithms(True, warn_only=True)
    state = out_dir / "checkpoints" / "last.pt"
    if resume and not state.is_file() and not quiet:
        click.echo(f"note: no training state at {state}; starting afresh", err=True)

    with bar(params.epochs * len(train), desc="train", unit="img", quiet=quiet) as pbar:
        def on_epoch(row: dict) -> None:
            pbar.set_postfix(epoch=row["epoch"], loss=f"{row['train_loss']:.3f}",
                             acc=f"{row['train_acc']:.3f}", val_acc=f"{row['val_acc']:.3f}")
        result = train_model(train, val, classes=classes, feature_params=feature_params,
                             params=params, checkpoint=state, resume=resume,
                             progress=pbar.update, on_epoch=on_epoch)
    meta = {"best_epoch": result.best_epoch, "epochs_run": len(result.history),
            "val_loss": result.best_val_loss, "val_acc": result.best_val_acc,
            "n_train": len(train), "n_val": len(val)}
    save_checkpoint(out_dir / "model.pt", result.model, classes=classes,
                    feature_params=feature_params, train_params=params_to_dict(params),
                    meta=meta)
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=HISTORY_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for row in result.history:
        writer.writerow({k: (f"{row[k]:.6g}" if k != "epoch" else int(row[k]))
                         for k in HISTORY_COLUMNS})
    write_text(out_dir / "history.csv", buf.getvalue())
    if not quiet:
        click.echo(f"best epoch {result.best_epoch}: val_acc {result.best_val_acc:.4f}, "
                   f"val_loss {result.best_val_loss:.4f} -> {out_dir / 'model.pt'}", err=True)
