"""Can a recording tell how reverberant its site is? ``songnet.song.reverb.tail_t60`` on
songs given a known tail.

Songs, model-made (one of every shipped catalog theme) and real (the three real birds of
``../shared/data/``, assembled from their notes), each given a reverberant tail with
``songnet.surrogates.conditions.reverberate`` (T60 0.2, 0.5, 0.8 s; tail level ``wet``
0.3, or none), then white noise at a given SNR over the song's notes. The estimator reads
the tail after the song's end; per condition the line gives how many songs it could
measure and the median ratio of its T60 to the true one (a dry song: the median T60 it
read, which should be 0). The 30 dB floor of ``tail_t60`` (the last note above the
background in the song band) was chosen on these model songs before the real birds were
run: at SNR 15 (about 23 dB in the band) the estimate falls to half.

Run: ``.venv/bin/python benchmarks/reverb_tail.py`` (under a minute).
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks import realbirds as rb
from songnet.song.reverb import tail_t60
from songnet.surrogates import conditions as cond
from songnet.surrogates.birds import sing
from songnet.surrogates.synthesize_params import SynthesizeParams
from songnet.surrogates.themes import load_catalog
from songnet.synth import SR

CONDITIONS = [(0.0, 0.0), (0.2, 0.3), (0.5, 0.3), (0.8, 0.3), (0.5, 0.1)]


def songs() -> dict[str, list[np.ndarray]]:
    """Clean songs: model-made (one a catalog theme), and real (two renditions a bird)."""
    rng = np.random.default_rng(0)
    out = {"model": [sing(t, rng=rng, params=SynthesizeParams()) for t in load_catalog()]}
    if rb.available():
        out["real"] = [rb.sing(b, rb.variant(b, rng, slow=False)) for b in rb.BIRDS
                       for _ in range(2)]
    return out


def measure(song: np.ndarray, t60: float, wet: float, snr: float,
            rng: np.random.Generator) -> float:
    song = np.asarray(song, dtype=np.float64)
    active = np.flatnonzero(np.abs(song) > 0.01 * np.abs(song).max())
    pad = np.zeros(round(0.5 * SR))
    y = np.concatenate([pad, song[:active[-1] + 1], np.zeros(round(1.5 * SR))])
    if t60 > 0:
        y = cond.reverberate(y, t60_s=t60, wet=wet, rng=rng)
    level = np.sqrt(np.mean(song[active[0]:active[-1] + 1] ** 2))
    y = cond.mix_at_snr(y, rng.standard_normal(y.size), snr_db=snr, signal_rms=level)
    return tail_t60(y, SR, (pad.size + active[-1] + 1) / SR).t60_s


def main() -> int:
    rng = np.random.default_rng(1)
    for kind, clean in songs().items():
        for snr in (30.0, 15.0):
            for t60, wet in CONDITIONS:
                got = np.array([measure(s, t60, wet, snr, rng) for s in clean])
                ok = np.isfinite(got)
                if not ok.any():
                    summary = "not measurable"
                elif t60 == 0:
                    summary = f"median T60 read {np.median(got[ok]):.2f} s"
                else:
                    summary = f"median estimate / true {np.median(got[ok] / t60):.2f}"
                print(f"{kind} songs, SNR {snr:.0f} dB, T60 {t60:.1f} s, wet {wet:.1f}: "
                      f"{ok.sum()}/{got.size} measured; {summary}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
