"""How real do the default themes sound? Their songs and the real syllables, measured alike.

Sings one song per default theme (``songnet.surrogates.birds.sing``, seed ``[seed,
i]``) and reads the real syllables of ``../shared/data/real-syllables/`` (not the peer
resyntheses) and the note clips of ``../shared/data/real-birds/``; measures both with
``songnet.surrogates.realism.measure`` (the pitch tracker and segmenter ``songnet themes``
reads songs with; a note's extent is its frames within 12 dB of its level): trill
syllable duration, start and end pitch, sweep ratio and rate; introductory
note durations and pitch spans; 2nd harmonic level; song length. Prints them side by side
and ends with one line, themes beside real values (real song length: DESIGN.md)::

    trill_ms=<themes> (real <real>) trill_sweep_ratio=... song_s=... h2_db=...

    .venv/bin/python benchmarks/realism.py [--seed 0]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import soundfile as sf

from songnet.surrogates.birds import sing
from songnet.surrogates.realism import REAL_RANGES, SongMeasures, Syllable, measure
from songnet.surrogates.themes import load_catalog
from songnet.synth import SR

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.realbirds import BIRDS, SHARED, available


def _span(values: list[float], fmt: str = ".0f") -> str:
    if not values:
        return "-"
    lo, hi = min(values), max(values)
    return f"{lo:{fmt}}" if f"{lo:{fmt}}" == f"{hi:{fmt}}" else f"{lo:{fmt}}-{hi:{fmt}}"


def _row(name: str, m: SongMeasures, *, song: bool) -> str:
    tr = m.trill[1:-1] if len(m.trill) > 4 else m.trill  # a song's first and last may be cut
    intro = m.intro
    return (f"{name:22s} {len(m.trill):3d} {_span([s.duration_ms for s in tr]):>7s} "
            f"{_span([s.f_start_hz / 1000 for s in tr], '.1f'):>9s} "
            f"{_span([s.f_end_hz / 1000 for s in tr], '.1f'):>9s} "
            f"{_span([s.ratio for s in tr], '.2f'):>9s} "
            f"{_span([s.sweep_oct_s for s in tr], '.0f'):>6s} | "
            f"{len(intro):2d} {_span([s.duration_ms for s in intro]):>8s} "
            f"{_span([s.ratio for s in intro], '.2f'):>9s} | "
            f"{m.h2_db:6.1f} {m.song_s if song else float('nan'):6.2f}")


def _read(rel: str) -> dict:
    y, sr = sf.read(SHARED / rel, dtype="float32")
    return {"y": np.pad(y, sr // 20), "sr": sr}  # a little silence around the clip


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seed", type=int, default=0, help="seed of the birds singing the themes")
    args = ap.parse_args()
    head = (f"{'':22s} {'n':>3s} {'ms':>7s} {'start kHz':>9s} {'end kHz':>9s} {'ratio':>9s} "
            f"{'oct/s':>6s} | {'n':>2s} {'ms':>8s} {'ratio':>9s} | {'h2 dB':>6s} {'song s':>6s}")
    print(f"{'':22s} {'trill syllables (middle ones)':^50s} | {'intro notes':^21s} |")
    print(head)
    themes = []
    for i, theme in enumerate(load_catalog()):
        m = measure(sing(theme, rng=np.random.default_rng([args.seed, i])), sr=SR)
        themes.append(m)
        print(_row(f"theme {theme.name}", m, song=True))
    real = []
    for bird in BIRDS if available() else ():
        def notes(rels: tuple[str, ...]) -> tuple[Syllable, ...]:
            return tuple(s for rel in rels for s in measure(**_read(rel)).syllables)

        intro, trill = notes(bird.intro), notes(bird.trill)
        h2 = float(np.median([measure(**_read(rel)).h2_db for rel in bird.intro]))
        m = SongMeasures(syllables=intro + trill, intro=intro, trill=trill, h2_db=h2)
        real.append(m)
        print(_row(f"real {bird.name} notes", m, song=False))
    if not real:
        print(f"(no real notes in {SHARED}; put the shared/ folder beside the repository)")

    def pooled(ms: list[SongMeasures], what: str) -> list[float]:
        tr = [s for m in ms for s in (m.trill[1:-1] if len(m.trill) > 4 else m.trill)]
        return [s.duration_ms if what == "ms" else s.ratio for s in tr]

    t_ms, t_ratio = pooled(themes, "ms"), pooled(themes, "ratio")
    r_ms, r_ratio = pooled(real, "ms"), pooled(real, "ratio")
    h2_t = [m.h2_db for m in themes]
    h2_r = [m.h2_db for m in real]
    song = [m.song_s for m in themes]
    print("real ranges (DESIGN.md): " + ", ".join(f"{k} {lo:g}..{hi:g}"
                                                    for k, (lo, hi) in REAL_RANGES.items()))
    inside = all(REAL_RANGES["trill_ms"][0] <= v <= REAL_RANGES["trill_ms"][1] for v in t_ms) \
        and all(REAL_RANGES["song_s"][0] <= v <= REAL_RANGES["song_s"][1] for v in song) \
        and REAL_RANGES["h2_db"][0] <= float(np.median(h2_t)) <= REAL_RANGES["h2_db"][1]
    print(f"themes inside the real ranges (trill ms, song s, median h2): {inside}")
    real_h2 = f"{np.median(h2_r):.1f}" if h2_r else "-"
    print(f"trill_ms={np.median(t_ms):.0f} [{_span(t_ms)}] (real {_span(r_ms)}) "
          f"trill_sweep_ratio={np.median(t_ratio):.2f} [{_span(t_ratio, '.2f')}] "
          f"(real {_span(r_ratio, '.2f')}) "
          f"song_s={np.median(song):.2f} [{_span(song, '.2f')}] "
          f"(real {REAL_RANGES['song_s'][0]:g}-{REAL_RANGES['song_s'][1]:g}) "
          f"h2_db={np.median(h2_t):.1f} [{_span(h2_t, '.1f')}] (real {real_h2})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
