"""Reading audio files: whole clips as a ``Sound``, long recordings as overlapping blocks.

Every recording, real or synthetic, enters songnet here. :func:`load` reads WAV (16-,
24-, 32-bit integer or float), FLAC, OGG/Vorbis and MP3 through libsndfile, mixes the
channels to mono (their mean) and resamples to the pipeline rate with soxr. :func:`stream`
does the same block by block, so a one-hour file never sits whole in memory, and
:func:`songnet.core.decode.info` reads the header only.

Anything wrong with a file (missing, unreadable, not audio, truncated, empty, holding NaN,
inf or absurd values beyond :data:`~songnet.core.decode.MAX_ABS_SAMPLE`, or a native rate
below :data:`~songnet.core.decode.MIN_SR`) raises :class:`~songnet.core.decode.AudioError`,
whose message names the file and says what to do (:mod:`songnet.core.decode`). A compressed
file (MP3, OGG) that decodes to fewer samples than its header declares is used as far as
it goes, with a :class:`~songnet.core.errors.SongnetWarning` naming it. The decoders' own
messages on standard error are silenced.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
from collections.abc import Iterator

import numpy as np
import soxr

from songnet.core.decode import AudioError, check_rate, decode_chunks, decode_whole, info
from songnet.core.errors import SongnetError
from songnet.core.sound import Sound

__all__ = ["Block", "load", "read_range", "resample", "stream"]


@dataclasses.dataclass(frozen=True, eq=False)
class Block:
    """One block of a streamed recording.

    Attributes
    ----------
    samples : np.ndarray [shape=(n,), dtype=float32]
        Mono samples at ``sr``.
    start_s : float
        Time of the first sample from the start of the file, in seconds.
    sr : int
        Sample rate in Hz.
    """

    samples: np.ndarray
    start_s: float
    sr: int

    @property
    def end_s(self) -> float:
        """Time just after the last sample, in seconds."""
        return self.start_s + self.samples.shape[0] / self.sr


def load(path: str | os.PathLike, *, sr: int = 22050) -> Sound:
    """Read a whole audio file as mono audio at ``sr``.

    Parameters
    ----------
    path : path-like
        A WAV (int16/int24/int32/float), FLAC, OGG or MP3 file, any rate, any channels.
    sr : int
        Output sample rate in Hz (the pipeline rate, ``FeatureParams.sr``).

    Returns
    -------
    Sound
        ``samples`` float32 of shape ``(n,)``, the mean of the channels, resampled to
        ``sr`` (soxr, high quality); ``source`` is the path.

    Raises
    ------
    AudioError
        Missing, unreadable, truncated or empty file, or samples that are NaN or inf.
    """
    check_rate(sr)
    meta = info(path)
    if meta.frames == 0:
        raise AudioError(f"{path}: holds no audio samples; record or export it again")
    y = decode_whole(path, meta)
    y = resample(y, orig_sr=meta.sr, sr=sr)
    return Sound(y, sr, source=str(path))


def read_range(path: str | os.PathLike, *, sr: int = 22050, start_s: float | None = None,
               end_s: float | None = None, max_s: float = 600.0) -> tuple[np.ndarray, float]:
    """Mono samples at ``sr`` of ``[start_s, end_s]`` of a recording, in bounded memory.

    The file is streamed (:func:`stream`), so only the stretch is ever held whole.

    Parameters
    ----------
    path : path-like
        Any file :func:`load` reads.
    sr : int
        Output sample rate in Hz.
    start_s, end_s : float, optional
        The stretch, in seconds from the start (default: the whole file).
    max_s : float
        Longest stretch accepted, s.

    Returns
    -------
    samples : np.ndarray [shape=(n,), dtype=float32]
    start_s : float
        Time of the first sample (``start_s``, or 0).

    Raises
    ------
    AudioError
        For an unreadable file (as :func:`load`), a stretch outside it, an empty one, or
        one longer than ``max_s``.
    """
    duration = info(path).duration
    t0 = 0.0 if start_s is None else float(start_s)
    t1 = duration if end_s is None else min(float(end_s), duration)
    if not (np.isfinite(t0) and np.isfinite(t1)) or t0 < 0 or t0 >= t1:
        raise AudioError(f"{path}: the stretch {t0:g}-{t1:g} s is empty or outside the "
                         f"recording ({duration:.2f} s); give 0 <= --start < --end")
    if t1 - t0 > max_s:
        raise AudioError(f"{path}: the stretch {t0:g}-{t1:g} s is longer than {max_s:g} s; "
                         "give --start and --end around the songs to look at")
    a, b = round(t0 * sr), round(t1 * sr)
    parts = []
    for block in stream(path, sr=sr, block_s=60.0, overlap_s=0.0):
        first = round(block.start_s * sr)
        lo, hi = max(a, first), min(b, first + block.samples.shape[0])
        if lo < hi:
            parts.append(block.samples[lo - first:hi - first])
        if first + block.samples.shape[0] >= b:
            break
    if not parts:
        raise AudioError(f"{path}: holds no audio between {t0:g} and {t1:g} s")
    return np.concatenate(parts).astype(np.float32, copy=False), a / sr


def resample(y: np.ndarray, *, orig_sr: int, sr: int) -> np.ndarray:
    """Resample mono samples with soxr (high quality).

    Parameters
    ----------
    y : np.ndarray [shape=(n,)]
        Samples at ``orig_sr`` Hz.
    orig_sr, sr : int
        Input and output rates in Hz.

    Returns
    -------
    np.ndarray [shape=(round(n * sr / orig_sr),), dtype=float32]
    """
    y = np.ascontiguousarray(y, dtype=np.float32)
    if orig_sr == sr:
        return y
    return np.ascontiguousarray(soxr.resample(y, orig_sr, sr, quality="HQ"), dtype=np.float32)


def stream(path: str | os.PathLike, *, sr: int = 22050, block_s: float = 60.0,
           overlap_s: float = 3.0) -> Iterator[Block]:
    """Read a long recording as overlapping mono blocks at ``sr``, in bounded memory.

    The file is decoded ``65536`` native frames at a time and resampled by one continuous
    soxr stream, so block borders carry no resampling discontinuity: concatenating the
    blocks without their overlaps gives the same samples as :func:`load`.

    Parameters
    ----------
    path : path-like
        Any file :func:`load` reads.
    sr : int
        Output sample rate in Hz.
    block_s : float
        Block length in seconds; every block but the last has ``round(block_s * sr)``
        samples.
    overlap_s : float
        Seconds shared by consecutive blocks (``0 <= overlap_s < block_s``): block ``k``
        starts at ``k * (block_s - overlap_s)`` s (exactly, in samples at ``sr``).

    Yields
    ------
    Block
        ``samples`` float32 ``(n,)``, ``start_s`` in seconds, ``sr``. The last block holds
        what remains (shorter, at least one new sample). A file shorter than one block
        gives one block.

    Raises
    ------
    AudioError
        As :func:`load`; NaN/inf are reported with the time where they occur.
    SongnetError
        For ``block_s <= 0`` or an overlap outside ``[0, block_s)``.
    """
    check_rate(sr)
    block_n = round(block_s * sr)
    overlap_n = round(overlap_s * sr)
    if block_n <= 0:
        raise SongnetError(f"block_s={block_s} must be positive (at least one sample)")
    if not 0 <= overlap_n < block_n:
        raise SongnetError(f"overlap_s={overlap_s} must be >= 0 and below block_s={block_s}")
    meta = info(path)
    if meta.frames == 0:
        raise AudioError(f"{path}: holds no audio samples; record or export it again")
    # the warning of a short file points at the caller: check, decode_chunks, _cut_blocks, here
    with contextlib.closing(decode_chunks(path, meta, sr=sr, stacklevel=5)) as chunks:
        yield from _cut_blocks(chunks, block_n=block_n, step_n=block_n - overlap_n, sr=sr)


def _cut_blocks(chunks: Iterator[np.ndarray], *, block_n: int, step_n: int, sr: int
                ) -> Iterator[Block]:
    """Consecutive pieces of one signal cut into blocks of ``block_n`` samples starting
    every ``step_n``; the last block holds what remains (a signal shorter than one block
    is one block)."""
    pending = np.zeros(0, dtype=np.float32)  # samples not yet fully emitted
    pieces: list[np.ndarray] = []  # pending, as pieces joined once a block is complete
    have = 0  # samples in pieces
    start_n = 0  # index (at sr) of pending[0]
    emitted_end = 0  # index (at sr) just after the last sample already emitted
    for y in chunks:
        pieces.append(y)
        have += y.shape[0]
        if have >= block_n:
            pending = np.concatenate(pieces) if len(pieces) > 1 else pieces[0]
            while pending.shape[0] >= block_n:
                yield Block(np.ascontiguousarray(pending[:block_n]), start_n / sr, sr)
                emitted_end = start_n + block_n
                pending = pending[step_n:]
                start_n += step_n
            pieces, have = [pending], pending.shape[0]
    pending = np.concatenate(pieces) if len(pieces) > 1 else (pieces[0] if pieces else pending)
    if pending.size and (start_n + pending.shape[0] > emitted_end or emitted_end == 0):
        yield Block(np.ascontiguousarray(pending, dtype=np.float32), start_n / sr, sr)


