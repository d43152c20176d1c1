"""Evaluation: known-answer metrics, calibration, and the evaluate command."""

from __future__ import annotations

import csv
import dataclasses
import json

import numpy as np
import pytest
from sklearn.metrics import f1_score

from songnet.cli import main
from songnet.core.errors import SongnetError
from songnet.features.featureset import FeatureSplit
from songnet.model.checkpoint import save_checkpoint
from songnet.model.evaluate import (
    EvaluateParams,
    confusion_matrix,
    expected_calibration_error,
    reliability,
    score,
    wilson_interval,
)
from songnet.model.train import train_model
from songnet.model.train_params import TrainParams
from tests.tiny_features import CLASSES, FEATURE_PARAMS, make_split, write_features


def onehot(pred, n, conf=0.9):
    p = np.full((len(pred), n), (1 - conf) / (n - 1))
    p[np.arange(len(pred)), pred] = conf
    return p


def test_confusion_matrix_counts():
    cm = confusion_matrix(np.array([0, 0, 1, 2, 2, 2]), np.array([0, 1, 1, 2, 2, 0]),
                          n_classes=3)
    assert cm.tolist() == [[1, 1, 0], [0, 1, 0], [1, 0, 2]]


def test_score_known_answer():
    y = np.array([0, 0, 1, 1])
    m = score(y, onehot(np.array([0, 1, 1, 1]), 2), classes=["a", "b"])
    assert m["accuracy"] == 0.75
    assert m["per_class"]["a"] == pytest.approx(
        {"precision": 1.0, "recall": 0.5, "f1": 2 / 3, "support": 2})
    assert m["per_class"]["b"]["precision"] == pytest.approx(2 / 3)
    assert m["macro_f1"] == pytest.approx((2 / 3 + 0.8) / 2)
    assert m["confusion"] == [[1, 1], [0, 2]]


def test_macro_f1_matches_sklearn_on_random_predictions():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 5, 300)
    pred = np.where(rng.random(300) < 0.6, y, rng.integers(0, 5, 300))
    m = score(y, onehot(pred, 5), classes=list("abcde"))
    assert m["macro_f1"] == pytest.approx(f1_score(y, pred, average="macro"))
    assert m["accuracy"] == pytest.approx((y == pred).mean())


def test_calibration_known_answers():
    y = np.zeros(10, dtype=int)
    pred = np.array([0] * 8 + [1] * 2)
    assert expected_calibration_error(onehot(pred, 2, conf=0.8), y) == pytest.approx(0.0)
    over = onehot(np.array([0] * 5 + [1] * 5), 2, conf=0.99)
    assert expected_calibration_error(over, y) == pytest.approx(0.49)
    rel = reliability(over, y, n_bins=10)
    assert rel["count"].sum() == 10 and rel["count"][9] == 10
    assert rel["accuracy"][9] == pytest.approx(0.5)


def test_bad_shapes_are_refused():
    with pytest.raises(SongnetError, match="do not match"):
        score(np.zeros(3, dtype=int), np.ones((4, 2)) / 2, classes=["a", "b"])
    with pytest.raises(SongnetError, match="outside"):
        score(np.array([0, 5]), np.ones((2, 2)) / 2, classes=["a", "b"])
    with pytest.raises(ValueError, match="splits"):
        EvaluateParams(splits=())


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    root = tmp_path_factory.mktemp("eval")
    features = write_features(root / "features")
    params = TrainParams(seed=1, epochs=8, batch_size=25, lr=1e-2, channels=(8, 16),
                         embed_dim=16, shift_frames=8, pitch_bins=1, stretch=0.05, freq_mask=2,
                         time_mask=8, device="cpu")
    result = train_model(FeatureSplit(*make_split(100, 150)), FeatureSplit(*make_split(101, 60)),
                         classes=CLASSES, feature_params=FEATURE_PARAMS, params=params)
    model = save_checkpoint(root / "model.pt", result.model, classes=CLASSES,
                            feature_params=FEATURE_PARAMS,
                            train_params=dataclasses.asdict(params), meta={"best_epoch": 8})
    (root / "params.yaml").write_text(
        "evaluate:\n  splits: [test, stress]\n  batch_size: 32\n  ece_bins: 10\n"
        "  device: cpu\n", encoding="utf-8")
    return root, features, model


def test_evaluate_command_writes_metrics_and_plots(trained):
    root, features, model = trained
    out = root / "exp"
    assert main(["evaluate", "--model", str(model), "--features", str(features),
                 "-o", str(out),
                 "--params", str(root / "params.yaml"), "-q"]) == 0
    metrics = json.loads((out / "evaluation.json").read_text())
    assert metrics["test"]["accuracy"] >= 0.9  # chance is 1/3
    assert 0 <= metrics["test"]["ece"] <= 1 and 0 < metrics["test"]["macro_f1"] <= 1
    assert 0 <= metrics["stress"]["accuracy"] <= 1
    assert set(metrics["test"]["per_class"]) == set(CLASSES)
    # metrics.json holds the headline alone: what `dvc metrics show` prints
    headline = json.loads((out / "metrics.json").read_text())
    assert set(headline) == {"test", "stress", "thr"}
    for split in ("test", "stress"):
        assert headline[split]["acc"] == round(metrics[split]["accuracy"], 4)
        assert headline[split]["macro_f1"] == round(metrics[split]["macro_f1"], 4)
    assert headline["test"]["ece"] == round(metrics["test"]["ece"], 4)
    per_class = list(csv.DictReader((out / "per_class.csv").open()))
    assert len(per_class) == 2 * len(CLASSES)
    row = next(r for r in per_class if r["split"] == "test" and r["class"] == CLASSES[0])
    assert float(row["recall"]) == pytest.approx(metrics["test"]["per_class"][CLASSES[0]]["recall"],
                                                 abs=1e-4)
    rows = list(csv.DictReader((out / "confusion_test.csv").open()))
    assert len(rows) == 60 and set(rows[0]) == {"actual", "predicted"}
    hits = np.mean([r["actual"] == r["predicted"] for r in rows])
    assert hits == pytest.approx(metrics["test"]["accuracy"])
    for name in ("confusion_test.png", "confusion_stress.png", "reliability.png"):
        assert (out / name).read_bytes()[:4] == b"\x89PNG"


def test_evaluate_refuses_other_classes(trained, capsys):
    root, features, model = trained
    meta = json.loads((features / "features.json").read_text())
    other = root / "other"
    other.mkdir()
    for f in features.iterdir():
        (other / f.name).write_bytes(f.read_bytes())
    meta["classes"] = ["x", "y", "no_song"]
    (other / "features.json").write_text(json.dumps(meta))
    assert main(["evaluate", "--model", str(model), "--features", str(other),
                 "-o", str(root / "p"), "--params", str(root / "params.yaml"), "-q"]) == 2
    err = capsys.readouterr().err
    assert "retrain" in err and not (root / "p").exists()


def test_thresholds_in_use_reads_what_the_model_records():
    from songnet.model.evaluate import headline, thresholds_in_use

    model = {"open_set": {"thresholds": [0.2, 0.4, 0.9]}, "unknown_min_p": 0.61234567,
             "note_check": {"threshold": 3.9}}
    assert thresholds_in_use(model) == {"open_set": 0.4, "unknown_p": 0.6123, "notes": 3.9}
    assert thresholds_in_use({"open_set": None}) == {}
    detail = {"test": {"n": 3, "accuracy": 2 / 3, "macro_f1": 0.5, "ece": 0.1,
                       "per_class": {}}, "model": model}
    assert headline(detail) == {"test": {"acc": 0.6667, "macro_f1": 0.5, "ece": 0.1},
                                "thr": thresholds_in_use(model)}


def test_wilson_interval_known_values_and_edges():
    lo, hi = wilson_interval(0.5, 100)
    assert (lo, hi) == pytest.approx((0.4038, 0.5962), abs=1e-4)
    lo, hi = wilson_interval(1.0, 70)  # all right: the interval still reaches below 1
    assert hi == pytest.approx(1.0) and lo == pytest.approx(0.9480, abs=1e-4)
    assert wilson_interval(0.3, 0) == (0.0, 1.0)
