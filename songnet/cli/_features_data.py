"""Reading the features stage's folder: ``{split}.npy``, ``{split}.labels.npy``, features.json."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from songnet.core.errors import SongnetError
from songnet.model.train import FeatureSplit

__all__ = ["read_features_meta", "read_split"]


def read_features_meta(folder: Path) -> tuple[list[str], dict[str, Any]]:
    """Classes and feature params from ``folder/features.json``."""
    path = folder / "features.json"
    if not path.is_file():
        raise SongnetError(f"{path} not found; run `songnet features` first (or pass "
                           "--features FOLDER)")
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
        classes = [str(c) for c in meta["classes"]]
        params = dict(meta["params"])
    except (json.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
        raise SongnetError(f"{path}: not a features.json with 'classes' and 'params' "
                           f"({exc}); rerun `songnet features`") from exc
    return classes, params


def read_split(folder: Path, split: str) -> FeatureSplit:
    """Images (float16, as stored) and labels of one split."""
    images_path = folder / f"{split}.npy"
    labels_path = folder / f"{split}.labels.npy"
    for path in (images_path, labels_path):
        if not path.is_file():
            raise SongnetError(f"{path} not found; run `songnet features` to make the "
                               f"{split} split")
    try:
        images = np.load(images_path)
        labels = np.load(labels_path)
    except (ValueError, OSError, EOFError) as exc:
        raise SongnetError(f"{images_path}: unreadable feature array ({exc}); "
                           "rerun `songnet features`") from exc
    return FeatureSplit(np.asarray(images), labels.astype(np.int64), name=split)
