"""``songnet --version``: the package's version and the default model's id.

Loaded only when asked for (as the subcommands are), so a stage's command never imports
the model runtime for it.
"""

from __future__ import annotations

import click

import songnet
from songnet.core.errors import SongnetError

__all__ = ["print_version"]


def print_version() -> None:
    """Print ``songnet, version X`` and ``default model: <id>`` (file, training date,
    checksum prefix: what every ``songnet classify`` output records)."""
    click.echo(f"songnet, version {songnet.__version__}")
    try:
        from songnet.model.identity import model_id
        from songnet.model.runtime import load_onnx
        model = load_onnx(None, threads=1)
        mid = model_id(model.path.name, model.meta, model.checkpoint_sha256)
        click.echo(f"default model: {mid}")
    except (SongnetError, ImportError, OSError) as exc:
        click.echo(f"default model: not available ({' '.join(str(exc).split())})")
