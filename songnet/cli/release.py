"""``songnet release``: ship the evaluated model inside the package.

Copies the checkpoint to ``songnet/models/default.pt`` (refusing one over 5 MB), exports
it beside as ``default.onnx`` (what ``songnet classify`` runs) and regenerates
``MODEL_CARD.md``. Run by the ``release`` stage of ``dvc repro``.
"""

from __future__ import annotations

from pathlib import Path

import click

from songnet.cli.common import (
    features_dir_option,
    model_option,
    out_option,
    quiet_option,
    removed_option,
    verbose_option,
)
from songnet.core.errors import SongnetError
from songnet.core.files import check_output_dir, check_output_file, read_json_file
from songnet.features.featureset import load_meta
from songnet.model.checkpoint import default_model_path, load_checkpoint
from songnet.model.release import read_real_results, release_model


@click.command("release")
@model_option("The evaluated checkpoint to ship.", default="pipeline")
@click.option("--evaluation", "evaluation_path",
              type=click.Path(dir_okay=False, path_type=Path),
              default=Path("experiments/evaluation.json"), show_default=True,
              help="evaluation.json written by `songnet evaluate` (every figure).")
@click.option("--real-results", "real_paths", multiple=True,
              type=click.Path(dir_okay=False, path_type=Path),
              help="A benchmark's summary on real material (JSON written by its --summary, "
                   "e.g. docs/results/soundscape.json); repeatable. The card shows each, "
                   "marked when it was measured on another model.")
@removed_option("--metrics", "release reads the full evaluation: --evaluation "
                "experiments/evaluation.json")
@features_dir_option("Features folder the model was trained on (classes, counts).")
@out_option("Folder for default.pt, default.onnx and MODEL_CARD.md "
            "[default: the package's models/].",
            default=None)
@verbose_option
@quiet_option
def command(model_path: Path, evaluation_path: Path, real_paths: tuple[Path, ...],
            features_dir: Path, out: Path | None, quiet: bool) -> None:
    """Copy the evaluated model into the package and write its model card."""
    ckpt = load_checkpoint(model_path)
    if not evaluation_path.is_file():
        raise SongnetError(f"{evaluation_path} not found; run `songnet evaluate` first")
    metrics = read_json_file(evaluation_path, what="an evaluation JSON",
                             fix="rerun `songnet evaluate`")
    if not isinstance(metrics, dict):
        raise SongnetError(f"{evaluation_path}: not an evaluation JSON (no mapping); rerun "
                           "`songnet evaluate`")
    real = read_real_results(real_paths)
    meta = load_meta(features_dir)
    if meta["classes"] != ckpt.classes:
        raise SongnetError(f"{model_path} classes differ from {features_dir}; rerun train")
    out = default_model_path().parent if out is None else out
    check_output_dir(out, replaced=False)
    for name in ("default.pt", "default.onnx", "MODEL_CARD.md"):
        check_output_file(out / name, inputs=[model_path, evaluation_path, *real_paths])
    shipped = release_model(model_path, out, ckpt=ckpt, metrics=metrics,
                            counts=meta.get("counts", {}), real=real)
    if not quiet:
        click.echo(f"released {model_path} -> {shipped} (+ default.onnx, MODEL_CARD.md)",
                   err=True)
