"""``songnet resynthesize``: 1966 recordings or sketches → model-made songs."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import click
import soundfile as sf

from songnet.cli.common import common_options
from songnet.core.audio import load
from songnet.core.errors import SongnetError
from songnet.core.files import atomic_dir, atomic_path
from songnet.core.params import load_params
from songnet.core.progress import bar
from songnet.resynth.resynthesize import (
    Resynthesis,
    ResynthesizeParams,
    resynthesize_recording,
    resynthesize_sketch,
)
from songnet.resynth.sketch import read_sketch
from songnet.synth import SR

AUDIO_SUFFIXES = (".wav", ".flac", ".ogg", ".mp3")
MANIFEST_COLUMNS = ("id", "path", "source", "kind", "theme", "duration_s", "gamma",
                    "n_notes", "median_abs_cents", "max_abs_cents")
NOTE_COLUMNS = ("id", "note", "onset_s", "offset_s", "f0_start_hz", "f0_end_hz",
                "median_abs_cents", "max_abs_cents")


@click.command("resynthesize")
@click.argument("input_path", metavar="INPUT", type=click.Path(path_type=Path))
@click.option("-o", "--output", "output", type=click.Path(path_type=Path), required=True,
              help="A .wav file for one INPUT file; a folder when INPUT is a folder.")
@common_options
def command(input_path: Path, output: Path, params_file: Path, quiet: bool) -> None:
    """Fit the syrinx model to a 1966 recording or sketch and sing it.

    INPUT is a recording (WAV/FLAC/OGG/MP3), a sketch (.csv, see data/1966/README.md),
    or a folder of them. For one file, -o is the output WAV and the per-note fit quality
    (pitch error in cents) is printed. For a folder, -o is a folder that receives one WAV
    per input, manifest.csv (id, source, theme if known, fit quality) and notes.csv (fit
    quality per note). An optional labels.csv (columns file, theme) in INPUT gives the
    theme of recordings; a sketch carries its own (`# theme:` line).
    """
    params = load_params(params_file, "resynthesize", ResynthesizeParams)
    if input_path.is_dir():
        _folder(input_path, output, params=params, quiet=quiet)
        return
    if output.suffix.lower() != ".wav":
        raise SongnetError(f"output {output} must end in .wav for one input file "
                           "(for a folder of inputs, pass a folder as INPUT)")
    item_id, theme, kind, res = _one(input_path, params=params, labels={})
    _write_wav(output, res)
    if not quiet:
        click.echo(_report(item_id, kind, theme, res))


def _one(path: Path, *, params: ResynthesizeParams, labels: dict[str, str]
         ) -> tuple[str, str, str, Resynthesis]:
    if not path.is_file():
        raise SongnetError(f"input {path} not found; pass a recording, a sketch .csv or a folder")
    suffix = path.suffix.lower()
    if suffix == ".csv":
        sketch = read_sketch(path)
        return sketch.id, labels.get(path.name, sketch.theme), "sketch", \
            resynthesize_sketch(sketch, params=params)
    if suffix in AUDIO_SUFFIXES:
        return path.stem, labels.get(path.name, ""), "recording", \
            resynthesize_recording(load(path, sr=SR), params=params)
    raise SongnetError(f"input {path}: unknown kind {suffix!r}; give a recording "
                       f"({', '.join(AUDIO_SUFFIXES)}) or a sketch (.csv)")


def _read_labels(folder: Path) -> dict[str, str]:
    path = folder / "labels.csv"
    if not path.is_file():
        return {}
    rows = list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8"))))
    if rows and not {"file", "theme"} <= set(rows[0]):
        raise SongnetError(f"{path}: needs the columns file, theme")
    return {r["file"]: r["theme"] for r in rows}


def _folder(folder: Path, out: Path, *, params: ResynthesizeParams, quiet: bool) -> None:
    labels = _read_labels(folder)
    inputs = sorted(p for p in folder.iterdir() if p.is_file() and p.name != "labels.csv"
                    and (p.suffix.lower() == ".csv" or p.suffix.lower() in AUDIO_SUFFIXES))
    if not inputs:
        raise SongnetError(f"{folder}: no recordings or sketch .csv files; see "
                           "data/1966/README.md for the sketch format")
    manifest, notes, seen = [], [], {}
    with atomic_dir(out) as tmp, bar(len(inputs), desc="resynthesize", unit="song",
                                     quiet=quiet) as pbar:
        for path in inputs:
            item_id, theme, kind, res = _one(path, params=params, labels=labels)
            if item_id in seen:
                raise SongnetError(f"{path}: id {item_id!r} already used by {seen[item_id]}; "
                                   "give each sketch its own id")
            seen[item_id] = path.name
            name = f"{item_id}.wav"
            sf.write(tmp / name, res.sound.samples, SR, subtype="PCM_24")
            manifest.append({"id": item_id, "path": name, "source": path.name, "kind": kind,
                             "theme": theme, "duration_s": f"{res.sound.duration:.4f}",
                             "gamma": f"{res.gamma:.1f}", "n_notes": len(res.notes),
                             "median_abs_cents": f"{res.median_abs_cents:.3f}",
                             "max_abs_cents": f"{max(n.max_abs_cents for n in res.notes):.3f}"})
            notes += [{"id": item_id, "note": n.index, "onset_s": f"{n.onset_s:.4f}",
                       "offset_s": f"{n.offset_s:.4f}", "f0_start_hz": f"{n.f0_start_hz:.1f}",
                       "f0_end_hz": f"{n.f0_end_hz:.1f}",
                       "median_abs_cents": f"{n.median_abs_cents:.3f}",
                       "max_abs_cents": f"{n.max_abs_cents:.3f}"} for n in res.notes]
            pbar.update(1)
        _write_csv(tmp / "manifest.csv", MANIFEST_COLUMNS, manifest)
        _write_csv(tmp / "notes.csv", NOTE_COLUMNS, notes)
    if not quiet:
        worst = max(float(r["median_abs_cents"]) for r in manifest)
        click.echo(f"{len(manifest)} songs -> {out} (worst song median pitch error "
                   f"{worst:.2f} cents)", err=True)


def _write_csv(path: Path, columns: tuple[str, ...], rows: list[dict]) -> None:
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=columns, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)


def _write_wav(path: Path, res: Resynthesis) -> None:
    with atomic_path(path) as tmp:
        sf.write(tmp, res.sound.samples, SR, subtype="PCM_24", format="WAV")


def _report(item_id: str, kind: str, theme: str, res: Resynthesis) -> str:
    lines = [f"{item_id} ({kind}{', theme ' + theme if theme else ''}): "
             f"{len(res.notes)} notes, gamma {res.gamma:.0f}, median pitch error "
             f"{res.median_abs_cents:.2f} cents",
             f"{'note':>4s} {'onset_s':>8s} {'offset_s':>8s} {'f0_start':>9s} {'f0_end':>9s} "
             f"{'med_cents':>9s} {'max_cents':>9s}"]
    lines += [f"{n.index:4d} {n.onset_s:8.3f} {n.offset_s:8.3f} {n.f0_start_hz:9.1f} "
              f"{n.f0_end_hz:9.1f} {n.median_abs_cents:9.2f} {n.max_abs_cents:9.2f}"
              for n in res.notes]
    return "\n".join(lines)
