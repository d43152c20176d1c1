"""``songnet embed``: 2020 and 1966 songs → embeddings of the trained network."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import click

from songnet.cli.common import (
    common_options,
    device_option,
    features_dir_option,
    model_option,
    out_option,
)
from songnet.core.audio import load
from songnet.core.files import atomic_dir, check_output_dir
from songnet.core.labels import theme_classes
from songnet.core.params import load_params, params_to_dict
from songnet.core.progress import bar
from songnet.features.featureset import load_meta, load_split, split_ids
from songnet.latent.embed import (
    EmbedParams,
    embed_song_set,
    find_theme_recordings,
    recording_theme,
    resynthesize_recordings,
    save_embeddings,
)
from songnet.model.checkpoint import load_checkpoint
from songnet.resynth.dataset import load_resynth_manifest
from songnet.resynth.resynthesize import ResynthesizeParams
from songnet.synth import SR


@click.command("embed")
@model_option("The trained checkpoint whose penultimate layer embeds the songs.",
              default="pipeline")
@features_dir_option("Features folder: its `embed.split` split gives the 2020 surrogate songs.")
@click.option("--resynth", "resynth_dir", type=click.Path(file_okay=False, path_type=Path),
              default=Path("data/resynth"), show_default=True,
              help="Resynthesized 1966 songs (folder written by `songnet resynthesize`).")
@click.option("--recordings", "recordings_dir", type=click.Path(file_okay=False, path_type=Path),
              default=None, help="Optional real 2020 recordings, one subfolder per theme.")
@click.option("--resynthesize/--no-resynthesize", "resynth_recordings", default=True,
              show_default=True,
              help="Resing the recordings through the syrinx model first, as the 1966 songs "
                   "are (one channel for both eras); --no-resynthesize embeds them as recorded.")
@click.option("--recordings-optional", is_flag=True,
              help="A --recordings folder without theme subfolders (the pipeline's data/2020 "
                   "before you add recordings) embeds no recordings instead of stopping.")
@click.option("--merge-themes", is_flag=True,
              help="A recordings folder named like a catalog theme IS that theme (pool their "
                   "songs); by default it stays apart as rec/<name>.")
@out_option("Output folder: embeddings.npy, songs.csv, embed.json.",
            default=Path("experiments/embeddings"))
@device_option(default=None)
@common_options
def command(model_path: Path, features_dir: Path, resynth_dir: Path,
            recordings_dir: Path | None, resynth_recordings: bool, recordings_optional: bool,
            merge_themes: bool, out: Path, device: str | None, params_file: Path,
            quiet: bool) -> None:
    """Embed the 2020 songs (surrogates, and real recordings if given) and the 1966 songs.

    Every song goes through the training feature path (Constant-Q image of one window)
    and the network's penultimate layer.
    """
    params = load_params(params_file, "embed", EmbedParams)
    check_output_dir(out, inputs=[model_path, features_dir, resynth_dir, params_file]
                     + ([recordings_dir] if recordings_dir else []))
    if device is not None:
        params = dataclasses.replace(params, device=device)
    meta = load_meta(features_dir)
    ckpt = load_checkpoint(model_path, device=params.device, feature_params=meta["params"])
    sr = ckpt.features().sr
    split = load_split(features_dir, params.split)
    manifest = load_resynth_manifest(resynth_dir)
    real = []
    if recordings_dir is not None:
        none_yet = recordings_optional and recordings_dir.is_dir() and not any(
            d.is_dir() for d in recordings_dir.iterdir())  # e.g. data/2020 with its README
        real = [] if none_yet else find_theme_recordings(recordings_dir)
    catalog = theme_classes(meta["classes"])
    real = [(recording_theme(t, catalog=catalog, merge=merge_themes), p) for t, p in real]
    if resynth_recordings and real:
        resynth_params = load_params(params_file, "resynthesize", ResynthesizeParams)
        with bar(len(real), desc="resynthesize recordings", unit="song", quiet=quiet) as pbar:
            recordings = resynthesize_recordings([(t, load(p, sr=SR)) for t, p in real], sr=sr,
                                                 params=resynth_params, progress=pbar.update)
    else:
        recordings = [(theme, load(path, sr=sr)) for theme, path in real]
    resynth_sounds = [load(resynth_dir / p, sr=sr) for p in manifest["path"]]
    n_songs = sum(meta["classes"][i] in catalog for i in split.labels) \
        + len(recordings) + len(resynth_sounds)
    with bar(n_songs, desc="embed", unit="song", quiet=quiet) as pbar:
        emb = embed_song_set(ckpt, surrogates=split,
                             surrogate_ids=split_ids(meta, params.split, len(split.labels)),
                             classes=meta["classes"], recordings=recordings, resynth=manifest,
                             resynth_sounds=resynth_sounds, params=params,
                             progress=pbar.update)
    info = {"model": str(model_path), "params": params_to_dict(params),
            "recordings_resynthesized": bool(resynth_recordings and real),
            "embed_dim": int(emb.vectors.shape[1]),
            "counts": emb.songs.groupby(["era", "source"]).size().rename("n").reset_index()
            .to_dict(orient="records")}
    with atomic_dir(out) as tmp:
        save_embeddings(emb, tmp, info=info)
    if not quiet:
        click.echo(f"{len(emb.songs)} songs ({int((emb.songs.era == '2020').sum())} from 2020, "
                   f"{int((emb.songs.era == '1966').sum())} from 1966) -> {out}", err=True)
