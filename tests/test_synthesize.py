"""The surrogate dataset: determinism, splits by bird, no_song, conditions, the CLI."""

from __future__ import annotations

import dataclasses
import hashlib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import soundfile as sf
import yaml

from songnet.cli import main
from songnet.song.track import steady_pitch
from songnet.surrogates.birds import sing
from songnet.surrogates.plan import plan_clips
from songnet.surrogates.synthesize import n_clips, synthesize
from songnet.surrogates.synthesize_params import SynthesizeParams
from songnet.surrogates.themes import load_catalog
from songnet.synth import SR

TINY = SynthesizeParams(train_birds=2, train_songs_per_bird=2, val_birds=1, val_songs_per_bird=1,
                        test_birds=1, test_songs_per_bird=1, stress_birds=1,
                        stress_songs_per_bird=1, clip_s=2.6, workers=2)


@pytest.fixture(scope="module")
def themes():
    return load_catalog()[:2]


@pytest.fixture(scope="module")
def clips(themes):
    return list(synthesize(themes, params=TINY))


def _digest(clips):
    h = hashlib.sha256()
    for c in clips:
        h.update(c.path.encode())
        h.update(c.samples.tobytes())
    return h.hexdigest()


def test_counts_shapes_and_no_song_in_every_split(clips, themes):
    # per split: each theme's songs, no_song (factor 2) and unknown (factor 2) clips
    assert len(clips) == n_clips(themes, TINY) == (4 + 1 + 1 + 1) * (2 + 2 + 2)
    rows = pd.DataFrame([c.row for c in clips])
    assert set(rows.split) == {"train", "val", "test", "stress"}
    for split, group in rows.groupby("split"):
        assert {"no_song", "unknown"} <= set(group.theme), split
    foreign = rows[rows.theme == "unknown"]
    assert foreign.bird_id.is_unique  # each foreign song its own bird (and theme)
    assert set(foreign.foreign_of) <= {"", *[t.name for t in themes]}
    assert (rows[rows.theme != "unknown"].foreign_of == "").all()
    for c in clips:
        assert c.samples.shape == (round(TINY.clip_s * SR),) and c.samples.dtype == np.float32
        assert np.all(np.isfinite(c.samples)) and np.abs(c.samples).max() <= 1.0


def test_splits_are_by_bird(clips):
    rows = pd.DataFrame([c.row for c in clips])
    assert rows.groupby("bird_id").split.nunique().max() == 1
    songs = rows[rows.theme != "no_song"]
    assert songs.groupby("bird_id").size().min() >= 1
    assert (songs.onset_s >= 0).all() and (songs.offset_s <= TINY.clip_s).all()


def test_same_seed_same_bytes_other_seed_differs(clips, themes):
    again = list(synthesize(themes, params=dataclasses.replace(TINY, workers=1)))
    assert _digest(again) == _digest(clips)
    other = list(synthesize(themes, params=dataclasses.replace(TINY, seed=1)))
    assert _digest(other) != _digest(clips)


def test_wide_train_birds_vary_like_stress_birds_and_change_nothing_else(clips, themes):
    wide = dataclasses.replace(TINY, train_wide_share=0.5)  # 1 of the 2 train birds per theme
    plan = plan_clips(themes, wide)
    spreads = {(sp.split, sp.bird_id): sp.spread for sp in plan if sp.theme is not None
               and not sp.fragment and sp.bird_id.startswith(tuple(t.name for t in themes))}
    for t in themes:
        assert spreads[("train", f"{t.name}-train-b00")] == 1.0
        assert spreads[("train", f"{t.name}-train-b01")] == TINY.stress_spread
        assert spreads[("val", f"{t.name}-val-b00")] == 1.0
        assert spreads[("stress", f"{t.name}-stress-b00")] == TINY.stress_spread
    # the wide birds' own draws differ; every other clip is the same, byte for byte
    changed = {c.path for c, d in zip(clips, synthesize(themes, params=wide), strict=True)
               if not np.array_equal(c.samples, d.samples)}
    assert changed == {c.path for c in clips
                       if c.row["bird_id"] in {f"{t.name}-train-b01" for t in themes}}
    with pytest.raises(ValueError, match="train_wide_share"):
        dataclasses.replace(TINY, train_wide_share=1.5)


def test_the_song_sits_where_the_manifest_says(clips):
    clean = dataclasses.replace(TINY, snr_db=(60.0, 60.0), clutter_prob=0.0, reverb_prob=0.0)
    clip = next(c for c in synthesize(load_catalog()[:1], params=clean)
                if c.row["split"] == "train")
    y, on, off = clip.samples, clip.row["onset_s"], clip.row["offset_s"]
    inside = np.abs(y[int(on * SR):int(off * SR)]).max()
    before = np.abs(y[: max(1, int((on - 0.02) * SR))]).max()
    assert before < 0.05 * inside


def test_sing_is_reproducible_and_in_tune():
    theme = load_catalog()[0]  # T01 opens with a 4.5 kHz whistle
    a = sing(theme, rng=np.random.default_rng(3))
    b = sing(theme, rng=np.random.default_rng(3))
    c = sing(theme, rng=np.random.default_rng(4))
    assert np.array_equal(a, b) and not np.array_equal(a[: c.size], c[: a.size])
    whistle = a[int(0.08 * SR):int(0.16 * SR)]
    assert steady_pitch(whistle, sr=SR) == pytest.approx(4500, rel=0.1)


def test_synthesize_command_writes_wavs_and_manifest(tmp_path, capsys):
    section = {k: list(v) if isinstance(v, tuple) else v
               for k, v in dataclasses.asdict(TINY).items()}
    (tmp_path / "params.yaml").write_text(yaml.safe_dump({"synthesize": section}))
    catalog = tmp_path / "catalog"
    catalog.mkdir()
    src = load_catalog()[0].source
    (catalog / "T01.yaml").write_text(open(src).read())
    (catalog / "dialect.yaml").write_text((Path(src).parent / "dialect.yaml").read_text())
    out = tmp_path / "surrogates"
    args = ["synthesize", "--params", str(tmp_path / "params.yaml"), "--catalog", str(catalog),
            "--out", str(out), "-q"]
    assert main(args) == 0
    manifest = pd.read_csv(out / "manifest.csv")
    for col in ("path", "theme", "bird_id", "split", "seed", "duration_s", "snr_db", "gamma",
                "pitch_factor", "tempo", "tract_length_cm", "distance_m"):
        assert col in manifest.columns
    assert len(manifest) == n_clips(load_catalog()[:1], TINY)
    info = sf.info(out / manifest.path[0])
    assert info.samplerate == SR and info.duration == pytest.approx(TINY.clip_s)
    assert main(["sing", "T01", "-o", str(tmp_path / "s.wav"), "--seed", "2",
                 "--params", str(tmp_path / "params.yaml"), "-q"]) == 0
    assert sf.info(tmp_path / "s.wav").samplerate == SR
    assert main(["sing", "T01", "-o", str(tmp_path / "s2.wav"), "--seed", "2",
                 "--params", str(tmp_path / "params.yaml"), "-q"]) == 0
    assert (tmp_path / "s2.wav").read_bytes() == (tmp_path / "s.wav").read_bytes()
    assert main(["sing", "T99", "-o", str(tmp_path / "x.wav"), "-q"]) == 2
    assert "unknown theme 'T99'" in capsys.readouterr().err
