"""Find chingolo songs in long field recordings and name their themes.

A recording streams in long, overlapping blocks (:func:`songnet.core.audio.stream`), so memory
stays bounded whatever its length. Each block gets one batched Constant-Q transform; the
analysis windows (``features.window_s`` long, ``hop_s`` apart on one grid over the whole
recording) are cut from those frames, normalised into images exactly as in training, and
scored by the CNN in batches. The same frames give the frame activity that times the
songs. :func:`songnet.events.find_events` then merges window scores into events.

A recording without song gives no events: that is a result, not an error.
"""

from __future__ import annotations

import collections
import dataclasses
import os
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import numpy as np

from songnet.classify.backends import Backend, as_backend
from songnet.classify.bounds import activity_peaks
from songnet.classify.events import (
    Activity,
    Candidates,
    Event,
    WindowScores,
    check_themes,
    find_events,
    frame_activity,
    noise_floor,
    song_candidates,
)
from songnet.classify.recordings import read_ahead
from songnet.core import audio
from songnet.core.errors import SongnetError
from songnet.core.progress import ProgressCallback
from songnet.core.threads import shared_pool
from songnet.features.frontends import stft_n_fft
from songnet.features.npcqt import fit_window
from songnet.features.params import FeatureParams

__all__ = ["ClassifyParams", "ScanPart", "candidate_images", "classify_blocks", "classify_file",
           "join_parts", "scan_events", "score_blocks", "song_anchor"]

CANDIDATE_SLACK_S = 1.0
"""Extra block overlap (s), so that a song candidate ending where a block hands over to the
next, and the silence that ends it (``split_gap_s``), lie whole in the next block."""


@dataclasses.dataclass(frozen=True)
class ClassifyParams:
    """The ``classify`` section of ``params.yaml`` (every field has a working default).

    Parameters
    ----------
    hop_s : float
        Spacing of the analysis windows in seconds (rounded to whole CQT frames).
    block_s : float
        Length of the streamed blocks in seconds; memory grows with it, speed little.
    batch_size : int
        Windows per CNN batch.
    detect_threshold : float
        A candidate (or a window) holds a song when its ``song_score``, ``1 - p(no_song)``,
        reaches this, in (0, 1] (``--sensitivity`` is ``1 - detect_threshold``).
    min_confidence : float
        Events whose ``theme_confidence`` is below this are not reported, in [0, 1].
    min_song_score : float
        Events whose ``song_score`` is below this are not reported, in [0, 1].
    fmin_hz, fmax_hz : float or None
        The band the detector listens to: only sound between these frequencies makes a
        frame loud, so sounds outside it never become song candidates (None: the model's
        lowest or highest frequency). The network still sees its whole image.
    themes : tuple of str
        Report only these catalog themes; a song named another is ``other`` (empty: all).
    split_gap_s : float
        Quiet gaps at least this long separate two sounds: two song candidates (seconds).
    min_event_s : float
        Loud stretches shorter than this (seconds) are not songs.
    max_song_s : float
        Longest song candidate (seconds, at most ``features.window_s``): a longer loud
        stretch is cut at its widest silences (:func:`songnet.classify.events.song_candidates`).
    activity_db : float
        A frame is loud when a CQT bin rises this many dB above its noise floor.
    skip_quiet : bool
        Run the CNN only on the song candidates, each alone (the analysis window around
        it, everything else held at the noise floor); the sliding windows, most of a field
        recording, are then ``no_song`` without the CNN. False also scores every sliding
        window, which finds songs too faint to be loud.
    note_check : bool
        Apply the model's note check (:class:`songnet.song.notecheck.NoteCheck`): a song whose
        introduction, measured on its own frames, differs from the named theme's by more
        than the model's threshold is ``unknown``. False skips it (the song band's peaks are
        read either way: they time the events, :mod:`songnet.classify.bounds`).
    """

    hop_s: float = 0.5
    block_s: float = 60.0
    batch_size: int = 32
    detect_threshold: float = 0.5
    min_confidence: float = 0.0
    min_song_score: float = 0.0
    split_gap_s: float = 0.25
    min_event_s: float = 0.3
    max_song_s: float = 3.0
    activity_db: float = 12.0
    skip_quiet: bool = True
    note_check: bool = True
    fmin_hz: float | None = None
    fmax_hz: float | None = None
    themes: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.hop_s <= 0 or self.block_s <= 0 or self.batch_size < 1:
            raise ValueError(f"hop_s={self.hop_s}, block_s={self.block_s} and "
                             f"batch_size={self.batch_size} must be positive")
        if not 0.0 < self.detect_threshold <= 1.0:
            raise ValueError(f"detect_threshold={self.detect_threshold} must be in (0, 1]")
        for name in ("min_confidence", "min_song_score"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"{name}={getattr(self, name)} must be in [0, 1]")
        lo, hi = self.fmin_hz, self.fmax_hz
        if (lo is not None and lo < 0) or (hi is not None and hi <= 0) or \
                (lo is not None and hi is not None and hi <= lo):
            raise ValueError(f"fmin_hz={lo} and fmax_hz={hi} must be a band: 0 <= fmin < fmax")
        object.__setattr__(self, "themes", tuple(self.themes))
        if self.split_gap_s < 0 or self.min_event_s < 0:
            raise ValueError(f"split_gap_s={self.split_gap_s} and min_event_s="
                             f"{self.min_event_s} must be >= 0")
        if self.split_gap_s > 0.8 * CANDIDATE_SLACK_S:
            raise ValueError(f"split_gap_s={self.split_gap_s} must be at most "
                             f"{0.8 * CANDIDATE_SLACK_S:g} s")
        if not self.min_event_s < self.max_song_s:
            raise ValueError(f"max_song_s={self.max_song_s} must exceed min_event_s="
                             f"{self.min_event_s}")


def classify_file(path: str | os.PathLike, *, model: Any,
                  params: ClassifyParams = ClassifyParams(), device: str = "auto",
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
    overlap_s = _overlap_s(fp)
    block_s = max(params.block_s, 2 * overlap_s)
    blocks = audio.stream(path, sr=fp.sr, block_s=block_s, overlap_s=overlap_s)
    with read_ahead(blocks) as ahead:  # decoding overlaps the transform of the last block
        return classify_blocks(ahead, model=backend, params=params, source=str(path),
                               progress=progress)


def classify_blocks(blocks: Iterable[audio.Block], *, model: Any,
                    params: ClassifyParams = ClassifyParams(), device: str = "auto",
                    source: str = "<array>",
                    progress: ProgressCallback | None = None) -> tuple[list[Event], float]:
    """Classify a recording given as consecutive overlapping blocks.

    :func:`score_blocks` scores the windows, then :func:`songnet.events.find_events`
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
                params: ClassifyParams = ClassifyParams(), device: str = "auto",
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
    scores, activity, duration = _joined([part], source=source, window_s=scan.window_s,
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


def listening_bins(fp: FeatureParams, params: ClassifyParams) -> np.ndarray:
    """The CQT bins the detector listens to (``params.fmin_hz``–``fmax_hz``), as a boolean
    mask; ``SongnetError`` when the band holds none of the model's bins."""
    f = np.asarray(fp.frequencies)
    lo = -np.inf if params.fmin_hz is None else params.fmin_hz
    hi = np.inf if params.fmax_hz is None else params.fmax_hz
    keep = (f >= lo) & (f <= hi)
    if not keep.any():
        raise SongnetError(f"the band {params.fmin_hz}–{params.fmax_hz} Hz holds none of the "
                           f"model's frequencies ({f[0]:.0f}–{f[-1]:.0f} Hz); widen "
                           "--fmin/--fmax")
    return keep


def score_blocks(blocks: Iterable[audio.Block], *, model: Any,
                 params: ClassifyParams = ClassifyParams(), device: str = "auto",
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
             source: str, progress: ProgressCallback | None) -> _Scan:
    """A :class:`_Scan` that has taken every block, reporting progress after each."""
    scan = _Scan(backend, params=params, source=source)
    for prep, last in _prepared(scan, blocks):
        scan.take(prep, last=last)
        if progress is not None:
            progress(scan.take_progress())
    return scan


def _prepared(scan: _Scan, blocks: Iterable[audio.Block]
              ) -> Iterator[tuple[_Prepared, bool]]:
    """``(scan.prepare(block), is_last)`` for every block, in order.

    With a backend of ``block_threads > 1`` (the NumPy CQT) that many blocks are prepared at
    once, each on its own thread with a one-thread transform: the transform, the noise
    floor and the activity all release the GIL in NumPy, so every core works on the
    recording. At most that many prepared blocks wait, so memory stays bounded.
    """
    n = int(getattr(scan.backend, "block_threads", 1))
    flagged = _flag_last(blocks)
    if n <= 1:
        for block, last in flagged:
            yield scan.prepare(block, last=last), last
        return
    pool = shared_pool("block", n)  # its work waits on the "cqt" pool, never on itself
    waiting: collections.deque = collections.deque()
    try:
        for block, last in flagged:
            # the last block has the cores to itself once the others are done
            threads = None if last else 1
            waiting.append((pool.submit(scan.prepare, block, last=last, threads=threads), last))
            if len(waiting) >= n:
                future, is_last = waiting.popleft()
                yield future.result(), is_last
        while waiting:
            future, is_last = waiting.popleft()
            yield future.result(), is_last
    finally:
        for future, _ in waiting:  # an error or an abandoned scan: drop what is queued
            future.cancel()


@dataclasses.dataclass(frozen=True)
class ScanPart:
    """What scoring a run of consecutive blocks found, joined in order by :func:`join_parts`.

    Attributes
    ----------
    starts_s : np.ndarray [shape=(w,)]
        Window starts in seconds from the recording's start.
    probs : np.ndarray [shape=(w, n_classes)] float32
    activity : Activity
        The frames these blocks own.
    peak : float
        Largest absolute sample seen.
    duration_s : float
        End of the last block, in seconds from the recording's start.
    """

    starts_s: np.ndarray
    probs: np.ndarray
    activity: Activity
    peak: float
    duration_s: float
    embeddings: np.ndarray | None = None
    candidates: Candidates | None = None


def join_parts(parts: Sequence[ScanPart], *, model: Any, source: str = "<array>"
               ) -> tuple[WindowScores, Activity, float]:
    """Join the parts of one recording, in order, into what :func:`score_blocks` gives."""
    backend = as_backend(model, device="cpu")
    return _joined(parts, source=source, window_s=backend.fp.n_samples / backend.fp.sr,
                   classes=tuple(backend.classes), embed_dim=backend.embed_dim)


def _joined(parts: Sequence[ScanPart], *, source: str, window_s: float,
            classes: tuple[str, ...], embed_dim: int = 0
            ) -> tuple[WindowScores, Activity, float]:
    duration = max((p.duration_s for p in parts), default=0.0)
    if duration == 0.0:
        raise SongnetError(f"{source}: no audio samples; the file is empty")
    if max(p.peak for p in parts) == 0.0:
        raise SongnetError(f"{source}: every sample is zero (a silent recording); "
                           "check the recorder's input and gain")
    frame_s = parts[0].activity.frame_s
    starts = np.concatenate([p.starts_s for p in parts])
    probs = np.concatenate([p.probs for p in parts]).astype(np.float32, copy=False)
    emb = np.concatenate([p.embeddings if p.embeddings is not None
                          else np.zeros((len(p.starts_s), embed_dim), dtype=np.float32)
                          for p in parts])
    scores = WindowScores(starts, probs, window_s, classes, embeddings=emb)
    return scores, Activity.concatenate([p.activity for p in parts], frame_s=frame_s), duration


class _Scan:
    """The state of :func:`score_blocks` between blocks, on one grid of global frames.

    Frame ``g`` of the recording is centred on sample ``g * hop_length``. Windows start
    every ``hop_frames`` frames; a block contributes the windows whose frames it holds away
    from its CQT-disturbed margins, and the activity of the frames it *owns* (from where
    the previous block stopped to its own inner margin).
    """

    def __init__(self, backend: Backend, *, params: ClassifyParams, source: str) -> None:
        self.backend, self.params, self.source = backend, params, source
        self.fp = fp = backend.fp
        self.frame_s = fp.hop_length / fp.sr
        self.window_s = fp.n_samples / fp.sr
        self.hop_frames = max(1, round(params.hop_s / self.frame_s))
        self.margin = _margin_frames(fp)
        listen = listening_bins(fp, params)
        self.band = None if listen.all() else listen  # None: every bin (no copy)
        check_themes(params.themes, backend.classes)
        if params.max_song_s > self.window_s + 1e-9:
            raise SongnetError(f"max_song_s={params.max_song_s} is longer than the model's "
                               f"window of {self.window_s:g} s; lower it")
        # a candidate is judged in the block where it ends this far before the inner edge
        self.gap_frames = int(np.ceil(params.split_gap_s / self.frame_s)) + 1
        self.win_starts: list[np.ndarray] = []
        self.win_probs: list[np.ndarray] = []
        self.win_emb: list[np.ndarray] = []
        self.cand_spans: list[tuple[float, float]] = []
        self.cand_probs: list[np.ndarray] = []
        self.cand_emb: list[np.ndarray] = []
        self.cand_done = 0  # global frame: candidates ending before it are scored
        self.acts: list[Activity] = []
        self.next_win = self.owned = 0  # global frames: next window start, activity done to
        self.pending = _PendingWindows(backend, batch_size=params.batch_size)
        self.peak = self.duration = self.done_s = self.reached_s = 0.0

    def add(self, block: audio.Block, *, last: bool) -> None:
        """Transform one block, queue its windows for the CNN, keep its activity."""
        self.take(self.prepare(block, last=last), last=last)

    def prepare(self, block: audio.Block, *, last: bool, threads: int | None = None
                ) -> _Prepared:
        """The block's checks, transform and frame activity: what :meth:`take` needs.

        Reads only the scan's settings, never its state, so several blocks can be prepared
        at once on other threads (:func:`_prepared`); ``threads`` for the transform (None:
        the backend's own).
        """
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
        return _Prepared(power, g0, n_real, act, floor, peak,
                         block.start_s + y.shape[0] / fp.sr, on_grid)

    def take(self, prep: _Prepared, *, last: bool) -> None:
        """Queue a prepared block's windows and candidates for the CNN, keep its activity;
        blocks are taken in order."""
        power, g0, act = prep.power, prep.g0, prep.activity
        self.peak = max(self.peak, prep.peak)
        self.duration = prep.end_s
        lo = 0 if g0 == 0 else self.margin
        hi = power.shape[1] if last else power.shape[1] - self.margin
        idx = self._windows(g0, lo=lo, hi=hi, n_power=power.shape[1], last=last)
        if idx.size:
            self._queue(power, idx, g0=g0)
        own_hi = min(prep.n_real, power.shape[1]) if last else hi
        self._candidates(prep, g0=g0, lo=lo, hi=hi, last=last)
        self.acts.append(_slice_activity(act, self.owned - g0, own_hi))
        self.owned = g0 + own_hi
        self.reached_s = self.duration if last else (g0 + hi) * self.frame_s

    def skip(self, block: audio.Block) -> None:
        """Advance the grid past a block (not the last) as :meth:`add` would, unscored:
        where a range of blocks scored on its own starts (:mod:`songnet.classify.ranges`)."""
        fp = self.fp
        start_n = round(block.start_s * fp.sr)
        skip = -start_n % fp.hop_length
        g0 = (start_n + skip) // fp.hop_length
        hi = (block.samples.shape[0] - skip) // fp.hop_length + 1 - self.margin  # power.shape[1]
        past = g0 + hi - fp.n_frames  # windows starting at or before this fit in the block
        if past >= 0:
            self.next_win = max(self.next_win, (past // self.hop_frames + 1) * self.hop_frames)
        self.owned = g0 + hi
        self.cand_done = g0 + hi - self.gap_frames
        self.done_s = self.reached_s = (g0 + hi) * self.frame_s

    def take_progress(self) -> float:
        """Seconds of audio finished since the last call."""
        step = max(0.0, self.reached_s - self.done_s)
        self.done_s = max(self.done_s, self.reached_s)
        return step

    def finish(self) -> tuple[WindowScores, Activity, float]:
        """Score the windows still queued; the recording's window scores and activity."""
        self.pending.flush()
        return _joined([self.part()], source=self.source, window_s=self.window_s,
                       classes=self.backend.classes, embed_dim=self.backend.embed_dim)

    def part(self) -> ScanPart:
        """Score the windows still queued; what this scan found, to join with others."""
        self.pending.flush()
        starts = np.concatenate(self.win_starts) if self.win_starts else np.zeros(0)
        probs = (np.concatenate(self.win_probs) if self.win_probs
                 else np.zeros((0, len(self.backend.classes)), dtype=np.float32))
        emb = (np.concatenate(self.win_emb) if self.win_emb
               else np.zeros((0, self.backend.embed_dim), dtype=np.float32))
        n_classes, dim = len(self.backend.classes), self.backend.embed_dim
        spans = np.asarray(self.cand_spans, dtype=np.float64).reshape(-1, 2)
        cands = Candidates(spans[:, 0], spans[:, 1],
                           np.stack(self.cand_probs) if self.cand_probs
                           else np.zeros((0, n_classes), np.float32),
                           np.stack(self.cand_emb) if self.cand_emb
                           else np.zeros((0, dim), np.float32))
        return ScanPart(starts, probs, Activity.concatenate(self.acts, frame_s=self.frame_s),
                        self.peak, self.duration, emb, cands)


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

    def _windows(self, g0: int, *, lo: int, hi: int, n_power: int, last: bool) -> np.ndarray:
        """Block-local first frames of the windows this block scores."""
        n_frames = self.fp.n_frames
        local = []
        while self.next_win - g0 + n_frames <= hi:
            if self.next_win - g0 < lo:
                raise SongnetError(f"{self.source}: blocks overlap too little for the windows")
            local.append(self.next_win - g0)
            self.next_win += self.hop_frames
        if last and n_power >= n_frames and (not local or local[-1] + n_frames < n_power):
            local.append(n_power - n_frames)  # one more window flush with the end
        return np.asarray(local, dtype=np.int64)

    def _queue(self, power: Any, idx: np.ndarray, *, g0: int) -> None:
        """Sliding windows default to no_song; with ``skip_quiet`` off they go to the CNN."""
        probs = np.zeros((idx.size, len(self.backend.classes)), dtype=np.float32)
        probs[:, -1] = 1.0  # no_song, unless the CNN says otherwise
        emb = np.zeros((idx.size, self.backend.embed_dim), dtype=np.float32)
        if not self.params.skip_quiet:
            self.pending.add(self.backend.window_images(power, idx), (probs, emb),
                             np.arange(idx.size))
        self.win_starts.append((idx + g0) * self.frame_s)
        self.win_probs.append(probs)
        self.win_emb.append(emb)

    def _candidates(self, prep: _Prepared, *, g0: int, lo: int, hi: int, last: bool
                    ) -> None:
        """Queue the song candidates that end in this block's part of the recording, each
        as its own image (:func:`candidate_images`)."""
        p, act = self.params, prep.activity
        limit = prep.power.shape[1] if last else hi - self.gap_frames
        spans = [(j0, j1) for j0, j1 in song_candidates(
                     act.active[:hi], frame_s=self.frame_s,
                     split_gap_s=p.split_gap_s, min_event_s=p.min_event_s,
                     max_song_s=p.max_song_s)
                 if self.cand_done <= g0 + j1 - 1 < g0 + limit and (j0 >= lo or g0 == 0)]
        self.cand_done = g0 + limit
        if not spans:
            return
        k = len(spans)
        probs = np.zeros((k, len(self.backend.classes)), dtype=np.float32)
        emb = np.zeros((k, self.backend.embed_dim), dtype=np.float32)
        images, _ = candidate_images(self.backend, prep.samples, spans, prep.floor)
        self.pending.add(images, (probs, emb), np.arange(k))
        self.cand_spans += [((g0 + j0) * self.frame_s, (g0 + j1) * self.frame_s)
                            for j0, j1 in spans]
        self.cand_probs += list(probs)  # rows of the arrays the CNN fills (views)
        self.cand_emb += list(emb)


def candidate_images(backend: Backend, y: np.ndarray, spans: Sequence[tuple[int, int]],
                     floor: np.ndarray) -> tuple[Any, list[float]]:
    """Each song candidate as its own image, placed by the song and not by the file.

    A candidate's window is centred on its song's energy centroid (:func:`song_anchor`, to
    the sample) and transformed on its own, so its frames fall on the same instants of the
    song wherever the recording starts (frames of the recording's own grid would move by up
    to a hop, and the network's reading of a song it does not know well moves with them).
    Every frame outside the candidate (and 20 ms of margin) is held down to the noise
    floor; frames before the recording's start or past its end are the floor itself.

    Parameters
    ----------
    backend : Backend
    y : np.ndarray [shape=(n,)]
        The block's samples; block frame ``j`` is centred on sample ``j * hop_length``.
    spans : sequence of (int, int)
        Candidates as ``(first, end)`` block frames (:func:`song_candidates`).
    floor : np.ndarray [shape=(n_bins, 1)]
        The block's noise floor (:func:`songnet.classify.events.noise_floor`).

    Returns
    -------
    images : the backend's array [shape=(k, n_bins, n_frames)]
    starts : list of float
        Each image's first frame, in block frames (fractional: the song places it).
    """
    fp = backend.fp
    n, hop, m = fp.n_frames, fp.hop_length, _margin_frames(fp)
    pad = max(1, round(0.02 / (hop / fp.sr)))  # the onsets' and offsets' own frames
    band = (float(fp.frequencies[0]), float(fp.frequencies[-1]))
    length = (n - 1 + 2 * m) * hop + 1  # n frames and the CQT's margins
    images, starts = [], []
    for j0, j1 in spans:
        s0, s1 = max(0, (j0 - pad) * hop), min(y.shape[0], (j1 + pad) * hop)
        centre = s0 + song_anchor(y[s0:s1], sr=fp.sr, band=band)
        c0 = round(centre - (n - 1) / 2 * hop)  # the sample of the image's first frame
        if s1 - s0 <= (n - 1) * hop:  # the whole candidate in the window
            c0 = min(max(c0, s1 - (n - 1) * hop), s0)
        seg0 = c0 - m * hop
        seg = np.zeros(length, dtype=np.float32)
        a, b = max(0, seg0), min(y.shape[0], seg0 + length)
        if b > a:
            seg[a - seg0:b - seg0] = y[a:b]

        def frame(sample: int, seg0: int = seg0) -> int:  # first frame centred at or after
            return -(-(sample - seg0) // hop)

        images.append(backend.masked_images(backend.power(seg), np.array([m]),
                                            [(frame(s0), frame(s1))], floor,
                                            audio=[(frame(0), frame(y.shape[0]))]))
        starts.append(c0 / hop)
    return backend.concat(images), starts


def song_anchor(x: np.ndarray, *, sr: int, band: tuple[float, float]) -> float:
    """Where a sound sits in ``x``: the centroid of its band-limited energy above the
    stretch's quietest level, in samples from ``x[0]``.

    A continuous function of the samples: moving ``x``'s edges a few quiet samples moves it
    by a small fraction of a sample, so an image placed by it falls on the same instants of
    the song wherever the recording was cut (frames of the recording's own grid would move
    by up to a hop).
    """
    x = np.asarray(x, dtype=np.float64)
    if x.size < 2:
        return x.size / 2
    nfft = 1 << (x.size - 1).bit_length()  # a power of two: NumPy's fast sizes
    spec = np.fft.rfft(x, nfft)
    f = np.fft.rfftfreq(nfft, 1.0 / sr)
    spec[(f < band[0]) | (f > band[1])] = 0.0
    e = np.fft.irfft(spec, nfft)[:x.size] ** 2
    k = max(1, round(0.01 * sr))  # 10-ms stretches; the quietest tenth is the background
    chunks = e[:e.size // k * k].reshape(-1, k).mean(axis=1) if e.size >= k else e
    w = np.maximum(e - np.quantile(chunks, 0.1), 0.0)
    total = w.sum()
    if total <= 0.0:
        return (x.size - 1) / 2
    return float(np.dot(np.arange(x.size), w) / total)


@dataclasses.dataclass(frozen=True)
class _Prepared:
    """One block made ready by :meth:`_Scan.prepare`: its power ``(n_bins, T)`` from
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


class _PendingWindows:
    """Window images waiting for the CNN, pooled over blocks so that it runs on full
    batches of one shape (a block holds few windows worth scoring), the fastest on a CPU.
    """

    def __init__(self, backend: Backend, *, batch_size: int) -> None:
        self.backend, self.batch_size = backend, batch_size
        self.images: list[Any] = []  # (b, n_bins, n_frames) each, the backend's arrays
        # per image: (probs array, embeddings array, row)
        self.rows: list[tuple[np.ndarray, np.ndarray, int]] = []

    def add(self, images: Any, dest: tuple[np.ndarray, np.ndarray], rows: np.ndarray) -> None:
        """Queue images ``(b, n_bins, n_frames)``; their class probabilities and embeddings
        go to ``dest[0][rows]`` and ``dest[1][rows]`` once scored (by :meth:`flush` at the
        latest)."""
        self.images.append(images)
        self.rows.extend((dest[0], dest[1], int(r)) for r in rows)
        while len(self.rows) >= self.batch_size:
            self._score(self.batch_size)

    def flush(self) -> None:
        if self.rows:
            self._score(len(self.rows))

    def _score(self, n: int) -> None:
        imgs = self.backend.concat(self.images)
        batch, self.images = imgs[:n], [imgs[n:]]
        probs, emb = self.backend.predict(batch)
        for (p_dest, e_dest, row), p, e in zip(self.rows[:n], probs, emb, strict=True):
            p_dest[row] = p
            e_dest[row] = e
        del self.rows[:n]


def _note_check(backend: Backend, params: ClassifyParams) -> Any:
    """The model's note check when ``params`` ask for it, else None."""
    return getattr(backend, "note_check", None) if params.note_check else None


def _slice_activity(act: Activity, lo: int, hi: int) -> Activity:
    lo, hi = max(0, lo), max(0, hi)
    return Activity(act.active[lo:hi], act.low_hz[lo:hi], act.high_hz[lo:hi], act.frame_s,
                    None if act.peaks is None else act.peaks[:, lo:hi])


def _flag_last(items: Iterable[audio.Block]) -> Iterator[tuple[audio.Block, bool]]:
    """Yield ``(item, is_last)``, looking one item ahead."""
    it = iter(items)
    try:
        prev = next(it)
    except StopIteration:
        return
    for item in it:
        yield prev, False
        prev = item
    yield prev, True


def _overlap_s(fp: FeatureParams) -> float:
    """Block overlap: one window plus a CQT filter length of margin on each side, plus
    :data:`CANDIDATE_SLACK_S`."""
    return (fp.n_samples / fp.sr + 2 * _margin_frames(fp) * fp.hop_length / fp.sr
            + CANDIDATE_SLACK_S)


def _margin_frames(fp: FeatureParams) -> int:
    """Frames at a block edge that the zero padding of the CQT (or the STFT) disturbs."""
    q = 1.0 / (2.0 ** (1.0 / fp.bins_per_octave) - 1.0)
    longest_filter_s = 1.5 * q / fp.fmin  # the lowest bin's filter, with room to spare
    if fp.frontend != "cqt":  # the CQT's margin, or the STFT window if that is longer
        longest_filter_s = max(longest_filter_s, stft_n_fft(fp.sr) / fp.sr)
    return int(np.ceil(longest_filter_s / 2 * fp.sr / fp.hop_length)) + 1
