"""Simulated birds: each keeps a personal version of its theme (pitch transposition, tempo,
per-note pitch and length, trill rate), its own γ jitter and trachea (:func:`draw_bird`); each
rendition jitters every note a little (:func:`sing`, :func:`sing_bird`).
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import numpy as np

from songnet.surrogates.synthesize_params import SynthesizeParams
from songnet.surrogates.themes import Theme, contour
from songnet.synth import SR, Gesture, Tract, gestures_from_contour, render_batch

__all__ = ["Bird", "draw_bird", "longest_rendition", "sing", "sing_bird", "song_gesture"]

_DEFAULT_PARAMS = SynthesizeParams()


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


def song_gesture(theme: Theme, bird: Bird, *, rng: np.random.Generator, sd: float
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
         params: SynthesizeParams = _DEFAULT_PARAMS) -> np.ndarray:
    """One clean song of ``theme`` by a random bird: float32 ``(n,)`` at SR, peak 0.9."""
    bird = draw_bird(theme, bird_id="sing", rng=rng, params=params)
    return sing_bird(theme, bird, 1, rng=rng, params=params)[0]


def sing_bird(theme: Theme, bird: Bird, n: int, *, rng: np.random.Generator,
              params: SynthesizeParams = _DEFAULT_PARAMS) -> list[np.ndarray]:
    """``n`` clean renditions of ``theme`` by one ``bird`` (:func:`draw_bird`): float32 at
    SR, each at peak 0.9; they differ by the params' rendition spread."""
    out = []
    for _ in range(n):
        gesture, _ = song_gesture(theme, bird, rng=rng, sd=params.rendition_sd)
        y = render_batch(gesture.alpha[None], gesture.beta[None], gesture.envelope[None],
                         gamma=gesture.gamma_t[None], tracts=[bird.tract])[0]
        out.append((0.9 * y / max(np.abs(y).max(), 1e-12)).astype(np.float32))
    return out
