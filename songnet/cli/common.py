"""Options shared by every stage command: ``--params``, ``--quiet``, ``--verbose``."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

__all__ = ["STATE", "common_options", "params_option", "quiet_option", "verbose_option"]

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
