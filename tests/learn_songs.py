"""Generated field recordings of themes for the learn tests: songs sung by the model in
coloured noise, with another (non-chingolo) call before or after the song."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import soundfile as sf

from songnet.surrogates import conditions as cond
from songnet.surrogates.birds import sing
from songnet.surrogates.themes import Theme
from songnet.synth import SR


def field_song(theme: Theme, *, rng: np.random.Generator, snr_db: float = 20.0,
               competitor: str | None = "before", lead_s: float = 0.8) -> np.ndarray:
    """One song of ``theme`` at ``lead_s`` in noise, a clutter call before or after it."""
    song = sing(theme, rng=rng).astype(np.float64)
    n = round((2 * lead_s) * SR) + song.size
    y = np.zeros(n)
    i0 = round(lead_s * SR)
    y[i0:i0 + song.size] = song
    if competitor is not None:
        call = cond.clutter_calls(round(0.45 * SR), count=1, rng=rng)
        call *= 0.9 / max(np.abs(call).max(), 1e-12)
        at = 0.05 * SR if competitor == "before" else i0 + song.size + 0.35 * SR
        at = int(at)
        y[at:at + call.size] += call[: n - at]
    noise = cond.coloured_noise(n, exponent=1.0, rng=rng)
    y = cond.mix_at_snr(y, noise, snr_db=snr_db, signal_rms=cond.rms(song[np.abs(song) > 0.05]))
    return (0.8 * y / np.abs(y).max()).astype(np.float32)


def write_theme_folder(folder: Path, theme: Theme, *, n_songs: int, seed: int,
                       sr: int = SR, stereo: bool = False) -> list[Path]:
    """``folder/<theme>/song-k.wav``: ``n_songs`` birds' songs in noise, competitors."""
    sub = folder / theme.name
    sub.mkdir(parents=True, exist_ok=True)
    paths = []
    for k in range(n_songs):
        rng = np.random.default_rng([seed, k])
        y = field_song(theme, rng=rng, competitor=("before", "after")[k % 2])
        if sr != SR:
            import librosa
            y = librosa.resample(y, orig_sr=SR, target_sr=sr)
        data = np.stack([y, 0.8 * y], axis=1) if stereo else y
        path = sub / f"song-{k}.wav"
        sf.write(path, data, sr, subtype="FLOAT")
        paths.append(path)
    return paths
