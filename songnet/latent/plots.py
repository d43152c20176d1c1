"""Figures of the latent map and the persistence table (matplotlib, no file I/O)."""

from __future__ import annotations

import pandas as pd
from matplotlib.figure import Figure

from songnet.core.errors import SongnetError

__all__ = ["plot_latent_map", "plot_persistence"]

STATUS_COLOURS = {"persists": "#d9f0d3", "lost": "#f4cccc", "new": "#cfe2f3"}


def plot_latent_map(maps: pd.DataFrame, *, dims: tuple[str, str] = ("umap_1", "umap_2"),
                    check_dims: tuple[str, str] | None = ("pca_1", "pca_2")) -> Figure:
    """The latent map: 2020 songs coloured by theme, 1966 songs marked and labelled.

    Parameters
    ----------
    maps : pd.DataFrame
        Rows with ``era``, ``theme``, ``song_id`` and the columns named in ``dims``.
    dims : tuple of str
        The two columns of the main panel.
    check_dims : tuple of str, optional
        A second panel (PCA as a check); ``None`` for one panel.

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    SongnetError
        When ``maps`` lacks a column named in ``dims`` or ``check_dims``; the message lists
        the columns it has.
    """
    panels = [dims] + ([check_dims] if check_dims else [])
    missing = [d for pair in panels for d in pair if d not in maps.columns]
    if missing:
        from songnet.latent.dims import dim_names

        raise SongnetError(
            f"no latent dimension {missing[0]!r} in this table; it has "
            f"{', '.join(dim_names(maps))}. maps.csv holds two UMAP and two PCA columns: for "
            "other components or the embedding's own dimensions, plot the table of "
            "songnet.latent.dims.latent_dims(load_embeddings(folder))")
    fig = Figure(figsize=(6.5 * len(panels), 5.5), layout="constrained")
    axes = fig.subplots(1, len(panels), squeeze=False)[0]
    new = maps[maps.era == "2020"]
    old = maps[maps.era == "1966"]
    themes = sorted(new.theme.unique())
    cmap = _colours(len(themes))
    for ax, (dx, dy) in zip(axes, panels, strict=True):
        for colour, theme in zip(cmap, themes, strict=True):
            rows = new[new.theme == theme]
            ax.scatter(rows[dx], rows[dy], s=10, alpha=0.6, color=colour, label=f"2020 {theme}")
        ax.scatter(old[dx], old[dy], s=90, marker="*", color="black", label="1966 song")
        for _, row in old.iterrows():
            ax.annotate(row.song_id, (row[dx], row[dy]), xytext=(4, 4),
                        textcoords="offset points", fontsize=8)
        ax.set_xlabel(dx.replace("_", " "))
        ax.set_ylabel(dy.replace("_", " "))
    axes[0].set_title("latent map: 2020 themes and 1966 songs")
    if len(axes) > 1:
        axes[1].set_title("PCA (check)")
    axes[-1].legend(fontsize=7, loc="center left", bbox_to_anchor=(1.0, 0.5))
    return fig


def plot_persistence(persistence: pd.DataFrame) -> Figure:
    """The persistence table as a figure, rows shaded by status."""
    cols = [c for c in ("song_id", "theme_1966", "theme_2020", "distance", "threshold",
                        "margin", "persist_share", "n_2020", "status")
            if c in persistence.columns]
    cells = [[f"{v:.2f}" if isinstance(v, float) else str(v) for v in row]
             for row in persistence[cols].itertuples(index=False)]
    fig = Figure(figsize=(10, 0.35 * (len(cells) + 2)), layout="constrained")
    ax = fig.subplots()
    ax.axis("off")
    colours = [[STATUS_COLOURS.get(r[-1], "white")] * len(cols) for r in cells]
    table = ax.table(cellText=cells or [[""] * len(cols)], colLabels=cols,
                     cellColours=colours or None, loc="center")
    table.auto_set_font_size(False)
    table.set_fontsize(8)
    ax.set_title("1966 themes against 2020: persists / lost / new")
    return fig


def _colours(n: int) -> list:
    from matplotlib import colormaps

    cmap = colormaps["tab20" if n > 10 else "tab10"]
    return [cmap(i % cmap.N) for i in range(n)]
