"""Shared fixtures: tiny generated inputs and the real syllables from ../shared."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
REAL_SYLLABLES = REPO.parent / "shared" / "data" / "real-syllables"


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
