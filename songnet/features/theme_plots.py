"""Images of themes (the ``features.frontend``: Constant-Q by default), for ``songnet themes
--plot`` and the README comparison."""

from __future__ import annotations

from collections.abc import Sequence

import librosa
import numpy as np
from matplotlib.figure import Figure

from songnet.features.frontends import frequency_rows
from songnet.features.images import image_reference
from songnet.features.params import FeatureParams
from songnet.surrogates.birds import sing
from songnet.surrogates.themes import Theme
from songnet.synth import SR

__all__ = ["image_grid", "theme_images"]


def theme_images(themes: Sequence[Theme], *, seed: int = 0,
                 params: FeatureParams | None = None) -> list[np.ndarray]:
    """One clean song per theme (its own bird, from ``seed``) as an image (CQT by default).

    Returns
    -------
    list of np.ndarray [shape=(n_bins, n_frames)]
    """
    params = FeatureParams() if params is None else params
    out = []
    for i, theme in enumerate(themes):
        rng = np.random.default_rng([seed, i])
        y = sing(theme, rng=rng)
        y = librosa.resample(y, orig_sr=SR, target_sr=params.sr)
        out.append(image_reference(y, params=params))
    return out


def image_grid(images: Sequence[np.ndarray], titles: Sequence[str], *, params: FeatureParams,
               durations_s: Sequence[float] | None = None, ncols: int = 4) -> Figure:
    """A grid of images with time (s) and frequency (kHz) axes.

    ``durations_s`` crops each image to its first seconds (default: the whole window).
    """
    n = len(images)
    nrows = max(1, -(-n // ncols))
    fig = Figure(figsize=(3.2 * ncols, 2.4 * nrows), layout="constrained")
    freqs = params.frequencies / 1000
    for k, (img, title) in enumerate(zip(images, titles, strict=True)):
        ax = fig.add_subplot(nrows, ncols, k + 1)
        n_frames = img.shape[1]
        if durations_s is not None:
            n_frames = min(n_frames, int(np.ceil(durations_s[k] / params.frame_s)) + 1)
        t_end = n_frames * params.frame_s
        ax.imshow(img[:, :n_frames], origin="lower", aspect="auto", cmap="magma",
                  extent=(0, t_end, -0.5, img.shape[0] - 0.5), vmin=0, vmax=1,
                  interpolation="nearest")
        ticks = [k for k in (1, 2, 3, 4, 6, 8) if freqs[0] <= k <= freqs[-1]]
        ax.set_yticks(frequency_rows(np.asarray(ticks, dtype=float) * 1000, params=params))
        ax.set_yticklabels([str(k) for k in ticks])
        ax.set_title(title, fontsize=9)
        ax.set_xlabel("s", fontsize=8)
        ax.set_ylabel("kHz", fontsize=8)
        ax.tick_params(labelsize=7)
    return fig
