"""``songnet export``: write a checkpoint as an ONNX model for the light install.

The ONNX file carries the class names, the feature params and (when the model has one)
the open-set threshold in its metadata, and a checksum over the weights and all that
metadata; ``songnet classify --model X.onnx`` checks it and runs the model on ONNX Runtime
without torch. Exporting itself needs torch and onnx (the pipeline extras).
"""

from __future__ import annotations

from pathlib import Path

import click

from songnet.cli.common import model_option, out_option, quiet_option, verbose_option
from songnet.model.export import export_checkpoint


@click.command("export")
@model_option("The checkpoint (.pt) to export.", default="default.pt")
@out_option("The ONNX file to write (name ending in .onnx).", required=True)
@verbose_option
@quiet_option
def command(model_path: Path | None, out: Path, quiet: bool) -> None:
    """Export a model checkpoint to ONNX (for `songnet classify` without torch)."""
    written = export_checkpoint(model_path, out)
    if not quiet:
        click.echo(f"exported {model_path or 'the shipped default model'} -> {written}",
                   err=True)
