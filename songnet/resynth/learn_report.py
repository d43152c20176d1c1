"""The learn report: every song tried (used, left out or skipped) beside the song sung
from its learned theme.

Per song and note, the real note and the learned theme's note (sung clean by the model and
measured the same way, :func:`songnet.resynth.learn.sing_clean`) are compared:

- ``pitch_error_cents``: median ``|cents|`` between the two pitch contours at the same place
  in the note (for the trill: over its syllables, each with its partner);
- ``timing_error_ms``: the larger of the onset and offset differences, times counted from
  each song's first note (for the trill: the median onset difference of its syllables).

``learn_report.csv`` holds one row per note; :func:`report_figure` draws the CQT images.
"""

from __future__ import annotations

import csv
import io
import os
from collections.abc import Sequence
from pathlib import Path

import librosa
import numpy as np
from matplotlib.figure import Figure

from songnet.core.files import atomic_path, write_text
from songnet.core.sound import Sound
from songnet.features.images import image_reference
from songnet.features.params import FeatureParams
from songnet.features.theme_plots import image_grid
from songnet.resynth.learn import sing_clean
from songnet.resynth.learn_files import LearnedTheme
from songnet.resynth.songs import FoundSong, LearnParams, Segment, find_songs
from songnet.song.track import cents
from songnet.synth import SR

__all__ = ["REPORT_COLUMNS", "compare_song", "report_figure", "report_rows", "save_report"]

REPORT_COLUMNS = ("theme", "file", "song_start_s", "song_end_s", "status", "note",
                  "pitch_error_cents", "timing_error_ms", "reason")
MAX_SONGS = 11
"""Songs a theme shows in the figure (those not used first); the CSV holds them all."""


def _contour_error(real: Segment, sung: Segment) -> float:
    """Median ``|cents|`` between two notes' contours, compared at the same phase."""
    u_r = (real.times_s - real.onset_s) / max(real.duration_s, 1e-6)
    u_s = (sung.times_s - sung.onset_s) / max(sung.duration_s, 1e-6)
    inside = (u_r >= 0) & (u_r <= 1)
    if not inside.any() or sung.times_s.size < 2:
        return float("nan")
    f_s = np.exp(np.interp(u_r[inside], u_s, np.log(sung.f0_hz)))
    return float(np.median(np.abs(cents(real.f0_hz[inside], f_s))))


def compare_song(song: FoundSong, sung: FoundSong | None) -> list[dict]:
    """Per-note pitch and timing errors of ``sung`` (the learned theme) against ``song``."""
    rows = []
    t_r = song.intro[0].onset_s
    t_s = sung.intro[0].onset_s if sung is not None else 0.0
    for i, real in enumerate(song.intro):
        if sung is None or i >= len(sung.intro):
            rows.append({"note": str(i + 1), "pitch_error_cents": float("nan"),
                         "timing_error_ms": float("nan")})
            continue
        other = sung.intro[i]
        timing = max(abs((real.onset_s - t_r) - (other.onset_s - t_s)),
                     abs((real.offset_s - t_r) - (other.offset_s - t_s)))
        rows.append({"note": str(i + 1), "pitch_error_cents": _contour_error(real, other),
                     "timing_error_ms": 1000 * timing})
    if sung is None:
        rows.append({"note": "trill", "pitch_error_cents": float("nan"),
                     "timing_error_ms": float("nan")})
        return rows
    pairs = list(zip(song.trill, sung.trill, strict=False))
    rows.append({"note": "trill",
                 "pitch_error_cents": float(np.nanmedian([_contour_error(a, b)
                                                          for a, b in pairs])),
                 "timing_error_ms": 1000 * float(np.median(
                     [abs((a.onset_s - t_r) - (b.onset_s - t_s)) for a, b in pairs]))})
    return rows


def _sung(theme_lt: LearnedTheme, params: LearnParams) -> tuple[np.ndarray, FoundSong | None]:
    y = sing_clean(theme_lt.theme, lead_s=0.3)
    songs, _ = find_songs(Sound(y.astype(np.float32), SR, "<learned>"), params=params)
    return y, (songs[0] if len(songs) == 1 else None)


def report_rows(themes: Sequence[LearnedTheme], *, params: LearnParams | None = None
                ) -> list[dict]:
    """One row per note of every song tried (:data:`REPORT_COLUMNS`): errors against the
    learned theme's song for every song read, used or not."""
    params = LearnParams() if params is None else params
    rows = []
    for lt in themes:
        _, sung = _sung(lt, params)
        for t in lt.tried:
            for r in compare_song(t.song, sung):
                rows.append({"theme": lt.theme.name, "file": t.song.source,
                             "song_start_s": round(t.song.start_s, 3),
                             "song_end_s": round(t.song.end_s, 3), "status": t.status, **r,
                             "reason": t.reason})
    return rows


def _worst(rows: Sequence[dict]) -> str:
    """The worst note of a song's rows, for a title."""
    pitch = [(r["pitch_error_cents"], r["note"]) for r in rows
             if np.isfinite(r["pitch_error_cents"])]
    timing = [r["timing_error_ms"] for r in rows if np.isfinite(r["timing_error_ms"])]
    if not pitch:
        return "notes not matched"
    cents_, note = max(pitch)
    return f"worst note {note}: {cents_:.0f} cents; timing {max(timing):.0f} ms"


def _image(y: np.ndarray, params: FeatureParams) -> np.ndarray:
    return image_reference(librosa.resample(np.asarray(y, np.float32), orig_sr=SR,
                                            target_sr=params.sr), params=params)


def report_figure(themes: Sequence[LearnedTheme], rows: Sequence[dict], *,
                  features: FeatureParams | None = None, per_theme: int = MAX_SONGS,
                  params: LearnParams | None = None, ncols: int = 4) -> Figure:
    """For each theme, the song sung from its learned theme (first) and then every song
    tried (up to ``per_theme``: those left out or skipped first), as CQT images; each real
    song's title says what became of it and its worst note's error against the learned
    theme's song."""
    params = LearnParams() if params is None else params
    fp = FeatureParams() if features is None else features
    images, titles, durations = [], [], []
    order = {"skipped": 0, "left out": 1, "used": 2}
    for lt in themes:
        y, _ = _sung(lt, params)
        images.append(_image(y, fp))
        titles.append(f"{lt.theme.name} LEARNED: {len(lt.theme.notes)} notes, "
                      f"from {len(lt.songs)} of {len(lt.tried)} songs")
        durations.append(min(y.size / SR, fp.window_s))
        shown = sorted(lt.tried, key=lambda t: order[t.status])[:per_theme]
        for t in sorted(shown, key=lambda t: (t.song.source, t.song.start_s)):
            mine = [r for r in rows if r["theme"] == lt.theme.name
                    and r["file"] == t.song.source
                    and r["song_start_s"] == round(t.song.start_s, 3)]
            what = _worst(mine) if t.status == "used" else t.reason.split(";")[-1].strip()
            images.append(_image(t.song.sound.samples, fp))
            titles.append(f"{t.status}: {Path(t.song.source).name} @{t.song.start_s:.1f} s, "
                          f"{len(t.song.intro)} notes\n{what[:60]}")
            durations.append(min(t.song.sound.duration, fp.window_s))
        while len(images) % ncols:  # each theme starts a row
            images.append(np.zeros_like(images[-1]))
            titles.append("")
            durations.append(durations[-1])
    return image_grid(images, titles, params=fp, durations_s=durations, ncols=ncols)


def save_report(folder: str | os.PathLike, themes: Sequence[LearnedTheme], *,
                params: LearnParams | None = None, features: FeatureParams | None = None
                ) -> tuple[Path, Path]:
    """Write ``learn_report.csv`` and ``learn_report.png`` in ``folder``."""
    params = LearnParams() if params is None else params
    folder = Path(folder)
    rows = report_rows(themes, params=params)
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=REPORT_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for r in rows:
        writer.writerow({k: (f"{v:.1f}" if isinstance(v, float) and k.endswith(("cents", "ms"))
                             else v) for k, v in r.items()})
    csv_path = write_text(folder / "learn_report.csv", buf.getvalue())
    fig = report_figure(themes, rows, features=features, params=params)
    png = folder / "learn_report.png"
    with atomic_path(png) as tmp:
        fig.savefig(tmp, dpi=80)
    return csv_path, png
