"""``songnet project``: embeddings → 2-D latent maps, persistence table, plots."""

from __future__ import annotations

from pathlib import Path

import click
import numpy as np
import pandas as pd

from songnet.cli.common import common_options, out_option
from songnet.core.errors import SongnetError
from songnet.core.files import atomic_dir, check_output_dir
from songnet.core.params import load_params, params_to_dict
from songnet.latent.embed import load_embeddings
from songnet.latent.plots import plot_latent_map, plot_persistence
from songnet.latent.project import (
    MAP_COLUMNS,
    LatentMap,
    LatentOutputs,
    ProjectParams,
    ThemeMatcher,
    persistence_table,
    save,
    validated_rule,
)


@click.command("project")
@click.option("--embeddings", "emb_dir", type=click.Path(file_okay=False, path_type=Path),
              default=Path("experiments/embeddings"), show_default=True,
              help="Folder written by `songnet embed`.")
@out_option("Output folder: maps.csv, persistence.csv, latent.json, two PNGs.",
            default=Path("experiments/latent"))
@common_options
def command(emb_dir: Path, out: Path, params_file: Path, quiet: bool) -> None:
    """Fit UMAP and PCA on the 2020 songs, place the 1966 songs, decide persistence.

    Each 1966 song gets its nearest 2020 theme, the distance and the threshold learned
    from the 2020 within-theme spread: `persists` or `lost`; 2020 themes no 1966 song
    matches are `new`. Each decision carries its margin, the 2020 songs it rests on and
    the share of project.bootstrap resamples of the 2020 songs that give `persists`.
    """
    params = validated_rule(load_params(params_file, "project", ProjectParams))
    check_output_dir(out, inputs=[emb_dir, params_file])
    emb = load_embeddings(emb_dir)
    new, old = emb.era("2020"), emb.era("1966")
    if old.vectors.shape[0] == 0:
        raise SongnetError(f"{emb_dir}: no 1966 songs among the embeddings; run `songnet "
                           "resynthesize` and `songnet embed` first")
    latent = LatentMap(n_neighbors=params.n_neighbors, min_dist=params.min_dist,
                       random_state=params.random_state)
    coords_new = latent.fit_transform(new.vectors)
    coords_old = latent.transform(old.vectors)
    matcher = ThemeMatcher(threshold_quantile=params.threshold_quantile,
                           threshold_scale=params.threshold_scale,
                           pooling=params.threshold_pooling,
                           metric=params.threshold_metric).fit(new.vectors, new.songs.theme)
    flags = (old.songs["unknown_top"].to_numpy(dtype=bool)
             if params.threshold_decision == "either" and "unknown_top" in old.songs.columns
             else None)
    table = persistence_table(matcher, old.vectors, song_ids=old.songs.song_id,
                              themes_1966=old.songs.theme, unknown=flags,
                              X2020=new.vectors, themes_2020=new.songs.theme,
                              bootstrap=params.bootstrap, seed=params.random_state)
    songs = pd.concat([new.songs, old.songs], ignore_index=True)
    coords = pd.DataFrame(np.concatenate([coords_new, coords_old]), columns=list(MAP_COLUMNS))
    maps = pd.concat([songs, coords], axis=1)
    info = {"params": params_to_dict(params), "n_2020": len(new.songs), "n_1966": len(old.songs),
            "themes_2020": [str(t) for t in matcher.themes_],
            "thresholds": {str(t): float(v) for t, v in zip(matcher.themes_,
                                                            matcher.thresholds_, strict=True)},
            "pca_explained_variance_ratio": [float(v) for v in
                                             latent.pca_.explained_variance_ratio_],
            "status_counts": {k: int(v) for k, v in table.status.value_counts().items()}}
    outputs = LatentOutputs(maps=maps, persistence=table, info=info)
    with atomic_dir(out) as tmp:
        save(outputs, tmp)
        plot_latent_map(maps).savefig(tmp / "latent_map.png", dpi=120, bbox_inches="tight")
        plot_persistence(table).savefig(tmp / "persistence.png", dpi=120, bbox_inches="tight")
    if not quiet:
        counts = ", ".join(f"{k} {v}" for k, v in info["status_counts"].items())
        click.echo(f"{len(new.songs)} songs from 2020, {len(old.songs)} from 1966: {counts} "
                   f"-> {out}", err=True)
        if "new" in info["status_counts"]:
            click.echo(f"`new` = not found among the {len(old.songs)} 1966 songs given, not "
                       "proof of absence in 1966", err=True)
