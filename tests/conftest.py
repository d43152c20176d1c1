"""Shared fixtures: tiny generated inputs and the real syllables from ../shared."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path
from types import ModuleType

import pytest

REPO = Path(__file__).resolve().parents[1]
REAL_SYLLABLES = REPO.parent / "shared" / "data" / "real-syllables"


def benchmark(name: str) -> ModuleType:
    """The module of ``benchmarks/NAME.py`` (the repository's root put on ``sys.path``)."""
    if str(REPO) not in sys.path:
        sys.path.insert(0, str(REPO))
    return importlib.import_module(f"benchmarks.{name}")


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO


@pytest.fixture(scope="session")
def real_syllables() -> list[Path]:
    """The real Z. capensis clips (not the peer resyntheses); skip when absent."""
    if not REAL_SYLLABLES.is_dir():
        pytest.skip(f"real syllables not found at {REAL_SYLLABLES}; "
                    "put the shared/ folder beside the repository to run this test")
    clips = sorted(p for p in REAL_SYLLABLES.glob("*.wav") if ".peer-resynth" not in p.name)
    if not clips:
        pytest.skip(f"no real syllable WAVs in {REAL_SYLLABLES}")
    return clips


@pytest.fixture(scope="session")
def real_birds():
    """:mod:`benchmarks.realbirds`: songs assembled from the real birds' notes in
    ``../shared/data/`` (skip when absent)."""
    realbirds = benchmark("realbirds")
    if not realbirds.available():
        pytest.skip(f"real birds not found in {realbirds.SHARED}; put the shared/ folder "
                    "beside the repository to run this test")
    return realbirds


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory) -> str:
    """An untrained ThemeCNN (fixed seed) with the default feature params and classes
    A, B, C, no_song: for tests of plumbing that needs no trained model."""
    import torch

    from songnet.core.params import params_to_dict
    from songnet.features.params import FeatureParams
    from songnet.model.checkpoint import save_checkpoint
    from songnet.model.network import ModelConfig, ThemeCNN

    fp = FeatureParams()
    torch.manual_seed(0)
    model = ThemeCNN(ModelConfig(n_bins=fp.n_bins, n_frames=fp.n_frames, n_classes=4,
                                 channels=(4, 8), embed_dim=8))
    path = tmp_path_factory.mktemp("model") / "tiny.pt"
    save_checkpoint(path, model, classes=["A", "B", "C", "no_song"],
                    feature_params=params_to_dict(fp), train_params={})
    return str(path)
