"""``songnet synthesize``: the surrogate dataset (WAVs + manifest.csv) from the catalog."""

from __future__ import annotations

from pathlib import Path

import click
import pandas as pd
import soundfile as sf

from songnet.cli.common import common_options
from songnet.core.files import atomic_dir
from songnet.core.params import load_params
from songnet.core.progress import bar
from songnet.surrogates.synthesize import SynthesizeParams, n_clips, synthesize
from songnet.surrogates.themes import load_catalog
from songnet.synth import SR


@click.command("synthesize")
@click.option("--catalog", "catalog_dir", type=click.Path(file_okay=False, path_type=Path),
              default=None, help="Folder of theme YAML files (default: the shipped catalog).")
@click.option("-o", "--out", "out_dir", type=click.Path(file_okay=False, path_type=Path),
              default=Path("data/surrogates"), show_default=True,
              help="Output folder (wavs/ + manifest.csv), replaced as a whole when complete.")
@common_options
def command(catalog_dir: Path | None, out_dir: Path, params_file: Path, quiet: bool) -> None:
    """Build the surrogate song dataset: N songs per theme from simulated birds.

    Splits train/val/test/stress by bird; a no_song class of background and clutter in
    every split; manifest.csv lists path (relative to OUT), theme, bird_id, split, seed,
    duration_s, snr_db and every variation parameter.
    """
    params = load_params(params_file, "synthesize", SynthesizeParams)
    themes = load_catalog(catalog_dir)
    rows = []
    with atomic_dir(out_dir) as tmp, bar(n_clips(themes, params), desc="synthesize",
                                         unit="clip", quiet=quiet) as pbar:
        for clip in synthesize(themes, params=params, progress=pbar.update):
            path = tmp / clip.path
            path.parent.mkdir(parents=True, exist_ok=True)
            sf.write(path, clip.samples, SR, subtype="PCM_16", format="WAV")
            rows.append(clip.row)
        pd.DataFrame(rows).to_csv(tmp / "manifest.csv", index=False, float_format="%.6g")
    if not quiet:
        click.echo(f"wrote {out_dir}: {len(rows)} clips of {params.clip_s:g} s, "
                   f"{len(themes)} themes + no_song", err=True)
