"""``songnet evaluate``: score a model on held-out birds and the stress set."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import click

from songnet.cli.common import (
    common_options,
    device_option,
    features_dir_option,
    model_option,
    out_option,
    removed_option,
)
from songnet.core.errors import SongnetError
from songnet.core.files import check_output_dir, check_output_file
from songnet.core.params import load_params
from songnet.features.featureset import load_meta, load_split
from songnet.model.checkpoint import load_checkpoint
from songnet.model.evaluate import (
    EVALUATION_JSON,
    METRICS_JSON,
    PER_CLASS_CSV,
    EvaluateParams,
    evaluate_splits,
    save_evaluation,
)


@click.command("evaluate")
@model_option("The checkpoint to score.", default="pipeline")
@features_dir_option()
@out_option("Folder for metrics.json (headline figures), evaluation.json (every figure), "
            "per_class.csv, confusion_{split}.csv/.png and reliability.png.",
            default=Path("experiments"))
@device_option(default=None)
@removed_option("--metrics", "evaluate writes metrics.json into -o/--out DIR")
@removed_option("--plots", "evaluate writes its plots into -o/--out DIR")
@common_options
def command(model_path: Path, features_dir: Path, out: Path, device: str | None,
            params_file: Path, quiet: bool) -> None:
    """Accuracy, macro-F1, per-class precision/recall, confusion and calibration (ECE).

    Scores each split in evaluate.splits (default: test = birds never seen in training,
    stress = low SNR, tempo and pitch extremes, clutter).
    """
    params = load_params(params_file, "evaluate", EvaluateParams)
    check_output_dir(out, replaced=False)
    for name in (METRICS_JSON, EVALUATION_JSON, PER_CLASS_CSV, "reliability.png",
                 *(f"confusion_{s}.csv" for s in params.splits)):
        check_output_file(out / name, inputs=[model_path, params_file])
    if device is not None:
        params = dataclasses.replace(params, device=device)
    meta = load_meta(features_dir)
    classes = meta["classes"]
    ckpt = load_checkpoint(model_path, device=params.device, feature_params=meta["params"])
    if ckpt.classes != classes:
        raise SongnetError(f"{model_path} knows classes {ckpt.classes} but {features_dir} has "
                           f"{classes}; retrain the model on these features")
    splits = {name: load_split(features_dir, name) for name in params.splits}
    metrics, proba = evaluate_splits(ckpt, {n: (s.images, s.labels) for n, s in splits.items()},
                                     params=params)
    save_evaluation(out, metrics=metrics, proba=proba,
                    labels={n: s.labels for n, s in splits.items()}, classes=classes,
                    model={"path": str(model_path), **ckpt.meta}, ece_bins=params.ece_bins)
    if not quiet:
        for name, m in metrics.items():
            click.echo(f"{name}: accuracy {m['accuracy']:.4f}, macro-F1 {m['macro_f1']:.4f}, "
                       f"ECE {m['ece']:.4f} (n={m['n']})", err=True)
