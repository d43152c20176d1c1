"""Any latent dimension from the saved embeddings (songnet.latent.dims)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from songnet.core.errors import SongnetError
from songnet.latent.dims import dim_names, latent_dims
from songnet.latent.embed import Embeddings
from songnet.latent.plots import plot_latent_map
from songnet.latent.project import LatentMap


def _embeddings(n2020: int = 30, n1966: int = 4, dim: int = 16, seed: int = 0) -> Embeddings:
    rng = np.random.default_rng(seed)
    eras = ["2020"] * n2020 + ["1966"] * n1966
    songs = pd.DataFrame({"song_id": [f"s{i}" for i in range(len(eras))], "era": eras,
                          "theme": [f"T0{i % 3 + 1}" for i in range(len(eras))],
                          "source": "surrogate", "split": "test"})
    return Embeddings(rng.normal(size=(len(eras), dim)).astype(np.float32), songs)


def test_the_first_two_components_are_the_maps():
    emb = _embeddings()
    table = latent_dims(emb, n_pca=5)
    new = emb.era("2020").vectors.astype(np.float64)
    latent = LatentMap()  # the map's PCA, without fitting UMAP
    latent.mean_, latent.scale_ = new.mean(0), new.std(0)
    from sklearn.decomposition import PCA
    z = (new - latent.mean_) / latent.scale_
    want = PCA(n_components=2, random_state=latent.random_state).fit(z).transform(z)
    got = table.loc[table.era == "2020", ["pca_1", "pca_2"]].to_numpy()
    np.testing.assert_allclose(got, want, atol=1e-4)
    assert dim_names(table) == [*(f"pca_{i}" for i in range(1, 6)),
                                *(f"emb_{i}" for i in range(1, 17))]
    assert list(table.song_id) == list(emb.songs.song_id)


def test_too_many_components_is_an_error_naming_the_limit():
    with pytest.raises(SongnetError, match=r"n_pca=40 must lie in 1\.\.16"):
        latent_dims(_embeddings(), n_pca=40)


def test_a_missing_map_column_lists_the_ones_there():
    maps = pd.DataFrame({"song_id": ["a"], "era": ["2020"], "theme": ["T01"],
                         "umap_1": [0.0], "umap_2": [0.0], "pca_1": [0.0], "pca_2": [0.0]})
    with pytest.raises(SongnetError, match=r"'pca_3'.*umap_1, umap_2, pca_1, pca_2.*latent_dims"):
        plot_latent_map(maps, dims=("pca_1", "pca_3"), check_dims=None)


def test_any_pair_of_dims_draws():
    table = latent_dims(_embeddings(), n_pca=4)
    fig = plot_latent_map(table, dims=("pca_1", "pca_3"), check_dims=("emb_2", "emb_7"))
    assert len(fig.axes) == 2
