"""``songnet compare``: every (arch, frontend) pair trained on the same surrogates.

Not part of ``dvc repro`` (it trains one network per pair: about 12 trainings with the
defaults). Writes OUT/comparison.csv, OUT/comparison.png and OUT/models/ARCH-FRONTEND.pt;
each pair's row is kept in OUT/runs/ as soon as it is done, so rerunning the command after
an interruption (or after adding a pair to ``[compare]``) trains only what is missing.
"""

from __future__ import annotations

import dataclasses
import hashlib
import math
import re
import subprocess
import sys
from pathlib import Path

import click
import pandas as pd
import torch

from songnet.cli.common import common_options, device_option, out_option
from songnet.core.device import resolve_device
from songnet.core.errors import SongnetError
from songnet.core.files import atomic_path, check_output_dir, write_text
from songnet.core.labels import class_names
from songnet.core.params import load_params, params_to_dict
from songnet.core.progress import bar
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
from songnet.surrogates.synthesize import load_manifest

__all__ = ["command"]

RETIME_ROUNDS = 5  # rounds of --retime
_LAST_LINE = re.compile(r"precision=([0-9.]+) recall=([0-9.]+)")


@click.command("compare")
@click.option("--manifest", "manifest_path", type=click.Path(dir_okay=False, path_type=Path),
              default=Path("data/surrogates/manifest.csv"), show_default=True,
              help="The surrogate manifest every pair is trained and scored on.")
@out_option("Output folder.", default=Path("experiments/comparison"))
@click.option("--soundscape", "soundscape", type=click.Path(dir_okay=False, path_type=Path),
              default=None,
              help="benchmarks/soundscape.py of a songnet checkout: also score each model on "
                   "its scenes (recall, precision; [compare] soundscape_* set the size).")
@click.option("--retime", is_flag=True,
              help=f"Time every pair's network again: all in turn, {RETIME_ROUNDS} rounds, each "
                   "keeping its best (run it on an otherwise idle machine: timings taken while "
                   "other work runs are low).")
@device_option(default=None)
@common_options
def command(manifest_path: Path, out: Path, soundscape: Path | None, retime: bool,
            device: str | None, params_file: Path, quiet: bool) -> None:
    """Train every (arch, frontend) pair of [compare] on the same surrogates; tabulate
    parameters, MFLOPs, CPU speed, test and stress accuracy (and soundscape figures).

    The features and the trainings run on --device (default: [train] device); the speed
    column is always measured on the CPU. Where a pair trains is no part of its key: a row
    kept in OUT/runs/ is reused whatever --device says.
    """
    params = load_params(params_file, "compare", CompareParams)
    base = load_params(params_file, "features", FeatureParams)
    train_params = load_params(params_file, "train", TrainParams)
    if soundscape is not None and not soundscape.is_file():
        raise SongnetError(f"--soundscape {soundscape}: no such file; give the path of "
                           "benchmarks/soundscape.py")
    check_output_dir(out, inputs=[manifest_path, params_file], replaced=False)
    manifest = load_manifest(manifest_path)
    base = base.for_clips(clip_length(manifest))  # images as long as the clips, as features
    data = hashlib.sha256(manifest_path.read_bytes()).hexdigest()[:16]
    runs = out / "runs"
    epochs = params.epochs or train_params.epochs
    # what every pair is trained with (arch aside): part of each pair's key
    train_params = dataclasses.replace(train_params, epochs=epochs,
                                       patience=max(train_params.patience, epochs))
    plain = {f: params_to_dict(dataclasses.replace(base, frontend=f)) for f in params.frontends}
    keys = {(a, f): pair_key(a, f, train_params=train_params, feature_params=plain[f],
                             data=data)
            for f in params.frontends for a in params.archs}
    if device is not None:  # after the keys: rows trained elsewhere stay valid
        train_params = dataclasses.replace(train_params, device=device)
    resolve_device(train_params.device)  # a missing GPU fails before any work
    rows = load_rows(runs, keys)
    for frontend in params.frontends:
        todo = [a for a in params.archs if (a, frontend) not in rows]
        if not todo:
            continue
        with bar(len(manifest), desc=f"features {frontend}", unit="clip", quiet=quiet) as pb:
            fs = compute_features(manifest, root=manifest_path.parent,
                                  params=dataclasses.replace(base, frontend=frontend),
                                  device=train_params.device, progress=pb.update)
        splits = {name: FeatureSplit(s.images, s.labels, name=name)
                  for name, s in fs.splits.items()}
        for arch in todo:
            with bar(epochs * len(splits["train"]), desc=f"{arch}/{frontend}", unit="img",
                     quiet=quiet) as pb:
                row, result = compare_pair(
                    arch, frontend, train=splits["train"], val=splits["val"], scored=splits,
                    classes=fs.classes, feature_params=plain[frontend],
                    train_params=train_params,
                    params=params, progress=pb.update)
            model_path = out / "models" / f"{arch}-{frontend}.pt"
            meta = {OPEN_SET_KEY: result.open_set, UNKNOWN_MIN_P_KEY: result.unknown_min_p}
            save_checkpoint(model_path, result.model, classes=fs.classes,
                            feature_params=plain[frontend],
                            train_params=params_to_dict(dataclasses.replace(train_params,
                                                                            arch=arch)),
                            meta={k: v for k, v in meta.items() if v is not None})
            if soundscape is not None:
                row.update(_soundscape(soundscape, model_path, params))
            save_row(runs, row, key=keys[(arch, frontend)])
            rows[(arch, frontend)] = row
            if not quiet:
                click.echo(_line(row), err=True)
        del fs, splits
        torch.set_num_threads(train_params.num_threads)
    if soundscape is not None:  # rows kept from a run without --soundscape
        for (arch, frontend), row in rows.items():
            if not math.isnan(float(row["soundscape_recall"])):
                continue
            row.update(_soundscape(soundscape, out / "models" / f"{arch}-{frontend}.pt",
                                   params))
            save_row(runs, row, key=keys[(arch, frontend)])
    if retime:
        # speed depends on the network's shape, not its weights: the saved model when it
        # is there, else the same network built afresh (models/ is not kept in git). A
        # shared machine's speed drifts over minutes, so every network is timed in each of
        # a few rounds, in turn, and keeps its best: drift then moves all pairs alike.
        classes = class_names(manifest["theme"].astype(str).tolist())
        models = {}
        for arch, frontend in rows:
            path = out / "models" / f"{arch}-{frontend}.pt"
            models[(arch, frontend)] = (
                load_checkpoint(path).model if path.is_file() else
                new_network(dataclasses.replace(train_params, arch=arch),
                            image_shape=(base.n_bins, base.n_frames), n_classes=len(classes)))
        best = dict.fromkeys(rows, 0.0)
        for _ in range(RETIME_ROUNDS):
            for pair, model in models.items():
                best[pair] = max(best[pair], images_per_second(
                    model, n_bins=base.n_bins, n_frames=base.n_frames,
                    batch=params.speed_batch, threads=params.speed_threads))
        for pair, row in rows.items():
            row["images_per_s"] = round(best[pair], 1)
            save_row(runs, row, key=keys[pair])
        torch.set_num_threads(train_params.num_threads)
    table = pd.DataFrame([rows[(a, f)] for f in params.frontends for a in params.archs],
                         columns=list(COLUMNS))
    write_text(out / "comparison.csv", table.to_csv(index=False, float_format="%.4g"))
    fig = comparison_figure(table.to_dict("records"))
    with atomic_path(out / "comparison.png") as tmp:
        fig.savefig(tmp, dpi=110, format="png")
    if not quiet:
        click.echo(f"wrote {out / 'comparison.csv'} and comparison.png: {len(table)} pairs",
                   err=True)


def _soundscape(script: Path, model: Path, params: CompareParams) -> dict[str, float]:
    """Recall and precision of ``model`` on the soundscape benchmark's scenes."""
    cmd = [sys.executable, str(script), "--model", str(model),
           "--scenes", str(params.soundscape_scenes),
           "--negative-min", str(params.soundscape_negative_min)]
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    lines = done.stdout.strip().splitlines()
    match = _LAST_LINE.search(lines[-1]) if lines else None
    if done.returncode != 0 or match is None:
        tail = " ".join((done.stderr or done.stdout).strip().splitlines()[-1:])
        raise SongnetError(f"{script} failed on {model} (exit {done.returncode}): {tail}")
    return {"soundscape_precision": float(match.group(1)),
            "soundscape_recall": float(match.group(2))}


def _line(row: dict) -> str:
    extra = ("" if math.isnan(row["soundscape_recall"]) else
             f", soundscape recall {row['soundscape_recall']:.3f} precision "
             f"{row['soundscape_precision']:.3f}")
    return (f"{row['arch']}/{row['frontend']}: test {row['test_accuracy']:.4f}, stress "
            f"{row['stress_accuracy']:.4f}, {row['params']:,} params, {row['mflops']} MFLOPs, "
            f"{row['images_per_s']:.0f} img/s{extra}")
