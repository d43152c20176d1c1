"""The ``Sound`` domain type: mono samples that carry their sample rate.

Pass ``Sound`` objects between functions rather than loose ``(y, sr)`` tuples. A
``Sound`` validates on construction: one channel, finite float32 samples, a positive
integer rate.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np

from songnet.core.errors import SongnetError

__all__ = ["Sound"]


@dataclasses.dataclass(frozen=True, eq=False)
class Sound:
    """Mono audio.

    Attributes
    ----------
    samples : np.ndarray [shape=(n,), dtype=float32]
        Pressure samples, nominally within [-1, 1].
    sr : int
        Sample rate in Hz.
    source : str, optional
        Where the sound came from (a file path, or a description), for error messages.
    """

    samples: np.ndarray
    sr: int
    source: str = "<array>"

    def __post_init__(self) -> None:
        y = np.asarray(self.samples)
        if y.ndim != 1:
            raise SongnetError(f"{self.source}: expected mono samples of shape (n,), "
                               f"got shape {y.shape}; mix channels down first")
        if not np.issubdtype(y.dtype, np.floating):
            raise SongnetError(f"{self.source}: samples must be floating point, got {y.dtype}")
        y = np.ascontiguousarray(y, dtype=np.float32)
        if not np.all(np.isfinite(y)):
            raise SongnetError(f"{self.source}: samples contain NaN or inf; "
                               "the file is corrupt or was written with invalid values")
        if int(self.sr) != self.sr or self.sr <= 0:
            raise SongnetError(f"{self.source}: sample rate sr={self.sr} must be a positive "
                               "integer")
        object.__setattr__(self, "samples", y)
        object.__setattr__(self, "sr", int(self.sr))

    @property
    def duration(self) -> float:
        """Duration in seconds."""
        return self.samples.shape[0] / self.sr

    @property
    def name(self) -> str:
        """A short label: the file name when the source is a path."""
        return Path(self.source).name if self.source != "<array>" else self.source

    def __len__(self) -> int:
        return int(self.samples.shape[0])
