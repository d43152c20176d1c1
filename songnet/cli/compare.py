"""``songnet compare``: every (arch, frontend) pair trained on the same surrogates.

Not part of ``dvc repro`` (it trains one network per pair: about 12 trainings with the
defaults). Writes OUT/comparison.csv, OUT/comparison.png and OUT/models/ARCH-FRONTEND.pt;
each pair's row is kept in OUT/runs/ as soon as it is done, so rerunning the command after
an interruption (or after adding a pair to ``[compare]``) trains only what is missing.
"""

from __future__ import annotations

import functools
import hashlib
import math
import subprocess
import sys
import tempfile
from pathlib import Path

import click

from songnet.cli.common import common_options, device_option, out_option
from songnet.core.errors import SongnetError
from songnet.core.files import check_output_dir, read_json_file
from songnet.core.params import load_params
from songnet.core.progress import bar
from songnet.features.params import FeatureParams
from songnet.model.compare import CompareParams
from songnet.model.compare_run import RETIME_ROUNDS, run_comparison, save_comparison
from songnet.model.train_params import TrainParams
from songnet.surrogates.synthesize import load_manifest

__all__ = ["command"]


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
    table = run_comparison(
        load_manifest(manifest_path), root=manifest_path.parent, out=out,
        data=hashlib.sha256(manifest_path.read_bytes()).hexdigest()[:16], params=params,
        feature_params=base, train_params=train_params, device=device, retime=retime,
        soundscape=None if soundscape is None else functools.partial(
            _soundscape, soundscape, params=params),
        bar=functools.partial(bar, quiet=quiet),
        on_row=None if quiet else lambda row: click.echo(_line(row), err=True))
    save_comparison(table, out)
    if not quiet:
        click.echo(f"wrote {out / 'comparison.csv'} and comparison.png: {len(table)} pairs",
                   err=True)


def _soundscape(script: Path, model: Path, *, params: CompareParams) -> dict[str, float]:
    """Precision and recall of ``model`` on the soundscape benchmark's scenes: the figures
    of the summary the script writes (``--summary``)."""
    with tempfile.TemporaryDirectory() as tmp:
        summary = Path(tmp) / "summary.json"
        cmd = [sys.executable, str(script), "--model", str(model),
               "--scenes", str(params.soundscape_scenes),
               "--negative-min", str(params.soundscape_negative_min),
               "--summary", str(summary)]
        done = subprocess.run(cmd, capture_output=True, text=True, check=False)
        try:
            figures = read_json_file(summary, what="the benchmark's summary",
                                     fix="see the benchmark's error")["figures"]
            found = {"soundscape_precision": float(figures["precision"]),
                     "soundscape_recall": float(figures["recall"])}
        except (SongnetError, ValueError, KeyError, TypeError):
            found = None
    if done.returncode != 0 or found is None:
        tail = " ".join((done.stderr or done.stdout).strip().splitlines()[-1:])
        raise SongnetError(f"{script} failed on {model} (exit {done.returncode}): {tail}")
    return found


def _line(row: dict) -> str:
    extra = ("" if math.isnan(row["soundscape_recall"]) else
             f", soundscape recall {row['soundscape_recall']:.3f} precision "
             f"{row['soundscape_precision']:.3f}")
    return (f"{row['arch']}/{row['frontend']}: test {row['test_accuracy']:.4f}, stress "
            f"{row['stress_accuracy']:.4f}, {row['params']:,} params, {row['mflops']} MFLOPs, "
            f"{row['images_per_s']:.0f} img/s{extra}")
