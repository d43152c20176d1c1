"""Embeddings: songs → the trained network's penultimate layer, through the training features.

2020 and 1966 songs reach the network through one channel: every clip is resampled to the
checkpoint's feature rate, fitted to one window (:func:`songnet.features.npcqt.fit_window`),
turned into a Constant-Q image (:func:`songnet.features.images`) and embedded
(:func:`songnet.model.checkpoint.embed_images`). Images the features stage already made (the
surrogate test split) are embedded directly.

An :class:`Embeddings` set is one matrix plus one metadata row per song
(``song_id, era, theme, source, split``); ``era`` is ``"2020"`` or ``"1966"``.
"""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from songnet.core.audio import resample
from songnet.core.audio_files import theme_folders
from songnet.core.errors import SongnetError
from songnet.core.labels import theme_classes
from songnet.core.progress import ProgressCallback
from songnet.core.sound import Sound
from songnet.features.featureset import FeatureSplit
from songnet.features.images import fit_window, images
from songnet.model.checkpoint import Checkpoint, embed_images, unknown_top
from songnet.resynth.resynthesize import ResynthesizeParams, resynthesize_recording
from songnet.synth import SR

__all__ = ["SONG_COLUMNS", "EmbedParams", "Embeddings", "embed_images_batched",
           "embed_song_set", "embed_sounds", "find_theme_recordings", "load_embeddings",
           "recording_theme", "resynthesize_recordings", "save_embeddings"]

SONG_COLUMNS = ("song_id", "era", "theme", "source", "split")


@dataclasses.dataclass(frozen=True)
class EmbedParams:
    """The ``embed`` section of ``params.yaml``.

    Attributes
    ----------
    split : str
        The surrogate split that stands for the 2020 songs (``test``: birds never trained on).
    batch_size : int
        Images per network call.
    device : str
        ``auto`` (a GPU when present), ``cpu`` or ``cuda``.
    """

    split: str = "test"
    batch_size: int = 64
    device: str = "auto"

    def __post_init__(self) -> None:
        if self.batch_size < 1:
            raise ValueError(f"batch_size={self.batch_size} must be ≥ 1")


@dataclasses.dataclass(frozen=True, eq=False)
class Embeddings:
    """Embedded songs.

    Attributes
    ----------
    vectors : np.ndarray [shape=(n_songs, embed_dim), dtype=float32]
        Penultimate-layer activations.
    songs : pd.DataFrame
        One row per song, columns :data:`SONG_COLUMNS`.
    """

    vectors: np.ndarray
    songs: pd.DataFrame

    def __post_init__(self) -> None:
        v = np.asarray(self.vectors, dtype=np.float32)
        if v.ndim != 2 or v.shape[0] != len(self.songs):
            raise SongnetError(f"embeddings: {v.shape} vectors for {len(self.songs)} songs")
        missing = [c for c in SONG_COLUMNS if c not in self.songs.columns]
        if missing:
            raise SongnetError(f"embeddings: song table lacks column {missing[0]!r}")
        object.__setattr__(self, "vectors", v)

    def era(self, era: str) -> Embeddings:
        """The songs of one era (``"2020"`` or ``"1966"``)."""
        keep = (self.songs.era == era).to_numpy()
        return Embeddings(self.vectors[keep], self.songs[keep].reset_index(drop=True))

    @staticmethod
    def concat(parts: Sequence[Embeddings]) -> Embeddings:
        """Stack several sets (same network)."""
        parts = [p for p in parts if len(p.songs)]
        if not parts:
            raise SongnetError("no songs to embed")
        dims = {p.vectors.shape[1] for p in parts}
        if len(dims) > 1:
            raise SongnetError(f"embeddings of different sizes {sorted(dims)}; use one model")
        return Embeddings(np.concatenate([p.vectors for p in parts]),
                          pd.concat([p.songs for p in parts], ignore_index=True))


def embed_images_batched(ckpt: Checkpoint, imgs: np.ndarray, *, batch_size: int = 64,
                         progress: ProgressCallback | None = None) -> np.ndarray:
    """Embed ready-made images [shape=(N, n_bins, n_frames)] → [shape=(N, embed_dim)]."""
    imgs = np.asarray(imgs)
    if imgs.ndim != 3:
        raise SongnetError(f"images must have shape (N, n_bins, n_frames), got {imgs.shape}")
    out = np.empty((imgs.shape[0], ckpt.config.embed_dim), dtype=np.float32)
    for i in range(0, imgs.shape[0], batch_size):
        chunk = imgs[i:i + batch_size].astype(np.float32)
        out[i:i + batch_size] = embed_images(ckpt, chunk, batch_size=batch_size)
        if progress is not None:
            progress(len(chunk))
    return out


def embed_sounds(ckpt: Checkpoint, sounds: Sequence[Sound], *, batch_size: int = 64,
                 device: str = "auto", progress: ProgressCallback | None = None
                 ) -> np.ndarray:
    """Embed clips through the training feature path.

    Parameters
    ----------
    ckpt : Checkpoint
        The trained network (its ``feature_params`` define the images).
    sounds : sequence of Sound
        Clips at the checkpoint's feature rate (``songnet.core.audio.load(path, sr=...)``);
        each is fitted to one window (a longer song keeps its loudest window).
    batch_size : int
    device : str
        Device of the CQT (``auto``: a GPU when present).

    Returns
    -------
    np.ndarray [shape=(len(sounds), embed_dim), dtype=float32]
    """
    fp = ckpt.features()
    for s in sounds:
        if s.sr != fp.sr:
            raise SongnetError(f"{s.source}: sample rate {s.sr} Hz, the model's features use "
                               f"{fp.sr} Hz; load it with "
                               f"songnet.core.audio.load(path, sr={fp.sr})")
    out = np.empty((len(sounds), ckpt.config.embed_dim), dtype=np.float32)
    for i in range(0, len(sounds), batch_size):
        chunk = sounds[i:i + batch_size]
        clips = np.stack([fit_window(s.samples, params=fp) for s in chunk])
        imgs = images(clips, params=fp, device=device, batch_size=batch_size)
        out[i:i + len(chunk)] = embed_images(ckpt, imgs, batch_size=batch_size)
        if progress is not None:
            progress(len(chunk))
    return out


def embed_song_set(ckpt: Checkpoint, *, surrogates: FeatureSplit, surrogate_ids: Sequence[str],
                   classes: Sequence[str], recordings: Sequence[tuple[str, Sound]],
                   resynth: pd.DataFrame, resynth_sounds: Sequence[Sound],
                   params: EmbedParams, progress: ProgressCallback | None = None
                   ) -> Embeddings:
    """The latent stage's songs: 2020 surrogates (+ real recordings) and the 1966 songs.

    Parameters
    ----------
    ckpt : Checkpoint
    surrogates : FeatureSplit
        The ``params.split`` images of the features stage; ``no_song`` images are left out.
    surrogate_ids : sequence of str
        One id per surrogate image (``features.json`` ids).
    classes : sequence of str
        The features' class names (labels index them).
    recordings : sequence of (theme, Sound)
        Real 2020 recordings at the checkpoint's feature rate (may be empty).
    resynth : pd.DataFrame
        The resynthesis manifest (``id``, ``theme``, ``kind``), one row per 1966 song.
    resynth_sounds : sequence of Sound
        Its songs, in manifest order, at the checkpoint's feature rate.
    params : EmbedParams
    progress : callable, optional
        Called with the number of songs embedded after each batch.

    Returns
    -------
    Embeddings
        2020 surrogates, then 2020 recordings, then the 1966 songs.
    """
    themes = set(theme_classes(classes))  # foreign (unknown) songs and no_song left out
    keep = np.flatnonzero(np.array([classes[i] in themes for i in surrogates.labels],
                                   dtype=bool))
    vec = embed_images_batched(ckpt, surrogates.images[keep], batch_size=params.batch_size,
                               progress=progress)
    parts = [Embeddings(vec, pd.DataFrame({
        "song_id": [surrogate_ids[i] for i in keep], "era": "2020",
        "theme": [classes[surrogates.labels[i]] for i in keep],
        "source": "surrogate", "split": params.split}))]
    if recordings:
        vec = embed_sounds(ckpt, [s for _, s in recordings], batch_size=params.batch_size,
                           device=params.device, progress=progress)
        parts.append(Embeddings(vec, pd.DataFrame({
            "song_id": [f"{t}/{Path(s.source).stem}" for t, s in recordings], "era": "2020",
            "theme": [t for t, _ in recordings], "source": "recording", "split": ""})))
    vec = embed_sounds(ckpt, list(resynth_sounds), batch_size=params.batch_size,
                       device=params.device, progress=progress)
    parts.append(Embeddings(vec, pd.DataFrame({
        "song_id": resynth["id"].to_list(), "era": "1966",
        "theme": resynth["theme"].to_list(), "source": resynth["kind"].to_list(),
        "split": ""})))
    out = Embeddings.concat(parts)
    out.songs["unknown_top"] = unknown_top(ckpt, out.vectors)
    return out


def recording_theme(name: str, *, catalog: Sequence[str], merge: bool = False) -> str:
    """The 2020 theme label of a user's recordings folder ``name``.

    A folder named like a catalog theme is a different theme unless ``merge`` says they
    are the same: its songs are labelled ``rec/<name>`` so they never pool with the
    catalog's surrogate songs by accident.
    """
    return name if merge or name not in set(catalog) else f"rec/{name}"


def resynthesize_recordings(recordings: Sequence[tuple[str, Sound]], *, sr: int,
                            params: ResynthesizeParams | None = None,
                            progress: ProgressCallback | None = None
                            ) -> list[tuple[str, Sound]]:
    """Real 2020 songs through the channel the 1966 songs take: fitted and resung by the
    syrinx model (:func:`songnet.resynth.resynthesize.resynthesize_recording`).

    Parameters
    ----------
    recordings : sequence of (theme, Sound)
        Songs at the model's rate (44.1 kHz; ``songnet.core.audio.load(path, sr=44100)``).
    sr : int
        Rate of the returned sounds (the checkpoint's feature rate).
    """
    out = []
    for theme, sound in recordings:
        if sound.sr != SR:
            raise SongnetError(f"{sound.source}: {sound.sr} Hz; resynthesis needs the model's "
                               f"{SR} Hz (load it with songnet.core.audio.load(path, sr={SR}))")
        song = resynthesize_recording(sound, params=params or ResynthesizeParams())
        out.append((theme, Sound(resample(song.sound.samples, orig_sr=SR, sr=sr), sr,
                                 source=sound.source)))
        if progress is not None:
            progress(1)
    return out


def find_theme_recordings(folder: Path) -> list[tuple[str, Path]]:
    """Real recordings grouped by theme -> [(theme, path)], read as ``songnet themes``
    reads them (:func:`songnet.core.audio_files.theme_folders`: ``folder/<theme>/`` at any depth,
    so ``T01/bird3/*.wav`` is T01's; ``_``- and ``.``-folders are not themes)."""
    if not folder.is_dir():
        raise SongnetError(f"recordings folder {folder} not found; pass a folder with one "
                           "subfolder per theme")
    found = [(theme, p) for theme, files in theme_folders(folder) for p in files]
    if not found:
        raise SongnetError(f"{folder}: no recordings in theme subfolders (e.g. {folder}/T01/"
                           "song1.wav)")
    return found


def save_embeddings(emb: Embeddings, folder: str | os.PathLike, *, info: dict) -> Path:
    """Write ``embeddings.npy``, ``songs.csv`` and ``embed.json`` into ``folder``.

    The command layer passes a temporary folder (``songnet.core.files.atomic_dir``).
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    np.save(folder / "embeddings.npy", emb.vectors)
    extra = ["unknown_top"] if "unknown_top" in emb.songs.columns else []
    emb.songs.loc[:, [*SONG_COLUMNS, *extra]].to_csv(folder / "songs.csv", index=False)
    (folder / "embed.json").write_text(json.dumps(info, indent=2) + "\n", encoding="utf-8")
    return folder


def load_embeddings(folder: str | os.PathLike) -> Embeddings:
    """Read an ``embed`` output folder."""
    folder = Path(folder)
    for name in ("embeddings.npy", "songs.csv"):
        if not (folder / name).is_file():
            raise SongnetError(f"{folder / name} not found; run `songnet embed` first "
                               "(or pass --embeddings FOLDER)")
    try:
        songs = pd.read_csv(folder / "songs.csv", dtype=str, keep_default_na=False)
        vectors = np.load(folder / "embeddings.npy", allow_pickle=False)
    except (ValueError, OSError, EOFError, pd.errors.ParserError, UnicodeDecodeError) as exc:
        first = (str(exc).splitlines() or [""])[0][:120] or type(exc).__name__
        raise SongnetError(f"{folder}: embeddings.npy or songs.csv is damaged or not songnet's "
                           f"({first}); rerun `songnet embed`") from exc
    if (vectors.ndim != 2 or vectors.dtype.kind != "f" or len(vectors) != len(songs)
            or not np.isfinite(vectors).all()):
        raise SongnetError(f"{folder / 'embeddings.npy'}: expected {len(songs)} finite float "
                           f"vectors (one per songs.csv row), got {vectors.dtype} "
                           f"{vectors.shape}; rerun `songnet embed`")
    if "unknown_top" in songs.columns:  # written as True/False
        songs["unknown_top"] = songs["unknown_top"].str.lower().isin(["true", "1"])
    return Embeddings(vectors, songs)
