"""``songnet release``: ship the evaluated model inside the package.

Copies the checkpoint to ``songnet/models/default.pt`` (refusing one over 5 MB) and
regenerates ``MODEL_CARD.md`` beside it. Run by the ``release`` stage of ``dvc repro``.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import click

from songnet.cli._features_data import read_features_meta
from songnet.cli.common import (
    features_dir_option,
    quiet_option,
    trained_model_option,
    verbose_option,
)
from songnet.core.errors import SongnetError
from songnet.core.files import atomic_path, write_text
from songnet.model.checkpoint import load_checkpoint
from songnet.model.release import MAX_MODEL_BYTES, model_card


@click.command("release")
@trained_model_option("Evaluated checkpoint to ship.")
@click.option("--metrics", "metrics_path", type=click.Path(dir_okay=False, path_type=Path),
              default=Path("experiments/metrics.json"), show_default=True)
@features_dir_option("Features folder the model was trained on (classes, counts).")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path),
              default=Path(__file__).resolve().parents[1] / "models",
              help="Folder for default.pt and MODEL_CARD.md (default: the package's).")
@verbose_option
@quiet_option
def command(model_path: Path, metrics_path: Path, features_dir: Path, out_dir: Path,
            quiet: bool) -> None:
    """Copy the evaluated model into the package and write its model card."""
    ckpt = load_checkpoint(model_path)
    data = model_path.read_bytes()
    if len(data) > MAX_MODEL_BYTES:
        raise SongnetError(f"{model_path} is {len(data) / 1e6:.1f} MB, over the "
                           f"{MAX_MODEL_BYTES / 1e6:.0f} MB limit of the shipped model; "
                           "use fewer channels (train.channels)")
    if not metrics_path.is_file():
        raise SongnetError(f"{metrics_path} not found; run `songnet evaluate` first")
    metrics = json.loads(metrics_path.read_text(encoding="utf-8"))
    classes, _ = read_features_meta(features_dir)
    counts = json.loads((features_dir / "features.json").read_text()).get("counts", {})
    if classes != ckpt.classes:
        raise SongnetError(f"{model_path} classes differ from {features_dir}; rerun train")
    card = model_card(ckpt, metrics=metrics, counts=counts, size_bytes=len(data),
                      date=dt.date.today())
    with atomic_path(out_dir / "default.pt") as tmp:
        tmp.write_bytes(data)
    write_text(out_dir / "MODEL_CARD.md", card)

