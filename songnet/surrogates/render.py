"""Rendering planned clips: the model's songs of a chunk sung in one batch, each placed in its
recording conditions (distance, reverberation, coloured noise, wind, clutter, other species,
the site's own background, the user's negatives) at its SNR; the real songs, augmented.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from songnet.core.errors import SongnetError
from songnet.core.labels import NO_SONG, REAL_CLIP_SUFFIX
from songnet.surrogates import conditions as cond
from songnet.surrogates import others
from songnet.surrogates.birds import song_gesture
from songnet.surrogates.plan import ClipSpec
from songnet.surrogates.realdata import RealMaterial
from songnet.surrogates.resing import resing
from songnet.surrogates.synthesize_params import SynthesizeParams
from songnet.synth import SR, Gesture, render_batch

__all__ = ["MIN_T60_S", "REVERB_T60_S", "Clip", "render_chunk"]

REVERB_T60_S = (0.1, 0.8)
"""The reverberation times drawn without measured real songs (s)."""


MIN_T60_S = 0.05
"""The shortest tail drawn from real songs' measures: a dry site's 0 still gets a trace."""


@dataclasses.dataclass(frozen=True, eq=False)
class Clip:
    """One clip of the dataset: its path under the dataset folder, samples and manifest row."""

    path: str
    samples: np.ndarray
    row: dict[str, Any]


def render_chunk(specs: Sequence[ClipSpec], params: SynthesizeParams,
                  negatives: Sequence[np.ndarray] = (), real: RealMaterial | None = None
                  ) -> list[Clip]:
    rngs = [np.random.default_rng(sp.seed) for sp in specs]
    songs: dict[int, tuple[Gesture, dict[str, Any]]] = {}
    for j, sp in enumerate(specs):
        if sp.theme is not None and sp.real is None:
            sd = params.rendition_sd * sp.spread
            songs[j] = song_gesture(sp.theme, sp.bird, rng=rngs[j], sd=sd)
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


def _finish(sp: ClipSpec, rng: np.random.Generator, song: np.ndarray | None,
            song_info: tuple[Gesture, dict[str, Any]] | None, params: SynthesizeParams,
            negatives: Sequence[np.ndarray] = (), real: RealMaterial | None = None) -> Clip:
    """A clip of the model: its song (if any) placed at a distance, reverberated, mixed
    into a drawn background at a drawn SNR. Every draw comes from ``rng``, in a fixed order."""
    n = round(params.clip_s * SR)
    stress = sp.split == "stress"
    row: dict[str, Any] = {"theme": NO_SONG, "bird_id": sp.bird_id, "split": sp.split,
                           "seed": sp.seed, "duration_s": n / SR, "snr_db": np.nan,
                           "onset_s": np.nan, "offset_s": np.nan, "pitch_factor": np.nan,
                           "tempo": np.nan, "trill_interval_factor": np.nan,
                           "trill_count": -1, "gamma": np.nan, "tract_length_cm": np.nan,
                           "reflection": np.nan, "distance_m": np.nan,
                           "foreign_of": sp.origin}
    clip, song_rms = _place_song(sp, song, song_info, n=n, params=params, rng=rng, row=row)
    clip, t60, wet = _reverb(clip, song=song, stress=stress, params=params, real=real, rng=rng)
    background, drawn = _background(sp, n=n, song=song, stress=stress, params=params,
                                    real=real, negatives=negatives, rng=rng)
    if song is not None:
        lo, hi = params.stress_snr_db if stress else params.snr_db
        if drawn["site"] and real.snr_range_db is not None and not stress:
            lo, hi = _real_snr(real)
        snr = float(rng.uniform(lo, hi))
        clip = cond.mix_at_snr(clip, background, snr_db=snr, signal_rms=song_rms)
        row["snr_db"] = snr
    else:
        clip = background
    clip *= float(rng.uniform(0.3, 0.9)) / max(np.abs(clip).max(), 1e-12)
    row.update(noise_exponent=drawn["exponent"], wind_level=drawn["wind"],
               clutter_calls=drawn["n_calls"], insect_level=drawn["insect"], reverb_t60_s=t60,
               reverb_wet=wet, world=drawn["world"], negative=drawn["negative"])
    if real is not None:
        row.update(site_background=drawn["site"], real_recording="")
    theme = row["theme"]
    path = f"wavs/{sp.split}/{theme}/{sp.split}-{theme}-{sp.index:05d}.wav"
    return Clip(path=path, samples=clip.astype(np.float32), row={"path": path, **row})


def _place_song(sp: ClipSpec, song: np.ndarray | None,
                song_info: tuple[Gesture, dict[str, Any]] | None, *, n: int,
                params: SynthesizeParams, rng: np.random.Generator, row: dict[str, Any]
                ) -> tuple[np.ndarray, float]:
    """The clip's ``n`` samples holding the song at a random start and distance (all zeros
    without one), and the song's RMS over its voiced samples; ``row`` gets its times."""
    clip = np.zeros(n)
    if song is None:
        return clip, 0.0
    gesture, info = song_info
    if song.size > n:
        raise SongnetError(f"a song of theme {sp.theme.name} lasts {song.size / SR:.2f} s, "
                           f"longer than clip_s={params.clip_s}; raise synthesize.clip_s")
    voiced = gesture.envelope > 0.05 * gesture.envelope.max()
    start = int(rng.integers(0, n - song.size + 1))
    distance = float(rng.uniform(*params.distance_m))
    song = cond.apply_distance(song, distance)
    clip[start:start + song.size] = song
    on = np.flatnonzero(voiced)
    row.update(info, theme=sp.theme.name, distance_m=distance,
               onset_s=(start + on[0]) / SR, offset_s=(start + on[-1]) / SR)
    if sp.fragment:  # a piece of a song is no song; its times stay in the manifest
        row["theme"] = NO_SONG
    return clip, cond.rms(song[voiced])


def _reverb(clip: np.ndarray, *, song: np.ndarray | None, stress: bool,
            params: SynthesizeParams, real: RealMaterial | None, rng: np.random.Generator
            ) -> tuple[np.ndarray, float, float]:
    """The clip, reverberated with a drawn chance; its ``(t60_s, wet)`` (0 when dry)."""
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
    return clip, t60, wet


def _background(sp: ClipSpec, *, n: int, song: np.ndarray | None, stress: bool,
                params: SynthesizeParams, real: RealMaterial | None,
                negatives: Sequence[np.ndarray], rng: np.random.Generator
                ) -> tuple[np.ndarray, dict[str, Any]]:
    """The clip's background at unit RMS: coloured noise and wind, clutter, other species,
    the site's own background or the user's negatives, each with a drawn chance; and what
    was drawn (``exponent``, ``wind``, ``n_calls``, ``insect``, ``world``, ``site``,
    ``negative``)."""
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
    return background, {"exponent": exponent, "wind": wind, "n_calls": n_calls,
                        "insect": insect, "world": world, "site": site, "negative": negative}


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


def _finish_real(sp: ClipSpec, rng: np.random.Generator, params: SynthesizeParams,
                 negatives: Sequence[np.ndarray], real: RealMaterial) -> Clip:
    """A clip of a real song: in train, augmented (sung again with its gaps and trill
    count within the variation of its theme's real songs, pitch and tempo moved together
    within the theme's spread, placed at random, mixed into a site background or the
    synthetic one at the real songs' SNRs, a random gain); in val and test, as recorded."""
    n = round(params.clip_s * SR)
    song = sp.real.samples.astype(np.float64)
    factor = 1.0
    augment = sp.split == "train"
    if augment:
        if params.real_resing and sp.theme.name in real.variation:
            song = resing(sp.real, real.variation[sp.theme.name], rng, max_samples=n)
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
