"""The README's `songnet explain` picture: a short real-style scene, explained.

Builds 14 s of field noise (pink hiss) holding, 1.5 s apart: a model song of the catalog's
T04; a song assembled from the real syllables of Xeno-canto bird XC462515 (its whistle,
its downsweep, its trill: the catalog's T05 was modelled on this bird); a real clip of
another species from ``../shared/data/real-negatives/``; and the resung 1966 sketch of the
absent theme L2 (a theme the network never learned). Then runs ``songnet explain`` on it
with the shipped model and prints the per-note table.

Run: ``.venv/bin/python benchmarks/explain_demo.py [-o benchmarks/out/explain.png]``
(``make figures`` writes the README's ``docs/explain.png``).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np
import soundfile as sf

from songnet.cli import main as songnet
from songnet.resynth.resynthesize import resynthesize_sketch
from songnet.resynth.sketch import read_sketch
from songnet.surrogates import conditions as cond
from songnet.surrogates.birds import sing
from songnet.surrogates.themes import load_catalog
from songnet.synth import SR

sys.path.insert(0, str(Path(__file__).resolve().parent))
from soundscape import ROOT, SHARED, real_song


def demo_scene(rng: np.random.Generator) -> np.ndarray:
    """The scene at the synthesis rate (see the module docstring)."""
    themes = {t.name: t for t in load_catalog()}
    negatives = sorted((SHARED / "real-negatives").glob("*.wav"))
    other = sf.read(negatives[0], dtype="float32", always_2d=True)[0].mean(axis=1)
    l2 = resynthesize_sketch(read_sketch(ROOT / "data" / "1966" / "1966-L2.csv"))
    sounds = [sing(themes["T04"], rng=rng), real_song("XC462515", rng), other,
              l2.sound.samples]
    gap = np.zeros(round(1.5 * SR))
    parts = [gap]
    for s in sounds:
        s = np.asarray(s, dtype=np.float64)
        parts += [0.075 * s / cond.rms(s[np.abs(s) > 0.05 * np.abs(s).max()]), gap]
    y = np.concatenate(parts)
    noise = cond.coloured_noise(y.size, exponent=1.0, rng=rng)  # pink hiss
    return (y + 0.004 * noise / np.std(noise)).astype(np.float32)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-o", "--out", type=Path, default=Path("benchmarks/out/explain.png"),
                    help="the figure (`make figures` writes the README's docs/explain.png)")
    ap.add_argument("--seed", type=int, default=3)
    args = ap.parse_args()
    y = demo_scene(np.random.default_rng(args.seed))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        wav = Path(tmp) / "scene.wav"
        sf.write(wav, y, SR)
        sys.exit(songnet(["explain", str(wav), "-o", str(args.out), "-q"]))


if __name__ == "__main__":
    main()
