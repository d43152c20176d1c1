"""Can a real recording tell songnet its birds' harmonic level? The 2nd harmonic in noise.

Each real bird of ``../shared/data/`` (:mod:`benchmarks.realbirds`) sings ``--songs``
renditions in pink noise at 10–30 dB SNR; the 2nd harmonic's level re the fundamental
(:func:`songnet.synth.calibration.harmonic_level_db`, the measure ``songnet`` uses for the
syrinx model) is measured on the noisy song and on the same song clean. Prints a line per
song and ends with::

    songs= median_bias_db= bias_at_snr_25_plus_db=

``median_bias_db`` is how far above the clean level the noisy measure lies (the noise in
the harmonic's band). This is why ``synthesize --recordings`` does not take the harmonic
level from the real songs (README, "Your recordings in the surrogate set").

    .venv/bin/python benchmarks/h2_in_noise.py [--songs 6] [--seed 0]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks import realbirds as rb
from songnet.synth.calibration import harmonic_level_db


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--songs", type=int, default=6, help="renditions per bird")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    if not rb.available():
        raise SystemExit(f"the real material is not in {rb.SHARED}: nothing to measure")
    rng = np.random.default_rng(args.seed)
    bias, loud = [], []
    for bird in rb.BIRDS:
        for k in range(args.songs):
            r = rb.variant(bird, rng)
            y, start, end = rb.scene(bird, r, rng)
            noisy = harmonic_level_db(y[round(start * rb.SR):round(end * rb.SR)], sr=rb.SR)
            clean = harmonic_level_db(rb.sing(bird, r), sr=rb.SR)
            bias.append(noisy - clean)
            if r.snr_db >= 25:
                loud.append(noisy - clean)
            print(f"{bird.name} #{k}: SNR {r.snr_db:4.1f} dB  h2 clean {clean:6.1f} dB  "
                  f"in noise {noisy:6.1f} dB  (+{noisy - clean:4.1f})")
    print(f"songs={len(bias)} median_bias_db={np.median(bias):.1f} "
          f"bias_at_snr_25_plus_db={np.median(loud) if loud else float('nan'):.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
