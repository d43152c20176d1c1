"""Theme CQT images: one per theme, the notes where the catalog puts them."""

from __future__ import annotations

import numpy as np

from songnet.features.params import FeatureParams
from songnet.features.theme_plots import image_grid, theme_images
from songnet.surrogates.themes import load_catalog


def test_theme_image_shows_the_whistle_at_its_pitch():
    params = FeatureParams()
    theme = load_catalog()[0]  # T01 opens with a 4.5 kHz whistle, 0.05-0.20 s
    (img,) = theme_images([theme], params=params)
    assert img.shape == (params.n_bins, params.n_frames)
    frames = slice(int(0.09 / params.frame_s), int(0.16 / params.frame_s))
    peak_hz = params.frequencies[np.argmax(img[:, frames].mean(axis=1))]
    assert abs(np.log2(peak_hz / 4500)) < 0.15  # within ~2 semitones (bird transposition)
    fig = image_grid([img, img], ["a", "b"], params=params, durations_s=[1.0, 2.0])
    assert len(fig.axes) == 2


def test_theme_images_follow_the_frontend():
    params = FeatureParams(frontend="mel")
    theme = load_catalog()[0]
    (img,) = theme_images([theme], params=params)
    assert img.shape == (params.n_bins, params.n_frames)
    frames = slice(int(0.09 / params.frame_s), int(0.16 / params.frame_s))
    peak_hz = params.frequencies[np.argmax(img[:, frames].mean(axis=1))]
    assert abs(np.log2(peak_hz / 4500)) < 0.15
    fig = image_grid([img], ["a"], params=params)
    ax = fig.axes[0]
    ticks = dict(zip([t.get_text() for t in ax.get_yticklabels()], ax.get_yticks(),
                     strict=True))
    assert abs(params.frequencies[round(ticks["4"])] - 4000) < 60  # mel rows, not log rows
