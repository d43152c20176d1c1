"""Which frames of a recording hold sound above the background (:class:`Activity`,
:func:`frame_activity`, :func:`noise_floor`), and the stretches of them that may be songs
(:func:`song_candidates`, :func:`loud_segments`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import numpy as np

from songnet.core.errors import SongnetError
from songnet.core.quantiles import median

__all__ = ["Activity", "frame_activity", "loud_segments", "noise_floor", "song_candidates"]


def song_candidates(active: np.ndarray, *, frame_s: float, split_gap_s: float,
                    min_event_s: float, max_song_s: float) -> list[tuple[int, int]]:
    """Runs of active frames that may each be one song: ``[(first, end)]`` frame indices.

    Gaps shorter than ``split_gap_s`` are bridged (a song's notes are closer than that: the
    themes stage's own song gap is 0.25 s); runs shorter than ``min_event_s`` are dropped; a
    run longer than ``max_song_s`` (a chorus, or songs with other sounds too close to them)
    is cut at its widest silence, again and again, until every piece fits, so no candidate
    is longer than a song can be.
    """
    idx = np.flatnonzero(np.asarray(active, dtype=bool))
    if idx.size == 0:
        return []
    max_gap = max(1, round(split_gap_s / frame_s))
    longest = max(1, int(max_song_s / frame_s))
    shortest = min_event_s / frame_s
    out: list[tuple[int, int]] = []
    stack = np.split(idx, np.flatnonzero(np.diff(idx) > max_gap) + 1)[::-1]
    while stack:
        run = stack.pop()
        if run[-1] + 1 - run[0] <= longest:
            if run[-1] + 1 - run[0] >= shortest:
                out.append((int(run[0]), int(run[-1]) + 1))
            continue
        gaps = np.diff(run)
        cut = int(np.argmax(gaps)) + 1 if gaps.max() > 1 else \
            int(np.searchsorted(run, run[0] + longest))  # no silence at all: cut by length
        stack += [run[cut:], run[:cut]]
    return sorted(out)


@dataclasses.dataclass(frozen=True, eq=False)
class Activity:
    """Which CQT frames of a recording hold sound above the background.

    Attributes
    ----------
    active : np.ndarray [shape=(T,), dtype=bool]
        Frame ``j`` (centred at ``j * frame_s`` seconds) is louder than the noise floor.
    low_hz, high_hz : np.ndarray [shape=(T,), dtype=float32]
        Lowest and highest loud frequency of each active frame (NaN where inactive).
    frame_s : float
        Frame period in seconds (``hop_length / sr``).
    peaks : np.ndarray [shape=(3, T), dtype=float32], optional
        Per frame, the song band's loudest pitch (Hz), its level and the band's median
        level (dB) (:func:`songnet.song.track.frame_peaks`): what the note check measures
        a song's notes from, and its boundaries (:mod:`songnet.classify.bounds`). None
        where they were not computed: events then keep the span of their loud frames.
    """

    active: np.ndarray
    low_hz: np.ndarray
    high_hz: np.ndarray
    frame_s: float
    peaks: np.ndarray | None = None

    @classmethod
    def concatenate(cls, parts: Sequence[Activity], *, frame_s: float) -> Activity:
        """Join consecutive, non-overlapping runs of frames into one."""
        if not parts:
            empty = np.zeros(0, dtype=np.float32)
            return cls(np.zeros(0, dtype=bool), empty, empty.copy(), frame_s)
        peaks = (np.concatenate([p.peaks for p in parts], axis=1)
                 if all(p.peaks is not None for p in parts) else None)
        return cls(np.concatenate([p.active for p in parts]),
                   np.concatenate([p.low_hz for p in parts]),
                   np.concatenate([p.high_hz for p in parts]), frame_s, peaks)


def noise_floor(power: np.ndarray) -> np.ndarray:
    """Each CQT bin's noise floor over a stretch: its median over (up to ~2000 of) the
    stretch's frames, ``(n_bins, 1)`` float32, never zero."""
    power = np.asarray(power, dtype=np.float32)
    step = max(1, power.shape[1] // 2000)  # the median of ~2000 frames is floor enough
    return median(power[:, ::step], axis=1)[:, None] + np.float32(1e-12)


def frame_activity(power: np.ndarray, *, frequencies: np.ndarray, frame_s: float,
                   threshold_db: float = 12.0, smooth_frames: int = 5,
                   band_db: float = 25.0, floor: np.ndarray | None = None) -> Activity:
    """Mark the frames of a CQT that rise above each bin's noise floor.

    Parameters
    ----------
    power : np.ndarray [shape=(n_bins, T)]
        CQT power (linear, not dB) of a stretch of recording.
    frequencies : np.ndarray [shape=(n_bins,)]
        Centre frequency of each bin in Hz.
    frame_s : float
        Frame period in seconds.
    threshold_db : float
        A frame is active when some bin, smoothed over ``smooth_frames`` frames, lies this
        many dB above that bin's median over the stretch (its noise floor).
    smooth_frames : int
        Length of the moving average along time, in frames, that tames noise flicker.
    band_db : float
        A frame's band (``low_hz``, ``high_hz``) spans its loud bins within this many dB
        of its loudest bin.
    floor : np.ndarray [shape=(n_bins, 1)], optional
        :func:`noise_floor` of ``power``, when the caller has it already.

    Returns
    -------
    Activity
        ``T`` frames.
    """
    power = np.asarray(power, dtype=np.float32)
    if power.ndim != 2 or power.shape[0] != len(frequencies):
        raise SongnetError(f"CQT power of shape {power.shape} does not match "
                           f"{len(frequencies)} frequencies")
    floor = noise_floor(power) if floor is None else floor  # (n_bins, 1)
    smooth = _moving_mean(power, max(1, smooth_frames))
    loud = smooth > floor * np.float32(10.0 ** (threshold_db / 10.0))  # (n_bins, T)
    active = loud.any(axis=0)
    freqs = np.asarray(frequencies, dtype=np.float32)
    low = np.full(power.shape[1], np.nan, dtype=np.float32)
    high = low.copy()
    if active.any():
        # the band: loud bins within band_db of the frame's loudest bin
        peak = smooth.max(axis=0, keepdims=True)  # (1, T); its bin is loud in active frames
        in_band = loud & (smooth >= peak * np.float32(10.0 ** (-band_db / 10.0)))
        cols = in_band[:, active]
        first = cols.argmax(axis=0)
        last = cols.shape[0] - 1 - cols[::-1].argmax(axis=0)
        low[active] = freqs[first]
        high[active] = freqs[last]
    return Activity(active, low, high, float(frame_s))


def _moving_mean(x: np.ndarray, size: int) -> np.ndarray:
    """Moving average along the last axis, edges repeated: ``(..., T)`` float32.

    ``scipy.ndimage.uniform_filter1d(x, size, axis=-1, mode="nearest")`` to float32 rounding
    (a direct sum of ``size`` shifted copies in float32, where scipy keeps a running sum in
    float64: a few times faster for the short ``size`` of :func:`frame_activity`), without
    importing scipy on the classify path.
    """
    x = np.asarray(x, dtype=np.float32)
    t = x.shape[-1]
    if t == 0:
        return x.copy()
    left = size // 2
    padded = np.empty((*x.shape[:-1], t + size - 1), dtype=np.float32)
    padded[..., left:left + t] = x
    padded[..., :left] = x[..., :1]
    padded[..., left + t:] = x[..., -1:]
    acc = padded[..., :t].copy()
    for j in range(1, size):
        acc += padded[..., j:j + t]
    acc /= np.float32(size)
    return acc


def loud_segments(activity: Activity, *, split_gap_s: float,
                  min_event_s: float) -> list[tuple[float, float]]:
    """Stretches of active frames (start_s, end_s), gaps up to ``split_gap_s`` bridged.

    Stretches shorter than ``min_event_s`` are left out; times are ``frame * frame_s``.
    """
    fs = activity.frame_s
    idx = np.flatnonzero(activity.active)
    if idx.size == 0:
        return []
    max_gap = max(1, round(split_gap_s / fs))
    breaks = np.flatnonzero(np.diff(idx) > max_gap) + 1
    segments = []
    for run in np.split(idx, breaks):
        start, end = run[0] * fs, (run[-1] + 1) * fs
        if end - start >= min_event_s:
            segments.append((float(start), float(end)))
    return segments
