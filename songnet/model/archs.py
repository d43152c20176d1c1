"""The networks ``train.arch`` chooses from, and their size.

Every network reads a Constant-Q image ``(B, 1, n_bins, n_frames)`` and has the interface
of :class:`~songnet.model.network.Network`: ``forward`` (logits), ``embed`` (the
non-negative penultimate layer the latent stage and the open-set matcher use),
``classifier``, ``cam_layer`` (for Grad-CAM) and the same input check. ``channels`` are
the widths of the stages, ``embed_dim`` the penultimate layer and ``dropout`` the dropout
before the classifier, for every network:

- ``songnet`` (:class:`~songnet.model.network.ThemeCNN`, the default): strided stem,
  depthwise-separable blocks, a temporal head that keeps the frequency axis.
- ``lenet`` (:class:`LeNet`): 5x5 convolutions and max pooling, then fully connected
  layers; the first stage strides and pools time by 4 to fit the wide image.
- ``resnet`` (:class:`ResNet`): strided stem and max pooling, then basic residual blocks
  with BatchNorm (stage 1 keeps the size, each later stage halves it), global pooling.
- ``mobilenet`` (:class:`MobileNet`): the same stem, then MobileNetV2 inverted residual
  blocks (1x1 expansion, depthwise 3x3, linear 1x1 projection), global pooling.

The defaults make them all cost about the same on a CPU (:func:`count_flops`,
:func:`count_params`); a checkpoint records its network's name with its config.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
from collections.abc import Mapping
from typing import Any, ClassVar

import torch
from torch import nn

from songnet.model.network import Network, NetworkConfig, ThemeCNN

__all__ = ["ARCHS", "DEFAULT_ARCH", "LeNet", "LeNetConfig", "MobileNet", "MobileNetConfig",
           "ResNet", "ResNetConfig", "build_model", "check_arch", "config_from_dict",
           "count_flops", "count_params"]


def _conv_out(n: int, *, kernel: int, stride: int, padding: int) -> int:
    return (n + 2 * padding - kernel) // stride + 1


def _check_map(config: NetworkConfig, f: int, t: int) -> None:
    """ValueError when the last feature map ``f x t`` would be empty."""
    if f < 1 or t < 1:
        raise ValueError(f"image {config.n_bins}x{config.n_frames} is too small for the "
                         f"{config.arch} network's {len(config.channels)} stages; list fewer "
                         "stages in channels")


@dataclasses.dataclass(frozen=True)
class LeNetConfig(NetworkConfig):
    """Shape and size of a :class:`LeNet` (fields as in :class:`NetworkConfig`).

    ``channels`` are the widths of the 5x5 convolutions; ``embed_dim`` the second fully
    connected layer (the first has ``2 * embed_dim`` units).
    """

    arch: ClassVar[str] = "lenet"

    def __post_init__(self) -> None:
        super().__post_init__()
        _check_map(self, *self.feature_map)

    @property
    def feature_map(self) -> tuple[int, int]:
        """``(F, T)`` of the last convolution stage's output."""
        f = _conv_out(self.n_bins, kernel=5, stride=2, padding=2) // 2
        t = _conv_out(self.n_frames, kernel=5, stride=4, padding=2) // 4
        for _ in self.channels[1:]:
            f, t = f // 2, t // 2
        return f, t


class LeNet(Network):
    """LeNet-style: (5x5 conv, BatchNorm, ReLU, max pool) per stage, then fully connected
    layers. Without the BatchNorm (LeNet-5 had none) the network stayed at chance under the
    shared training recipe (AdamW, one-cycle to 3e-3): test accuracy 0.143 in the first
    comparison run; with it, every network trains with the same recipe.

    The first stage strides (2, 4) and pools (2, 4), later stages pool 2x2: on the
    80 x 517 image the stages run at 40 x 130, 20 x 32, 10 x 16 and 5 x 8 and leave 2 x 4.
    """

    arch: ClassVar[str] = "lenet"
    config_class: ClassVar[type[NetworkConfig]] = LeNetConfig

    def __init__(self, config: LeNetConfig) -> None:
        super().__init__(config)
        c = config.channels
        layers: list[nn.Module] = [nn.Conv2d(1, c[0], 5, stride=(2, 4), padding=2, bias=False),
                                   nn.BatchNorm2d(c[0]), nn.ReLU(), nn.MaxPool2d((2, 4))]
        for a, b in itertools.pairwise(c):
            layers += [nn.Conv2d(a, b, 5, padding=2, bias=False), nn.BatchNorm2d(b), nn.ReLU(),
                       nn.MaxPool2d(2)]
        self.features = nn.Sequential(*layers)
        f, t = config.feature_map
        self.fc = nn.Sequential(nn.Linear(c[-1] * f * t, 2 * config.embed_dim), nn.ReLU(),
                                nn.Linear(2 * config.embed_dim, config.embed_dim), nn.ReLU())
        self.dropout = nn.Dropout(config.dropout)
        self.classifier = nn.Linear(config.embed_dim, config.n_classes)

    @property
    def cam_layer(self) -> nn.Module:
        return self.features

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        self._check(x)
        h = self.features(x)  # (B, C, F, T)
        h = h.flatten(1)  # (B, C * F * T)
        return self.fc(h)  # (B, E), after ReLU


def _stem(c: int) -> list[nn.Module]:
    """ThemeCNN's strided stem ((2, 4)) and a 2x2 max pooling: a quarter of the bins and
    a sixteenth of the frames."""
    return [nn.Conv2d(1, c, (3, 5), stride=(2, 4), padding=(1, 2), bias=False),
            nn.BatchNorm2d(c), nn.ReLU(), nn.MaxPool2d(2)]


def _check_stem_stages(config: NetworkConfig) -> None:
    """ValueError unless every stride-2 stage after :func:`_stem` gets 2 or more rows and
    columns (padded convolutions would keep a 1 x 1 map forever)."""
    f = _conv_out(config.n_bins, kernel=3, stride=2, padding=1) // 2
    t = _conv_out(config.n_frames, kernel=5, stride=4, padding=2) // 2
    for _ in config.channels[1:]:
        f, t = f // 2, t // 2
    _check_map(config, f, t)


@dataclasses.dataclass(frozen=True)
class ResNetConfig(NetworkConfig):
    """Shape and size of a :class:`ResNet`.

    Parameters
    ----------
    n_bins, n_frames, n_classes, embed_dim, dropout
        As in :class:`NetworkConfig`.
    channels : tuple of int
        Width of each stage: the stem and the first stage have ``channels[0]``; each
        later stage halves frequency and time.
    depth : int
        Basic residual blocks per stage.
    """

    arch: ClassVar[str] = "resnet"
    depth: int = 1

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.depth < 1:
            raise ValueError(f"depth={self.depth} must be >= 1")
        _check_stem_stages(self)


class _Basic(nn.Module):
    """Two 3x3 conv + BN, added to the input (a 1x1 conv + BN when the shape changes)."""

    def __init__(self, c_in: int, c_out: int, stride: int) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(c_in, c_out, 3, stride=stride, padding=1, bias=False),
            nn.BatchNorm2d(c_out), nn.ReLU(),
            nn.Conv2d(c_out, c_out, 3, padding=1, bias=False), nn.BatchNorm2d(c_out))
        self.shortcut = nn.Identity()
        if stride != 1 or c_in != c_out:
            self.shortcut = nn.Sequential(nn.Conv2d(c_in, c_out, 1, stride=stride, bias=False),
                                          nn.BatchNorm2d(c_out))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(self.body(x) + self.shortcut(x))


class _Pooled(Network):
    """A stem, ``stages`` (the last 4-D map, Grad-CAM's layer), global average pooling and
    a fully connected embedding: the head ResNet and MobileNet share."""

    def __init__(self, config: NetworkConfig) -> None:
        super().__init__(config)
        c = config.channels
        self.stem = nn.Sequential(*_stem(c[0]))  # built in this order: same seed, same weights
        self.stages = nn.Sequential(*self._stages(config))
        self.embedding = nn.Linear(c[-1], config.embed_dim)
        self.dropout = nn.Dropout(config.dropout)
        self.classifier = nn.Linear(config.embed_dim, config.n_classes)

    def _stages(self, config: Any) -> list[nn.Module]:
        raise NotImplementedError

    @property
    def cam_layer(self) -> nn.Module:
        return self.stages

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        self._check(x)
        h = self.stages(self.stem(x))  # (B, C, F, T)
        h = h.mean(dim=(2, 3))  # (B, C)
        return torch.relu(self.embedding(h))  # (B, E)


class ResNet(_Pooled):
    """A small ResNet: stem, ``depth`` basic blocks per stage, global average pooling,
    a fully connected embedding."""

    arch: ClassVar[str] = "resnet"
    config_class: ClassVar[type[NetworkConfig]] = ResNetConfig

    def _stages(self, config: ResNetConfig) -> list[nn.Module]:
        c = config.channels
        blocks = []
        for i, b in enumerate(c):  # stage 0 keeps the stem's size, the others halve it
            blocks += [_Basic(c[max(i - 1, 0)], b, 1 if i == 0 else 2)]
            blocks += [_Basic(b, b, 1) for _ in range(config.depth - 1)]
        return blocks


@dataclasses.dataclass(frozen=True)
class MobileNetConfig(NetworkConfig):
    """Shape and size of a :class:`MobileNet`.

    Parameters
    ----------
    n_bins, n_frames, n_classes, embed_dim, dropout
        As in :class:`NetworkConfig`.
    channels : tuple of int
        ``channels[0]`` is the stem; each later entry is a stage that halves frequency and
        time.
    expansion : int
        Expansion factor of the inverted residual blocks (hidden width / input width).
    depth : int
        Blocks per stage: one that halves the size, then ``depth - 1`` residual ones.
    """

    arch: ClassVar[str] = "mobilenet"
    expansion: int = 4
    depth: int = 2

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.expansion < 1 or self.depth < 1:
            raise ValueError(f"expansion={self.expansion} and depth={self.depth} must be >= 1")
        _check_stem_stages(self)


class _Inverted(nn.Module):
    """MobileNetV2 block: 1x1 expansion, depthwise 3x3 (ReLU6 after each), linear 1x1
    projection; added to the input when the shape is kept."""

    def __init__(self, c_in: int, c_out: int, *, stride: int, expansion: int) -> None:
        super().__init__()
        hidden = c_in * expansion
        self.residual = stride == 1 and c_in == c_out
        self.body = nn.Sequential(
            nn.Conv2d(c_in, hidden, 1, bias=False), nn.BatchNorm2d(hidden), nn.ReLU6(),
            nn.Conv2d(hidden, hidden, 3, stride=stride, padding=1, groups=hidden, bias=False),
            nn.BatchNorm2d(hidden), nn.ReLU6(),
            nn.Conv2d(hidden, c_out, 1, bias=False), nn.BatchNorm2d(c_out))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.body(x)
        return x + y if self.residual else y


class MobileNet(_Pooled):
    """MobileNetV2-style: stem, inverted residual stages, a 1x1 conv + ReLU6, global
    average pooling, a fully connected embedding."""

    arch: ClassVar[str] = "mobilenet"
    config_class: ClassVar[type[NetworkConfig]] = MobileNetConfig

    def _stages(self, config: MobileNetConfig) -> list[nn.Module]:
        c, t = config.channels, config.expansion
        blocks = []
        for a, b in itertools.pairwise(c):
            blocks += [_Inverted(a, b, stride=2, expansion=t)]
            blocks += [_Inverted(b, b, stride=1, expansion=t) for _ in range(config.depth - 1)]
        # the projections are linear: a last 1x1 conv + ReLU6 gives the map Grad-CAM reads
        blocks += [nn.Conv2d(c[-1], c[-1], 1, bias=False), nn.BatchNorm2d(c[-1]), nn.ReLU6()]
        return blocks


ARCHS: dict[str, type[Network]] = {
    "songnet": ThemeCNN, "lenet": LeNet, "resnet": ResNet, "mobilenet": MobileNet}
"""``train.arch`` name -> network class (its ``config_class`` is its config)."""

DEFAULT_ARCH = "songnet"
"""The network of checkpoints that do not name one (all written before ``train.arch``)."""

def check_arch(arch: str) -> str:
    """``arch`` when it names a network of :data:`ARCHS`, else a ValueError naming it
    and the choices."""
    if arch not in ARCHS:
        raise ValueError(f"arch={arch!r} is not a songnet network; choose one of "
                         f"{', '.join(ARCHS)}")
    return arch


def config_from_dict(arch: str, d: Mapping[str, Any]) -> NetworkConfig:
    """The config of network ``arch`` from plain fields (missing ones take defaults; an
    ``"arch"`` entry, as in a checkpoint, must agree)."""
    return ARCHS[check_arch(arch)].config_class.from_dict(d)


def build_model(arch: str, config: NetworkConfig | Mapping[str, Any]) -> Network:
    """A fresh (randomly initialised, from the global torch RNG) network ``arch``.

    Parameters
    ----------
    arch : str
        A key of :data:`ARCHS`.
    config : NetworkConfig or mapping
        That network's config, or plain fields for :func:`config_from_dict`.
    """
    if isinstance(config, Mapping):
        config = config_from_dict(arch, config)
    cls = ARCHS[check_arch(arch)]
    if type(config) is not cls.config_class:
        raise ValueError(f"the {arch!r} network needs a {cls.config_class.__name__}, got a "
                         f"{type(config).__name__}")
    return cls(config)


def count_params(model: nn.Module) -> int:
    """Number of parameters (weights and biases; BatchNorm running statistics excluded)."""
    return sum(p.numel() for p in model.parameters())


def count_flops(model: nn.Module, n_bins: int, n_frames: int) -> int:
    """Multiply-accumulates (MACs) of one image's forward pass; FLOPs are about twice this.

    Counts the Conv1d/Conv2d and Linear layers (biases, normalisation, activations and
    pooling left out), measured with forward hooks on one ``(1, 1, n_bins, n_frames)``
    image: a convolution costs ``output elements x in_channels / groups x kernel size``,
    a Linear ``output elements x in_features``.
    """
    total = 0

    def hook(module: nn.Module, _inputs: Any, output: torch.Tensor) -> None:
        nonlocal total
        if isinstance(module, nn.Linear):
            total += output.numel() * module.in_features
        else:
            k = math.prod(module.kernel_size)
            total += output.numel() * module.in_channels // module.groups * k

    kinds = (nn.Conv1d, nn.Conv2d, nn.Linear)
    handles = [m.register_forward_hook(hook) for m in model.modules() if isinstance(m, kinds)]
    was_training = model.training
    try:
        model.eval()
        p = next(model.parameters(), None)
        x = torch.zeros(1, 1, n_bins, n_frames, device=p.device if p is not None else "cpu")
        with torch.no_grad():
            model(x)
    finally:
        for h in handles:
            h.remove()
        model.train(was_training)
    return int(total)
