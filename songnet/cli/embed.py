"""``songnet embed``: 2020 and 1966 songs → embeddings of the trained network."""

from __future__ import annotations

import json
from pathlib import Path

import click
import numpy as np
import pandas as pd

from songnet.cli._features_data import read_features_meta, read_split
from songnet.cli.common import common_options, features_dir_option, trained_model_option
from songnet.core.audio import load
from songnet.core.errors import SongnetError
from songnet.core.files import atomic_dir
from songnet.core.params import load_params, params_to_dict
from songnet.core.progress import bar
from songnet.latent.embed import (
    Embeddings,
    EmbedParams,
    checkpoint_feature_params,
    embed_images_batched,
    embed_sounds,
    save_embeddings,
)
from songnet.model.checkpoint import load_checkpoint

AUDIO_SUFFIXES = (".wav", ".flac", ".ogg", ".mp3")


@click.command("embed")
@trained_model_option("Trained checkpoint.")
@features_dir_option("Features folder: its `embed.split` split gives the 2020 surrogate songs.")
@click.option("--resynth", "resynth_dir", type=click.Path(file_okay=False, path_type=Path),
              default=Path("data/resynth"), show_default=True,
              help="Resynthesized 1966 songs (folder written by `songnet resynthesize`).")
@click.option("--recordings", "recordings_dir", type=click.Path(file_okay=False, path_type=Path),
              default=None, help="Optional real 2020 recordings, one subfolder per theme.")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path),
              default=Path("experiments/embeddings"), show_default=True,
              help="Output folder: embeddings.npy, songs.csv, embed.json.")
@common_options
def command(model_path: Path, features_dir: Path, resynth_dir: Path,
            recordings_dir: Path | None, out_dir: Path, params_file: Path, quiet: bool) -> None:
    """Embed the 2020 songs (surrogates, and real recordings if given) and the 1966 songs.

    Every song goes through the training feature path (Constant-Q image of one window)
    and the network's penultimate layer.
    """
    params = load_params(params_file, "embed", EmbedParams)
    classes, feature_params = read_features_meta(features_dir)
    ckpt = load_checkpoint(model_path, device=params.device, feature_params=feature_params)
    fp = checkpoint_feature_params(ckpt)
    split = read_split(features_dir, params.split)
    keep = np.flatnonzero(np.array([classes[i] != "no_song" for i in split.labels]))
    ids = _split_ids(features_dir, params.split, len(split.labels))
    manifest = _read_resynth(resynth_dir)
    real = _read_recordings(recordings_dir) if recordings_dir is not None else []
    total = len(keep) + len(manifest) + len(real)
    parts = []
    with bar(total, desc="embed", unit="song", quiet=quiet) as pbar:
        vec = embed_images_batched(ckpt, split.images[keep], batch_size=params.batch_size,
                                   progress=pbar.update)
        parts.append(Embeddings(vec, pd.DataFrame({
            "song_id": [ids[i] for i in keep], "era": "2020",
            "theme": [classes[split.labels[i]] for i in keep],
            "source": "surrogate", "split": params.split})))
        if real:
            sounds = [load(p, sr=fp.sr) for _, p in real]
            vec = embed_sounds(ckpt, sounds, batch_size=params.batch_size,
                               device=params.device, progress=pbar.update)
            parts.append(Embeddings(vec, pd.DataFrame({
                "song_id": [f"{t}/{p.stem}" for t, p in real], "era": "2020",
                "theme": [t for t, _ in real], "source": "recording", "split": ""})))
        sounds = [load(resynth_dir / p, sr=fp.sr) for p in manifest["path"]]
        vec = embed_sounds(ckpt, sounds, batch_size=params.batch_size, device=params.device,
                           progress=pbar.update)
        parts.append(Embeddings(vec, pd.DataFrame({
            "song_id": manifest["id"].to_list(), "era": "1966",
            "theme": manifest["theme"].to_list(), "source": manifest["kind"].to_list(),
            "split": ""})))
    emb = Embeddings.concat(parts)
    info = {"model": str(model_path), "params": params_to_dict(params),
            "embed_dim": int(emb.vectors.shape[1]),
            "counts": emb.songs.groupby(["era", "source"]).size().rename("n").reset_index()
            .to_dict(orient="records")}
    with atomic_dir(out_dir) as tmp:
        save_embeddings(emb, tmp, info=info)
    if not quiet:
        click.echo(f"{len(emb.songs)} songs ({int((emb.songs.era == '2020').sum())} from 2020, "
                   f"{int((emb.songs.era == '1966').sum())} from 1966) -> {out_dir}", err=True)


def _split_ids(features_dir: Path, split: str, n: int) -> list[str]:
    meta = json.loads((features_dir / "features.json").read_text(encoding="utf-8"))
    ids = meta.get("ids", {}).get(split)
    return [str(i) for i in ids] if ids and len(ids) == n else [f"{split}-{i}" for i in range(n)]


def _read_resynth(folder: Path) -> pd.DataFrame:
    path = folder / "manifest.csv"
    if not path.is_file():
        raise SongnetError(f"{path} not found; run `songnet resynthesize data/1966 -o {folder}` "
                           "first (or pass --resynth FOLDER)")
    manifest = pd.read_csv(path, dtype=str, keep_default_na=False)
    missing = [c for c in ("id", "path", "theme", "kind") if c not in manifest.columns]
    if missing:
        raise SongnetError(f"{path}: missing column {missing[0]!r}; rerun `songnet resynthesize`")
    return manifest


def _read_recordings(folder: Path) -> list[tuple[str, Path]]:
    if not folder.is_dir():
        raise SongnetError(f"recordings folder {folder} not found; pass a folder with one "
                           "subfolder per theme")
    found = [(d.name, p) for d in sorted(folder.iterdir()) if d.is_dir()
             for p in sorted(d.iterdir()) if p.suffix.lower() in AUDIO_SUFFIXES]
    if not found:
        raise SongnetError(f"{folder}: no recordings in theme subfolders (e.g. {folder}/T01/"
                           "song1.wav)")
    return found
