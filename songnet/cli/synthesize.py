"""``songnet synthesize``: the surrogate dataset (WAVs + manifest.csv) from the catalog."""

from __future__ import annotations

import contextlib
import dataclasses
from pathlib import Path

import click

from songnet.cli.cluster import connect
from songnet.cli.common import catalog_option, common_options, out_option
from songnet.core.files import atomic_dir, check_output_dir
from songnet.core.params import check_workers, load_params
from songnet.core.progress import bar
from songnet.surrogates.cliplength import fit_clip
from songnet.surrogates.realdata import RealMaterial, read_recordings
from songnet.surrogates.synthesize import (
    load_negatives,
    n_clips,
    save_manifest,
    synthesize,
    write_clip,
)
from songnet.surrogates.synthesize_params import SynthesizeParams
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
@click.option("--recordings", "recordings_dir", default=None,
              type=click.Path(path_type=Path, file_okay=False),
              help="Your theme folders of real recordings (DIR/T01/*.wav, ...; data/2020 in "
                   "the pipeline): their song-free stretches become clip backgrounds and "
                   "their songs join the clips, augmented. Overrides [synthesize] "
                   "recordings; a folder without theme folders changes nothing.")
@click.option("--scheduler", default=None, metavar="ADDRESS|local[:N]",
              help="Render the clips on a Dask cluster: a scheduler's address, or local:N "
                   "worker processes (needs songnet[cluster]); the same bytes as without.")
@common_options
def command(catalog_dir: Path | None, out: Path, negatives_dir: Path | None,
            recordings_dir: Path | None, scheduler: str | None, params_file: Path,
            quiet: bool) -> None:
    """Build the surrogate song dataset: N songs per theme from simulated birds.

    Splits train/val/test/stress by bird; a no_song class of background and clutter in
    every split; manifest.csv lists path (relative to OUT), theme, bird_id, split, seed,
    duration_s (the clip length), snr_db and every variation parameter. Clips last
    [synthesize] clip_s, or longer when the catalog's longest song needs it (a note says
    so). With --recordings, real songs and the site's real backgrounds join them.
    """
    params = load_params(params_file, "synthesize", SynthesizeParams)
    if negatives_dir is not None:
        params = dataclasses.replace(params, negatives=str(negatives_dir))
    if recordings_dir is not None:
        params = dataclasses.replace(params, recordings=str(recordings_dir))
    check_output_dir(out, inputs=[params_file] + ([catalog_dir] if catalog_dir else [])
                     + ([Path(params.negatives)] if params.negatives else [])
                     + ([Path(params.recordings)] if params.recordings else []))
    negatives = load_negatives(params.negatives) if params.negatives else []
    if scheduler is None:
        check_workers(params.workers, option=f"{params_file}: [synthesize] workers", floor=2)
    themes = load_catalog(catalog_dir)
    asked = params.clip_s
    params, need = fit_clip(themes, params)
    if params.clip_s != asked:
        click.echo(f"note: {need.describe()}, longer than synthesize.clip_s={asked:g}: clips "
                   f"of {params.clip_s:g} s (features makes images as long)", err=True)
    real = _real_material(params, themes)
    rows = []
    with contextlib.ExitStack() as stack:
        client = None if scheduler is None else stack.enter_context(connect(scheduler))
        with atomic_dir(out) as tmp, bar(n_clips(themes, params, real), desc="synthesize",
                                         unit="clip", quiet=quiet) as pbar:
            for clip in synthesize(themes, params=params, progress=pbar.update,
                                   executor=client, negatives=negatives, real=real):
                write_clip(tmp, clip)
                rows.append(clip.row)
            save_manifest(rows, tmp)
    if not quiet:
        mixed = (f"; {len(negatives)} recordings of {params.negatives} mixed in"
                 if negatives else "")
        if real is not None:
            mixed += (f"; from {params.recordings}: {len(real.songs)} real songs, "
                      f"{sum(b.size for b in real.backgrounds) / 44100:.0f} s of site "
                      "background")
        click.echo(f"wrote {out}: {len(rows)} clips of {params.clip_s:g} s, "
                   f"{len(themes)} themes + unknown + no_song{mixed}", err=True)


def _real_material(params: SynthesizeParams, themes) -> RealMaterial | None:
    """The recordings' songs and backgrounds (None when there are none: the catalog's clips
    alone, byte for byte); notes say what was left out."""
    if not params.recordings:
        return None
    real = read_recordings(params.recordings, themes=[t.name for t in themes])
    for line in real.notes:
        click.echo(f"note: {line}", err=True)
    n = round(params.clip_s * 44100)
    long = [s for s in real.songs if s.samples.size > n]
    for s in long:
        click.echo(f"note: {s.recording}: song at {s.start_s:.2f}-{s.end_s:.2f} s is longer "
                   f"than the clips ({params.clip_s:g} s); left out of the clips", err=True)
    real = dataclasses.replace(real, songs=tuple(s for s in real.songs if s not in long))
    if not real.songs and not real.backgrounds:
        return None
    return real

