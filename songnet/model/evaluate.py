"""Scoring a model on held-out splits: accuracy, macro-F1, per-class figures, calibration.

:func:`score` turns class probabilities and true labels into a metrics dict;
:func:`evaluate_splits` runs a checkpoint over several splits (``test``: birds never seen
in training; ``stress``: low SNR, tempo and pitch extremes, clutter). The figures
(confusion matrix, reliability diagram) are matplotlib figures; :func:`save_evaluation`
writes the stage's files: ``metrics.json`` (the headline figures :func:`headline` picks,
what ``dvc metrics show`` prints), ``evaluation.json`` (every figure, per class, and what
the model records of itself: its open set and note check), ``per_class.csv``,
``confusion_{split}.csv``/``.png`` and ``reliability.png``.
"""

from __future__ import annotations

import csv
import dataclasses
import io
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from songnet.core.errors import SongnetError
from songnet.core.files import atomic_path, write_json, write_text
from songnet.model.checkpoint import Checkpoint, predict_proba

__all__ = ["EVALUATION_JSON", "METRICS_JSON", "PER_CLASS_CSV", "EvaluateParams",
           "confusion_matrix", "evaluate_splits", "expected_calibration_error", "headline",
           "plot_confusion", "plot_reliability", "reliability", "save_evaluation", "score",
           "wilson_interval"]

METRICS_JSON = "metrics.json"
"""The headline figures (:func:`headline`): a few per split and the thresholds in use."""
EVALUATION_JSON = "evaluation.json"
"""Every figure of the evaluation (per split: n, accuracy, macro_f1, ece, per_class; plus
``model``, what the checkpoint records of itself); the model card is written from it."""
PER_CLASS_CSV = "per_class.csv"
"""split, class, precision, recall, f1, support: one row per class of each split."""


@dataclasses.dataclass(frozen=True)
class EvaluateParams:
    """The ``evaluate`` section of params.yaml.

    Parameters
    ----------
    splits : tuple of str
        Splits to score (each ``{split}.npy`` in the features folder).
    batch_size : int
        Images per forward pass.
    ece_bins : int
        Equal-width confidence bins for the expected calibration error.
    device : str
        ``auto`` (CUDA when present), ``cpu`` or ``cuda``.
    """

    splits: tuple[str, ...] = ("test", "stress")
    batch_size: int = 128
    ece_bins: int = 15
    device: str = "auto"

    def __post_init__(self) -> None:
        if not self.splits:
            raise ValueError("splits must name at least one split")
        if self.batch_size < 1 or self.ece_bins < 1:
            raise ValueError(f"batch_size={self.batch_size} and ece_bins={self.ece_bins} "
                             "must be >= 1")


def wilson_interval(share: float, n: int, z: float = 1.96) -> tuple[float, float]:
    """Wilson's score interval (95 % with the default ``z``) of a proportion ``share``
    measured on ``n`` items; ``(0, 1)`` for ``n = 0``."""
    if n <= 0:
        return 0.0, 1.0
    centre = (share + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * np.sqrt(share * (1 - share) / n + z * z / (4 * n * n))
    return float(max(centre - half, 0.0)), float(min(centre + half, 1.0))


def _check(y_true: np.ndarray, proba: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    y_true = np.asarray(y_true)
    proba = np.asarray(proba, dtype=np.float64)
    if proba.ndim != 2 or y_true.shape != (proba.shape[0],):
        raise SongnetError(f"labels {y_true.shape} and probabilities {proba.shape} do not "
                           "match: expected (N,) and (N, n_classes)")
    if len(y_true) and (y_true.min() < 0 or y_true.max() >= proba.shape[1]):
        raise SongnetError(f"a label lies outside the {proba.shape[1]} classes")
    return y_true.astype(np.int64), proba


def confusion_matrix(y_true: np.ndarray, y_pred: np.ndarray, *, n_classes: int) -> np.ndarray:
    """Counts ``(n_classes, n_classes)`` int64: row = actual class, column = predicted."""
    cm = np.zeros((n_classes, n_classes), dtype=np.int64)
    np.add.at(cm, (np.asarray(y_true, dtype=np.int64), np.asarray(y_pred, dtype=np.int64)), 1)
    return cm


def reliability(proba: np.ndarray, y_true: np.ndarray, *, n_bins: int = 15) -> dict:
    """Per-bin mean confidence, accuracy and count of the top-class prediction.

    Parameters
    ----------
    proba : np.ndarray [shape=(N, n_classes)]
    y_true : np.ndarray [shape=(N,)]
    n_bins : int
        Equal-width bins over confidence (0, 1].

    Returns
    -------
    dict of np.ndarray [shape=(n_bins,)]
        ``confidence``, ``accuracy`` (NaN for empty bins), ``count``, and ``edges``
        [shape=(n_bins + 1,)].
    """
    y_true, proba = _check(y_true, proba)
    conf = proba.max(axis=1)
    correct = (proba.argmax(axis=1) == y_true).astype(np.float64)
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    which = np.clip(np.searchsorted(edges, conf, side="left") - 1, 0, n_bins - 1)
    count = np.bincount(which, minlength=n_bins)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_conf = np.bincount(which, weights=conf, minlength=n_bins) / count
        acc = np.bincount(which, weights=correct, minlength=n_bins) / count
    return {"confidence": mean_conf, "accuracy": acc, "count": count, "edges": edges}


def expected_calibration_error(proba: np.ndarray, y_true: np.ndarray, *,
                               n_bins: int = 15) -> float:
    """ECE: the count-weighted mean of ``|accuracy - confidence|`` over confidence bins."""
    rel = reliability(proba, y_true, n_bins=n_bins)
    n = rel["count"].sum()
    if n == 0:
        return 0.0
    used = rel["count"] > 0
    gap = np.abs(rel["accuracy"][used] - rel["confidence"][used])
    return float((gap * rel["count"][used]).sum() / n)


def score(y_true: np.ndarray, proba: np.ndarray, *, classes: list[str],
          ece_bins: int = 15) -> dict:
    """Metrics of one split.

    Parameters
    ----------
    y_true : np.ndarray [shape=(N,)], int
    proba : np.ndarray [shape=(N, n_classes)]
        Class probabilities, columns following ``classes``.
    classes : list of str
    ece_bins : int

    Returns
    -------
    dict
        ``n``, ``accuracy``, ``macro_f1`` (over classes that occur or are predicted),
        ``ece``, ``per_class`` {name: precision, recall, f1, support} and ``confusion``
        (nested lists, rows actual).
    """
    y_true, proba = _check(y_true, proba)
    if proba.shape[1] != len(classes):
        raise SongnetError(f"{proba.shape[1]} probability columns for {len(classes)} classes")
    y_pred = proba.argmax(axis=1)
    cm = confusion_matrix(y_true, y_pred, n_classes=len(classes))
    tp = np.diag(cm).astype(np.float64)
    support = cm.sum(axis=1)
    predicted = cm.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        precision = np.where(predicted > 0, tp / predicted, 0.0)
        recall = np.where(support > 0, tp / support, 0.0)
        f1 = np.where(precision + recall > 0,
                      2 * precision * recall / (precision + recall), 0.0)
    active = (support > 0) | (predicted > 0)
    per_class = {name: {"precision": float(precision[k]), "recall": float(recall[k]),
                        "f1": float(f1[k]), "support": int(support[k])}
                 for k, name in enumerate(classes)}
    return {
        "n": len(y_true),
        "accuracy": float((y_pred == y_true).mean()) if len(y_true) else 0.0,
        "macro_f1": float(f1[active].mean()) if active.any() else 0.0,
        "ece": expected_calibration_error(proba, y_true, n_bins=ece_bins),
        "per_class": per_class,
        "confusion": cm.tolist(),
    }


def evaluate_splits(ckpt: Checkpoint, splits: Mapping[str, tuple[np.ndarray, np.ndarray]], *,
                    params: EvaluateParams = EvaluateParams()) -> tuple[dict, dict]:
    """Score a checkpoint on several splits.

    Parameters
    ----------
    ckpt : Checkpoint
    splits : mapping
        Split name -> (images [shape=(N, n_bins, n_frames)], labels [shape=(N,)]).
    params : EvaluateParams

    Returns
    -------
    metrics : dict
        Split name -> :func:`score` dict.
    probabilities : dict
        Split name -> np.ndarray [shape=(N, n_classes)].
    """
    metrics, probabilities = {}, {}
    for name, (images, labels) in splits.items():
        proba = predict_proba(ckpt, images, batch_size=params.batch_size)
        metrics[name] = score(labels, proba, classes=ckpt.classes, ece_bins=params.ece_bins)
        probabilities[name] = proba
    return metrics, probabilities


def plot_confusion(confusion: np.ndarray, *, classes: list[str], title: str):
    """Row-normalised confusion matrix with counts; returns a matplotlib Figure."""
    from matplotlib.figure import Figure
    cm = np.asarray(confusion)
    rows = cm.sum(axis=1, keepdims=True)
    frac = np.divide(cm, rows, out=np.zeros(cm.shape), where=rows > 0)
    size = 2.5 + 0.45 * len(classes)
    fig = Figure(figsize=(size + 1, size), layout="constrained")
    ax = fig.add_subplot()
    im = ax.imshow(frac, cmap="Blues", vmin=0, vmax=1)
    for (i, j), n in np.ndenumerate(cm):
        if n:
            ax.text(j, i, str(n), ha="center", va="center", fontsize=7,
                    color="white" if frac[i, j] > 0.5 else "black")
    ax.set_xticks(range(len(classes)), classes, rotation=60, ha="right", fontsize=8)
    ax.set_yticks(range(len(classes)), classes, fontsize=8)
    ax.set_xlabel("predicted")
    ax.set_ylabel("actual")
    ax.set_title(title)
    fig.colorbar(im, ax=ax, label="fraction of actual class")
    return fig


def plot_reliability(rels: Mapping[str, dict], *, title: str = "reliability"):
    """Reliability diagram (accuracy against confidence) of one or more splits."""
    from matplotlib.figure import Figure
    fig = Figure(figsize=(4.5, 4.5), layout="constrained")
    ax = fig.add_subplot()
    ax.plot([0, 1], [0, 1], color="0.6", linestyle="--", label="perfect calibration")
    for name, rel in rels.items():
        used = rel["count"] > 0
        ax.plot(rel["confidence"][used], rel["accuracy"][used], marker="o", label=name)
    ax.set_xlabel("confidence (top-class probability)")
    ax.set_ylabel("accuracy")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.02)
    ax.set_title(title)
    ax.legend(loc="upper left")
    return fig



def thresholds_in_use(model: Mapping[str, Any]) -> dict[str, float]:
    """The thresholds a model decides with, from what its checkpoint records.

    ``open_set``: the open set's distance threshold (the median over themes when each
    theme has its own); ``unknown_p``: the least p(unknown) for the network's own
    ``unknown``; ``notes``: the note check's distance threshold. A model without one of
    them leaves its key out.
    """
    out = {}
    thresholds = (model.get("open_set") or {}).get("thresholds")
    if thresholds:
        out["open_set"] = round(float(np.median(thresholds)), 4)
    if model.get("unknown_min_p") is not None:
        out["unknown_p"] = round(float(model["unknown_min_p"]), 4)
    note = model.get("note_check") or {}
    if note.get("threshold") is not None:
        out["notes"] = round(float(note["threshold"]), 4)
    return out


def headline(evaluation: Mapping[str, Any]) -> dict[str, Any]:
    """``metrics.json``: per split its accuracy (``acc``) and macro-F1, the test split's
    expected calibration error, and the thresholds in use (``thr``,
    :func:`thresholds_in_use`), 4 decimals, under short names so that ``dvc metrics show``
    prints a table of normal width and ``dvc metrics diff`` reads at a glance."""
    out: dict[str, Any] = {
        name: {"acc": round(float(m["accuracy"]), 4),
               "macro_f1": round(float(m["macro_f1"]), 4)}
        for name, m in evaluation.items() if name != "model"}
    if "test" in out:
        out["test"]["ece"] = round(float(evaluation["test"]["ece"]), 4)
    out["thr"] = thresholds_in_use(evaluation.get("model", {}))
    return out


def per_class_csv(evaluation: Mapping[str, Any]) -> str:
    """:data:`PER_CLASS_CSV`'s text: one row per class of each split."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(["split", "class", "precision", "recall", "f1", "support"])
    for name, m in evaluation.items():
        if name == "model":
            continue
        for cls, row in m["per_class"].items():
            writer.writerow([name, cls, *(f"{float(row[k]):.4f}" for k in
                                          ("precision", "recall", "f1")), int(row["support"])])
    return buf.getvalue()


def save_evaluation(folder: Path, *, metrics: Mapping[str, dict], proba: Mapping[str, np.ndarray],
                    labels: Mapping[str, np.ndarray], classes: list[str],
                    model: Mapping[str, Any], ece_bins: int) -> Path:
    """Write the evaluate stage's files into ``folder`` (each atomically).

    Parameters
    ----------
    folder : Path
        Receives ``metrics.json`` (:func:`headline`), ``evaluation.json`` (per split: n,
        accuracy, macro_f1, ece, per_class; plus ``model``), ``per_class.csv``,
        ``confusion_{split}.csv`` (actual, predicted) and ``.png``, and ``reliability.png``.
    metrics, proba, labels : mapping of split name -> ...
        From :func:`evaluate_splits` and the splits' true labels.
    classes : list of str
    model : mapping
        What ``evaluation.json`` records about the model (path, training metadata).
    ece_bins : int
        Confidence bins of the reliability diagram.

    Returns
    -------
    Path
        ``folder/metrics.json``.
    """
    out: dict[str, Any] = {name: {k: v for k, v in m.items() if k != "confusion"}
                           for name, m in metrics.items()}
    out["model"] = dict(model)
    for name, truth in labels.items():
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\n")
        writer.writerow(["actual", "predicted"])
        for actual, predicted in zip(truth, proba[name].argmax(axis=1), strict=True):
            writer.writerow([classes[int(actual)], classes[int(predicted)]])
        write_text(folder / f"confusion_{name}.csv", buf.getvalue())
        acc = metrics[name]["accuracy"]
        fig = plot_confusion(metrics[name]["confusion"], classes=classes,
                             title=f"{name}: accuracy {acc:.3f} (n={metrics[name]['n']})")
        with atomic_path(folder / f"confusion_{name}.png") as tmp:
            fig.savefig(tmp, dpi=120)
    rels = {name: reliability(proba[name], truth, n_bins=ece_bins)
            for name, truth in labels.items()}
    with atomic_path(folder / "reliability.png") as tmp:
        plot_reliability(rels).savefig(tmp, dpi=120)
    write_json(folder / EVALUATION_JSON, out)
    write_text(folder / PER_CLASS_CSV, per_class_csv(out))
    write_json(folder / METRICS_JSON, headline(out))
    return folder / METRICS_JSON
