"""Find chingolo songs in long field recordings and name their themes.

A recording streams in long, overlapping blocks (:func:`songnet.core.audio.stream`), so memory
stays bounded whatever its length. Each block gets one batched Constant-Q transform; the
analysis windows (``features.window_s`` long, ``hop_s`` apart on one grid over the whole
recording) are cut from those frames, normalised into images exactly as in training, and
scored by the CNN in batches. The same frames give the frame activity that times the
songs. :func:`songnet.classify.events.find_events` then merges window scores into events. The scan
itself is :mod:`songnet.classify.scan`; the settings :mod:`songnet.classify.params`.

A recording without song gives no events: that is a result, not an error.
"""

from __future__ import annotations

import collections
import os
from collections.abc import Iterable, Iterator
from typing import Any

from songnet.classify.activity import Activity
from songnet.classify.backends import Backend, as_backend
from songnet.classify.blocks import Prepared
from songnet.classify.events import Event, find_events
from songnet.classify.params import ClassifyParams, block_overlap_s
from songnet.classify.recordings import read_ahead
from songnet.classify.scan import Scan, flag_last, join_scores
from songnet.classify.scores import Candidates, WindowScores
from songnet.core import audio
from songnet.core.progress import ProgressCallback
from songnet.core.threads import shared_pool

__all__ = ["classify_blocks", "classify_file", "events_of", "scan_events", "score_blocks"]

_DEFAULT_PARAMS = ClassifyParams()


def classify_file(path: str | os.PathLike, *, model: Any,
                  params: ClassifyParams = _DEFAULT_PARAMS, device: str = "auto",
                  progress: ProgressCallback | None = None) -> tuple[list[Event], float]:
    """Classify one recording, streamed from disk.

    Parameters
    ----------
    path : path-like
        Any audio file :mod:`songnet.core.audio` reads.
    model : OnnxModel, Checkpoint or Backend
        The model (:func:`songnet.classify.backends.open_model`); its feature params fix
        the rate and the images.
    params : ClassifyParams
    device : str
        For a ``Checkpoint``: ``"auto"`` (CUDA when present), ``"cpu"`` or ``"cuda"``.
    progress : callable, optional
        Called with seconds of audio processed as work advances.

    Returns
    -------
    events : list of Event
    duration_s : float
        Seconds of audio processed.
    """
    backend = as_backend(model, device=device)
    fp = backend.fp
    overlap_s = block_overlap_s(fp)
    block_s = max(params.block_s, 2 * overlap_s)
    blocks = audio.stream(path, sr=fp.sr, block_s=block_s, overlap_s=overlap_s)
    with read_ahead(blocks) as ahead:  # decoding overlaps the transform of the last block
        return classify_blocks(ahead, model=backend, params=params, source=str(path),
                               progress=progress)


def classify_blocks(blocks: Iterable[audio.Block], *, model: Any,
                    params: ClassifyParams = _DEFAULT_PARAMS, device: str = "auto",
                    source: str = "<array>",
                    progress: ProgressCallback | None = None) -> tuple[list[Event], float]:
    """Classify a recording given as consecutive overlapping blocks.

    :func:`score_blocks` scores the windows, then :func:`songnet.classify.events.find_events`
    merges them into events; parameters and errors are those of :func:`score_blocks`.

    Returns
    -------
    events : list of Event
    duration_s : float
    """
    events, _, duration = scan_events(blocks, model=model, params=params, device=device,
                                      source=source, progress=progress)
    return events, duration


def scan_events(blocks: Iterable[audio.Block], *, model: Any,
                params: ClassifyParams = _DEFAULT_PARAMS, device: str = "auto",
                source: str = "<array>", progress: ProgressCallback | None = None
                ) -> tuple[list[Event], Activity, float]:
    """:func:`classify_blocks`, with the recording's frame activity (and its peaks) the
    events were found and timed on: what ``songnet explain`` reads the songs from, in the
    same one scan.

    Returns
    -------
    events : list of Event
    activity : Activity
    duration_s : float
    """
    backend = as_backend(model, device=device)
    scan = _scanned(blocks, backend=backend, params=params, source=source, progress=progress)
    part = scan.part()
    scores, activity, duration = join_scores([part], source=source, window_s=scan.window_s,
                                         classes=backend.classes, embed_dim=backend.embed_dim)
    return events_of(scores, activity, part.candidates, backend=backend, params=params,
                     source=source), activity, duration


def events_of(scores: WindowScores, activity: Activity, candidates: Candidates, *,
              backend: Backend, params: ClassifyParams, source: str) -> list[Event]:
    """The events of a scanned recording (:func:`songnet.classify.events.find_events`)."""
    freqs = backend.fp.frequencies
    return find_events(scores, activity=activity, detect_threshold=params.detect_threshold,
                       min_confidence=params.min_confidence, split_gap_s=params.split_gap_s,
                       min_event_s=params.min_event_s,
                       band_hz=(float(freqs[0]), float(freqs[-1])),
                       open_set=backend.open_set, candidates=candidates,
                       unknown_min_p=backend.unknown_min_p, source=source,
                       note_check=_note_check(backend, params),
                       min_song_score=params.min_song_score, themes=params.themes)


def score_blocks(blocks: Iterable[audio.Block], *, model: Any,
                 params: ClassifyParams = _DEFAULT_PARAMS, device: str = "auto",
                 source: str = "<array>", progress: ProgressCallback | None = None,
                 ) -> tuple[WindowScores, Activity, float]:
    """Window probabilities and frame activity of a recording given as blocks.

    Parameters
    ----------
    blocks : iterable of Block
        ``Block(samples float32 (n,), start_s, sr)`` at ``model``'s feature rate, in
        order; consecutive blocks overlap by at least one window plus a margin (what
        :func:`classify_file` asks of :func:`songnet.core.audio.stream`).
    model : OnnxModel, Checkpoint or Backend
    params : ClassifyParams
    device : str
        For a ``Checkpoint``: ``"auto"``, ``"cpu"`` or ``"cuda"``.
    source : str
        The recording's name, for events and error messages.
    progress : callable, optional
        Called with seconds of audio finished.

    Returns
    -------
    scores : WindowScores
        Windows ``features.window_s`` long every ``hop_s`` (rounded to frames), plus one
        flush with the end; a recording shorter than a window gets one padded window.
    activity : Activity
        One entry per CQT frame of the recording.
    duration_s : float

    Raises
    ------
    SongnetError
        For an empty recording, NaN or infinite samples, or one that is all zeros.
    """
    return _scanned(blocks, backend=as_backend(model, device=device), params=params,
                    source=source, progress=progress).finish()


def _scanned(blocks: Iterable[audio.Block], *, backend: Backend, params: ClassifyParams,
             source: str, progress: ProgressCallback | None) -> Scan:
    """A :class:`Scan` that has taken every block, reporting progress after each."""
    scan = Scan(backend, params=params, source=source)
    for prep, last in _prepared(scan, blocks):
        scan.take(prep, last=last)
        if progress is not None:
            progress(scan.take_progress())
    return scan


def _prepared(scan: Scan, blocks: Iterable[audio.Block]
              ) -> Iterator[tuple[Prepared, bool]]:
    """``(scan.preparer.prepare(block), is_last)`` for every block, in order.

    With a backend of ``block_threads > 1`` (the NumPy CQT) that many blocks are prepared at
    once, each on its own thread with a one-thread transform: the transform, the noise
    floor and the activity all release the GIL in NumPy, so every core works on the
    recording. At most that many prepared blocks wait, so memory stays bounded.
    """
    n = int(getattr(scan.backend, "block_threads", 1))
    flagged = flag_last(blocks)
    if n <= 1:
        for block, last in flagged:
            yield scan.preparer.prepare(block, last=last), last
        return
    pool = shared_pool("block", n)  # its work waits on the "cqt" pool, never on itself
    waiting: collections.deque = collections.deque()
    try:
        for block, last in flagged:
            # the last block has the cores to itself once the others are done
            threads = None if last else 1
            waiting.append((pool.submit(scan.preparer.prepare, block, last=last,
                                        threads=threads), last))
            if len(waiting) >= n:
                future, is_last = waiting.popleft()
                yield future.result(), is_last
        while waiting:
            future, is_last = waiting.popleft()
            yield future.result(), is_last
    finally:
        for future, _ in waiting:  # an error or an abandoned scan: drop what is queued
            future.cancel()


def _note_check(backend: Backend, params: ClassifyParams) -> Any:
    """The model's note check when ``params`` ask for it, else None."""
    return getattr(backend, "note_check", None) if params.note_check else None


