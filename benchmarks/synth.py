"""Speed and accuracy of the compiled syrinx integrator against the NumPy RK4 reference.

Both run the full model (source + trachea + cavity) with RK4 at 20 substeps per 44.1 kHz
sample on the same gestures, in the same run, on one core. Prints both real-time factors
(seconds of song per second of wall time, per core), the speed-up, the agreement (F0 and
waveform correlation), and the agreement of a cheaper 8-substep scheme over 1 s.

    .venv/bin/python benchmarks/synth.py [--ref-seconds 0.5] [--songs 8]
"""

from __future__ import annotations

import argparse
import time

import numba
import numpy as np

from songnet.song.track import steady_pitch
from songnet.surrogates.birds import draw_bird
from songnet.surrogates.synthesize_params import SynthesizeParams
from songnet.surrogates.themes import contour, load_catalog
from songnet.synth import (
    SR,
    render_batch,
    render_reference,
)


def steady_notes(n_songs: int, seconds: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Steady notes across the tonal β range (F0 is well defined)."""
    n = round(seconds * SR)
    betas = np.linspace(1.0, 4.0, n_songs)
    ramp = np.minimum(1.0, np.arange(n) / (0.005 * SR))
    return (np.full((n_songs, n), 0.03), np.repeat(betas[:, None], n, axis=1),
            np.repeat(ramp[None], n_songs, axis=0))


def theme_songs(n_songs: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Real workload: songs of the default themes, padded to one length (γ per sample:
    constant, or varying where a theme's pitch range needs it, as in the dataset)."""
    from songnet.synth import gestures_from_contour

    themes = load_catalog()
    rng = np.random.default_rng(0)
    gs = []
    for j in range(n_songs):
        theme = themes[j % len(themes)]
        bird = draw_bird(theme, bird_id="b", rng=rng, params=SynthesizeParams())
        t, f0, amp = contour(theme, pitch=bird.pitch, tempo=bird.tempo, rng=rng)
        gs.append(gestures_from_contour(t, f0, amp))
    n = max(g.n_samples for g in gs)
    alpha = np.full((n_songs, n), -0.15)
    beta = np.full((n_songs, n), -0.15)
    env = np.zeros((n_songs, n))
    gamma = np.empty((n_songs, n))
    for j, g in enumerate(gs):
        alpha[j, :g.n_samples], beta[j, :g.n_samples] = g.alpha, g.beta
        env[j, :g.n_samples] = g.envelope
        gamma[j, :g.n_samples] = g.gamma_t
        gamma[j, g.n_samples:] = g.gamma_t[-1]
    return alpha, beta, env, gamma


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--ref-seconds", type=float, default=0.5,
                    help="length of the NumPy reference songs (s)")
    ap.add_argument("--songs", type=int, default=8, help="songs per batch")
    args = ap.parse_args()
    numba.set_num_threads(1)

    # agreement + reference speed on steady notes
    alpha, beta, env = steady_notes(args.songs, args.ref_seconds)
    t0 = time.perf_counter()
    ref = render_reference(alpha, beta, env)
    t_ref = time.perf_counter() - t0
    render_batch(alpha[:, :100], beta[:, :100], env[:, :100])  # compile / load the cache
    t0 = time.perf_counter()
    fast = render_batch(alpha, beta, env)
    t_fast_steady = time.perf_counter() - t0
    half = ref.shape[1] // 2
    f0_err = max(abs(steady_pitch(f[half:], sr=SR) / steady_pitch(r[half:], sr=SR) - 1)
                 for f, r in zip(fast, ref, strict=True)) * 100
    corr = min(np.corrcoef(f, r)[0, 1] for f, r in zip(fast, ref, strict=True))
    rtf_ref = args.songs * args.ref_seconds / t_ref

    # speed on real songs (compiled path, reference accuracy)
    a, b, e, g = theme_songs(args.songs)
    best = np.inf
    for _ in range(7):  # best of 7: the machine may be shared
        t0 = time.perf_counter()
        render_batch(a, b, e, gamma=g)
        best = min(best, time.perf_counter() - t0)
    rtf_fast = args.songs * a.shape[1] / SR / best

    # a varying γ(t) (a 2.5 -> 7.5 kHz sweep) against the reference
    from songnet.synth import gestures_from_contour

    n_w = round(args.ref_seconds * SR)
    t_w = np.arange(n_w) / SR
    f_w = 2500.0 * 3.0 ** (t_w / t_w[-1])
    g_w = gestures_from_contour(t_w, f_w, np.ones(n_w))
    ref_w = render_reference(g_w.alpha, g_w.beta, g_w.envelope, gamma=g_w.gamma)
    fast_w = render_batch(g_w.alpha[None], g_w.beta[None], g_w.envelope[None],
                          gamma=g_w.gamma_t[None])[0]
    corr_w = np.corrcoef(fast_w, ref_w)[0, 1]

    # a cheaper scheme over 1 s, against the compiled 20-substep path
    a1, b1, e1 = steady_notes(4, 1.0)
    y20 = render_batch(a1, b1, e1, n_sub=20)
    y8 = render_batch(a1, b1, e1, n_sub=8)
    corr8 = min(np.corrcoef(p, q)[0, 1] for p, q in zip(y8, y20, strict=True))

    print(f"numpy RK4 reference (20 substeps): {rtf_ref:8.2f}x real time per core "
          f"({args.songs} songs x {args.ref_seconds} s in {t_ref:.1f} s)")
    print(f"compiled RK4 (20 substeps), steady notes: "
          f"{args.songs * args.ref_seconds / t_fast_steady:8.1f}x real time per core")
    print(f"compiled RK4 (20 substeps), theme songs: {rtf_fast:8.1f}x real time per core "
          f"({args.songs} songs x {a.shape[1] / SR:.2f} s in {best:.2f} s)")
    print(f"agreement with the reference: max F0 error {f0_err:.2e} %, "
          f"min waveform correlation {corr:.9f} over {args.ref_seconds} s")
    print(f"varying gamma (2.5 -> 7.5 kHz sweep, gamma {g_w.gamma.min():.0f}-"
          f"{g_w.gamma.max():.0f}): waveform correlation with the reference {corr_w:.9f}")
    print(f"8-substep scheme vs 20 substeps over 1 s: min waveform correlation {corr8:.6f}")
    print(f"realtime_factor_per_core={rtf_fast:.1f} speedup_vs_numpy={rtf_fast / rtf_ref:.0f} "
          f"f0_error_pct={f0_err:.2e}")


if __name__ == "__main__":
    main()
