"""How far the persistence question can be answered from the notes: validate's drifted
variants against the catalog's note templates.

The ``validate`` stage answers "does this 1966 song's theme persist?" from the network's
embedding. This asks the same of the notes themselves, with no network: every theme's
drifted 1966-style variants (:func:`songnet.latent.folds.drifted_songs`, the stage's own
drift: pitch, tempo and trill changes, a note dropped, repeated, added or sung as another
kind) are resung by the model, read by the learn reader
(:func:`songnet.song.find.find_songs`) and compared with every catalog theme's
introduction (the note templates of the model's note check,
:func:`songnet.song.distance.intro_distances`, in notes' worth).

Each variant is asked both questions ``validate`` asks: with its own theme known, it
should *persist* (its own theme within the threshold); with its theme held out, it should
be *lost* (every other theme beyond it). The threshold is chosen on the odd-numbered
variants (the best worst case of the two rates) and reported on the even-numbered ones, as
``validate`` chooses and reports. ``separable`` is the share of variants whose own theme
lies nearer than any other: a variant nearer another theme cannot be called right both
ways by any threshold on this distance. The last line::

    lost= persist= threshold= separable= variants=

    .venv/bin/python benchmarks/note_persistence.py [--variants 8] [--seed 0]
        [--themes T01 T02 ...] [--model experiments/model/model.pt]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from songnet.latent.folds import drifted_songs
from songnet.latent.rules import CHOOSE, REPORT
from songnet.model.checkpoint import load_checkpoint
from songnet.song.distance import intro_distances, intro_vectors
from songnet.song.find import find_songs
from songnet.song.notecheck import NoteCheck
from songnet.surrogates.themes import load_catalog

ROOT = Path(__file__).resolve().parents[1]
THRESHOLDS = np.arange(0.25, 4.01, 0.25)
"""The note-distance thresholds tried, notes' worth."""


def variant_distances(themes: list, templates: dict[str, np.ndarray], *, n: int,
                      seed: int) -> list[dict]:
    """Per variant: its theme, half, drift and its distance to every template (None when
    the reader found no song in it)."""
    rows = []
    for r in drifted_songs(themes, n=n, seed=seed, sr=22050).itertuples():
        songs, _ = find_songs(r.sound, one_song=True)
        d = None
        if songs:
            v = intro_vectors(songs[0].intro)
            d = dict(zip(templates, intro_distances(v, list(templates.values())).tolist(),
                         strict=True))
        rows.append({"theme": r.theme, "half": r.half, "description": r.description,
                     "distances": d})
    return rows


def rates(rows: list[dict], threshold: float, half: str) -> tuple[float, float]:
    """(lost_rate, persist_rate) of one half's variants at ``threshold``."""
    lost, persist = [], []
    for r in rows:
        d = r["distances"]
        if r["half"] != half or d is None:
            continue
        lost.append(min(v for t, v in d.items() if t != r["theme"]) > threshold)
        persist.append(d[r["theme"]] <= threshold)
    return float(np.mean(lost)) if lost else 0.0, float(np.mean(persist)) if persist else 0.0


def separable(rows: list[dict]) -> float:
    """The share of read variants whose own theme lies nearer than every other."""
    ok = [r["distances"][r["theme"]] < min(v for t, v in r["distances"].items()
                                           if t != r["theme"])
          for r in rows if r["distances"] is not None]
    return float(np.mean(ok)) if ok else 0.0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--variants", type=int, default=8, help="drifted variants per theme")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--themes", nargs="*", default=None, help="default: the whole catalog")
    ap.add_argument("--model", type=Path, default=ROOT / "experiments" / "model" / "model.pt",
                    help="the model whose note check holds the themes' note templates")
    args = ap.parse_args()
    check = NoteCheck.from_meta(load_checkpoint(args.model).meta)
    if check is None:
        raise SystemExit(f"{args.model}: the model has no note check to take templates from")
    catalog = [t for t in load_catalog() if not args.themes or t.name in args.themes]
    if len(catalog) < 2:
        raise SystemExit("at least two themes are needed (one held out, one known)")
    templates = {t.name: check.templates[t.name] for t in catalog}
    rows = variant_distances(catalog, templates, n=args.variants, seed=args.seed)
    read = sum(r["distances"] is not None for r in rows)
    print(f"{len(rows)} drifted variants of {len(catalog)} themes (seed {args.seed}), "
          f"{read} read by the learn reader")
    gaps = [min(float(intro_distances(templates[a], [templates[b]])[0])
                for b in templates if b != a) for a in templates]
    own = [r["distances"][r["theme"]] for r in rows if r["distances"] is not None]
    print(f"each theme's nearest other theme: {min(gaps):.2f}-{max(gaps):.2f} notes away; "
          f"the variants from their own theme: {min(own):.2f}-{max(own):.2f} "
          f"(median {np.median(own):.2f})")
    print("threshold  choose lost/persist  report lost/persist")
    for t in THRESHOLDS:
        c, r = rates(rows, t, CHOOSE), rates(rows, t, REPORT)
        print(f"{t:9.2f}  {c[0]:.3f} / {c[1]:.3f}        {r[0]:.3f} / {r[1]:.3f}")
    best = max(THRESHOLDS, key=lambda t: (min(rates(rows, t, CHOOSE)), -t))
    lost, persist = rates(rows, best, REPORT)
    print(f"lost={lost:.3f} persist={persist:.3f} threshold={best:.2f} "
          f"separable={separable(rows):.3f} variants={read}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
