"""The researcher's recordings in the surrogate set (issue 28): real songs found and split by
recording, song-free stretches as site backgrounds, and the default set unchanged without
them."""

from __future__ import annotations

import csv
import filecmp
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import yaml

from songnet.cli import main
from songnet.features.featureset import real_rows
from songnet.resynth.learn_files import learn_catalog, save_catalog
from songnet.surrogates.realdata import read_recordings, recording_splits


def _recordings(real_birds, root: Path, *, n_files: int = 3, songs: int = 2) -> Path:
    """``root/<bird>/rec-K.wav``: each recording ``songs`` renditions in its own scene."""
    rng = np.random.default_rng(11)
    for bird in real_birds.BIRDS[:2]:
        (root / bird.name).mkdir(parents=True)
        for f in range(n_files):
            parts = [real_birds.scene(bird, real_birds.variant(bird, rng, slow=False), rng,
                                      lead_s=1.5)[0] for _ in range(songs)]
            sf.write(root / bird.name / f"rec-{f}.wav", np.concatenate(parts),
                     real_birds.SR, subtype="FLOAT")
    return root


def test_recording_splits_keep_a_recording_whole():
    assert recording_splits(["b.wav", "a.wav"]) == {"a.wav": "train", "b.wav": "train"}
    assert recording_splits(["c", "a", "d", "b"]) == {"a": "train", "b": "train", "c": "val",
                                                      "d": "test"}


def test_real_songs_and_backgrounds_are_read(real_birds, tmp_path):
    folder = _recordings(real_birds, tmp_path / "2020")
    names = [b.name for b in real_birds.BIRDS[:2]]
    real = read_recordings(folder, themes=names[:1])
    assert {s.theme for s in real.songs} == {names[0]}  # the other folder: backgrounds only
    assert len(real.songs) == 6
    assert any("not a theme of the catalog" in n for n in real.notes)
    for s in real.songs:
        assert s.split == {"rec-0": "train", "rec-1": "val", "rec-2": "test"}[Path(
            s.recording).stem]
        assert 5 < s.snr_db < 40  # the scenes were mixed at 10-30 dB
        assert s.samples.size / 44100 == pytest.approx(s.end_s - s.start_s + 0.2, abs=0.01)
    assert real.backgrounds and all(b.size >= 44100 for b in real.backgrounds)
    # every background comes from a recording of a theme folder, and is quieter than the
    # songs beside it (it holds no song: only noise and, now and then, another species)
    assert {Path(src).parent.name for src in real.background_sources} == set(names)
    song_power = np.median([np.mean(s.samples.astype(float) ** 2) for s in real.songs])
    assert np.median([np.mean(b.astype(float) ** 2) for b in real.backgrounds]) < song_power
    assert read_recordings(tmp_path / "missing", themes=names).songs == ()


def _params(repo_root: Path, tmp_path: Path, **extra) -> Path:
    params = yaml.safe_load((repo_root / "params.yaml").read_text())
    params["synthesize"].update(train_birds=2, train_songs_per_bird=2, val_birds=1,
                                val_songs_per_bird=1, test_birds=1, test_songs_per_bird=1,
                                stress_birds=1, stress_songs_per_bird=1, no_song_factor=1.0,
                                unknown_factor=0.5, **extra)
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump(params))
    return path


def test_synthesize_trains_on_real_songs_in_real_backgrounds(real_birds, tmp_path, repo_root,
                                                             capsys):
    folder = _recordings(real_birds, tmp_path / "2020")
    catalog = tmp_path / "catalog"
    catalog.mkdir()
    save_catalog(learn_catalog(folder), catalog)
    params = _params(repo_root, tmp_path, real_copies=3, real_background_prob=1.0)
    out = tmp_path / "surrogates"
    assert main(["synthesize", "--catalog", str(catalog), "--recordings", str(folder),
                 "-o", str(out), "--params", str(params)]) == 0
    err = capsys.readouterr().err
    assert "12 real songs" in err
    assert "reverberation:" in err  # measured or not, the user is told which
    rows = list(csv.DictReader((out / "manifest.csv").open()))
    real = [r for r in rows if r["real_recording"]]
    # each theme: 2 songs of rec-0 x 3 copies in train, 2 of rec-1 in val, 2 of rec-2 in test
    for bird in real_birds.BIRDS[:2]:
        mine = [r for r in real if r["theme"] == bird.name]
        assert sorted(r["split"] for r in mine) == ["test"] * 2 + ["train"] * 6 + ["val"] * 2
        for r in mine:
            assert r["real_recording"].startswith({"train": "rec-0", "val": "rec-1",
                                                   "test": "rec-2"}[r["split"]])
    # the model's songs sit in the site's backgrounds, at the real songs' SNRs
    model_songs = [r for r in rows if not r["real_recording"] and r["theme"] != "no_song"
                   and r["split"] != "stress"]
    assert all(r["site_background"].startswith("rec-") for r in model_songs)
    snr = [float(r["snr_db"]) for r in model_songs]
    assert max(snr) <= 40 and min(snr) >= -1
    # the reverberation times follow the real songs' where at least 3 were measured
    t60_range = read_recordings(folder, themes=[b.name for b in real_birds.BIRDS[:2]]
                                ).t60_range_s
    lo, hi = (0.1, 0.8) if t60_range is None else (max(t60_range[0], 0.05),
                                                   max(t60_range[1], 0.05))
    t60 = [float(r["reverb_t60_s"]) for r in model_songs if float(r["reverb_t60_s"]) > 0]
    assert all(lo <= t <= hi for t in t60)
    y, sr = sf.read(out / real[0]["path"])
    assert sr == 44100 and y.size == round(float(real[0]["duration_s"]) * sr)
    # later stages (train's open-set fit) tell the real clips by their features ids
    train = [r for r in rows if r["split"] == "train"]
    flags = real_rows({"ids": {"train": [r["path"] for r in train]}}, "train", len(train))
    assert flags.tolist() == [bool(r["real_recording"]) for r in train] and flags.sum() == 12


def test_without_theme_folders_the_clips_are_the_catalogs_alone(tmp_path, repo_root):
    params = _params(repo_root, tmp_path)
    empty = tmp_path / "2020"
    empty.mkdir()
    (empty / "README.md").write_text("no theme folders")
    a, b = tmp_path / "a", tmp_path / "b"
    assert main(["synthesize", "-o", str(a), "--params", str(params), "-q"]) == 0
    assert main(["synthesize", "--recordings", str(empty), "-o", str(b), "--params",
                 str(params), "-q"]) == 0
    assert filecmp.cmp(a / "manifest.csv", b / "manifest.csv", shallow=False)
    cmp = filecmp.dircmp(a / "wavs", b / "wavs")
    assert not cmp.diff_files and not cmp.left_only and not cmp.right_only
