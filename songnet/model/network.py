"""The theme CNN: a small Constant-Q image classifier, and what every network shares.

:class:`ThemeCNN` (``train.arch: songnet``, the default) reads a Constant-Q image
``(B, 1, n_bins, n_frames)`` and returns one logit per class (the catalog themes sorted,
then ``no_song``). It is small and fast on a CPU: a strided stem, depthwise-separable
blocks that halve frequency and time, then a temporal head that keeps the frequency axis
(pitch matters for themes) and pools over time. :meth:`ThemeCNN.embed` returns the
penultimate layer, used by the latent stage.

:class:`NetworkConfig` and :class:`Network` are what the other networks of
:mod:`songnet.model.archs` share with it: the image size, the number of classes, the
stage widths (``channels``), the embedding size and the dropout; ``forward``, ``embed``,
the input check and ``cam_layer``. Checkpoints (weights + config + labels) live in
:mod:`songnet.model.checkpoint`.
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Mapping
from typing import Any, ClassVar

import torch
from torch import nn

from songnet.core.errors import SongnetError

__all__ = ["ModelConfig", "Network", "NetworkConfig", "ThemeCNN"]


@dataclasses.dataclass(frozen=True)
class NetworkConfig:
    """The fields every network's config has (each network adds its own checks).

    Parameters
    ----------
    n_bins, n_frames : int
        Image height (CQT bins) and width (frames) the network expects.
    n_classes : int
        Number of outputs (themes + ``no_song``).
    channels : tuple of int
        Widths of the network's stages, first to last (``train.channels``).
    embed_dim : int
        Size of the penultimate layer returned by :meth:`Network.embed`.
    dropout : float
        Dropout before the classifier, in [0, 1).
    """

    arch: ClassVar[str] = ""
    """The network's name in :data:`songnet.model.archs.ARCHS` (``train.arch``)."""

    n_bins: int = 80
    n_frames: int = 517
    n_classes: int = 12
    channels: tuple[int, ...] = (16, 32, 64, 128)
    embed_dim: int = 64
    dropout: float = 0.2

    def __post_init__(self) -> None:
        if len(self.channels) < 2 or any(c < 1 for c in self.channels):
            raise ValueError(f"channels={list(self.channels)} must list at least 2 positive sizes")
        if self.n_classes < 2 or self.embed_dim < 1:
            raise ValueError(f"n_classes={self.n_classes} must be >= 2 and "
                             f"embed_dim={self.embed_dim} >= 1")
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"dropout={self.dropout} must lie in [0, 1)")

    def to_dict(self) -> dict[str, Any]:
        """Plain fields, with ``"arch"`` (what a checkpoint stores)."""
        d = {"arch": self.arch, **dataclasses.asdict(self)}
        d["channels"] = list(self.channels)
        return d

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> NetworkConfig:
        """Inverse of :meth:`to_dict`; a dict without ``"arch"`` (older checkpoints) is
        taken for this class's network, one naming another network is a ValueError."""
        d = dict(d)
        arch = d.pop("arch", cls.arch)
        if arch != cls.arch:
            raise ValueError(f"a config of the {arch!r} network, not {cls.arch!r}")
        if "channels" in d:
            d["channels"] = tuple(int(c) for c in d["channels"])
        return cls(**d)


class Network(nn.Module):
    """What every theme network offers (subclasses build the layers).

    ``forward(x)`` -> logits ``(B, n_classes)``; ``embed(x)`` -> the non-negative
    penultimate layer ``(B, embed_dim)``; ``classifier`` (a Linear ``embed_dim ->
    n_classes``, after ``dropout``); ``cam_layer``: the module whose output is the last
    4-D feature map ``(B, C, F, T)``, for Grad-CAM.
    """

    arch: ClassVar[str] = ""
    config_class: ClassVar[type[NetworkConfig]] = NetworkConfig

    config: NetworkConfig
    dropout: nn.Dropout
    classifier: nn.Linear

    def __init__(self, config: NetworkConfig) -> None:
        super().__init__()
        if not isinstance(config, self.config_class):
            raise TypeError(f"{type(self).__name__} needs a {self.config_class.__name__}, "
                            f"got a {type(config).__name__}")
        self.config = config

    def _check(self, x: torch.Tensor) -> None:
        cfg = self.config
        if x.ndim != 4 or x.shape[1] != 1 or tuple(x.shape[2:]) != (cfg.n_bins, cfg.n_frames):
            raise SongnetError(
                f"the network expects images of shape (B, 1, {cfg.n_bins}, {cfg.n_frames}), "
                f"got {tuple(x.shape)}; make the images with the model's feature params")

    @property
    def cam_layer(self) -> nn.Module:
        """The module whose output is the last 4-D feature map ``(B, C, F, T)``."""
        raise NotImplementedError

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """Penultimate-layer embedding.

        Parameters
        ----------
        x : torch.Tensor [shape=(B, 1, n_bins, n_frames)]
            Images in [0, 1].

        Returns
        -------
        torch.Tensor [shape=(B, embed_dim)]
            Non-negative (after ReLU) embedding.
        """
        raise NotImplementedError

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits ``(B, n_classes)`` for images ``(B, 1, n_bins, n_frames)``."""
        return self.logits_and_embedding(x)[0]

    def logits_and_embedding(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Logits ``(B, n_classes)`` and the embedding ``(B, embed_dim)`` they come from,
        in one pass (training's metric loss needs both)."""
        emb = self.embed(x)
        return self.classifier(self.dropout(emb)), emb


@dataclasses.dataclass(frozen=True)
class ModelConfig(NetworkConfig):
    """Shape and size of a :class:`ThemeCNN` (``train.arch: songnet``).

    Parameters
    ----------
    n_bins, n_frames, n_classes, embed_dim, dropout
        As in :class:`NetworkConfig`.
    channels : tuple of int
        Channels of the stem and of each following separable block. The stem strides
        frequency by 2 and time by 4; each block halves both.
    """

    arch: ClassVar[str] = "songnet"

    def __post_init__(self) -> None:
        super().__post_init__()
        reduce = 2 ** len(self.channels)
        if self.n_bins < reduce or self.n_frames < 4 * reduce:
            raise ValueError(f"image {self.n_bins}x{self.n_frames} is too small for "
                             f"{len(self.channels)} pooling stages")

    @property
    def head_bins(self) -> int:
        """Frequency rows left after the pooling stages."""
        n = (self.n_bins + 1) // 2
        for _ in self.channels[1:]:
            n //= 2
        return n


class _Separable(nn.Sequential):
    """Depthwise 3x3 conv, 2x2 max pooling, pointwise 1x1 conv (each with BN + ReLU).

    Pooling before the pointwise convolution makes it four times cheaper.
    """

    def __init__(self, c_in: int, c_out: int) -> None:
        super().__init__(
            nn.Conv2d(c_in, c_in, 3, padding=1, groups=c_in, bias=False),
            nn.BatchNorm2d(c_in), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(c_in, c_out, 1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU())


class ThemeCNN(Network):
    """Constant-Q image -> theme logits (``train.arch: songnet``).

    Parameters
    ----------
    config : ModelConfig
    """

    arch: ClassVar[str] = "songnet"
    config_class: ClassVar[type[NetworkConfig]] = ModelConfig
    config: ModelConfig

    def __init__(self, config: ModelConfig) -> None:
        super().__init__(config)
        c = config.channels
        # stride 2 in frequency, 4 in time: 24 bins/octave and ~6 ms frames are finer
        # than the notes need, and this layer runs at full image size.
        self.stem = nn.Sequential(
            nn.Conv2d(1, c[0], (3, 5), stride=(2, 4), padding=(1, 2), bias=False),
            nn.BatchNorm2d(c[0]), nn.ReLU())
        self.blocks = nn.Sequential(*[_Separable(a, b) for a, b in itertools.pairwise(c)])
        head_in = c[-1] * config.head_bins
        self.temporal = nn.Sequential(
            nn.Conv1d(head_in, 2 * config.embed_dim, 3, padding=1, bias=False),
            nn.BatchNorm1d(2 * config.embed_dim), nn.ReLU())
        self.embedding = nn.Linear(4 * config.embed_dim, config.embed_dim)
        self.dropout = nn.Dropout(config.dropout)
        self.classifier = nn.Linear(config.embed_dim, config.n_classes)
        # channels-last ("NHWC") weights and feature maps: oneDNN's depthwise and strided
        # convolutions, above all their backward pass, run about twice as fast on a CPU
        # (a training step of 64 images: 280 -> 150 ms on 2 cores). Loading weights keeps
        # the layout; the values and the ONNX graph are the same.
        self.to(memory_format=torch.channels_last)

    @property
    def cam_layer(self) -> nn.Module:
        """The separable blocks: their output is the last 4-D map (B, C, head_bins, T)."""
        return self.blocks

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """Penultimate-layer embedding.

        Parameters
        ----------
        x : torch.Tensor [shape=(B, 1, n_bins, n_frames)]
            Images in [0, 1].

        Returns
        -------
        torch.Tensor [shape=(B, embed_dim)]
            Non-negative (after ReLU) embedding.
        """
        self._check(x)
        x = x.contiguous(memory_format=torch.channels_last)
        h = self.blocks(self.stem(x))  # (B, C, head_bins, ~n_frames / 4 / 2**n_blocks)
        b, ch, f, t = h.shape
        h = h.reshape(b, ch * f, t)  # (B, C * head_bins, T): frequency kept as channels
        h = self.temporal(h)  # (B, 2E, T)
        h = torch.cat([h.mean(dim=2), h.amax(dim=2)], dim=1)  # (B, 4E)
        return torch.relu(self.embedding(h))  # (B, E)
