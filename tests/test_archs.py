"""The networks train.arch chooses from (songnet.model.archs): interface, training,
checkpoints, ONNX export, size counts."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch
from torch import nn

from songnet.core.errors import ParamsError, SongnetError
from songnet.core.params import params_from_mapping
from songnet.features.featureset import FeatureSplit
from songnet.model.archs import (
    ARCHS,
    DEFAULT_ARCH,
    build_model,
    config_from_dict,
    count_flops,
    count_params,
)
from songnet.model.checkpoint import (
    embed_images,
    load_checkpoint,
    payload_checksum,
    predict_proba,
    save_checkpoint,
)
from songnet.model.network import ModelConfig, ThemeCNN
from songnet.model.train import train_model
from songnet.model.train_params import TrainParams
from tests.tiny_features import CLASSES, FEATURE_PARAMS, N_BINS, N_FRAMES, make_split

FIELDS = {"n_bins": N_BINS, "n_frames": N_FRAMES, "n_classes": 3, "channels": (4, 8, 16),
          "embed_dim": 6, "dropout": 0.1}


def tiny(arch: str, seed: int = 0) -> nn.Module:
    torch.manual_seed(seed)
    return build_model(arch, FIELDS)


@pytest.mark.parametrize("arch", list(ARCHS))
def test_builds_from_its_config_and_the_config_round_trips(arch):
    config = config_from_dict(arch, FIELDS)
    model = build_model(arch, config)
    assert type(model) is ARCHS[arch] and model.arch == config.arch == arch
    assert config.to_dict()["arch"] == arch
    assert config_from_dict(arch, config.to_dict()) == config
    assert type(config).from_dict(config.to_dict()) == config
    assert isinstance(model.classifier, nn.Linear) and model.classifier.in_features == 6


@pytest.mark.parametrize("arch", list(ARCHS))
def test_logits_embedding_and_cam_layer_shapes(arch):
    model = tiny(arch).eval()
    x = torch.rand(5, 1, N_BINS, N_FRAMES)
    maps = []
    hook = model.cam_layer.register_forward_hook(lambda _m, _i, out: maps.append(out.shape))
    with torch.no_grad():
        assert model(x).shape == (5, 3)
        emb = model.embed(x)
    hook.remove()
    assert emb.shape == (5, 6) and (emb >= 0).all()
    assert len(maps[0]) == 4 and maps[0][:2] == (5, 16)  # (B, C, F, T)


@pytest.mark.parametrize("arch", list(ARCHS))
def test_default_config_fits_the_pipeline_image(arch):
    model = build_model(arch, {"n_classes": 12}).eval()
    cfg = model.config
    assert (cfg.n_bins, cfg.n_frames, cfg.channels, cfg.embed_dim) == (80, 517, (16, 32, 64, 128),
                                                                         64)
    with torch.no_grad():
        assert model(torch.rand(2, 1, 80, 517)).shape == (2, 12)
    assert count_params(model) * 4 < 2_000_000  # well under the 5 MB of a shipped model
    assert 1e6 < count_flops(model, 80, 517) < 5e7


@pytest.mark.parametrize("arch", list(ARCHS))
@pytest.mark.parametrize("shape", [(2, N_BINS, N_FRAMES), (2, 1, N_BINS - 1, N_FRAMES),
                                   (2, 2, N_BINS, N_FRAMES)])
def test_wrong_input_shape_is_a_clear_error(arch, shape):
    with pytest.raises(SongnetError, match=rf"\(B, 1, {N_BINS}, {N_FRAMES}\)"):
        tiny(arch)(torch.rand(*shape))


@pytest.mark.parametrize("arch", list(ARCHS))
def test_configs_refuse_bad_values(arch):
    with pytest.raises(ValueError, match="channels"):
        config_from_dict(arch, dict(FIELDS, channels=(8,)))
    with pytest.raises(ValueError, match="too small"):
        config_from_dict(arch, dict(FIELDS, n_bins=4, channels=(4, 8, 16, 32, 64)))
    with pytest.raises(ValueError, match="dropout"):
        config_from_dict(arch, dict(FIELDS, dropout=1.0))
    other = "lenet" if arch != "lenet" else "resnet"
    with pytest.raises(ValueError, match=repr(other)):
        config_from_dict(arch, dict(FIELDS, arch=other))


def test_unknown_arch_is_an_error_naming_it_and_the_choices():
    with pytest.raises(ValueError, match=r"'vgg'.*songnet, lenet, resnet, mobilenet"):
        build_model("vgg", FIELDS)
    with pytest.raises(ParamsError, match=r"'vgg'.*mobilenet"):
        params_from_mapping(TrainParams, {"arch": "vgg"}, where="params.yaml: [train]")
    with pytest.raises(ValueError, match="needs a ResNetConfig"):
        build_model("resnet", ModelConfig())
    assert TrainParams().arch == DEFAULT_ARCH == "songnet"


@pytest.mark.parametrize("arch", list(ARCHS))
def test_a_training_step_reaches_every_parameter_and_lowers_the_loss(arch):
    model = tiny(arch).train()
    images, labels = make_split(0, 24)
    x, y = torch.from_numpy(images).float()[:, None], torch.from_numpy(labels)
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    losses = []
    for step in range(8):
        loss = nn.functional.cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()
        if step == 0:
            for name, p in model.named_parameters():
                assert p.grad is not None and torch.isfinite(p.grad).all(), name
                assert p.grad.abs().sum() > 0, name
        opt.step()
        losses.append(float(loss.detach()))
    assert losses[-1] < losses[0]


@pytest.mark.parametrize("arch", list(ARCHS))
def test_checkpoint_round_trip_records_the_arch(tmp_path, arch):
    model = tiny(arch).eval()
    path = save_checkpoint(tmp_path / "m.pt", model, classes=CLASSES,
                           feature_params=FEATURE_PARAMS, train_params={"arch": arch})
    assert torch.load(path, weights_only=True)["model_config"]["arch"] == arch
    ckpt = load_checkpoint(path)
    assert ckpt.arch == arch and type(ckpt.model) is type(model) and ckpt.config == model.config
    x = torch.rand(3, 1, N_BINS, N_FRAMES)
    with torch.no_grad():
        assert torch.equal(ckpt.model(x), model(x))
        assert torch.equal(ckpt.model.embed(x), model.embed(x))


def test_a_checkpoint_without_arch_is_songnet_and_an_unknown_arch_is_refused(tmp_path):
    torch.manual_seed(0)
    model = ThemeCNN(ModelConfig(**FIELDS)).eval()
    path = save_checkpoint(tmp_path / "m.pt", model, classes=CLASSES,
                           feature_params=FEATURE_PARAMS, train_params={})
    payload = torch.load(path, weights_only=True)
    del payload["model_config"]["arch"]  # as written before train.arch
    payload["checksum"] = payload_checksum(payload)
    torch.save(payload, tmp_path / "old.pt")
    ckpt = load_checkpoint(tmp_path / "old.pt")
    assert ckpt.arch == "songnet" and isinstance(ckpt.model, ThemeCNN)
    payload["model_config"]["arch"] = "vgg"
    payload["checksum"] = payload_checksum(payload)
    torch.save(payload, tmp_path / "vgg.pt")
    with pytest.raises(SongnetError, match=r"vgg\.pt: checkpoint does not match.*'vgg'"):
        load_checkpoint(tmp_path / "vgg.pt")


def test_the_shipped_model_loads_as_songnet():
    ckpt = load_checkpoint(None)
    assert ckpt.arch == "songnet" and type(ckpt.model) is ThemeCNN


@pytest.mark.parametrize("arch", list(ARCHS))
def test_onnx_export_equals_torch(tmp_path, arch):
    from songnet.model.export import export_onnx
    from songnet.model.runtime import load_onnx

    path = save_checkpoint(tmp_path / "m.pt", tiny(arch, seed=2), classes=CLASSES,
                           feature_params=FEATURE_PARAMS, train_params={})
    ckpt = load_checkpoint(path)
    onnx = load_onnx(export_onnx(ckpt, tmp_path / "m.onnx"), threads=1)
    images = np.random.default_rng(0).random((7, N_BINS, N_FRAMES), dtype=np.float32)
    assert np.abs(onnx.predict_proba(images) - predict_proba(ckpt, images)).max() < 1e-4
    assert np.abs(onnx.embed(images) - embed_images(ckpt, images)).max() < 1e-4


class _Stop(Exception):
    pass


def _stop_after_1(row):
    if row["epoch"] == 1:
        raise _Stop


def _splits() -> tuple[FeatureSplit, FeatureSplit]:
    return (FeatureSplit(*make_split(1, 40), name="train"),
            FeatureSplit(*make_split(2, 15), name="val"))


def _params(arch: str) -> TrainParams:
    return TrainParams(seed=1, epochs=2, batch_size=20, arch=arch, channels=(4, 8),
                       embed_dim=6, device="cpu")


def _same_weights(a: nn.Module, b: nn.Module) -> bool:
    return all(torch.equal(va, vb) for va, vb in zip(a.state_dict().values(),
                                                      b.state_dict().values(), strict=True))


@pytest.mark.parametrize("arch", ["lenet", "mobilenet"])
def test_train_builds_the_chosen_network_and_resumes(tmp_path, arch):
    train, val = _splits()
    params = _params(arch)
    full = train_model(train, val, classes=CLASSES, feature_params=FEATURE_PARAMS,
                       params=params, checkpoint=tmp_path / "a.pt")
    assert type(full.model) is ARCHS[arch]
    assert load_checkpoint(tmp_path / "a.pt").arch == arch
    state = tmp_path / "b.pt"
    with pytest.raises(_Stop):
        train_model(train, val, classes=CLASSES, feature_params=FEATURE_PARAMS,
                    params=params, checkpoint=state, on_epoch=_stop_after_1)
    other = dataclasses.replace(params, arch="resnet")
    with pytest.raises(SongnetError, match=r"train\.arch"):
        train_model(train, val, classes=CLASSES, feature_params=FEATURE_PARAMS,
                    params=other, checkpoint=state, resume=True)
    resumed = train_model(train, val, classes=CLASSES, feature_params=FEATURE_PARAMS,
                          params=params, checkpoint=state, resume=True)
    assert resumed.history == full.history and _same_weights(resumed.model, full.model)


def test_a_training_state_without_arch_resumes_as_songnet(tmp_path):
    train, val = _splits()
    params = _params("songnet")
    full = train_model(train, val, classes=CLASSES, feature_params=FEATURE_PARAMS,
                       params=params)
    path = tmp_path / "s.pt"
    with pytest.raises(_Stop):
        train_model(train, val, classes=CLASSES, feature_params=FEATURE_PARAMS,
                    params=params, checkpoint=path, on_epoch=_stop_after_1)
    state = torch.load(path, weights_only=True)
    del state["train_params"]["arch"]  # a state written before train.arch
    del state["model_config"]["arch"]
    state["checksum"] = payload_checksum(state)
    torch.save(state, path)
    resumed = train_model(train, val, classes=CLASSES, feature_params=FEATURE_PARAMS,
                          params=params, checkpoint=path, resume=True)
    assert resumed.history == full.history and _same_weights(resumed.model, full.model)


def test_count_flops_is_a_hand_count_of_multiply_accumulates():
    model = nn.Sequential(
        nn.Conv2d(1, 4, 3, padding=1),  # 4 x 4 x 6 outputs x 9 = 864
        nn.Conv2d(4, 4, 3, stride=2, padding=1, groups=4),  # 4 x 2 x 3 outputs x 9 = 216
        nn.Flatten(), nn.Linear(24, 5))  # 5 x 24 = 120
    model.train()
    assert count_flops(model, 4, 6) == 864 + 216 + 120
    assert model.training  # the mode it had
    assert count_params(model) == (4 * 9 + 4) + (4 * 9 + 4) + (24 * 5 + 5)
