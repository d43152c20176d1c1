"""How long a catalog's clips must be, and how long a surrogate set's clips are.

A real chingolo song may outlast the 3-s clip (a slow trill: DESIGN.md, "Real birds vary"),
and its slowest birds sing it slower still. :func:`fit_clip` therefore finds what the
clips must hold (:func:`clip_need`): the longest song the planned birds can sing
(:func:`longest_song`, every rendition draw at its long end), and room for the foreign
themes, which sing the catalog's trill. When that does not fit ``synthesize.clip_s``, the
clips are lengthened, rounded up to :data:`CLIP_STEP_S`. The manifest records the length
used (its ``duration_s`` column, the same on every row), and :func:`clip_length` reads it
back, so that ``songnet features`` makes images as long as the clips.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence

import numpy as np
import pandas as pd

from songnet.core.errors import SongnetError
from songnet.surrogates.birds import longest_rendition
from songnet.surrogates.plan import foreign_clip_s, planned_singers
from songnet.surrogates.synthesize_params import SynthesizeParams
from songnet.surrogates.themes import Theme
from songnet.synth import SR

__all__ = ["CLIP_STEP_S", "MAX_CLIP_S", "ClipNeed", "clip_length", "clip_need", "fit_clip",
           "longest_song"]

CLIP_STEP_S = 0.5
"""Clips lengthened to hold a catalog's songs last a multiple of this (s)."""
MAX_CLIP_S = 60.0
"""The longest clip (s), as ``synthesize.clip_s`` allows."""


@dataclasses.dataclass(frozen=True)
class ClipNeed:
    """What the clips of a catalog must hold.

    Attributes
    ----------
    theme : str
        The catalog theme that needs it.
    duration_s : float
        The clip length it needs (s).
    foreign : bool
        False: the longest song (or ``no_song`` piece) of ``theme`` the planned birds can
        sing, its silent lead-in and -out included. True: room for the foreign themes,
        which sing ``theme``'s trill after an introduction of their own.
    """

    theme: str
    duration_s: float
    foreign: bool = False

    def describe(self) -> str:
        """What needs the length, in words (for a note)."""
        if self.foreign:
            return f"unknown themes with the trill of {self.theme} need {self.duration_s:.2f} s"
        return (f"theme {self.theme}'s slowest birds sing songs of up to "
                f"{self.duration_s:.2f} s")


def longest_song(themes: Sequence[Theme], params: SynthesizeParams) -> ClipNeed:
    """The longest song :func:`~songnet.surrogates.synthesize.synthesize` can render for
    ``themes`` with ``params``: over every planned bird of a catalog theme (and every
    ``no_song`` piece of one), the longest of its possible renditions
    (:func:`~songnet.surrogates.birds.longest_rendition`).

    Raises
    ------
    SongnetError
        For an empty catalog.
    """
    if not themes:
        raise SongnetError("the theme catalog is empty; give at least one theme")
    name, n = "", 0
    for theme, bird, sd in planned_singers(themes, params):
        k = longest_rendition(theme, bird, sd=sd)
        if k > n:
            name, n = theme.name, k
    return ClipNeed(theme=name, duration_s=n / SR)


def clip_need(themes: Sequence[Theme], params: SynthesizeParams) -> ClipNeed:
    """The longer of :func:`longest_song` and the foreign themes' room
    (:func:`~songnet.surrogates.plan.foreign_clip_s`)."""
    song = longest_song(themes, params)
    foreign = foreign_clip_s(themes, params)
    if foreign > song.duration_s:
        return ClipNeed(theme=themes[0].name, duration_s=foreign, foreign=True)
    return song


def fit_clip(themes: Sequence[Theme], params: SynthesizeParams, *,
             step_s: float = CLIP_STEP_S) -> tuple[SynthesizeParams, ClipNeed]:
    """``params`` with clips long enough for the catalog (:func:`clip_need`).

    Parameters
    ----------
    themes : sequence of Theme
        The catalog.
    params : SynthesizeParams
        Its ``clip_s`` is kept when the need fits it.
    step_s : float
        A longer clip is the need rounded up to a multiple of this (s).

    Returns
    -------
    params : SynthesizeParams
        ``params``, or a copy with a longer ``clip_s``.
    need : ClipNeed
        What the clips must hold.

    Raises
    ------
    SongnetError
        When the clip would outlast :data:`MAX_CLIP_S`, naming the theme.
    """
    need = clip_need(themes, params)
    if round(need.duration_s * SR) <= round(params.clip_s * SR):
        return params, need
    clip_s = math.ceil(need.duration_s / step_s - 1e-9) * step_s
    if clip_s > MAX_CLIP_S:
        raise SongnetError(f"{need.describe()}, over the {MAX_CLIP_S:g}-s limit of a clip; "
                           "shorten the theme's notes or trill, or narrow the birds' variation")
    return dataclasses.replace(params, clip_s=round(clip_s, 6)), need


def clip_length(manifest: pd.DataFrame) -> float | None:
    """The clip length a surrogate manifest records: the largest value of its ``duration_s``
    column (``songnet synthesize`` writes the clip length there, the same on every row);
    None for a manifest without that column (clips of your own)."""
    if "duration_s" not in manifest.columns:
        return None
    durations = pd.to_numeric(manifest["duration_s"], errors="coerce").to_numpy(dtype=float)
    durations = durations[np.isfinite(durations) & (durations > 0)]
    return float(durations.max()) if durations.size else None
