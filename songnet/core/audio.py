"""Reading audio files: whole clips as a ``Sound``, long recordings as overlapping blocks.

Every recording, real or synthetic, enters songnet here. :func:`load` reads WAV (16-,
24-, 32-bit integer or float), FLAC, OGG/Vorbis and MP3 through libsndfile, mixes the
channels to mono (their mean) and resamples to the pipeline rate with soxr. :func:`stream`
does the same block by block, so a one-hour file never sits whole in memory, and
:func:`info` reads the header only.

Anything wrong with a file (missing, unreadable, not audio, truncated, empty, holding NaN,
inf or absurd values beyond :data:`MAX_ABS_SAMPLE`, or a native rate below :data:`MIN_SR`)
raises :class:`AudioError`, whose message names the file and says what to do. A compressed
file (MP3, OGG) that decodes to fewer samples than its header declares is used as far as
it goes, with a :class:`~songnet.core.errors.SongnetWarning` naming it. The decoders' own
messages on standard error are silenced.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import struct
import sys
import threading
import warnings
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import soundfile as sf
import soxr

from songnet.core.errors import SongnetError, SongnetWarning
from songnet.core.sound import Sound

__all__ = ["AUDIO_SUFFIXES", "MAX_ABS_SAMPLE", "MIN_SR", "AudioError", "AudioInfo", "Block",
           "audio_files", "info", "load", "read_range", "resample", "stream", "theme_folders"]

MIN_SR = 8000
"""Lowest native sample rate read (Hz): below it the songs (up to 8 kHz) are lost above
sr/2, and resampling a 1 Hz file to the pipeline rate would take gigabytes."""
MAX_ABS_SAMPLE = 1e6
"""Largest sample magnitude accepted (full scale is 1); beyond it the file is corrupt."""

AUDIO_SUFFIXES = frozenset({".wav", ".wave", ".flac", ".ogg", ".oga", ".opus", ".mp3",
                            ".aif", ".aiff", ".aifc", ".w64", ".rf64"})
"""File name suffixes (lower case) that a folder search takes for audio: every command that
reads a folder of recordings uses this one list. A file named explicitly is read whatever
its suffix (libsndfile decides)."""

_READ_FRAMES = 1 << 16  # native frames per read in `stream`

# Integer encodings read as integers and scaled here: the same float32 samples as
# libsndfile's own float conversion, bit for bit, several times faster (and integers hold
# no NaN or inf, so they skip that check).
_INTEGER_READS = {"PCM_16": ("int16", 2.0 ** -15), "PCM_24": ("int32", 2.0 ** -31),
                  "PCM_32": ("int32", 2.0 ** -31)}


def audio_files(folder: Path, *, recursive: bool = False) -> list[Path]:
    """The audio files (:data:`AUDIO_SUFFIXES`) in ``folder``, sorted by path.

    Parameters
    ----------
    folder : Path
    recursive : bool
        Search subfolders at any depth too.
    """
    found = folder.rglob("*") if recursive else folder.iterdir()
    return sorted(p for p in found if p.suffix.lower() in AUDIO_SUFFIXES and p.is_file())


class AudioError(SongnetError):
    """An audio file that cannot be used: unreadable, not audio, truncated, empty, NaN/inf."""


@dataclasses.dataclass(frozen=True)
class AudioInfo:
    """What a file's header says, read without decoding the audio.

    Attributes
    ----------
    path : str
        The file.
    sr : int
        Native sample rate in Hz.
    channels : int
        Number of channels.
    frames : int
        Number of samples per channel.
    format : str
        Container, e.g. ``"WAV"``, ``"FLAC"``, ``"OGG"``, ``"MP3"``.
    subtype : str
        Encoding, e.g. ``"PCM_16"``, ``"PCM_24"``, ``"FLOAT"``, ``"VORBIS"``.
    """

    path: str
    sr: int
    channels: int
    frames: int
    format: str
    subtype: str

    @property
    def duration(self) -> float:
        """Duration in seconds."""
        return self.frames / self.sr


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



def theme_folders(folder: str | os.PathLike) -> list[tuple[str, list[Path]]]:
    """``(theme name, recordings)`` for each subfolder of ``folder`` holding audio files
    (at any depth: ``T01/bird3/*.wav`` belongs to T01): the layout of ``data/2020/``.

    Subfolders whose names start with ``.`` or ``_`` are not themes (``_unsorted/``, the
    songs ``songnet themes discover`` could not place).

    Raises
    ------
    SongnetError
        For a theme folder that is a symbolic link: it points inside ``folder`` (so its
        recordings would count for two themes, or ``T01 -> .`` for every theme), above it
        or outside it (recordings the folder does not hold).
    """
    folder = Path(folder)
    if not folder.is_dir():
        return []
    out = []
    for sub in sorted(p for p in folder.iterdir()
                      if p.is_dir() and not p.name.startswith((".", "_"))):
        if sub.is_symlink():
            target, root = sub.resolve(), folder.resolve()
            where = ("inside" if target == root or root in target.parents
                     else "above" if target in root.parents else "outside")
            raise SongnetError(f"{sub}: a theme folder is a link to {target}, {where} the "
                               f"recordings folder {folder}; make it a real folder holding "
                               "that theme's recordings")
        files = audio_files(sub, recursive=True)
        if files:
            out.append((sub.name, files))
    return out

def info(path: str | os.PathLike) -> AudioInfo:
    """Read the header of an audio file.

    Parameters
    ----------
    path : path-like
        A WAV, FLAC, OGG or MP3 file.

    Returns
    -------
    AudioInfo
        Native rate, channels, frames (so ``duration``), format and subtype.

    Raises
    ------
    AudioError
        When the file is missing, is not audio, or is a truncated WAV.
    """
    path = Path(path)
    if not path.is_file():
        raise AudioError(f"{path}: audio file not found; check the path")
    try:
        with _quiet_decoder():
            meta = sf.info(str(path))
    except (sf.LibsndfileError, RuntimeError, TypeError) as exc:
        raise AudioError(f"{path}: not a readable audio file ({_reason(exc)}); songnet reads "
                         "WAV, FLAC, OGG and MP3: convert the file to one of these") from exc
    if meta.format in ("WAV", "WAVEX"):
        _check_wav_complete(path)
    if meta.samplerate < MIN_SR:
        raise AudioError(f"{path}: sample rate {meta.samplerate} Hz is below the minimum of "
                         f"{MIN_SR} Hz (songs above sr/2 = {meta.samplerate / 2:g} Hz are lost); "
                         "use a recording made at 22050 Hz or more")
    return AudioInfo(path=str(path), sr=int(meta.samplerate), channels=int(meta.channels),
                     frames=int(meta.frames), format=str(meta.format),
                     subtype=str(meta.subtype))


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
    _check_rate(sr)
    meta = info(path)
    if meta.frames == 0:
        raise AudioError(f"{path}: holds no audio samples; record or export it again")
    try:
        with _quiet_decoder(meta.format not in ("WAV", "WAVEX", "FLAC")), \
                sf.SoundFile(str(path)) as f:
            data = _read_float32(f, -1)
    except (sf.LibsndfileError, RuntimeError) as exc:
        raise AudioError(f"{path}: could not be decoded ({_reason(exc)}); the file may be "
                         "damaged: export it again") from exc
    if data.shape[0] == 0:
        raise AudioError(f"{path}: holds no audio samples; record or export it again")
    y = _mono(data)
    if meta.subtype not in _INTEGER_READS:  # integer samples are finite and within full scale
        _check_finite(y, path, 0.0, meta.sr)
    _check_length(meta, data.shape[0])
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
    _check_rate(sr)
    block_n = round(block_s * sr)
    overlap_n = round(overlap_s * sr)
    if block_n <= 0:
        raise SongnetError(f"block_s={block_s} must be positive (at least one sample)")
    if not 0 <= overlap_n < block_n:
        raise SongnetError(f"overlap_s={overlap_s} must be >= 0 and below block_s={block_s}")
    meta = info(path)
    if meta.frames == 0:
        raise AudioError(f"{path}: holds no audio samples; record or export it again")
    step_n = block_n - overlap_n
    resampler = None if meta.sr == sr else soxr.ResampleStream(meta.sr, sr, 1,
                                                               dtype="float32", quality="HQ")
    pending = np.zeros(0, dtype=np.float32)  # resampled samples not yet fully emitted
    chunks: list[np.ndarray] = []  # pending, as pieces joined once a block is complete
    have = 0  # samples in chunks
    start_n = 0  # index (at sr) of pending[0]
    emitted_end = 0  # index (at sr) just after the last sample already emitted
    read_n = 0
    try:
        quiet = meta.format not in ("WAV", "WAVEX", "FLAC")  # mpg123 talks on stderr
        with _quiet_decoder(quiet):
            f = sf.SoundFile(str(path))
        with f:
            check = f.subtype not in _INTEGER_READS
            while True:
                with _quiet_decoder(quiet):  # never around the yield below
                    data = _read_float32(f, _READ_FRAMES)
                last = data.shape[0] < _READ_FRAMES
                y = _mono(data)
                if check:
                    _check_finite(y, path, read_n / meta.sr, meta.sr)
                read_n += y.shape[0]
                if resampler is not None:
                    y = resampler.resample_chunk(y, last=last)
                chunks.append(y)
                have += y.shape[0]
                if have >= block_n:
                    pending = np.concatenate(chunks) if len(chunks) > 1 else chunks[0]
                    while pending.shape[0] >= block_n:
                        yield Block(np.ascontiguousarray(pending[:block_n]), start_n / sr, sr)
                        emitted_end = start_n + block_n
                        pending = pending[step_n:]
                        start_n += step_n
                    chunks, have = [pending], pending.shape[0]
                if last:
                    break
    except (sf.LibsndfileError, RuntimeError) as exc:
        raise AudioError(f"{path}: could not be decoded ({_reason(exc)}); the file may be "
                         "damaged: export it again") from exc
    if read_n == 0:
        raise AudioError(f"{path}: holds no audio samples; record or export it again")
    _check_length(meta, read_n)
    pending = np.concatenate(chunks) if len(chunks) > 1 else (chunks[0] if chunks else pending)
    if pending.size and (start_n + pending.shape[0] > emitted_end or emitted_end == 0):
        yield Block(np.ascontiguousarray(pending, dtype=np.float32), start_n / sr, sr)


def _read_float32(f: sf.SoundFile, frames: int) -> np.ndarray:
    """Up to ``frames`` frames (-1: the rest) as float32 ``(n, channels)`` in [-1, 1)."""
    integer = _INTEGER_READS.get(f.subtype)
    if integer is None:
        return f.read(frames, dtype="float32", always_2d=True)
    dtype, scale = integer
    data = f.read(frames, dtype=dtype, always_2d=True).astype(np.float32)
    data *= np.float32(scale)
    return data


def _mono(data: np.ndarray) -> np.ndarray:
    """(frames, channels) -> (frames,) float32, the mean of the channels."""
    if data.shape[1] == 1:
        return np.ascontiguousarray(data[:, 0], dtype=np.float32)
    return data.mean(axis=1, dtype=np.float32)


def _check_finite(y: np.ndarray, path: str | os.PathLike, offset_s: float, sr: int) -> None:
    """NaN, inf or |x| > MAX_ABS_SAMPLE: an AudioError with the time of the first one."""
    if y.size == 0:
        return
    with np.errstate(invalid="ignore"):
        bad = ~(np.abs(y) <= MAX_ABS_SAMPLE)  # NaN compares False
    if bad.any():
        i = int(np.argmax(bad))
        at = offset_s + i / sr
        what = ("NaN or inf" if not np.isfinite(y[i]) else
                f"absurd values ({float(y[i]):.3g}, the limit is ±{MAX_ABS_SAMPLE:g}; full "
                "scale is 1)")
        raise AudioError(f"{path}: samples contain {what} (first at {at:.3f} s); the file "
                         "is corrupt or was written with invalid values: export it again")


def _check_length(meta: AudioInfo, decoded: int) -> None:
    """Warn when a compressed file decodes to clearly fewer samples than it declares."""
    if meta.format in ("WAV", "WAVEX", "FLAC"):
        return  # truncation is an error there (header check, decoder error)
    short = decoded < meta.frames - max(4096, 0.01 * meta.frames)
    if short or (meta.format == "OGG" and not _ogg_complete(Path(meta.path))):
        warnings.warn(SongnetWarning(
            f"{meta.path}: decoded {decoded / meta.sr:.2f} s"
            + (f" of the {meta.duration:.2f} s its header declares" if short else
               ", but the stream has no proper end")
            + "; the file looks truncated: using what is there"), stacklevel=3)


def _ogg_complete(path: Path) -> bool:
    """The last Ogg page is whole and marks the end of the stream (header flag 4)."""
    with path.open("rb") as f:
        f.seek(max(0, path.stat().st_size - (1 << 16)))
        tail = f.read()
    i = tail.rfind(b"OggS")
    if i < 0 or len(tail) < i + 27:
        return False
    n_seg = tail[i + 26]
    if len(tail) < i + 27 + n_seg:
        return False
    size = 27 + n_seg + sum(tail[i + 27:i + 27 + n_seg])
    return bool(tail[i + 5] & 4) and len(tail) >= i + size


_QUIET_LOCK = threading.Lock()
_QUIET = {"depth": 0, "saved": -1}


@contextlib.contextmanager
def _quiet_decoder(enabled: bool = True) -> Iterator[None]:
    """Silence what the C decoders (mpg123) print on file descriptor 2 while they run."""
    fd = 2  # where C code writes, whatever sys.stderr is
    if not enabled:
        yield
        return
    with _QUIET_LOCK:
        if _QUIET["depth"] == 0:
            with contextlib.suppress(AttributeError, OSError, ValueError):
                sys.stderr.flush()
            _QUIET["saved"] = os.dup(fd)
            null = os.open(os.devnull, os.O_WRONLY)
            os.dup2(null, fd)
            os.close(null)
        _QUIET["depth"] += 1
    try:
        yield
    finally:
        with _QUIET_LOCK:
            _QUIET["depth"] -= 1
            if _QUIET["depth"] == 0:
                os.dup2(_QUIET["saved"], fd)
                os.close(_QUIET["saved"])


def _check_rate(sr: int) -> None:
    if isinstance(sr, bool) or int(sr) != sr or sr <= 0:
        raise SongnetError(f"sr={sr} must be a positive integer sample rate in Hz")


def _check_wav_complete(path: Path) -> None:
    """Refuse a WAV whose data chunk is shorter than its header declares."""
    size = path.stat().st_size
    with path.open("rb") as f:
        head = f.read(12)
        if len(head) < 12 or head[8:12] not in (b"WAVE",):
            return  # libsndfile accepted it as another WAV flavour; trust it
        offset = 12
        while offset + 8 <= size:
            f.seek(offset)
            chunk = f.read(8)
            if len(chunk) < 8:
                break
            cid, csize = chunk[:4], struct.unpack("<I", chunk[4:])[0]
            if cid == b"data":
                available = size - offset - 8
                if csize not in (0, 0xFFFFFFFF) and csize > available:
                    raise AudioError(
                        f"{path}: truncated WAV (header declares {csize} bytes of audio, the "
                        f"file holds {available}); copy or export the file again")
                return
            offset += 8 + csize + (csize & 1)


def _reason(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    if "File does not exist" in text or "Format not recognised" in text:
        return "not a recognised audio format"
    if ": " in text:
        text = text.rsplit(": ", 1)[-1]
    return text.rstrip(".") or type(exc).__name__
