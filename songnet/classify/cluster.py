"""``songnet classify --scheduler``: recordings, and ranges of long ones, as Dask tasks.

Each recording is planned into block ranges (:func:`songnet.classify.ranges.plan_ranges`);
every range is one task, scored by whichever worker takes it; the client joins a
recording's parts in order and finds its events, exactly those of the serial run. Each
worker process opens the model once (:func:`_model`). Dask reruns the tasks of a worker
that dies; a recording that cannot be read becomes its error line.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from songnet.classify.backends import Backend, open_model
from songnet.classify.params import ClassifyParams
from songnet.classify.ranges import BlockRange, events_of_parts, plan_ranges, score_range
from songnet.classify.report import FileResult, error_message
from songnet.classify.scan import ScanPart

__all__ = ["classify_on"]

_MODELS: dict[tuple, Backend] = {}


def _model(model_path: str | None, device: str, threads: int | None) -> Backend:
    """The model of this worker process, opened on its first task."""
    key = (model_path, device, threads)
    if key not in _MODELS:
        _MODELS[key] = open_model(model_path, device=device, threads=threads)
    return _MODELS[key]


def _range_task(path: str, block_range: BlockRange, params: ClassifyParams,
                model_path: str | None, device: str, threads: int | None
                ) -> ScanPart | str | None:
    """Score one range on a worker; a recording's problem comes back as its message."""
    try:
        return score_range(path, block_range, model=_model(model_path, device, threads),
                           params=params)
    except Exception as exc:
        msg = error_message(path, exc)
        if msg is None:
            raise
        return msg


def classify_on(client: Any, files: Sequence[str], *, model: Backend,
                model_path: str | os.PathLike | None, params: ClassifyParams, device: str,
                threads: int | None, split_s: float, lengths: dict[str, float],
                progress: Callable[[float], None] | None = None) -> Iterator[FileResult]:
    """Classify ``files`` on the cluster of ``client``, yielding results as they complete.

    Parameters
    ----------
    client : distributed.Client
    files : sequence of str
    model : Backend
        The model opened here (its feature params plan the ranges, its classes name them).
    model_path : path-like or None
        What the workers open (``None``: the shipped model); it must be readable there.
    params : ClassifyParams
    device, threads
        For the workers' :func:`songnet.classify.backends.open_model`.
    split_s : float
        Recordings longer than this are split into ranges of about this many seconds.
    lengths : dict
        Each file's duration in seconds (from its header; 0 when unknown).
    progress : callable, optional
        Called with seconds of audio finished.

    Yields
    ------
    FileResult
        One per file, in the order they complete.
    """
    from distributed import as_completed

    mp = None if model_path is None else str(Path(model_path).resolve())
    futures = {}
    plan: dict[str, list[BlockRange]] = {}
    for f in files:
        plan[f] = plan_ranges(lengths.get(f, 0.0), fp=model.fp, params=params,
                              split_s=split_s)
        for k, r in enumerate(plan[f]):
            fut = client.submit(_range_task, str(Path(f).resolve()), r, params, mp, device,
                                threads, pure=False)
            futures[fut] = (f, k)
    parts: dict[str, dict[int, Any]] = {f: {} for f in files}
    finished: set[str] = set()
    for fut in as_completed(list(futures)):
        f, k = futures.pop(fut)
        if f in finished:
            continue
        try:
            part = fut.result()
        except Exception as exc:  # KilledWorker: the task's workers died too often
            part = f"its worker died ({type(exc).__name__}); try again, with more memory"
        if progress is not None and not isinstance(part, str):
            progress(_range_seconds(plan[f][k], part))
        if isinstance(part, str):
            finished.add(f)
            yield FileResult(f, error=part)
            continue
        parts[f][k] = part
        if len(parts[f]) < len(plan[f]):
            continue
        finished.add(f)
        ordered = [parts[f][i] for i in range(len(plan[f]))]
        del parts[f]
        try:
            events, duration = events_of_parts(ordered, model=model, params=params, source=f)
        except Exception as exc:
            msg = error_message(f, exc)
            if msg is None:
                raise
            yield FileResult(f, error=msg)
            continue
        yield FileResult(f, tuple(events), duration)


def _range_seconds(block_range: BlockRange, part: ScanPart | None) -> float:
    """Seconds of audio a range owns (from its frames)."""
    if part is None:
        return 0.0
    return part.activity.active.shape[0] * part.activity.frame_s
