"""The learn report on songs assembled from the real Z. capensis syllables.

Each Xeno-canto bird of ``../shared/data/real-syllables/`` gives one theme: its
introductory whistle, its downsweep, then its trill syllable repeated (two songs per theme,
at two trill intervals, in light noise). ``songnet themes learn`` learns a catalog from the
two theme folders; this script prints the report's per-note errors and writes the report
figure (real song left, the song sung from the learned theme right) to
``docs/learn_report.png``.

    .venv/bin/python benchmarks/learn_real.py [--out docs/learn_report.png]
"""

from __future__ import annotations

import argparse
import csv
import shutil
import tempfile
from pathlib import Path

import numpy as np
import soundfile as sf

from songnet.resynth.learn_files import learn_catalog, save_catalog
from songnet.resynth.learn_report import save_report
from songnet.synth import SR

REAL = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "real-syllables"
THEMES = {  # bird: (whistle, downsweep, trill syllable), syllable numbers of the clips
    "XC391056": (1, 2, 4),
    "XC462515": (1, 3, 4),
}


def assemble(bird: str, *, interval_s: float, count: int, seed: int) -> np.ndarray:
    """Whistle, 70 ms, downsweep, 80 ms, then the trill syllable ``count`` times."""
    w, s, t = (sf.read(REAL / f"{bird}-syllable-{k}.wav", dtype="float32")[0]
               for k in THEMES[bird])
    parts = [np.zeros(round(0.5 * SR)), w, np.zeros(round(0.07 * SR)), s,
             np.zeros(round(0.08 * SR))]
    parts += [t, np.zeros(round(interval_s * SR) - t.size)] * count
    y = np.concatenate([*parts, np.zeros(round(0.5 * SR))])
    rng = np.random.default_rng(seed)
    return (y + 0.003 * rng.standard_normal(y.size)).astype(np.float32)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=Path("docs/learn_report.png"))
    args = ap.parse_args()
    if not REAL.is_dir():
        raise SystemExit(f"no real syllables in {REAL}")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "real"
        for i, bird in enumerate(THEMES):
            sub = folder / bird
            sub.mkdir(parents=True)
            for k, (interval, count) in enumerate(((0.065, 12), (0.075, 11))):
                y = assemble(bird, interval_s=interval, count=count, seed=10 * i + k)
                sf.write(sub / f"song-{k}.wav", y, SR, subtype="FLOAT")
        catalog = learn_catalog(folder)
        out = Path(tmp) / "catalog"
        out.mkdir()
        save_catalog(catalog, out)
        csv_path, png = save_report(out, catalog.themes)
        for lt in catalog.themes:
            print((out / f"{lt.theme.name}.yaml").read_text())
        if catalog.dialect is None:
            print("(the two birds' trills differ: each theme keeps its own)")
        rows = list(csv.DictReader(csv_path.open()))
        for r in rows:
            print(f"{r['theme']}  {Path(r['file']).name}  note {r['note']:5s}  "
                  f"pitch {float(r['pitch_error_cents']):6.1f} cents  "
                  f"timing {float(r['timing_error_ms']):5.1f} ms")
        pitch = np.median([float(r["pitch_error_cents"]) for r in rows])
        timing = np.median([float(r["timing_error_ms"]) for r in rows])
        args.out.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(png, args.out)
    print(f"wrote {args.out}")
    print(f"report_pitch_cents={pitch:.1f} report_timing_ms={timing:.1f}")


if __name__ == "__main__":
    main()
