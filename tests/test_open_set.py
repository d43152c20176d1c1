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


def test_model_songs_of_every_catalog_theme_keep_their_theme(model, tmp_path):
    """The shipped open set (fitted by `train`, cosine space) lets the catalog's own songs
    through: two model songs of each theme, in field noise at 10 dB, each named its theme
    and within the threshold (the standardized rule of an earlier build named 8 of 180 such
    songs `unknown`)."""
    import numpy as np

    from songnet.surrogates.fieldsim import render_recording
    from songnet.surrogates.themes import load_catalog

    assert model.open_set.metric == "cosine"
    catalog = load_catalog()
    plan = [(1.0 + 8.0 * k, theme) for k, theme in enumerate(catalog * 2)]
    duration = 8.0 * len(plan) + 2.0
    blocks, truth = render_recording(plan, duration_s=duration, snr_db=10.0,
                                     rng=np.random.default_rng(11))
    path = tmp_path / "catalog.wav"
    sf.write(path, np.concatenate(list(blocks)), SR, subtype="PCM_16")
    events = classify_file(path, model=model)[0]
    assert len(events) == len(truth) == 2 * len(catalog)
    for event, song in zip(events, truth, strict=True):
        assert abs(event.start_s - song.start_s) < 0.1
        assert (event.theme, event.nearest) == (song.theme, song.theme)
        assert event.distance <= event.threshold
        assert not event.note_distance > event.note_threshold  # NaN: not measured


@pytest.mark.xfail(strict=True, reason=(
    "known regression of issue 27's song reader: the note check's fitted threshold rose "
    "from 2.27 to 3.90 notes' worth (0.99 quantile of the training songs' distances, a "
    "longer tail), and this song measures 3.66; to mend with a cleaner introduction "
    "reading and a refit"))
def test_a_catalog_theme_sung_with_other_note_lengths_is_unknown(model, tmp_path):
    """T07's three 170-ms downsweeps sung 70, 290 and 170 ms long: another theme (3 notes'
    worth away), which the network alone hears as T07; the shipped note check does not."""
    import dataclasses

    import numpy as np

    from songnet.surrogates.birds import sing
    from songnet.surrogates.themes import load_catalog

    assert model.note_check is not None and model.note_check.n_songs >= 100
    t07 = {t.name: t for t in load_catalog()}["T07"]
    notes = [dataclasses.replace(n, duration_s=d)
             for n, d in zip(t07.notes, (0.07, 0.29, 0.17), strict=True)]
    other = dataclasses.replace(t07, name="X", notes=tuple(notes))
    rng = np.random.default_rng(5)
    y = np.concatenate([np.zeros(SR), sing(other, rng=rng), np.zeros(SR)])
    y = y + rng.normal(0, 0.003, y.size)
    path = tmp_path / "other.wav"
    sf.write(path, y.astype(np.float32), SR, subtype="PCM_16")
    (event,) = classify_file(path, model=model)[0]
    assert (event.theme, event.unknown_by) == ("unknown", "note_check")  # the check's call
    assert event.note_distance > event.note_threshold
