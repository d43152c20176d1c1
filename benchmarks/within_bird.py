"""How much one real bird varies a note it sings twice: the within-bird spread that
``validate``'s drift variants add to every note (``songnet.resynth.variants``).

The real material (``../shared/data/real-birds/``) holds one song of a bird note by note;
where the bird sings the same note more than once in that song (XC53516: two flat whistles,
two long downsweeps, five trill syllables), the differences between the repeats are the
bird's own rendition-to-rendition spread. Each clip is tracked (:func:`songnet.song.track.
track_pitch`), its loudest note segmented (half-level onset and offset, the pitch at its
ends and middle); the spread is the standard deviation of the log ratio of each repeat to
the group's geometric mean, pooled over groups (a clip given twice, byte for byte, counts
once).

Prints one line per group, then ``sd_duration= sd_pitch=`` (fractions), then how far the
``validate`` stage's drift variants lie from their theme on the foreign themes' note scale
(:func:`songnet.surrogates.foreign.theme_distance`; 40 variants of every shipped catalog
theme), with their note-level change alone and with this spread on top.
"""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

import numpy as np
import soundfile as sf

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks import realbirds as rb
from songnet.core.sound import Sound
from songnet.resynth.variants import drift_variant
from songnet.song.segment import segment, segment_notes
from songnet.song.track import track_pitch
from songnet.surrogates.foreign import theme_distance
from songnet.surrogates.themes import load_catalog

GROUPS = {"XC53516": (("whistles", (1, 2)), ("downsweeps", (3, 4)),
                      ("trill syllables", (5, 6, 7, 8, 9)))}


def measure(path: Path) -> tuple[float, float, float, float]:
    """(half-level duration s, start Hz, middle Hz, end Hz) of the clip's loudest note."""
    y, sr = sf.read(path, dtype="float32", always_2d=True)
    track = track_pitch(Sound(y.mean(axis=1), sr, source=path.name), fmin=2500.0, fmax=9000.0)
    notes = [segment(track, n.start, n.stop) for n in segment_notes(track)]
    notes = [s for s in notes if s is not None]
    if not notes:
        raise SystemExit(f"{path}: no note found")
    s = max(notes, key=lambda seg: seg.peak * seg.duration_s)
    start, end = s.ends_hz
    return s.duration_s, start, s.pitch_hz, end


def main() -> int:
    if not rb.available():
        raise SystemExit(f"the real material is not in {rb.SHARED}: nothing to measure")
    dur_dev, pitch_dev = [], []
    for bird, groups in GROUPS.items():
        for name, numbers in groups:
            paths = [rb.SHARED / "real-birds" / bird / f"note-{k}.wav" for k in numbers]
            unique = {hashlib.sha256(p.read_bytes()).hexdigest(): p for p in paths}
            if len(unique) < len(paths):  # one clip given twice is no second rendition
                print(f"{bird} {name}: {len(paths) - len(unique)} clip(s) identical to "
                      "another, counted once")
            m = np.array([measure(p) for p in sorted(unique.values())])
            logd = np.log(m[:, 0])
            logp = np.log(m[:, 1:])
            dur_dev += list(logd - logd.mean())
            pitch_dev += list((logp - logp.mean(axis=0)).ravel())
            cells = "; ".join(f"{d * 1000:.0f} ms {a:.0f}->{b:.0f}->{c:.0f} Hz"
                              for d, a, b, c in m)
            print(f"{bird} {name}: {cells}")
    # the deviations from each group's mean lose one degree of freedom per group (and
    # per pitch point)
    n_groups = sum(len(g) for g in GROUPS.values())
    sd_d = float(np.sqrt(np.sum(np.square(dur_dev)) / (len(dur_dev) - n_groups)))
    sd_p = float(np.sqrt(np.sum(np.square(pitch_dev)) / (len(pitch_dev) - 3 * n_groups)))
    print(f"sd_duration={sd_d:.3f} sd_pitch={sd_p:.3f}")
    alone = drift_distances({"duration": 0.0, "pitch": 0.0})
    spread = drift_distances(None)
    print(f"drift variants from their theme (median, 90th percentile): note change alone "
          f"{np.median(alone):.2f}, {np.quantile(alone, 0.9):.2f}; with the within-bird "
          f"spread {np.median(spread):.2f}, {np.quantile(spread, 0.9):.2f} (foreign themes: "
          "2 or more)")
    return 0


def drift_distances(spread: dict | None, n: int = 40) -> np.ndarray:
    """``theme_distance`` of ``n`` drift variants of every catalog theme from the theme."""
    out = []
    rng = np.random.default_rng(0)
    for theme in load_catalog():
        for _ in range(n):
            variant = drift_variant(theme, rng=rng, spread=spread).applied_to(theme)
            out.append(theme_distance(variant, theme))
    return np.array(out)


if __name__ == "__main__":
    raise SystemExit(main())
