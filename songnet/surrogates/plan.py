"""The plan of the surrogate dataset: every clip's spec (split, theme, bird, seed) in order,
made by bird, with the ``unknown`` clips of foreign themes and the ``no_song`` clips, before any
is rendered.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from songnet.core.labels import NO_SONG, SPLITS
from songnet.surrogates.birds import Bird, draw_bird
from songnet.surrogates.foreign import MAX_SONG_S, foreign_themes
from songnet.surrogates.realdata import RealMaterial, RealSong
from songnet.surrogates.synthesize_params import SynthesizeParams
from songnet.surrogates.themes import Theme

__all__ = [
    "FOREIGN_INTRO_S",
    "ClipSpec",
    "foreign_clip_s",
    "n_unknown",
    "plan_clips",
    "planned_singers",
]


@dataclasses.dataclass(frozen=True)
class ClipSpec:
    index: int
    split: str
    theme: Theme | None
    bird: Bird | None
    bird_id: str
    seed: int
    origin: str = ""  # a near-miss foreign theme: the catalog theme it was mutated from
    fragment: bool = False  # a no_song clip holding a piece of a chingolo song
    spread: float = 1.0  # the bird's variation, in units of the params' (stress: wider)
    real: RealSong | None = None  # a real song of the recordings, to augment


def plan_clips(themes: Sequence[Theme], params: SynthesizeParams, *, foreign: bool = True,
          real: RealMaterial | None = None) -> list[ClipSpec]:
    """Every clip's spec, in order; ``foreign=False`` leaves the ``unknown`` clips out (the
    other clips keep their birds, not their indices and seeds). The real songs of ``real``
    come last (``real_copies`` augmented clips of each in train, one in val and test), so
    the model's clips keep their indices and seeds with or without them."""
    specs: list[ClipSpec] = []
    root = np.random.SeedSequence(params.seed)
    bird_root, clip_root = root.spawn(2)
    for s, split in enumerate(SPLITS):
        n_birds = getattr(params, f"{split}_birds")
        n_songs = getattr(params, f"{split}_songs_per_bird")
        spread = params.stress_spread if split == "stress" else 1.0
        n_wide = _n_wide(params, split)
        for ti, theme in enumerate(themes):
            for b in range(n_birds):
                bird_id = f"{theme.name}-{split}-b{b:02d}"
                seq = np.random.SeedSequence(bird_root.entropy, spawn_key=(s, ti, b))
                # the last n_wide train birds of each theme vary like stress birds
                b_spread = params.stress_spread if b >= n_birds - n_wide else spread
                bird = draw_bird(theme, bird_id=bird_id, rng=np.random.default_rng(seq),
                                 params=params, spread=b_spread)
                specs += [ClipSpec(0, split, theme, bird, bird_id, 0, spread=b_spread)
                          for _ in range(n_songs)]
        if foreign:
            specs += _foreign_specs(themes, params, split, s, spread, bird_root)
        n_bg = round(params.no_song_factor * n_birds * n_songs)
        frag_rng = np.random.default_rng(np.random.SeedSequence(bird_root.entropy,
                                                                spawn_key=(s, 99_999)))
        for k in range(n_bg):
            bird_id = f"{NO_SONG}-{split}-{k:04d}"
            if frag_rng.uniform() < params.fragment_prob:  # a song cut to a piece: no song
                theme = _fragment(themes[int(frag_rng.integers(len(themes)))], frag_rng)
                bird = draw_bird(theme, bird_id=bird_id, rng=frag_rng, params=params,
                                 spread=spread)
                specs.append(ClipSpec(0, split, theme, bird, bird_id, 0, fragment=True,
                                   spread=spread))
            else:
                specs.append(ClipSpec(0, split, None, None, bird_id, 0))
    by_name = {t.name: t for t in themes}
    for song in () if real is None else real.songs:
        copies = params.real_copies if song.split == "train" else 1
        bird_id = f"real-{song.theme}-{Path(song.recording).stem}"
        specs += [ClipSpec(0, song.split, by_name[song.theme], None, bird_id, 0, real=song)
                  for _ in range(copies)]
    out = []
    for i, sp in enumerate(specs):
        seed = int(np.random.SeedSequence(clip_root.entropy, spawn_key=(i,)).generate_state(1)[0])
        out.append(dataclasses.replace(sp, index=i, seed=seed))
    return out


def planned_singers(themes: Sequence[Theme], params: SynthesizeParams
                    ) -> list[tuple[Theme, Bird, float]]:
    """Every bird the dataset plans for a catalog theme, once: ``(theme, bird, sd)``, the
    theme as the bird sings it (a ``no_song`` fragment's piece of it, under the catalog
    theme's name), the bird and its rendition s.d. (see
    :func:`songnet.surrogates.birds.longest_rendition`). Foreign themes are left out: they
    are drawn short enough for the clip."""
    singers: dict[str, tuple[Theme, Bird, float]] = {}
    for sp in plan_clips(themes, params, foreign=False):
        if sp.theme is not None and sp.bird_id not in singers:
            singers[sp.bird_id] = (sp.theme, sp.bird, params.rendition_sd * sp.spread)
    return list(singers.values())


def _fragment(theme: Theme, rng: np.random.Generator) -> Theme:
    """A piece of a chingolo song that is not a song: the introduction with at most one
    trill syllable, one introductory note, or the trill alone (two syllables up to half
    again its full length, no introduction: a chingolo song always opens with its theme's
    notes, and a trill alone is what other species' trills look like)."""
    kind = int(rng.integers(3))
    if kind == 0:
        return dataclasses.replace(theme, trill=dataclasses.replace(theme.trill, count=1))
    if kind == 1:
        note = theme.notes[int(rng.integers(len(theme.notes)))]
        return dataclasses.replace(theme, notes=(note,),
                                   trill=dataclasses.replace(theme.trill, count=1,
                                                             loudness=(0.05, 0.05, 0.05)))
    longest = max(5, round(1.5 * theme.trill.count))
    return dataclasses.replace(theme, notes=(), trill=dataclasses.replace(
        theme.trill, count=int(rng.integers(2, longest + 1))))


def _n_wide(params: SynthesizeParams, split: str) -> int:
    """Birds per theme of ``split`` that vary ``stress_spread`` times more than the
    params say: ``train_wide_share`` of the train birds (stress-like variation in training),
    none elsewhere (val and test birds stay ordinary, stress birds are all wide)."""
    return round(params.train_wide_share * params.train_birds) if split == "train" else 0


def n_unknown(params: SynthesizeParams, split: str) -> int:
    """``unknown`` clips in ``split``: ``unknown_factor`` x one theme's songs there."""
    return round(params.unknown_factor * getattr(params, f"{split}_birds")
                 * getattr(params, f"{split}_songs_per_bird"))


FOREIGN_INTRO_S = 0.15
"""Room a foreign theme needs before its trill (s): one short note and its gap."""


def _slowest(params: SynthesizeParams, spread: float) -> float:
    """How much the slowest bird stretches a song: tempo and rendition 2.5 s.d. slow, its
    notes 2.5 s.d. long."""
    return ((1 - 2.5 * params.bird_tempo_sd * spread) * (1 - 2.5 * params.rendition_sd * spread)
            / (1 + 2.5 * 0.06 * spread))


def _foreign_shortest_s(themes: Sequence[Theme]) -> float:
    """The shortest foreign theme to leave room for: the catalog's trill (the first theme's,
    as foreign themes sing it) after :data:`FOREIGN_INTRO_S` of introduction."""
    return themes[0].trill.duration_s() + FOREIGN_INTRO_S


def _foreign_max_s(params: SynthesizeParams, spread: float, themes: Sequence[Theme]) -> float:
    """The longest foreign theme whose songs always fit a clip: the slowest bird
    (:func:`_slowest`), plus lead-in and one more trill syllable (0.2 s); at most
    :data:`MAX_SONG_S`, or the catalog's longest theme, or its shortest foreign theme."""
    longest = max(MAX_SONG_S, _foreign_shortest_s(themes), *(t.duration_s for t in themes))
    return min(longest, max(0.3, (params.clip_s - 0.2) * _slowest(params, spread)))


def foreign_clip_s(themes: Sequence[Theme], params: SynthesizeParams) -> float:
    """The shortest clip in which the widest-varying birds' foreign themes have room for the
    catalog's trill after a short introduction (:data:`FOREIGN_INTRO_S`); 0 without
    ``unknown`` clips."""
    slow = _slowest(params, max(1.0, params.stress_spread))
    if params.unknown_factor == 0 or slow <= 0:
        return 0.0
    return _foreign_shortest_s(themes) / slow + 0.2


def _foreign_specs(themes: Sequence[Theme], params: SynthesizeParams, split: str, s: int,
                   spread: float, bird_root: np.random.SeedSequence) -> list[ClipSpec]:
    """One song per foreign theme, each by its own bird (split ``s``'s own themes)."""
    n = n_unknown(params, split)
    if n == 0:
        return []
    seq = np.random.SeedSequence(bird_root.entropy, spawn_key=(s, len(themes) + 1000))
    rng = np.random.default_rng(seq)
    specs = []
    foreign = foreign_themes(themes, n, rng=rng, min_distance=params.unknown_distance,
                             own_trill=params.unknown_own_trill, near=params.unknown_near,
                             max_s=_foreign_max_s(params, spread, themes))
    for k, (theme, origin) in enumerate(foreign):
        bird_id = f"{theme.name}-{split}-b{k:04d}"
        bird = draw_bird(theme, bird_id=bird_id, rng=rng, params=params, spread=spread)
        specs.append(ClipSpec(0, split, theme, bird, bird_id, 0, origin, spread=spread))
    return specs
