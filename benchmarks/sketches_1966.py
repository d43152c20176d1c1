"""Write the illustrative 1966 sketches of ``data/1966/`` from the default catalog.

The sketches plant a known answer for the latent map (see ``data/1966/README.md``):

- five *variants* of 2020 themes (``1966-T01v`` …): the theme's introductory notes with
  every frequency times a pitch factor and every time divided by a tempo factor, then the
  dialect trill treated alike;
- three *lost* themes (``1966-L1`` … ``L3``) whose introductions no 2020 theme resembles
  (short alternating notes, a wide arch, high-low-high whistles), followed by the same
  dialect trill: in one locality the trill is shared, so a lost theme must be told apart
  by its introduction, as the network has to.

A sketch is what one reads off a sonogram: the trill syllable is drawn as the part of it
that shows (within 20 dB of its peak), at its mean pitch and interval (drawings show no
drift). Rerun this after changing the catalog or the dialect::

    .venv/bin/python benchmarks/sketches_1966.py [--out data/1966] [--check]

``--check`` writes nothing and exits 1 when a file differs from what it would write.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from songnet.core.files import write_text
from songnet.resynth.variants import sketch_text
from songnet.surrogates.themes import Note, load_catalog

VARIANTS = {"T01": (1.03, 0.95), "T03": (0.97, 1.05), "T05": (1.02, 0.93),
            "T08": (0.98, 0.96), "T10": (1.03, 1.04)}
"""Theme → (pitch factor, tempo factor) of its 1966 variant."""
LOST = {
    "L1": ("five fast notes alternating 6.5/3.5 kHz",
           [Note("whistle", (f,), 0.06, 0.04) for f in (6500.0, 3500.0, 6500.0, 3500.0)]
           + [Note("whistle", (6500.0,), 0.06, 0.08)]),
    "L2": ("one long upsweep 3.3 to 6.8 kHz and a short low 3.6 kHz whistle",
           [Note("sweep", (3300.0, 6800.0), 0.45, 0.06),
            Note("whistle", (3600.0,), 0.12, 0.09)]),
    "L3": ("three 200 ms whistles high-low-high (6.8, 3.4, 6.8 kHz)",
           [Note("whistle", (6800.0,), 0.2, 0.05), Note("whistle", (3400.0,), 0.2, 0.05),
            Note("whistle", (6800.0,), 0.2, 0.08)]),
}
def sketches() -> dict[str, str]:
    """File name → CSV text of every shipped 1966 sketch."""
    themes = {t.name: t for t in load_catalog()}
    out = {}
    for name, (pitch, tempo) in VARIANTS.items():
        th = themes[name]
        out[f"1966-{name}v.csv"] = sketch_text(
            f"1966-{name}v", name, f"illustrative variant of the 2020 theme {name}: pitch "
            f"x{pitch:g}, tempo x{tempo:g}", list(th.notes), th.trill, pitch=pitch, tempo=tempo)
    trill = themes[min(themes)].trill  # the dialect's
    for name, (what, notes) in LOST.items():
        out[f"1966-{name}.csv"] = sketch_text(
            f"1966-{name}", name, f"illustrative theme absent in 2020: {what}, then the "
            "dialect trill", notes, trill)
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=Path("benchmarks/out/1966"),
                    help="where to write (`make sketches` writes the pipeline's data/1966)")
    ap.add_argument("--check", action="store_true", help="only compare with the files there")
    args = ap.parse_args()
    stale = []
    for name, text in sketches().items():
        path = args.out / name
        if args.check:
            if not path.is_file() or path.read_text(encoding="utf-8") != text:
                stale.append(name)
        else:
            write_text(path, text)
            print(f"wrote {path}")
    if stale:
        print(f"out of date: {', '.join(stale)}; run benchmarks/sketches_1966.py")
    return 1 if stale else 0


if __name__ == "__main__":
    sys.exit(main())
