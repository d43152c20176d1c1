"""The default themes beside the real Z. capensis syllables: CQT images, pitch range,
note durations and timbre (2nd harmonic level), measured the same way on both.

Reads ``../shared/data/real-syllables/*.wav`` (not the peer resyntheses), sings one song
per default theme (seed 0), and draws them (``benchmarks/out/themes_vs_real.png``; ``make
figures`` writes the README's ``docs/themes_vs_real.png``).

    .venv/bin/python benchmarks/themes_vs_real.py [--out docs/themes_vs_real.png]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import librosa
import numpy as np
import soundfile as sf

from songnet.core.files import atomic_path
from songnet.features.images import image_reference
from songnet.features.params import FeatureParams
from songnet.features.theme_plots import image_grid
from songnet.surrogates.birds import sing
from songnet.surrogates.themes import load_catalog
from songnet.synth import SR, harmonic_level_db

REAL = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "real-syllables"


def peak_band_khz(y: np.ndarray, sr: int) -> tuple[float, float]:
    """5th and 95th percentile of the per-frame peak frequency in loud frames (kHz)."""
    spec = np.abs(librosa.stft(y.astype(np.float32), n_fft=1024, hop_length=256))
    freqs = librosa.fft_frequencies(sr=sr, n_fft=1024)
    band = (freqs >= 1500) & (freqs <= 10000)
    peak = spec[band].max(axis=0)
    loud = peak >= peak.max() * 10 ** (-20 / 20)
    f = freqs[band][np.argmax(spec[band], axis=0)][loud]
    return float(np.percentile(f, 5) / 1000), float(np.percentile(f, 95) / 1000)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=Path("benchmarks/out/themes_vs_real.png"),
                    help="the figure (`make figures` writes the README's docs/ copy)")
    args = ap.parse_args()
    params = FeatureParams()
    clips = sorted(p for p in REAL.glob("*.wav") if ".peer-resynth" not in p.name)
    if not clips:
        raise SystemExit(f"no real syllables in {REAL}")
    images, titles, durations = [], [], []
    real_h2, real_lo, real_hi = [], [], []
    print("real syllables (file, duration s, pitch band kHz, 2nd harmonic dB):")
    for path in clips:
        y, sr = sf.read(path)
        lo, hi = peak_band_khz(y, sr)
        h2 = harmonic_level_db(y, sr=sr)
        print(f"  {path.name:24s} {y.size / sr:6.3f}  {lo:4.1f}-{hi:4.1f}  {h2:6.1f}")
        real_lo.append(lo)
        real_hi.append(hi)
        if y.size / sr > 0.1:
            real_h2.append(h2)
        images.append(image_reference(librosa.resample(y, orig_sr=sr, target_sr=params.sr),
                                      params=params))
        titles.append(f"real {path.stem.replace('-syllable-', ' #')}")
        durations.append(max(y.size / sr, 0.15))
    ours_h2, ours_lo, ours_hi = [], [], []
    print("default themes, one song each (theme, note durations ms, pitch band kHz, "
          "2nd harmonic dB):")
    for i, theme in enumerate(load_catalog()):
        y = sing(theme, rng=np.random.default_rng([0, i]))
        lo, hi = peak_band_khz(y, SR)
        h2 = harmonic_level_db(y)
        notes = [round(n.duration_s * 1000) for n in theme.notes]  # the trill: dialect.yaml
        print(f"  {theme.name}  intro {notes} trill {round(theme.trill.note_s * 1000)}  "
              f"{lo:4.1f}-{hi:4.1f}  {h2:6.1f}")
        ours_h2.append(h2)
        ours_lo.append(lo)
        ours_hi.append(hi)
        images.append(image_reference(librosa.resample(y, orig_sr=SR, target_sr=params.sr),
                                      params=params))
        titles.append(f"theme {theme.name}")
        durations.append(theme.duration_s + 0.1)
    fig = image_grid(images, titles, params=params, durations_s=durations, ncols=4)
    fig.suptitle("Real Z. capensis syllables (first two rows) and the default themes "
                 "(songnet.surrogates.birds.sing, seed 0); CQT as in songnet.features",
                 fontsize=10)
    with atomic_path(args.out) as tmp:
        fig.savefig(tmp, dpi=80)
    print(f"wrote {args.out}")
    print(f"pitch band: real {min(real_lo):.1f}-{max(real_hi):.1f} kHz, "
          f"themes {min(ours_lo):.1f}-{max(ours_hi):.1f} kHz")
    print(f"real_h2_db_median={np.median(real_h2):.1f} themes_h2_db_median="
          f"{np.median(ours_h2):.1f} themes_h2_db_range={min(ours_h2):.1f}..{max(ours_h2):.1f}")


if __name__ == "__main__":
    main()
