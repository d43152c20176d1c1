"""The theme CNN on ONNX Runtime: inference without torch.

:func:`load_onnx` opens a file written by :func:`songnet.model.export.export_onnx` (None:
the ``default.onnx`` shipped in the package) on ONNX Runtime's CPU execution provider and
reads its metadata: the class names, the feature params, the model config and, when
present, the open-set threshold. The file is checked first, as a checkpoint is: its
checksum (:mod:`songnet.model.onnxfile`), then its metadata, inputs and outputs against
what ``songnet export`` writes. :meth:`OnnxModel.predict_proba` and
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
from songnet.model.onnxfile import read_checksums
from songnet.model.openset import OPEN_SET_KEY, ThemeMatcher

__all__ = ["INPUT_NAME", "MAX_CLASSES", "ONNX_FORMAT", "OUTPUT_NAMES", "OnnxModel",
           "default_onnx_path", "load_onnx"]

ONNX_FORMAT = "songnet-theme-cnn-onnx/1"
MAX_CLASSES = 10_000
"""Most class names a model may have."""
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

    The file must be what ``songnet export`` writes: its checksum
    (:mod:`songnet.model.onnxfile`) must match its bytes (else "model is damaged"), and
    its metadata, inputs and outputs must be songnet's (else "not a songnet model"): the
    format tag, class names, feature params, model config and open-set matcher readable
    and consistent; one input ``images`` ``(batch, n_bins, n_frames)``; the outputs
    ``probabilities`` ``(batch, n_classes)`` and ``embedding`` ``(batch, embed_dim)``,
    finite for a blank image.

    Parameters
    ----------
    path : path-like or None
        A ``.onnx`` file written by ``songnet export`` (None: the shipped default).
    threads : int, optional
        Threads for one inference (ONNX Runtime's intra-op threads); None: one per core.

    Raises
    ------
    SongnetError
        For a missing, unreadable, damaged or foreign file, naming it.
    """
    import onnxruntime as ort

    path = default_onnx_path() if path is None else Path(path)
    if not path.is_file():
        raise SongnetError(f"ONNX model {path} not found; export one with `songnet export "
                           "--model X.pt -o X.onnx` or pass --model FILE")
    try:
        stored, computed = read_checksums(path)
    except OSError as exc:
        raise SongnetError(f"{path}: cannot read the model ({exc.strerror}); check the "
                           "path") from exc
    if stored is not None and stored != computed:
        raise SongnetError(f"{path}: model is damaged (checksum mismatch); export it again "
                           "with songnet export or reinstall")
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
        raise _foreign(path, f"format {str(props.get('format'))[:60]!r}, expected "
                             f"{ONNX_FORMAT!r}")
    if stored is None:
        raise _foreign(path, "no checksum: exported by an older songnet; export it again")
    model = _model(path, session, props)
    _check_io(model)
    return model


def _foreign(path: Path, why: str) -> SongnetError:
    return SongnetError(f"{path}: not a songnet model ({why}); export one with `songnet "
                        "export --model X.pt -o X.onnx`")


def _model(path: Path, session: Any, props: dict[str, str]) -> OnnxModel:
    """The model's metadata, every entry checked as songnet writes it."""
    from songnet.song.notecheck import NoteCheck

    def entry(key: str, kind: type, default: Any = None) -> Any:
        if key not in props and default is not None:
            return default
        try:
            value = json.loads(props[key])
        except KeyError:
            raise _foreign(path, f"no {key!r} entry") from None
        except (ValueError, RecursionError):
            raise _foreign(path, f"its {key!r} entry is not JSON") from None
        if not isinstance(value, kind):
            raise _foreign(path, f"its {key!r} entry is not a {kind.__name__}")
        return value

    classes, config = entry("classes", list), entry("model_config", dict)
    if not (2 <= len(classes) <= MAX_CLASSES and len(set(map(str, classes))) == len(classes)
            and all(isinstance(c, str) and 0 < len(c) <= 200 and c.isprintable()
                    for c in classes)):
        raise _foreign(path, f"its class names are not {MAX_CLASSES} or fewer distinct, "
                             "printable names")
    for key in ("n_bins", "n_frames", "n_classes", "embed_dim"):
        value = config.get(key)
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 1 << 20:
            raise _foreign(path, f"model_config {key}={str(value)[:40]} is not a size")
    if len(classes) != config["n_classes"]:
        raise _foreign(path, f"{len(classes)} class names for {config['n_classes']} outputs")
    meta = entry("meta", dict, {})
    try:
        model = OnnxModel(
            path=path, session=session, classes=classes,
            feature_params=entry("feature_params", dict), model_config=config, meta=meta,
            open_set=(ThemeMatcher.from_dict(entry(OPEN_SET_KEY, dict))
                      if OPEN_SET_KEY in props else None),
            checkpoint_sha256=str(props.get("checkpoint_sha256", "")))
        model.features()
        NoteCheck.from_meta(meta)
        unknown_min_p = float(meta.get("unknown_min_p", 0.0))
    except SongnetError as exc:
        raise _foreign(path, str(exc)[:160]) from None
    except (KeyError, TypeError, ValueError, AttributeError, IndexError) as exc:
        raise _foreign(path, f"its metadata is incomplete or corrupt: {str(exc)[:120]}") from None
    if not 0.0 <= unknown_min_p <= 1.0:
        raise _foreign(path, f"meta unknown_min_p={unknown_min_p} is not in [0, 1]")
    if model.open_set is not None and model.open_set.mean_.shape != (config["embed_dim"],):
        raise _foreign(path, "its open-set matcher does not fit the embedding")
    return model


def _check_io(model: OnnxModel) -> None:
    """One input ``(batch, n_bins, n_frames)`` and the two outputs songnet writes, finite
    and of those shapes for a blank image."""
    n_bins, n_frames = model.image_shape
    width = {OUTPUT_NAMES[0]: len(model.classes),
             OUTPUT_NAMES[1]: int(model.model_config["embed_dim"])}
    want = [(INPUT_NAME, [n_bins, n_frames])] + [(name, [w]) for name, w in width.items()]
    got = [(x.name, x.shape, x.type) for x in (*model.session.get_inputs(),
                                              *model.session.get_outputs())]
    ok = len(got) == len(want) and all(
        name == w_name and t == "tensor(float)" and isinstance(shape, list)
        and len(shape) == len(w_shape) + 1 and not isinstance(shape[0], int)
        and list(shape[1:]) == w_shape
        for (name, shape, t), (w_name, w_shape) in zip(got, want, strict=False))
    if not ok:
        seen = ", ".join(f"{name} {shape}" for name, shape, _ in got)[:200]
        raise _foreign(model.path, f"inputs and outputs {seen}; songnet's are images [batch, "
                                   f"{n_bins}, {n_frames}] -> probabilities [batch, "
                                   f"{width[OUTPUT_NAMES[0]]}], embedding [batch, "
                                   f"{width[OUTPUT_NAMES[1]]}]")
    try:
        probs, emb = model.predict_and_embed(np.zeros((1, n_bins, n_frames), np.float32))
    except Exception as exc:  # onnxruntime's own errors: the graph does not run
        raise _foreign(model.path, f"it does not run: {str(exc).splitlines()[0][:120]}"
                       if str(exc) else type(exc).__name__) from None
    if (probs.shape != (1, len(model.classes)) or emb.shape != (1, width[OUTPUT_NAMES[1]])
            or not (np.isfinite(probs).all() and np.isfinite(emb).all())):
        raise _foreign(model.path, "its outputs for a blank image are not songnet's")
