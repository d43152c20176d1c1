"""The researcher's own recordings in the surrogate set: real songs and real backgrounds.

``data/2020/<theme>/*.wav`` (the folders the ``themes`` stage learns the catalog from)
hold more than the themes' parameters: the real songs themselves, and the site's real
background between them. :func:`read_recordings` finds the songs of every recording as
``songnet themes`` does (:func:`songnet.song.find.find_songs`), and keeps

- each complete song (with 0.1 s around it) as a :class:`RealSong` of its folder's theme,
  with its SNR (its loudness over the background around it), in the split of its
  recording: a recording's songs all go to one split (:func:`recording_splits`);
- every stretch of at least :data:`MIN_BACKGROUND_S` with no song in it (0.3 s kept clear
  of each song and of each cut song the search skipped) as a real background.

``synthesize`` mixes its songs into those backgrounds and adds the real songs, augmented,
to the clips (:mod:`songnet.surrogates.synthesize`).
"""

from __future__ import annotations

import dataclasses
import functools
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from songnet.core.errors import SongnetError
from songnet.core.sound import Sound
from songnet.surrogates.resing import SongVariation, theme_variation

__all__ = ["MIN_BACKGROUND_S", "RealMaterial", "RealSong", "read_recordings",
           "recording_splits"]

SR = 44100
MIN_BACKGROUND_S = 1.0
"""Shorter song-free stretches are not kept as backgrounds (s)."""
CLEAR_S = 0.3
"""Seconds kept clear of a song (or a cut song) on each side of a background stretch."""
NEAR_S = 3.0
"""A song's SNR is measured against the background within this many seconds of it."""
MAX_BACKGROUND_S = 1800.0
"""At most this much background is held in memory (the first recordings, sorted)."""


@dataclasses.dataclass(frozen=True, eq=False)
class RealSong:
    """One real song of a theme folder, as a clip to train on.

    Attributes
    ----------
    theme : str
        Its folder's name (the theme it was learned into).
    recording : str
        The file it comes from.
    split : str
        ``train``, ``val`` or ``test``: its recording's (:func:`recording_splits`).
    samples : np.ndarray [shape=(n,), dtype=float32]
        The song with 0.1 s around it, at 44.1 kHz.
    start_s, end_s : float
        Where the song lies in its recording (s).
    snr_db : float
        The song's level over its recording's background (dB), as ``synthesize`` mixes
        songs: the mean power of the song's notes (less the noise's) against the noise's,
        the median power of the 50-ms frames of the background stretches within
        :data:`NEAR_S` of the song (all of the recording's when none is that near; a
        passing other sound does not move a median).
    t60_s : float
        The site's reverberation time read after the song (:func:`songnet.song.reverb.
        tail_t60`): 0.0 for a tail too short to fit, NaN where the song stands too little
        above its background to tell.
    parts : tuple of (float, float)
        Each introductory note, then each trill syllable, as read: onset and offset, s
        from the start of ``samples`` (empty when not known).
    n_intro : int
        How many of ``parts`` are introductory notes.
    """

    theme: str
    recording: str
    split: str
    samples: np.ndarray
    start_s: float
    end_s: float
    snr_db: float
    t60_s: float = float("nan")
    parts: tuple[tuple[float, float], ...] = ()
    n_intro: int = 0


@dataclasses.dataclass(frozen=True, eq=False)
class RealMaterial:
    """What :func:`read_recordings` found: songs, backgrounds (float32 at 44.1 kHz, with the
    file each came from), and notes for the user."""

    songs: tuple[RealSong, ...]
    backgrounds: tuple[np.ndarray, ...]
    background_sources: tuple[str, ...]
    notes: tuple[str, ...]

    @functools.cached_property
    def variation(self) -> dict[str, SongVariation]:
        """How each theme's real train songs vary (gaps, trill counts): the range
        :func:`songnet.surrogates.resing.resing` draws from (the songs of the val and test
        recordings stay out of it, as they stay out of training)."""
        return theme_variation([s for s in self.songs if s.split == "train"])

    @property
    def snr_range_db(self) -> tuple[float, float] | None:
        """The lowest and highest SNR of the real songs (None without songs)."""
        snr = [s.snr_db for s in self.songs if np.isfinite(s.snr_db)]
        return (min(snr), max(snr)) if snr else None

    @property
    def t60_measured_s(self) -> list[float]:
        """The reverberation times of the real songs whose tail could be measured."""
        return [s.t60_s for s in self.songs if np.isfinite(s.t60_s)]

    @property
    def t60_range_s(self) -> tuple[float, float] | None:
        """The shortest and longest reverberation time measured after the real songs (at
        least :data:`MIN_REVERB_SONGS` of them measurable; None otherwise)."""
        t60 = self.t60_measured_s
        return (min(t60), max(t60)) if len(t60) >= MIN_REVERB_SONGS else None


MIN_REVERB_SONGS = 3
"""Real songs whose tail must be measurable before their reverberation times replace the
default range."""


def _parts(song) -> tuple[tuple[float, float], ...]:
    """A found song's notes then trill syllables: onset and offset, s from its samples'
    start."""
    t0 = song.sound_start_s
    return tuple((seg.onset_s - t0, seg.offset_s - t0) for seg in (*song.intro, *song.trill))


def recording_splits(recordings: Sequence[str]) -> dict[str, str]:
    """Each recording of a theme in one split: all in ``train`` for one or two recordings
    (too few to hold one out: every real song trains), else the last (in sorted order) in
    ``test``, the one before in ``val`` and the others in ``train``."""
    names = sorted(recordings)
    out = dict.fromkeys(names, "train")
    if len(names) >= 3:
        out[names[-1]] = "test"
        out[names[-2]] = "val"
    return out


def _noise_power(stretches: Sequence[np.ndarray]) -> float:
    """The median power of the stretches' 50-ms frames (NaN without any)."""
    n = round(0.05 * SR)
    frames = [np.mean(np.square(s[: s.size // n * n].reshape(-1, n), dtype=np.float64),
                      axis=1) for s in stretches if s.size >= n]
    return float(np.median(np.concatenate(frames))) if frames else float("nan")


def _snr_db(y: np.ndarray, song, noise: float) -> float:
    """The song's notes' power over ``noise`` (dB), the noise's own share taken out."""
    notes = [y[round(g.onset_s * SR):round(g.offset_s * SR)] for g in (*song.intro,
                                                                         *song.trill)]
    power = float(np.mean(np.square(np.concatenate(notes), dtype=np.float64)))
    if not noise > 0:
        return float("nan")
    return float(10 * np.log10(max(power - noise, noise * 1e-3) / noise))


VERIFIED = "verified.csv"
"""A reviewer's verdicts beside the theme folders: then the real songs are the verified
ones (:func:`read_recordings`)."""


def _verified_groups(path: Path, known: set[str], notes: list[str]):
    """The recordings a ``verified.csv`` names (one group), and a labeller giving a song
    found in one of them the theme the reviewer gave it (None: not verified, or wrong)."""
    from songnet.core.verified import read_verified

    verified = read_verified(path)
    files = sorted({v.file for v in verified})
    missing = [f for f in files if not Path(f).is_file()]
    if missing:
        raise SongnetError(f"{path}: names recordings that are not there ({missing[0]}"
                           f"{f' and {len(missing) - 1} more' if len(missing) > 1 else ''}); "
                           "keep the recordings where they were reviewed")
    other = sorted({v.true_theme for v in verified if v.true_theme} - known)
    if other:
        notes.append(f"{path}: verified songs of {', '.join(other)}, not themes of the "
                     "catalog, are not training songs")

    def label(file: str, song) -> str | None:
        v = next((v for v in verified if v.overlaps(file, song.start_s, song.end_s)), None)
        return None if v is None else v.true_theme

    return [("", [Path(f) for f in files])], label


def read_recordings(folder: str | os.PathLike, *, themes: Sequence[str]) -> RealMaterial:
    """The real songs and backgrounds of ``folder``'s theme folders (see the module text).

    Parameters
    ----------
    folder : path-like
        ``FOLDER/<theme>/*.wav`` (any depth, rate, channels); a missing folder, or one
        without theme folders, gives nothing.
    themes : sequence of str
        The catalog's theme names: a folder of another name gives backgrounds only (its
        songs are of no theme of the catalog), with a note.

    With a ``verified.csv`` in ``folder`` (a review's verdicts), the recordings it names
    are read instead of the theme folders, and a song is a real training song of the
    theme the reviewer gave it: songs not verified, or marked wrong, are not (and are kept
    out of the backgrounds).
    """
    from songnet.core.audio import load
    from songnet.core.audio_files import theme_folders
    from songnet.song.find import find_songs
    from songnet.song.reverb import tail_t60

    folder = Path(folder)
    if not folder.is_dir():
        return RealMaterial((), (), (), ())
    songs: list[RealSong] = []
    backgrounds: list[np.ndarray] = []
    sources: list[str] = []
    notes: list[str] = []
    held = 0.0
    known = set(themes)
    if (folder / VERIFIED).is_file():
        groups, label = _verified_groups(folder / VERIFIED, known, notes)
    else:
        groups = theme_folders(folder)
        label = None
    for theme, files in groups:
        if label is None and theme not in known:
            notes.append(f"{folder / theme}: not a theme of the catalog; its recordings give "
                         "backgrounds only")
        splits = recording_splits([str(f) for f in files])
        for path in files:
            try:
                sound = load(path, sr=SR)
            except SongnetError as exc:
                notes.append(f"{exc}; skipped")
                continue
            found, skipped = find_songs(Sound(sound.samples, SR, str(path)))
            busy = [(s.start_s, s.end_s) for s in found] + [(k.start_s, k.end_s)
                                                           for k in skipped]
            y = np.asarray(sound.samples, dtype=np.float32)
            free = np.ones(y.size, dtype=bool)
            for a, b in busy:
                free[max(0, round((a - CLEAR_S) * SR)):round((b + CLEAR_S) * SR)] = False
            edges = np.flatnonzero(np.diff(np.concatenate([[0], free.view(np.int8), [0]])))
            spans = [(int(a), int(b)) for a, b in zip(edges[::2], edges[1::2], strict=True)
                     if b - a >= MIN_BACKGROUND_S * SR]
            stretches = [y[a:b] for a, b in spans]
            for s in found:
                lo, hi = (s.start_s - NEAR_S) * SR, (s.end_s + NEAR_S) * SR
                near = [y[max(a, round(lo)):min(b, round(hi))] for a, b in spans
                        if a < hi and b > lo]
                noise = _noise_power(near if near else stretches)
                theme = label(str(path), s) if label is not None else theme
                if theme in known:
                    songs.append(RealSong(theme, str(path), splits[str(path)],
                                          np.asarray(s.sound.samples, dtype=np.float32),
                                          s.start_s, s.end_s, _snr_db(y, s, noise),
                                          tail_t60(y, SR, s.end_s).t60_s,
                                          _parts(s), len(s.intro)))
            for piece in stretches:
                if held >= MAX_BACKGROUND_S or not np.any(piece):
                    continue
                backgrounds.append(piece.copy())
                sources.append(str(path))
                held += piece.size / SR
    material = RealMaterial(tuple(songs), tuple(backgrounds), tuple(sources), ())
    if songs:
        n = len(material.t60_measured_s)
        if material.t60_range_s is not None:
            lo, hi = material.t60_range_s
            notes.append(f"reverberation: T60 {lo:.2f}-{hi:.2f} s after {n} of {len(songs)} "
                         "real songs (those at least 30 dB above their background); the "
                         "model's songs take that range")
        else:
            notes.append(f"reverberation: measurable after {n} of {len(songs)} real songs (a "
                         "song must stand 30 dB above its background, with 1.2 s of "
                         f"recording after it; {MIN_REVERB_SONGS} needed): the default T60 "
                         "range stays")
    return dataclasses.replace(material, notes=tuple(notes))
