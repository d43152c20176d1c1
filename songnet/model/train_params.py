"""The ``train`` section of params.yaml: :class:`TrainParams`."""

from __future__ import annotations

import dataclasses

from songnet.model.archs import DEFAULT_ARCH, check_arch
from songnet.model.openset import METRICS

__all__ = ["TrainParams"]


@dataclasses.dataclass(frozen=True)
class TrainParams:
    """The ``train`` section of params.yaml.

    Time quantities are in image frames and frequency quantities in CQT bins; ``stretch``
    is the largest tempo change (fraction); ``gain`` and ``noise_drop`` are in normalised
    image units (1 = the image's dB range). ``epochs`` is the length of the one-cycle
    learning-rate schedule; training stops earlier only after ``patience`` epochs without a
    lower validation loss, so ``patience >= epochs`` (the default) always runs the whole
    schedule and keeps the epoch with the lowest validation loss.

    ``arch`` names the network (:data:`songnet.model.archs.ARCHS`); ``channels`` (the
    widths of its stages), ``embed_dim`` and ``dropout`` apply to every network.

    ``metric_weight`` > 0 adds a supervised contrastive loss on the embedding
    (:func:`songnet.model.train.supcon_loss`, at ``metric_temperature``) to the
    cross-entropy, so the embedding the open set and the persistence table measure distances
    in is trained for that, not only as the classifier's input.
    """

    seed: int = 0
    epochs: int = 60
    batch_size: int = 64
    lr: float = 3e-3
    weight_decay: float = 1e-2
    patience: int = 60
    arch: str = DEFAULT_ARCH
    channels: tuple[int, ...] = (16, 32, 64, 128)
    embed_dim: int = 64
    dropout: float = 0.2
    shift_frames: int = 60
    pitch_bins: int = 3
    stretch: float = 0.1
    time_warp: float = 6.0
    gain: float = 0.1
    noise_prob: float = 0.5
    noise_drop: float = 0.2
    freq_mask: int = 4
    time_mask: int = 20
    num_threads: int = 2
    device: str = "auto"
    open_set_quantile: float = 0.98
    open_set_scale: float = 1.0
    open_set_pooling: str = "pooled"
    open_set_metric: str = "cosine"
    open_set_real: bool = True
    note_check_quantile: float = 0.99
    unknown_quantile: float = 0.05
    metric_weight: float = 0.0
    metric_temperature: float = 0.1

    def __post_init__(self) -> None:
        positive = {"epochs": self.epochs, "batch_size": self.batch_size, "lr": self.lr,
                    "patience": self.patience, "num_threads": self.num_threads}
        for name, value in positive.items():
            if value <= 0:
                raise ValueError(f"{name}={value} must be > 0")
        for name in ("shift_frames", "pitch_bins", "freq_mask", "time_mask", "gain",
                     "noise_drop", "weight_decay"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name}={getattr(self, name)} must be >= 0")
        if not 0.0 <= self.stretch < 1.0:
            raise ValueError(f"stretch={self.stretch} must lie in [0, 1)")
        if not 0.0 <= self.time_warp <= 20.0:
            raise ValueError(f"time_warp={self.time_warp} must lie in [0, 20] frames")
        if not 0.0 <= self.noise_prob <= 1.0:
            raise ValueError(f"noise_prob={self.noise_prob} must lie in [0, 1]")
        if not 0.0 < self.note_check_quantile <= 1.0:
            raise ValueError(f"note_check_quantile={self.note_check_quantile} must lie in "
                             "(0, 1]")
        if not 0.0 < self.open_set_quantile <= 1.0 or self.open_set_scale <= 0:
            raise ValueError(f"open_set_quantile={self.open_set_quantile} must lie in (0, 1] "
                             f"and open_set_scale={self.open_set_scale} be positive")
        if not 0.0 <= self.unknown_quantile < 1.0:
            raise ValueError(f"unknown_quantile={self.unknown_quantile} must lie in [0, 1)")
        if self.metric_weight < 0 or self.metric_temperature <= 0:
            raise ValueError(f"metric_weight={self.metric_weight} must be >= 0 and "
                             f"metric_temperature={self.metric_temperature} > 0")
        check_arch(self.arch)
        if self.open_set_pooling not in ("pooled", "per_theme"):
            raise ValueError(f"open_set_pooling={self.open_set_pooling!r} must be 'pooled' or "
                             "'per_theme'")
        if self.open_set_metric not in METRICS:
            raise ValueError(f"open_set_metric={self.open_set_metric!r} must be one of "
                             f"{', '.join(METRICS)}")
