"""Does a song's event depend on where the recording starts? Real birds, cut before the song.

Each real bird of ``../shared/data/`` (:mod:`benchmarks.realbirds`) sings ``--songs``
renditions, each in pink noise 6 s after the start of its scene (a real other species
before or after it, as :func:`benchmarks.realbirds.scene` places one); every scene is
classified whole and cut 3, 1, 0.3 and 0.05 s before the song, with the shipped model (or
``--model``). A song is *start-dependent* when its events (found or not, their themes)
differ between the cuts.

Prints one line per song and ends with::

    songs= start_dependent= found_in_every_cut= same_theme_in_every_cut= max_p_change=

``max_p_change`` is the largest change, over the songs found in every cut, of the event's
top probability between cuts: how far the network's own reading moves.

These birds are not in the default catalog: with the shipped model their right answer is
``unknown``. The figure measures the stability of the decision, not its accuracy.

    .venv/bin/python benchmarks/start_invariance.py [--songs 3] [--seed 0] [--model M]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks import realbirds as rb
from songnet.classify.backends import open_model
from songnet.classify.params import ClassifyParams
from songnet.classify.windows import classify_blocks
from songnet.core import audio

CUTS_S = (None, 3.0, 1.0, 0.3, 0.05)  # None: the whole scene (the song 6 s in)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--songs", type=int, default=3, help="renditions per bird")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--model", default=None, help="a .onnx or .pt (default: the shipped one)")
    args = ap.parse_args()
    if not rb.available():
        raise SystemExit(f"the real material is not in {rb.SHARED}: nothing to measure")
    model = open_model(args.model)
    sr = model.fp.sr
    rng = np.random.default_rng(args.seed)
    n = dependent = found_all = same_all = 0
    p_change = 0.0
    for bird in rb.BIRDS:
        for k in range(args.songs):
            r = rb.variant(bird, rng, slow=False)
            y, start, end = rb.scene(bird, r, rng, lead_s=6.0)
            y = audio.resample(y, orig_sr=rb.SR, sr=sr)
            outcomes, top_p = [], []
            for cut in CUTS_S:
                t0 = 0.0 if cut is None else start - cut
                z = y[round(t0 * sr):]
                events, _ = classify_blocks([audio.Block(z, 0.0, sr)], model=model,
                                            params=ClassifyParams(), source=bird.name)
                hits = [e for e in events if e.start_s < end - t0 and e.end_s > start - t0]
                outcomes.append(tuple(e.theme for e in hits))
                top_p += [e.top[0][1] for e in hits]
            n += 1
            dependent += len(set(outcomes)) > 1
            found_all += all(len(o) == 1 for o in outcomes)
            same_all += all(len(o) == 1 for o in outcomes) and len(set(outcomes)) == 1
            if all(len(o) == 1 for o in outcomes):
                p_change = max(p_change, max(top_p) - min(top_p))
            cells = " ".join(f"{'whole' if c is None else f'-{c:g}s'}:{'/'.join(o) or '-'}"
                             for c, o in zip(CUTS_S, outcomes, strict=True))
            print(f"{bird.name} #{k}: {cells}")
    print(f"songs={n} start_dependent={dependent} found_in_every_cut={found_all} "
          f"same_theme_in_every_cut={same_all} max_p_change={p_change:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
