"""``songnet resynthesize``: 1966 recordings or sketches → model-made songs."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import click

from songnet.cli.common import common_options, out_option
from songnet.core.errors import SongnetError
from songnet.core.files import atomic_dir, check_output_dir, check_output_file
from songnet.core.params import load_params
from songnet.core.progress import bar
from songnet.resynth.dataset import (
    Item,
    find_inputs,
    read_labels,
    report,
    resynthesize_file,
    save_items,
    write_wav,
)
from songnet.resynth.resynthesize import ResynthesizeParams


@click.command("resynthesize")
@click.argument("input_path", metavar="INPUT", type=click.Path(path_type=Path))
@out_option("A .wav file for one INPUT file; a folder when INPUT is a folder.", required=True,
            renamed=("--output",))
@common_options
def command(input_path: Path, out: Path, params_file: Path, quiet: bool) -> None:
    """Fit the syrinx model to a 1966 recording or sketch and sing it.

    INPUT is a recording (WAV/FLAC/OGG/MP3/AIFF), a sketch (.csv, see data/1966/README.md),
    or a folder of them. For one file, -o is the output WAV and the per-note fit quality
    (pitch error in cents) is printed. For a folder, -o is a folder that receives one WAV
    per input, manifest.csv (id, source, theme if known, fit quality) and notes.csv (fit
    quality per note). An optional labels.csv (columns file, theme) in INPUT gives the
    theme of recordings; a sketch carries its own (`# theme:` line).
    """
    params = load_params(params_file, "resynthesize", ResynthesizeParams)
    if input_path.is_dir():
        check_output_dir(out, inputs=[input_path, params_file])
        labels = read_labels(input_path)
        inputs = find_inputs(input_path)
        with atomic_dir(out) as tmp, bar(len(inputs), desc="resynthesize", unit="song",
                                         quiet=quiet) as pbar:
            def items() -> Iterator[Item]:
                for path in inputs:
                    yield resynthesize_file(path, params=params, labels=labels)
                    pbar.update(1)
            rows = save_items(items(), tmp)
        if not quiet:
            worst = max(float(r["median_abs_cents"]) for r in rows)
            click.echo(f"{len(rows)} songs -> {out} (worst song median pitch error "
                       f"{worst:.2f} cents)", err=True)
        return
    if out.suffix.lower() != ".wav":
        raise SongnetError(f"output {out} must end in .wav for one input file "
                           "(for a folder of inputs, pass a folder as INPUT)")
    check_output_file(out, inputs=[input_path, params_file])
    item = resynthesize_file(input_path, params=params, labels={})
    write_wav(out, item.result)
    if not quiet:
        click.echo(report(item))

