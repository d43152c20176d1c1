"""``songnet themes``: list the theme catalog, or draw each theme's CQT image;
``songnet themes learn``: learn themes from recordings."""

from __future__ import annotations

import csv
import importlib
import io
import json
import shutil
from pathlib import Path

import click

from songnet.cli.common import (
    FiniteFloatRange,
    catalog_option,
    common_options,
    load_optional_params,
    out_option,
)
from songnet.core.errors import SongnetError
from songnet.core.files import (
    FIGURE_SUFFIXES,
    atomic_dir,
    atomic_path,
    check_output_dir,
    check_output_file,
    check_outputs,
    write_text,
)
from songnet.surrogates.themes import DEFAULT_CATALOG, load_catalog

COLUMNS = ("name", "n_notes", "note_shapes", "trill_shape", "trill_interval_ms",
           "trill_count", "pitch_min_khz", "pitch_max_khz", "duration_s", "description")


class _ThemesGroup(click.Group):
    """``themes`` with ``learn`` here and ``discover`` imported only when run (it needs
    the detector and the grouping, which listing or learning themes never do)."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted([*super().list_commands(ctx), "discover"])

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name == "discover":
            return importlib.import_module("songnet.cli.discover").command
        return super().get_command(ctx, cmd_name)


@click.group("themes", cls=_ThemesGroup, invoke_without_command=True)
@catalog_option
@click.option("--recordings", "recordings_dir", type=click.Path(file_okay=False, path_type=Path),
              default=None, help="Theme folders of recordings (DIR/T01/*.wav, ...): when DIR "
              "holds any, learn the catalog from them (as `themes learn`) instead of using "
              "--catalog. Needs -o.")
@out_option("Write the catalog in use (learned, with its learn report, or a copy of "
            "--catalog) to this folder, replaced as a whole.", renamed=("--catalog-out",))
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table",
              show_default=True, help="How to print the list on standard output.")
@click.option("--csv", "csv_path", type=click.Path(dir_okay=False, path_type=Path),
              default=None, help="Also write the table to this CSV file.")
@click.option("--plot", "plot_path", type=click.Path(dir_okay=False, path_type=Path),
              default=None, help="Draw one CQT image per theme in a grid to this PNG.")
@click.option("--seed", type=click.IntRange(0, 2**32 - 1), default=0, show_default=True,
              help="Seed of the birds singing the plotted songs.")
@common_options
@click.pass_context
def command(ctx: click.Context, catalog_dir: Path | None, recordings_dir: Path | None,
            out: Path | None, fmt: str, csv_path: Path | None, plot_path: Path | None,
            seed: int, params_file: Path, quiet: bool) -> None:
    """List the theme catalog (name, notes, trill, pitch range, duration).

    --plot draws each theme's song with the [features] section of --params (the CQT the
    network sees); without one, the default features. `songnet themes learn --help` learns
    themes from recordings.
    """
    if ctx.invoked_subcommand is not None:
        return
    if recordings_dir is not None and out is None:
        raise click.UsageError("--recordings needs -o/--out (where the learned catalog goes)",
                               ctx=ctx)
    inputs = [params_file, *_catalog_files(catalog_dir), *_recordings(recordings_dir)]
    check_outputs({"--csv": csv_path, "--plot": plot_path}, folders={"-o": out},
                  inputs=inputs, suffixes={"--plot": FIGURE_SUFFIXES})
    if out is not None:
        catalog_dir = _catalog_in_use(catalog_dir, recordings_dir, out, params_file, quiet)
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

        params = load_optional_params(params_file, "features", FeatureParams)
        images = theme_images(themes, seed=seed, params=params)
        fig = image_grid(images, [t.name for t in themes], params=params,
                         durations_s=[t.duration_s + 0.3 for t in themes])
        with atomic_path(plot_path) as tmp:
            fig.savefig(tmp, dpi=90)
        if not quiet:
            click.echo(f"wrote {plot_path}", err=True)


def _recordings(recordings_dir: Path | None) -> list[Path]:
    """What ``--recordings`` holds: its folder, its audio files and its verified.csv (the
    outputs must not replace them)."""
    from songnet.core.audio_files import audio_files

    if recordings_dir is None or not recordings_dir.is_dir():
        return []
    return [recordings_dir, *audio_files(recordings_dir, recursive=True),
            recordings_dir / VERIFIED]


def _catalog_files(catalog_dir: Path | None) -> list[Path]:
    """The files of a catalog folder (outputs must not replace them)."""
    if catalog_dir is None or not catalog_dir.is_dir():
        return []
    return sorted(catalog_dir.glob("*.y*ml"))


def _catalog_in_use(catalog_dir: Path | None, recordings_dir: Path | None, out: Path,
                    params_file: Path, quiet: bool) -> Path:
    """Learn the catalog from ``recordings_dir``'s theme folders into ``out``, or copy
    ``catalog_dir`` (default: the shipped one) there byte for byte; returns ``out``."""
    from songnet.resynth.learn_files import theme_folders

    if recordings_dir is not None and (recordings_dir / VERIFIED).is_file():
        _learn_verified(recordings_dir / VERIFIED, out, params_file=params_file, quiet=quiet)
        return out
    if recordings_dir is not None and theme_folders(recordings_dir):
        _learn_folder(recordings_dir, out, params_file=params_file, quiet=quiet)
        return out
    source = DEFAULT_CATALOG if catalog_dir is None else catalog_dir
    load_catalog(source)  # refuse a broken catalog before replacing anything
    with atomic_dir(out) as tmp:
        for f in sorted(source.glob("*.y*ml")):
            shutil.copyfile(f, tmp / f.name)
    if not quiet:
        click.echo(f"wrote {out}: the catalog {source}" + (
            f" ({recordings_dir} holds no theme folders)" if recordings_dir else ""), err=True)
    return out


def _learn_params(params_file: Path):  # -> LearnParams (imported lazily)
    from songnet.resynth.songs import LearnParams

    return load_optional_params(params_file, "themes", LearnParams)


def _note(line: str) -> None:
    click.echo("note: " + " ".join(line.split()), err=True)


VERIFIED = "verified.csv"
"""A reviewer's verdicts in a recordings folder: the themes are learned from them only."""


def _learn_verified(path: Path, out: Path, *, params_file: Path, quiet: bool) -> None:
    from songnet.core.progress import bar
    from songnet.core.verified import read_verified
    from songnet.resynth.learn_files import learn_verified

    verified = read_verified(path)
    n = sum(1 for v in verified if v.true_theme)
    with bar(n, desc="learn", unit="song", quiet=quiet) as pbar:
        catalog = learn_verified(verified, params=_learn_params(params_file),
                                 progress=pbar.update)
    _save_learned(catalog, out, params_file=params_file, quiet=quiet,
                  source=f"{n} verified songs of {path}")


def _learn_folder(folder: Path, out: Path, *, params_file: Path, quiet: bool) -> None:
    from songnet.core.progress import bar
    from songnet.resynth.learn_files import learn_catalog, theme_folders

    params = _learn_params(params_file)
    n_files = sum(len(files) for _, files in theme_folders(folder))
    with bar(n_files, desc="learn", unit="file", quiet=quiet) as pbar:
        catalog = learn_catalog(folder, params=params, progress=pbar.update)
    _save_learned(catalog, out, params_file=params_file, quiet=quiet, source=str(folder))


def _save_learned(catalog, out: Path, *, params_file: Path, quiet: bool, source: str) -> None:
    from songnet.features.params import FeatureParams
    from songnet.resynth.learn_files import save_catalog
    from songnet.resynth.learn_report import save_report

    params = _learn_params(params_file)
    features = load_optional_params(params_file, "features", FeatureParams)
    for lt in catalog.themes:
        for line in lt.notes:
            _note(line)
    with atomic_dir(out) as tmp:
        save_catalog(catalog, tmp)
        save_report(tmp, catalog.themes, params=params, features=features)
    if not quiet:
        shared = "with a shared dialect trill" if catalog.dialect else "each with its own trill"
        click.echo(f"wrote {out}: {len(catalog.themes)} themes {shared} (from {source}), "
                   "learn_report.csv and learn_report.png", err=True)


@command.command("learn")
@click.argument("inputs", nargs=-1, type=click.Path(exists=True, path_type=Path))
@click.option("--verified", "verified_path", type=click.Path(exists=True, dir_okay=False,
              path_type=Path), default=None,
              help="Learn a catalog from the songs of a review's verified.csv only (songs "
                   "marked correct count for the theme songnet named, songs given a theme "
                   "for that one); -o names the catalog folder.")
@click.option("--start", "start_s", type=FiniteFloatRange(min=0.0), default=None,
              help="Search each recording from this time on (s).")
@click.option("--end", "end_s", type=FiniteFloatRange(min=0.0), default=None,
              help="Search each recording up to this time (s).")
@click.option("--name", default=None, help="The theme's name [default: the output's stem].")
@out_option("THEME.yaml for recordings of one theme; a folder for a FOLDER of theme "
            "subfolders (replaced as a whole).", required=True)
@common_options
def learn(inputs: tuple[Path, ...], verified_path: Path | None, start_s: float | None,
          end_s: float | None, name: str | None, out: Path, params_file: Path,
          quiet: bool) -> None:
    """Learn a theme from recordings (RECORDING... -o THEME.yaml), or a catalog from a
    folder of theme folders (FOLDER -o CATALOG/: FOLDER/T01/*.wav, ... -> T01.yaml, ...,
    dialect.yaml when the themes share a trill, learn_report.csv and .png), or from the
    songs a reviewer verified (--verified verified.csv -o CATALOG/).

    Every complete song found (introductory notes, then a trill) is fitted to the catalog's
    vocabulary through the syrinx model; several songs of one theme are pooled (medians;
    their spread is kept). Songs cut at the recording's edge are skipped, with a note.
    The [themes] section of --params tunes the search (defaults without it).
    """
    from songnet.core.audio_files import audio_files
    from songnet.core.progress import bar
    from songnet.resynth.learn_files import learn_theme, theme_folders
    from songnet.surrogates.theme_yaml import save_theme

    if verified_path is not None:
        if inputs or start_s is not None or end_s is not None or name is not None:
            raise click.UsageError("--verified learns from the songs it lists: give no "
                                   "recordings, --start, --end or --name with it")
        check_output_dir(out, inputs=[verified_path, params_file])
        _learn_verified(verified_path, out, params_file=params_file, quiet=quiet)
        return
    if not inputs:
        raise click.UsageError("give recordings (or a folder of theme folders), or "
                               "--verified verified.csv")
    if len(inputs) == 1 and inputs[0].is_dir() and theme_folders(inputs[0]):
        if start_s is not None or end_s is not None or name is not None:
            raise click.UsageError("--start, --end and --name apply to recordings of one "
                                   "theme, not to a folder of theme folders")
        check_output_dir(out, inputs=[inputs[0], params_file])
        _learn_folder(inputs[0], out, params_file=params_file, quiet=quiet)
        return
    if out.suffix.lower() not in (".yaml", ".yml"):
        raise SongnetError(f"-o {out}: recordings of one theme give one theme file; name it "
                           "THEME.yaml (or pass one folder of theme subfolders for a catalog)")
    files: list[Path] = []
    for p in inputs:
        found = audio_files(p) if p.is_dir() else [p]
        if not found:
            raise SongnetError(f"{p}: holds no audio files ({', '.join(('.wav', '.flac'))}, "
                               "...) and no theme subfolders")
        files += found
    check_output_file(out, inputs=[*files, params_file])
    params = _learn_params(params_file)
    with bar(len(files), desc="learn", unit="file", quiet=quiet) as pbar:
        lt = learn_theme(files, name=name or out.stem, params=params, start_s=start_s,
                         end_s=end_s, progress=pbar.update)
    for line in lt.notes:
        _note(line)
    save_theme(out, lt.theme, header=lt.header)
    if not quiet:
        click.echo(f"wrote {out}: theme {lt.theme.name} from {len(lt.songs)} song(s) in "
                   f"{len(lt.files)} recording(s)", err=True)
