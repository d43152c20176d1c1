"""Speed and memory of `songnet classify` on a generated field recording.

A recording of ``--minutes`` minutes (default 10) holds one model song every 20 s at a
random time, of a random catalog theme, in continuous rumble + hiss noise at 10 dB SNR.
The whole command (a fresh process: imports, model loading, decoding, CQT, CNN, events,
output) runs on it with the default model; its wall time gives the real-time factor and
the child's peak resident memory the memory figure. References measured in the same run:
the same command on a 3-second clip (the fixed start-up cost: imports, CQT kernels, model),
the streaming core in process once start-up is paid, and, in process on the first minute
with every window scored, the per-window path (one CQT per window, as for training images)
against the block path (one CQT per block, windows cut from its frames).

Run: ``.venv/bin/python benchmarks/classify.py [--minutes 10]``. Ends with the line
``realtime_factor=<x> peak_rss_mb=<y>``.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf

from songnet.classify.windows import ClassifyParams, classify_file
from songnet.core.audio import load
from songnet.features import images as features
from songnet.features.params import FeatureParams
from songnet.model.checkpoint import default_model_path, load_checkpoint
from songnet.surrogates.fieldsim import plan_songs, render_recording
from songnet.surrogates.themes import load_catalog
from songnet.synth import SR


def write_recording(path: Path, *, minutes: float, seed: int) -> list:
    rng = np.random.default_rng(seed)
    duration = minutes * 60.0
    plan = plan_songs(load_catalog(), duration_s=duration, interval_s=20.0, rng=rng)
    blocks, truth = render_recording(plan, duration_s=duration, snr_db=10.0, rng=rng)
    with sf.SoundFile(path, "w", samplerate=SR, channels=1, subtype="PCM_16") as f:
        for block in blocks:
            f.write(block)
    return truth


def run_command(*args: str) -> tuple[float, str, str]:
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "songnet", "classify", *args, "-q"],
                          capture_output=True, text=True, check=False)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        sys.exit(f"songnet classify failed ({proc.returncode}): {proc.stderr}")
    return wall, proc.stdout, proc.stderr


def match(events: list[dict], truth: list, *, tol: float = 0.3) -> tuple[int, int, int]:
    """(songs found within tol at both ends, of which with the right theme, false events)."""
    found = right = 0
    used = set()
    for t in truth:
        for i, e in enumerate(events):
            if i not in used and abs(e["start_s"] - t.start_s) <= tol \
                    and abs(e["end_s"] - t.end_s) <= tol:
                used.add(i)
                found += 1
                right += e["theme"] == t.theme
                break
    return found, right, len(events) - len(used)


def in_process(wav: Path, clip: Path, model: str | None) -> float:
    """Seconds `classify_file` takes on the whole recording, start-up costs paid before."""
    ckpt = load_checkpoint(model, device="auto")
    classify_file(clip, checkpoint=ckpt)  # imports, CQT kernels, CNN warm-up
    t0 = time.perf_counter()
    classify_file(wav, checkpoint=ckpt)
    return time.perf_counter() - t0


def per_window_vs_block(wav: Path, model: str | None) -> tuple[float, float]:
    """Seconds to make the images of every window of the first minute (best of 3).

    Per window: :func:`songnet.features.images.images` on each 3 s clip (one CQT per window, as
    for training images). Per block: one :func:`songnet.features.images.cqt_power` on the minute,
    windows cut from its frames, :func:`songnet.features.images.power_to_images`.
    """
    import torch
    fp = load_checkpoint(model, device="auto").features()
    y = load(wav, sr=fp.sr).samples[: 60 * fp.sr]
    hop = round(ClassifyParams().hop_s / fp.frame_s)
    first = np.arange(0, 1 + (y.size // fp.hop_length) - fp.n_frames, hop)  # frames
    clips = np.stack([y[f * fp.hop_length:f * fp.hop_length + fp.n_samples] for f in first])

    def per_window() -> None:
        features.images(clips, params=fp, batch_size=32)

    def per_block() -> None:
        power = features.cqt_power(y, params=fp)  # (n_bins, T)
        for b in range(0, first.size, 32):
            cols = torch.as_tensor(first[b:b + 32])[:, None] + torch.arange(fp.n_frames)
            features.power_to_images(power[:, cols].permute(1, 0, 2), params=fp)

    times = []
    for fn in (per_window, per_block):
        fn()  # warm
        best = np.inf
        for _ in range(3):
            t0 = time.perf_counter()
            fn()
            best = min(best, time.perf_counter() - t0)
        times.append(best)
    return times[0], times[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--model", default=None,
                        help="checkpoint to use instead of the shipped default model")
    args = parser.parse_args()
    shipped = default_model_path().is_file()
    model = args.model or (None if shipped else _untrained_model())
    model_args = [] if model is None else ["--model", model]
    what = (args.model or "shipped default" if args.model or shipped
            else "UNTRAINED stand-in (no default.pt yet)")
    print(f"model: {what}")
    with tempfile.TemporaryDirectory() as tmp:
        wav, clip = Path(tmp) / "field.wav", Path(tmp) / "clip.wav"
        t0 = time.perf_counter()
        truth = write_recording(wav, minutes=args.minutes, seed=args.seed)
        sf.write(clip, sf.read(wav, frames=3 * SR)[0], SR)
        print(f"generated {args.minutes:g} min recording with {len(truth)} songs "
              f"in {time.perf_counter() - t0:.1f} s")
        startup, _, _ = run_command(str(clip), *model_args)
        wall, out, err = run_command(str(wav), "--format", "json", *model_args)
        peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        core = in_process(wav, clip, model)
        window_s, block_s = per_window_vs_block(wav, model)
    duration = args.minutes * 60.0
    found, right, false = match(json.loads(out), truth)
    print(err.strip().splitlines()[-1])
    print(f"whole command: {duration:.0f} s of audio in {wall:.2f} s "
          f"({duration / wall:.0f}x real time); the command on a 3 s clip: {startup:.2f} s")
    print(f"in process, after start-up: {duration:.0f} s of audio in {core:.2f} s "
          f"({duration / core:.0f}x real time)")
    print(f"songs found within 0.3 s: {found}/{len(truth)}, right theme: {right}/{found}, "
          f"false events: {false}")
    print(f"images of every window of the first minute: one CQT per window {window_s:.2f} s, "
          f"one CQT per block {block_s:.2f} s: block path {window_s / block_s:.1f}x faster")
    print(f"realtime_factor={duration / wall:.1f} peak_rss_mb={peak_mb:.0f}")


def _untrained_model() -> str:
    import torch

    from songnet.core.params import params_to_dict
    from songnet.model.checkpoint import save_checkpoint
    from songnet.model.network import ModelConfig, ThemeCNN
    fp = FeatureParams()
    names = [t.name for t in load_catalog()] + ["no_song"]
    torch.manual_seed(0)
    model = ThemeCNN(ModelConfig(n_bins=fp.n_bins, n_frames=fp.n_frames,
                                 n_classes=len(names)))
    path = Path(tempfile.mkdtemp()) / "untrained.pt"
    save_checkpoint(path, model, classes=names, feature_params=params_to_dict(fp),
                    train_params={})
    return str(path)


if __name__ == "__main__":
    main()
