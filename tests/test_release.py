"""Shipping the model: the card and the release command."""

from __future__ import annotations

import datetime as dt
import hashlib
import json

import torch

from songnet.cli import main
from songnet.core import files
from songnet.model import release
from songnet.model.checkpoint import load_checkpoint, save_checkpoint
from songnet.model.network import ModelConfig, ThemeCNN
from songnet.model.runtime import load_onnx
from tests.tiny_features import CLASSES, FEATURE_PARAMS, write_features

METRICS = {"test": {"n": 60, "accuracy": 0.9833, "macro_f1": 0.98, "ece": 0.021},
           "stress": {"n": 60, "accuracy": 0.95, "macro_f1": 0.949, "ece": 0.04},
           "model": {"path": "x"}}


def model_file(tmp_path):
    torch.manual_seed(0)
    cfg = ModelConfig(n_bins=16, n_frames=64, n_classes=3, channels=(8, 16), embed_dim=12)
    return save_checkpoint(tmp_path / "model.pt", ThemeCNN(cfg), classes=CLASSES,
                           feature_params=FEATURE_PARAMS, train_params={"seed": 4},
                           meta={"best_epoch": 7, "epochs_run": 9, "val_acc": 0.99,
                                 "trained": "2026-01-02"})


def test_card_lists_classes_features_data_metrics_and_training_date(tmp_path):
    ckpt = load_checkpoint(model_file(tmp_path))
    card = release.model_card(ckpt, metrics=METRICS, counts={"train": 150, "test": 60},
                      size_bytes=123_456)
    assert "Trained 2026-01-02" in card and dt.date.today().isoformat() not in card
    for name in CLASSES:
        assert f"`{name}`" in card
    assert "| hop_length | 128 |" in card
    assert "| train | 150 |" in card
    assert "| test | 60 | 0.9833 | 0.9800 | 0.0210 |" in card
    assert "| stress | 60 | 0.9500 |" in card
    assert "best (kept) epoch 7" in card and "0.12 MB" in card


def test_release_command_copies_model_and_writes_card(tmp_path, monkeypatch, capsys):
    model = model_file(tmp_path)
    features = write_features(tmp_path / "features", sizes={"train": 3})
    metrics = tmp_path / "evaluation.json"
    metrics.write_text(json.dumps(METRICS))
    out = tmp_path / "pkg"
    args = ["--model", str(model), "--evaluation", str(metrics), "--features", str(features),
            "-o", str(out)]
    assert main(["release", *args]) == 0
    assert (out / "default.pt").read_bytes() == model.read_bytes()
    onnx = load_onnx(out / "default.onnx")  # its export, beside it
    assert onnx.classes == CLASSES and onnx.feature_params == FEATURE_PARAMS
    assert onnx.checkpoint_sha256 == hashlib.sha256(model.read_bytes()).hexdigest()
    assert "| test | 60 | 0.9833" in (out / "MODEL_CARD.md").read_text()
    monkeypatch.setattr(release, "MAX_MODEL_BYTES", 1000)
    assert main(["release", *args, "-o", str(tmp_path / "other")]) == 2
    assert "over the" in capsys.readouterr().err
    assert not (tmp_path / "other").exists()


def test_card_without_a_recorded_training_date_says_so_and_never_uses_today(tmp_path):
    torch.manual_seed(0)
    cfg = ModelConfig(n_bins=16, n_frames=64, n_classes=3, channels=(8, 16), embed_dim=12)
    path = save_checkpoint(tmp_path / "old.pt", ThemeCNN(cfg), classes=CLASSES,
                           feature_params=FEATURE_PARAMS, train_params={}, meta={})
    card = release.model_card(load_checkpoint(path), metrics=METRICS, counts={},
                              size_bytes=1)
    assert "does not record" in card and dt.date.today().isoformat() not in card


def _summary(tmp_path, model: str):
    path = tmp_path / "soundscape.json"
    path.write_text(json.dumps({
        "benchmark": "Real-style soundscapes", "command": "benchmarks/soundscape.py",
        "date": "2026-12-07", "model": model, "notes": ["two real birds"],
        "figures": {"precision": 0.91, "real_songs_right": "40 of 44"}}))
    return path


def test_card_shows_real_results_and_marks_those_of_another_model(tmp_path):
    from songnet.model.identity import model_id

    path = model_file(tmp_path)
    features = write_features(tmp_path / "features", sizes={"train": 3})
    evaluation = tmp_path / "evaluation.json"
    evaluation.write_text(json.dumps(METRICS))
    this = model_id("default.onnx", load_checkpoint(path).meta,
                    hashlib.sha256(path.read_bytes()).hexdigest())
    for model, out, other in ((this, tmp_path / "a", False), ("old.onnx", tmp_path / "b", True)):
        assert main(["release", "--model", str(path), "--evaluation", str(evaluation),
                     "--features", str(features), "--real-results",
                     str(_summary(tmp_path, model)), "-o", str(out)]) == 0
        card = (out / "MODEL_CARD.md").read_text()
        assert "## Evaluation on real material" in card and this in card
        assert "| real_songs_right | 40 of 44 |" in card and "- two real birds" in card
        assert ("measured on **another model**" in card) is other


def test_card_states_its_thresholds_and_how_they_were_chosen(tmp_path):
    torch.manual_seed(0)
    cfg = ModelConfig(n_bins=16, n_frames=64, n_classes=3, channels=(8, 16), embed_dim=12)
    meta = {"trained": "2026-01-02", "unknown_min_p": 0.5,
            "open_set": {"thresholds": [0.4, 0.4], "metric": "cosine", "pooling": "pooled",
                         "threshold_quantile": 0.98},
            "note_check": {"threshold": 3.9, "quantile": 0.99}}
    path = save_checkpoint(tmp_path / "m.pt", ThemeCNN(cfg), classes=CLASSES,
                           feature_params=FEATURE_PARAMS, train_params={}, meta=meta)
    card = release.model_card(load_checkpoint(path), metrics=METRICS, counts={}, size_bytes=1)
    assert "| 0.4 (cosine, pooled, quantile 0.98) | " in card
    assert "| 3.9 (quantile 0.99) | " in card and "make select-openset" in card
    assert "No benchmark on real material" in card
    assert "regression check" in card and "## Intended use" in card


def test_release_refuses_a_file_that_is_no_benchmark_summary(tmp_path, capsys):
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"benchmark": "x"}))
    evaluation = tmp_path / "evaluation.json"
    evaluation.write_text(json.dumps(METRICS))
    features = write_features(tmp_path / "features", sizes={"train": 3})
    assert main(["release", "--model", str(model_file(tmp_path)), "--evaluation",
                 str(evaluation), "--features", str(features), "--real-results", str(bad),
                 "-o", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert "bad.json: not a benchmark summary" in err and "--summary" in err
    assert not (tmp_path / "out").exists()


def test_release_refuses_an_oversized_or_garbled_evaluation_in_one_line(tmp_path, capsys,
                                                                       monkeypatch):
    features = write_features(tmp_path / "features", sizes={"train": 3})
    evaluation = tmp_path / "evaluation.json"
    evaluation.write_text("{not json")
    args = ["release", "--model", str(model_file(tmp_path)), "--evaluation", str(evaluation),
            "--features", str(features), "-o", str(tmp_path / "out")]
    assert main(args) == 2
    err = capsys.readouterr().err.strip()
    assert "evaluation.json: cannot read an evaluation JSON" in err and len(err.splitlines()) == 1
    evaluation.write_text(json.dumps(METRICS))
    monkeypatch.setattr(files, "MAX_JSON_BYTES", 10)
    assert main(args) == 2
    assert "too large for an evaluation JSON" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()
