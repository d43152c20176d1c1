"""songnet.surrogates.cliplength: clips as long as the catalog's longest song, and images
as long as the clips (issue 27: songs longer than 3 s)."""

from __future__ import annotations

import csv
import dataclasses
import json
import math
import shutil

import numpy as np
import pandas as pd
import pytest
import yaml

from songnet.cli import main
from songnet.core.params import load_params
from songnet.features.params import FeatureParams
from songnet.surrogates.birds import draw_bird, longest_rendition, song_gesture
from songnet.surrogates.cliplength import clip_length, clip_need, fit_clip, longest_song
from songnet.surrogates.synthesize import synthesize
from songnet.surrogates.synthesize_params import SynthesizeParams
from songnet.surrogates.themes import DEFAULT_CATALOG, load_catalog, theme_from_mapping
from songnet.synth import SR

SLOW = {"name": "T12", "description": "a whistle, a downsweep, a slow trill (190 ms)",
        "notes": [{"shape": "whistle", "pitch_khz": [4.5], "duration_ms": 200, "gap_ms": 70},
                  {"shape": "sweep", "pitch_khz": [6.4, 3.5], "duration_ms": 330,
                   "gap_ms": 80}],
        "trill": {"interval_ms": 190, "count": 12}}
"""A theme written from a bird with a slow trill: its slowest birds sing about 3.7 s."""
TINY = SynthesizeParams(train_birds=2, train_songs_per_bird=1, val_birds=1,
                        val_songs_per_bird=1, test_birds=1, test_songs_per_bird=1,
                        stress_birds=1, stress_songs_per_bird=1, no_song_factor=1.0,
                        unknown_factor=1.0, workers=2)


@pytest.fixture(scope="module")
def slow_catalog(tmp_path_factory):
    """The shipped T01 and dialect, and T12: a hand-written theme with a slow trill."""
    folder = tmp_path_factory.mktemp("slow")
    for name in ("T01", "dialect"):
        shutil.copy(DEFAULT_CATALOG / f"{name}.yaml", folder)
    (folder / "T12.yaml").write_text(yaml.safe_dump(SLOW))
    return folder


def test_the_default_catalog_keeps_3_s_clips(repo_root):
    params = load_params(repo_root / "params.yaml", "synthesize", SynthesizeParams)
    fitted, need = fit_clip(load_catalog(), params)
    assert fitted is params and fitted.clip_s == 3.0
    assert 2.0 < longest_song(load_catalog(), params).duration_s <= need.duration_s < 3.0


def test_a_slow_trill_lengthens_the_clips_to_a_half_second_step(slow_catalog):
    themes = load_catalog(slow_catalog)
    assert themes[1].duration_s < 3.0 < longest_song(themes, TINY).duration_s
    fitted, need = fit_clip(themes, TINY)
    assert need == longest_song(themes, TINY) and need.theme == "T12" and not need.foreign
    assert 3.5 < need.duration_s < 4.0 and "T12's slowest birds" in need.describe()
    assert fitted == dataclasses.replace(TINY, clip_s=4.0)
    clips = list(synthesize(themes, params=fitted))
    assert {c.samples.size for c in clips} == {round(4.0 * SR)}
    songs = [c.row for c in clips if c.row["theme"] == "T12"]
    assert songs and all(r["offset_s"] < 4.0 and r["duration_s"] == 4.0 for r in songs)
    assert max(r["offset_s"] - r["onset_s"] for r in songs) > 2.5


def test_foreign_themes_get_room_for_a_slow_first_trill(slow_catalog):
    """Foreign themes sing the first theme's trill: a slow one needs longer clips still."""
    themes = [t for t in load_catalog(slow_catalog) if t.name == "T12"]
    fitted, need = fit_clip(themes, TINY)
    assert need == clip_need(themes, TINY) and need.foreign and need.theme == "T12"
    assert fitted.clip_s == math.ceil(need.duration_s / 0.5) * 0.5 > 4.0
    clips = list(synthesize(themes, params=fitted))  # before: no foreign theme fitted
    unknown = [c.row for c in clips if c.row["theme"] == "unknown"]
    assert len(unknown) == 5 and all(r["offset_s"] < fitted.clip_s for r in unknown)


def test_longest_rendition_bounds_every_rendition():
    dialect = yaml.safe_load((DEFAULT_CATALOG / "dialect.yaml").read_text())
    theme = theme_from_mapping(SLOW, dialect=dialect)
    params = SynthesizeParams()
    rng = np.random.default_rng(0)
    ratios = []
    for b in range(4):
        bird = draw_bird(theme, bird_id=f"b{b}", rng=rng, params=params, spread=2.0)
        sd = params.rendition_sd * 2.0
        bound = longest_rendition(theme, bird, sd=sd)
        for _ in range(8):
            gesture, _ = song_gesture(theme, bird, rng=rng, sd=sd)
            ratios.append(gesture.n_samples / bound)
    assert max(ratios) <= 1.0 and max(ratios) > 0.85  # a bound, and not a loose one


def test_clip_length_reads_the_manifest():
    assert clip_length(pd.DataFrame({"path": ["a.wav"], "theme": ["A"], "split": ["train"]})) \
        is None
    table = pd.DataFrame({"duration_s": [4.0, np.nan, 4.0]})
    assert clip_length(table) == 4.0


def test_features_lengthen_the_window_to_the_clips_only():
    fp = FeatureParams()
    assert fp.for_clips(None) is fp and fp.for_clips(3.0) is fp and fp.for_clips(2.6) is fp
    long = fp.for_clips(4.0)
    assert long.window_s == 4.0 and long.n_samples == 4 * fp.sr
    assert dataclasses.replace(long, window_s=fp.window_s) == fp


@pytest.mark.slow
def test_a_long_song_catalog_runs_through_synthesize_features_train_classify(
        slow_catalog, repo_root, tmp_path, capsys):
    from songnet.classify.params import ClassifyParams
    from songnet.classify.windows import score_blocks
    from songnet.core.audio import Block
    from songnet.model.checkpoint import load_checkpoint

    params = yaml.safe_load((repo_root / "params.yaml").read_text())
    params["synthesize"].update({k: getattr(TINY, k) for k in (
        "train_birds", "train_songs_per_bird", "val_birds", "val_songs_per_bird",
        "test_birds", "test_songs_per_bird", "stress_birds", "stress_songs_per_bird",
        "no_song_factor", "unknown_factor")})
    params["train"].update(epochs=1, patience=1, batch_size=8, channels=[4, 8, 8])
    params_file = tmp_path / "params.yaml"
    params_file.write_text(yaml.safe_dump(params))
    surrogates, features, model = (tmp_path / n for n in ("surrogates", "features", "model"))
    common = ["--params", str(params_file), "-q"]

    assert main(["synthesize", "--catalog", str(slow_catalog), "-o", str(surrogates),
                 *common]) == 0
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("note: theme T12") and "clips of 4 s" in err[0]
    rows = list(csv.DictReader((surrogates / "manifest.csv").open()))
    assert {float(r["duration_s"]) for r in rows} == {4.0}

    assert main(["features", "--manifest", str(surrogates / "manifest.csv"), "-o",
                 str(features), "--device", "cpu", *common]) == 0
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("note: ") and "images of 4 s" in err[0]
    meta = json.loads((features / "features.json").read_text())
    fp = FeatureParams(**meta["params"])
    assert fp.window_s == 4.0 and meta["shape"] == [fp.n_bins, fp.n_frames]
    assert np.load(features / "train.npy", mmap_mode="r").shape[1:] == (fp.n_bins, fp.n_frames)

    assert main(["train", "--features", str(features), "--catalog", str(slow_catalog),
                 "-o", str(model), "--device", "cpu", *common]) == 0
    ckpt = load_checkpoint(model / "model.pt", device="cpu")
    assert ckpt.features().window_s == 4.0
    y = 0.01 * np.random.default_rng(0).standard_normal(round(10.0 * fp.sr))
    scores, _, _ = score_blocks([Block(y.astype(np.float32), 0.0, fp.sr)], model=ckpt,
                                params=ClassifyParams(skip_quiet=False), device="cpu")
    assert scores.window_s == pytest.approx(4.0) and len(scores.starts_s) > 0
    assert scores.starts_s[-1] + scores.window_s == pytest.approx(10.0, abs=0.05)
