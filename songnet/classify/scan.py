"""The scan of a recording's blocks on one grid of global frames (:class:`Scan`): each
block's checks, transform and frame activity, its windows and song candidates queued for the
CNN in full batches, and the parts of a scan joined into window scores and activity.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import numpy as np

from songnet.classify.activity import Activity, song_candidates
from songnet.classify.backends import Backend, as_backend
from songnet.classify.blocks import BlockPreparer, Prepared
from songnet.classify.candidates import candidate_images
from songnet.classify.events import check_themes
from songnet.classify.params import ClassifyParams, margin_frames, song_limit
from songnet.classify.scores import Candidates, WindowScores
from songnet.core import audio
from songnet.core.errors import SongnetError

__all__ = ["Scan", "ScanPart", "flag_last", "join_parts", "join_scores"]


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
    """Join the parts of one recording, in order, into what
    :func:`songnet.classify.windows.score_blocks` gives."""
    backend = as_backend(model, device="cpu")
    return join_scores(parts, source=source, window_s=backend.fp.n_samples / backend.fp.sr,
                   classes=tuple(backend.classes), embed_dim=backend.embed_dim)


def join_scores(parts: Sequence[ScanPart], *, source: str, window_s: float,
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


class Scan:
    """The state of :func:`songnet.classify.windows.score_blocks` between blocks, on one grid
    of global frames.

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
        self.margin = margin_frames(fp)
        self.preparer = BlockPreparer(backend, params=params, source=source)
        check_themes(params.themes, backend.classes)
        self.max_song_s = song_limit(params, fp)
        if self.max_song_s > self.window_s + 1e-9:
            raise SongnetError(f"max_song_s={params.max_song_s} is longer than the model's "
                               f"window of {self.window_s:g} s; lower it")
        if not params.min_event_s < self.max_song_s:  # a set max_song_s: checked in params
            raise SongnetError(f"min_event_s={params.min_event_s} must be shorter than the "
                               f"longest song candidate, the model's window of "
                               f"{self.window_s:g} s; lower it")
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
        self.take(self.preparer.prepare(block, last=last), last=last)

    def take(self, prep: Prepared, *, last: bool) -> None:
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
        return join_scores([self.part()], source=self.source, window_s=self.window_s,
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

    def _candidates(self, prep: Prepared, *, g0: int, lo: int, hi: int, last: bool
                    ) -> None:
        """Queue the song candidates that end in this block's part of the recording, each
        as its own image (:func:`candidate_images`)."""
        p, act = self.params, prep.activity
        limit = prep.power.shape[1] if last else hi - self.gap_frames
        spans = [(j0, j1) for j0, j1 in song_candidates(
                     act.active[:hi], frame_s=self.frame_s,
                     split_gap_s=p.split_gap_s, min_event_s=p.min_event_s,
                     max_song_s=self.max_song_s)
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


def _slice_activity(act: Activity, lo: int, hi: int) -> Activity:
    lo, hi = max(0, lo), max(0, hi)
    return Activity(act.active[lo:hi], act.low_hz[lo:hi], act.high_hz[lo:hi], act.frame_s,
                    None if act.peaks is None else act.peaks[:, lo:hi])


def flag_last(items: Iterable[audio.Block]) -> Iterator[tuple[audio.Block, bool]]:
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
