"""ONNX export (songnet.model.export) and inference without torch (songnet.model.runtime)."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from songnet.cli import main
from songnet.core.errors import SongnetError
from songnet.core.params import params_to_dict
from songnet.features.params import FeatureParams
from songnet.model.checkpoint import (
    default_model_path,
    embed_images,
    load_checkpoint,
    predict_proba,
    save_checkpoint,
)
from songnet.model.export import export_checkpoint, export_onnx, onnx_metadata
from songnet.model.network import ModelConfig, ThemeCNN
from songnet.model.openset import OPEN_SET_KEY, ThemeMatcher
from songnet.model.runtime import default_onnx_path, load_onnx

REPO = Path(__file__).resolve().parents[1]
FP = FeatureParams()


def generated_images(n: int = 48, seed: int = 0) -> np.ndarray:
    """Images of noise with whistles and sweeps at random pitches and times."""
    from songnet.features.images import images
    rng = np.random.default_rng(seed)
    t = np.arange(FP.n_samples) / FP.sr
    clips = 0.02 * rng.standard_normal((n, t.size))
    for row in clips[: 3 * n // 4]:
        f0, f1 = rng.uniform(1500, 8000, size=2)
        on = (t > rng.uniform(0, 1.5)) & (t < rng.uniform(1.6, 3.0))
        row += on * 0.3 * np.sin(2 * np.pi * (f0 * t + (f1 - f0) * t ** 2 / 6))
    return images(clips.astype(np.float32), params=FP, device="cpu")


def song_images(per_theme: int = 4, seed: int = 0) -> np.ndarray:
    """Images of model songs of every catalog theme in noise (5-25 dB SNR, a random place
    in the window), as the test split holds them, and a quarter as many of noise alone."""
    from songnet.core.audio import resample
    from songnet.features.images import images
    from songnet.surrogates.birds import sing
    from songnet.surrogates.themes import load_catalog
    from songnet.synth import SR

    rng = np.random.default_rng(seed)
    clips = []
    for theme in load_catalog():
        for _ in range(per_theme):
            song = resample(sing(theme, rng=rng).astype(np.float32), orig_sr=SR, sr=FP.sr)
            clip = np.zeros(FP.n_samples, dtype=np.float32)
            song = song[: clip.size]
            at = int(rng.integers(0, clip.size - song.size + 1))
            clip[at:at + song.size] = song
            level = np.sqrt(np.mean(song ** 2)) * 10 ** (-rng.uniform(5, 25) / 20)
            clips.append(clip + rng.normal(0, level, clip.size).astype(np.float32))
    clips += [rng.normal(0, 0.01, FP.n_samples).astype(np.float32)
              for _ in range(len(clips) // 4)]
    return images(np.stack(clips), params=FP, device="cpu")


@pytest.fixture(scope="module")
def test_split() -> np.ndarray:
    """The features stage's test split when this checkout has it (after `dvc repro`),
    else songs of every catalog theme made the same way (:func:`song_images`)."""
    folder = REPO / "data" / "features"
    if (folder / "test.npy").is_file():
        from songnet.features.featureset import load_split
        return load_split(folder, "test").images[:2000].astype(np.float32)
    return song_images()


@pytest.fixture(scope="module")
def tiny_ckpt(tmp_path_factory):
    torch.manual_seed(1)
    model = ThemeCNN(ModelConfig(n_bins=FP.n_bins, n_frames=FP.n_frames, n_classes=4,
                                 channels=(4, 8), embed_dim=8))
    path = tmp_path_factory.mktemp("m") / "tiny.pt"
    rng = np.random.default_rng(0)
    X = np.concatenate([rng.normal(c, 1.0, (10, 8)) for c in (0.0, 5.0, 10.0)])
    matcher = ThemeMatcher(threshold_quantile=0.9).fit(X, ["A"] * 10 + ["B"] * 10 + ["C"] * 10)
    save_checkpoint(path, model, classes=["A", "B", "C", "no_song"],
                    feature_params=params_to_dict(FP), train_params={"seed": 1},
                    meta={OPEN_SET_KEY: matcher.to_dict(), "best_epoch": 3})
    return path


def test_exported_outputs_equal_torch_on_the_test_split(tmp_path, test_split):
    if not default_model_path().is_file():
        pytest.skip("no shipped default.pt; run `dvc repro`")
    ckpt = load_checkpoint(None, device="cpu")
    onnx = load_onnx(export_checkpoint(None, tmp_path / "default.onnx"), threads=1)
    got, want = onnx.predict_proba(test_split), predict_proba(ckpt, test_split)
    assert got.shape == want.shape == (len(test_split), len(ckpt.classes))
    assert np.abs(got - want).max() < 1e-4
    assert np.array_equal(got.argmax(axis=1), want.argmax(axis=1))
    themes = ckpt.classes[:-1]
    assert len({ckpt.classes[k] for k in want.argmax(axis=1)} & set(themes)) >= len(themes) // 2
    emb = onnx.embed(test_split[:64])
    assert np.abs(emb - embed_images(ckpt, test_split[:64])).max() < 1e-4


def test_the_shipped_onnx_is_the_export_of_the_shipped_checkpoint():
    if not (default_model_path().is_file() and default_onnx_path().is_file()):
        pytest.skip("no shipped model; run `dvc repro`")
    onnx = load_onnx(None)
    ckpt = load_checkpoint(None)
    digest = hashlib.sha256(default_model_path().read_bytes()).hexdigest()
    assert onnx.checkpoint_sha256 == digest, (
        "songnet/models/default.onnx is not the export of default.pt: run `songnet export "
        "-o songnet/models/default.onnx` (the release stage does)")
    assert onnx.classes == ckpt.classes and onnx.feature_params == ckpt.feature_params


def test_metadata_carries_classes_params_and_the_open_set_matcher(tiny_ckpt, tmp_path):
    ckpt = load_checkpoint(tiny_ckpt)
    model = load_onnx(export_checkpoint(tiny_ckpt, tmp_path / "tiny.onnx"))
    assert model.classes == ["A", "B", "C", "no_song"]
    assert model.features() == FP and model.meta["best_epoch"] == 3
    want = ThemeMatcher.from_dict(ckpt.meta[OPEN_SET_KEY])
    assert list(model.open_set.themes_) == ["A", "B", "C"]
    np.testing.assert_allclose(model.open_set.thresholds_, want.thresholds_)
    probe = np.full((2, 8), 5.0)
    probe[1] = 40.0  # far from every theme
    idx, dist, thr = model.open_set.nearest(probe)
    assert model.open_set.themes_[idx[0]] == "B" and dist[0] <= thr[0] and dist[1] > thr[1]
    assert model.checkpoint_sha256 == hashlib.sha256(tiny_ckpt.read_bytes()).hexdigest()
    ckpt.meta.pop(OPEN_SET_KEY)
    assert OPEN_SET_KEY not in onnx_metadata(ckpt)
    export_onnx(ckpt, tmp_path / "plain.onnx")
    assert load_onnx(tmp_path / "plain.onnx").open_set is None


def test_the_export_carries_a_checksum_over_weights_and_metadata(tiny_ckpt, tmp_path):
    import onnx

    from songnet.model.onnxfile import CHECKSUM_KEY, read_checksums, sign

    path = export_checkpoint(tiny_ckpt, tmp_path / "tiny.onnx")
    stored, computed = read_checksums(path)
    assert stored == computed and stored.startswith("sha256:")
    proto = onnx.load(str(path))  # still an ONNX model that onnx itself checks and reads
    onnx.checker.check_model(proto)
    assert [p.key for p in proto.metadata_props][-1] == CHECKSUM_KEY
    with pytest.raises(ValueError, match="already"):
        sign(path.read_bytes())
    if default_onnx_path().is_file():  # the shipped model: exported with its checksum
        stored, computed = read_checksums(default_onnx_path())
        assert stored == computed, ("songnet/models/default.onnx has no valid checksum: run "
                                    "`songnet export -o songnet/models/default.onnx`")


def test_same_checkpoint_gives_the_same_bytes(tiny_ckpt, tmp_path):
    a = export_checkpoint(tiny_ckpt, tmp_path / "a.onnx").read_bytes()
    assert export_checkpoint(tiny_ckpt, tmp_path / "b.onnx").read_bytes() == a


def test_inference_checks_shapes_and_handles_empty_batches(tiny_ckpt, tmp_path):
    model = load_onnx(export_checkpoint(tiny_ckpt, tmp_path / "tiny.onnx"), threads=1)
    x = generated_images(5)
    assert model.predict_proba(x, batch_size=2).shape == (5, 4)
    assert np.allclose(model.predict_proba(x).sum(axis=1), 1.0, atol=1e-5)
    assert model.predict_proba(x[:0]).shape == (0, 4)
    assert model.embed(x[0]).shape == (1, 8)
    with pytest.raises(SongnetError, match=r"shape \(B, 80, 517\)"):
        model.predict_proba(np.zeros((2, 20, 64), dtype=np.float32))


def test_unreadable_files_are_errors_naming_them(tiny_ckpt, tmp_path):
    with pytest.raises(SongnetError, match="not found"):
        load_onnx(tmp_path / "missing.onnx")
    junk = tmp_path / "junk.onnx"
    junk.write_bytes(b"not a model" * 100)
    with pytest.raises(SongnetError, match=r"junk\.onnx: not a readable ONNX model"):
        load_onnx(junk)
    foreign = export_onnx(load_checkpoint(tiny_ckpt), tmp_path / "foreign.onnx",
                          metadata={"format": "someone-else/3"})
    with pytest.raises(SongnetError, match=r"foreign\.onnx: not a songnet model"):
        load_onnx(foreign)


def test_export_command(tiny_ckpt, tmp_path, capsys):
    out = tmp_path / "out" / "tiny.onnx"
    assert main(["export", "--model", str(tiny_ckpt), "-o", str(out)]) == 0
    assert load_onnx(out).classes[-1] == "no_song"
    assert main(["export", "--model", str(tiny_ckpt), "-o", str(tmp_path / "x.bin")]) == 2
    assert "must end in .onnx" in capsys.readouterr().err


def test_inference_modules_import_no_torch():
    code = ("import sys\nimport songnet.model.runtime, songnet.features.npcqt, "
            "songnet.classify.backends, songnet.classify.windows\n"
            "print(sorted({m.split('.')[0] for m in sys.modules} & "
            "{'torch', 'onnx', 'librosa', 'scipy'}))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True)
    assert proc.stdout.strip() == "[]"
