"""The theme CNN: shapes, input checks, checkpoints, batched inference."""

from __future__ import annotations

import fractions
import importlib.resources
from pathlib import Path

import numpy as np
import pytest
import torch

from songnet.core.errors import SongnetError
from songnet.core.params import params_to_dict
from songnet.features.params import FeatureParams
from songnet.model.checkpoint import (
    CHECKPOINT_FORMAT,
    default_model_path,
    embed_images,
    load_checkpoint,
    payload_checksum,
    predict_proba,
    save_checkpoint,
)
from songnet.model.network import ModelConfig, ThemeCNN

CFG = ModelConfig(n_bins=16, n_frames=64, n_classes=3, channels=(8, 16), embed_dim=12)
CLASSES = ["a", "b", "no_song"]
FP = {"sr": 22050, "n_bins": 16}


def saved(tmp_path, **kw):
    torch.manual_seed(0)
    model = ThemeCNN(CFG).eval()
    path = save_checkpoint(tmp_path / "m.pt", model, classes=CLASSES, feature_params=FP,
                           train_params={"seed": 0}, meta={"note": "x"}, **kw)
    return model, path


def test_shapes_of_logits_and_embedding():
    model = ThemeCNN(CFG).eval()
    x = torch.rand(5, 1, 16, 64)
    assert model(x).shape == (5, 3)
    emb = model.embed(x)
    assert emb.shape == (5, 12) and (emb >= 0).all()


def test_default_config_fits_the_pipeline_image_and_is_small():
    cfg = ModelConfig()
    model = ThemeCNN(cfg).eval()
    with torch.no_grad():
        assert model(torch.rand(2, 1, cfg.n_bins, cfg.n_frames)).shape == (2, cfg.n_classes)
    n_params = sum(p.numel() for p in model.parameters())
    assert n_params * 4 < 2_000_000  # well under the 5 MB budget of the shipped model


@pytest.mark.parametrize("shape", [(2, 16, 64), (2, 1, 15, 64), (2, 1, 16, 65), (2, 2, 16, 64)])
def test_wrong_input_shape_is_a_clear_error(shape):
    model = ThemeCNN(CFG)
    with pytest.raises(SongnetError, match=r"\(B, 1, 16, 64\)"):
        model(torch.rand(*shape))


def test_config_refuses_bad_values():
    with pytest.raises(ValueError, match="channels"):
        ModelConfig(channels=(8,))
    with pytest.raises(ValueError, match="too small"):
        ModelConfig(n_bins=4, n_frames=64, channels=(8, 16, 32))
    with pytest.raises(ValueError, match="dropout"):
        ModelConfig(dropout=1.0)
    assert ModelConfig.from_dict(CFG.to_dict()) == CFG


def test_checkpoint_round_trip(tmp_path):
    model, path = saved(tmp_path)
    ckpt = load_checkpoint(path)
    assert ckpt.config == CFG and ckpt.classes == CLASSES
    assert ckpt.feature_params == FP and ckpt.meta == {"note": "x"}
    assert not ckpt.model.training
    x = torch.rand(3, 1, 16, 64)
    with torch.no_grad():
        assert torch.equal(ckpt.model(x), model(x))


def test_channels_last_layout_survives_loading_and_changes_no_number(tmp_path):
    model, path = saved(tmp_path)
    loaded = load_checkpoint(path).model
    for m in (model, loaded):  # the fast layout, also after load_state_dict
        assert m.stem[0].weight.is_contiguous(memory_format=torch.channels_last)
    plain = ThemeCNN(CFG).eval()
    plain.load_state_dict(model.state_dict())
    plain.to(memory_format=torch.contiguous_format)
    assert plain.stem[0].weight.is_contiguous()
    x = torch.rand(6, 1, 16, 64)
    with torch.no_grad():
        assert torch.allclose(plain(x), model(x), atol=1e-5)
        assert torch.allclose(plain.embed(x), loaded.embed(x), atol=1e-5)


def test_same_model_gives_same_bytes(tmp_path):
    _, path = saved(tmp_path)
    first = path.read_bytes()
    _, path = saved(tmp_path)
    assert path.read_bytes() == first


def test_predict_proba_and_embed_images(tmp_path):
    model, path = saved(tmp_path)
    ckpt = load_checkpoint(path)
    images = np.random.default_rng(0).random((7, 16, 64)).astype(np.float16)
    p = predict_proba(ckpt, images, batch_size=3)
    assert p.shape == (7, 3) and p.dtype == np.float32
    np.testing.assert_allclose(p.sum(axis=1), 1.0, atol=1e-5)
    with torch.no_grad():
        ref = torch.softmax(model(torch.from_numpy(images).float()[:, None]), 1).numpy()
    np.testing.assert_allclose(p, ref, atol=1e-5)
    e = embed_images(ckpt, images, batch_size=4)
    assert e.shape == (7, 12)
    assert predict_proba(ckpt, images[:0]).shape == (0, 3)
    with pytest.raises(SongnetError, match=r"\(B, 16, 64\)"):
        predict_proba(ckpt, np.zeros((2, 20, 64)))


def test_missing_corrupt_and_truncated_checkpoints(tmp_path):
    with pytest.raises(SongnetError, match=r"nope\.pt not found"):
        load_checkpoint(tmp_path / "nope.pt")
    junk = tmp_path / "junk.pt"
    junk.write_bytes(b"not a checkpoint at all" * 10)
    with pytest.raises(SongnetError, match=r"junk\.pt: not a readable"):
        load_checkpoint(junk)
    _, path = saved(tmp_path)
    cut = tmp_path / "cut.pt"
    cut.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with pytest.raises(SongnetError, match=r"cut\.pt"):
        load_checkpoint(cut)


def test_pickled_objects_and_foreign_files_are_refused(tmp_path):
    evil = tmp_path / "evil.pt"
    torch.save({"format": CHECKPOINT_FORMAT, "obj": fractions.Fraction(1, 3)}, evil)
    with pytest.raises(SongnetError, match=r"evil\.pt"):
        load_checkpoint(evil)
    other = tmp_path / "other.pt"
    torch.save({"weights": torch.zeros(3)}, other)
    with pytest.raises(SongnetError, match="not a songnet theme-CNN checkpoint"):
        load_checkpoint(other)


def test_checkpoint_for_another_network_is_refused(tmp_path):
    _, path = saved(tmp_path)
    payload = torch.load(path, weights_only=True)
    payload["model_config"]["embed_dim"] = 99
    payload["checksum"] = payload_checksum(payload)  # a consistent file of another network
    torch.save(payload, tmp_path / "mismatch.pt")
    with pytest.raises(SongnetError, match=r"mismatch\.pt: checkpoint does not match"):
        load_checkpoint(tmp_path / "mismatch.pt")


def test_same_feature_params_are_accepted(tmp_path):
    _, path = saved(tmp_path)
    assert load_checkpoint(path, feature_params=dict(FP)).classes == CLASSES


def test_other_feature_params_are_refused(tmp_path):
    base = params_to_dict(FeatureParams())
    model = ThemeCNN(CFG)
    path = save_checkpoint(tmp_path / "f.pt", model, classes=CLASSES, feature_params=base,
                           train_params={})
    other = dict(base, hop_length=base["hop_length"] * 2)
    with pytest.raises(SongnetError, match="hop_length"):
        load_checkpoint(path, feature_params=other)


def test_default_model_is_the_package_resource_and_load_without_a_path_reads_it():
    resource = importlib.resources.files("songnet").joinpath("models/default.pt")
    assert resource.is_file()
    assert Path(str(resource)).resolve() == default_model_path()
    shipped = load_checkpoint()
    again = load_checkpoint(Path(str(resource)))
    for key, value in shipped.model.state_dict().items():
        assert torch.equal(value, again.model.state_dict()[key]), key


def test_shipped_default_model_loads_and_matches_its_card():
    assert default_model_path().stat().st_size < 5_000_000
    ckpt = load_checkpoint()
    assert ckpt.classes[-1] == "no_song" and ckpt.classes[:-1] == sorted(ckpt.classes[:-1])
    fp = ckpt.features()
    assert (fp.n_bins, fp.n_frames) == (ckpt.config.n_bins, ckpt.config.n_frames)
    card = default_model_path().with_name("MODEL_CARD.md").read_text(encoding="utf-8")
    assert all(f"`{name}`" in card for name in ckpt.classes)
    assert f"{ckpt.meta['best_epoch']}" in card
