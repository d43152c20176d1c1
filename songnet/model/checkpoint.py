"""Checkpoints of the theme networks, and batched inference with them.

A checkpoint is a ``torch.save`` of plain types plus tensors (never pickled objects), read
back with ``weights_only=True``: the model config (with the network's name, ``"arch"``; a
config without it, written before ``train.arch``, is ``songnet``), the class names, the
feature params the images were made with, the training params and free-form metadata.
It carries a SHA-256 ``checksum`` of its weights, config, classes and feature params, and
the zip archive's CRCs; either mismatch is "checkpoint is damaged". A file without a
checksum (written before it existed) still loads, checked by its CRCs alone.
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import json
import os
import pickle
import warnings
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch

from songnet.core.device import resolve_device
from songnet.core.errors import SongnetError
from songnet.core.files import atomic_path
from songnet.core.labels import UNKNOWN, ranks_unknown_first
from songnet.model.archs import DEFAULT_ARCH, build_model, config_from_dict
from songnet.model.network import Network, NetworkConfig

__all__ = ["CHECKPOINT_FORMAT", "Checkpoint", "check_features", "checkpoint_payload",
           "default_model_path", "embed_images", "load_checkpoint", "payload_checksum",
           "predict_proba", "read_payload", "save_checkpoint", "unknown_top", "write_payload"]

CHECKPOINT_FORMAT = "songnet-theme-cnn/1"

@dataclasses.dataclass
class Checkpoint:
    """A trained model with everything needed to use it.

    Attributes
    ----------
    model : Network
        In eval mode, on the device it was loaded to.
    config : NetworkConfig
        The network's config (``config.arch`` names the network).
    classes : list of str
        Class names, index = output unit (themes sorted, ``no_song`` last).
    feature_params : dict
        The ``features`` params the training images were made with (a plain dict of
        ``FeatureParams`` fields).
    train_params : dict
    meta : dict
        Free-form metadata (epoch, validation figures, date, ...).
    """

    model: Network
    config: NetworkConfig
    classes: list[str]
    feature_params: dict[str, Any]
    train_params: dict[str, Any]
    meta: dict[str, Any]

    @property
    def arch(self) -> str:
        """The network's name (``train.arch``)."""
        return self.config.arch

    @property
    def device(self) -> torch.device:
        return next(self.model.parameters()).device

    def features(self) -> Any:
        """The feature params as a ``songnet.features.FeatureParams``."""
        from songnet.core.params import params_from_mapping
        from songnet.features.params import FeatureParams
        return params_from_mapping(FeatureParams, self.feature_params,
                                   where="checkpoint feature params")


def default_model_path() -> Path:
    """Path of the default model shipped inside the package."""
    return Path(__file__).resolve().parents[1] / "models" / "default.pt"


def checkpoint_payload(model: Network, *, classes: list[str], feature_params: Mapping,
                       train_params: Mapping, meta: Mapping | None = None) -> dict[str, Any]:
    """The plain dict that :func:`save_checkpoint` writes (extendable with training state)."""
    if len(classes) != model.config.n_classes:
        raise SongnetError(f"{len(classes)} class names for a network with "
                           f"{model.config.n_classes} outputs")
    payload = {
        "format": CHECKPOINT_FORMAT,
        "model_config": model.config.to_dict(),
        "classes": list(classes),
        "feature_params": _plain(feature_params),
        "train_params": _plain(train_params),
        "meta": _plain(meta or {}),
        "state_dict": {k: v.detach().cpu().clone() for k, v in model.state_dict().items()},
    }
    payload["checksum"] = payload_checksum(payload)
    return payload


def payload_checksum(payload: Mapping[str, Any]) -> str:
    """``"sha256:<hex>"`` of a checkpoint's weights, model config, classes and feature params.

    Raises
    ------
    KeyError, TypeError, ValueError, AttributeError, RuntimeError
        For a payload without these entries (a damaged or foreign file).
    """
    h = hashlib.sha256()
    head = {k: payload[k] for k in ("model_config", "classes", "feature_params")}
    h.update(json.dumps(head, sort_keys=True, allow_nan=True).encode())
    for name in sorted(payload["state_dict"]):
        t = payload["state_dict"][name].detach().cpu().contiguous()
        h.update(f"\n{name} {t.dtype} {tuple(t.shape)}\n".encode())
        h.update(t.flatten().view(torch.uint8).numpy().tobytes())
    return "sha256:" + h.hexdigest()


def save_checkpoint(path: str | os.PathLike, model: Network, *, classes: list[str],
                    feature_params: Mapping, train_params: Mapping,
                    meta: Mapping | None = None, extra: Mapping | None = None) -> Path:
    """Write a checkpoint atomically.

    Parameters
    ----------
    path : path-like
        Output ``.pt`` file.
    model : Network
    classes : list of str
    feature_params, train_params, meta : mapping
        Plain data (stored as dicts, lists, numbers, strings).
    extra : mapping, optional
        More entries of plain types or tensors (training state for resume).
    """
    payload = checkpoint_payload(model, classes=classes, feature_params=feature_params,
                                 train_params=train_params, meta=meta)
    payload.update(extra or {})
    write_payload(path, payload)
    return Path(path)


def write_payload(path: str | os.PathLike, payload: Mapping[str, Any]) -> None:
    """``torch.save`` a checkpoint dict atomically (same content -> same bytes)."""
    buf = io.BytesIO()  # saving by path would put the temporary file's name in the archive
    torch.save(dict(payload), buf)
    with atomic_path(path) as tmp:
        tmp.write_bytes(buf.getvalue())


def read_payload(path: str | os.PathLike) -> dict[str, Any]:
    """Read a checkpoint dict with ``weights_only=True``; SongnetError naming the file."""
    path = Path(path)
    if not path.is_file():
        raise SongnetError(f"model checkpoint {path} not found; train one with `songnet train` "
                           "or pass --model FILE")
    if path.stat().st_size == 0:
        raise SongnetError(f"{path}: an empty file, not a songnet checkpoint; rebuild it with "
                           "songnet train or copy it again")
    _check_archive(path)
    try:
        with warnings.catch_warnings():  # torch's own warnings never reach the user
            warnings.simplefilter("ignore")
            payload = torch.load(path, map_location="cpu", weights_only=True)
    except (RuntimeError, EOFError, OSError, ValueError, zipfile.BadZipFile,
            pickle.UnpicklingError, KeyError, IndexError, TypeError, AttributeError) as exc:
        first = (str(exc).splitlines() or [""])[0].split(". ")[0][:120] or type(exc).__name__
        raise SongnetError(f"{path}: not a readable songnet checkpoint (corrupt or truncated: "
                           f"{first}); retrain or copy it again") from exc
    if not isinstance(payload, dict) or payload.get("format") != CHECKPOINT_FORMAT:
        found = payload.get("format") if isinstance(payload, dict) else type(payload).__name__
        raise SongnetError(f"{path}: not a songnet theme-CNN checkpoint (format "
                           f"{str(found)[:60]!r}, expected {CHECKPOINT_FORMAT!r}); pass a model "
                           "made by songnet train")
    if "checksum" in payload:
        try:
            ok = payload["checksum"] == payload_checksum(payload)
        except (KeyError, TypeError, ValueError, AttributeError, RuntimeError):
            ok = False
        if not ok:
            raise _damaged(path)
    return payload


def _damaged(path: Path) -> SongnetError:
    return SongnetError(f"{path}: checkpoint is damaged (checksum mismatch); rebuild it with "
                        "songnet train or reinstall")


def _check_archive(path: Path) -> None:
    """The zip CRC of every member (torch checkpoints are zip archives)."""
    try:
        with zipfile.ZipFile(path) as zf:
            bad = zf.testzip()
    except (zipfile.BadZipFile, OSError, EOFError, ValueError, NotImplementedError,
            RuntimeError):
        return  # not a (readable) zip: torch.load says what is wrong
    if bad is not None:
        raise _damaged(path)


def load_checkpoint(path: str | os.PathLike | None = None, *, device: str | torch.device = "cpu",
                    feature_params: Mapping | None = None) -> Checkpoint:
    """Load a checkpoint (``None``: the default model shipped with the package).

    Parameters
    ----------
    path : path-like or None
    device : str or torch.device
        Where to put the model (``"auto"``: CUDA when present).
    feature_params : mapping, optional
        The feature params of the images it will see; a difference is a SongnetError.
    """
    path = default_model_path() if path is None else Path(path)
    payload = read_payload(path)
    try:
        arch = dict(payload["model_config"]).get("arch", DEFAULT_ARCH)
        config = config_from_dict(arch, payload["model_config"])
        model = build_model(arch, config)
        model.load_state_dict(payload["state_dict"])
        ckpt = Checkpoint(model=model, config=config, classes=list(payload["classes"]),
                          feature_params=dict(payload["feature_params"]),
                          train_params=dict(payload["train_params"]),
                          meta=dict(payload.get("meta", {})))
    except (KeyError, TypeError, ValueError, RuntimeError) as exc:
        raise SongnetError(f"{path}: checkpoint does not match this songnet's network "
                           f"({str(exc).splitlines()[0][:120]}); retrain the model") from exc
    if len(ckpt.classes) != config.n_classes:
        raise SongnetError(f"{path}: {len(ckpt.classes)} class names for "
                           f"{config.n_classes} outputs; retrain the model")
    if feature_params is not None:
        check_features(ckpt.feature_params, feature_params, what=str(path))
    ckpt.model.to(resolve_device(device)).eval()
    return ckpt


def check_features(expected: Mapping, actual: Mapping, *, what: str) -> None:
    """SongnetError naming the first feature parameter that differs.

    Parameters
    ----------
    expected : mapping
        Feature params stored in the model.
    actual : mapping
        Feature params of the images at hand.
    what : str
        Names the model in the message.
    """
    if _plain(expected) == _plain(actual):
        return
    from songnet.core.params import params_from_mapping
    from songnet.features.params import FeatureParams, check_compatible
    exp = params_from_mapping(FeatureParams, dict(expected), where=f"{what} feature params")
    act = params_from_mapping(FeatureParams, dict(actual), where="image feature params")
    check_compatible(exp, act, what=what)


def _as_images(images: np.ndarray | torch.Tensor, config: NetworkConfig) -> torch.Tensor:
    x = torch.as_tensor(images)
    if x.ndim == 2:
        x = x[None]
    if x.ndim != 3 or tuple(x.shape[1:]) != (config.n_bins, config.n_frames):
        raise SongnetError(f"images must have shape (B, {config.n_bins}, {config.n_frames}) "
                           f"for this model, got {tuple(x.shape)}")
    return x


@torch.no_grad()
def _batched(ckpt: Checkpoint, images: np.ndarray | torch.Tensor, fn: str,
             batch_size: int) -> np.ndarray:
    x = _as_images(images, ckpt.config)
    if batch_size < 1:
        raise SongnetError(f"batch_size={batch_size} must be >= 1")
    ckpt.model.eval()
    device = ckpt.device
    out = []
    for start in range(0, x.shape[0], batch_size):
        xb = x[start:start + batch_size].to(device=device, dtype=torch.float32)
        y = getattr(ckpt.model, fn)(xb[:, None])  # (b, 1, n_bins, n_frames) in
        out.append(y.float().cpu())
    if not out:
        width = ckpt.config.n_classes if fn == "forward" else ckpt.config.embed_dim
        return np.zeros((0, width), dtype=np.float32)
    return torch.cat(out).numpy()


def predict_proba(ckpt: Checkpoint, images: np.ndarray | torch.Tensor, *,
                  batch_size: int = 64) -> np.ndarray:
    """Class probabilities.

    Parameters
    ----------
    ckpt : Checkpoint
    images : array [shape=(B, n_bins, n_frames)]
        CQT images in [0, 1] made with ``ckpt.feature_params``.
    batch_size : int

    Returns
    -------
    np.ndarray [shape=(B, n_classes)], float32
        Rows sum to 1; columns follow ``ckpt.classes``.
    """
    logits = _batched(ckpt, images, "forward", batch_size)
    return torch.softmax(torch.from_numpy(logits), dim=1).numpy()


def embed_images(ckpt: Checkpoint, images: np.ndarray | torch.Tensor, *,
                 batch_size: int = 64) -> np.ndarray:
    """Penultimate-layer embeddings (B, embed_dim) float32 of images (B, n_bins, n_frames)."""
    return _batched(ckpt, images, "embed", batch_size)


def unknown_top(ckpt: Checkpoint, X: np.ndarray) -> np.ndarray:
    """Per embedding ``(n, embed_dim)``: whether the network's most probable class among
    the themes and ``unknown`` is ``unknown`` (all False for a model without that class)."""
    X = np.asarray(X, dtype=np.float32)
    if UNKNOWN not in ckpt.classes or X.shape[0] == 0:
        return np.zeros(X.shape[0], dtype=bool)
    model = ckpt.model.eval()
    with torch.no_grad():
        logits = model.classifier(torch.from_numpy(X).to(ckpt.device)).cpu().numpy()
    return ranks_unknown_first(logits, ckpt.classes)


def _plain(obj: Any) -> Any:
    """Mappings/tuples/numpy scalars -> dicts, lists and Python scalars (safe for weights_only)."""
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: _plain(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, Mapping):
        return {str(k): _plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_plain(v) for v in obj]
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, Path):
        return str(obj)
    return obj
