"""Resynthesis quality: pitch error of songnet's resynthesis vs the peer project's.

For every real clip in ``../shared/data/real-syllables/`` (beside its ``*.peer-resynth.wav``),
resynthesize the clip with songnet, track the pitch of original, peer and ours with
``songnet.song.track.track_pitch``, and take the absolute error in cents over the frames voiced
in the original (a frame the copy leaves silent counts as 1200 cents). As a check that the
fit does not merely please its own tracker, the same figure is also measured with
``librosa.pyin`` (an independent estimator, 10-cent resolution) over frames all three
voice. The last line pools the songnet-tracker errors of all clips:

    median_cents=<ours> peer_median_cents=<peer>

Run: ``.venv/bin/python benchmarks/resynth.py``
"""

from __future__ import annotations

import sys
import time
import warnings
from pathlib import Path

import librosa
import numpy as np

from songnet.core.audio import load
from songnet.resynth.resynthesize import ResynthesizeParams, resynthesize_recording
from songnet.song.track import pitch_error_cents, track_pitch
from songnet.synth import SR

CLIPS = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "real-syllables"


def pyin_errors(orig: np.ndarray, copy: np.ndarray, other: np.ndarray) -> np.ndarray:
    """|cents| of ``copy`` vs ``orig`` by pYIN over frames voiced in all three signals."""
    def f0(y):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            f, v, _ = librosa.pyin(y, fmin=2000, fmax=9000, sr=SR, frame_length=512,
                                   hop_length=64)
        return f, v
    (fa, va), (fb, vb), (_, vc) = f0(orig), f0(copy), f0(other)
    m = va & vb & vc
    return np.abs(1200 * np.log2(fb[m] / fa[m]))


def main() -> int:
    clips = sorted(p for p in CLIPS.glob("*.wav") if ".peer-resynth" not in p.name)
    if not clips:
        print(f"no clips in {CLIPS}; put the shared/ folder beside the repository")
        return 1
    params = ResynthesizeParams()
    ours_all, peer_all, ours_py, peer_py = [], [], [], []
    print(f"{'clip':28s} {'frames':>6s} {'ours':>8s} {'peer':>8s} {'pyin ours':>9s} "
          f"{'pyin peer':>9s} {'time':>6s}")
    for clip in clips:
        orig = load(clip, sr=SR)
        peer = load(clip.with_name(clip.stem + ".peer-resynth.wav"), sr=SR)
        t0 = time.perf_counter()
        ours = resynthesize_recording(orig, params=params).sound
        elapsed = time.perf_counter() - t0
        ref = track_pitch(orig)
        e_ours = pitch_error_cents(ref, track_pitch(ours))
        e_peer = pitch_error_cents(ref, track_pitch(peer))
        p_ours = pyin_errors(orig.samples, ours.samples, peer.samples)
        p_peer = pyin_errors(orig.samples, peer.samples, ours.samples)
        ours_all.append(e_ours)
        peer_all.append(e_peer)
        ours_py.append(p_ours)
        peer_py.append(p_peer)
        med = [np.median(e) if e.size else float("nan") for e in (e_ours, e_peer, p_ours, p_peer)]
        print(f"{clip.name:28s} {e_ours.size:6d} {med[0]:8.2f} {med[1]:8.2f} {med[2]:9.1f} "
              f"{med[3]:9.1f} {elapsed:5.2f}s")
    ours_med = float(np.median(np.concatenate(ours_all)))
    peer_med = float(np.median(np.concatenate(peer_all)))
    py_o = float(np.median(np.concatenate(ours_py)))
    py_p = float(np.median(np.concatenate(peer_py)))
    print(f"pyin check (independent tracker): ours {py_o:.1f} cents, peer {py_p:.1f} cents")
    print(f"ratio ours/peer = {ours_med / peer_med:.3f}")
    print(f"median_cents={ours_med:.2f} peer_median_cents={peer_med:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
