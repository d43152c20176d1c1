"""The default model shipped with the package, and its model card.

:func:`model_card` renders the card (intended use, classes, data, evaluation on model-made
songs and on real material, the thresholds and how they were chosen, parameters, limits)
from a checkpoint, the evaluation, the features stage's summary and the summaries that
benchmarks on real material write (:func:`read_real_results`);
:func:`release_model` writes it beside the shipped copy of the checkpoint and its ONNX
export (``default.onnx``, what ``songnet classify`` runs by default). The card holds
nothing but what the checkpoint and the metrics say, so the same model gives the same card
on any day.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from songnet.core.errors import SongnetError
from songnet.core.files import atomic_path, read_json_file, write_text
from songnet.model.checkpoint import Checkpoint
from songnet.model.export import export_onnx, onnx_metadata
from songnet.model.identity import model_id

__all__ = ["MAX_MODEL_BYTES", "model_card", "read_real_results", "release_model"]

MAX_MODEL_BYTES = 5_000_000


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, (list, tuple)):
        return ", ".join(_fmt(v) for v in value)
    return str(value)


def model_card(ckpt: Checkpoint, *, metrics: Mapping[str, Any], counts: Mapping[str, Any],
               size_bytes: int, model_name: str = "",
               real: Sequence[Mapping[str, Any]] = ()) -> str:
    """The model card as Markdown: intended use, classes, network, training data,
    evaluation on model-made songs and on real material, thresholds and how they were
    chosen, parameters, limits.

    Parameters
    ----------
    ckpt : Checkpoint
    metrics : mapping
        ``experiments/evaluation.json`` (:data:`songnet.model.evaluate.EVALUATION_JSON`):
        split name -> {n, accuracy, macro_f1, ece, per_class}, and ``model``.
    counts : mapping
        Images per split (features.json ``counts``).
    size_bytes : int
        Size of the shipped checkpoint file.
    model_name : str
        The shipped model's id (:func:`songnet.model.identity.model_id`), which a real
        result must name to count as this model's.
    real : sequence of mapping
        Benchmark summaries on real material (:func:`read_real_results`), each with
        ``benchmark``, ``command``, ``date``, ``model``, ``figures`` and ``notes``.
    """
    cfg = ckpt.config
    n_params = sum(p.numel() for p in ckpt.model.parameters())
    lines = [
        "# songnet default model: theme CNN", "",
        f"Trained {ckpt.meta.get('trained', 'on a date the checkpoint does not record')}"
        + (f"; `songnet classify` names it {model_name}" if model_name else "")
        + "; shipped by the `release` stage of `dvc repro`, which regenerates this card with "
        "the model from the run: do not edit it by hand.", "",
        "## Intended use", "",
        "Naming the song themes of rufous-collared sparrows (*Zonotrichia capensis*) in "
        "field recordings with `songnet classify` (`default.onnx`, ONNX Runtime, the base "
        "install; `default.pt` is the same network for torch), with a person checking the "
        "events (`songnet review`, `songnet explain`). The themes are those of the default "
        "catalog, which is illustrative: for a study, learn your population's catalog from "
        "your own recordings and retrain (`dvc repro` with your `data/2020/`). Not for: "
        "naming other species; themes outside the catalog (at best `unknown`); counting "
        "birds.", "",
        "## Classes", "",
        *[f"{k}. `{name}`" for k, name in enumerate(ckpt.classes)], "",
        "## Network", "",
        f"Classifies a {cfg.n_frames}-frame Constant-Q image ({cfg.n_bins} bins) of a "
        "recording window.", "",
        f"- {type(ckpt.model).__name__}: channels {_fmt(cfg.channels)}, embedding "
        f"{cfg.embed_dim}, dropout {cfg.dropout}; {n_params:,} parameters, file "
        f"{size_bytes / 1e6:.2f} MB",
        f"- trained {ckpt.meta.get('epochs_run', '?')} epochs, best (kept) epoch "
        f"{ckpt.meta.get('best_epoch', '?')}, validation accuracy "
        f"{_fmt(ckpt.meta.get('val_acc', '?'))}", "",
        *_data_section(counts),
        *_surrogate_section(metrics),
        *_real_section(real, model_name),
        *_thresholds_section(ckpt.meta),
        "## Feature parameters", "", "| parameter | value |", "|---|---|",
        *[f"| {k} | {_fmt(v)} |" for k, v in ckpt.feature_params.items()], "",
        "## Training parameters", "", "| parameter | value |", "|---|---|",
        *[f"| {k} | {_fmt(v)} |" for k, v in ckpt.train_params.items()], "",
        "## Limits", "",
        "- Trained on model-made songs (and, with real songs in `data/2020/`, on those): "
        "the figures on model-made songs above are a regression check, not evidence that it "
        "names real birds' themes. Check it on labelled field recordings of your population "
        "before trusting its themes.",
        "- Its thresholds were chosen on model-made and assembled scenes (above), not on "
        "your recordings; `--sensitivity`, `--min-song-score` and `--min-confidence` of "
        "`songnet classify` move the trade-off.",
        "- One species, one region's dialect: songs of other dialects may be `unknown` or "
        "named the nearest theme.", "",
    ]
    return "\n".join(lines)


def _data_section(counts: Mapping[str, Any]) -> list[str]:
    return ["## Training data", "",
            "Surrogate songs synthesized by the syrinx model from the theme catalog (each "
            "split its own birds, so test birds were never seen in training), in model-made "
            "and recorded backgrounds; the stress split has its own birds under harder "
            "conditions (low SNR, tempo and pitch extremes, clutter).", "",
            "| split | images |", "|---|---|",
            *[f"| {k} | {v} |" for k, v in counts.items()], ""]


def _surrogate_section(metrics: Mapping[str, Any]) -> list[str]:
    lines = ["## Evaluation on model-made songs", "",
             "Measured by the `evaluate` stage on held-out surrogate birds: a regression "
             "check of the pipeline, **not** evidence that the network names real birds.", "",
             "| split | n | accuracy | macro-F1 | ECE |", "|---|---|---|---|---|"]
    for name, m in metrics.items():
        if isinstance(m, Mapping) and "accuracy" in m:
            lines.append(f"| {name} | {m.get('n', '?')} | {m['accuracy']:.4f} | "
                         f"{m['macro_f1']:.4f} | {m['ece']:.4f} |")
    return [*lines, ""]


def _real_section(real: Sequence[Mapping[str, Any]], model_name: str) -> list[str]:
    lines = ["## Evaluation on real material", ""]
    if not real:
        return [*lines, "No benchmark on real material was given to this release "
                "(`songnet release --real-results`); run `make figures` "
                "(`benchmarks/soundscape.py`) and release again.", ""]
    for r in real:
        same = r.get("model") == model_name
        lines += [f"**{r['benchmark']}** (`{r['command']}`, run {r['date']}"
                  + ("" if same else f"; measured on **another model**, {r.get('model')}: "
                     "rerun the command for this one") + ")", "",
                  *[f"- {note}" for note in r.get("notes", ())], "",
                  "| figure | value |", "|---|---|",
                  *[f"| {k} | {_fmt(v)} |" for k, v in r["figures"].items()], ""]
    return lines


_CHOSEN_BY = {
    "open_set": "metric, pooling and quantile chosen by `make select-openset` "
                "(`experiments/selection/openset_rules.py`) on dev scenes of seeds of its own "
                "(model-made songs, songs assembled from real notes, foreign themes), never "
                "on the benchmarks' scenes; the distance fitted by `train` as that quantile of "
                "the validation birds' song-to-own-theme distances",
    "unknown_min_p": "fitted by `train`: the `train.unknown_quantile` quantile of the "
                     "validation birds' foreign songs' p(unknown)",
    "note_check": "quantile chosen by `make select-openset` with the open set; the distance "
                  "fitted by `train` as that quantile of the training and validation songs' "
                  "note distances to their own theme",
}


def _thresholds_section(meta: Mapping[str, Any]) -> list[str]:
    from songnet.model.evaluate import thresholds_in_use

    found = thresholds_in_use(meta)
    rows = []
    open_set = meta.get("open_set") or {}
    if "open_set" in found:
        rows.append(f"| open set: an event farther from its nearest theme is `unknown` | "
                    f"{found['open_set']:.4g} ({open_set.get('metric', '?')}, "
                    f"{open_set.get('pooling', '?')}, quantile "
                    f"{_fmt(open_set.get('threshold_quantile', '?'))}) | "
                    f"{_CHOSEN_BY['open_set']} |")
    if "unknown_p" in found:
        rows.append(f"| the network's `unknown` needs at least this p(unknown) | "
                    f"{found['unknown_p']:.4g} | {_CHOSEN_BY['unknown_min_p']} |")
    if "notes" in found:
        note = meta.get("note_check") or {}
        rows.append(f"| note check: a named song whose notes lie farther from its theme's "
                    f"is `unknown` | {found['notes']:.4g} (quantile "
                    f"{_fmt(note.get('quantile', '?'))}) | {_CHOSEN_BY['note_check']} |")
    if not rows:
        return ["## Thresholds", "", "This model records no fitted thresholds.", ""]
    return ["## Thresholds and how they were chosen", "",
            "| threshold | value | chosen on |", "|---|---|---|", *rows, ""]


def read_real_results(paths: Sequence[Path]) -> list[dict[str, Any]]:
    """Benchmark summaries on real material (JSON written by a benchmark's ``--summary``):
    each needs ``benchmark``, ``command``, ``date``, ``model`` and a ``figures`` mapping of
    name -> number or text.

    Raises
    ------
    SongnetError
        For a file that is missing or not such a summary, naming the file.
    """
    out = []
    for path in paths:
        data = read_json_file(path, what="a benchmark summary",
                              fix="rerun the benchmark with --summary")
        keys = ("benchmark", "command", "date", "model", "figures")
        missing = [k for k in keys if k not in data] if isinstance(data, dict) else list(keys)
        if missing or not isinstance(data["figures"], dict):
            what = ", ".join(missing) or "figures as a mapping"
            raise SongnetError(f"{path}: not a benchmark summary (it lacks {what}); rerun the "
                               "benchmark with --summary")
        out.append(data)
    return out


def release_model(model_path: Path, out_dir: Path, *, ckpt: Checkpoint,
                  metrics: Mapping[str, Any], counts: Mapping[str, Any],
                  real: Sequence[Mapping[str, Any]] = ()) -> Path:
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
    digest = hashlib.sha256(data).hexdigest()
    card = model_card(ckpt, metrics=metrics, counts=counts, size_bytes=len(data),
                      model_name=model_id("default.onnx", ckpt.meta, digest), real=real)
    with atomic_path(out_dir / "default.pt") as tmp:
        tmp.write_bytes(data)
    export_onnx(ckpt, out_dir / "default.onnx",
                metadata=onnx_metadata(ckpt, checkpoint_sha256=digest))
    write_text(out_dir / "MODEL_CARD.md", card)
    return out_dir / "default.pt"
