"""Each streamed block made ready for the scan (:class:`BlockPreparer`): its checks, its
transform from its first frame on the recording's grid, its frame activity and noise floor.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from songnet.classify.activity import Activity, frame_activity, noise_floor
from songnet.classify.backends import Backend
from songnet.classify.bounds import activity_peaks
from songnet.classify.params import ClassifyParams, listening_bins
from songnet.core import audio
from songnet.core.errors import SongnetError
from songnet.features.npcqt import fit_window

__all__ = ["BlockPreparer", "Prepared"]


@dataclasses.dataclass(frozen=True)
class Prepared:
    """One block made ready by :meth:`BlockPreparer.prepare`: its power ``(n_bins, T)`` from
    global frame ``g0``, ``n_real`` frames of real audio, frame activity, per-bin noise
    floor ``(n_bins, 1)``, peak sample, end (s from the recording's start) and samples."""

    power: Any
    g0: int
    n_real: int
    activity: Activity
    floor: np.ndarray
    peak: float
    end_s: float
    samples: np.ndarray  # the block from frame 0's centre on


class BlockPreparer:
    """What a block needs before the scan takes it, from the scan's settings alone (never
    its state), so several blocks can be prepared at once on other threads
    (:func:`songnet.classify.windows._prepared`)."""

    def __init__(self, backend: Backend, *, params: ClassifyParams, source: str) -> None:
        self.backend, self.params, self.source = backend, params, source
        self.fp = fp = backend.fp
        self.frame_s = fp.hop_length / fp.sr
        listen = listening_bins(fp, params)
        self.band = None if listen.all() else listen  # None: every bin (no copy)

    def prepare(self, block: audio.Block, *, last: bool, threads: int | None = None
                ) -> Prepared:
        """The block's checks, transform and frame activity: what
        :meth:`songnet.classify.scan.Scan.take` needs (``threads`` for the transform; None:
        the backend's own)."""
        fp = self.fp
        y, peak = self._checked(block)
        power, g0, n_real, on_grid = self._power(y, start_s=block.start_s, last=last,
                                                 threads=threads)
        act_power = self.backend.activity_power(power)
        floor = noise_floor(act_power)  # one per block: for the activity and the candidates
        band = self.band
        act = frame_activity(act_power if band is None else act_power[band],
                             frequencies=fp.frequencies if band is None
                             else fp.frequencies[band], frame_s=self.frame_s,
                             threshold_db=self.params.activity_db,
                             floor=floor if band is None else floor[band])
        # what the note check and the events' boundaries read (songnet.classify.bounds)
        act = dataclasses.replace(act, peaks=activity_peaks(act_power, fp.frequencies,
                                                             act.active))
        return Prepared(power, g0, n_real, act, floor, peak,
                         block.start_s + y.shape[0] / fp.sr, on_grid)

    def _checked(self, block: audio.Block) -> tuple[np.ndarray, float]:
        """The block's samples as float32 and their peak; errors for a wrong rate or
        NaN/inf samples."""
        y = np.asarray(block.samples, dtype=np.float32)
        if block.sr != self.fp.sr:
            raise SongnetError(f"{self.source}: block at {block.sr} Hz, the model needs "
                               f"{self.fp.sr} Hz")
        peak = float(np.abs(y).max(initial=0.0))  # NaN or inf when any sample is
        if not np.isfinite(peak):
            bad = block.start_s + int(np.flatnonzero(~np.isfinite(y))[0]) / self.fp.sr
            raise SongnetError(f"{self.source}: NaN or infinite samples (first at {bad:.2f} s); "
                               "the file is corrupt or was written with invalid values")
        return y, peak

    def _power(self, y: np.ndarray, *, start_s: float, last: bool, threads: int | None = None
               ) -> tuple[Any, int, int, np.ndarray]:
        """CQT power (n_bins, T) of the block from its first frame on the global grid;
        that frame's global index, the number of frames of real (unpadded) audio, and the
        block's samples from that frame's centre on (unpadded)."""
        fp = self.fp
        start_n = round(start_s * fp.sr)
        skip = -start_n % fp.hop_length  # start on the frame grid
        y = y[skip:]
        g0 = (start_n + skip) // fp.hop_length
        n_real = 1 + y.shape[0] // fp.hop_length
        padded = fit_window(y, params=fp) if g0 == 0 and last and y.shape[0] < fp.n_samples \
            else y  # a clip shorter than one window
        return self.backend.power(padded, threads=threads), g0, n_real, y
