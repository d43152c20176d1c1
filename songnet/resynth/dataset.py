"""The ``resynthesize`` stage's files: inputs found in a folder, and the output folder.

Inputs are recordings (:data:`songnet.core.audio_files.AUDIO_SUFFIXES`) and sketches (``.csv``,
format in ``data/1966/README.md``), with an optional ``labels.csv`` (columns ``file``,
``theme``) giving the theme of recordings. The output folder holds one 24-bit WAV per input
(``<id>.wav``, 44.1 kHz), ``manifest.csv`` (:data:`MANIFEST_COLUMNS`) and ``notes.csv``
(:data:`NOTE_COLUMNS`, the fit quality per note). :func:`load_resynth_manifest` reads it back for
the stages downstream (``embed``, ``classify``).
"""

from __future__ import annotations

import csv
import dataclasses
import io
from collections.abc import Iterable
from pathlib import Path

import pandas as pd
import soundfile as sf

from songnet.core.audio import load
from songnet.core.audio_files import AUDIO_SUFFIXES
from songnet.core.errors import SongnetError
from songnet.core.files import atomic_path, inside, safe_name
from songnet.resynth.resynthesize import (
    Resynthesis,
    ResynthesizeParams,
    resynthesize_recording,
    resynthesize_sketch,
)
from songnet.resynth.sketch import read_sketch
from songnet.synth import SR

__all__ = ["LABELS_CSV", "MANIFEST_COLUMNS", "NOTE_COLUMNS", "Item", "find_inputs",
           "load_resynth_manifest", "read_labels", "report", "resynthesize_file", "save_items",
           "write_wav"]

LABELS_CSV = "labels.csv"
MANIFEST_COLUMNS = ("id", "path", "source", "kind", "theme", "duration_s", "gamma",
                    "n_notes", "median_abs_cents", "max_abs_cents")
NOTE_COLUMNS = ("id", "note", "onset_s", "offset_s", "f0_start_hz", "f0_end_hz",
                "median_abs_cents", "max_abs_cents")


@dataclasses.dataclass(frozen=True)
class Item:
    """One resynthesized input: its id, theme (``""`` when unknown), kind and the fit."""

    id: str
    theme: str
    kind: str  # "sketch" | "recording"
    source: str
    result: Resynthesis


def read_labels(folder: Path) -> dict[str, str]:
    """``folder/labels.csv`` as {file name: theme}; empty when the file is absent."""
    path = folder / LABELS_CSV
    if not path.is_file():
        return {}
    rows = list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8"))))
    if rows and not {"file", "theme"} <= set(rows[0]):
        raise SongnetError(f"{path}: needs the columns file, theme")
    return {r["file"]: r["theme"] for r in rows}


def find_inputs(folder: Path) -> list[Path]:
    """The recordings and sketch ``.csv`` files directly in ``folder``, sorted."""
    inputs = sorted(p for p in folder.iterdir() if p.is_file() and p.name != LABELS_CSV
                    and (p.suffix.lower() == ".csv" or p.suffix.lower() in AUDIO_SUFFIXES))
    if not inputs:
        raise SongnetError(f"{folder}: no recordings or sketch .csv files; see "
                           "data/1966/README.md for the sketch format")
    return inputs


def resynthesize_file(path: Path, *, params: ResynthesizeParams,
                      labels: dict[str, str]) -> Item:
    """Resynthesize one recording or sketch file (its kind from the suffix)."""
    if not path.is_file():
        raise SongnetError(f"input {path} not found; pass a recording, a sketch .csv or a folder")
    suffix = path.suffix.lower()
    if suffix == ".csv":
        sketch = read_sketch(path)
        return Item(sketch.id, labels.get(path.name, sketch.theme), "sketch", path.name,
                    resynthesize_sketch(sketch, params=params))
    if suffix in AUDIO_SUFFIXES:
        return Item(path.stem, labels.get(path.name, ""), "recording", path.name,
                    resynthesize_recording(load(path, sr=SR), params=params))
    raise SongnetError(f"input {path}: unknown kind {suffix!r}; give a recording "
                       f"({', '.join(sorted(AUDIO_SUFFIXES))}) or a sketch (.csv)")


def write_wav(path: Path, result: Resynthesis) -> None:
    """The resynthesized song as a 24-bit 44.1 kHz WAV (byte-identical on rerun), atomically."""
    with atomic_path(path) as tmp:
        sf.write(tmp, result.sound.samples, SR, subtype="PCM_24", format="WAV")


def save_items(items: Iterable[Item], folder: Path) -> list[dict[str, str]]:
    """Write every item's WAV as it comes, then ``manifest.csv`` and ``notes.csv``.

    Call inside :func:`songnet.core.files.atomic_dir`. Ids must be unique. ``items`` may be
    a generator: each result is written and dropped before the next is made. Returns the
    manifest rows.
    """
    seen: dict[str, str] = {}
    manifest, notes = [], []
    for item in items:
        # the id comes from the input (a sketch's `# id:` line): a safe name inside folder
        stem = safe_name(item.id, what=f"{item.source}: id")
        if stem.lower() in seen:
            raise SongnetError(f"{item.source}: id {item.id!r} (file name {stem}.wav) already "
                               f"used by {seen[stem.lower()]}; give each sketch its own id")
        seen[stem.lower()] = item.source
        res = item.result
        name = f"{stem}.wav"
        sf.write(inside(folder, name), res.sound.samples, SR, subtype="PCM_24")
        manifest.append({"id": item.id, "path": name, "source": item.source, "kind": item.kind,
                         "theme": item.theme, "duration_s": f"{res.sound.duration:.4f}",
                         "gamma": f"{res.gamma:.1f}", "n_notes": len(res.notes),
                         "median_abs_cents": f"{res.median_abs_cents:.3f}",
                         "max_abs_cents": f"{max(n.max_abs_cents for n in res.notes):.3f}"})
        notes += [{"id": item.id, "note": n.index, "onset_s": f"{n.onset_s:.4f}",
                   "offset_s": f"{n.offset_s:.4f}", "f0_start_hz": f"{n.f0_start_hz:.1f}",
                   "f0_end_hz": f"{n.f0_end_hz:.1f}",
                   "median_abs_cents": f"{n.median_abs_cents:.3f}",
                   "max_abs_cents": f"{n.max_abs_cents:.3f}"} for n in res.notes]
    _write_csv(folder / "manifest.csv", MANIFEST_COLUMNS, manifest)
    _write_csv(folder / "notes.csv", NOTE_COLUMNS, notes)
    return manifest


def load_resynth_manifest(folder: Path) -> pd.DataFrame:
    """``folder/manifest.csv`` of a resynthesis folder (all columns as strings).

    Raises
    ------
    SongnetError
        A missing file or a missing column, naming it and what to run.
    """
    path = folder / "manifest.csv"
    if not path.is_file():
        raise SongnetError(f"{path} not found; run `songnet resynthesize data/1966 -o {folder}` "
                           "first (or pass --resynth FOLDER)")
    manifest = pd.read_csv(path, dtype=str, keep_default_na=False)
    missing = [c for c in ("id", "path", "theme", "kind") if c not in manifest.columns]
    if missing:
        raise SongnetError(f"{path}: missing column {missing[0]!r}; rerun `songnet resynthesize`")
    return manifest


def report(item: Item) -> str:
    """The per-note fit quality of one item as a readable table."""
    res = item.result
    lines = [f"{item.id} ({item.kind}{', theme ' + item.theme if item.theme else ''}): "
             f"{len(res.notes)} notes, gamma {res.gamma:.0f}, median pitch error "
             f"{res.median_abs_cents:.2f} cents",
             f"{'note':>4s} {'onset_s':>8s} {'offset_s':>8s} {'f0_start':>9s} {'f0_end':>9s} "
             f"{'med_cents':>9s} {'max_cents':>9s}"]
    lines += [f"{n.index:4d} {n.onset_s:8.3f} {n.offset_s:8.3f} {n.f0_start_hz:9.1f} "
              f"{n.f0_end_hz:9.1f} {n.median_abs_cents:9.2f} {n.max_abs_cents:9.2f}"
              for n in res.notes]
    return "\n".join(lines)


def _write_csv(path: Path, columns: tuple[str, ...], rows: list[dict]) -> None:
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=columns, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
