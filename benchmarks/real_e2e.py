"""Trained for a real bird, recognise that bird: the whole pipeline on real birds' songs.

Every real bird of ``../shared/data/`` (:mod:`benchmarks.realbirds`: the two birds of
``real-syllables/`` and the four-note bird of ``real-birds/``) sings ``--files``
recordings of ``--songs`` songs, each song a new rendition (gaps ±30 %, trill counts
8–20, quiet first notes, SNR 10–30 dB, a real clip of another species before or after
it, :func:`benchmarks.realbirds.variant`), each bird at its own trill rate (±8 % from
song to song; a slow trill of stretched syllables for some birds). Leave one recording
out, ``--files`` folds: fold *k* holds out recording *k* of every bird and
builds a ``data/2020/`` of the others, then runs the pipeline as ``dvc repro`` does with
that folder: the catalog learned from it (``songnet themes learn``), ``synthesize
--recordings`` (its real songs join the clips, its song-free stretches are the
backgrounds), ``features``, ``train`` (a short schedule: ``--epochs``, with the pipeline's
other params), ``evaluate`` (the surrogate test split). The trained model then classifies
the held-out recordings and the real negatives (``../shared/data/real-negatives/``, each
clip alone and all of them in one 12-s scene of pink noise), as ``songnet classify
--model`` would.

A held-out song is *found* when an event overlaps it, *named right* when that event names
its bird's theme; ``unknown`` and ``wrong`` count the other found songs; a false event is
one on the negatives. Prints a line per fold, a confusion table (true bird x answer), and::

    songs= found= named_right= unknown= wrong= false_events= surrogate_test_acc=

Targets (issue 28): >= 90 % of held-out songs named right, 0 false events, surrogate test
accuracy >= 0.95. What chose what: no setting of songnet was chosen on this benchmark's
songs; ``synthesize.real_copies`` (8) and ``real_background_prob`` (0.5) were set before it
was first run, from the balance of one theme's 64 surrogate train songs. The benchmark
itself changed once after its first run (fold 0: 4 of 9 songs named right): each song had
drawn its own trill rate, from touching to slow, which no real bird does within a theme.

    .venv/bin/python benchmarks/real_e2e.py [--files 3] [--songs 3] [--epochs 40]
        [--seed 2028] [--folds K]
"""

from __future__ import annotations

import argparse
import collections
import dataclasses
import json
import sys
import tempfile
from pathlib import Path

import numpy as np
import soundfile as sf
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks import realbirds as rb
from songnet.classify.backends import open_model
from songnet.classify.windows import classify_file
from songnet.cli import main as songnet_main
from songnet.resynth.learn_files import learn_catalog, save_catalog

ROOT = Path(__file__).resolve().parents[1]


def build(folder: Path, *, files: int, songs: int, seed: int) -> list[dict]:
    """``folder/<bird>/rec-K.wav`` for every bird; one record per song sung."""
    rng = np.random.default_rng(seed)
    sung = []
    for bird in rb.BIRDS:
        (folder / bird.name).mkdir(parents=True)
        # a bird keeps its trill rate from song to song (±8 %); its gaps, counts, levels,
        # SNR and neighbours vary (a bird that switched between fast and slow trills would
        # be singing two themes)
        own = rb.variant(bird, rng)
        for f in range(files):
            parts, t = [], 0.0
            for _ in range(songs):
                r = rb.variant(bird, rng, slow=own.stretch != 1.0)
                r = dataclasses.replace(r, interval_s=own.interval_s * float(
                    rng.uniform(0.92, 1.08)), stretch=own.stretch)
                y, a, b = rb.scene(bird, r, rng, lead_s=float(rng.uniform(1.0, 2.5)))
                sung.append({"bird": bird.name, "file": f, "start_s": t + a, "end_s": t + b})
                parts.append(y)
                t += y.size / rb.SR
            sf.write(folder / bird.name / f"rec-{f}.wav", np.concatenate(parts), rb.SR,
                     subtype="FLOAT")
    return sung


def params_file(out: Path, *, epochs: int) -> Path:
    """The pipeline's params with a smaller surrogate set and a short schedule."""
    p = yaml.safe_load((ROOT / "params.yaml").read_text())
    p["synthesize"].update(train_birds=5, train_songs_per_bird=6, val_birds=2,
                           val_songs_per_bird=5, test_birds=2, test_songs_per_bird=5,
                           stress_birds=1, stress_songs_per_bird=5, no_song_factor=2.0)
    p["train"].update(epochs=epochs, patience=epochs)
    out.write_text(yaml.safe_dump(p))
    return out


def run(*args: str) -> None:
    code = songnet_main([*args, "-q"])
    if code != 0:
        raise SystemExit(f"songnet {' '.join(args)} failed ({code})")


def negatives_scene(tmp: Path, rng: np.random.Generator) -> Path:
    """All real negative clips in one 12-s scene of faint pink noise, 1.5 s apart."""
    y = np.zeros(12 * rb.SR, dtype=np.float32)
    at = round(0.5 * rb.SR)
    for path in rb.NEGATIVES:
        clip, sr = sf.read(path, dtype="float32")
        clip = clip if clip.ndim == 1 else clip.mean(axis=1)
        assert sr == rb.SR
        clip = 0.5 * clip / max(float(np.abs(clip).max()), 1e-9)
        y[at:at + clip.size] += clip[:y.size - at]
        at += clip.size + round(1.5 * rb.SR)
    y += 0.003 * rb._noise(y.size, rng)
    out = tmp / "negatives-scene.wav"
    sf.write(out, y, rb.SR, subtype="FLOAT")
    return out


def fold(tmp: Path, recordings: Path, k: int, sung: list[dict], *, epochs: int
         ) -> tuple[list[tuple[str, str]], int, float]:
    """Train without recording ``k`` of every bird; (true, answer) per held-out song, false
    events on the negatives, surrogate test accuracy."""
    work = tmp / f"fold{k}"
    data = work / "2020"
    for bird in rb.BIRDS:
        (data / bird.name).mkdir(parents=True)
        for src in sorted((recordings / bird.name).glob("rec-*.wav")):
            if src.stem != f"rec-{k}":
                (data / bird.name / src.name).symlink_to(src)
    catalog = work / "catalog"
    catalog.mkdir()
    save_catalog(learn_catalog(data), catalog)
    params = params_file(work / "params.yaml", epochs=epochs)
    surrogates, features, model = work / "surrogates", work / "features", work / "model"
    run("synthesize", "--catalog", str(catalog), "--recordings", str(data), "-o",
        str(surrogates), "--params", str(params))
    run("features", "--manifest", str(surrogates / "manifest.csv"), "-o", str(features),
        "--params", str(params))
    run("train", "--features", str(features), "--catalog", str(catalog), "-o", str(model),
        "--params", str(params))
    run("evaluate", "--model", str(model / "model.pt"), "--features", str(features), "-o",
        str(work / "eval"), "--params", str(params))
    accuracy = json.loads((work / "eval" / "metrics.json").read_text())["test"]["accuracy"]
    net = open_model(model / "model.pt")
    answers = []
    for bird in rb.BIRDS:
        events, _ = classify_file(recordings / bird.name / f"rec-{k}.wav", model=net)
        for s in sung:
            if s["bird"] != bird.name or s["file"] != k:
                continue
            hits = [e for e in events if e.start_s < s["end_s"] and e.end_s > s["start_s"]]
            best = max(hits, key=lambda e: e.confidence, default=None)
            answers.append((bird.name, "missed" if best is None else best.theme))
    false = 0
    for path in [*rb.NEGATIVES, negatives_scene(work, np.random.default_rng(k))]:
        false += len(classify_file(path, model=net)[0])
    return answers, false, accuracy


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--files", type=int, default=3, help="recordings per bird (= folds)")
    ap.add_argument("--songs", type=int, default=3, help="songs per recording")
    ap.add_argument("--epochs", type=int, default=40, help="training schedule per fold")
    ap.add_argument("--seed", type=int, default=2028)
    ap.add_argument("--folds", type=int, default=None, help="run only the first K folds")
    args = ap.parse_args()
    if not rb.available():
        raise SystemExit(f"the real material is not in {rb.SHARED}: nothing to measure")
    if args.files < 2:
        raise SystemExit("--files must be at least 2 (one recording is held out per fold)")
    answers: list[tuple[str, str]] = []
    false, accuracies = 0, []
    with tempfile.TemporaryDirectory() as t:
        tmp = Path(t)
        recordings = tmp / "recordings"
        sung = build(recordings, files=args.files, songs=args.songs, seed=args.seed)
        for k in range(args.files if args.folds is None else min(args.folds, args.files)):
            got, f, acc = fold(tmp, recordings, k, sung, epochs=args.epochs)
            right = sum(a == b for a, b in got)
            print(f"fold {k} (rec-{k} held out): {right}/{len(got)} named right, "
                  f"{f} false events, surrogate test accuracy {acc:.3f}", flush=True)
            answers += got
            false += f
            accuracies.append(acc)
    birds = [b.name for b in rb.BIRDS]
    counts = collections.Counter(answers)
    cols = [*birds, "unknown", "other", "missed"]
    print("\n| true \\ answer | " + " | ".join(cols) + " |")
    print("|---" * (len(cols) + 1) + "|")
    for b in birds:
        row = {c: counts[(b, c)] for c in [*birds, "unknown", "missed"]}
        row["other"] = sum(n for (t, a), n in counts.items()
                           if t == b and a not in (*birds, "unknown", "missed"))
        print(f"| {b} | " + " | ".join(str(row[c]) for c in cols) + " |")
    n = len(answers)
    found = sum(a != "missed" for _, a in answers)
    right = sum(t == a for t, a in answers)
    unknown = sum(a == "unknown" for _, a in answers)
    print(f"\nsongs={n} found={found} named_right={right} unknown={unknown} "
          f"wrong={found - right - unknown} false_events={false} "
          f"surrogate_test_acc={min(accuracies):.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
