"""Embeddings through the training feature path, on a tiny randomly initialised network."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import soundfile as sf
import torch

from songnet.cli import main
from songnet.core.errors import SongnetError
from songnet.core.params import params_to_dict
from songnet.core.sound import Sound
from songnet.features.images import images
from songnet.features.params import FeatureParams
from songnet.latent.embed import Embeddings, embed_sounds, load_embeddings, save_embeddings
from songnet.model.checkpoint import embed_images, load_checkpoint, save_checkpoint
from songnet.model.network import ModelConfig, ThemeCNN

FP = FeatureParams(window_s=0.5)
CLASSES = ["T01", "T02", "no_song"]


def tone(f_hz, dur_s=0.4, sr=FP.sr):
    t = np.arange(int(dur_s * sr)) / sr
    return Sound((0.3 * np.sin(2 * np.pi * f_hz * t)).astype(np.float32), sr, f"{f_hz:g} Hz")


@pytest.fixture()
def tiny_model(tmp_path):
    torch.manual_seed(0)
    config = ModelConfig(n_bins=FP.n_bins, n_frames=FP.n_frames, n_classes=len(CLASSES),
                         channels=(4, 8), embed_dim=6)
    path = tmp_path / "model.pt"
    save_checkpoint(path, ThemeCNN(config).eval(), classes=CLASSES,
                    feature_params=params_to_dict(FP), train_params={})
    return path


def test_embed_sounds_matches_manual_path(tiny_model):
    ckpt = load_checkpoint(tiny_model)
    sounds = [tone(3000.0), tone(5000.0), tone(5000.0, dur_s=0.8)]
    vec = embed_sounds(ckpt, sounds, batch_size=2, device="cpu")
    assert vec.shape == (3, 6) and vec.dtype == np.float32
    padded = np.stack([np.pad(s.samples, (0, FP.n_samples - len(s))) for s in sounds[:2]])
    manual = embed_images(ckpt, images(padded, params=FP, device="cpu"), batch_size=8)
    np.testing.assert_allclose(vec[:2], manual, rtol=1e-5, atol=1e-6)
    assert not np.allclose(vec[0], vec[1])  # different pitch, different embedding
    again = embed_sounds(ckpt, sounds, batch_size=3, device="cpu")
    np.testing.assert_allclose(vec, again, rtol=1e-5, atol=1e-6)


def test_wrong_rate_is_an_error(tiny_model):
    ckpt = load_checkpoint(tiny_model)
    with pytest.raises(SongnetError, match="sample rate 44100"):
        embed_sounds(ckpt, [tone(3000.0, sr=44100)], device="cpu")


def test_save_load_and_era(tmp_path):
    songs = pd.DataFrame({"song_id": ["a", "b", "c"], "era": ["2020", "2020", "1966"],
                          "theme": ["T01", "T02", ""], "source": "x", "split": ""})
    emb = Embeddings(np.arange(6, dtype=np.float32).reshape(3, 2), songs)
    save_embeddings(emb, tmp_path, info={"k": 1})
    back = load_embeddings(tmp_path)
    np.testing.assert_array_equal(back.vectors, emb.vectors)
    assert list(back.era("1966").songs.song_id) == ["c"]
    assert back.era("1966").songs.theme.iloc[0] == ""
    with pytest.raises(SongnetError, match="3 songs"):
        Embeddings(np.zeros((2, 2)), songs)
    with pytest.raises(SongnetError, match="songnet embed"):
        load_embeddings(tmp_path / "none")


def make_inputs(tmp_path, n_per=6):
    """A features folder (test split), a resynth folder and 2020 recordings."""
    rng = np.random.default_rng(0)
    feats = tmp_path / "features"
    feats.mkdir()
    pitches = {0: 3000.0, 1: 5500.0, 2: 0.0}
    clips, labels = [], []
    for label, f in pitches.items():
        for _ in range(n_per):
            y = tone(f * rng.uniform(0.98, 1.02)).samples if f else \
                (0.01 * rng.standard_normal(FP.n_samples)).astype(np.float32)
            clips.append(y)
            labels.append(label)
    imgs = images(np.stack([np.pad(c, (0, FP.n_samples - len(c))) for c in clips]),
                  params=FP, device="cpu")
    np.save(feats / "test.npy", imgs.astype(np.float16))
    np.save(feats / "test.labels.npy", np.array(labels, dtype=np.int64))
    (feats / "features.json").write_text(json.dumps({
        "params": params_to_dict(FP), "classes": CLASSES,
        "ids": {"test": [f"s{i}" for i in range(len(labels))]}}))
    resynth = tmp_path / "resynth"
    resynth.mkdir()
    rows = []
    for name, f, theme in (("old-a", 3050.0, "T01"), ("old-b", 7500.0, "X")):
        sf.write(resynth / f"{name}.wav", tone(f, sr=44100).samples, 44100)
        rows.append({"id": name, "path": f"{name}.wav", "source": f"{name}.csv",
                     "kind": "sketch", "theme": theme})
    pd.DataFrame(rows).to_csv(resynth / "manifest.csv", index=False)
    rec = tmp_path / "recordings" / "T02"
    rec.mkdir(parents=True)
    sf.write(rec / "field1.wav", tone(5500.0).samples, FP.sr)
    return feats, resynth, tmp_path / "recordings"


def test_cli_embed(tmp_path, tiny_model, repo_root):
    feats, resynth, rec = make_inputs(tmp_path)
    out = tmp_path / "emb"
    assert main(["embed", "--model", str(tiny_model), "--features", str(feats), "--resynth",
                 str(resynth), "--recordings", str(rec), "--out", str(out), "-q",
                 "--params", str(repo_root / "params.yaml")]) == 0
    emb = load_embeddings(out)
    assert emb.vectors.shape == (12 + 1 + 2, 6)  # no_song clips left out
    assert list(emb.songs.era.value_counts().sort_index()) == [2, 13]
    # the recordings folder T02 is named like a catalog theme: kept apart by default
    assert set(emb.era("2020").songs.theme) == {"T01", "T02", "rec/T02"}
    assert emb.songs.song_id.iloc[0] == "s0"
    row = emb.songs[emb.songs.source == "recording"].iloc[0]
    assert (row.song_id, row.theme) == ("rec/T02/field1", "rec/T02")
    info = json.loads((out / "embed.json").read_text())
    assert info["recordings_resynthesized"] is True
    resung = emb.vectors[emb.songs.source == "recording"][0]

    merged = tmp_path / "emb-merged"
    assert main(["embed", "--model", str(tiny_model), "--features", str(feats), "--resynth",
                 str(resynth), "--recordings", str(rec), "-o", str(merged), "-q",
                 "--merge-themes", "--no-resynthesize",
                 "--params", str(repo_root / "params.yaml")]) == 0
    emb2 = load_embeddings(merged)
    assert set(emb2.era("2020").songs.theme) == {"T01", "T02"}
    assert json.loads((merged / "embed.json").read_text())["recordings_resynthesized"] is False
    as_recorded = emb2.vectors[emb2.songs.source == "recording"][0]
    assert not np.allclose(resung, as_recorded)  # the two channels really differ

    empty = tmp_path / "no-recordings"
    empty.mkdir()
    (empty / "README.md").write_text("put theme folders here")
    args = ["embed", "--model", str(tiny_model), "--features", str(feats), "--resynth",
            str(resynth), "--recordings", str(empty), "--params", str(repo_root / "params.yaml"),
            "-q"]
    assert main([*args, "-o", str(tmp_path / "e3")]) == 2  # a folder given: it must hold some
    assert main([*args, "-o", str(tmp_path / "e4"), "--recordings-optional"]) == 0
    assert set(load_embeddings(tmp_path / "e4").songs.source) == {"surrogate", "sketch"}


def test_cli_embed_missing_resynth(tmp_path, tiny_model, repo_root, capsys):
    feats, _, _ = make_inputs(tmp_path, n_per=1)
    code = main(["embed", "--model", str(tiny_model), "--features", str(feats), "--resynth",
                 str(tmp_path / "none"), "--out", str(tmp_path / "emb"),
                 "--params", str(repo_root / "params.yaml")])
    err = capsys.readouterr().err
    assert code == 2 and "songnet resynthesize" in err
    assert not (tmp_path / "emb").exists()


def test_recordings_named_like_catalog_themes_stay_apart_unless_merged():
    from songnet.latent.embed import recording_theme
    catalog = ["T01", "T02"]
    assert recording_theme("T01", catalog=catalog) == "rec/T01"
    assert recording_theme("T01", catalog=catalog, merge=True) == "T01"
    assert recording_theme("Pereyra-A", catalog=catalog) == "Pereyra-A"


def test_recordings_are_resung_by_the_model_before_embedding():
    import numpy as np

    from songnet.core.sound import Sound
    from songnet.latent.embed import resynthesize_recordings
    from songnet.song.track import track_pitch
    from songnet.synth import SR
    t = np.arange(int(0.4 * SR)) / SR
    y = np.where((t > 0.05) & (t < 0.3), 0.5 * np.sin(2 * np.pi * 4500 * t), 0.0)
    y = (y + 0.3 * np.sin(2 * np.pi * 9000 * t) * ((t > 0.05) & (t < 0.3))).astype(np.float32)
    [(theme, song)] = resynthesize_recordings([("A", Sound(y, SR, source="a.wav"))], sr=22050)
    assert theme == "A" and song.sr == 22050 and song.source == "a.wav"
    # the resung whistle has the model's pure timbre: the planted 9 kHz partial is gone
    spec = np.abs(np.fft.rfft(song.samples))
    freqs = np.fft.rfftfreq(song.samples.size, 1 / 22050)
    peak = spec[np.abs(freqs - 4500) < 100].max()
    assert spec[np.abs(freqs - 9000) < 100].max() < 0.05 * peak
    track = track_pitch(song, fmin=2000, fmax=9000, hop_s=0.002, window_s=0.008)
    assert abs(np.nanmedian(track.f0_hz) - 4500) < 60


def test_theme_recordings_are_read_as_themes_reads_them(tmp_path):
    """``T01/bird3/*.wav`` is T01's, as ``songnet themes`` learns it; a ``_unsorted``
    folder (what discover could not place) is no theme."""
    from songnet.latent.embed import find_theme_recordings

    for rel in ("T01/a.wav", "T01/bird3/b.wav", "T05/c.flac", "_unsorted/d.wav"):
        path = tmp_path / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        sf.write(path, np.zeros(4410, dtype=np.float32), 44100)
    found = [(theme, p.relative_to(tmp_path).as_posix())
             for theme, p in find_theme_recordings(tmp_path)]
    assert sorted(found) == [("T01", "T01/a.wav"), ("T01", "T01/bird3/b.wav"),
                             ("T05", "T05/c.flac")]
