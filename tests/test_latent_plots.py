"""Latent map and persistence figures: panels, labels and status colours."""

from __future__ import annotations

import numpy as np
import pandas as pd

from songnet.latent.plots import STATUS_COLOURS, plot_latent_map, plot_persistence


def maps():
    rng = np.random.default_rng(0)
    df = pd.DataFrame({"song_id": ["a", "b", "c", "d", "1966-x"],
                       "era": ["2020"] * 4 + ["1966"],
                       "theme": ["T01", "T01", "T02", "T02", "L1"]})
    for col in ("umap_1", "umap_2", "pca_1", "pca_2"):
        df[col] = rng.normal(size=len(df))
    return df


def test_latent_map_panels_and_labels():
    two = plot_latent_map(maps())
    assert [ax.get_xlabel() for ax in two.axes[:2]] == ["umap 1", "pca 1"]
    one = plot_latent_map(maps(), dims=("pca_1", "pca_2"), check_dims=None)
    assert len(one.axes) == 1
    ax = one.axes[0]
    assert [t.get_text() for t in ax.texts] == ["1966-x"]  # only 1966 songs are labelled
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend == ["2020 T01", "2020 T02", "1966 song"]
    star = ax.collections[-1].get_offsets()
    np.testing.assert_allclose(star[0], maps().loc[4, ["pca_1", "pca_2"]].to_numpy(float))


def test_persistence_figure_colours_rows_by_status():
    table = pd.DataFrame({"song_id": ["x", "y", ""], "theme_1966": ["T01", "L1", ""],
                          "theme_2020": ["T01", "T02", "T02"], "distance": [1.0, 9.0, 8.0],
                          "threshold": [2.0, 2.0, 2.0], "status": ["persists", "lost", "new"]})
    fig = plot_persistence(table)
    cells = fig.axes[0].tables[0].get_celld()
    assert cells[(1, 5)].get_text().get_text() == "persists"
    assert cells[(2, 3)].get_text().get_text() == "9.00"
    from matplotlib.colors import to_rgba
    for row, status in enumerate(table.status, start=1):
        assert cells[(row, 0)].get_facecolor() == to_rgba(STATUS_COLOURS[status])
