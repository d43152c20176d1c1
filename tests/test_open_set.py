"""Open set with the shipped model: themes it never heard come out `unknown` (slow)."""

from __future__ import annotations

from pathlib import Path

import pytest
import soundfile as sf

from songnet.classify.backends import open_model
from songnet.classify.windows import classify_file
from songnet.model.runtime import default_onnx_path
from songnet.resynth.resynthesize import resynthesize_sketch
from songnet.resynth.sketch import read_sketch
from songnet.synth import SR

SKETCHES = Path(__file__).resolve().parents[1] / "data" / "1966"

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def model():
    if not default_onnx_path().is_file():
        pytest.skip("no shipped default.onnx; run `dvc repro`")
    backend = open_model(None, threads=2)
    if backend.open_set is None or "unknown" not in backend.classes:
        pytest.skip("the shipped model predates the open set; run `dvc repro`")
    return backend


def sung(name: str, tmp_path: Path) -> Path:
    song = resynthesize_sketch(read_sketch(SKETCHES / f"{name}.csv"))
    path = tmp_path / f"{name}.wav"
    sf.write(path, song.sound.samples, SR)
    return path


@pytest.mark.parametrize("name", ["1966-L1", "1966-L2", "1966-L3"])
def test_the_1966_themes_absent_from_the_catalog_are_unknown(model, tmp_path, name):
    (event,) = classify_file(sung(name, tmp_path), model=model)[0]
    assert event.theme == "unknown"
    assert event.nearest in model.open_set.themes_  # the nearest theme is still reported


@pytest.mark.parametrize("name,theme", [("1966-T03v", "T03"), ("1966-T08v", "T08")])
def test_variants_of_catalog_themes_keep_their_theme(model, tmp_path, name, theme):
    (event,) = classify_file(sung(name, tmp_path), model=model)[0]
    assert (event.theme, event.nearest) == (theme, theme)
    assert event.distance <= event.threshold
