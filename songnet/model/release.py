"""The default model shipped with the package, and its model card.

:func:`model_card` renders the card (classes, feature parameters, data, metrics, date)
from a checkpoint, the evaluation metrics and the features stage's summary; the
``release`` pipeline stage writes it beside ``songnet/models/default.pt``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from songnet.model.checkpoint import Checkpoint

__all__ = ["MAX_MODEL_BYTES", "model_card"]

MAX_MODEL_BYTES = 5_000_000


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, (list, tuple)):
        return ", ".join(_fmt(v) for v in value)
    return str(value)


def model_card(ckpt: Checkpoint, *, metrics: Mapping[str, Any], counts: Mapping[str, Any],
               size_bytes: int, date: dt.date) -> str:
    """The model card as Markdown.

    Parameters
    ----------
    ckpt : Checkpoint
    metrics : mapping
        ``experiments/metrics.json``: split name -> {accuracy, macro_f1, ece, n, per_class}.
    counts : mapping
        Images per split (features.json ``counts``).
    size_bytes : int
        Size of the shipped checkpoint file.
    date : datetime.date
        Release date.
    """
    n_params = sum(p.numel() for p in ckpt.model.parameters())
    cfg = ckpt.config
    lines = [
        "# songnet default model: theme CNN",
        "",
        f"Released {date.isoformat()} by the `release` stage of `dvc repro`; regenerated "
        "with the model, do not edit by hand.",
        "",
        "## What it does",
        "",
        f"Classifies a {cfg.n_frames}-frame Constant-Q image ({cfg.n_bins} bins) of a "
        "recording window into one of the themes below, or `no_song`. "
        "`songnet classify` uses it unless `--model` is given.",
        "",
        "## Classes",
        "",
        *[f"{k}. `{name}`" for k, name in enumerate(ckpt.classes)],
        "",
        "## Network",
        "",
        f"- ThemeCNN: channels {_fmt(cfg.channels)}, embedding {cfg.embed_dim}, "
        f"dropout {cfg.dropout}; {n_params:,} parameters, file {size_bytes / 1e6:.2f} MB",
        f"- trained {ckpt.meta.get('epochs_run', '?')} epochs, best (kept) epoch "
        f"{ckpt.meta.get('best_epoch', '?')}, validation accuracy "
        f"{_fmt(ckpt.meta.get('val_acc', '?'))}",
        "",
        "## Feature parameters",
        "",
        "| parameter | value |",
        "|---|---|",
        *[f"| {k} | {_fmt(v)} |" for k, v in ckpt.feature_params.items()],
        "",
        "## Data",
        "",
        "Surrogate songs synthesized by the syrinx model from the default (illustrative) theme "
        "catalog; splits by bird, so test birds were never seen in training. The stress split "
        "has its own birds under harder conditions (low SNR, tempo and pitch extremes, "
        "clutter).",
        "",
        "| split | images |",
        "|---|---|",
        *[f"| {k} | {v} |" for k, v in counts.items()],
        "",
        "## Metrics",
        "",
        "| split | n | accuracy | macro-F1 | ECE |",
        "|---|---|---|---|---|",
    ]
    for name, m in metrics.items():
        if isinstance(m, Mapping) and "accuracy" in m:
            lines.append(f"| {name} | {m.get('n', '?')} | {m['accuracy']:.4f} | "
                         f"{m['macro_f1']:.4f} | {m['ece']:.4f} |")
    lines += ["", "## Training parameters", "", "| parameter | value |", "|---|---|",
              *[f"| {k} | {_fmt(v)} |" for k, v in ckpt.train_params.items()], "",
              "## Limits", "",
              "Trained only on model-made songs: check it on labelled field recordings of your "
              "population before trusting its themes, and retrain on your own catalog "
              "(see the README, 'Bringing your own data').", ""]
    return "\n".join(lines)
