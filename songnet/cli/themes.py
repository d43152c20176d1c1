"""``songnet themes``: list the theme catalog, or draw each theme's CQT image."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import click

from songnet.cli.common import catalog_option, common_options
from songnet.core.files import atomic_path, check_output_file, write_text
from songnet.core.params import load_params
from songnet.surrogates.themes import load_catalog

COLUMNS = ("name", "n_notes", "note_shapes", "trill_shape", "trill_interval_ms",
           "trill_count", "pitch_min_khz", "pitch_max_khz", "duration_s", "description")


@click.command("themes")
@catalog_option
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table",
              show_default=True, help="How to print the list on standard output.")
@click.option("--csv", "csv_path", type=click.Path(dir_okay=False, path_type=Path),
              default=None, help="Also write the table to this CSV file.")
@click.option("--plot", "plot_path", type=click.Path(dir_okay=False, path_type=Path),
              default=None, help="Draw one CQT image per theme in a grid to this PNG.")
@click.option("--seed", type=click.IntRange(0, 2**32 - 1), default=0, show_default=True,
              help="Seed of the birds singing the plotted songs.")
@common_options
def command(catalog_dir: Path | None, fmt: str, csv_path: Path | None, plot_path: Path | None,
            seed: int, params_file: Path, quiet: bool) -> None:
    """List the theme catalog (name, notes, trill, pitch range, duration).

    --plot draws each theme's song with the [features] section of --params (the CQT the
    network sees); without a params file, the default features.
    """
    for path, what in ((csv_path, "--csv"), (plot_path, "--plot")):
        if path is not None:
            check_output_file(path, what=what, inputs=[params_file, *_catalog_files(catalog_dir)])
    themes = load_catalog(catalog_dir)
    rows = [t.summary() for t in themes]
    if fmt == "json":
        click.echo(json.dumps(rows, indent=2))
    else:
        widths = {c: max(len(c), *(len(str(r[c])) for r in rows)) for c in COLUMNS[:-1]}
        click.echo("  ".join(c.ljust(widths[c]) for c in COLUMNS[:-1]))
        for r in rows:
            click.echo("  ".join(str(r[c]).ljust(widths[c]) for c in COLUMNS[:-1]))
    if csv_path is not None:
        buf = io.StringIO()
        writer = csv.DictWriter(buf, fieldnames=COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
        write_text(csv_path, buf.getvalue())
    if plot_path is not None:
        from songnet.features.params import FeatureParams
        from songnet.features.theme_plots import image_grid, theme_images

        params = (load_params(params_file, "features", FeatureParams)
                  if params_file.is_file() else FeatureParams())
        images = theme_images(themes, seed=seed, params=params)
        fig = image_grid(images, [t.name for t in themes], params=params,
                         durations_s=[t.duration_s + 0.3 for t in themes])
        with atomic_path(plot_path) as tmp:
            fig.savefig(tmp, dpi=90)
        if not quiet:
            click.echo(f"wrote {plot_path}", err=True)


def _catalog_files(catalog_dir: Path | None) -> list[Path]:
    """The files of a catalog folder (outputs must not replace them)."""
    if catalog_dir is None or not catalog_dir.is_dir():
        return []
    return sorted(catalog_dir.glob("*.y*ml"))
