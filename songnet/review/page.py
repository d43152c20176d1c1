"""The review page: ``REVIEW/index.html`` with every item's clip and CQT image beside it.

The page is static (no server, no network, nothing fetched: it opens from the file system
and works offline). Its items are written into it as JSON; clips (Ogg Vorbis, a second of
context on either side) and images (PNG) are loaded only when an item scrolls into view
or is played. Verdicts are kept in the browser (``localStorage``) while reviewing and
exported as ``verified.csv`` with one click; a ``verified.csv`` inside ``REVIEW/`` when the
page is made again is read back into it.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import math
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import soundfile as sf

from songnet.core import audio
from songnet.core.errors import SongnetError
from songnet.core.verified import VERIFIED_COLUMNS, Verdict
from songnet.discover.report import cut_clips
from songnet.features import npcqt
from songnet.features.params import FeatureParams
from songnet.review.items import Item

__all__ = ["CLIP_SR", "CONTEXT_S", "verified_csv", "write_page"]

CONTEXT_S = 1.0       # audio before and after each song in its clip
CLIP_SR = 22050       # clips' rate: the song band (to 9 kHz) and little more
IMAGE_HOP = 2         # CQT frames per image column


def _image(y: np.ndarray, sr: int, fp: FeatureParams) -> np.ndarray:
    x = audio.resample(y, orig_sr=sr, sr=fp.sr)
    img = npcqt.power_to_images(npcqt.power(x, params=fp), params=fp)
    return img[:, ::IMAGE_HOP]


IMAGE_LEVELS = 32  # grey levels of an image: 5 bits look the same and keep PNGs small


def _png(path: Path, img: np.ndarray) -> None:
    """``img`` (rows low to high frequency, in [0, 1]) as a palette PNG in magma."""
    from matplotlib import colormaps
    from PIL import Image

    palette = (colormaps["magma"](np.linspace(0.0, 1.0, IMAGE_LEVELS))[:, :3] * 255)
    levels = np.round(np.clip(img, 0.0, 1.0) * (IMAGE_LEVELS - 1)).astype(np.uint8)[::-1]
    png = Image.fromarray(np.ascontiguousarray(levels))  # "L"; a palette makes it "P"
    png.putpalette(palette.astype(np.uint8).ravel().tolist())
    png.save(path, format="PNG", optimize=True)


def _num(x: float) -> float | None:
    return None if not math.isfinite(x) else round(x, 4)


def write_page(folder: Path, items: Sequence[Item], *, kind: str, themes: Sequence[str],
               verified: Sequence[Verdict] = (), title: str = "",
               progress: Callable[[int], object] | None = None) -> None:
    """Write the page, clips and images into ``folder`` (fresh and empty)."""
    fp = FeatureParams()
    (folder / "clips").mkdir()
    (folder / "images").mkdir()
    width = max(4, len(str(len(items))))
    by_file: dict[str, list[int]] = {}
    for i, it in enumerate(items):
        by_file.setdefault(it.file, []).append(i)
    meta: list[dict[str, Any]] = [{} for _ in items]
    for path, idx in by_file.items():
        spans = [(max(items[i].start_s - CONTEXT_S, 0.0), items[i].end_s + CONTEXT_S)
                 for i in idx]
        try:
            clips = list(cut_clips(path, spans))
        except SongnetError as exc:
            raise SongnetError(f"{exc}; the recordings must lie where the events name them") \
                from exc
        for k, y, sr in clips:
            i = idx[k]
            name = f"{i + 1:0{width}d}"
            x = audio.resample(y, orig_sr=sr, sr=CLIP_SR)
            sf.write(folder / "clips" / f"{name}.ogg", x, CLIP_SR, format="OGG",
                     subtype="VORBIS")
            img = _image(y, sr, fp)
            _png(folder / "images" / f"{name}.png", img)
            meta[i] = {"clip": f"clips/{name}.ogg", "image": f"images/{name}.png",
                       "clip_start_s": round(spans[k][0], 3),
                       "image_s": round(img.shape[1] * IMAGE_HOP * fp.frame_s, 3)}
            if progress is not None:
                progress(1)
    data = [{"id": i, "file": it.file, "name": Path(it.file).name,
             "start_s": round(it.start_s, 3), "end_s": round(it.end_s, 3),
             "predicted": it.predicted, "confidence": _num(it.confidence),
             "nearest": it.nearest, "distance": _num(it.distance),
             "note_distance": _num(it.note_distance), "notes": it.notes, **meta[i]}
            for i, it in enumerate(items)]
    key = hashlib.sha256(json.dumps([[d["file"], d["start_s"], d["end_s"]] for d in data])
                         .encode()).hexdigest()[:16]
    page = _TEMPLATE.replace("__TITLE__", _html(title or f"songnet review: {len(items)} "
                                                 f"{'songs' if kind == 'discover' else 'events'}"))
    payload = {"kind": kind, "key": key, "themes": sorted(set(themes)), "items": data,
               "verified": [{"file": v.file, "start_s": v.start_s, "end_s": v.end_s,
                             "verdict": v.verdict, "theme": v.theme} for v in verified],
               "fmin_hz": fp.fmin,
               "bins_per_octave": fp.bins_per_octave, "n_bins": fp.n_bins}
    script = json.dumps(payload, allow_nan=False).replace("</", "<\\/")
    page = page.replace("__DATA__", script)
    (folder / "index.html").write_text(page, encoding="utf-8")


def _html(text: str) -> str:
    return (text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            .replace('"', "&quot;"))


def verified_csv(rows: Sequence[Verdict]) -> str:
    """``verified.csv`` text, as the page exports it."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(VERIFIED_COLUMNS)
    writer.writerows([v.file, f"{v.start_s:.3f}", f"{v.end_s:.3f}", v.predicted, v.verdict,
                      v.theme] for v in rows)
    return buf.getvalue()


_TEMPLATE = (Path(__file__).with_name("page.html")).read_text(encoding="utf-8")
