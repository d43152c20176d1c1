"""``songnet evaluate``: score a model on held-out birds and the stress set."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import click

from songnet.cli._features_data import read_features_meta, read_split
from songnet.cli.common import common_options, features_dir_option, trained_model_option
from songnet.core.errors import SongnetError
from songnet.core.files import atomic_path, write_json, write_text
from songnet.core.params import load_params
from songnet.model.checkpoint import load_checkpoint
from songnet.model.evaluate import (
    EvaluateParams,
    evaluate_splits,
    plot_confusion,
    plot_reliability,
    reliability,
)


@click.command("evaluate")
@trained_model_option()
@features_dir_option()
@click.option("--metrics", "metrics_path", type=click.Path(dir_okay=False, path_type=Path),
              default=Path("experiments/metrics.json"), show_default=True,
              help="Metrics JSON to write.")
@click.option("--plots", "plots_dir", type=click.Path(file_okay=False, path_type=Path),
              default=Path("experiments"), show_default=True,
              help="Folder for confusion_{split}.csv/.png and reliability.png.")
@common_options
def command(model_path: Path, features_dir: Path, metrics_path: Path, plots_dir: Path,
            params_file: Path, quiet: bool) -> None:
    """Accuracy, macro-F1, per-class precision/recall, confusion and calibration (ECE).

    Scores each split in evaluate.splits (default: test = birds never seen in training,
    stress = low SNR, tempo and pitch extremes, clutter).
    """
    params = load_params(params_file, "evaluate", EvaluateParams)
    classes, feature_params = read_features_meta(features_dir)
    ckpt = load_checkpoint(model_path, device=params.device, feature_params=feature_params)
    if ckpt.classes != classes:
        raise SongnetError(f"{model_path} knows classes {ckpt.classes} but {features_dir} has "
                           f"{classes}; retrain the model on these features")
    splits = {}
    for name in params.splits:
        split = read_split(features_dir, name)
        splits[name] = (split.images, split.labels)
    metrics, proba = evaluate_splits(ckpt, splits, params=params)

    out = {name: {k: v for k, v in m.items() if k != "confusion"} for name, m in metrics.items()}
    out["model"] = {"path": str(model_path), **ckpt.meta}
    for name, (_, labels) in splits.items():
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\n")
        writer.writerow(["actual", "predicted"])
        for actual, predicted in zip(labels, proba[name].argmax(axis=1), strict=True):
            writer.writerow([classes[int(actual)], classes[int(predicted)]])
        write_text(plots_dir / f"confusion_{name}.csv", buf.getvalue())
        acc = metrics[name]["accuracy"]
        fig = plot_confusion(metrics[name]["confusion"], classes=classes,
                             title=f"{name}: accuracy {acc:.3f} (n={metrics[name]['n']})")
        with atomic_path(plots_dir / f"confusion_{name}.png") as tmp:
            fig.savefig(tmp, dpi=120)
    rels = {name: reliability(proba[name], labels, n_bins=params.ece_bins)
            for name, (_, labels) in splits.items()}
    with atomic_path(plots_dir / "reliability.png") as tmp:
        plot_reliability(rels).savefig(tmp, dpi=120)
    write_json(metrics_path, out)
    if not quiet:
        for name, m in metrics.items():
            click.echo(f"{name}: accuracy {m['accuracy']:.4f}, macro-F1 {m['macro_f1']:.4f}, "
                       f"ECE {m['ece']:.4f} (n={m['n']})", err=True)
