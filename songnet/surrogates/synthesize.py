"""The surrogate dataset: birds, renditions, recording conditions, ``no_song`` clips.

Each theme is sung by simulated *birds* (:mod:`songnet.surrogates.birds`): a bird keeps a
personal version of its theme (pitch transposition, tempo, per-note pitch and length, trill
rate), its own γ jitter and trachea. Each *rendition* jitters every note a little. Each clip
then gets recording conditions (:mod:`songnet.surrogates.conditions`,
:mod:`songnet.surrogates.render`): distance, coloured background noise, wind, clutter
(other model-made calls, insects), optional reverberation, at an SNR drawn from a range.

Splits ``train``, ``val``, ``test`` and ``stress`` (harder: low SNR, wider bird variation,
heavy clutter) are made **by bird** (:mod:`songnet.surrogates.plan`): no bird sings in two
splits. ``no_song`` clips (background and clutter only) appear in every split, and so do
``unknown`` clips: songs of foreign themes (:mod:`songnet.surrogates.foreign`), each its own
random theme sung by its own bird, new in every split. Every clip has its own seed, derived
from the stage seed and the clip's index, so the bytes do not depend on the number of
workers. This module runs the stage and owns its files.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import os
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import soundfile as sf

from songnet.core.errors import SongnetError
from songnet.core.labels import SPLITS
from songnet.core.progress import ProgressCallback
from songnet.surrogates.plan import n_unknown, plan_clips
from songnet.surrogates.realdata import RealMaterial
from songnet.surrogates.render import Clip, render_chunk
from songnet.surrogates.synthesize_params import SynthesizeParams
from songnet.surrogates.themes import Theme
from songnet.synth import SR

__all__ = ["MANIFEST", "MANIFEST_COLUMNS", "load_manifest", "load_negatives", "n_clips",
           "save_manifest", "synthesize", "write_clip"]

MANIFEST = "manifest.csv"
MANIFEST_COLUMNS = ("path", "theme", "split")
"""Columns every manifest needs (``id`` and the variation columns are optional)."""
CHUNK = 16  # clips rendered together; fixed, so outputs do not depend on the worker count


MAX_NEGATIVES_S = 1800.0
"""Most seconds of user negatives held in memory (the first files, in sorted order)."""


def load_negatives(folder: str | os.PathLike) -> list[np.ndarray]:
    """The recordings of a folder of sounds without chingolo songs, mono at :data:`SR`.

    Raises
    ------
    SongnetError
        For a missing folder, one without audio, or a file that cannot be read (naming
        it and what to do).
    """
    from songnet.core.audio import load
    from songnet.core.audio_files import audio_files

    folder = Path(folder)
    if not folder.is_dir():
        raise SongnetError(f"negatives folder {folder} not found; pass a folder of recordings "
                           "without chingolo songs")
    files = audio_files(folder)
    if not files:
        raise SongnetError(f"negatives folder {folder} holds no audio files (WAV, FLAC, OGG, "
                           "MP3, AIFF)")
    out, total = [], 0.0
    for f in files:
        y = load(f, sr=SR).samples
        if y.size < SR // 10 or not np.any(y):
            continue  # too short or silent: nothing to learn from
        out.append(np.asarray(y, dtype=np.float32))
        total += y.size / SR
        if total >= MAX_NEGATIVES_S:
            break
    if not out:
        raise SongnetError(f"negatives folder {folder}: every file is shorter than 0.1 s or "
                           "silent; give recordings of the place without chingolo songs")
    return out


def n_clips(themes: Sequence[Theme], params: SynthesizeParams,
            real: RealMaterial | None = None) -> int:
    """Number of clips :func:`synthesize` yields for this catalog and params."""
    total = 0 if real is None else sum(params.real_copies if s.split == "train" else 1
                                       for s in real.songs)
    for split in SPLITS:
        per_theme = getattr(params, f"{split}_birds") * getattr(params, f"{split}_songs_per_bird")
        total += per_theme * len(themes) + round(params.no_song_factor * per_theme)
        total += n_unknown(params, split)
    return total


def synthesize(themes: Sequence[Theme], *, params: SynthesizeParams,
               progress: ProgressCallback | None = None,
               executor: Any = None, negatives: Sequence[np.ndarray] | None = None,
               real: RealMaterial | None = None) -> Iterator[Clip]:
    """Generate the dataset's clips, in a fixed order, rendered by ``params.workers`` threads.

    Parameters
    ----------
    themes : sequence of Theme
        The catalog (names unique, none called ``no_song``).
    params : SynthesizeParams
    progress : callable, optional
        Called with the number of clips finished.
    executor : optional
        Renders the chunks of clips instead of ``params.workers`` threads: anything with
        ``submit(fn, *args)`` giving futures with ``result()``, e.g. a
        ``distributed.Client``. The clips are the same (each keeps its own seed).
    negatives : sequence of np.ndarray, optional
        Recordings without chingolo song at :data:`SR` (:func:`load_negatives`); default:
        those of ``params.negatives`` when set. Mixed into ``no_song`` clips (chance
        ``negatives_prob``) and into song clips' backgrounds (half that chance).
    real : RealMaterial, optional
        The researcher's recordings (:func:`songnet.surrogates.realdata.read_recordings`):
        their song-free stretches become the backgrounds of a share
        (``real_background_prob``) of the clips, mixed at the real songs' SNRs, and their
        songs join the clips (``real_copies`` augmented clips each in train, split by
        recording). None: the clips of the catalog alone.

    Yields
    ------
    Clip
        ``samples`` float32 ``(round(clip_s·SR),)``; ``row`` the manifest row.
    """
    if not themes:
        raise SongnetError("the theme catalog is empty; give at least one theme")
    if negatives is None:
        negatives = load_negatives(params.negatives) if params.negatives else []
    specs = plan_clips(themes, params, real=real)
    chunks = [specs[i:i + CHUNK] for i in range(0, len(specs), CHUNK)]
    with contextlib.ExitStack() as stack:
        pool = executor if executor is not None else stack.enter_context(
            concurrent.futures.ThreadPoolExecutor(max_workers=params.workers))
        pending: list[Any] = []
        ahead = 2 * (_n_workers(executor) if executor is not None else params.workers)
        for chunk in chunks:  # bounded look-ahead keeps memory flat
            pending.append(pool.submit(render_chunk, chunk, params, negatives, real))
            if len(pending) > ahead:
                yield from _drain(pending.pop(0), progress)
        for fut in pending:
            yield from _drain(fut, progress)


def _n_workers(executor: Any) -> int:
    """Workers of a Dask client (its look-ahead), else 2."""
    try:
        return max(1, len(executor.scheduler_info().get("workers", {})))
    except AttributeError:
        return 2


def _drain(fut: Any, progress: ProgressCallback | None) -> Iterator[Clip]:
    clips = fut.result()
    yield from clips
    if progress is not None:
        progress(len(clips))

def write_clip(folder: Path, clip: Clip) -> None:
    """Write one clip's WAV (16-bit, 44.1 kHz) under ``folder`` at its manifest path."""
    path = folder / clip.path
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(path, clip.samples, SR, subtype="PCM_16", format="WAV")


def save_manifest(rows: Sequence[Mapping[str, Any]], folder: Path) -> Path:
    """Write ``folder/manifest.csv``: one row per clip (:attr:`Clip.row`), in order."""
    path = folder / MANIFEST
    pd.DataFrame(list(rows)).to_csv(path, index=False, float_format="%.6g")
    return path


def load_manifest(path: str | os.PathLike) -> pd.DataFrame:
    """Read a manifest CSV and check its columns and split names.

    Raises
    ------
    SongnetError
        A missing or unreadable file, a missing column, an empty manifest or an unknown
        split, naming the file.
    """
    path = Path(path)
    if not path.is_file():
        raise SongnetError(f"manifest {path} not found; run `songnet synthesize` first or "
                           "pass --manifest FILE")
    try:
        table = pd.read_csv(path, dtype={"path": str, "theme": str, "split": str})
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise SongnetError(f"{path}: not a readable CSV manifest ({exc}); fix or regenerate "
                           "it") from exc
    missing = [c for c in MANIFEST_COLUMNS if c not in table.columns]
    if missing:
        raise SongnetError(f"{path}: missing column(s) {', '.join(missing)}; a manifest needs "
                           f"{', '.join(MANIFEST_COLUMNS)}")
    if table.empty:
        raise SongnetError(f"{path}: the manifest lists no clips")
    if table[list(MANIFEST_COLUMNS)].isna().any().any():
        row = int(table[list(MANIFEST_COLUMNS)].isna().any(axis=1).to_numpy().argmax())
        raise SongnetError(f"{path}: row {row + 1} has an empty path, theme or split; fill it")
    unknown = sorted(set(table["split"]) - set(SPLITS))
    if unknown:
        raise SongnetError(f"{path}: unknown split {unknown[0]!r}; splits are "
                           f"{', '.join(SPLITS)}")
    return table
