"""songnet.features.featureset: manifest -> per-split image arrays, labels, rows, preview."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import soundfile as sf

from songnet.core.errors import SongnetError
from songnet.core.labels import SPLITS, class_names
from songnet.features.featureset import compute_features, preview_figure
from songnet.features.params import FeatureParams
from songnet.surrogates.synthesize import load_manifest as read_manifest

P = FeatureParams(window_s=0.5)
THEME_HZ = {"A": 2500.0, "B": 6000.0}


def write_manifest(folder: Path, rows: list[tuple[str, str]], sr: int = 44100) -> Path:
    """Tiny WAV clips (a tone per theme, noise for no_song) and their manifest."""
    rng = np.random.default_rng(0)
    (folder / "wavs").mkdir(parents=True, exist_ok=True)
    records = []
    for i, (theme, split) in enumerate(rows):
        t = np.arange(int(0.4 * sr)) / sr
        y = 0.01 * rng.standard_normal(len(t))
        if theme in THEME_HZ:
            y += 0.5 * np.sin(2 * np.pi * THEME_HZ[theme] * t)
        rel = f"wavs/{i:03d}.wav"
        sf.write(folder / rel, y.astype(np.float32), sr, subtype="PCM_16")
        records.append({"path": rel, "theme": theme, "split": split, "id": f"clip{i}"})
    path = folder / "manifest.csv"
    pd.DataFrame(records).to_csv(path, index=False)
    return path


ROWS = [("B", "train"), ("A", "train"), ("no_song", "train"), ("A", "val"), ("B", "test"),
        ("A", "train"), ("B", "stress")]


def test_classes_are_sorted_themes_then_no_song():
    assert class_names(["b", "no_song", "a", "b"]) == ["a", "b", "no_song"]
    assert class_names(["x"]) == ["x", "no_song"]


def test_compute_features_keeps_order_labels_and_rows(tmp_path):
    path = write_manifest(tmp_path, ROWS)
    done = []
    fs = compute_features(read_manifest(path), root=tmp_path, params=P, device="cpu",
                          batch_size=2, workers=2, progress=done.append)
    assert fs.classes == ["A", "B", "no_song"] and sum(done) == len(ROWS)
    assert set(fs.splits) == set(SPLITS)
    train = fs.splits["train"]
    assert train.images.shape == (4, P.n_bins, P.n_frames) and train.images.dtype == np.float16
    assert train.labels.tolist() == [1, 0, 2, 0] and train.rows.tolist() == [0, 1, 2, 5]
    assert train.ids == ["clip0", "clip1", "clip2", "clip5"]
    for img, label in zip(train.images, train.labels, strict=True):
        assert 0.0 <= img.min() and img.max() <= 1.0
        if label < 2:  # the theme's tone is the loudest row
            peak = P.frequencies[np.argmax(img.astype(np.float32).sum(axis=1))]
            assert peak == pytest.approx(THEME_HZ[fs.classes[label]], rel=0.03)
    meta = fs.meta()
    assert meta["counts"] == {"train": 4, "val": 1, "test": 1, "stress": 1}
    assert meta["class_counts"]["train"] == {"A": 2, "B": 1, "no_song": 1}
    assert meta["params"]["window_s"] == 0.5 and meta["shape"] == [P.n_bins, P.n_frames]


def test_same_input_gives_identical_arrays(tmp_path):
    path = write_manifest(tmp_path, ROWS[:3])
    runs = [compute_features(read_manifest(path), root=tmp_path, params=P, device="cpu",
                             batch_size=bs, workers=w).splits["train"].images
            for bs, w in ((64, 1), (64, 2), (1, 2))]
    assert np.array_equal(runs[0], runs[1])
    assert np.allclose(runs[0], runs[2], atol=2e-3)  # batch size changes float rounding only


def test_a_bad_clip_is_named(tmp_path):
    path = write_manifest(tmp_path, ROWS[:3])
    (tmp_path / "wavs" / "001.wav").write_text("not audio")
    with pytest.raises(SongnetError, match=r"001\.wav: not a readable audio file"):
        compute_features(read_manifest(path), root=tmp_path, params=P, device="cpu")


def test_manifest_problems_are_named(tmp_path):
    with pytest.raises(SongnetError, match=r"manifest .*missing\.csv not found"):
        read_manifest(tmp_path / "missing.csv")
    bad = tmp_path / "bad.csv"
    bad.write_text("path,theme\na.wav,A\n")
    with pytest.raises(SongnetError, match=r"bad\.csv: missing column\(s\) split"):
        read_manifest(bad)
    bad.write_text("path,theme,split\na.wav,A,training\n")
    with pytest.raises(SongnetError, match=r"bad\.csv: unknown split 'training'"):
        read_manifest(bad)
    bad.write_text("path,theme,split\n")
    with pytest.raises(SongnetError, match="no clips"):
        read_manifest(bad)


def test_preview_has_a_row_per_class(tmp_path):
    path = write_manifest(tmp_path, ROWS)
    fs = compute_features(read_manifest(path), root=tmp_path, params=P, device="cpu")
    fig = preview_figure(fs, per_class=2)
    assert len(fig.axes) == 3 * 2
    assert sum(len(ax.images) for ax in fig.axes) == 5  # A: 2, B: 2, no_song: only 1


@pytest.mark.parametrize("frontend", ["stft", "mel"])
def test_other_frontends_give_images_of_the_same_shape_and_record_it(tmp_path, frontend):
    path = write_manifest(tmp_path, ROWS)
    params = dataclasses.replace(P, frontend=frontend)
    fs = compute_features(read_manifest(path), root=tmp_path, params=params, device="cpu")
    train = fs.splits["train"]
    assert train.images.shape[1:] == (P.n_bins, P.n_frames)
    meta = fs.meta()
    assert meta["params"]["frontend"] == frontend and meta["shape"] == [P.n_bins, P.n_frames]
    for img, label in zip(train.images, train.labels, strict=True):
        theme = fs.classes[int(label)]
        if theme in THEME_HZ:  # the tone's band is the brightest row
            row = int(np.argmax(np.asarray(img, dtype=np.float32).mean(axis=1)))
            assert abs(params.frequencies[row] - THEME_HZ[theme]) < 150
    fig = preview_figure(fs, per_class=2)
    assert ("Mel" if frontend == "mel" else "Linear") in fig.texts[0].get_text()


def test_a_features_json_that_is_not_one_is_named_and_a_huge_one_is_not_read(tmp_path,
                                                                            monkeypatch):
    from songnet.core import files
    from songnet.features.featureset import FEATURES_JSON, load_meta

    path = tmp_path / FEATURES_JSON
    path.write_text('{"classes": ["T01"]}')
    with pytest.raises(SongnetError, match=r"not a features\.json with 'classes' and 'params'"):
        load_meta(tmp_path)
    path.write_text('{"classes": ["T01"], "params": {}}')
    assert load_meta(tmp_path)["classes"] == ["T01"]
    monkeypatch.setattr(files, "MAX_JSON_BYTES", 16)
    with pytest.raises(SongnetError, match=r"too large for a features.json .*rerun `songnet "
                                           r"features`"):
        load_meta(tmp_path)
