"""Constant-Q power and images in NumPy: the classify path without torch.

The kernels are those of :mod:`songnet.features.kernels` (librosa's filters as
time-domain kernels, one group per octave), the same that :mod:`songnet.features.cqt`
runs as torch convolutions; here they run as matrix products. A signal cut into chunks of
``hop_length`` samples makes every frame a run of consecutive chunks, so one product
``kernels @ chunks`` (one BLAS call, no copy of overlapping frames) gives each chunk's
share of every kernel response, and the shares of a frame's chunks add up to the frame's
response.

The long kernels of the low octaves (1024 samples at the defaults) take two thirds of
that product, yet each is a sum of a few dozen complex exponentials (librosa's sparse
filter basis). For them the same linear map is computed through its spectrum: each chunk's
DFT at those few frequencies (a product, one per chunk phase), a running sum over the
frame's chunks, then the sparse basis (a product per frame phase), a third of the
multiplications. Either way the result equals the torch convolution to float32 rounding
(a relative difference around 1e-6).

:func:`fit_window` (crop or pad a clip to one window) and the normalisation of power into
images (:func:`power_to_images`, :func:`power_to_db` + :func:`db_windows`) live here too,
so that classifying never imports torch; :mod:`songnet.features.images` uses them.
:func:`power` is the NumPy power of any ``features.frontend``: this CQT, or the STFT
bands of :mod:`songnet.features.frontends`.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import threading

import numpy as np

from songnet.core.errors import SongnetError
from songnet.core.threads import shared_pool
from songnet.features import frontends
from songnet.features.kernels import octave_bases, octave_kernels
from songnet.features.params import FeatureParams, cached_wavelet_lengths

__all__ = [
    "AMIN",
    "CQTPlan",
    "cqt_power",
    "db_windows",
    "fit_window",
    "plan",
    "plan_in_background",
    "power",
    "power_to_db",
    "power_to_images",
    "reference_db",
]

AMIN = 1e-20
"""Power floor before the logarithm (avoids log(0))."""

_TILE_FRAMES = 4096  # frames per matrix product (bounds the memory of the partial sums)
_PLAN_LOCK = threading.Lock()


@dataclasses.dataclass(frozen=True, eq=False)
class SpectralGroup:
    """One octave computed through its sparse spectrum (see the module docstring).

    Attributes
    ----------
    lo, hi : int
        Its bins.
    first : int
        Chunk where frame 0's ``n_fft`` samples start.
    span : int
        Chunks per frame (``n_fft / hop_length``, a power of two).
    analysis : np.ndarray [shape=(span, hop_length, 2 * n_freqs), dtype=float32]
        Per chunk phase ``r`` (chunk index mod ``span``): the chunk's DFT at the octave's
        frequencies, real parts then imaginary parts.
    synthesis : np.ndarray [shape=(span, 2 * n_freqs, 2 * (hi - lo)), dtype=float32]
        Per frame phase: the sparse basis as a real matrix (real then imaginary parts in
        and out).
    """

    lo: int
    hi: int
    first: int
    span: int
    analysis: np.ndarray
    synthesis: np.ndarray


@dataclasses.dataclass(frozen=True, eq=False)
class CQTPlan:
    """The kernels of one set of feature params laid out for chunk products.

    Attributes
    ----------
    weight : np.ndarray [shape=(n_cols, hop_length), dtype=float32]
        Row block ``(group, chunk j)``: the real then imaginary kernels of the group's
        bins restricted to their ``j``-th chunk of ``hop_length`` samples.
    groups : tuple of (lo, hi, terms)
        The octaves computed from the kernels: bins ``lo:hi`` and ``terms`` = ``((chunk
        offset, first row), ...)``: frame ``t`` of the group's responses is the sum over
        terms of ``products[row:row + 2 * (hi - lo), t + offset]``.
    spectral : tuple of SpectralGroup
        The octaves computed through their sparse spectrum.
    left, right : int
        Chunks a frame reaches before and after its centre (zero padding at the ends).
    """

    weight: np.ndarray
    groups: tuple[tuple[int, int, tuple[tuple[int, int], ...]], ...]
    spectral: tuple[SpectralGroup, ...]
    left: int
    right: int
    hop_length: int
    n_bins: int


@functools.lru_cache(maxsize=16)
def _plan(sr: int, fmin: float, bins_per_octave: int, n_bins: int, hop: int) -> CQTPlan:
    kern = octave_kernels(sr, fmin, bins_per_octave, n_bins)
    bases = octave_bases(sr, fmin, bins_per_octave, n_bins)
    spans = []
    for _, _, w in kern:
        n_fft = w.shape[-1]
        half = n_fft // 2  # kernel sample m sits at m - half from the frame centre
        spans.append((-(-half // hop), -(-(n_fft - half) // hop)))  # chunks before, after
    left = max(s[0] for s in spans)
    right = max(s[1] for s in spans)
    rows, groups, spectral, row = [], [], [], 0
    for (lo, hi, w), (before, after), (_, _, basis, lengths) in zip(kern, spans, bases,
                                                                      strict=True):
        v = w[:, 0, :]  # (2k, n_fft)
        n_fft = v.shape[1]
        group = _spectral_group(lo, hi, basis, lengths, hop=hop, left=left)
        if group is not None:
            spectral.append(group)
            continue
        padded = np.zeros((v.shape[0], (before + after) * hop), dtype=np.float32)
        start = before * hop - n_fft // 2
        padded[:, start:start + n_fft] = v
        terms = []
        for j in range(before + after):
            rows.append(padded[:, j * hop:(j + 1) * hop])
            terms.append((left - before + j, row))
            row += v.shape[0]
        groups.append((lo, hi, tuple(terms)))
    weight = (np.ascontiguousarray(np.concatenate(rows, axis=0)) if rows
              else np.zeros((0, hop), dtype=np.float32))
    return CQTPlan(weight, tuple(groups), tuple(spectral), left, right, hop, n_bins)


def _spectral_group(lo: int, hi: int, basis: np.ndarray, lengths: np.ndarray, *, hop: int,
                    left: int) -> SpectralGroup | None:
    """The octave as a :class:`SpectralGroup`, or None when its kernels are cheaper."""
    k = hi - lo
    n_fft = 2 * (basis.shape[1] - 1)
    span = n_fft // hop
    freqs = np.flatnonzero(np.any(basis != 0, axis=0))  # the DFT bins the basis uses
    direct_cost = 2 * k * n_fft
    spectral_cost = 2 * freqs.size * hop + 2 * k * 2 * freqs.size
    if (n_fft % (2 * hop) or span & (span - 1) or span < 2
            or spectral_cost > 0.8 * direct_cost):
        return None
    b = basis[:, freqs] / np.sqrt(lengths)[:, np.newaxis]  # (k, n_freqs) complex
    m = np.arange(hop)
    analysis, synthesis = [], []
    for r in range(span):
        # chunk c (phase r = c mod span) at its absolute position: exp(-2j pi f (c hop + m) / n)
        e = np.exp(-2j * np.pi * np.outer(r * hop + m, freqs) / n_fft)  # (hop, n_freqs)
        analysis.append(np.concatenate([e.real, e.imag], axis=1))
        # frame t reads chunks first + t ...; X_t = exp(+2j pi f (first + t) / span) * sum
        br = b * np.exp(2j * np.pi * freqs * r / span)[np.newaxis, :]  # (k, n_freqs)
        synthesis.append(np.block([[br.real.T, br.imag.T], [-br.imag.T, br.real.T]]))
    return SpectralGroup(lo, hi, left - n_fft // 2 // hop, span,
                         np.stack(analysis).astype(np.float32),
                         np.stack(synthesis).astype(np.float32))


def plan(params: FeatureParams) -> CQTPlan:
    """The cached :class:`CQTPlan` of ``params`` (threads that ask at once wait for one
    computation)."""
    with _PLAN_LOCK:
        return _plan(params.sr, params.fmin, params.bins_per_octave, params.n_bins,
                     params.hop_length)


def plan_in_background(params: FeatureParams) -> None:
    """Start computing ``plan(params)`` on a thread of its own (some 30 ms), so that it
    overlaps what a command does before its first transform. An error is left for the
    first :func:`plan` in the foreground to raise."""
    if params.frontend != "cqt":
        return

    def warm() -> None:
        with contextlib.suppress(Exception):
            plan(params)

    threading.Thread(target=warm, name="songnet-cqt-plan", daemon=True).start()


def cqt_power(y: np.ndarray, *, params: FeatureParams, threads: int = 1) -> np.ndarray:
    """CQT power ``|C|**2`` of a whole (long) signal, every frame.

    The frames are computed in tiles of at most ``_TILE_FRAMES`` (every octave of a tile
    at once, so its partial products stay in cache), on ``threads`` threads: NumPy
    releases the GIL in its products and loops, so the tiles of a long signal run on
    several cores.

    Parameters
    ----------
    y : np.ndarray [shape=(n,)]
        Samples at ``params.sr``.
    params : FeatureParams
    threads : int
        Threads that compute tiles at once (1: the calling thread alone).

    Returns
    -------
    np.ndarray [shape=(n_bins, n // hop_length + 1), dtype=float32]
        Frame ``t`` centred on sample ``t * hop_length`` (zero padding at both ends), as
        :func:`songnet.features.images.cqt_power` computes it with torch.
    """
    y = np.asarray(y, dtype=np.float32)
    if y.ndim != 1:
        raise SongnetError(f"cqt_power needs one mono signal of shape (n,), got {y.shape}")
    if threads < 1:
        raise SongnetError(f"threads={threads} must be at least 1")
    p = plan(params)
    hop = p.hop_length
    n_frames = y.shape[0] // hop + 1
    n_chunks = n_frames - 1 + p.left + p.right
    padded = np.zeros(n_chunks * hop, dtype=np.float32)
    keep = min(y.shape[0], padded.shape[0] - p.left * hop)
    padded[p.left * hop:p.left * hop + keep] = y[:keep]
    chunks = padded.reshape(n_chunks, hop)  # (n_chunks, hop)
    out = np.empty((p.n_bins, n_frames), dtype=np.float32)  # (n_bins, T)
    tiles = _tiles(n_frames, threads=threads, align=max((g.span for g in p.spectral),
                                                         default=1))

    def run(tile: tuple[int, int]) -> None:
        for group in p.spectral:
            _spectral_power(group, chunks, out, *tile)
        if p.groups:
            _direct_power(p, chunks, out, *tile)

    if threads == 1 or len(tiles) == 1:
        for tile in tiles:
            run(tile)
    else:
        list(shared_pool("cqt", threads).map(run, tiles))
    return out


def _tiles(n_frames: int, *, threads: int, align: int) -> list[tuple[int, int]]:
    """Frame ranges ``[t0, t1)`` covering ``n_frames``: at most ``_TILE_FRAMES`` each, a
    multiple of ``threads`` of them when there are several (no thread waits on a last odd
    tile), every start a multiple of ``align`` (a spectral group's chunk phases)."""
    n_tiles = -(-n_frames // _TILE_FRAMES)
    if threads > 1 and n_frames >= 2 * threads * align:
        n_tiles = threads * -(-n_tiles // threads)
    size = -(-n_frames // n_tiles)
    size = -(-size // align) * align
    return [(t0, min(n_frames, t0 + size)) for t0 in range(0, n_frames, size)]


def _direct_power(p: CQTPlan, chunks: np.ndarray, out: np.ndarray, t0: int, t1: int) -> None:
    """``out[:, t0:t1]`` of the octaves computed from their kernels (``p.groups``)."""
    span = p.left + p.right - 1  # extra chunks a tile of frames reads
    prod = p.weight @ chunks[t0:t1 + span].T  # (n_cols, t1 - t0 + span)
    for lo, hi, terms in p.groups:
        k2 = 2 * (hi - lo)
        (off, row), *rest = terms
        acc = prod[row:row + k2, off:off + t1 - t0].copy()  # (2k, tile)
        for off, row in rest:
            acc += prod[row:row + k2, off:off + t1 - t0]
        np.square(acc, out=acc)
        np.add(acc[: hi - lo], acc[hi - lo:], out=out[lo:hi, t0:t1])


def power(y: np.ndarray, *, params: FeatureParams, threads: int = 1) -> np.ndarray:
    """Power of the ``params.frontend`` transform of a whole signal, every frame, in NumPy.

    Parameters
    ----------
    y : np.ndarray [shape=(n,)]
        Samples at ``params.sr``.
    threads : int
        Threads for :func:`cqt_power` (the STFT bands run on one).

    Returns
    -------
    np.ndarray [shape=(n_bins, n // hop_length + 1), dtype=float32]
        :func:`cqt_power` for ``"cqt"``, :func:`songnet.features.frontends.spectral_power`
        for ``"stft"`` and ``"mel"``; frame ``t`` centred on sample ``t * hop_length``.
    """
    if params.frontend == "cqt":
        return cqt_power(y, params=params, threads=threads)
    y = np.asarray(y, dtype=np.float32)
    if y.ndim != 1:
        raise SongnetError(f"power needs one mono signal of shape (n,), got {y.shape}")
    return frontends.spectral_power(y, params=params)


def _spectral_power(g: SpectralGroup, chunks: np.ndarray, out: np.ndarray, t0: int,
                    t1: int) -> None:
    """``out[g.lo:g.hi, t0:t1]`` = the power of a :class:`SpectralGroup` from the chunks."""
    span = g.span
    c0 = g.first + t0  # the first chunk that frame t0 reads
    sub = chunks[c0:g.first + t1 + span - 1]  # every chunk of frames t0 .. t1 - 1
    dft = np.empty((sub.shape[0], g.analysis.shape[2]), dtype=np.float32)  # (chunks, 2 n_freqs)
    for r in range(span):  # chunk phase r: absolute chunk index = r (mod span)
        i0 = (r - c0) % span
        dft[i0::span] = sub[i0::span] @ g.analysis[r]
    width = 1
    while width < span:  # running sum over a frame's chunks, by doubling
        dft = dft[:-width] + dft[width:]
        width *= 2
    n = t1 - t0  # row j of dft: the sum over frame t0 + j's chunks
    resp = np.empty((n, g.synthesis.shape[2]), dtype=np.float32)  # (frames, 2k)
    for r in range(span):
        j0 = (r - g.first - t0) % span  # frames whose phase is r
        resp[j0::span] = dft[j0:n:span] @ g.synthesis[r]
    np.square(resp, out=resp)
    k = g.hi - g.lo
    out[g.lo:g.hi, t0:t1] = (resp[:, :k] + resp[:, k:]).T


def reference_db(params: FeatureParams) -> float | None:
    """The fixed dB reference (``normalize="fixed"``), or None (each image's maximum).

    The power of a full-scale sine: at ``fmin`` for ``cqt``, at the lowest band's centre
    for ``stft`` and ``mel`` (:func:`songnet.features.frontends.reference_power`).
    """
    if params.normalize == "max":
        return None
    if params.frontend != "cqt":
        return float(10.0 * np.log10(frontends.reference_power(params)))
    lengths, _ = cached_wavelet_lengths(params.sr, params.fmin, params.bins_per_octave,
                                        params.n_bins)
    return float(10.0 * np.log10(float(lengths[0]) / 4.0))  # a full-scale sine at fmin


def power_to_db(power: np.ndarray) -> np.ndarray:
    """``10 * log10(max(power, AMIN))`` in float32, any shape."""
    db = np.maximum(np.asarray(power, dtype=np.float32), np.float32(AMIN))
    np.log10(db, out=db)
    db *= np.float32(10.0)
    return db


def db_windows(db: np.ndarray, starts: np.ndarray, *, params: FeatureParams) -> np.ndarray:
    """Images of the windows of a dB spectrogram that start at frames ``starts``.

    Parameters
    ----------
    db : np.ndarray [shape=(n_bins, T), dtype=float32]
        :func:`power_to_db` of :func:`cqt_power`.
    starts : np.ndarray [shape=(b,), dtype=int]
        First frame of each window; ``starts + params.n_frames <= T``.

    Returns
    -------
    np.ndarray [shape=(b, n_bins, n_frames), dtype=float32]
        As :func:`power_to_images` of the power of the same frames.
    """
    starts = np.asarray(starts, dtype=np.int64)
    cols = starts[:, None] + np.arange(params.n_frames)  # (b, n_frames)
    win = np.ascontiguousarray(np.moveaxis(db[:, cols], 1, 0))  # (b, n_bins, n_frames)
    return _normalise(win, params=params)


def power_to_images(power: np.ndarray, *, params: FeatureParams) -> np.ndarray:
    """Normalise CQT power to images in [0, 1] (see :mod:`songnet.features.images`).

    Parameters
    ----------
    power : np.ndarray [shape=(..., n_bins, n_frames)]
        Linear power; each trailing ``(n_bins, n_frames)`` slice is one image.

    Returns
    -------
    np.ndarray, same shape, float32: 0 = ``db_floor``, 1 = the reference.
    """
    return _normalise(power_to_db(power), params=params)


def _normalise(db: np.ndarray, *, params: FeatureParams) -> np.ndarray:
    """dB images ``(..., n_bins, n_frames)`` -> [0, 1], in place."""
    floor = params.db_floor
    ref = reference_db(params)
    if ref is None:
        # the reference never sits less than -db_floor above the power floor, so a
        # silent image lies at the floor rather than being stretched to 1
        ref = np.max(db, axis=(-2, -1), keepdims=True)
        np.maximum(ref, np.float32(10.0 * np.log10(AMIN) - floor), out=ref)
    db -= ref
    db -= np.float32(floor)
    db /= np.float32(-floor)
    return np.clip(db, np.float32(0.0), np.float32(1.0), out=db)


def fit_window(y: np.ndarray, *, params: FeatureParams) -> np.ndarray:
    """Crop or pad a clip to exactly one window, ``params.n_samples`` samples.

    Policy: a shorter clip is zero-padded at the end (the audio keeps its start time, never
    an error); a longer clip is cropped to its loudest window (the ``n_samples`` stretch
    of largest energy; the earliest one on ties, so a constant or silent clip keeps its
    start).

    Parameters
    ----------
    y : np.ndarray [shape=(n,)]
        Samples at ``params.sr``.

    Returns
    -------
    np.ndarray [shape=(params.n_samples,), dtype=float32]
    """
    y = np.asarray(y, dtype=np.float32)
    if y.ndim != 1:
        raise SongnetError(f"fit_window needs one mono clip of shape (n,), got {y.shape}")
    n = params.n_samples
    if y.shape[0] == n:
        return y
    if y.shape[0] < n:
        out = np.zeros(n, dtype=np.float32)
        out[: y.shape[0]] = y
        return out
    energy = np.concatenate([[0.0], np.cumsum(y.astype(np.float64) ** 2)])
    window_energy = energy[n:] - energy[:-n]  # (len(y) - n + 1,)
    start = int(np.argmax(window_energy >= window_energy.max() * (1 - 1e-9)))
    return np.ascontiguousarray(y[start:start + n])
