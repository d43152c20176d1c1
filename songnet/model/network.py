"""The theme CNN: a small Constant-Q image classifier.

:class:`ThemeCNN` reads a Constant-Q image ``(B, 1, n_bins, n_frames)`` and returns one
logit per class (the catalog themes sorted, then ``no_song``). It is small and fast on a
CPU: a strided stem, depthwise-separable blocks that halve frequency and time, then a
temporal head that keeps the frequency axis (pitch matters for themes) and pools over
time. :meth:`ThemeCNN.embed` returns the penultimate layer, used by the latent stage.
Checkpoints (weights + config + labels) live in :mod:`songnet.model.checkpoint`.
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Mapping
from typing import Any

import torch
from torch import nn

from songnet.core.errors import SongnetError

__all__ = ["ModelConfig", "ThemeCNN"]

@dataclasses.dataclass(frozen=True)
class ModelConfig:
    """Shape and size of a :class:`ThemeCNN`.

    Parameters
    ----------
    n_bins, n_frames : int
        Image height (CQT bins) and width (frames) the network expects.
    n_classes : int
        Number of outputs (themes + ``no_song``).
    channels : tuple of int
        Channels of the stem and of each following separable block. The stem strides
        frequency by 2 and time by 4; each block halves both.
    embed_dim : int
        Size of the penultimate layer returned by :meth:`ThemeCNN.embed`.
    dropout : float
        Dropout before the classifier, in [0, 1).
    """

    n_bins: int = 80
    n_frames: int = 517
    n_classes: int = 12
    channels: tuple[int, ...] = (16, 32, 64, 128)
    embed_dim: int = 64
    dropout: float = 0.2

    def __post_init__(self) -> None:
        if len(self.channels) < 2 or any(c < 1 for c in self.channels):
            raise ValueError(f"channels={list(self.channels)} must list at least 2 positive sizes")
        reduce = 2 ** len(self.channels)
        if self.n_bins < reduce or self.n_frames < 4 * reduce:
            raise ValueError(f"image {self.n_bins}x{self.n_frames} is too small for "
                             f"{len(self.channels)} pooling stages")
        if self.n_classes < 2 or self.embed_dim < 1:
            raise ValueError(f"n_classes={self.n_classes} must be >= 2 and "
                             f"embed_dim={self.embed_dim} >= 1")
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"dropout={self.dropout} must lie in [0, 1)")

    @property
    def head_bins(self) -> int:
        """Frequency rows left after the pooling stages."""
        n = (self.n_bins + 1) // 2
        for _ in self.channels[1:]:
            n //= 2
        return n

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["channels"] = list(self.channels)
        return d

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> ModelConfig:
        d = dict(d)
        d["channels"] = tuple(int(c) for c in d["channels"])
        return cls(**d)


class _Separable(nn.Sequential):
    """Depthwise 3x3 conv, 2x2 max pooling, pointwise 1x1 conv (each with BN + ReLU).

    Pooling before the pointwise convolution makes it four times cheaper.
    """

    def __init__(self, c_in: int, c_out: int) -> None:
        super().__init__(
            nn.Conv2d(c_in, c_in, 3, padding=1, groups=c_in, bias=False),
            nn.BatchNorm2d(c_in), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(c_in, c_out, 1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU())


class ThemeCNN(nn.Module):
    """Constant-Q image -> theme logits.

    Parameters
    ----------
    config : ModelConfig
    """

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        self.config = config
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

    def _check(self, x: torch.Tensor) -> None:
        cfg = self.config
        if x.ndim != 4 or x.shape[1] != 1 or tuple(x.shape[2:]) != (cfg.n_bins, cfg.n_frames):
            raise SongnetError(
                f"the network expects images of shape (B, 1, {cfg.n_bins}, {cfg.n_frames}), "
                f"got {tuple(x.shape)}; make the images with the model's feature params")

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
        h = self.blocks(self.stem(x))  # (B, C, head_bins, ~n_frames / 4 / 2**n_blocks)
        b, ch, f, t = h.shape
        h = h.reshape(b, ch * f, t)  # (B, C * head_bins, T): frequency kept as channels
        h = self.temporal(h)  # (B, 2E, T)
        h = torch.cat([h.mean(dim=2), h.amax(dim=2)], dim=1)  # (B, 4E)
        return torch.relu(self.embedding(h))  # (B, E)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits ``(B, n_classes)`` for images ``(B, 1, n_bins, n_frames)``."""
        return self.classifier(self.dropout(self.embed(x)))
