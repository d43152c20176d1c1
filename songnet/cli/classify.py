"""``songnet classify PATH...``: find chingolo songs in recordings and name their themes.

Parameters come from the ``classify`` section of ``--params`` by the policy of
:func:`songnet.cli.common.load_optional_params`: the section when the file has one,
otherwise the defaults of :class:`songnet.classify.params.ClassifyParams`, so the command works
in any folder; the section may hold only the keys it changes. Naming ``--params``
explicitly makes the file and the section required. Options given on the command line win
over the file.

The default model is the ONNX export shipped in the package, run on ONNX Runtime with the
CQT in NumPy: this path never imports torch, librosa or scipy (the base install).
``--model X.pt`` runs a torch checkpoint instead (the pipeline extras).
"""

from __future__ import annotations

import dataclasses
import gc
import os
import sys
from collections.abc import Callable
from pathlib import Path

import click

from songnet.classify.backends import Backend, open_model
from songnet.classify.events import check_themes
from songnet.classify.journal import Journal, journal_path
from songnet.classify.params import ClassifyParams
from songnet.classify.recordings import find_recordings
from songnet.classify.report import (
    FORMATS,
    PER_RECORDING,
    FileResult,
    error_message,
    format_events,
    output_names,
    summary,
    verified_table,
)
from songnet.classify.windows import classify_file
from songnet.cli.cluster import connect, parse_scheduler
from songnet.cli.common import (
    STATE,
    FiniteFloatRange,
    common_options,
    device_option,
    load_optional_params,
    model_option,
    one_line_warnings,
    out_option,
)
from songnet.core.errors import SongnetError
from songnet.core.files import check_output_dir, check_output_file, inside, write_text
from songnet.core.params import check_workers
from songnet.core.progress import bar
from songnet.core.verified import read_verified

__all__ = ["command"]

MAX_THREADS = 1024
"""Most ``--threads`` (per worker): more than a machine's cores only contend for them."""


@click.command(name="classify")
@click.argument("paths", nargs=-1, required=True)
@model_option("An exported model (.onnx, ONNX Runtime) or a checkpoint (.pt, needs torch); "
              "`songnet --version` names the shipped one.", default="default.onnx")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="table", show_default=True,
              help="table (readable), csv, json, raven (a Raven selection table per "
                   "recording) or audacity (an Audacity label track per recording).")
@out_option("Output file, or folder (existing, or ending in /): one file per recording "
            "[default: standard output].", renamed=("--output",), path_type=str)
@click.option("--sensitivity", type=FiniteFloatRange(0.0, 1.0, max_open=True), default=None,
              help="How readily a sound is called a song: a song candidate is one when its "
                   "song_score reaches 1 - SENSITIVITY. Higher finds fainter songs and more "
                   "false ones [default: params, 0.5].")
@click.option("--min-song-score", type=FiniteFloatRange(0.0, 1.0), default=None,
              help="Report only songs whose song_score (how sure songnet is that a "
                   "chingolo song is there, whatever its theme) reaches this [default: 0].")
@click.option("--min-confidence", type=FiniteFloatRange(0.0, 1.0), default=None,
              help="Report only songs whose theme_confidence (how sure the network is of "
                   "the theme, not whether a song is there) reaches this [default: 0].")
@click.option("--themes", "themes_opt", default=None, metavar="T01,T05",
              help="Report only these catalog themes; a song named another comes out as "
                   "`other` (BirdNET's species list).")
@click.option("--theme-list", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              default=None, help="The same from a file: one theme per line, # comments.")
@click.option("--fmin", type=FiniteFloatRange(min=0.0), default=None, metavar="HZ",
              help="Lowest frequency the detector listens to: sounds below it "
                   "never become song candidates [default: the model's lowest].")
@click.option("--fmax", type=FiniteFloatRange(min=0.0, min_open=True), default=None,
              metavar="HZ", help="Highest frequency the detector listens to [default: the "
                                 "model's highest].")
@click.option("--overlap", type=FiniteFloatRange(min=0.0), default=None, metavar="SECONDS",
              help="Overlap of consecutive analysis windows, s: the windows step by the "
                   "model's window length minus this [default: params, a 0.5-s step]; "
                   "matters only with skip_quiet: false.")
@click.option("--batch-size", type=click.IntRange(1, 4096), default=None,
              help="Images per network run (memory grows with it) [default: params, 32].")
@click.option("--workers", type=click.IntRange(min=1), default=1, show_default=True,
              help="Recordings processed in parallel (each worker loads the model); at most "
                   "the CPUs, and about 1 GB of memory each.")
@click.option("--threads", type=click.IntRange(1, MAX_THREADS), default=None,
              help="Threads for the CQT and the network (per worker) [default: the cores / "
                   "workers].")
@click.option("--scheduler", default=None, metavar="ADDRESS|local[:N]",
              help="Run on a Dask cluster: the address of a running scheduler, or local:N "
                   "for N local worker processes (needs songnet[cluster]).")
@click.option("--split-s", type=FiniteFloatRange(min=1.0), default=600.0, show_default=True,
              help="With --scheduler: recordings longer than this are split into ranges of "
                   "about this many seconds, scored on different workers.")
@click.option("--resume", is_flag=True,
              help="Keep a journal beside the output (OUT.journal.jsonl) and skip the "
                   "recordings it holds unchanged; rerun the same command after an "
                   "interruption.")
@click.option("--verified", "verified_path", type=click.Path(exists=True, dir_okay=False,
              path_type=Path), default=None,
              help="A review's verified.csv: also print each theme's precision against the "
                   "verdicts (events on verified songs).")
@device_option()
@common_options
def command(paths: tuple[str, ...], model_path: Path | None, fmt: str, out: str | None,
            sensitivity: float | None, min_song_score: float | None,
            min_confidence: float | None, themes_opt: str | None, theme_list: Path | None,
            fmin: float | None, fmax: float | None, overlap: float | None,
            batch_size: int | None, workers: int, threads: int | None,
            scheduler: str | None, split_s: float, resume: bool, verified_path: Path | None,
            device: str, params_file: Path, quiet: bool) -> int:
    """Find chingolo songs in PATH... (files, folders searched recursively, globs).

    Prints one line per song and a summary per file on standard error. Each song has:

    \b
      song_score        how sure songnet is that a chingolo song is there (0-1)
      theme             the decision: a catalog theme, `unknown` or `other`
      theme_confidence  how sure the network is of its first choice, given a song
      unknown_by        who called it unknown: network (its own unknown class),
                        distance (the embedding lies beyond the threshold from
                        its nearest theme) or note_check (the introduction's notes
                        differ from the theme's beyond note_threshold)
      top_1..3, p_1..3  the network's own ranking of the catalog themes
      nearest, distance, threshold            the embedding's nearest theme
      note_distance, note_threshold           the note check (notes' worth)

    A recording without song gives no events (status 0); a file that cannot be read
    gives `error: FILE: …`, the others are still processed, and the status is 2.
    """
    params = load_optional_params(params_file, "classify", ClassifyParams)
    verified = read_verified(verified_path) if verified_path is not None else None
    chosen = {"min_confidence": min_confidence, "min_song_score": min_song_score,
              "batch_size": batch_size, "fmin_hz": fmin, "fmax_hz": fmax,
              "detect_threshold": None if sensitivity is None else round(1.0 - sensitivity, 9),
              "themes": read_themes(themes_opt, theme_list)}
    try:
        params = dataclasses.replace(params, **{k: v for k, v in chosen.items()
                                                if v is not None})
    except ValueError as exc:  # e.g. --fmin above --fmax (or above the params' fmax_hz)
        raise SongnetError(f"{exc}; fix the options") from None
    files, missing = find_recordings(paths)
    output = None if out is None else Path(out)
    folder_out = output is not None and (output.is_dir() or out.endswith(("/", os.sep))
                                         or (fmt in PER_RECORDING and len(files) > 1))
    if fmt in PER_RECORDING and output is None and len(files) > 1:
        raise SongnetError(f"--format {fmt} writes one file per recording; pass -o FOLDER")
    _check_outputs(output, folder_out, files=files, fmt=fmt,
                   inputs=[*files, params_file] + ([model_path] if model_path else [])
                   + ([theme_list] if theme_list else []))
    if resume and output is None:
        raise SongnetError("--resume keeps its journal beside the output; pass -o OUT")
    if scheduler is not None:
        parse_scheduler(scheduler, per_worker_mb=WORKER_MB)  # a bad local:N fails before any work
    if workers > 1 and len(files) > 1 and scheduler is None:
        check_workers(workers, per_worker_mb=WORKER_MB)
    if threads is None and workers > 1:
        threads = max(1, (os.cpu_count() or 1) // workers)
    model = open_model(model_path, device=device, threads=threads)
    mid = model.model_id  # every output names the model it came from
    check_themes(params.themes, model.classes)
    if overlap is not None:
        params = with_overlap(params, overlap, window_s=model.fp.n_samples / model.fp.sr)
    # the start-up objects (torch's are hundreds of thousands) live until exit: keep the
    # garbage collector from walking them, during the run and at interpreter exit
    gc.freeze()
    failed = {path: msg for path, msg in missing}
    for path, msg in missing:
        _say(f"error: {path}: {msg}")
    names = output_names(files, fmt=fmt) if folder_out else {}
    journal = None
    if resume:
        key = {"params": dataclasses.asdict(params), "model": model.model_id,
               "events": EVENTS_VERSION}
        journal = Journal(journal_path(output), key=key, files=files)
    before = {f: r for f in files if journal is not None and (r := journal.done(f))}
    stats = {f: _stat(f) for f in files if f not in before}

    def arrived(r: FileResult) -> None:
        if journal is not None and stats.get(r.file) is not None:
            journal.record(r, stat=stats[r.file])
        if folder_out and r.ok:
            write_text(inside(output, names[r.file]), format_events([r], fmt=fmt, model=mid))

    done = _run([f for f in files if f not in before], model=model, model_path=model_path,
                params=params, device=device, workers=workers, threads=threads,
                scheduler=scheduler, split_s=split_s, quiet=quiet, arrived=arrived)
    done.update(before)
    results = [done[f] for f in files] + [FileResult(p, error=m) for p, m in failed.items()]
    good = [r for r in results if r.ok]
    if folder_out:
        for r in good:
            if r.file in before:
                write_text(inside(output, names[r.file]),
                           format_events([r], fmt=fmt, model=mid))
    elif output is not None:
        if good or fmt not in PER_RECORDING:
            write_text(output, format_events(good, fmt=fmt, model=mid))
    elif good or fmt not in PER_RECORDING:
        click.echo(format_events(good, fmt=fmt, model=mid), nl=False)
    click.echo(summary(results, model=mid), nl=False, err=True)
    if verified is not None:
        click.echo(verified_table(good, verified), nl=False, err=True)
    return 2 if any(not r.ok for r in results) else 0


EVENTS_VERSION = 2
"""The events' fields in a resume journal (2: song_score, theme_confidence, unknown_by):
a journal of other fields is refused rather than mixed in."""
MAX_THEMES = 1000
"""Most themes ``--themes``/``--theme-list`` may name."""


def read_themes(themes: str | None, theme_list: Path | None) -> tuple[str, ...] | None:
    """The themes ``--themes T01,T05`` or ``--theme-list FILE`` name (None: neither)."""
    if themes is not None and theme_list is not None:
        raise SongnetError("--themes and --theme-list both name themes; give one of them")
    if theme_list is not None:
        if theme_list.stat().st_size > 1 << 20:
            raise SongnetError(f"--theme-list {theme_list}: over 1 MB; a theme list holds "
                               "one theme name per line")
        try:
            text = theme_list.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise SongnetError(f"--theme-list {theme_list}: cannot be read as UTF-8 text "
                               f"({type(exc).__name__}); write one theme per line") from None
        names = [line.split("#", 1)[0].strip() for line in text.splitlines()]
        where = f"--theme-list {theme_list}"
    elif themes is not None:
        names, where = themes.split(","), "--themes"
    else:
        return None
    names = [n.strip() for n in names if n.strip()]
    if not names or len(names) > MAX_THEMES:
        raise SongnetError(f"{where}: name 1 to {MAX_THEMES} themes (e.g. --themes T01,T05)")
    return tuple(dict.fromkeys(names))


def with_overlap(params: ClassifyParams, overlap: float, *, window_s: float) -> ClassifyParams:
    """``params`` whose windows overlap by ``overlap`` s (the model's windows are
    ``window_s`` long): ``hop_s = window_s - overlap``."""
    if not 0.0 <= overlap <= window_s - 0.05:
        raise SongnetError(f"--overlap {overlap:g}: the model's windows are {window_s:g} s "
                           f"long; give 0 to {window_s - 0.05:g} s")
    return dataclasses.replace(params, hop_s=round(window_s - overlap, 6))


WORKER_MB = 1024
"""Memory one ``--workers`` process needs (torch, the model, a block of audio), in MiB."""


def _check_outputs(output: Path | None, folder_out: bool, *, files: list[str], fmt: str,
                   inputs: list) -> None:
    """The output policy before any work: never an input, a folder or a FIFO; writable."""
    if output is None:
        return
    if not folder_out:
        check_output_file(output, inputs=inputs)
        return
    check_output_dir(output, replaced=False)
    for name in output_names(files, fmt=fmt).values():
        check_output_file(inside(output, name), inputs=inputs)


def _say(line: str, *, quiet: bool = True) -> None:
    if quiet:  # no bar to keep clear of (and no tqdm to import)
        click.echo(" ".join(line.split()), err=True)
        return
    from tqdm.auto import tqdm
    tqdm.write(" ".join(line.split()), file=sys.stderr)


def _stat(path: str) -> os.stat_result | None:
    try:
        return os.stat(path)
    except OSError:
        return None


def _one(path: str, *, model: Backend, params: ClassifyParams, progress=None) -> FileResult:
    """Classify one file; any problem with the file becomes its error line."""
    try:
        events, duration = classify_file(path, model=model, params=params,
                                         progress=progress)
    except Exception as exc:
        msg = error_message(path, exc)
        if msg is None or (STATE.verbose and not isinstance(exc, SongnetError)):
            raise
        return FileResult(path, error=msg)
    return FileResult(path, tuple(events), duration)


def _run(files: list[str], *, model: Backend, model_path: Path | None, params: ClassifyParams,
         device: str, workers: int, threads: int | None, scheduler: str | None,
         split_s: float, quiet: bool,
         arrived: Callable[[FileResult], None]) -> dict[str, FileResult]:
    """Classify every file, with a progress bar over seconds of audio; report failures."""
    from songnet.core.decode import info
    lengths = {}
    for f in files:
        try:
            lengths[f] = info(f).duration
        except (SongnetError, OSError, RuntimeError, ValueError):
            lengths[f] = 0.0  # it will fail with its own error below
    total = round(sum(lengths.values()), 1)
    done: dict[str, FileResult] = {}
    hours = scheduler is not None  # an archive: the bar counts hours of audio
    with bar(round(total / 3600, 3) if hours else total, desc="classify",
             unit="h" if hours else "s", quiet=quiet) as pbar:
        seconds = [0.0]  # audio finished so far, files done + the current one

        def show(s: float) -> None:
            seconds[0] += s
            pbar.n = (min(round(seconds[0] / 3600, 3), pbar.total) if hours
                      else min(round(seconds[0], 1), total))
            pbar.refresh()

        def finish(i: int, r: FileResult) -> None:
            done[r.file] = r
            arrived(r)
            seconds[0] = sum(lengths[f] for f in done)
            show(0.0)
            pbar.set_postfix_str(f"file {i}/{len(files)}")
            if not r.ok:
                _say(f"error: {r.file}: {r.error}", quiet=quiet)

        if scheduler is not None:
            from songnet.classify.cluster import classify_on
            with connect(scheduler, per_worker_mb=WORKER_MB) as client:
                for i, r in enumerate(classify_on(
                        client, files, model=model, model_path=model_path, params=params,
                        device=device, threads=threads, split_s=split_s, lengths=lengths,
                        progress=show), start=1):
                    finish(i, r)
            return done
        if workers == 1 or len(files) < 2:
            for i, f in enumerate(files, start=1):
                pbar.set_postfix_str(f"file {i}/{len(files)}", refresh=False)
                finish(i, _one(f, model=model, params=params, progress=show))
            return done
        import concurrent.futures
        import multiprocessing
        ctx = multiprocessing.get_context("spawn")
        with concurrent.futures.ProcessPoolExecutor(
                max_workers=workers, mp_context=ctx, initializer=_init_worker,
                initargs=(model_path, device, threads)) as pool:
            futures = [pool.submit(_work, f, params) for f in files]
            for i, fut in enumerate(concurrent.futures.as_completed(futures), start=1):
                finish(i, fut.result())
    return done


_WORKER: dict[str, object] = {}


def _init_worker(model_path: Path | None, device: str, threads: int | None) -> None:
    one_line_warnings()
    _WORKER["model"] = open_model(model_path, device=device, threads=threads)


def _work(path: str, params: ClassifyParams) -> FileResult:
    return _one(path, model=_WORKER["model"], params=params)
