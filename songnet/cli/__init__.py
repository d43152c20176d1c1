"""The ``songnet`` command: one subcommand per pipeline stage.

The command layer is thin: parse, load the stage's params section, call one core
function with explicit keyword arguments, write outputs. Subcommands load lazily, so
``songnet --help`` is instant and a stage whose module is absent is simply not listed.

The base install (``pip install songnet``) runs ``classify`` only; every other command
needs the pipeline extras and, without them, stops with one line saying what to install.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import sys
import traceback
import warnings
from collections.abc import Sequence

import click

from songnet.cli.common import STATE, one_line_warnings
from songnet.core.errors import SongnetError

__all__ = ["BASE_COMMANDS", "COMMANDS", "PIPELINE_MODULES", "cli", "main"]

# name -> (module defining `command`, one-line help). Order is the data flow.
COMMANDS: dict[str, tuple[str, str]] = {
    "themes": ("songnet.cli.themes", "List the theme catalog, or draw each theme's CQT image."),
    "sing": ("songnet.cli.sing", "Synthesize one song of a theme to a WAV file."),
    "synthesize": ("songnet.cli.synthesize",
                   "Build the surrogate song dataset (WAVs + manifest.csv) from the catalog."),
    "features": ("songnet.cli.features", "Turn a manifest's WAVs into Constant-Q image arrays."),
    "train": ("songnet.cli.train", "Train the theme CNN on the feature arrays."),
    "evaluate": ("songnet.cli.evaluate",
                 "Score a model on held-out birds and the stress set (metrics, confusion)."),
    "release": ("songnet.cli.release",
                "Ship the evaluated model inside the package with a regenerated model card."),
    "export": ("songnet.cli.export",
               "Write a model checkpoint as ONNX, for classifying without torch."),
    "resynthesize": ("songnet.cli.resynthesize",
                     "Fit the syrinx model to a 1966 recording or sketch and sing it."),
    "validate": ("songnet.cli.validate",
                 "Leave each theme out of training in turn: is it found lost? (threshold rule)"),
    "embed": ("songnet.cli.embed", "Embed 2020 and 1966 songs with the trained network."),
    "project": ("songnet.cli.project",
                "Map embeddings to 2-D and decide which 1966 themes persist."),
    "classify": ("songnet.cli.classify",
                 "Find chingolo songs in field recordings and name their themes."),
    "compare": ("songnet.cli.compare",
                "Train every (arch, frontend) pair on the same surrogates and tabulate them."),
    "review": ("songnet.cli.review",
               "Make a page to look at, listen to and mark every detection (verified.csv)."),
    "explain": ("songnet.cli.explain",
                "Draw what made the network name each song's theme (Grad-CAM per event)."),
}


# What the base install runs; the other commands need the pipeline extras.
BASE_COMMANDS = frozenset({"classify"})
# The import names of the pipeline extras (pyproject's `pipeline`).
PIPELINE_MODULES = ("torch", "torchaudio", "librosa", "scipy", "pandas", "sklearn", "umap",
                    "numba", "matplotlib", "dvc", "onnx")


def needs_extras(command: str) -> SongnetError:
    """The error of a command run without the pipeline extras it needs."""
    return SongnetError(f'songnet {command} needs the pipeline extras: '
                        'pip install "songnet[pipeline]"')


def _missing_extras() -> list[str]:
    return [m for m in PIPELINE_MODULES if importlib.util.find_spec(m) is None]


class LazyGroup(click.Group):
    """A group whose subcommands are imported only when run."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return [name for name, (module, _) in COMMANDS.items()
                if importlib.util.find_spec(module) is not None]

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in COMMANDS or cmd_name not in self.list_commands(ctx):
            return None
        if cmd_name not in BASE_COMMANDS and _missing_extras():
            raise needs_extras(cmd_name)
        module = importlib.import_module(COMMANDS[cmd_name][0])
        return module.command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        base_only = bool(_missing_extras())  # the base install: say which commands need more
        rows = [(name, COMMANDS[name][1] + (" [needs songnet[pipeline]]"
                                            if base_only and name not in BASE_COMMANDS else ""))
                for name in self.list_commands(ctx)]
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--version", is_flag=True, expose_value=False, is_eager=True,
              callback=lambda ctx, _, value: _print_version(ctx) if value else None,
              help="Show the version and exit.")
def cli() -> None:
    """songnet: find rufous-collared sparrow songs and name their themes.

    Each subcommand is one pipeline stage; `dvc repro` runs them in order with the
    paths and params in dvc.yaml and params.yaml. Add -v to any command for the full
    traceback of an error.
    """


def _print_version(ctx: click.Context) -> None:
    importlib.import_module("songnet.cli.version").print_version()  # loaded when asked for
    ctx.exit()


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status (2 for any error a user can fix)."""
    args = list(sys.argv[1:] if argv is None else argv)
    STATE.verbose = any(a in ("-v", "--verbose") for a in args)
    command = next((a for a in args if not a.startswith("-")), "")
    if command == "classify":
        # the CQT runs its tiles on every core itself (songnet.features.npcqt); OpenBLAS
        # threads inside each tile's products would only contend with them
        os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
        _reuse_freed_memory()
    with warnings.catch_warnings():
        one_line_warnings()
        return _main(args, command)


def _reuse_freed_memory() -> None:
    """Let glibc's malloc keep freed blocks of up to 64 MB for reuse.

    Classifying allocates and frees the same large arrays for every block of a recording
    (a minute of CQT power is a few MB). By default glibc gives each back to the kernel and
    takes it anew, page faults and all: keeping them makes a 10-minute command some 3-5 %
    faster here, for about 30 MB more peak memory, bounded by the arrays of the blocks in
    flight. A no-op off glibc (macOS, Windows, musl).
    """
    import ctypes

    try:
        mallopt = ctypes.CDLL("libc.so.6").mallopt
    except (OSError, AttributeError):
        return
    mallopt(-3, 64 << 20)  # M_MMAP_THRESHOLD: blocks below 64 MB come from the heap
    mallopt(-1, 256 << 20)  # M_TRIM_THRESHOLD: the heap's free top is kept up to 256 MB
    mallopt(-2, 16 << 20)  # M_TOP_PAD: the heap grows 16 MB at a time


def _main(args: list[str], command: str) -> int:
    try:
        result = cli.main(args=args, prog_name="songnet", standalone_mode=False)
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except click.ClickException as exc:
        where = f" (see 'songnet {exc.ctx.info_name} --help')" if getattr(exc, "ctx", None) \
            and exc.ctx.parent is not None else " (see 'songnet --help')"
        _error(exc.format_message() + where, exc)
        return 2
    except click.Abort:
        click.echo("error: aborted", err=True)
        return 130
    except KeyboardInterrupt:
        click.echo("error: interrupted; outputs already written are complete, "
                   "the one in progress was discarded", err=True)
        return 130
    except SongnetError as exc:
        _error(str(exc), exc)
        return 2
    except MemoryError as exc:
        _error("out of memory; pass smaller inputs (see the limits in the README's "
               "'Command line' section)", exc)
        return 2
    except ModuleNotFoundError as exc:  # a pipeline module imported on the way
        if (exc.name or "").split(".")[0] not in PIPELINE_MODULES:
            raise
        _error(str(needs_extras(command or "this command")), exc)
        return 2
    return result if isinstance(result, int) else 0


def _error(message: str, exc: BaseException) -> None:
    if STATE.verbose:
        traceback.print_exception(exc, file=sys.stderr)
    line = " ".join(message.split())
    click.echo(f"error: {line}", err=True)
