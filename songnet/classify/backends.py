"""The two engines of ``songnet classify``: ONNX Runtime + NumPy, or torch.

Both give :mod:`songnet.classify.windows` the same four steps: a block's power (the CQT,
or the STFT bands of the model's ``features.frontend``), its frames as a NumPy array for
the activity, the images of chosen windows, and the class probabilities of a batch of
images.

- :class:`OnnxBackend` (the default; the base install): the CQT as NumPy matrix products
  (:mod:`songnet.features.npcqt`) and the CNN on ONNX Runtime (:mod:`songnet.model.runtime`).
  It imports neither torch, librosa nor scipy.
- :class:`TorchBackend` (``--model X.pt``; the pipeline extras): the torch convolution CQT
  and the checkpoint's network, on a GPU when asked.

The two give the same events (``tests/test_classify_backends.py``).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from songnet.core.errors import SongnetError
from songnet.core.threads import usable_cpus
from songnet.features import npcqt
from songnet.features.params import FeatureParams
from songnet.model.identity import file_sha256, model_id
from songnet.song.notecheck import NoteCheck

__all__ = ["PIPELINE_HINT", "Backend", "OnnxBackend", "TorchBackend", "as_backend",
           "open_model"]

PIPELINE_HINT = 'pip install "songnet[pipeline]"'


class Backend(Protocol):
    """What :mod:`songnet.classify.windows` needs of a model."""

    fp: FeatureParams
    classes: tuple[str, ...]
    name: str
    embed_dim: int
    open_set: Any  # the model's ThemeMatcher, or None
    unknown_min_p: float  # least p(unknown) of a song ranked unknown (0: no such rule)
    note_check: Any  # the model's NoteCheck (songnet.song.notecheck), or None
    model_id: str  # file, training date, checksum prefix (songnet.model.identity)

    def power(self, y: np.ndarray, *, threads: int | None = None) -> Any:
        """Power ``(n_bins, n // hop + 1)`` of one block (the model's ``features.frontend``),
        in the engine's array type; ``threads`` for a NumPy transform (None: its own)."""

    def activity_power(self, power: Any) -> np.ndarray:
        """The same power as a float32 NumPy array."""

    def window_images(self, power: Any, idx: np.ndarray) -> Any:
        """Images ``(b, n_bins, n_frames)`` of the windows starting at frames ``idx``."""

    def masked_images(self, power: Any, idx: np.ndarray, keep: list[tuple[int, int]],
                      floor: np.ndarray, *, audio: list[tuple[int, int]] | None = None) -> Any:
        """Images of the windows starting at frames ``idx`` in which every frame outside
        ``keep[i] = (first, end)`` (block frames) is held down to the block's noise floor
        ``floor`` (``(n_bins, 1)``, :func:`songnet.classify.activity.noise_floor`): one sound,
        alone in its recording's background. Frames outside ``audio[i] = (first, end)``
        (before the recording starts or after it ends) are the floor itself."""

    def concat(self, images: list[Any]) -> Any:
        """Join image batches along the first axis."""

    def predict(self, images: Any) -> tuple[np.ndarray, np.ndarray]:
        """Class probabilities ``(b, n_classes)`` and embeddings ``(b, embed_dim)``,
        float32, in one run of the network."""


class OnnxBackend:
    """The CQT in NumPy and the CNN on ONNX Runtime (CPU).

    Parameters
    ----------
    model : OnnxModel
        From :func:`songnet.model.runtime.load_onnx`.
    threads : int, optional
        Threads for the CQT (None: one per core this process may run on).
    """

    name = "onnx"

    def __init__(self, model: Any, *, threads: int | None = None) -> None:
        self.model = model
        self.threads = usable_cpus() if threads is None else max(1, int(threads))
        self.fp = model.features()
        npcqt.plan_in_background(self.fp)  # the kernels, while the recording opens
        self.classes = tuple(model.classes)
        self.embed_dim = int(model.model_config["embed_dim"])
        self.open_set = model.open_set
        self.unknown_min_p = float(model.meta.get("unknown_min_p", 0.0))
        self.note_check = NoteCheck.from_meta(model.meta)
        self.model_id = model_id(Path(model.path).name, model.meta, model.checkpoint_sha256)
        self._db_of: tuple[np.ndarray, np.ndarray] | None = None  # last power, its dB

    @property
    def block_threads(self) -> int:
        """Blocks of a recording transformed at once (:func:`songnet.classify.windows`)."""
        return self.threads

    def power(self, y: np.ndarray, *, threads: int | None = None) -> np.ndarray:
        return npcqt.power(y, params=self.fp, threads=self.threads if threads is None
                           else threads)

    def activity_power(self, power: np.ndarray) -> np.ndarray:
        return power

    def window_images(self, power: np.ndarray, idx: np.ndarray) -> np.ndarray:
        if self._db_of is None or self._db_of[0] is not power:
            self._db_of = (power, npcqt.power_to_db(power))  # once per block
        return npcqt.db_windows(self._db_of[1], idx, params=self.fp)

    def masked_images(self, power: np.ndarray, idx: np.ndarray, keep: list[tuple[int, int]],
                      floor: np.ndarray, *, audio: list[tuple[int, int]] | None = None
                      ) -> np.ndarray:
        n = self.fp.n_frames
        cols = np.asarray(idx, dtype=np.int64)[:, None] + np.arange(n)
        win = np.ascontiguousarray(np.moveaxis(power[:, cols], 1, 0))  # (b, n_bins, n)
        for i, (a, b) in enumerate(keep):
            outside = ~_span_mask(n, a - int(idx[i]), b - int(idx[i]))
            win[i][:, outside] = np.minimum(win[i][:, outside], floor)
            if audio is not None:
                win[i][:, ~_span_mask(n, audio[i][0] - int(idx[i]),
                                      audio[i][1] - int(idx[i]))] = floor
        return npcqt.power_to_images(win, params=self.fp)

    def concat(self, images: list[np.ndarray]) -> np.ndarray:
        return np.concatenate(images) if len(images) > 1 else images[0]

    def predict(self, images: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return self.model.predict_and_embed(images)


class TorchBackend:
    """The torch CQT and the checkpoint's network, on ``device``.

    Parameters
    ----------
    checkpoint : Checkpoint
    device : str
        ``"auto"`` (CUDA when present), ``"cpu"``, ``"cuda"``, ``"cuda:N"``.
    """

    name = "torch"

    def __init__(self, checkpoint: Any, *, device: str = "auto") -> None:
        from songnet.core.device import resolve_device
        from songnet.model.openset import OPEN_SET_KEY, UNKNOWN_MIN_P_KEY, ThemeMatcher
        self.checkpoint = checkpoint
        self.fp = checkpoint.features()
        self.classes = tuple(checkpoint.classes)
        self.embed_dim = int(checkpoint.config.embed_dim)
        fitted = checkpoint.meta.get(OPEN_SET_KEY)
        self.open_set = None if fitted is None else ThemeMatcher.from_dict(fitted)
        self.unknown_min_p = float(checkpoint.meta.get(UNKNOWN_MIN_P_KEY, 0.0))
        self.note_check = NoteCheck.from_meta(checkpoint.meta)
        self.device = resolve_device(device)
        self.model_id = model_id("checkpoint", checkpoint.meta, "")

    def power(self, y: np.ndarray, *, threads: int | None = None) -> Any:
        from songnet.features import images as features
        return features.power(y, params=self.fp, device=self.device)

    def activity_power(self, power: Any) -> np.ndarray:
        return power.float().cpu().numpy()

    def window_images(self, power: Any, idx: np.ndarray) -> Any:
        import torch

        from songnet.features import images as features
        cols = (torch.as_tensor(idx, device=power.device)[:, None]
                + torch.arange(self.fp.n_frames, device=power.device))  # (b, n_frames)
        windows = power[:, cols].permute(1, 0, 2)  # (b, n_bins, n_frames)
        return features.power_to_images(windows, params=self.fp)

    def masked_images(self, power: Any, idx: np.ndarray, keep: list[tuple[int, int]],
                      floor: np.ndarray, *, audio: list[tuple[int, int]] | None = None) -> Any:
        import torch

        from songnet.features import images as features
        n = self.fp.n_frames
        cols = (torch.as_tensor(idx, device=power.device)[:, None]
                + torch.arange(n, device=power.device))
        win = power[:, cols].permute(1, 0, 2).clone()  # (b, n_bins, n)
        low = torch.from_numpy(floor).to(device=power.device, dtype=win.dtype)
        for i, (a, b) in enumerate(keep):
            outside = torch.from_numpy(~_span_mask(n, a - int(idx[i]), b - int(idx[i])))
            outside = outside.to(power.device)
            win[i][:, outside] = torch.minimum(win[i][:, outside], low)
            if audio is not None:
                absent = torch.from_numpy(~_span_mask(n, audio[i][0] - int(idx[i]),
                                                      audio[i][1] - int(idx[i])))
                win[i][:, absent.to(power.device)] = low
        return features.power_to_images(win, params=self.fp)

    def concat(self, images: list[Any]) -> Any:
        import torch
        return torch.cat(images) if len(images) > 1 else images[0]

    def predict(self, images: Any) -> tuple[np.ndarray, np.ndarray]:
        import torch

        n = images.shape[0]
        # a short batch is padded to a power of two: few distinct shapes, so the CNN
        # backend's per-shape caches stay small
        size = 1 << max(0, (n - 1).bit_length())
        batch = torch.cat([images, images[-1:].expand(size - n, -1, -1)])
        model = self.checkpoint.model.eval()
        with torch.no_grad():
            emb = model.embed(batch.float().to(self.checkpoint.device)[:, None])
            probs = torch.softmax(model.classifier(emb), dim=1)
        return (probs[:n].float().cpu().numpy(), emb[:n].float().cpu().numpy())


def _span_mask(n: int, a: int, b: int) -> np.ndarray:
    """``(n,)`` bool: True on frames ``a`` to ``b`` (clipped to the window)."""
    mask = np.zeros(n, dtype=bool)
    mask[max(0, a):max(0, b)] = True
    return mask


def as_backend(model: Any, *, device: str = "auto", threads: int | None = None) -> Backend:
    """A :class:`Backend` for a loaded model: an ``OnnxModel``, a ``Checkpoint`` or a
    backend already; ``threads`` for an ONNX model's CQT (None: one per core)."""
    if hasattr(model, "window_images"):
        return model
    if hasattr(model, "session"):
        if device not in ("auto", "cpu"):
            raise SongnetError(f"--device {device}: the ONNX model runs on the CPU; pass "
                               "--model FILE.pt (torch) to use a GPU")
        return OnnxBackend(model, threads=threads)
    return TorchBackend(model, device=device)


def open_model(path: str | os.PathLike | None = None, *, device: str = "auto",
               threads: int | None = None) -> Backend:
    """Load the model that ``songnet classify --model`` names.

    Parameters
    ----------
    path : path-like or None
        A ``.onnx`` file (ONNX Runtime), a ``.pt`` checkpoint (torch, the pipeline
        extras) or None: the ``default.onnx`` shipped in the package.
    device : str
        For a checkpoint: where torch runs. An ONNX model runs on the CPU (``auto`` or
        ``cpu``).
    threads : int, optional
        Threads for the CNN (and torch's CQT); None: one per core.

    Raises
    ------
    SongnetError
        For a checkpoint without torch installed, naming the extras to install.
    """
    if path is not None and Path(path).suffix.lower() == ".pt":
        try:
            import torch
        except ImportError as exc:
            raise SongnetError(f"{path}: a torch checkpoint needs the pipeline extras "
                               f"({PIPELINE_HINT}); or export it on a machine that has "
                               "them, `songnet export --model X.pt -o X.onnx`, and pass "
                               "the .onnx file") from exc
        from songnet.model.checkpoint import load_checkpoint
        if threads is not None:
            torch.set_num_threads(threads)
        backend = TorchBackend(load_checkpoint(path, device=device), device=device)
        backend.model_id = model_id(Path(path).name, backend.checkpoint.meta,
                                    file_sha256(path))
        return backend
    from songnet.model.runtime import load_onnx
    return as_backend(load_onnx(path, threads=threads), device=device, threads=threads)
