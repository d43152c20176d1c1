"""Batched torch CQT images against librosa.cqt on the same clips, in one run.

Run: ``.venv/bin/python benchmarks/features.py [--batch 64] [--repeats 3] [--device cpu]``

64 synthetic song-like 3-s clips (a whistle, a downsweep and a trill in background
noise, random pitches and times). Both paths make the full image (fit, transform,
normalise); each is timed over ``--repeats`` runs after a warm-up and the fastest run
counts. Agreement is the Pearson correlation between the two paths' images (which are
linear in dB), the smallest over the clips. The last line is the summary.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from songnet.features.images import image_reference, images
from songnet.features.params import FeatureParams


def song_like_clips(n: int, params: FeatureParams, seed: int = 0) -> np.ndarray:
    """(n, n_samples) float32: whistle + downsweep + trill in noise, random pitch and time."""
    rng = np.random.default_rng(seed)
    sr, n_samples = params.sr, params.n_samples
    t = np.arange(n_samples) / sr
    clips = np.empty((n, n_samples), dtype=np.float32)
    for i in range(n):
        freq = np.zeros(n_samples)
        amp = np.zeros(n_samples)
        t0 = rng.uniform(0.1, 0.8)
        segments = [(t0, 0.15, rng.uniform(4000, 5000), 0.0),          # whistle
                    (t0 + 0.25, 0.3, rng.uniform(4800, 5200), -1500.0)]  # downsweep
        start = t0 + 0.65
        interval = rng.uniform(0.05, 0.15)
        for k in range(int(0.8 / interval)):                            # trill notes
            segments.append((start + k * interval, 0.6 * interval, 6500.0, -2700.0))
        for onset, dur, f0, df in segments:
            m = (t >= onset) & (t < onset + dur)
            u = (t[m] - onset) / dur
            freq[m] = f0 + df * u
            amp[m] = np.sin(np.pi * u) * rng.uniform(0.3, 0.6)
        phase = 2 * np.pi * np.cumsum(freq) / sr
        noise = rng.uniform(0.002, 0.02) * rng.standard_normal(n_samples)
        clips[i] = amp * np.sin(phase) + noise
    return clips


def best_time(fn, repeats: int) -> float:
    fn()  # warm-up: kernels, caches, thread pools
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()
    params = FeatureParams()
    clips = song_like_clips(args.batch, params)
    print(f"{args.batch} clips of {params.window_s} s at {params.sr} Hz -> "
          f"({params.n_bins}, {params.n_frames}) images; torch threads "
          f"{torch.get_num_threads()}, device {args.device}")

    def reference() -> np.ndarray:
        return np.stack([image_reference(y, params=params) for y in clips])

    def batched() -> np.ndarray:
        return images(clips, params=params, device=args.device, batch_size=args.batch)

    t_ref = best_time(reference, args.repeats)
    t_fast = best_time(batched, args.repeats)
    ref, fast = reference(), batched()
    corr = np.array([np.corrcoef(a.ravel(), b.ravel())[0, 1] for a, b in zip(ref, fast,
                                                                          strict=True)])
    print(f"librosa.cqt : {t_ref * 1e3:8.1f} ms per batch ({t_ref / args.batch * 1e3:.2f} ms/clip)")
    print(f"torch batch : {t_fast * 1e3:8.1f} ms per batch "
          f"({t_fast / args.batch * 1e3:.2f} ms/clip)")
    print(f"correlation of images: min {corr.min():.4f}, mean {corr.mean():.4f}; "
          f"mean |difference| {np.abs(ref - fast).mean():.4f} (image units)")
    print(f"speedup_vs_librosa={t_ref / t_fast:.1f} agreement={corr.min():.4f}")


if __name__ == "__main__":
    main()
