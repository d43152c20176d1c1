"""``songnet explain RECORDING -o FILE.png``: what made the network name each song's theme.

Finds the song events of the recording (or of ``--start``/``--end``) as ``songnet
classify`` does, with a torch checkpoint, and draws for each one the image the network
scored beside its class activation map (HiResCAM or Grad-CAM) for the event's theme (for
an ``unknown`` event: its nearest theme), with the boundaries of the song's parts (its
introductory notes and trill, read as the note check reads them; "song not read" where
they cannot be). Each event is titled with its decision and, apart, the evidence: the
network's first theme, the nearest theme's distance and the note check's, and who called
an ``unknown``. A table of each part's weight goes to standard output (or ``--csv``).
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import click

from songnet.classify.explain import explain_figure, explain_sound
from songnet.classify.params import ClassifyParams
from songnet.cli.common import (
    FiniteFloatRange,
    common_options,
    device_option,
    load_optional_params,
    model_option,
    out_option,
)
from songnet.core import audio
from songnet.core.errors import SongnetError
from songnet.core.files import atomic_path, check_outputs, write_text
from songnet.model.cam import METHODS
from songnet.model.checkpoint import load_checkpoint

__all__ = ["command"]

MAX_EXPLAIN_S = 600.0
"""Longest stretch one figure explains, s."""


@click.command("explain")
@click.argument("recording", type=click.Path(dir_okay=False, path_type=Path))
@out_option("The PNG figure to write.", required=True)
@click.option("--start", "start_s", type=FiniteFloatRange(min=0.0), default=None,
              help="Start of the stretch to explain, s [default: the file's start].")
@click.option("--end", "end_s", type=FiniteFloatRange(min=0.0), default=None,
              help="End of the stretch, s [default: the file's end; at most 600 s after "
                   "--start].")
@model_option("A torch checkpoint (.pt).", default="default.pt")
@click.option("--max-events", type=click.IntRange(1, 50), default=12, show_default=True,
              help="Draw at most this many events (the first ones).")
@click.option("--method", type=click.Choice(METHODS), default="hirescam", show_default=True,
              help="hirescam: each position weighted by its own gradient (faithful); "
                   "gradcam: one weight per channel (Selvaraju et al.).")
@click.option("--csv", "csv_path", type=click.Path(dir_okay=False, path_type=Path),
              default=None, help="Write the notes' weights here instead of standard output.")
@device_option()
@common_options
def command(recording: Path, out: Path, start_s: float | None, end_s: float | None,
            model_path: Path | None, max_events: int, method: str, csv_path: Path | None,
            device: str, params_file: Path, quiet: bool) -> None:
    """Draw each song event of RECORDING with its Grad-CAM (where the network's evidence
    for the theme lies) and print each note's weight.

    Events are found with the [classify] section of --params, as `songnet classify` finds
    them (its defaults without one). The checkpoint, its CQT and the map run on --device.
    """
    if out.suffix.lower() != ".png":
        raise SongnetError(f"-o {out}: the figure is a PNG; give a name ending in .png")
    inputs = [recording, params_file] + ([model_path] if model_path else [])
    check_outputs({"-o": out, "--csv": csv_path}, inputs=inputs)
    params = load_optional_params(params_file, "classify", ClassifyParams)
    ckpt = load_checkpoint(model_path, device=device)
    y, t0 = audio.read_range(recording, sr=ckpt.features().sr, start_s=start_s, end_s=end_s,
                             max_s=MAX_EXPLAIN_S)
    found = explain_sound(y, checkpoint=ckpt, params=params, offset_s=t0,
                          source=str(recording), method=method)
    where = f"{t0:.1f}-{t0 + y.size / ckpt.features().sr:.1f} s"
    if not found:
        raise SongnetError(f"{recording}: no song event between {where}; nothing to explain "
                           "(try another stretch, or `songnet classify` to find songs)")
    shown = found[:max_events]
    fig = explain_figure(shown, title=f"{recording.name}, {where}")
    with atomic_path(out) as tmp:
        fig.savefig(tmp, dpi=110, format="png")
    buf = io.StringIO()
    rows = [r for ex in shown for r in ex.rows()]
    writer = csv.DictWriter(buf, fieldnames=list(rows[0]) if rows else ["event_start_s"],
                            lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    if csv_path is None:
        click.echo(buf.getvalue(), nl=False)
    else:
        write_text(csv_path, buf.getvalue())
    if not quiet:
        more = (f" (the first {len(shown)} of {len(found)}; narrow --start/--end for the "
                "rest)") if len(found) > len(shown) else ""
        click.echo(f"wrote {out}: {len(shown)} events explained{more}", err=True)
