"""The ``classify`` section of params.yaml (:class:`ClassifyParams`) and the block geometry it
and the model's feature params fix: the band the detector listens to, the frames a block edge
disturbs, the overlap of consecutive blocks.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from songnet.core.errors import SongnetError
from songnet.features.frontends import stft_n_fft
from songnet.features.params import FeatureParams

__all__ = ["CANDIDATE_SLACK_S", "ClassifyParams", "block_overlap_s", "listening_bins",
           "margin_frames", "song_limit"]

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
    max_song_s : float or None
        Longest song candidate (seconds, at most the model's window): a longer loud
        stretch is cut at its widest silences (:func:`songnet.classify.activity.song_candidates`).
        None (the default): the model's window, so a model trained on longer clips
        (a catalog of long songs, :mod:`songnet.surrogates.cliplength`) hears its longest
        songs whole; 3 s for the shipped model (:func:`song_limit`).
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
    max_song_s: float | None = None
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
        if self.max_song_s is not None and not self.min_event_s < self.max_song_s:
            raise ValueError(f"max_song_s={self.max_song_s} must exceed min_event_s="
                             f"{self.min_event_s}")


def song_limit(params: ClassifyParams, fp: FeatureParams) -> float:
    """The longest song candidate, s: ``params.max_song_s``, or the model's window (the
    features' clip length) when that is None."""
    return fp.n_samples / fp.sr if params.max_song_s is None else params.max_song_s


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


def block_overlap_s(fp: FeatureParams) -> float:
    """Block overlap: one window plus a CQT filter length of margin on each side, plus
    :data:`CANDIDATE_SLACK_S`."""
    return (fp.n_samples / fp.sr + 2 * margin_frames(fp) * fp.hop_length / fp.sr
            + CANDIDATE_SLACK_S)


def margin_frames(fp: FeatureParams) -> int:
    """Frames at a block edge that the zero padding of the CQT (or the STFT) disturbs."""
    q = 1.0 / (2.0 ** (1.0 / fp.bins_per_octave) - 1.0)
    longest_filter_s = 1.5 * q / fp.fmin  # the lowest bin's filter, with room to spare
    if fp.frontend != "cqt":  # the CQT's margin, or the STFT window if that is longer
        longest_filter_s = max(longest_filter_s, stft_n_fft(fp.sr) / fp.sr)
    return int(np.ceil(longest_filter_s / 2 * fp.sr / fp.hop_length)) + 1
