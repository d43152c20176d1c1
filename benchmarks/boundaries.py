"""Where does a song event start and end? ``classify``'s boundaries against the true song,
on songs assembled from real notes.

Every real bird of ``../shared/data/`` (:mod:`benchmarks.realbirds`: the two birds of
``real-syllables/`` and the four-note bird of ``real-birds/``) sings ``--songs`` songs per
seed and condition, each a new rendition (:func:`benchmarks.realbirds.variant`: gaps
±30 %, trill counts 8–20, touching to slow trills, first notes up to 12 dB quieter, SNR
10–30 dB in pink noise, a real clip of another species before or after it, here
0.05–0.6 s away, so that it often joins the song's run of loud frames), in two conditions:

- ``dry``: as assembled;
- ``reverb``: song and neighbour given a diffuse reverberant tail
  (:func:`songnet.surrogates.conditions.reverberate`, T60 0.3–1.0 s, tail level 0.1–0.3,
  the range of ``benchmarks/reverb_tail.py``) before the noise.

Each song is a recording of its own (its noise level and gain are its own), and goes
through ``songnet classify``'s own path (:func:`classify_file`, the shipped model, params
defaults). The true song runs from its first note's first sample to its last syllable's
last (each clip cut 30 dB below its peak). An event matches the song it overlaps most;
songs no event overlaps are counted as missed (the network's misses: boundaries do not
change them), events on no song as false.

Old and new boundaries come from the same run: the *old* one is the span of loud frames
(the song candidate) that ``find_events`` hands to
:func:`songnet.classify.bounds.song_bounds`, recorded on the way; the *new* one is what
the event reports. Printed per condition and overall: the median and 90th percentile of
the onset and offset errors (|event − true|, ms), the share of songs whose onset and
offset both lie within 0.1 s, and new/old ratios.

What chose what: no threshold of songnet was changed here. The rules of
:mod:`songnet.classify.bounds` (the reading without echoes and ``ECHO_DB``, leading notes
outside the species' pitch range left out, the first note's first voiced frame, the
trill's half-level end and its blurred last syllables) were chosen on seeds 0 and 1
(``--seeds 0 1``). Seeds 2–6 were then run once; three rules changed after, each prompted
by other material (a real-syllable song of ``benchmarks/soundscape.py`` read without
notes now starts at its group's first sound at a chingolo's pitch; a model song of T09
whose 511-ms downsweep was left out as too long: leading notes are no longer judged by
their length; hand-drawn echoes of ``tests/test_bounds.py``: the reading without echoes
wins ties), and seeds 2–6 read the same share within 0.1 s (0.87) before and after. The
figures to report are those of seeds 7–11 (the default), first run with the final rules.

Run: ``.venv/bin/python benchmarks/boundaries.py [--seeds 7 8 9 10 11] [--songs 6]``
(under a minute on two cores: 180 songs). Last line: ``songs= matched= onset_ms_old=
onset_ms_new= offset_ms_old= offset_ms_new= within_0.1_old= within_0.1_new=``.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path
from unittest import mock

import numpy as np
import soundfile as sf

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks import realbirds as rb
from songnet.classify import bounds, events
from songnet.classify.backends import open_model
from songnet.classify.windows import classify_file
from songnet.surrogates import conditions as cond

CONDITIONS = ("dry", "reverb")
SPACE_S = (0.05, 0.6)
"""Silence between a song and the other species' clip beside it, s."""
REVERB_T60_S = (0.3, 1.0)
REVERB_WET = (0.1, 0.3)
"""The reverberant condition's T60 (s) and tail level (``benchmarks/reverb_tail.py``'s)."""


def scenes(bird: rb.Bird, condition: str, *, songs: int, seed: int
           ) -> list[tuple[np.ndarray, float, float]]:
    """``songs`` renditions of ``bird``, each a recording of its own (its noise level and
    gain are its own): the samples at :data:`benchmarks.realbirds.SR` and the song's true
    start and end, s."""
    rng = np.random.default_rng([seed, rb.BIRDS.index(bird), CONDITIONS.index(condition)])
    out = []
    for _ in range(songs):
        r = rb.variant(bird, rng)
        room = None
        if condition == "reverb":
            t60, wet = float(rng.uniform(*REVERB_T60_S)), float(rng.uniform(*REVERB_WET))
            room = lambda y, t60=t60, wet=wet: cond.reverberate(  # noqa: E731
                y, t60_s=t60, wet=wet, rng=rng, sr=rb.SR)
        out.append(rb.scene(bird, r, rng, space_s=SPACE_S, room=room))
    return out


def classify_recorded(path: Path, model: object) -> list[tuple[float, float, float, float]]:
    """Each event of ``path`` as (old start, old end, new start, new end), s: the span of
    loud frames ``find_events`` gives :func:`songnet.classify.bounds.song_bounds`, and the
    event's reported span."""
    asked: dict[tuple[float, float], tuple[float, float]] = {}

    def recording_bounds(activity, start_s, end_s, **kw):
        got = bounds.song_bounds(activity, start_s, end_s, **kw)
        span = got or (start_s, end_s)
        asked[round(span[0], 3), round(span[1], 3)] = (start_s, end_s)
        return got

    with mock.patch.object(events, "song_bounds", recording_bounds):
        found, _ = classify_file(path, model=model)
    return [(*asked.get((e.start_s, e.end_s), (e.start_s, e.end_s)), e.start_s, e.end_s)
            for e in found]


def match(truth: list[tuple[float, float]], found: list[tuple[float, float, float, float]]
          ) -> tuple[list[tuple[tuple[float, float], tuple[float, float, float, float]]], int]:
    """Each true song with the event overlapping it most (by its new span), and the number
    of events overlapping no song."""
    def overlap(a: tuple[float, float], b: tuple[float, float]) -> float:
        return min(a[1], b[1]) - max(a[0], b[0])

    pairs = []
    for song in truth:
        best = max(found, key=lambda e: overlap(song, e[2:]), default=None)
        if best is not None and overlap(song, best[2:]) > 0:
            pairs.append((song, best))
    false = sum(all(overlap(s, e[2:]) <= 0 for s in truth) for e in found)
    return pairs, false


def summary(pairs: list) -> dict[str, float]:
    """Median and 90th percentile onset and offset errors (ms) and the share within
    0.1 s, old and new."""
    out: dict[str, float] = {}
    if not pairs:
        return out
    truth = np.array([p[0] for p in pairs])  # (k, 2)
    ev = np.array([p[1] for p in pairs])  # (k, 4)
    for name, cols in (("old", (0, 1)), ("new", (2, 3))):
        on = np.abs(ev[:, cols[0]] - truth[:, 0])
        off = np.abs(ev[:, cols[1]] - truth[:, 1])
        out[f"onset_ms_{name}"] = 1000 * float(np.median(on))
        out[f"onset_p90_ms_{name}"] = 1000 * float(np.percentile(on, 90))
        out[f"offset_ms_{name}"] = 1000 * float(np.median(off))
        out[f"offset_p90_ms_{name}"] = 1000 * float(np.percentile(off, 90))
        out[f"within_0.1_{name}"] = float(np.mean((on <= 0.1) & (off <= 0.1)))
    return out


def report(label: str, s: dict[str, float], n: int) -> None:
    if not s:
        print(f"{label}: no song matched")
        return

    def ratio(a: float, b: float) -> str:
        return f"{b / a:.2f}" if a > 0 else "-"

    print(f"{label} ({n} songs matched)")
    for key in ("onset_ms", "onset_p90_ms", "offset_ms", "offset_p90_ms"):
        old, new = s[f"{key}_old"], s[f"{key}_new"]
        print(f"  {key:14s} old {old:7.1f}  new {new:7.1f}  new/old {ratio(old, new)}")
    old, new = s["within_0.1_old"], s["within_0.1_new"]
    print(f"  both within 0.1 s  old {old:.2f}  new {new:.2f}  new/old {ratio(old, new)}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seeds", type=int, nargs="+", default=[7, 8, 9, 10, 11])
    ap.add_argument("--songs", type=int, default=6, help="songs per seed, bird and condition")
    args = ap.parse_args(argv)
    if not rb.available():
        print("the real notes are not in ../shared/data/; nothing to measure")
        return 1
    t0 = time.perf_counter()
    model = open_model(None)
    pairs: dict[str, list] = {c: [] for c in CONDITIONS}
    sung = false = 0
    with tempfile.TemporaryDirectory() as tmp:
        for seed in args.seeds:
            for bird in rb.BIRDS:
                for condition in CONDITIONS:
                    for y, a, b in scenes(bird, condition, songs=args.songs, seed=seed):
                        path = Path(tmp) / "scene.wav"
                        sf.write(path, y, rb.SR, subtype="FLOAT")
                        got, n_false = match([(a, b)], classify_recorded(path, model))
                        pairs[condition] += got
                        sung += 1
                        false += n_false
                        for song, e in got:
                            print(f"seed {seed} {bird.name:9s} {condition:6s} true "
                                  f"{song[0]:6.3f}-{song[1]:6.3f}  old {e[0]:6.3f}-{e[1]:6.3f}"
                                  f"  new {e[2]:6.3f}-{e[3]:6.3f}", flush=True)
    everything = [p for c in CONDITIONS for p in pairs[c]]
    print(f"seeds {args.seeds}: {sung} songs sung, {len(everything)} matched, "
          f"{sung - len(everything)} missed, {false} events on no song; "
          f"{time.perf_counter() - t0:.0f} s")
    for c in CONDITIONS:
        report(c, summary(pairs[c]), len(pairs[c]))
    total = summary(everything)
    report("all", total, len(everything))
    if total:
        print(f"songs={sung} matched={len(everything)} "
              f"onset_ms_old={total['onset_ms_old']:.0f} onset_ms_new={total['onset_ms_new']:.0f} "
              f"offset_ms_old={total['offset_ms_old']:.0f} "
              f"offset_ms_new={total['offset_ms_new']:.0f} "
              f"within_0.1_old={total['within_0.1_old']:.2f} "
              f"within_0.1_new={total['within_0.1_new']:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
