"""``songnet themes discover RECORDING_OR_FOLDER… -o OUT/``: find every chingolo song in
unsorted recordings and group the songs into proposed themes (:mod:`songnet.discover`)."""

from __future__ import annotations

import dataclasses
import os
import sys
from pathlib import Path

import click

from songnet.classify.backends import open_model
from songnet.classify.recordings import find_recordings
from songnet.classify.report import error_message
from songnet.cli.common import (
    STATE,
    FiniteFloatRange,
    common_options,
    device_option,
    load_optional_params,
    model_option,
    out_option,
)
from songnet.core.errors import SongnetError
from songnet.core.files import atomic_dir, check_output_dir
from songnet.core.journal import Journal, journal_path
from songnet.core.progress import bar

__all__ = ["command"]


@click.command("discover")
@click.argument("paths", nargs=-1, required=True)
@out_option("Output folder: one subfolder per proposed theme, _unsorted/, discover.csv, "
            "discover.json and discover.png (replaced as a whole).", required=True)
@click.option("--min-songs", type=click.IntRange(min=1), default=3, show_default=True,
              help="Groups with fewer songs go to _unsorted/.")
@click.option("--threshold", type=FiniteFloatRange(0.0, 10.0, min_open=True), default=1.0,
              show_default=True,
              help="Songs merge while they differ on average by at most this many notes' "
                   "worth (a note added, dropped or sung as another note is one).")
@click.option("--tolerance", type=FiniteFloatRange(0.0, 2.0), default=None,
              help="The part of each note's difference that is a bird's own variation, "
                   "free [default: measured: on the songs that share a recording, then "
                   "between the birds grouped together].")
@click.option("--detect-threshold", type=FiniteFloatRange(0.0, 1.0, min_open=True),
              default=0.5, show_default=True,
              help="A song needs the network's 1 - p(no_song) at least this.")
@model_option("The detector: an exported model (.onnx) or a checkpoint (.pt, needs torch).",
              default="default.onnx")
@device_option()
@click.option("--resume", is_flag=True,
              help="Keep a journal beside the output (OUT.journal.jsonl) and skip the "
                   "recordings it holds unchanged; rerun the same command after an "
                   "interruption.")
@common_options
def command(paths: tuple[str, ...], out: Path, min_songs: int, threshold: float,
            tolerance: float | None, detect_threshold: float, model_path: Path | None,
            device: str, resume: bool, params_file: Path, quiet: bool) -> int:
    """Find every chingolo song in PATH... (files, folders searched recursively, globs) and
    group the songs into proposed themes.

    A song is read note by note (an introduction, then a trill) and kept when the
    network's species-level decision says chingolo, whatever theme it names. Songs whose
    introductions differ by less than a note, beyond a bird's own variation (measured on
    the songs that share a recording, taken as one bird's), and whose trills match form a
    group.
    Rename, merge or split the folders, then move them to data/2020/: `songnet themes
    learn` takes them as they are. The [themes] section of --params tunes the note reader.
    """
    try:
        import matplotlib  # noqa: F401
        import scipy  # noqa: F401
    except ImportError as exc:
        raise SongnetError("songnet themes discover needs the pipeline extras (scipy, "
                           "matplotlib): pip install 'songnet[pipeline]'") from exc
    from songnet.discover.group import Tolerance, confirm, group_songs, within_bird_tolerance
    from songnet.discover.report import write_discovery
    from songnet.discover.songs import DiscoverParams, recording_songs
    from songnet.resynth.songs import LearnParams

    params = DiscoverParams(detect_threshold=detect_threshold, min_songs=min_songs,
                            threshold=threshold, tolerance=tolerance)
    learn = load_optional_params(params_file, "themes", LearnParams)
    files, missing = find_recordings(paths)
    check_output_dir(out, inputs=[*files, params_file, *([model_path] if model_path else [])])
    for path, msg in missing:
        _say(f"error: {path}: {msg}")
    if not files:
        raise SongnetError(f"{' '.join(paths)}: no recordings to search; name audio files or "
                           "folders that hold them")
    backend = open_model(model_path, device=device)
    journal = None
    if resume:
        key = {"learn": dataclasses.asdict(learn), "detect_threshold": detect_threshold,
               "model": str(model_path or "default"), "version": 3}
        journal = Journal(journal_path(out), key=key, decode=_decode, files=files)
    found: dict[str, tuple[list, list]] = {}
    failed: dict[str, str] = {p: m for p, m in missing}
    total = sum(_duration(f) for f in files)
    with bar(round(total, 1), desc="discover", unit="s", quiet=quiet) as pbar:
        seconds = [0.0]  # audio searched so far

        def show(s: float) -> None:
            seconds[0] += s
            pbar.n = min(round(seconds[0], 1), pbar.total)
            pbar.refresh()

        for i, f in enumerate(files, start=1):
            pbar.set_postfix_str(f"file {i}/{len(files)}", refresh=False)
            before = journal.done(f) if journal is not None else None
            if before is not None:
                found[f] = before
                show(_duration(f))
                continue
            st = os.stat(f) if os.path.exists(f) else None
            try:
                songs, doubted, _ = recording_songs(f, backend=backend, learn=learn,
                                                    params=params, progress=show)
            except Exception as exc:
                msg = error_message(f, exc)
                if msg is None or (STATE.verbose and not isinstance(exc, SongnetError)):
                    raise
                failed[f] = msg
                _say(f"error: {f}: {msg}", quiet=quiet)
                continue
            found[f] = (songs, doubted)
            if journal is not None and st is not None:
                journal.record(f, {"songs": [s.as_dict() for s in songs],
                                   "doubted": [s.as_dict() for s in doubted]},
                               (songs, doubted), stat=st)
    kept = [s for f in files if f in found for s in found[f][0]]
    doubted = [s for f in files if f in found for s in found[f][1]]
    tol = (within_bird_tolerance(kept) if tolerance is None
           else Tolerance(tolerance, 0, "given (--tolerance)"))
    confirmed = confirm(kept, doubted, tolerance=tol.value, threshold=threshold)
    order = {f: i for i, f in enumerate(files)}
    songs = sorted([*kept, *confirmed], key=lambda s: (order[s.source], s.start_s))
    for f in files:
        if f in found and not any(s.source == f for s in songs):
            n = len(found[f][1])
            _say(f"{f}: no chingolo song found" + (
                f" ({n} note pattern{'s' if n != 1 else ''} read as a song, but the detector "
                "heard another sound)" if n else ""), quiet=quiet)
    between = tolerance is None  # a given tolerance is used as it is
    with bar(len(songs) * (2 if between else 1), desc="group", unit="song",
             quiet=quiet) as pbar:
        grouping = group_songs(songs, min_songs=params.min_songs, threshold=params.threshold,
                               tolerance=tol, between_birds=between, progress=pbar.update)
    final = grouping.tolerance
    summary = {
        "recordings": len(found), "failed": len(failed),
        "seconds": round(sum(_duration(f) for f in found), 1), "songs": len(songs),
        "found_by_network": len(kept), "found_by_notes": len(confirmed),
        "refused": len(doubted) - len(confirmed), "themes": len(grouping.groups),
        "unsorted": grouping.labels.count("_unsorted"),
        "sizes": {g: grouping.labels.count(g) for g in grouping.groups},
        "threshold": params.threshold, "tolerance": round(final.value, 4),
        "tolerance_source": final.source, "within_recording_tolerance": round(tol.value, 4),
        "within_recording_pairs": tol.pairs,
        "min_songs": params.min_songs, "detect_threshold": params.detect_threshold,
        "shared_recordings": [x.as_dict() for x in grouping.shared],
    }
    with atomic_dir(out) as tmp:
        write_discovery(tmp, songs, grouping, files=files, margin_s=params.margin_s,
                        fp=backend.fp, summary=summary)
    if not quiet:
        _say(f"tolerance {final.value:.2f} notes' worth per note: {final.source}")
        for x in grouping.shared:
            n = len(x.recordings)
            _say(f"{x.groups[0]} and {x.groups[1]} share {n} recording{'s' if n > 1 else ''} "
                 f"({', '.join(Path(r).name for r in x.recordings[:3])}{', ...' if n > 3 else ''})"
                 f" and lie {x.distance:.2f} notes apart: one theme read two ways, or two "
                 "birds in one recording; the contact sheet tells which")
    if songs:
        click.echo(f"wrote {out}: {len(songs)} songs in {len(found)} recordings -> "
                   f"{len(grouping.groups)} proposed themes "
                   f"({', '.join(f'{g}: {n}' for g, n in summary['sizes'].items()) or '-'}), "
                   f"{summary['unsorted']} unsorted", err=True)
    else:
        click.echo(f"wrote {out}: no chingolo songs in {len(found)} recordings "
                   f"({summary['seconds']:.0f} s searched); nothing to group", err=True)
    return 2 if failed else 0


def _decode(d: dict) -> tuple[list, list]:
    """A journal line's songs; ``SongnetError`` for one that is not what was recorded."""
    from songnet.discover.songs import SongFound

    songs, doubted = d["songs"], d["doubted"]
    if not (isinstance(songs, list) and isinstance(doubted, list)):
        raise SongnetError("songs and doubted are not lists")
    found = ([SongFound.from_dict(s) for s in songs], [SongFound.from_dict(s) for s in doubted])
    if any(s.source != d["file"] for part in found for s in part):
        raise SongnetError("a song of another recording")
    return found


def _duration(path: str) -> float:
    from songnet.core.decode import info

    try:
        return info(path).duration
    except (SongnetError, OSError, RuntimeError, ValueError):
        return 0.0  # it fails with its own error when read


def _say(line: str, *, quiet: bool = True) -> None:
    if quiet:
        click.echo(" ".join(line.split()), err=True)
        return
    from tqdm.auto import tqdm
    tqdm.write(" ".join(line.split()), file=sys.stderr)

