"""Batched torch CQT images against librosa.cqt on the same clips, in one run.

Run: ``.venv/bin/python benchmarks/features.py [--batch 64] [--repeats 5] [--device cpu]``

64 synthetic song-like 3-s clips (a whistle, a downsweep and a trill in background
noise, random pitches and times). Every path makes the full image (fit, transform,
normalise); each is timed over ``--repeats`` runs after a warm-up and the MEDIAN run
counts (a noisy, shared host does not decide the figure). Agreement is the Pearson
correlation between two paths' images (which are linear in dB), the smallest over the
clips. Paths: ``librosa.cqt`` one clip at a time (the reference); the batched torch path
(features, augmentation, validate, embed); the NumPy path of ``songnet classify``
(:mod:`songnet.features.npcqt`, one clip at a time). The "where the time goes" lines split
the torch path into its transform and its normalisation. The last line is the summary.

Where the time goes (issue 34; CPU milliseconds of one thread for the 64 clips, medians,
on a shared 2-core host): the transform about 98 ms, the dB normalisation 9.3 ms (5.3 ms
since its passes were cut from 10 to 5). The transform applies librosa's sparse filters as
full-rate kernels, 102 400 multiply-adds per frame, already at 40-50 G multiply-adds/s:
the floor of any matmul or convolution form of that linear map (the chunked matmul form
of the NumPy path, batched in torch, measured 95-101 ms against the convolution's 98).
Forms with fewer operations change the map: one FFT of each clip times a sparse kernel
bank then one short inverse FFT per bin takes about 60 ms, but must keep the slow
leakage tails of librosa's sparsified filters (1.5 M non-zeros) to stay at correlation
0.9973 with librosa (dropping 1e-6 of the kernel energy gives 0.9968), and kernels cut to
their Hann support fall to 0.9947-0.9967. So about 10-15x librosa is what this transform
allows here, not 40x.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from songnet.features import npcqt
from songnet.features.images import batch_power, image_reference, images, power_to_images
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


def median_time(fn, repeats: int) -> float:
    """Median wall time of ``repeats`` runs of ``fn`` after one warm-up run."""
    fn()  # warm-up: kernels, caches, thread pools
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return float(np.median(times))


def min_correlation(a: np.ndarray, b: np.ndarray) -> float:
    """Smallest Pearson correlation between paired images of two stacks."""
    return min(np.corrcoef(x.ravel(), y.ravel())[0, 1] for x, y in zip(a, b, strict=True))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()
    params = FeatureParams()
    clips = song_like_clips(args.batch, params)
    print(f"{args.batch} clips of {params.window_s} s at {params.sr} Hz -> "
          f"({params.n_bins}, {params.n_frames}) images; torch threads "
          f"{torch.get_num_threads()}, device {args.device}; median of {args.repeats} runs")

    def reference() -> np.ndarray:
        return np.stack([image_reference(y, params=params) for y in clips])

    def batched() -> np.ndarray:
        return images(clips, params=params, device=args.device, batch_size=args.batch)

    def classify_path() -> np.ndarray:
        return np.stack([npcqt.power_to_images(npcqt.cqt_power(y, params=params),
                                               params=params) for y in clips])

    x = torch.from_numpy(clips)
    power = batch_power(x, params=params, device=args.device)
    t_ref = median_time(reference, args.repeats)
    t_fast = median_time(batched, args.repeats)
    t_np = median_time(classify_path, args.repeats)
    t_transform = median_time(lambda: batch_power(x, params=params, device=args.device),
                              args.repeats)
    t_norm = median_time(lambda: power_to_images(power, params=params), args.repeats)
    ref, fast, numpy_images = reference(), batched(), classify_path()
    corr = np.array([np.corrcoef(a.ravel(), b.ravel())[0, 1] for a, b in zip(ref, fast,
                                                                          strict=True)])
    per_clip = 1e3 / args.batch
    print(f"librosa.cqt : {t_ref * 1e3:8.1f} ms per batch ({t_ref * per_clip:.2f} ms/clip)")
    print(f"torch batch : {t_fast * 1e3:8.1f} ms per batch ({t_fast * per_clip:.2f} ms/clip)")
    print(f"numpy (classify path): {t_np * 1e3:8.1f} ms per batch "
          f"({t_np * per_clip:.2f} ms/clip), {t_ref / t_np:.1f}x librosa; images vs torch: "
          f"min correlation {min_correlation(numpy_images, fast):.6f}")
    print(f"where the time goes (torch): transform {t_transform * 1e3:.1f} ms, "
          f"normalisation {t_norm * 1e3:.1f} ms")
    print(f"correlation of images: min {corr.min():.4f}, mean {corr.mean():.4f}; "
          f"mean |difference| {np.abs(ref - fast).mean():.4f} (image units)")
    print(f"speedup_vs_librosa={t_ref / t_fast:.1f} agreement={corr.min():.4f}")


if __name__ == "__main__":
    main()
