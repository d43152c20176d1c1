"""Options shared by every stage command: ``--params``, ``--quiet``, ``--verbose``."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

__all__ = [
    "STATE",
    "common_options",
    "features_dir_option",
    "params_option",
    "quiet_option",
    "trained_model_option",
    "verbose_option",
]

F = TypeVar("F", bound=Callable[..., Any])


@dataclasses.dataclass
class _State:
    verbose: bool = False


STATE = _State()


def _set_verbose(ctx: click.Context, param: click.Parameter, value: bool) -> bool:
    if value:
        STATE.verbose = True
    return value


verbose_option = click.option(
    "-v", "--verbose", is_flag=True, expose_value=False, is_eager=True, callback=_set_verbose,
    help="On an error, show the full traceback.")
quiet_option = click.option("-q", "--quiet", is_flag=True, help="No progress bars.")
params_option = click.option(
    "--params", "params_file", type=click.Path(dir_okay=False, path_type=Path),
    default=Path("params.yaml"), show_default=True, help="YAML params file.")


def common_options(func: F) -> F:
    """Add ``--params``, ``--quiet`` and ``--verbose`` to a stage command."""
    return params_option(quiet_option(verbose_option(func)))


def features_dir_option(help: str = "Folder written by `songnet features`.") -> Callable[[F], F]:
    """``--features DIR`` (default ``data/features``), the folder the features stage writes."""
    return click.option("--features", "features_dir",
                        type=click.Path(file_okay=False, path_type=Path),
                        default=Path("data/features"), show_default=True, help=help)


def trained_model_option(help: str = "Checkpoint written by `songnet train`.") -> Callable[[F], F]:
    """``--model FILE`` (default ``experiments/model/model.pt``), the trained checkpoint."""
    return click.option("--model", "model_path", type=click.Path(dir_okay=False, path_type=Path),
                        default=Path("experiments/model/model.pt"), show_default=True, help=help)
