"""Export a checkpoint to ONNX, for classifying without torch (:mod:`songnet.model.runtime`).

The ONNX graph maps images ``(B, n_bins, n_frames)`` in [0, 1] to the class probabilities
(softmax of the logits) and the embedding, for any batch size. Everything a user of the
model needs travels in the file's metadata (``metadata_props``, JSON strings): the
format tag, the class names, the feature params, the model config, the training params and
metadata, the SHA-256 of the checkpoint it came from and, when the checkpoint's metadata
records one, the open-set matcher (theme centroids and thresholds,
:mod:`songnet.model.openset`). Last comes the file's own checksum over all the rest, the
weights included (:mod:`songnet.model.onnxfile`): loading a file whose bytes changed since
is "model is damaged".
"""

from __future__ import annotations

import io
import json
import os
import warnings
from collections.abc import Mapping
from pathlib import Path

import torch
from torch import nn

from songnet.core.errors import SongnetError
from songnet.core.files import atomic_path, check_output_file
from songnet.model.checkpoint import Checkpoint, load_checkpoint
from songnet.model.identity import file_sha256
from songnet.model.network import Network
from songnet.model.onnxfile import CHECKSUM_KEY, sign
from songnet.model.openset import OPEN_SET_KEY
from songnet.model.runtime import (
    INPUT_NAME,
    ONNX_FORMAT,
    OUTPUT_NAMES,
)

__all__ = ["OPSET", "export_checkpoint", "export_onnx", "onnx_metadata"]

OPSET = 17


class _Exported(nn.Module):
    """Images (B, n_bins, n_frames) -> (probabilities (B, n_classes), embedding (B, E))."""

    def __init__(self, model: Network) -> None:
        super().__init__()
        self.model = model

    def forward(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        emb = self.model.embed(images[:, None])  # (B, 1, n_bins, n_frames) in
        probs = torch.softmax(self.model.classifier(emb), dim=1)  # dropout is off in eval
        return probs, emb


def onnx_metadata(ckpt: Checkpoint, *, checkpoint_sha256: str = "") -> dict[str, str]:
    """The ``metadata_props`` of the exported file (every value a string)."""
    meta = {
        "format": ONNX_FORMAT,
        "classes": json.dumps(list(ckpt.classes)),
        "feature_params": json.dumps(ckpt.feature_params, sort_keys=True),
        "model_config": json.dumps(ckpt.config.to_dict(), sort_keys=True),
        "train_params": json.dumps(ckpt.train_params, sort_keys=True),
        "meta": json.dumps({k: v for k, v in ckpt.meta.items() if k != OPEN_SET_KEY},
                           sort_keys=True, default=str),
        "checkpoint_sha256": checkpoint_sha256,
    }
    matcher = ckpt.meta.get(OPEN_SET_KEY)
    if matcher is not None:
        meta[OPEN_SET_KEY] = json.dumps(matcher, sort_keys=True)
    return meta


def export_onnx(ckpt: Checkpoint, path: str | os.PathLike, *,
                metadata: Mapping[str, str] | None = None) -> Path:
    """Write ``ckpt``'s network as an ONNX file (atomically).

    Parameters
    ----------
    ckpt : Checkpoint
    path : path-like
        Output ``.onnx`` file.
    metadata : mapping, optional
        ``metadata_props`` (default: :func:`onnx_metadata` of ``ckpt``).

    Returns
    -------
    Path
    """
    import onnx  # the pipeline extras: exporting needs torch and onnx, running neither

    cfg = ckpt.config
    module = _Exported(ckpt.model).to("cpu").eval()
    example = torch.zeros(2, cfg.n_bins, cfg.n_frames)  # (B, n_bins, n_frames)
    buf = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the legacy exporter's deprecation and trace notes
        torch.onnx.export(
            module, (example,), buf, dynamo=False, opset_version=OPSET,
            input_names=[INPUT_NAME], output_names=list(OUTPUT_NAMES),
            dynamic_axes={INPUT_NAME: {0: "batch"},
                          **{name: {0: "batch"} for name in OUTPUT_NAMES}})
    proto = onnx.load_from_string(buf.getvalue())
    proto.doc_string = "songnet theme CNN: CQT images -> theme probabilities, embedding"
    del proto.metadata_props[:]
    for key, value in (metadata or onnx_metadata(ckpt)).items():
        if key == CHECKSUM_KEY:
            continue  # written last, over everything else
        entry = proto.metadata_props.add()
        entry.key, entry.value = key, value
    onnx.checker.check_model(proto)
    with atomic_path(path) as tmp:
        tmp.write_bytes(sign(proto.SerializeToString()))
    return Path(path)


def export_checkpoint(model_path: str | os.PathLike | None, out: str | os.PathLike) -> Path:
    """Export the checkpoint file ``model_path`` (None: the shipped default) to ``out``."""
    from songnet.model.checkpoint import default_model_path

    model_path = default_model_path() if model_path is None else Path(model_path)
    if Path(out).suffix.lower() != ".onnx":
        raise SongnetError(f"{out}: the exported model's name must end in .onnx")
    check_output_file(out, inputs=[model_path])
    ckpt = load_checkpoint(model_path, device="cpu")
    return export_onnx(ckpt, out, metadata=onnx_metadata(
        ckpt, checkpoint_sha256=file_sha256(model_path)))

