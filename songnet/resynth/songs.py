"""The ``themes`` params (:class:`LearnParams`) and finding the songs to learn from.

Songs are found and read by :mod:`songnet.song.find` (the trill is what repeats at a
steady rate; the introduction the 1–6 notes before it); this module turns the ``themes``
section of ``params.yaml`` into its settings.
"""

from __future__ import annotations

import dataclasses

from songnet.core.sound import Sound
from songnet.song.find import FoundSong, Skipped, TrackSettings, describe
from songnet.song.find import find_songs as _find_songs
from songnet.song.reading import SongRules
from songnet.song.segment import Segment

__all__ = ["FoundSong", "LearnParams", "Segment", "Skipped", "describe", "find_songs"]

SR_NYQUIST = 22050.0


@dataclasses.dataclass(frozen=True)
class LearnParams:
    """The ``themes`` section of ``params.yaml``: how songs are found and learned.

    Attributes
    ----------
    fmin_hz, fmax_hz : float
        Song band searched by the pitch tracker (Hz); sounds outside it are ignored.
    hop_s, window_s : float
        Tracker frame hop and Hann window (s).
    tonality_db : float
        A voiced frame's peak stands this far above the band's median level (dB).
    song_gap_s : float
        A silence this long ends a song (s).
    note_gap_s : float
        At most this silence between introductory notes, and before the trill (s).
    min_trill : int
        A song's trill repeats its syllable at least this many times.
    trill_syllable_s : (float, float)
        A trill syllable's half-level length (s): real chingolos sing 30–170 ms within
        20 dB of the peak (DESIGN.md, "Real birds vary"), 11–140 ms at half level
        (``../shared/data/`` clips); widened by a third.
    trill_interval_s : (float, float)
        A trill's onset-to-onset interval (s): real chingolos 55–190 ms, widened.
    interval_tol, similar_ratio, similar_cents, intro_note_s, intro_pitch_hz, echo_db,
    echo_s, echo_cents
        How a song is read from its notes: :class:`songnet.song.reading.SongRules`, where
        each says what real data it comes from.
    edge_s : float
        A song whose sound comes this close to the analysed span's edge is cut (s).
    n_refine : int
        Sing-measure-correct passes of each learned song (0 = the measurement as is).
    """

    fmin_hz: float = 2000.0
    fmax_hz: float = 9000.0
    hop_s: float = 0.002
    window_s: float = 0.008
    tonality_db: float = 15.0
    # the reading rules: SongRules's own defaults, so the two cannot drift apart
    song_gap_s: float = SongRules.song_gap_s
    note_gap_s: float = SongRules.note_gap_s
    min_trill: int = SongRules.min_trill
    trill_syllable_s: tuple[float, float] = SongRules.syllable_s
    trill_interval_s: tuple[float, float] = SongRules.interval_s
    interval_tol: float = SongRules.interval_tol
    similar_ratio: float = SongRules.similar_ratio
    similar_cents: float = SongRules.similar_cents
    intro_note_s: tuple[float, float] = SongRules.intro_note_s
    intro_pitch_hz: tuple[float, float] = SongRules.intro_pitch_hz
    echo_db: float = SongRules.echo_db
    echo_s: float = SongRules.echo_s
    echo_cents: float = SongRules.echo_cents
    edge_s: float = 0.01
    n_refine: int = 3

    def __post_init__(self) -> None:
        if not 0 < self.fmin_hz < self.fmax_hz < SR_NYQUIST:
            raise ValueError(f"fmin_hz={self.fmin_hz} and fmax_hz={self.fmax_hz} must satisfy "
                             f"0 < fmin_hz < fmax_hz < {SR_NYQUIST:g}")
        if min(self.hop_s, self.window_s, self.song_gap_s, self.note_gap_s) <= 0:
            raise ValueError("hop_s, window_s, song_gap_s and note_gap_s must be positive")
        if self.min_trill < 2 or self.n_refine < 0 or self.edge_s < 0:
            raise ValueError(f"min_trill={self.min_trill} must be >= 2, n_refine="
                             f"{self.n_refine} and edge_s={self.edge_s} >= 0")
        if not (0 < self.interval_tol < 1 and self.similar_ratio > 1
                and min(self.similar_cents, self.echo_db, self.echo_s, self.echo_cents) > 0):
            raise ValueError("interval_tol must lie in (0, 1), similar_ratio above 1, and "
                             "similar_cents, echo_db, echo_s and echo_cents be positive")
        for name in ("trill_syllable_s", "trill_interval_s", "intro_note_s", "intro_pitch_hz"):
            lo, hi = getattr(self, name)
            if not 0 < lo < hi:
                raise ValueError(f"{name}={[lo, hi]} must be [low, high] with 0 < low < high")

    @property
    def settings(self) -> TrackSettings:
        """The pitch tracker's settings."""
        return TrackSettings(fmin_hz=self.fmin_hz, fmax_hz=self.fmax_hz, hop_s=self.hop_s,
                             window_s=self.window_s, tonality_db=self.tonality_db,
                             edge_s=self.edge_s)

    @property
    def rules(self) -> SongRules:
        """How a song is read from its notes."""
        return SongRules(song_gap_s=self.song_gap_s, note_gap_s=self.note_gap_s,
                         min_trill=self.min_trill,
                         syllable_s=tuple(self.trill_syllable_s),
                         interval_s=tuple(self.trill_interval_s),
                         interval_tol=self.interval_tol, similar_ratio=self.similar_ratio,
                         similar_cents=self.similar_cents,
                         intro_note_s=tuple(self.intro_note_s),
                         intro_pitch_hz=tuple(self.intro_pitch_hz), echo_db=self.echo_db,
                         echo_s=self.echo_s, echo_cents=self.echo_cents)


def find_songs(sound: Sound, *, params: LearnParams | None = None,
               start_s: float | None = None, end_s: float | None = None,
               one_song: bool = False) -> tuple[list[FoundSong], list[Skipped]]:
    """:func:`songnet.song.find.find_songs` with the ``themes`` params."""
    params = LearnParams() if params is None else params
    return _find_songs(sound, settings=params.settings, rules=params.rules, start_s=start_s,
                       end_s=end_s, one_song=one_song)
