"""`songnet classify DIR --scheduler local:N`: 1 against 2 local Dask workers, same folder.

A folder of ``--files`` recordings of ``--minutes`` minutes each (a chingolo-like song of
down-swept syllables every 4 s in noise, 22.05 kHz) is classified by the whole command in
a fresh process, as a user runs it, with ``--scheduler local:1`` and ``local:2`` (best of
``--repeat``). A 3-second clip run the same way gives the start-up (cluster, imports,
model) that is subtracted to get the marginal per-core rate: audio seconds per wall
second on one worker process (one thread). The projection for an archive of 10,000 hours
on 100 cores is that rate times 100 (start-up aside).

Run: ``.venv/bin/python benchmarks/scale.py [--files 8] [--minutes 5]``. Ends with the
line ``ratio_2_vs_1=<x> per_core_rate=<r>x projected_10000h_100cores_h=<h>``.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf

SR = 22050


def songs(seconds: float, *, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(round(seconds * SR)) / SR
    phase = t % 4.0
    on = (phase < 1.5) & ((phase * 6) % 1.0 < 0.6)
    f = 6000.0 - 3000.0 * ((phase * 6) % 1.0) / 0.6
    y = 0.01 * rng.standard_normal(t.size) + on * 0.3 * np.sin(2 * np.pi * np.cumsum(f) / SR)
    return y.astype(np.float32)


def timed(paths: list[str], workers: int, repeat: int) -> tuple[float, str]:
    best, out = float("inf"), ""
    cmd = [sys.executable, "-m", "songnet", "classify", *paths, "--format", "csv", "-q",
           "--scheduler", f"local:{workers}", "--threads", "1"]
    for _ in range(repeat):
        t0 = time.perf_counter()
        res = subprocess.run(cmd, capture_output=True, text=True, check=True,
                             env={**os.environ, "OMP_NUM_THREADS": "1"})
        best = min(best, time.perf_counter() - t0)
        out = res.stdout
    return best, out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--files", type=int, default=8)
    ap.add_argument("--minutes", type=float, default=5.0)
    ap.add_argument("--repeat", type=int, default=2)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp) / "archive"
        d.mkdir()
        for i in range(args.files):
            sf.write(d / f"rec{i:03d}.wav", songs(args.minutes * 60, seed=i), SR,
                     subtype="PCM_16")
        clip = Path(tmp) / "clip.wav"
        sf.write(clip, songs(3.0, seed=99), SR, subtype="PCM_16")
        audio_s = args.files * args.minutes * 60
        start = {n: timed([str(clip)], n, args.repeat)[0] for n in (1, 2)}
        t1, out1 = timed([str(d)], 1, args.repeat)
        t2, out2 = timed([str(d)], 2, args.repeat)
    rate = audio_s / max(t1 - start[1], 1e-9)
    projected_h = 10_000 * 3600 / (rate * 100) / 3600
    print(f"folder: {args.files} files x {args.minutes:g} min = {audio_s / 3600:.2f} h; "
          f"cores here: {os.cpu_count()}")
    print(f"start-up (3 s clip): local:1 {start[1]:.1f} s, local:2 {start[2]:.1f} s")
    print(f"local:1 {t1:.1f} s, local:2 {t2:.1f} s; same events: {out1 == out2}")
    print(f"ratio_2_vs_1={t1 / t2:.2f} per_core_rate={rate:.0f}x "
          f"projected_10000h_100cores_h={projected_h:.2f}")


if __name__ == "__main__":
    main()
