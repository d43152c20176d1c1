"""Decoding audio files through libsndfile: the header (:func:`info`), samples as float32 mono
(the decoders' own messages on standard error silenced), and the checks that turn a bad file
into an :class:`AudioError` naming it and saying what to do.
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

__all__ = [
    "MAX_ABS_SAMPLE",
    "MIN_SR",
    "AudioError",
    "AudioInfo",
    "check_rate",
    "decode_chunks",
    "decode_whole",
    "info",
]


MIN_SR = 8000
"""Lowest native sample rate read (Hz): below it the songs (up to 8 kHz) are lost above
sr/2, and resampling a 1 Hz file to the pipeline rate would take gigabytes."""


MAX_ABS_SAMPLE = 1e6
"""Largest sample magnitude accepted (full scale is 1); beyond it the file is corrupt."""


_READ_FRAMES = 1 << 16  # native frames per read in `stream`


# Integer encodings read as integers and scaled here: the same float32 samples as
# libsndfile's own float conversion, bit for bit, several times faster (and integers hold
# no NaN or inf, so they skip that check).
_INTEGER_READS = {"PCM_16": ("int16", 2.0 ** -15), "PCM_24": ("int32", 2.0 ** -31),
                  "PCM_32": ("int32", 2.0 ** -31)}


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


def _check_length(meta: AudioInfo, decoded: int, *, stacklevel: int) -> None:
    """Warn when a compressed file decodes to clearly fewer samples than it declares
    (``stacklevel``: the warning's, from this function's frame)."""
    if meta.format in ("WAV", "WAVEX", "FLAC"):
        return  # truncation is an error there (header check, decoder error)
    short = decoded < meta.frames - max(4096, 0.01 * meta.frames)
    if short or (meta.format == "OGG" and not _ogg_complete(Path(meta.path))):
        warnings.warn(SongnetWarning(
            f"{meta.path}: decoded {decoded / meta.sr:.2f} s"
            + (f" of the {meta.duration:.2f} s its header declares" if short else
               ", but the stream has no proper end")
            + "; the file looks truncated: using what is there"), stacklevel=stacklevel)


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


def check_rate(sr: int) -> None:
    """SongnetError unless ``sr`` is a positive whole number of Hz."""
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


def decode_whole(path: str | os.PathLike, meta: AudioInfo) -> np.ndarray:
    """A whole file (``meta``: its :func:`info`) as mono float32 ``(n,)`` at its native rate,
    checked."""
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
    _check_length(meta, data.shape[0], stacklevel=4)  # the warning points at load's caller
    return y


def decode_chunks(path: str | os.PathLike, meta: AudioInfo, *, sr: int, stacklevel: int
                  ) -> Iterator[np.ndarray]:
    """A file (``meta``: its :func:`info`) as mono float32 pieces at ``sr``, decoded
    ``65536`` native frames at a time and resampled by one continuous soxr stream, checked
    as they come (``stacklevel``: a short file's warning's, as :func:`warnings.warn` counts it
    from the check)."""
    resampler = None if meta.sr == sr else soxr.ResampleStream(meta.sr, sr, 1,
                                                               dtype="float32", quality="HQ")
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
                yield y
                if last:
                    break
    except (sf.LibsndfileError, RuntimeError) as exc:
        raise AudioError(f"{path}: could not be decoded ({_reason(exc)}); the file may be "
                         "damaged: export it again") from exc
    if read_n == 0:
        raise AudioError(f"{path}: holds no audio samples; record or export it again")
    _check_length(meta, read_n, stacklevel=stacklevel)
