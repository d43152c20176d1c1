"""Song candidates as images of their own, placed by the song and not by the file
(:func:`candidate_images`, :func:`song_anchor`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from songnet.classify.backends import Backend
from songnet.classify.params import margin_frames

__all__ = ["candidate_images", "song_anchor"]


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
        Candidates as ``(first, end)`` block frames
        (:func:`songnet.classify.activity.song_candidates`).
    floor : np.ndarray [shape=(n_bins, 1)]
        The block's noise floor (:func:`songnet.classify.activity.noise_floor`).

    Returns
    -------
    images : the backend's array [shape=(k, n_bins, n_frames)]
    starts : list of float
        Each image's first frame, in block frames (fractional: the song places it).
    """
    fp = backend.fp
    n, hop, m = fp.n_frames, fp.hop_length, margin_frames(fp)
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
