"""What ``songnet classify`` decides on the surrogate splits, beside the network's answer.

The ``evaluate`` stage scores the network: each clip's most probable class. ``songnet
classify`` decides more than that. A sound is a song when ``1 - p(no_song)`` reaches
``detect_threshold`` (0.5); a song the network ranks ``unknown`` first needs at least the
model's ``unknown_min_p`` of it; a song it names a theme is ``unknown`` when its embedding
lies beyond the open set's threshold from every theme's centroid. This runs classify's
own event code (:func:`songnet.classify.events.find_events`, each clip one song
candidate with its own probabilities and embedding, as classify scores a candidate) over
the pipeline's feature splits, and prints both answers side by side: the accuracy with
its Wilson 95 % interval, and what became of the theme songs (named right, ``unknown``,
no song, another theme). The note check is not applied: it reads the audio, which a
feature split does not hold.

These are model-made songs (the surrogate test and stress splits): a regression check of
the decision rule, not evidence about real birds. The last line::

    network_test= decided_test= network_stress= decided_stress=

    .venv/bin/python benchmarks/decided.py [--model experiments/model/model.pt]
        [--features data/features] [--splits test stress]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from songnet.classify.backends import TorchBackend
from songnet.classify.events import find_events
from songnet.classify.params import ClassifyParams
from songnet.classify.scores import Candidates, WindowScores
from songnet.core.labels import NO_SONG, UNKNOWN
from songnet.features.featureset import load_split
from songnet.model.checkpoint import load_checkpoint
from songnet.model.evaluate import wilson_interval

ROOT = Path(__file__).resolve().parents[1]


def decide(backend: TorchBackend, probs: np.ndarray, embeddings: np.ndarray, *,
           window_s: float, detect_threshold: float) -> list[str]:
    """classify's answer for each clip: a theme, ``unknown`` or ``no_song`` (no event)."""
    out = []
    for p, e in zip(probs, embeddings, strict=True):
        scores = WindowScores(starts_s=np.zeros(1), probs=p[None], window_s=window_s,
                              classes=backend.classes, embeddings=e[None])
        song = Candidates(np.zeros(1), np.full(1, window_s), p[None], e[None])
        events = find_events(scores, candidates=song, open_set=backend.open_set,
                             unknown_min_p=backend.unknown_min_p,
                             detect_threshold=detect_threshold)
        out.append(events[0].theme if events else NO_SONG)
    return out


def fates(truth: list[str], answer: list[str]) -> dict[str, float]:
    """Of the clips whose truth is a theme: the shares named right, ``unknown``, no song
    and another theme."""
    pairs = [(t, a) for t, a in zip(truth, answer, strict=True) if t not in (UNKNOWN, NO_SONG)]
    n = max(len(pairs), 1)
    right = sum(a == t for t, a in pairs) / n
    unknown = sum(a == UNKNOWN for _, a in pairs) / n
    missed = sum(a == NO_SONG for _, a in pairs) / n
    return {"right": right, "unknown": unknown, "no_song": missed,
            "another": 1.0 - right - unknown - missed}


def run_split(backend: TorchBackend, features: Path, split: str, *,
              detect_threshold: float) -> dict[str, float]:
    """Both answers on one split, printed; returns the two accuracies."""
    data = load_split(features, split)
    images = np.asarray(data.images, dtype=np.float32)
    probs, emb = [], []
    for i in range(0, len(images), 128):
        p, e = backend.predict(torch.from_numpy(images[i:i + 128]))
        probs.append(np.asarray(p)), emb.append(np.asarray(e))
    probs, emb = np.concatenate(probs), np.concatenate(emb)
    truth = [backend.classes[int(k)] for k in data.labels]
    network = [backend.classes[int(k)] for k in probs.argmax(axis=1)]
    decided = decide(backend, probs, emb, window_s=backend.fp.window_s,
                     detect_threshold=detect_threshold)
    n = len(truth)
    out = {}
    for name, answer in (("network", network), ("decided", decided)):
        acc = float(np.mean([a == t for a, t in zip(answer, truth, strict=True)]))
        lo, hi = wilson_interval(acc, n)
        f = fates(truth, answer)
        print(f"{split:>6} {name:>8}: accuracy {acc:.3f} (95 % interval {lo:.3f}-{hi:.3f}, "
              f"n={n}); theme songs: right {f['right']:.3f}, unknown {f['unknown']:.3f}, "
              f"no song {f['no_song']:.3f}, another theme {f['another']:.3f}")
        out[name] = acc
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", type=Path, default=ROOT / "experiments" / "model" / "model.pt")
    ap.add_argument("--features", type=Path, default=ROOT / "data" / "features")
    ap.add_argument("--splits", nargs="+", default=["test", "stress"])
    args = ap.parse_args()
    backend = TorchBackend(load_checkpoint(args.model), device="cpu")
    threshold = ClassifyParams().detect_threshold
    print(f"model {args.model.relative_to(ROOT) if args.model.is_relative_to(ROOT) else args.model}"
          f" ({backend.model_id}); detect_threshold {threshold}, unknown_min_p "
          f"{backend.unknown_min_p:.3f}, open set "
          f"{'none' if backend.open_set is None else backend.open_set.metric}")
    found = {s: run_split(backend, args.features, s, detect_threshold=threshold)
             for s in args.splits}
    print(" ".join(f"{k}_{s}={v[k]:.4f}" for s, v in found.items()
                   for k in ("network", "decided")))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
