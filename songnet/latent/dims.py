"""Any latent dimension of the saved embeddings, as columns a map can be drawn from.

``maps.csv`` (``songnet project``) holds two UMAP and two PCA columns. A researcher who
wants the third principal component, or one of the network's own embedding dimensions,
takes them from the embeddings ``songnet embed`` saved: :func:`latent_dims` standardises
them on the 2020 songs and fits PCA there, as :class:`songnet.latent.project.LatentMap`
does, so its ``pca_1`` and ``pca_2`` are the map's (up to rounding), and adds as many
further components and the raw dimensions ``emb_1`` … ``emb_D``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from songnet.core.errors import SongnetError
from songnet.latent.embed import Embeddings

__all__ = ["dim_names", "latent_dims"]


def latent_dims(embeddings: Embeddings, *, n_pca: int = 10, random_state: int = 0
                ) -> pd.DataFrame:
    """Every song's principal components and raw embedding dimensions.

    Parameters
    ----------
    embeddings : Embeddings
        Saved embeddings (:func:`songnet.latent.embed.load_embeddings`), 2020 and 1966.
    n_pca : int
        Principal components to compute (at most the embedding size and the number of
        2020 songs).
    random_state : int
        Seed of the PCA (as the map's).

    Returns
    -------
    pd.DataFrame
        One row per song: the song table's columns (``song_id``, ``era``, ``theme``, …),
        then ``pca_1`` … ``pca_<n_pca>`` (fitted on the 2020 songs, the 1966 songs
        placed in the same axes) and ``emb_1`` … ``emb_<D>`` (standardised on the 2020
        songs).
    """
    from sklearn.decomposition import PCA

    X = embeddings.vectors.astype(np.float64)
    is_2020 = (embeddings.songs.era == "2020").to_numpy()
    if is_2020.sum() < 2:
        raise SongnetError(f"embeddings: {int(is_2020.sum())} songs of 2020; PCA needs at "
                           "least 2 (rerun `songnet embed` with the 2020 songs)")
    limit = min(X.shape[1], int(is_2020.sum()))
    if not 1 <= n_pca <= limit:
        raise SongnetError(f"n_pca={n_pca} must lie in 1..{limit} (the embedding size "
                           f"{X.shape[1]} and the {int(is_2020.sum())} songs of 2020)")
    mean = X[is_2020].mean(axis=0)
    std = X[is_2020].std(axis=0)
    Z = (X - mean) / np.where(std > 1e-12, std, 1.0)
    pca = PCA(n_components=n_pca, random_state=random_state).fit(Z[is_2020])
    table = embeddings.songs.reset_index(drop=True).copy()
    columns = {f"pca_{i + 1}": col for i, col in enumerate(pca.transform(Z).T)}
    columns |= {f"emb_{i + 1}": col for i, col in enumerate(Z.T)}
    return pd.concat([table, pd.DataFrame(columns)], axis=1)


def dim_names(table: pd.DataFrame) -> list[str]:
    """The numeric columns of a map or :func:`latent_dims` table a plot can use."""
    skip = {"song_id", "era", "theme", "source", "split", "unknown_top"}
    return [c for c in table.columns
            if c not in skip and pd.api.types.is_numeric_dtype(table[c])]
