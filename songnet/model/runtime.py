"""The theme CNN on ONNX Runtime: inference without torch.

:func:`load_onnx` opens a file written by :func:`songnet.model.export.export_onnx` (None:
the ``default.onnx`` shipped in the package) on ONNX Runtime's CPU execution provider and
reads its metadata: the class names, the feature params, the model config and, when
present, the open-set threshold. :meth:`OnnxModel.predict_proba` and
:meth:`OnnxModel.embed` match :func:`songnet.model.checkpoint.predict_proba` and
``embed_images`` to float32 rounding. This module imports neither torch nor onnx.
"""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from songnet.core.errors import SongnetError
from songnet.model.openset import OPEN_SET_KEY, ThemeMatcher

__all__ = ["INPUT_NAME", "ONNX_FORMAT", "OUTPUT_NAMES", "OnnxModel",
           "default_onnx_path", "load_onnx"]

ONNX_FORMAT = "songnet-theme-cnn-onnx/1"
INPUT_NAME = "images"
OUTPUT_NAMES = ("probabilities", "embedding")


def default_onnx_path() -> Path:
    """Path of the default model's ONNX export shipped inside the package."""
    return Path(__file__).resolve().parents[1] / "models" / "default.onnx"


@dataclasses.dataclass
class OnnxModel:
    """An exported theme CNN on an ONNX Runtime session.

    Attributes
    ----------
    path : Path
    session : onnxruntime.InferenceSession
    classes : list of str
        Class names, index = output column (themes sorted, ``no_song`` last).
    feature_params : dict
        The ``features`` params the training images were made with.
    model_config : dict
    meta : dict
        The checkpoint's metadata.
    open_set : ThemeMatcher or None
        The open-set matcher (theme centroids and thresholds) when the model has one.
    checkpoint_sha256 : str
        SHA-256 of the checkpoint file it was exported from ("" when unknown).
    """

    path: Path
    session: Any
    classes: list[str]
    feature_params: dict[str, Any]
    model_config: dict[str, Any]
    meta: dict[str, Any]
    open_set: ThemeMatcher | None
    checkpoint_sha256: str

    def features(self) -> Any:
        """The feature params as a ``songnet.features.params.FeatureParams``."""
        from songnet.core.params import params_from_mapping
        from songnet.features.params import FeatureParams
        return params_from_mapping(FeatureParams, self.feature_params,
                                   where=f"{self.path} feature params")

    @property
    def image_shape(self) -> tuple[int, int]:
        """``(n_bins, n_frames)`` of the images the network reads."""
        return int(self.model_config["n_bins"]), int(self.model_config["n_frames"])

    def predict_proba(self, images: np.ndarray, *, batch_size: int = 64) -> np.ndarray:
        """Class probabilities ``(B, n_classes)`` float32 of images ``(B, n_bins, n_frames)``."""
        return self._run(images, 0, batch_size)

    def embed(self, images: np.ndarray, *, batch_size: int = 64) -> np.ndarray:
        """Penultimate-layer embeddings ``(B, embed_dim)`` float32."""
        return self._run(images, 1, batch_size)

    def predict_and_embed(self, images: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Probabilities ``(B, n_classes)`` and embeddings ``(B, embed_dim)`` of one batch,
        in one run of the network."""
        x = self._checked(images)
        if x.shape[0] == 0:
            return (np.zeros((0, len(self.classes)), dtype=np.float32),
                    np.zeros((0, int(self.model_config["embed_dim"])), dtype=np.float32))
        probs, emb = self.session.run(list(OUTPUT_NAMES), {INPUT_NAME: np.ascontiguousarray(x)})
        return probs, emb

    def _checked(self, images: np.ndarray) -> np.ndarray:
        x = np.asarray(images, dtype=np.float32)
        if x.ndim == 2:
            x = x[None]
        if x.ndim != 3 or x.shape[1:] != self.image_shape:
            raise SongnetError(f"images must have shape (B, {self.image_shape[0]}, "
                               f"{self.image_shape[1]}) for this model, got {x.shape}")
        return x

    def _run(self, images: np.ndarray, output: int, batch_size: int) -> np.ndarray:
        x = self._checked(images)
        if batch_size < 1:
            raise SongnetError(f"batch_size={batch_size} must be >= 1")
        name = OUTPUT_NAMES[output]
        if x.shape[0] == 0:
            width = (len(self.classes) if output == 0
                     else int(self.model_config["embed_dim"]))
            return np.zeros((0, width), dtype=np.float32)
        out = [self.session.run([name], {INPUT_NAME: np.ascontiguousarray(x[b:b + batch_size])})[0]
               for b in range(0, x.shape[0], batch_size)]
        return np.concatenate(out) if len(out) > 1 else out[0]


def load_onnx(path: str | os.PathLike | None = None, *, threads: int | None = None
              ) -> OnnxModel:
    """Open an exported model on ONNX Runtime's CPU execution provider.

    Parameters
    ----------
    path : path-like or None
        A ``.onnx`` file written by ``songnet export`` (None: the shipped default).
    threads : int, optional
        Threads for one inference (ONNX Runtime's intra-op threads); None: one per core.

    Raises
    ------
    SongnetError
        For a missing, unreadable or foreign file, naming it.
    """
    import onnxruntime as ort

    path = default_onnx_path() if path is None else Path(path)
    if not path.is_file():
        raise SongnetError(f"ONNX model {path} not found; export one with `songnet export "
                           "--model X.pt -o X.onnx` or pass --model FILE")
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 0 if threads is None else int(threads)
    opts.inter_op_num_threads = 1
    opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    opts.log_severity_level = 3
    # the arena keeps one batch's buffers for the next: without it every batch mallocs and
    # frees them anew on its own threads, and glibc's heaps fragment, growing with the
    # recording (a 2-hour file: 336-389 MB against 248 MB with the arena)
    opts.enable_cpu_mem_arena = True
    # idle worker threads sleep instead of spinning: the audio decoder shares the cores
    opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
    try:
        session = ort.InferenceSession(str(path), sess_options=opts,
                                       providers=["CPUExecutionProvider"])
    except Exception as exc:  # onnxruntime raises its own (Fail, InvalidProtobuf, ...)
        first = str(exc).splitlines()[0][:160] if str(exc) else type(exc).__name__
        raise SongnetError(f"{path}: not a readable ONNX model ({first}); export it again "
                           "with `songnet export`") from exc
    props = session.get_modelmeta().custom_metadata_map
    if props.get("format") != ONNX_FORMAT:
        raise SongnetError(f"{path}: not a songnet theme-CNN ONNX model (format "
                           f"{props.get('format')!r}, expected {ONNX_FORMAT!r}); export one "
                           "with `songnet export`")
    try:
        model = OnnxModel(
            path=path, session=session, classes=list(json.loads(props["classes"])),
            feature_params=dict(json.loads(props["feature_params"])),
            model_config=dict(json.loads(props["model_config"])),
            meta=dict(json.loads(props.get("meta", "{}"))),
            open_set=(ThemeMatcher.from_dict(json.loads(props[OPEN_SET_KEY]))
                      if OPEN_SET_KEY in props else None),
            checkpoint_sha256=props.get("checkpoint_sha256", ""))
    except (KeyError, TypeError, ValueError) as exc:
        raise SongnetError(f"{path}: its songnet metadata is incomplete or corrupt ({exc}); "
                           "export it again with `songnet export`") from exc
    if len(model.classes) != int(model.model_config.get("n_classes", -1)):
        raise SongnetError(f"{path}: {len(model.classes)} class names for "
                           f"{model.model_config.get('n_classes')} outputs; export it again")
    return model
