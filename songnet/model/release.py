"""The default model shipped with the package, and its model card.

:func:`model_card` renders the card (classes, feature parameters, data, metrics, training
date) from a checkpoint, the evaluation metrics and the features stage's summary;
:func:`release_model` writes it beside the shipped copy of the checkpoint and its ONNX
export (``default.onnx``, what ``songnet classify`` runs by default). The card holds
nothing but what the checkpoint and the metrics say, so the same model gives the same card
on any day.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from songnet.core.errors import SongnetError
from songnet.core.files import atomic_path, write_text
from songnet.model.checkpoint import Checkpoint
from songnet.model.export import export_onnx, onnx_metadata

__all__ = ["MAX_MODEL_BYTES", "model_card", "release_model"]

MAX_MODEL_BYTES = 5_000_000


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, (list, tuple)):
        return ", ".join(_fmt(v) for v in value)
    return str(value)


def model_card(ckpt: Checkpoint, *, metrics: Mapping[str, Any], counts: Mapping[str, Any],
               size_bytes: int) -> str:
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
    """
    n_params = sum(p.numel() for p in ckpt.model.parameters())
    cfg = ckpt.config
    lines = [
        "# songnet default model: theme CNN",
        "",
        f"Trained {ckpt.meta.get('trained', 'on a date the checkpoint does not record')}; "
        "shipped by the `release` stage of `dvc repro`, which regenerates this card with the "
        "model: do not edit it by hand.",
        "",
        "## What it does",
        "",
        f"Classifies a {cfg.n_frames}-frame Constant-Q image ({cfg.n_bins} bins) of a "
        "recording window into one of the themes below, or `no_song`. "
        "`songnet classify` uses it unless `--model` is given: `default.onnx` (ONNX "
        "Runtime, the base install) is the export of `default.pt` (torch).",
        "",
        "## Classes",
        "",
        *[f"{k}. `{name}`" for k, name in enumerate(ckpt.classes)],
        "",
        "## Network",
        "",
        f"- {type(ckpt.model).__name__}: channels {_fmt(cfg.channels)}, embedding {cfg.embed_dim}, "
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


def release_model(model_path: Path, out_dir: Path, *, ckpt: Checkpoint,
                  metrics: Mapping[str, Any], counts: Mapping[str, Any]) -> Path:
    """Copy a checkpoint to ``out_dir/default.pt``, export it to ``out_dir/default.onnx``
    (:func:`songnet.model.export.export_onnx`) and write ``MODEL_CARD.md`` beside them.

    Raises
    ------
    SongnetError
        For a checkpoint over :data:`MAX_MODEL_BYTES` (too big to ship in the package).
    """
    data = Path(model_path).read_bytes()
    if len(data) > MAX_MODEL_BYTES:
        raise SongnetError(f"{model_path} is {len(data) / 1e6:.1f} MB, over the "
                           f"{MAX_MODEL_BYTES / 1e6:.0f} MB limit of the shipped model; "
                           "use fewer channels (train.channels)")
    card = model_card(ckpt, metrics=metrics, counts=counts, size_bytes=len(data))
    with atomic_path(out_dir / "default.pt") as tmp:
        tmp.write_bytes(data)
    digest = hashlib.sha256(data).hexdigest()
    export_onnx(ckpt, out_dir / "default.onnx",
                metadata=onnx_metadata(ckpt, checkpoint_sha256=digest))
    write_text(out_dir / "MODEL_CARD.md", card)
    return out_dir / "default.pt"
