"""Options shared by the stage commands, spelled once: ``--params``, ``--quiet``,
``--verbose``, ``-o/--out``, ``--device``, ``--catalog``, ``--features``, ``--model``."""

from __future__ import annotations

import dataclasses
import math
import re
import sys
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

__all__ = [
    "STATE",
    "FiniteFloatRange",
    "catalog_option",
    "common_options",
    "device_option",
    "features_dir_option",
    "one_line_warnings",
    "out_option",
    "params_option",
    "quiet_option",
    "removed_option",
    "trained_model_option",
    "verbose_option",
]

F = TypeVar("F", bound=Callable[..., Any])
_DEVICE = re.compile(r"auto|cpu|cuda(:\d+)?")


@dataclasses.dataclass
class _State:
    verbose: bool = False


STATE = _State()


def one_line_warnings() -> None:
    """Show a :class:`~songnet.core.errors.SongnetWarning` as one ``warning: …`` line on
    standard error; other libraries' warnings (torch, NumPy) only with ``-v``.

    Call inside ``warnings.catch_warnings()`` (as ``songnet.cli.main`` does), or once in a
    worker process.
    """
    from songnet.core.errors import SongnetWarning
    original = warnings.showwarning

    def show(message: Warning | str, category: type[Warning], filename: str, lineno: int,
             file: Any = None, line: str | None = None) -> None:
        if issubclass(category, SongnetWarning):
            from tqdm.auto import tqdm
            tqdm.write("warning: " + " ".join(str(message).split()), file=sys.stderr)
        elif STATE.verbose:
            original(message, category, filename, lineno, file, line)

    warnings.simplefilter("default", SongnetWarning)
    warnings.showwarning = show


class FiniteFloatRange(click.FloatRange):
    """``click.FloatRange`` that also refuses NaN and infinity (which compare as in range)."""

    def convert(self, value: Any, param: click.Parameter | None,
                ctx: click.Context | None) -> Any:
        result = super().convert(value, param, ctx)
        if result is not None and not math.isfinite(result):
            self.fail(f"{value!r} is not a finite number", param, ctx)
        return result


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


def catalog_option(func: F) -> F:
    """``--catalog DIR``: a folder of theme YAML files (default: the shipped catalog)."""
    return click.option("--catalog", "catalog_dir",
                        type=click.Path(file_okay=False, path_type=Path), default=None,
                        help="Folder of theme YAML files [default: the shipped catalog].")(func)


def device_option(default: str | None = "auto") -> Callable[[F], F]:
    """``--device``: where torch runs (``auto``, ``cpu``, ``cuda``, ``cuda:N``).

    ``default=None`` means the command's params section decides (its ``device`` key).
    """
    from_params = default is None

    def check(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
        if value is not None and not _DEVICE.fullmatch(value):
            raise click.BadParameter(f"{value!r} is not one of auto, cpu, cuda or cuda:N",
                                     ctx=ctx, param=param)
        return value

    return click.option(
        "--device", default=default, show_default=not from_params, metavar="DEVICE",
        callback=check,
        help="auto (a CUDA GPU when present), cpu, cuda or cuda:N"
             + (" [default: the params section's device key]" if from_params else "."))


def out_option(help: str, *, default: Path | None = None, required: bool = False,
               renamed: tuple[str, ...] = (), path_type: type = Path) -> Callable[[F], F]:
    """``-o/--out PATH``, the one spelling of a command's output across songnet.

    ``renamed`` lists old spellings (``--output``) still accepted for one release: they
    print a deprecation warning and set ``out``. ``path_type=str`` keeps the text as typed
    (a trailing ``/`` that names a folder).
    """
    def resolve(ctx: click.Context, param: click.Parameter, value: Path | None) -> Path | None:
        if value is None:
            value = ctx.params.get("out")  # given with an old spelling
        if value is None and required:
            raise click.MissingParameter(ctx=ctx, param=param)
        return value

    def decorate(func: F) -> F:
        func = click.option("-o", "--out", "out", type=click.Path(path_type=path_type),
                            default=default, show_default=default is not None,
                            callback=resolve, help=help + (" [required]" if required else ""))(
                                func)
        for old in renamed:
            func = click.option(old, type=click.Path(path_type=path_type), hidden=True,
                                expose_value=False, callback=_renamed_out(old))(func)
        return func
    return decorate


def _renamed_out(old: str) -> Callable[[click.Context, click.Parameter, Any], None]:
    def callback(ctx: click.Context, param: click.Parameter, value: Path | None) -> None:
        if value is not None:
            click.echo(f"warning: {old} is deprecated and will be removed in the next release; "
                       "use -o/--out", err=True)
            ctx.params["out"] = value
    return callback


def removed_option(name: str, instead: str) -> Callable[[F], F]:
    """A removed option: using it is a usage error saying what to use ``instead``."""
    def callback(ctx: click.Context, param: click.Parameter, value: Any) -> None:
        if value is not None:
            raise click.UsageError(f"{name} was removed; {instead}", ctx=ctx)
    return click.option(name, hidden=True, expose_value=False, default=None, callback=callback)
