"""Speed and accuracy of the compiled syrinx integrator against the NumPy RK4 reference.

Both run the full model (source + trachea + cavity) with RK4 at 20 substeps per 44.1 kHz
sample, on one core, in the same run. Speed: seconds of song per second (real-time
factor, per core), the median of ``--repeats`` timings, wall clock and CPU time (the CPU
figure is the steadier one on a shared host); the compiled path on the dataset's workload
(``--songs`` theme songs of random birds, each with its own trachea, rendered together as
``surrogates.synthesize`` renders a chunk), and the NumPy reference on the same songs.
Accuracy, per theme against the NumPy reference over ``--ref-seconds``: the waveform
correlation and the largest pitch difference (cents, 2-ms frames of
``songnet.song.track_pitch``). Themes: steady notes across the tonal β range, a trill, a
wide sweep (2.5 → 7.5 kHz) that needs a varying γ(t), and the opening of a theme song of
each kind in the catalog (γ(t) where its range needs it). Writes nothing.

    .venv/bin/python benchmarks/synth.py [--songs 16] [--repeats 5] [--ref-seconds 0.4]
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

import numba
import numpy as np

from songnet.core.sound import Sound
from songnet.song.track import pitch_error_cents, track_pitch
from songnet.surrogates.birds import draw_bird
from songnet.surrogates.synthesize_params import SynthesizeParams
from songnet.surrogates.themes import contour, load_catalog
from songnet.synth import (
    SR,
    Gesture,
    Tract,
    gestures_from_contour,
    render_batch,
    render_reference,
    trill_contour,
)


def theme_gestures(n_songs: int, *, seed: int = 0) -> tuple[list[Gesture], list[Tract]]:
    """Songs of the catalog's themes in turn, each by a random bird (its own trachea)."""
    themes = load_catalog()
    rng = np.random.default_rng(seed)
    gs, tracts = [], []
    for j in range(n_songs):
        theme = themes[j % len(themes)]
        bird = draw_bird(theme, bird_id=f"b{j}", rng=rng, params=SynthesizeParams())
        t, f0, amp = contour(theme, pitch=bird.pitch, tempo=bird.tempo, rng=rng)
        gs.append(gestures_from_contour(t, f0, amp))
        tracts.append(bird.tract)
    return gs, tracts


def test_gestures(seconds: float) -> dict[str, Gesture]:
    """Short themes for the accuracy check: steady notes, a trill, a wide γ(t) sweep."""
    n = round(seconds * SR)
    t = np.arange(n) / SR
    out = {f"whistle {f / 1000:g} kHz": gestures_from_contour(t, np.full(n, f), np.ones(n))
           for f in (3000.0, 4500.0, 6500.0)}
    f_tr, a_tr = trill_contour(40, pitch_hz=np.array([6200.0, 3800.0]), note_s=0.03,
                               interval_s=0.05)
    n_tr = min(n, f_tr.size)
    out["trill 6.2 -> 3.8 kHz"] = gestures_from_contour(t[:n_tr], f_tr[:n_tr], a_tr[:n_tr])
    out["wide sweep 2.5 -> 7.5 kHz, gamma(t)"] = gestures_from_contour(
        t, 2500.0 * 3.0 ** (t / t[-1]), np.ones(n))
    gs, _ = theme_gestures(len(load_catalog()), seed=1)
    for j, g in enumerate(gs):
        k = min(n, g.n_samples)
        out[f"theme T{j + 1:02d} opening" + (", gamma(t)" if np.ndim(g.gamma) else "")] = (
            Gesture(g.alpha[:k], g.beta[:k], g.envelope[:k],
                    g.gamma[:k] if np.ndim(g.gamma) else g.gamma))
    return out


def stack(gs: list[Gesture]) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Gestures padded with silence to one length: alpha, beta, envelope, gamma (B, n)."""
    n = max(g.n_samples for g in gs)
    alpha = np.full((len(gs), n), -0.15)
    beta = np.full((len(gs), n), -0.15)
    env = np.zeros((len(gs), n))
    gamma = np.empty((len(gs), n))
    for j, g in enumerate(gs):
        alpha[j, :g.n_samples], beta[j, :g.n_samples] = g.alpha, g.beta
        env[j, :g.n_samples] = g.envelope
        gamma[j, :g.n_samples] = g.gamma_t
        gamma[j, g.n_samples:] = g.gamma_t[-1]
    return alpha, beta, env, gamma


def timed(fn: Callable[[], object], repeats: int) -> tuple[float, float]:
    """Median wall and CPU seconds of ``repeats`` calls."""
    wall, cpu = [], []
    for _ in range(repeats):
        w0, c0 = time.perf_counter(), time.process_time()
        fn()
        wall.append(time.perf_counter() - w0)
        cpu.append(time.process_time() - c0)
    return float(np.median(wall)), float(np.median(cpu))


def pitch_cents(a: np.ndarray, b: np.ndarray) -> float:
    """Largest pitch difference (cents) between two renderings, over voiced frames."""
    ta = track_pitch(Sound(a.astype(np.float32) / max(np.abs(a).max(), 1e-12), SR))
    tb = track_pitch(Sound(b.astype(np.float32) / max(np.abs(b).max(), 1e-12), SR))
    err = pitch_error_cents(ta, tb)
    return float(err.max()) if err.size else float("nan")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--songs", type=int, default=16,
                    help="theme songs rendered together (surrogates.synthesize's chunk)")
    ap.add_argument("--repeats", type=int, default=5, help="timings per figure (median)")
    ap.add_argument("--ref-seconds", type=float, default=0.4,
                    help="length of each accuracy theme rendered by the NumPy reference (s)")
    args = ap.parse_args()
    numba.set_num_threads(1)

    gs, tracts = theme_gestures(args.songs)
    a, b, e, g = stack(gs)
    song_s = args.songs * a.shape[1] / SR
    render_batch(a[:, :200], b[:, :200], e[:, :200], gamma=g[:, :200],
                 tracts=tracts)  # compile or load the cache
    wall, cpu = timed(lambda: render_batch(a, b, e, gamma=g, tracts=tracts, parallel=False),
                      args.repeats)
    one_wall, one_cpu = timed(lambda: render_batch(a[:1], b[:1], e[:1], gamma=g[:1],
                                                   tracts=tracts[:1], parallel=False),
                              args.repeats)
    # the reference on the same songs (vectorised over them, its best case; one trachea,
    # which does not change its cost), timed on their first 0.05 s: its cost is per sample
    n_ref = round(0.05 * SR)
    ref_wall, ref_cpu = timed(lambda: render_reference(a[:, :n_ref], b[:, :n_ref],
                                                       e[:, :n_ref], gamma=g[:, :n_ref]),
                              args.repeats)
    ref_s = args.songs * n_ref / SR

    print(f"theme songs: {args.songs} x {a.shape[1] / SR:.2f} s, each bird its own trachea; "
          f"median of {args.repeats}, one core")
    print(f"  numpy RK4 reference (20 substeps): {ref_s / ref_wall:8.2f}x real time per core "
          f"(wall), {ref_s / ref_cpu:8.2f}x (cpu)")
    print(f"  compiled RK4 (20 substeps), {args.songs} songs together: "
          f"{song_s / wall:8.1f}x real time per core (wall), {song_s / cpu:8.1f}x (cpu)")
    print(f"  compiled RK4, one song alone: {a.shape[1] / SR / one_wall:8.1f}x (wall), "
          f"{a.shape[1] / SR / one_cpu:8.1f}x (cpu)")
    print(f"  speed-up over the reference: {ref_wall / ref_s * song_s / wall:.0f}x (wall), "
          f"{ref_cpu / ref_s * song_s / cpu:.0f}x (cpu)")

    print(f"accuracy against the numpy reference over {args.ref_seconds} s per theme:")
    worst_corr, worst_cents = 1.0, 0.0
    themes = test_gestures(args.ref_seconds)
    ta, tb, te, tg = stack(list(themes.values()))
    fast_all = render_batch(ta, tb, te, gamma=tg)
    ref_all = render_reference(ta, tb, te, gamma=tg)
    for j, (name, t) in enumerate(themes.items()):
        fast, ref = fast_all[j, :t.n_samples], ref_all[j, :t.n_samples]
        corr = float(np.corrcoef(fast, ref)[0, 1])
        dc = pitch_cents(ref, fast)
        worst_corr, worst_cents = min(worst_corr, corr), max(worst_cents, dc)
        print(f"  {name:40s} waveform correlation {corr:.12f}, pitch {dc:.2e} cents")

    a1, b1, e1, g1 = stack([gestures_from_contour(np.arange(SR) / SR, np.full(SR, f),
                                                  np.ones(SR)) for f in (3000.0, 6000.0)])
    y20 = render_batch(a1, b1, e1, gamma=g1, n_sub=20)
    y8 = render_batch(a1, b1, e1, gamma=g1, n_sub=8)
    corr8 = min(np.corrcoef(p, q)[0, 1] for p, q in zip(y8, y20, strict=True))
    print(f"8-substep scheme vs 20 substeps over 1 s: min waveform correlation {corr8:.6f}")
    print(f"realtime_factor_per_core={song_s / wall:.1f} (cpu {song_s / cpu:.1f}) "
          f"speedup_vs_numpy={ref_wall / ref_s * song_s / wall:.0f} "
          f"min_correlation={worst_corr:.12f} max_pitch_cents={worst_cents:.2e}")


if __name__ == "__main__":
    main()
