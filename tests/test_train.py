"""Training: augmentation, a tiny end-to-end run, determinism, resume, the CLI."""

from __future__ import annotations

import csv
import dataclasses

import numpy as np
import pytest
import torch

from songnet.cli import main
from songnet.core.errors import SongnetError
from songnet.features.featureset import FeatureSplit
from songnet.model.augment import augment, warp_reference
from songnet.model.checkpoint import load_checkpoint
from songnet.model.train import train_model
from songnet.model.train_params import TrainParams
from tests.tiny_features import CLASSES, FEATURE_PARAMS, make_split, write_features

TINY = TrainParams(seed=3, epochs=12, batch_size=25, lr=1e-2, patience=20, channels=(8, 16),
                   embed_dim=16, dropout=0.1, shift_frames=8, pitch_bins=1, stretch=0.05,
                   freq_mask=2, time_mask=8,
                   device="cpu")
NO_AUG = dataclasses.replace(TINY, shift_frames=0, pitch_bins=0, stretch=0.0, time_warp=0.0,
                             gain=0.0, noise_prob=0.0, freq_mask=0, time_mask=0)


def splits(n_train: int = 150, n_val: int = 60) -> tuple[FeatureSplit, FeatureSplit]:
    return (FeatureSplit(*make_split(1, n_train), name="train"),
            FeatureSplit(*make_split(2, n_val), name="val"))


def test_augment_without_options_is_identity():
    x = torch.rand(4, 16, 64)
    assert torch.equal(augment(x, params=NO_AUG), x)


def test_augment_shift_moves_a_spike_within_bounds():
    x = torch.zeros(32, 16, 64)
    x[:, 5, 30] = 1.0
    params = dataclasses.replace(NO_AUG, shift_frames=6)
    torch.manual_seed(0)
    y = augment(x, params=params)
    cols = y[:, 5].argmax(dim=1) - 30
    assert cols.abs().max() <= 6 and len(set(cols.tolist())) > 3
    assert torch.allclose(y.sum(dim=(1, 2)), torch.ones(32), atol=1e-4)  # moved, not spread
    assert torch.allclose(y.amax(dim=(1, 2)), torch.ones(32), atol=1e-4)


def test_augment_transposes_along_frequency_and_stretches_time():
    x = torch.zeros(32, 16, 64)
    x[:, 8, 30:34] = 1.0
    torch.manual_seed(0)
    y = augment(x, params=dataclasses.replace(NO_AUG, pitch_bins=2))
    rows = y.sum(dim=2).argmax(dim=1) - 8
    assert rows.abs().max() <= 2 and len(set(rows.tolist())) == 5
    assert torch.allclose(y.sum(dim=(1, 2)), torch.full((32,), 4.0), atol=1e-4)
    line = torch.zeros(64, 16, 64)
    line[:, 4, 12:52] = 1.0  # 40 frames around the centre
    y = augment(line, params=dataclasses.replace(NO_AUG, stretch=0.2))
    length = y[:, 4].sum(dim=1)
    assert length.min() >= 40 * 0.8 - 1 and length.max() <= 40 * 1.2 + 1
    assert length.max() - length.min() > 8


@pytest.mark.parametrize("shape", [(16, 80, 517), (8, 16, 64)])
def test_warp_equals_the_bilinear_affine_resampling(shape):
    params = dataclasses.replace(NO_AUG, shift_frames=60, pitch_bins=3, stretch=0.1)
    x = torch.rand(*shape)
    torch.manual_seed(7)
    expected = warp_reference(x, params)
    torch.manual_seed(7)
    got = augment(x, params=params)
    assert got.shape == x.shape
    assert (got - expected).abs().max() < 2e-4  # float32 rounding of the grid's coordinates
    assert not torch.allclose(got, x, atol=1e-2)


def test_time_warp_moves_notes_against_each_other_and_keeps_their_order():
    x = torch.zeros(64, 8, 517)
    notes = (100, 250, 400)
    for c in notes:
        x[:, :, c - 1:c + 2] = 1.0  # three notes of three frames
    params = dataclasses.replace(NO_AUG, time_warp=8.0)
    torch.manual_seed(3)
    y = augment(x, params=params)
    moved = []
    for img in y[:, 0]:
        peaks = [int(img[c - 12:c + 13].argmax()) + c - 12 for c in notes]
        near = sum(float(img[c - 12:c + 13].sum()) for c in notes)
        assert near == pytest.approx(float(img.sum()))  # nothing moved far
        assert all(img[c - 12:c + 13].sum() > 1.0 for c in notes)  # every note still there
        assert peaks == sorted(peaks)  # no note read backwards
        moved.append([p - c for p, c in zip(peaks, notes, strict=True)])
    moved = np.array(moved)
    assert np.abs(moved).max() <= 9  # at most time_warp (and a frame of rounding)
    gaps = np.diff(moved, axis=1)  # notes move by different amounts: a warp, not a shift
    assert (gaps != 0).mean() > 0.5
    torch.manual_seed(3)
    still = augment(x, params=dataclasses.replace(params, time_warp=0.0))
    assert torch.equal(still, x)  # no draws at time_warp 0: the default RNG stream is kept
    with pytest.raises(ValueError, match="time_warp"):
        dataclasses.replace(params, time_warp=-1.0)


def test_augment_range_and_seed():
    x = torch.rand(8, 16, 64)
    noise = torch.rand(5, 16, 64)
    torch.manual_seed(1)
    a = augment(x, params=TINY, noise=noise)
    torch.manual_seed(1)
    b = augment(x, params=TINY, noise=noise)
    assert a.shape == x.shape and torch.equal(a, b)
    assert a.min() >= 0 and a.max() <= 1
    assert not torch.equal(a, x)


def test_masks_zero_whole_rows_and_columns():
    x = torch.ones(64, 16, 64)
    params = dataclasses.replace(NO_AUG, freq_mask=4, time_mask=10)
    y = augment(x, params=params)
    zero_rows = (y.sum(dim=2) == 0).sum(dim=1)
    zero_cols = (y.sum(dim=1) == 0).sum(dim=1)
    assert zero_rows.max() <= 3 and zero_cols.max() <= 9
    assert zero_rows.sum() > 0 and zero_cols.sum() > 0


def test_feature_split_checks_shapes():
    with pytest.raises(SongnetError, match="labels"):
        FeatureSplit(np.zeros((3, 4, 5)), np.zeros(2, dtype=np.int64), name="train")
    with pytest.raises(SongnetError, match="shape"):
        FeatureSplit(np.zeros((3, 4)), np.zeros(3, dtype=np.int64), name="train")


def test_labels_outside_classes_are_refused():
    train, val = splits(30, 12)
    bad = FeatureSplit(train.images, np.full(len(train), 7), name="train")
    with pytest.raises(SongnetError, match="label 7"):
        train_model(bad, val, classes=CLASSES, feature_params=FEATURE_PARAMS, params=TINY)


def test_tiny_config_learns_and_is_deterministic():
    train, val = splits()
    a = train_model(train, val, classes=CLASSES, feature_params=FEATURE_PARAMS, params=TINY)
    assert a.best_val_acc >= 0.9  # chance is 1/3
    assert len(a.history) == TINY.epochs
    b = train_model(train, val, classes=CLASSES, feature_params=FEATURE_PARAMS, params=TINY)
    for (k, va), vb in zip(a.model.state_dict().items(), b.model.state_dict().values(),
                           strict=True):
        assert torch.equal(va, vb), k


def test_early_stopping_keeps_best_epoch():
    train, val = splits(60, 30)
    params = dataclasses.replace(TINY, epochs=30, patience=1, lr=0.3)
    r = train_model(train, val, classes=CLASSES, feature_params=FEATURE_PARAMS, params=params)
    losses = [row["val_loss"] for row in r.history]
    assert len(r.history) < 30
    assert r.best_val_loss == min(losses)
    assert r.history[r.best_epoch - 1]["val_loss"] == r.best_val_loss


class _Interrupt(Exception):
    pass


def test_resume_after_interruption_matches_uninterrupted_run(tmp_path):
    train, val = splits(90, 30)
    params = dataclasses.replace(TINY, epochs=5)
    full = train_model(train, val, classes=CLASSES, feature_params=FEATURE_PARAMS,
                       params=params, checkpoint=tmp_path / "a.pt")

    def stop_at_2(row):
        if row["epoch"] == 2:
            raise _Interrupt
    state = tmp_path / "b.pt"
    with pytest.raises(_Interrupt):
        train_model(train, val, classes=CLASSES, feature_params=FEATURE_PARAMS,
                    params=params, checkpoint=state, on_epoch=stop_at_2)
    torch.manual_seed(999)  # resume must not depend on the RNG state it finds
    resumed = train_model(train, val, classes=CLASSES, feature_params=FEATURE_PARAMS,
                          params=params, checkpoint=state, resume=True)
    assert [r["epoch"] for r in resumed.history] == [1, 2, 3, 4, 5]
    assert resumed.history == full.history
    for va, vb in zip(full.model.state_dict().values(), resumed.model.state_dict().values(),
                      strict=True):
        assert torch.equal(va, vb)


def test_resume_refuses_other_params(tmp_path):
    train, val = splits(30, 12)
    params = dataclasses.replace(TINY, epochs=1)
    train_model(train, val, classes=CLASSES, feature_params=FEATURE_PARAMS, params=params,
                checkpoint=tmp_path / "s.pt")
    other = dataclasses.replace(params, lr=0.5)
    with pytest.raises(SongnetError, match=r"train\.lr"):
        train_model(train, val, classes=CLASSES, feature_params=FEATURE_PARAMS, params=other,
                    checkpoint=tmp_path / "s.pt", resume=True)


def _write_params(path, **overrides):
    fields = {f.name: getattr(TINY, f.name) for f in dataclasses.fields(TINY)}
    fields.update(epochs=3, **overrides)
    lines = ["train:"] + [f"  {k}: {list(v) if isinstance(v, tuple) else v!r}".replace("'", '"')
                          for k, v in fields.items()]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_cli_writes_model_history_and_state(tmp_path):
    features = write_features(tmp_path / "features")
    params = _write_params(tmp_path / "params.yaml")
    out = tmp_path / "model"
    assert main(["train", "--features", str(features), "--out", str(out),
                 "--params", str(params), "-q"]) == 0
    ckpt = load_checkpoint(out / "model.pt")
    assert ckpt.classes == CLASSES and ckpt.feature_params == FEATURE_PARAMS
    assert ckpt.train_params["epochs"] == 3 and ckpt.meta["best_epoch"] >= 1
    rows = list(csv.DictReader((out / "history.csv").open()))
    assert [int(r["epoch"]) for r in rows] == [1, 2, 3]
    assert set(rows[0]) == {"epoch", "train_loss", "train_acc", "val_loss", "val_acc", "lr"}
    assert (out / "checkpoints" / "last.pt").is_file()
    # resuming a finished run trains no more and writes the same model
    before = (out / "model.pt").read_bytes()
    assert main(["train", "--features", str(features), "--out", str(out),
                 "--params", str(params), "-q", "--resume"]) == 0
    assert (out / "model.pt").read_bytes() == before


def test_cli_errors_are_one_line(tmp_path, capsys):
    params = _write_params(tmp_path / "params.yaml")
    assert main(["train", "--features", str(tmp_path / "none"), "--params", str(params),
                 "-q"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "features.json" in err[0]
    features = write_features(tmp_path / "features")
    bad = _write_params(tmp_path / "bad.yaml", lerning_rate=1)
    assert main(["train", "--features", str(features), "--params", str(bad), "-q"]) == 2
    assert "lerning_rate" in capsys.readouterr().err


def test_training_date_is_today_or_source_date_epoch():
    import datetime

    from songnet.model.train import training_date
    assert training_date({}) == datetime.datetime.now(datetime.UTC).date().isoformat()
    assert training_date({"SOURCE_DATE_EPOCH": "1767312000"}) == "2026-01-02"
    with pytest.raises(SongnetError, match="SOURCE_DATE_EPOCH='soon'"):
        training_date({"SOURCE_DATE_EPOCH": "soon"})


def test_the_unknown_evidence_threshold_is_a_quantile_of_the_validation_foreign_songs():
    from songnet.model.calibrate import fit_unknown_min_p
    from songnet.model.network import ModelConfig, ThemeCNN

    classes = ["A", "B", "unknown", "no_song"]
    torch.manual_seed(0)
    model = ThemeCNN(ModelConfig(n_bins=16, n_frames=32, n_classes=4, channels=(4, 8),
                                 embed_dim=8))
    head = model.classifier
    with torch.no_grad():  # output = softmax(bias): a known answer whatever the image
        head.weight.zero_()
        head.bias.copy_(torch.log(torch.tensor([0.1, 0.1, 0.7, 0.1])))
    images = np.random.default_rng(0).random((6, 16, 32)).astype(np.float32)
    labels = np.array([2, 2, 2, 0, 1, 3])
    split = FeatureSplit(images, labels, name="val")
    got = fit_unknown_min_p(model, split, classes=classes, params=TrainParams())
    assert got == pytest.approx(0.7, abs=1e-5)
    assert fit_unknown_min_p(model, split, classes=["A", "B", "C", "no_song"],
                             params=TrainParams()) == 0.0  # no unknown class: no rule
