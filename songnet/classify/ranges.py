"""A long recording split into ranges of blocks, scored apart and joined in order.

The serial scan (:func:`songnet.classify.windows.score_blocks`) walks the blocks of
:func:`songnet.core.audio.stream` in order. A *range* is a run of those same blocks: its
scan starts where the serial scan would be after the block before it (:meth:`Scan.skip`, no
transform), scores its own windows and owns its own frames, so that joining the ranges in
order (:func:`~songnet.classify.scan.join_parts`) gives the window scores and activity of
the serial run, and :func:`songnet.classify.events.find_events` on them its events. Ranges
run on different workers (:mod:`songnet.classify.cluster`).
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from typing import Any

from songnet.classify.backends import as_backend
from songnet.classify.events import Event
from songnet.classify.params import ClassifyParams, block_overlap_s
from songnet.classify.recordings import read_ahead
from songnet.classify.scan import Scan, ScanPart, flag_last, join_parts
from songnet.classify.scores import Candidates
from songnet.classify.windows import events_of
from songnet.core import audio

__all__ = ["BlockRange", "events_of_parts", "plan_ranges", "score_range", "stream_params"]

BlockRange = tuple[int, int | None]
"""Blocks ``[first, stop)`` of a recording's stream; ``stop=None``: to the end."""


def stream_params(fp: Any, params: ClassifyParams) -> tuple[float, float]:
    """``(block_s, overlap_s)`` of the serial run's :func:`songnet.core.audio.stream`."""
    overlap_s = block_overlap_s(fp)
    return max(params.block_s, 2 * overlap_s), overlap_s


def plan_ranges(duration_s: float, *, fp: Any, params: ClassifyParams,
                split_s: float) -> list[BlockRange]:
    """Split a recording ``duration_s`` long into ranges of about ``split_s`` seconds.

    Parameters
    ----------
    duration_s : float
        The recording's length (from its header; the last range reads to the end, so an
        estimate that is off by a block changes nothing).
    fp : FeatureParams
    params : ClassifyParams
    split_s : float
        Seconds of audio per range, at least one block.

    Returns
    -------
    list of (int, int or None)
        Consecutive block ranges; the last is open-ended. One range for a short file.
    """
    block_s, overlap_s = stream_params(fp, params)
    step_s = block_s - overlap_s
    per_range = max(1, round(split_s / step_s))
    n_blocks = max(1, math.ceil(max(0.0, duration_s - overlap_s) / step_s))
    n_ranges = max(1, math.ceil(n_blocks / per_range))
    ranges: list[BlockRange] = [(k * per_range, (k + 1) * per_range)
                                for k in range(n_ranges - 1)]
    return [*ranges, ((n_ranges - 1) * per_range, None)]


def score_range(path: str | os.PathLike, block_range: BlockRange, *, model: Any,
                params: ClassifyParams) -> ScanPart | None:
    """Score the blocks ``block_range`` of a recording, as the serial scan would.

    The stream is decoded from the start (the blocks before the range are read, not
    transformed), so the samples are exactly the serial run's, resampling included.

    Returns
    -------
    ScanPart or None
        ``None`` when the recording ends before the range starts.
    """
    backend = as_backend(model, device="cpu")
    first, stop = block_range
    block_s, overlap_s = stream_params(backend.fp, params)
    scan = Scan(backend, params=params, source=str(path))
    scored = False
    blocks = audio.stream(path, sr=backend.fp.sr, block_s=block_s, overlap_s=overlap_s)
    with read_ahead(blocks) as ahead:
        for k, (block, last) in enumerate(flag_last(ahead)):
            if k < first - 1:
                continue
            if k == first - 1:
                scan.skip(block)
                continue
            if stop is not None and k >= stop:
                break
            scan.add(block, last=last)
            scored = True
    return scan.part() if scored else None


def events_of_parts(parts: Sequence[ScanPart | None], *, model: Any,
                    params: ClassifyParams, source: str) -> tuple[list[Event], float]:
    """Events and duration of a recording from its ranges' parts, in order."""
    backend = as_backend(model, device="cpu")
    scored = [p for p in parts if p is not None]
    scores, activity, duration = join_parts(scored, model=backend, source=source)
    candidates = Candidates.concatenate([p.candidates for p in scored if p.candidates is not None],
                                        n_classes=len(backend.classes),
                                        embed_dim=backend.embed_dim)
    return events_of(scores, activity, candidates, backend=backend, params=params,
                     source=source), duration
