"""The ``synthesize`` section of params.yaml: :class:`SynthesizeParams`."""

from __future__ import annotations

import dataclasses

from songnet.core.labels import SPLITS

__all__ = ["SynthesizeParams"]


@dataclasses.dataclass(frozen=True)
class SynthesizeParams:
    """The ``synthesize`` section of params.yaml (ranges are ``[low, high]``)."""

    seed: int = 0
    clip_s: float = 3.0
    train_birds: int = 8
    train_songs_per_bird: int = 8
    val_birds: int = 3
    val_songs_per_bird: int = 6
    test_birds: int = 3
    test_songs_per_bird: int = 6
    stress_birds: int = 3
    stress_songs_per_bird: int = 6
    no_song_factor: float = 2.0
    snr_db: tuple[float, float] = (-6.0, 30.0)
    stress_snr_db: tuple[float, float] = (-6.0, 6.0)
    distance_m: tuple[float, float] = (5.0, 40.0)
    bird_pitch_sd: float = 0.03
    bird_tempo_sd: float = 0.05
    rendition_sd: float = 0.015
    stress_spread: float = 2.0
    train_wide_share: float = 0.0
    gamma_jitter: float = 0.015
    tract_length_cm: tuple[float, float] = (3.3, 4.0)
    reflection: tuple[float, float] = (0.05, 0.15)
    clutter_prob: float = 0.5
    reverb_prob: float = 0.3
    unknown_factor: float = 2.0
    unknown_distance: float = 3.0
    unknown_own_trill: float = 0.0
    unknown_near: float = 0.0
    world_prob: float = 0.8
    fragment_prob: float = 0.2
    negatives: str = ""
    negatives_prob: float = 0.5
    recordings: str = ""
    real_copies: int = 8
    real_resing: bool = True
    real_background_prob: float = 0.5
    workers: int = 2

    def __post_init__(self) -> None:
        if self.clip_s <= 0:
            raise ValueError(f"clip_s={self.clip_s} must be positive")
        for split in SPLITS:
            if getattr(self, f"{split}_birds") < 1 or getattr(self, f"{split}_songs_per_bird") < 1:
                raise ValueError(f"{split}_birds and {split}_songs_per_bird must be at least 1")
        for name in ("snr_db", "stress_snr_db", "distance_m", "tract_length_cm", "reflection"):
            lo, hi = getattr(self, name)
            if lo > hi:
                raise ValueError(f"{name}=[{lo}, {hi}] must be [low, high]")
        if not (0 < self.distance_m[0] and self.distance_m[1] <= 1000):
            raise ValueError(f"distance_m={list(self.distance_m)} must lie in (0, 1000] m")
        if not 0 < self.clip_s <= 60:
            raise ValueError(f"clip_s={self.clip_s} must lie in (0, 60] s (the limit)")
        for name in ("clutter_prob", "reverb_prob"):
            if not 0 <= getattr(self, name) <= 1:
                raise ValueError(f"{name}={getattr(self, name)} must lie in [0, 1]")
        if self.workers < 1:
            raise ValueError(f"workers={self.workers} must be at least 1")
        if not 0 <= self.unknown_factor <= 10:
            raise ValueError(f"unknown_factor={self.unknown_factor} must lie in [0, 10]")
        if not 0.5 <= self.unknown_distance <= 6:
            raise ValueError(f"unknown_distance={self.unknown_distance} must lie in [0.5, 6] "
                             "(notes' worth of difference)")
        if not 1 <= self.real_copies <= 100:
            raise ValueError(f"real_copies={self.real_copies} must lie in [1, 100]")
        for name in ("unknown_own_trill", "unknown_near", "world_prob", "fragment_prob",
                     "negatives_prob", "train_wide_share", "real_background_prob"):
            if not 0 <= getattr(self, name) <= 1:
                raise ValueError(f"{name}={getattr(self, name)} must lie in [0, 1]")
