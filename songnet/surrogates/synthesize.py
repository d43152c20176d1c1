"""The surrogate dataset: birds, renditions, recording conditions, ``no_song`` clips.

Each theme is sung by simulated *birds*: a bird keeps a personal version of its theme
(pitch transposition, tempo, per-note pitch and length, trill rate), its own γ jitter and
trachea. Each *rendition* jitters every note a little. Each clip then gets recording
conditions (:mod:`songnet.surrogates.conditions`): distance, coloured background noise, wind, clutter
(other model-made calls, insects), optional reverberation, at an SNR drawn from a range.

Splits ``train``, ``val``, ``test`` and ``stress`` (harder: low SNR, wider bird variation,
heavy clutter) are made **by bird**: no bird sings in two splits. ``no_song`` clips
(background and clutter only) appear in every split, and so do ``unknown`` clips: songs of
foreign themes (:mod:`songnet.surrogates.foreign`), each its own random theme sung by its
own bird, new in every split. Every clip has its own seed, derived
from the stage seed and the clip's index, so the bytes do not depend on the number of
workers.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import dataclasses
import math
import os
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import soundfile as sf

from songnet.core.errors import SongnetError
from songnet.core.labels import NO_SONG, REAL_CLIP_SUFFIX, SPLITS
from songnet.core.progress import ProgressCallback
from songnet.surrogates import conditions as cond
from songnet.surrogates import others
from songnet.surrogates.foreign import MAX_SONG_S, foreign_themes
from songnet.surrogates.realdata import RealMaterial, RealSong
from songnet.surrogates.themes import Theme, contour
from songnet.synth import SR, Gesture, Tract, gestures_from_contour, render_batch

__all__ = ["FOREIGN_INTRO_S", "MANIFEST", "MANIFEST_COLUMNS", "SPLITS", "Bird", "Clip",
           "SynthesizeParams", "draw_bird", "foreign_clip_s", "load_manifest",
           "longest_rendition", "n_clips", "planned_singers", "save_manifest", "sing", "sing_bird",
           "synthesize", "write_clip"]

MANIFEST = "manifest.csv"
MANIFEST_COLUMNS = ("path", "theme", "split")
"""Columns every manifest needs (``id`` and the variation columns are optional)."""
CHUNK = 16  # clips rendered together; fixed, so outputs do not depend on the worker count
REVERB_T60_S = (0.1, 0.8)
"""The reverberation times drawn without measured real songs (s)."""
MIN_T60_S = 0.05
"""The shortest tail drawn from real songs' measures: a dry site's 0 still gets a trace."""


@dataclasses.dataclass(frozen=True)
class SynthesizeParams:
    """The ``synthesize`` section of params.yaml (ranges are ``[low, high]``)."""

    seed: int = 0
    clip_s: float = 3.0
    train_birds: int = 8
    train_songs_per_bird: int = 8
    val_birds: int = 3
    val_songs_per_bird: int = 6
    test_birds: int = 3
    test_songs_per_bird: int = 6
    stress_birds: int = 3
    stress_songs_per_bird: int = 6
    no_song_factor: float = 2.0
    snr_db: tuple[float, float] = (-6.0, 30.0)
    stress_snr_db: tuple[float, float] = (-6.0, 6.0)
    distance_m: tuple[float, float] = (5.0, 40.0)
    bird_pitch_sd: float = 0.03
    bird_tempo_sd: float = 0.05
    rendition_sd: float = 0.015
    stress_spread: float = 2.0
    train_wide_share: float = 0.0
    gamma_jitter: float = 0.015
    tract_length_cm: tuple[float, float] = (3.3, 4.0)
    reflection: tuple[float, float] = (0.05, 0.15)
    clutter_prob: float = 0.5
    reverb_prob: float = 0.3
    unknown_factor: float = 2.0
    unknown_distance: float = 3.0
    unknown_own_trill: float = 0.0
    unknown_near: float = 0.0
    world_prob: float = 0.8
    fragment_prob: float = 0.2
    negatives: str = ""
    negatives_prob: float = 0.5
    recordings: str = ""
    real_copies: int = 8
    real_background_prob: float = 0.5
    workers: int = 2

    def __post_init__(self) -> None:
        if self.clip_s <= 0:
            raise ValueError(f"clip_s={self.clip_s} must be positive")
        for split in SPLITS:
            if getattr(self, f"{split}_birds") < 1 or getattr(self, f"{split}_songs_per_bird") < 1:
                raise ValueError(f"{split}_birds and {split}_songs_per_bird must be at least 1")
        for name in ("snr_db", "stress_snr_db", "distance_m", "tract_length_cm", "reflection"):
            lo, hi = getattr(self, name)
            if lo > hi:
                raise ValueError(f"{name}=[{lo}, {hi}] must be [low, high]")
        if not (0 < self.distance_m[0] and self.distance_m[1] <= 1000):
            raise ValueError(f"distance_m={list(self.distance_m)} must lie in (0, 1000] m")
        if not 0 < self.clip_s <= 60:
            raise ValueError(f"clip_s={self.clip_s} must lie in (0, 60] s (the limit)")
        for name in ("clutter_prob", "reverb_prob"):
            if not 0 <= getattr(self, name) <= 1:
                raise ValueError(f"{name}={getattr(self, name)} must lie in [0, 1]")
        if self.workers < 1:
            raise ValueError(f"workers={self.workers} must be at least 1")
        if not 0 <= self.unknown_factor <= 10:
            raise ValueError(f"unknown_factor={self.unknown_factor} must lie in [0, 10]")
        if not 0.5 <= self.unknown_distance <= 6:
            raise ValueError(f"unknown_distance={self.unknown_distance} must lie in [0.5, 6] "
                             "(notes' worth of difference)")
        if not 1 <= self.real_copies <= 100:
            raise ValueError(f"real_copies={self.real_copies} must lie in [1, 100]")
        for name in ("unknown_own_trill", "unknown_near", "world_prob", "fragment_prob",
                     "negatives_prob", "train_wide_share", "real_background_prob"):
            if not 0 <= getattr(self, name) <= 1:
                raise ValueError(f"{name}={getattr(self, name)} must lie in [0, 1]")


@dataclasses.dataclass(frozen=True)
class Bird:
    """One simulated bird's personal version of its theme."""

    bird_id: str
    pitch: float
    tempo: float
    note_pitch: tuple[float, ...]
    note_time: tuple[float, ...]
    trill_interval: float
    gamma_factor: float
    tract: Tract


@dataclasses.dataclass(frozen=True, eq=False)
class Clip:
    """One clip of the dataset: its path under the dataset folder, samples and manifest row."""

    path: str
    samples: np.ndarray
    row: dict[str, Any]


def _normal(rng: np.random.Generator, sd: float, size: int | None = None) -> Any:
    """1 + N(0, sd), clipped at ±2.5 sd."""
    return 1.0 + np.clip(rng.normal(0.0, sd, size), -2.5 * sd, 2.5 * sd)


def draw_bird(theme: Theme, *, bird_id: str, rng: np.random.Generator,
              params: SynthesizeParams, spread: float = 1.0) -> Bird:
    """Draw a bird singing ``theme``; ``spread`` widens the variation (stress birds)."""
    k = len(theme.notes)
    p = params
    # a learned theme's measured spread stands for the params' bird variation
    pitch_sd = p.bird_pitch_sd if theme.spread is None else theme.spread.pitch
    tempo_sd = p.bird_tempo_sd if theme.spread is None else theme.spread.tempo
    return Bird(bird_id=bird_id, pitch=float(_normal(rng, pitch_sd * spread)),
                tempo=float(_normal(rng, tempo_sd * spread)),
                note_pitch=tuple(_normal(rng, 0.015 * spread, k).tolist()),
                note_time=tuple(_normal(rng, 0.06 * spread, k).tolist()),
                trill_interval=float(_normal(rng, 0.04 * spread)),
                gamma_factor=float(_normal(rng, p.gamma_jitter)),
                tract=Tract(length_cm=float(rng.uniform(*p.tract_length_cm)),
                            reflection=float(rng.uniform(*p.reflection))))


def _song_gesture(theme: Theme, bird: Bird, *, rng: np.random.Generator, sd: float
                  ) -> tuple[Gesture, dict[str, Any]]:
    k = len(theme.notes)
    note_pitch = np.array(bird.note_pitch) * _normal(rng, sd, k)
    note_time = np.array(bird.note_time) * _normal(rng, 2 * sd, k)
    note_amp = rng.uniform(0.7, 1.0, k)
    tempo = bird.tempo * float(_normal(rng, sd))
    trill_count = theme.trill.count + int(rng.integers(-1, 2))
    t, f0, amp = contour(theme, pitch=bird.pitch, tempo=tempo, note_pitch=note_pitch,
                         note_time=note_time, note_amp=note_amp,
                         trill_interval=bird.trill_interval, trill_count=trill_count, rng=rng)
    # one γ when the song's pitch range allows it, else a slowly varying γ(t)
    gesture = gestures_from_contour(t, f0, amp, gamma_scale=bird.gamma_factor)
    info = {"pitch_factor": bird.pitch, "tempo": tempo, "trill_interval_factor":
            bird.trill_interval, "trill_count": trill_count, "gamma": gesture.gamma_median,
            "tract_length_cm": bird.tract.length_cm, "reflection": bird.tract.reflection}
    return gesture, info


def longest_rendition(theme: Theme, bird: Bird, *, sd: float) -> int:
    """Samples of the longest song ``bird`` can sing of ``theme``, silent lead-in and -out
    included: every length draw of a rendition at its long end (they are clipped at 2.5
    s.d.): tempo slow, notes long, one more trill syllable, the trill's last onset jittered
    late and its first early. ``sd`` is the rendition s.d. (``rendition_sd`` x the bird's
    spread), as the clip's rendering uses it."""
    tempo = bird.tempo * (1 - 2.5 * sd)
    t, _, _ = contour(theme, tempo=tempo, note_time=np.array(bird.note_time) * (1 + 5 * sd),
                      trill_interval=bird.trill_interval, trill_count=theme.trill.count + 1)
    tr = theme.trill
    late_s = 5 * tr.jitter * tr.interval_s * bird.trill_interval / tempo
    return t.size + math.ceil(late_s * SR) + 1


def sing(theme: Theme, *, rng: np.random.Generator,
         params: SynthesizeParams = SynthesizeParams()) -> np.ndarray:
    """One clean song of ``theme`` by a random bird: float32 ``(n,)`` at SR, peak 0.9."""
    bird = draw_bird(theme, bird_id="sing", rng=rng, params=params)
    return sing_bird(theme, bird, 1, rng=rng, params=params)[0]


def sing_bird(theme: Theme, bird: Bird, n: int, *, rng: np.random.Generator,
              params: SynthesizeParams = SynthesizeParams()) -> list[np.ndarray]:
    """``n`` clean renditions of ``theme`` by one ``bird`` (:func:`draw_bird`): float32 at
    SR, each at peak 0.9; they differ by the params' rendition spread."""
    out = []
    for _ in range(n):
        gesture, _ = _song_gesture(theme, bird, rng=rng, sd=params.rendition_sd)
        y = render_batch(gesture.alpha[None], gesture.beta[None], gesture.envelope[None],
                         gamma=gesture.gamma_t[None], tracts=[bird.tract])[0]
        out.append((0.9 * y / max(np.abs(y).max(), 1e-12)).astype(np.float32))
    return out


@dataclasses.dataclass(frozen=True)
class _Spec:
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


def _plan(themes: Sequence[Theme], params: SynthesizeParams, *, foreign: bool = True,
          real: RealMaterial | None = None) -> list[_Spec]:
    """Every clip's spec, in order; ``foreign=False`` leaves the ``unknown`` clips out (the
    other clips keep their birds, not their indices and seeds). The real songs of ``real``
    come last (``real_copies`` augmented clips of each in train, one in val and test), so
    the model's clips keep their indices and seeds with or without them."""
    specs: list[_Spec] = []
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
                specs += [_Spec(0, split, theme, bird, bird_id, 0, spread=b_spread)
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
                specs.append(_Spec(0, split, theme, bird, bird_id, 0, fragment=True,
                                   spread=spread))
            else:
                specs.append(_Spec(0, split, None, None, bird_id, 0))
    by_name = {t.name: t for t in themes}
    for song in () if real is None else real.songs:
        copies = params.real_copies if song.split == "train" else 1
        bird_id = f"real-{song.theme}-{Path(song.recording).stem}"
        specs += [_Spec(0, song.split, by_name[song.theme], None, bird_id, 0, real=song)
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
    theme's name), the bird and its rendition s.d. (see :func:`longest_rendition`).
    Foreign themes are left out: they are drawn short enough for the clip."""
    singers: dict[str, tuple[Theme, Bird, float]] = {}
    for sp in _plan(themes, params, foreign=False):
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


def _n_unknown(params: SynthesizeParams, split: str) -> int:
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
                   spread: float, bird_root: np.random.SeedSequence) -> list[_Spec]:
    """One song per foreign theme, each by its own bird (split ``s``'s own themes)."""
    n = _n_unknown(params, split)
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
        specs.append(_Spec(0, split, theme, bird, bird_id, 0, origin, spread=spread))
    return specs


def _render_chunk(specs: Sequence[_Spec], params: SynthesizeParams,
                  negatives: Sequence[np.ndarray] = (), real: RealMaterial | None = None
                  ) -> list[Clip]:
    rngs = [np.random.default_rng(sp.seed) for sp in specs]
    songs: dict[int, tuple[Gesture, dict[str, Any]]] = {}
    for j, sp in enumerate(specs):
        if sp.theme is not None and sp.real is None:
            sd = params.rendition_sd * sp.spread
            songs[j] = _song_gesture(sp.theme, sp.bird, rng=rngs[j], sd=sd)
    rendered: dict[int, np.ndarray] = {}
    if songs:
        idx = sorted(songs)
        length = max(songs[j][0].n_samples for j in idx)
        shape = (len(idx), length)
        alpha, beta, env = np.full(shape, -0.15), np.full(shape, -0.15), np.zeros(shape)
        gamma = np.empty(shape)
        for r, j in enumerate(idx):
            g = songs[j][0]
            alpha[r, :g.n_samples], beta[r, :g.n_samples] = g.alpha, g.beta
            env[r, :g.n_samples] = g.envelope
            gamma[r, :g.n_samples] = g.gamma_t
            gamma[r, g.n_samples:] = g.gamma_t[-1]
        out = render_batch(alpha, beta, env, gamma=gamma,
                           tracts=[specs[j].bird.tract for j in idx], parallel=False)
        rendered = {j: out[r, :songs[j][0].n_samples] for r, j in enumerate(idx)}
    return [_finish_real(sp, rngs[j], params, negatives, real) if sp.real is not None
            else _finish(sp, rngs[j], rendered.get(j), songs.get(j), params, negatives, real)
            for j, sp in enumerate(specs)]


def _finish(sp: _Spec, rng: np.random.Generator, song: np.ndarray | None,
            song_info: tuple[Gesture, dict[str, Any]] | None, params: SynthesizeParams,
            negatives: Sequence[np.ndarray] = (), real: RealMaterial | None = None) -> Clip:
    n = round(params.clip_s * SR)
    stress = sp.split == "stress"
    clip = np.zeros(n)
    row: dict[str, Any] = {"theme": NO_SONG, "bird_id": sp.bird_id, "split": sp.split,
                           "seed": sp.seed, "duration_s": n / SR, "snr_db": np.nan,
                           "onset_s": np.nan, "offset_s": np.nan, "pitch_factor": np.nan,
                           "tempo": np.nan, "trill_interval_factor": np.nan,
                           "trill_count": -1, "gamma": np.nan, "tract_length_cm": np.nan,
                           "reflection": np.nan, "distance_m": np.nan,
                           "foreign_of": sp.origin}
    song_rms = 0.0
    if song is not None:
        gesture, info = song_info
        if song.size > n:
            raise SongnetError(f"a song of theme {sp.theme.name} lasts {song.size / SR:.2f} s, "
                               f"longer than clip_s={params.clip_s}; raise synthesize.clip_s")
        voiced = gesture.envelope > 0.05 * gesture.envelope.max()
        start = int(rng.integers(0, n - song.size + 1))
        distance = float(rng.uniform(*params.distance_m))
        song = cond.apply_distance(song, distance)
        clip[start:start + song.size] = song
        song_rms = cond.rms(song[voiced])
        on = np.flatnonzero(voiced)
        row.update(info, theme=sp.theme.name, distance_m=distance,
                   onset_s=(start + on[0]) / SR, offset_s=(start + on[-1]) / SR)
        if sp.fragment:  # a piece of a song is no song; its times stay in the manifest
            row["theme"] = NO_SONG
    reverb_p = min(1.0, params.reverb_prob * (2.0 if stress else 1.0))
    t60, wet = 0.0, 0.0
    if rng.uniform() < reverb_p:
        lo, hi = REVERB_T60_S if real is None or real.t60_range_s is None else (
            max(real.t60_range_s[0], MIN_T60_S), max(real.t60_range_s[1], MIN_T60_S))
        t60, wet = float(rng.uniform(lo, hi)), float(rng.uniform(0.1, 0.5))
        if song is not None:
            clip = cond.reverberate(clip, t60_s=t60, wet=wet, rng=rng)
        else:  # drawn all the same, so every clip uses its generator alike
            t60, wet = 0.0, 0.0
    exponent = float(rng.uniform(0.0, 2.0))
    background = cond.coloured_noise(n, exponent=exponent, rng=rng)
    wind = float(rng.uniform(0.0, 1.5))
    background = background + wind * cond.wind_rumble(n, rng=rng)
    clutter_p = 1.0 if (stress or song is None) else params.clutter_prob
    n_calls, insect = 0, 0.0
    if rng.uniform() < clutter_p:
        n_calls = int(rng.integers(1, 5 if stress else 3))
        background = background + float(rng.uniform(0.5, 2.0)) * cond.clutter_calls(
            n, count=n_calls, rng=rng)
        if rng.uniform() < 0.5:
            insect = float(rng.uniform(0.2, 1.0))
            background = background + insect * cond.insect_tone(n, rng=rng)
    world = ""
    # a fragment clip holds the fragment alone (other birds' notes before a piece of trill
    # would make a song of an unknown theme look like no song)
    if rng.uniform() < params.world_prob * (1.0 if song is None else 0.0 if sp.fragment
                                            else 0.5):
        sounds, kinds = others.world_mix(n, rng=rng)
        background = background / max(cond.rms(background), 1e-12) \
            + float(rng.uniform(0.5, 3.0)) * sounds
        world = "+".join(kinds)
    site = ""
    if real is not None:
        site_background, site = _site_background(real, n, rng, params)
        if site:
            background, world = site_background, ""
    negative = ""
    if negatives and rng.uniform() < params.negatives_prob * (
            1.0 if song is None or sp.fragment else 0.5):
        k = int(rng.integers(len(negatives)))
        background = background / max(cond.rms(background), 1e-12) \
            + float(rng.uniform(0.5, 3.0)) * _excerpt(negatives[k], n, rng)
        negative = str(k)
    background /= max(cond.rms(background), 1e-12)
    if song is not None:
        lo, hi = params.stress_snr_db if stress else params.snr_db
        if site and real.snr_range_db is not None and not stress:
            lo, hi = _real_snr(real)
        snr = float(rng.uniform(lo, hi))
        clip = cond.mix_at_snr(clip, background, snr_db=snr, signal_rms=song_rms)
        row["snr_db"] = snr
    else:
        clip = background
    clip *= float(rng.uniform(0.3, 0.9)) / max(np.abs(clip).max(), 1e-12)
    row.update(noise_exponent=exponent, wind_level=wind, clutter_calls=n_calls,
               insect_level=insect, reverb_t60_s=t60, reverb_wet=wet, world=world,
               negative=negative)
    if real is not None:
        row.update(site_background=site, real_recording="")
    theme = row["theme"]
    path = f"wavs/{sp.split}/{theme}/{sp.split}-{theme}-{sp.index:05d}.wav"
    return Clip(path=path, samples=clip.astype(np.float32), row={"path": path, **row})


def _site_background(real: RealMaterial, n: int, rng: np.random.Generator,
                     params: SynthesizeParams) -> tuple[np.ndarray | None, str]:
    """With chance ``real_background_prob``, ``n`` samples of a song-free stretch of the
    researcher's recordings (the place itself, unit RMS) and its file's name; else
    ``(None, "")``."""
    if not real.backgrounds or rng.uniform() >= params.real_background_prob:
        return None, ""
    k = int(rng.integers(len(real.backgrounds)))
    return _excerpt(real.backgrounds[k], n, rng), Path(real.background_sources[k]).name


def _real_snr(real: RealMaterial) -> tuple[float, float]:
    """The SNR range of clips in the site's backgrounds: from 6 dB below the quietest real
    song to the loudest (the real songs' own levels, measured by
    :func:`songnet.surrogates.realdata.read_recordings`)."""
    lo, hi = real.snr_range_db
    return lo - 6.0, max(hi, lo - 5.0)


def _finish_real(sp: _Spec, rng: np.random.Generator, params: SynthesizeParams,
                 negatives: Sequence[np.ndarray], real: RealMaterial) -> Clip:
    """A clip of a real song: in train, augmented (pitch and tempo moved together within
    the theme's spread, placed at random, mixed into a site background or the synthetic
    one at the real songs' SNRs, a random gain); in val and test, as recorded."""
    n = round(params.clip_s * SR)
    song = sp.real.samples.astype(np.float64)
    factor = 1.0
    augment = sp.split == "train"
    if augment:
        sd = sp.theme.spread.pitch if sp.theme.spread is not None else params.bird_pitch_sd
        factor = float(np.clip(1.0 + rng.normal(0.0, max(sd, 0.005)), 1 - 3 * sd, 1 + 3 * sd))
        # played faster by `factor`: pitch x factor, tempo x factor
        m = max(2, round(song.size / factor))
        song = np.interp(np.linspace(0, song.size - 1, m), np.arange(song.size), song)
    if song.size > n:
        song = song[:n]
    start = int(rng.integers(0, n - song.size + 1)) if augment else (n - song.size) // 2
    clip = np.zeros(n)
    clip[start:start + song.size] = song
    margin = round(0.1 * SR / factor)
    row: dict[str, Any] = {
        "theme": sp.theme.name, "bird_id": sp.bird_id, "split": sp.split, "seed": sp.seed,
        "duration_s": n / SR, "snr_db": sp.real.snr_db, "onset_s": (start + margin) / SR,
        "offset_s": (start + song.size - margin) / SR, "pitch_factor": factor,
        "tempo": factor, "trill_interval_factor": np.nan, "trill_count": -1,
        "gamma": np.nan, "tract_length_cm": np.nan, "reflection": np.nan,
        "distance_m": np.nan, "foreign_of": "", "noise_exponent": np.nan,
        "wind_level": np.nan, "clutter_calls": 0, "insect_level": 0.0, "reverb_t60_s": 0.0,
        "reverb_wet": 0.0, "world": "", "negative": "", "site_background": "",
        "real_recording": f"{Path(sp.real.recording).name}@{sp.real.start_s:.2f}"}
    if augment:
        background, row["site_background"] = _site_background(real, n, rng, params)
        if not row["site_background"]:
            background = cond.coloured_noise(n, exponent=float(rng.uniform(0.0, 2.0)),
                                             rng=rng)
            background /= max(cond.rms(background), 1e-12)
        lo, hi = _real_snr(real) if real.snr_range_db is not None else params.snr_db
        snr = float(rng.uniform(lo, hi))
        # the recording's own noise is in the song already: the mix adds the background
        # at `snr` below the song's level, and only when that is quieter than the song's own
        if np.isfinite(sp.real.snr_db) and snr < sp.real.snr_db:
            clip = cond.mix_at_snr(clip, background, snr_db=snr,
                                   signal_rms=cond.rms(song))
            row["snr_db"] = snr
    clip *= (float(rng.uniform(0.3, 0.9)) if augment else 0.6) / max(np.abs(clip).max(), 1e-12)
    path = (f"wavs/{sp.split}/{sp.theme.name}/{sp.split}-{sp.theme.name}-{sp.index:05d}"
            f"{REAL_CLIP_SUFFIX}")
    return Clip(path=path, samples=clip.astype(np.float32), row={"path": path, **row})


def _excerpt(y: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` samples of ``y`` from a random start (tiled when ``y`` is shorter), unit RMS."""
    if y.size < n:
        y = np.tile(y, n // max(y.size, 1) + 1)
    start = int(rng.integers(0, y.size - n + 1))
    piece = y[start:start + n].astype(np.float64)
    return piece / max(cond.rms(piece), 1e-12)


MAX_NEGATIVES_S = 1800.0
"""Most seconds of user negatives held in memory (the first files, in sorted order)."""


def load_negatives(folder: str | os.PathLike) -> list[np.ndarray]:
    """The recordings of a folder of sounds without chingolo songs, mono at :data:`SR`.

    Raises
    ------
    SongnetError
        For a missing folder, one without audio, or a file that cannot be read (naming
        it and what to do).
    """
    from songnet.core.audio import load
    from songnet.core.audio_files import audio_files

    folder = Path(folder)
    if not folder.is_dir():
        raise SongnetError(f"negatives folder {folder} not found; pass a folder of recordings "
                           "without chingolo songs")
    files = audio_files(folder)
    if not files:
        raise SongnetError(f"negatives folder {folder} holds no audio files (WAV, FLAC, OGG, "
                           "MP3, AIFF)")
    out, total = [], 0.0
    for f in files:
        y = load(f, sr=SR).samples
        if y.size < SR // 10 or not np.any(y):
            continue  # too short or silent: nothing to learn from
        out.append(np.asarray(y, dtype=np.float32))
        total += y.size / SR
        if total >= MAX_NEGATIVES_S:
            break
    if not out:
        raise SongnetError(f"negatives folder {folder}: every file is shorter than 0.1 s or "
                           "silent; give recordings of the place without chingolo songs")
    return out


def n_clips(themes: Sequence[Theme], params: SynthesizeParams,
            real: RealMaterial | None = None) -> int:
    """Number of clips :func:`synthesize` yields for this catalog and params."""
    total = 0 if real is None else sum(params.real_copies if s.split == "train" else 1
                                       for s in real.songs)
    for split in SPLITS:
        per_theme = getattr(params, f"{split}_birds") * getattr(params, f"{split}_songs_per_bird")
        total += per_theme * len(themes) + round(params.no_song_factor * per_theme)
        total += _n_unknown(params, split)
    return total


def synthesize(themes: Sequence[Theme], *, params: SynthesizeParams,
               progress: ProgressCallback | None = None,
               executor: Any = None, negatives: Sequence[np.ndarray] | None = None,
               real: RealMaterial | None = None) -> Iterator[Clip]:
    """Generate the dataset's clips, in a fixed order, rendered by ``params.workers`` threads.

    Parameters
    ----------
    themes : sequence of Theme
        The catalog (names unique, none called ``no_song``).
    params : SynthesizeParams
    progress : callable, optional
        Called with the number of clips finished.
    executor : optional
        Renders the chunks of clips instead of ``params.workers`` threads: anything with
        ``submit(fn, *args)`` giving futures with ``result()``, e.g. a
        ``distributed.Client``. The clips are the same (each keeps its own seed).
    negatives : sequence of np.ndarray, optional
        Recordings without chingolo song at :data:`SR` (:func:`load_negatives`); default:
        those of ``params.negatives`` when set. Mixed into ``no_song`` clips (chance
        ``negatives_prob``) and into song clips' backgrounds (half that chance).
    real : RealMaterial, optional
        The researcher's recordings (:func:`songnet.surrogates.realdata.read_recordings`):
        their song-free stretches become the backgrounds of a share
        (``real_background_prob``) of the clips, mixed at the real songs' SNRs, and their
        songs join the clips (``real_copies`` augmented clips each in train, split by
        recording). None: the clips of the catalog alone.

    Yields
    ------
    Clip
        ``samples`` float32 ``(round(clip_s·SR),)``; ``row`` the manifest row.
    """
    if not themes:
        raise SongnetError("the theme catalog is empty; give at least one theme")
    if negatives is None:
        negatives = load_negatives(params.negatives) if params.negatives else []
    specs = _plan(themes, params, real=real)
    chunks = [specs[i:i + CHUNK] for i in range(0, len(specs), CHUNK)]
    with contextlib.ExitStack() as stack:
        pool = executor if executor is not None else stack.enter_context(
            concurrent.futures.ThreadPoolExecutor(max_workers=params.workers))
        pending: list[Any] = []
        ahead = 2 * (_n_workers(executor) if executor is not None else params.workers)
        for chunk in chunks:  # bounded look-ahead keeps memory flat
            pending.append(pool.submit(_render_chunk, chunk, params, negatives, real))
            if len(pending) > ahead:
                yield from _drain(pending.pop(0), progress)
        for fut in pending:
            yield from _drain(fut, progress)


def _n_workers(executor: Any) -> int:
    """Workers of a Dask client (its look-ahead), else 2."""
    try:
        return max(1, len(executor.scheduler_info().get("workers", {})))
    except AttributeError:
        return 2


def _drain(fut: Any, progress: ProgressCallback | None) -> Iterator[Clip]:
    clips = fut.result()
    yield from clips
    if progress is not None:
        progress(len(clips))

def write_clip(folder: Path, clip: Clip) -> None:
    """Write one clip's WAV (16-bit, 44.1 kHz) under ``folder`` at its manifest path."""
    path = folder / clip.path
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(path, clip.samples, SR, subtype="PCM_16", format="WAV")


def save_manifest(rows: Sequence[Mapping[str, Any]], folder: Path) -> Path:
    """Write ``folder/manifest.csv``: one row per clip (:attr:`Clip.row`), in order."""
    path = folder / MANIFEST
    pd.DataFrame(list(rows)).to_csv(path, index=False, float_format="%.6g")
    return path


def load_manifest(path: str | os.PathLike) -> pd.DataFrame:
    """Read a manifest CSV and check its columns and split names.

    Raises
    ------
    SongnetError
        A missing or unreadable file, a missing column, an empty manifest or an unknown
        split, naming the file.
    """
    path = Path(path)
    if not path.is_file():
        raise SongnetError(f"manifest {path} not found; run `songnet synthesize` first or "
                           "pass --manifest FILE")
    try:
        table = pd.read_csv(path, dtype={"path": str, "theme": str, "split": str})
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise SongnetError(f"{path}: not a readable CSV manifest ({exc}); fix or regenerate "
                           "it") from exc
    missing = [c for c in MANIFEST_COLUMNS if c not in table.columns]
    if missing:
        raise SongnetError(f"{path}: missing column(s) {', '.join(missing)}; a manifest needs "
                           f"{', '.join(MANIFEST_COLUMNS)}")
    if table.empty:
        raise SongnetError(f"{path}: the manifest lists no clips")
    if table[list(MANIFEST_COLUMNS)].isna().any().any():
        row = int(table[list(MANIFEST_COLUMNS)].isna().any(axis=1).to_numpy().argmax())
        raise SongnetError(f"{path}: row {row + 1} has an empty path, theme or split; fill it")
    unknown = sorted(set(table["split"]) - set(SPLITS))
    if unknown:
        raise SongnetError(f"{path}: unknown split {unknown[0]!r}; splits are "
                           f"{', '.join(SPLITS)}")
    return table
