"""``songnet synthesize``: the surrogate dataset (WAVs + manifest.csv) from the catalog."""

from __future__ import annotations

import contextlib
import dataclasses
from pathlib import Path

import click

from songnet.cli.common import catalog_option, common_options, out_option
from songnet.core.cluster import connect
from songnet.core.files import atomic_dir, check_output_dir
from songnet.core.params import check_workers, load_params
from songnet.core.progress import bar
from songnet.surrogates.cliplength import fit_clip
from songnet.surrogates.synthesize import (
    SynthesizeParams,
    load_negatives,
    n_clips,
    save_manifest,
    synthesize,
    write_clip,
)
from songnet.surrogates.themes import load_catalog


@click.command("synthesize")
@catalog_option
@out_option("Output folder (wavs/ + manifest.csv), replaced as a whole when complete.",
            default=Path("data/surrogates"))
@click.option("--negatives", "negatives_dir", default=None,
              type=click.Path(path_type=Path, file_okay=False),
              help="A folder of your own recordings without chingolo song (the place's other "
                   "birds, insects, noise): mixed into no_song clips and song backgrounds. "
                   "Overrides [synthesize] negatives.")
@click.option("--scheduler", default=None, metavar="ADDRESS|local[:N]",
              help="Render the clips on a Dask cluster: a scheduler's address, or local:N "
                   "worker processes (needs songnet[cluster]); the same bytes as without.")
@common_options
def command(catalog_dir: Path | None, out: Path, negatives_dir: Path | None,
            scheduler: str | None, params_file: Path, quiet: bool) -> None:
    """Build the surrogate song dataset: N songs per theme from simulated birds.

    Splits train/val/test/stress by bird; a no_song class of background and clutter in
    every split; manifest.csv lists path (relative to OUT), theme, bird_id, split, seed,
    duration_s (the clip length), snr_db and every variation parameter. Clips last
    [synthesize] clip_s, or longer when the catalog's longest song needs it (a note says
    so).
    """
    params = load_params(params_file, "synthesize", SynthesizeParams)
    if negatives_dir is not None:
        params = dataclasses.replace(params, negatives=str(negatives_dir))
    check_output_dir(out, inputs=[params_file] + ([catalog_dir] if catalog_dir else [])
                     + ([Path(params.negatives)] if params.negatives else []))
    negatives = load_negatives(params.negatives) if params.negatives else []
    if scheduler is None:
        check_workers(params.workers, option=f"{params_file}: [synthesize] workers", floor=2)
    themes = load_catalog(catalog_dir)
    asked = params.clip_s
    params, need = fit_clip(themes, params)
    if params.clip_s != asked:
        click.echo(f"note: {need.describe()}, longer than synthesize.clip_s={asked:g}: clips "
                   f"of {params.clip_s:g} s (features makes images as long)", err=True)
    rows = []
    with contextlib.ExitStack() as stack:
        client = None if scheduler is None else stack.enter_context(connect(scheduler))
        with atomic_dir(out) as tmp, bar(n_clips(themes, params), desc="synthesize",
                                         unit="clip", quiet=quiet) as pbar:
            for clip in synthesize(themes, params=params, progress=pbar.update,
                                   executor=client, negatives=negatives):
                write_clip(tmp, clip)
                rows.append(clip.row)
            save_manifest(rows, tmp)
    if not quiet:
        mixed = (f"; {len(negatives)} recordings of {params.negatives} mixed in"
                 if negatives else "")
        click.echo(f"wrote {out}: {len(rows)} clips of {params.clip_s:g} s, "
                   f"{len(themes)} themes + unknown + no_song{mixed}", err=True)
