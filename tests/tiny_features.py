"""Tiny generated feature sets for the model, train and evaluate tests.

Three classes on small images: a tone near the bottom, a tone near the top (each a short
bright line at a random time), and ``no_song`` (background only).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

CLASSES = ["low", "high", "no_song"]
N_BINS, N_FRAMES = 16, 64
FEATURE_PARAMS = {"sr": 22050, "n_bins": N_BINS, "hop_length": 128}


def make_split(seed: int, n: int, *, noise: float = 0.25) -> tuple[np.ndarray, np.ndarray]:
    """Images (n, N_BINS, N_FRAMES) float16 in [0, 1] and labels (n,) int64, balanced."""
    rng = np.random.default_rng(seed)
    labels = np.arange(n) % len(CLASSES)
    rng.shuffle(labels)
    images = rng.random((n, N_BINS, N_FRAMES)) * noise
    for i, label in enumerate(labels):
        if label < 2:
            row = 3 + 9 * label + rng.integers(-1, 2)
            start = rng.integers(4, N_FRAMES - 24)
            images[i, row, start:start + 16] = 0.7 + 0.3 * rng.random()
    return images.astype(np.float16), labels.astype(np.int64)


def write_features(folder: Path, *, sizes: dict[str, int] | None = None) -> Path:
    """A features folder as `songnet features` writes it."""
    sizes = sizes or {"train": 150, "val": 60, "test": 60, "stress": 60}
    folder.mkdir(parents=True, exist_ok=True)
    counts = {}
    for k, (split, n) in enumerate(sizes.items()):
        images, labels = make_split(100 + k, n, noise=0.4 if split == "stress" else 0.25)
        np.save(folder / f"{split}.npy", images)
        np.save(folder / f"{split}.labels.npy", labels)
        counts[split] = n
    meta = {"params": FEATURE_PARAMS, "classes": CLASSES, "counts": counts}
    (folder / "features.json").write_text(json.dumps(meta), encoding="utf-8")
    return folder
