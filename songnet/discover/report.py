"""What ``songnet themes discover`` writes: a folder per proposed theme holding each song as
a clip, ``discover.csv``, ``discover.json`` and the contact sheet ``discover.png``."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import soundfile as sf

from songnet.core import audio
from songnet.core.decode import info
from songnet.discover.group import UNSORTED, Grouping
from songnet.discover.songs import OVERLAP_S, SongFound
from songnet.features import npcqt
from songnet.features.frontends import frequency_rows
from songnet.features.params import FeatureParams

__all__ = ["COLUMNS", "clip_names", "contact_sheet", "cut_clips", "write_discovery"]

COLUMNS = ("song", "source", "start_s", "end_s", "group", "distance_to_centre", "p_song",
           "found_by", "n_notes", "notes", "trill_interval_ms", "trill_count")
SHEET_COLUMNS = 5   # songs per row of the contact sheet, the group's centre first
SHEET_ROWS = 24     # groups drawn (the largest); the unsorted row comes last


def _stems(files: Sequence[str]) -> dict[str, str]:
    """A short name per recording for its clips' names: the file's stem, with as many of
    its folders in front as make it unique among ``files``."""
    parts = {f: Path(f).with_suffix("").parts for f in files}
    out: dict[str, str] = {}
    for f, p in parts.items():
        for k in range(1, len(p) + 1):
            name = "_".join(p[-k:])
            if sum(1 for q in parts.values() if "_".join(q[-k:]) == name) == 1:
                break
        out[f] = "".join(c if c.isalnum() or c in "-_." else "-" for c in name)
    return out


def clip_names(songs: Sequence[SongFound], files: Sequence[str]) -> list[str]:
    """Each song's clip file name: ``<recording>_<start, s>.wav``."""
    stems = _stems(list(dict.fromkeys([*files, *(s.source for s in songs)])))
    return [f"{stems[s.source]}_{s.start_s:08.2f}s.wav" for s in songs]


def cut_clips(path: str, spans: Sequence[tuple[float, float]]
              ) -> Iterator[tuple[int, np.ndarray, int]]:
    """``(index, samples, sr)`` of each span ``(start_s, end_s)`` of a recording, at its own
    rate, in one streamed pass (spans at most :data:`OVERLAP_S` long)."""
    sr = info(path).sr
    order = sorted(range(len(spans)), key=lambda i: spans[i][0])
    k = 0
    for block in audio.stream(path, sr=sr, block_s=5 * OVERLAP_S, overlap_s=OVERLAP_S):
        first = round(block.start_s * sr)
        last = first + block.samples.shape[0]
        while k < len(order):
            a, b = (round(t * sr) for t in spans[order[k]])
            a = max(a, 0)
            if b > last and last - first == round(5 * OVERLAP_S * sr):
                break  # lies whole in a later block
            yield order[k], block.samples[max(a - first, 0):min(b, last) - first].copy(), sr
            k += 1


def _image(y: np.ndarray, sr: int, fp: FeatureParams) -> np.ndarray:
    x = audio.resample(y, orig_sr=sr, sr=fp.sr)
    return npcqt.power_to_images(npcqt.power(x, params=fp), params=fp)


def contact_sheet(rows: Sequence[tuple[str, Sequence[tuple[str, np.ndarray]]]], *,
                  fp: FeatureParams, title: str) -> Any:
    """One row per proposed theme: its title, then a few songs' images side by side."""
    from matplotlib.figure import Figure

    nrows = max(1, len(rows))
    fig = Figure(figsize=(2.6 * SHEET_COLUMNS, 1.9 * nrows + 0.5), layout="constrained")
    fig.suptitle(title, fontsize=10)
    grid = fig.add_gridspec(nrows, SHEET_COLUMNS)
    freqs = fp.frequencies / 1000
    ticks = [k for k in (1, 2, 4, 8) if freqs[0] <= k <= freqs[-1]]
    for r, (row_title, images) in enumerate(rows):
        for c in range(SHEET_COLUMNS):
            ax = fig.add_subplot(grid[r, c])
            if c >= len(images):
                ax.axis("off")
                continue
            label, img = images[c]
            ax.imshow(img, origin="lower", aspect="auto", cmap="magma", vmin=0, vmax=1,
                      extent=(0, img.shape[1] * fp.frame_s, -0.5, img.shape[0] - 0.5),
                      interpolation="nearest")
            ax.set_yticks(frequency_rows(np.asarray(ticks, dtype=float) * 1000, params=fp))
            ax.set_yticklabels([str(k) for k in ticks] if c == 0 else [])
            ax.tick_params(labelsize=6)
            ax.set_title(label, fontsize=6)
            if c == 0:
                ax.set_ylabel(row_title + "\nkHz", fontsize=8)
            if r == nrows - 1:
                ax.set_xlabel("s", fontsize=7)
    return fig


def _csv(rows: Sequence[dict[str, Any]]) -> str:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buf.getvalue()


def _row(song: SongFound, clip: str, group: str, to_centre: float) -> dict[str, Any]:
    return {"song": clip, "source": song.source, "start_s": f"{song.start_s:.3f}",
            "end_s": f"{song.end_s:.3f}", "group": group,
            "distance_to_centre": "" if np.isnan(to_centre) else f"{to_centre:.3f}",
            "p_song": f"{song.p_song:.3f}", "found_by": song.found_by,
            "n_notes": len(song.notes),
            "notes": song.description,
            "trill_interval_ms": f"{song.trill_interval_s * 1000:.1f}",
            "trill_count": song.trill_count}


def _sheet_order(grouping: Grouping, group: str) -> list[int]:
    """The songs drawn for ``group``: its centre, then the nearest to it; for the
    unsorted, the first few."""
    members = [i for i, g in enumerate(grouping.labels) if g == group]
    if group == UNSORTED:
        return members[:SHEET_COLUMNS]
    members.sort(key=lambda i: (grouping.to_centre[i], i))
    return members[:SHEET_COLUMNS]


def write_discovery(folder: Path, songs: Sequence[SongFound], grouping: Grouping, *,
                    files: Sequence[str], margin_s: float, fp: FeatureParams,
                    summary: dict[str, Any]) -> None:
    """Write everything into ``folder`` (a fresh, empty folder: the command's temporary
    one, which replaces the output when complete)."""
    names = clip_names(songs, files)
    groups = grouping.groups + ([UNSORTED] if UNSORTED in grouping.labels else [])
    for g in groups:
        (folder / g).mkdir()
    drawn = {i for g in groups for i in _sheet_order(grouping, g)}
    images: dict[int, np.ndarray] = {}
    by_file: dict[str, list[int]] = {}
    for i, s in enumerate(songs):
        by_file.setdefault(s.source, []).append(i)
    for path, idx in by_file.items():
        spans = [(songs[i].start_s - margin_s, songs[i].end_s + margin_s) for i in idx]
        for k, y, sr in cut_clips(path, spans):
            i = idx[k]
            sf.write(folder / grouping.labels[i] / names[i], y, sr, subtype="FLOAT")
            if i in drawn:
                images[i] = _image(y, sr, fp)
    rows = [_row(s, f"{grouping.labels[i]}/{names[i]}", grouping.labels[i],
                 float(grouping.to_centre[i])) for i, s in enumerate(songs)]
    rows.sort(key=lambda r: (r["group"], r["song"]))
    (folder / "discover.csv").write_text(_csv(rows), encoding="utf-8")
    (folder / "discover.json").write_text(json.dumps(summary, indent=2) + "\n",
                                          encoding="utf-8")
    if not songs:
        return
    sheet = []
    counts = {g: grouping.labels.count(g) for g in groups}
    shown = grouping.groups[:SHEET_ROWS] + ([UNSORTED] if UNSORTED in counts else [])
    for g in shown:
        members = _sheet_order(grouping, g)
        sheet.append((f"{g} ({counts[g]} song{'s' if counts[g] != 1 else ''})",
                      [(f"{Path(names[i]).stem}", images[i]) for i in members]))
    more = len(grouping.groups) - SHEET_ROWS
    title = (f"{len(grouping.groups)} proposed themes from {len(songs)} songs "
             f"(threshold {grouping.threshold:g}, tolerance "
             f"{grouping.tolerance.value:.2f} notes' worth)"
             + (f"; the {more} smallest groups are not drawn" if more > 0 else ""))
    fig = contact_sheet(sheet, fp=fp, title=title)
    fig.savefig(folder / "discover.png", dpi=80)
