"""Options shared by the commands, spelled once: ``--params``, ``--quiet``, ``--verbose``,
``-o/--out``, ``--device``, ``--catalog``, ``--features``, ``--model``.

The contract every command keeps (``tests/test_cli.py`` walks the registered commands and
checks it):

- ``--model``: :func:`model_option`, with one default rule (:data:`MODEL_DEFAULTS`).
- ``--device``: :func:`device_option`, on every command that runs torch or the CQT.
- ``-o/--out``: :func:`out_option`, the command's primary output.
- ``--params``: :func:`common_options`, on every command that reads a params section. A
  DVC stage's section is required whole (:func:`songnet.core.params.load_params`); a
  command a user runs anywhere reads its section by :func:`load_optional_params`.
- Numbers: a float option is a :class:`FiniteFloatRange`, an int option a
  ``click.IntRange``, each with its bounds.
"""

from __future__ import annotations

import dataclasses
import math
import re
import sys
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal, TypeVar

import click

__all__ = [
    "MODEL_DEFAULTS",
    "PIPELINE_MODEL",
    "STATE",
    "FiniteFloatRange",
    "catalog_option",
    "common_options",
    "device_option",
    "features_dir_option",
    "load_optional_params",
    "model_option",
    "one_line_warnings",
    "out_option",
    "params_option",
    "quiet_option",
    "removed_option",
    "verbose_option",
]

F = TypeVar("F", bound=Callable[..., Any])
P = TypeVar("P")
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


def load_optional_params(params_file: Path, section: str, cls: type[P]) -> P:
    """The ``section`` of ``--params`` for a command a user runs anywhere, not a DVC stage.

    The one policy for an optional params file (``classify``, ``explain``, ``sing``,
    ``themes``): with ``--params FILE`` named on the command line, the file and its
    section must exist; with the default ``params.yaml``, its section is read when the
    file exists and holds it; otherwise ``cls()``, the defaults. A section may hold only
    the keys it changes: the others keep their defaults (an unknown key or a wrong type is
    an error either way).

    Parameters
    ----------
    params_file : Path
        The ``--params`` value of the running command.
    section : str
        The section to read (``"classify"``, ``"themes"``, ...).
    cls : type
        The frozen params class the section loads into.

    Raises
    ------
    ParamsError
        ``--params`` named a missing file or one without ``section``; an unknown key or a
        value of the wrong type, naming the file, the section and the key.
    """
    from songnet.core.params import load_params, read_params_file

    ctx = click.get_current_context(silent=True)
    source = None if ctx is None else ctx.get_parameter_source("params_file")
    named = source not in (None, click.core.ParameterSource.DEFAULT)
    if named or (params_file.is_file() and section in read_params_file(params_file)):
        return load_params(params_file, section, cls, require_all=False)
    return cls()


def features_dir_option(help: str = "Folder written by `songnet features`.") -> Callable[[F], F]:
    """``--features DIR`` (default ``data/features``), the folder the features stage writes."""
    return click.option("--features", "features_dir",
                        type=click.Path(file_okay=False, path_type=Path),
                        default=Path("data/features"), show_default=True, help=help)


PIPELINE_MODEL = Path("experiments/model/model.pt")
"""The pipeline's own model: the checkpoint ``songnet train`` writes."""
ModelDefault = Literal["pipeline", "default.onnx", "default.pt"]
MODEL_DEFAULTS: dict[str, tuple[Path | None, str]] = {
    "pipeline": (PIPELINE_MODEL, f"the pipeline's model, {PIPELINE_MODEL.as_posix()}"),
    "default.onnx": (None, "the model shipped in the package, songnet/models/default.onnx"),
    "default.pt": (None, "the model shipped in the package, songnet/models/default.pt"),
}
"""The two defaults of ``--model``, declared once: the pipeline's model, or the model
shipped in the package (as its ONNX export or as its checkpoint); ``(value, words)`` each.

A command that a DVC stage runs on the pipeline's own model (``evaluate``, ``embed``,
``release``) defaults to ``"pipeline"``, :data:`PIPELINE_MODEL`. A command a user runs on
recordings or to ship a model defaults to the model shipped in the package: its ONNX
export, ``"default.onnx"``, where ONNX Runtime can run it (``classify``, ``themes
discover``); its checkpoint, ``"default.pt"``, where the command needs torch
(``explain``, ``export``). The shipped default's value is None: the loaders find the file
inside the installed package, wherever that is. ``words`` is what every help text says.
"""


def model_option(help: str, *, default: ModelDefault) -> Callable[[F], F]:
    """``--model FILE``, the model a command reads, with the default rule of
    :data:`MODEL_DEFAULTS`.

    Parameters
    ----------
    help : str
        What the file is for this command (one sentence, no default); the help text ends
        with ``[default: …]`` in the words of :data:`MODEL_DEFAULTS`.
    default : {"pipeline", "default.onnx", "default.pt"}
        Which default applies.
    """
    value, words = MODEL_DEFAULTS[default]
    return click.option("--model", "model_path", type=click.Path(dir_okay=False, path_type=Path),
                        default=value, help=f"{help} [default: {words}]")


def catalog_option(func: F) -> F:
    """``--catalog DIR``: a folder of theme YAML files (default: the shipped catalog)."""
    return click.option("--catalog", "catalog_dir",
                        type=click.Path(file_okay=False, path_type=Path), default=None,
                        help="Folder of theme YAML files [default: the shipped catalog].")(func)


def device_option(default: str | None = "auto") -> Callable[[F], F]:
    """``--device``: where torch runs (``auto``, ``cpu``, ``cuda``, ``cuda:N``), on every
    command that runs the network or the CQT.

    ``default=None`` means the command's params section decides (its ``device`` key): the
    DVC stages whose section has one (``train``, ``evaluate``, ``validate``, ``embed``;
    ``compare``, from ``[train]``). The other commands default to ``auto``.
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
