"""Learning themes from recording files and catalogs from folders of theme folders.

- :func:`learn_theme`: recordings (or one span of one) → one theme: every complete song
  found is learned (:func:`songnet.resynth.learn.learn_song`) and the songs are pooled.
- :func:`learn_catalog`: ``FOLDER/T01/*.wav``, ``FOLDER/T02/*.wav``, … → one theme per
  subfolder, plus the dialect trill when the themes share one (:func:`shared_trill`).
- :func:`check_singable`: the learned theme as the catalog states it (rounded, validated),
  or an error naming the note the model cannot sing and why.
- :func:`save_catalog`: the theme files and ``dialect.yaml`` of a learned catalog.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import yaml

from songnet.core.audio import load
from songnet.core.audio_files import theme_folders
from songnet.core.errors import SongnetError
from songnet.core.progress import ProgressCallback
from songnet.core.verified import Verdict
from songnet.resynth.learn import LearnedSong, learn_song, pool_songs
from songnet.resynth.songs import FoundSong, LearnParams, Skipped, describe, find_songs
from songnet.surrogates.fields import PITCH_LIMITS_HZ
from songnet.surrogates.theme_yaml import format_theme, save_dialect, save_theme
from songnet.surrogates.themes import (
    DIALECT_FILE,
    MAX_NOTE_RATIO,
    Theme,
    Trill,
    contour,
    theme_from_mapping,
)
from songnet.synth import SR, gestures_from_contour

__all__ = ["LearnedCatalog", "LearnedTheme", "TriedSong", "check_singable", "learn_catalog",
           "learn_theme", "learn_verified", "save_catalog", "shared_trill", "theme_folders"]

HEADER = ("Learned by `songnet themes learn` from {n} song(s) in {files} recording(s): "
          "medians of the\nsongs' fitted values; spread = their song-to-song variation.")


@dataclasses.dataclass(frozen=True, eq=False)
class TriedSong:
    """A song found in a recording and what became of it.

    Attributes
    ----------
    song : FoundSong
    learned : LearnedSong or None
        Its own theme (None when it could not be learned).
    status : str
        ``used`` (pooled into the theme), ``left out`` (it disagrees with the theme's
        other songs) or ``skipped`` (it could not be learned).
    reason : str
        Why it was left out or skipped ("" when used).
    """

    song: FoundSong
    learned: LearnedSong | None
    status: str
    reason: str = ""


@dataclasses.dataclass(frozen=True, eq=False)
class LearnedTheme:
    """A theme learned from recordings, with every song tried and the notes to print."""

    theme: Theme
    tried: tuple[TriedSong, ...]
    notes: tuple[str, ...]

    @property
    def songs(self) -> tuple[LearnedSong, ...]:
        """The songs the theme was pooled from."""
        return tuple(t.learned for t in self.tried if t.status == "used")

    @property
    def files(self) -> tuple[str, ...]:
        """The recordings of the songs used."""
        return tuple(sorted({s.song.source for s in self.songs}))

    @property
    def header(self) -> str:
        return HEADER.format(n=len(self.songs), files=len(self.files))


@dataclasses.dataclass(frozen=True, eq=False)
class LearnedCatalog:
    """Learned themes, and the dialect trill they share (None when they do not)."""

    themes: tuple[LearnedTheme, ...]
    dialect: Trill | None
    name: str


def _note_text(i: int, shape: str, pitch_hz: Sequence[float], duration_s: float) -> str:
    khz = " → ".join(f"{p / 1000:.2f}" for p in pitch_hz)
    return f"note {i + 1} ({shape} {khz} kHz, {duration_s * 1000:.0f} ms)"


def check_singable(theme: Theme, *, where: str) -> Theme:
    """The theme as its file will state it, checked; an error names the unsingable note.

    Raises
    ------
    SongnetError
        ``WHERE: note 2 (sweep 7.80 → 1.20 kHz, 300 ms) cannot be sung: …``.
    """
    lo, hi = PITCH_LIMITS_HZ
    parts = [(_note_text(i, n.shape, n.pitch_hz, n.duration_s), n.pitch_hz, MAX_NOTE_RATIO)
             for i, n in enumerate(theme.notes)]
    t = theme.trill
    parts.append((f"the trill syllable ({t.shape} "
                  f"{' → '.join(f'{p / 1000:.2f}' for p in t.pitch_hz)} kHz)", t.pitch_hz, 1.95))
    for text, pitches, ratio in parts:
        out = [p for p in pitches if not lo <= p <= hi]
        if out:
            raise SongnetError(f"{where}: {text} cannot be sung: {out[0] / 1000:.2f} kHz lies "
                               f"outside the model's {lo / 1000:g}–{hi / 1000:g} kHz")
        if max(pitches) / min(pitches) > ratio:
            raise SongnetError(f"{where}: {text} cannot be sung: it spans a pitch ratio of "
                               f"{max(pitches) / min(pitches):.2f}, more than {ratio:g}")
    if t.note_s >= t.interval_s:
        raise SongnetError(f"{where}: the trill cannot be sung: its syllables "
                           f"({t.note_s * 1000:.0f} ms) overlap at its interval "
                           f"({t.interval_s * 1000:.0f} ms)")
    checked = theme_from_mapping(yaml.safe_load(format_theme(theme)), source=where)
    checked = dataclasses.replace(checked, source=theme.source)
    try:
        gestures_from_contour(*contour(checked))
    except SongnetError as exc:
        raise SongnetError(f"{where}: the learned theme cannot be sung: {exc}") from exc
    return checked


def _no_song(path: str, t0: float, t1: float, skipped: Sequence[Skipped]) -> str:
    why = "; ".join(str(s) for s in skipped[:3])
    return (f"{path}: no song found between {t0:.2f} and {t1:.2f} s; "
            + (f"{why}; " if why else "")
            + "a song needs introductory notes and a trill of at least 3 syllables within "
            "the tracker's band (themes.fmin_hz–fmax_hz): check the file, or the span "
            "given with --start/--end")


def _learn_one(song: FoundSong, *, name: str, params: LearnParams) -> TriedSong:
    """One song's own theme, or the song skipped with the reason (a song the model cannot
    sing as read, or whose notes cannot be fitted)."""
    try:
        learned = learn_song(song, params=params, name=name)
        check_singable(learned.theme, where=song.where)
    except SongnetError as exc:
        why = str(exc).removeprefix(f"{song.where}: ")
        return TriedSong(song, None, "skipped", f"read as {describe(song)}; {why}")
    return TriedSong(song, learned, "used")


def learn_theme(paths: Sequence[str | os.PathLike], *, name: str,
                params: LearnParams | None = None, start_s: float | None = None,
                end_s: float | None = None, strict: bool = True,
                spans: Sequence[tuple[float, float]] | None = None,
                progress: ProgressCallback | None = None) -> LearnedTheme:
    """One theme from the songs in ``paths`` (each file, or its ``[start_s, end_s]``).

    Parameters
    ----------
    paths : sequence of path
        Recordings of one theme (one bird or several): any rate, mono or stereo.
    name : str
        The theme's name.
    params : LearnParams
    start_s, end_s : float, optional
        The span of every file that holds one song (s): the song there is learned
        whatever its silences and edges, and how it was read is noted.
    strict : bool
        A file without a complete song is an error (True) or a note (False).
    spans : sequence of (float, float), optional
        One stretch per entry of ``paths`` (a file may come several times) to search for
        songs, as ``start_s``/``end_s`` but read as any recording is (songs found by their
        silences): the songs a reviewer verified, with a margin.
    progress : callable, optional
        Called with 1 per file done.

    Returns
    -------
    LearnedTheme
        ``tried``: every song found, used, left out or skipped; ``notes``: what a user
        should read (songs skipped and why, songs that disagree, files without a song).

    Raises
    ------
    SongnetError
        No usable song at all: the message names the theme and the songs tried.
    """
    params = LearnParams() if params is None else params
    one_song = start_s is not None or end_s is not None
    tried: list[TriedSong] = []
    notes: list[str] = []
    sound = None
    for k, path in enumerate(paths):
        if sound is None or sound.source != str(path):
            sound = load(path, sr=SR)
        a, b = (start_s, end_s) if spans is None else (max(spans[k][0], 0.0), spans[k][1])
        t0 = 0.0 if a is None else a
        t1 = sound.duration if b is None else min(b, sound.duration)
        songs, skipped = find_songs(sound, params=params, start_s=a, end_s=b,
                                    one_song=one_song)
        notes += [str(s) for s in skipped]
        if not songs:
            if strict:
                raise SongnetError(_no_song(str(path), t0, t1, skipped))
            notes.append(_no_song(str(path), t0, t1, skipped))
        for song in songs:
            if one_song:
                notes.append(f"{song.where}: read as {describe(song)}")
            notes += [f"{song.where}: not a note of it: {k}" for k in song.skipped]
            tried.append(_learn_one(song, name=name, params=params))
        if progress is not None:
            progress(1)
    usable = [t for t in tried if t.learned is not None]
    notes += [f"{t.song.where}: skipped: {t.reason}" for t in tried if t.learned is None]
    if not usable:
        seen = "; ".join(f"{t.song.where}: {t.reason}" for t in tried[:3])
        raise SongnetError(f"theme {name}: no usable song in its {len(paths)} recording(s) "
                           f"({_folders(paths)}); " + (f"tried {len(tried)}: {seen}"
                                                        if tried else (notes[0] if notes else
                                                                       "no song found")))
    pooled, left_out = pool_songs([t.learned for t in usable], name=name)
    out = {id(ls): why for ls, why in left_out}
    tried = [dataclasses.replace(t, status="left out", reason=out[id(t.learned)])
             if t.learned is not None and id(t.learned) in out else t for t in tried]
    if left_out:
        kept = len(usable) - len(left_out)
        notes.append(f"theme {name}: the songs disagree: kept {kept} of {len(usable)} "
                     f"songs with {len(pooled.notes)} introductory notes; left out "
                     + "; ".join(f"{ls.song.where} ({why})" for ls, why in left_out))
    used = [t.learned for t in tried if t.status == "used"]
    pooled = dataclasses.replace(pooled, description=_describe(pooled, len(used)))
    where = f"theme {name} (learned from {', '.join(sorted({s.song.source for s in used}))})"
    theme = check_singable(pooled, where=where)
    return LearnedTheme(theme=theme, tried=tuple(tried), notes=tuple(notes))


def _folders(paths: Sequence[str | os.PathLike]) -> str:
    folders = sorted({str(Path(p).parent) for p in paths})
    return ", ".join(folders[:3]) + (" ..." if len(folders) > 3 else "")


def _describe(theme: Theme, n_songs: int) -> str:
    """The description a learned theme's file carries: its notes, from its own fields."""
    parts = []
    for n in theme.notes:
        khz = " to ".join(f"{p / 1000:.1f}" for p in (n.pitch_hz[0], n.pitch_hz[-1]))
        parts.append(f"{n.shape} {khz if n.shape != 'whistle' else khz.split(' ')[0]} kHz")
    t = theme.trill
    return (f"learned from {n_songs} song(s): " + ", ".join(parts)
            + f"; a trill of {t.count} syllables every {t.interval_s * 1000:.0f} ms")


def shared_trill(themes: Sequence[Theme], *, interval_tol: float = 0.15,
                 pitch_tol_cents: float = 150.0) -> Trill | None:
    """The dialect trill when every theme's trill is one (same shape, interval within
    ``interval_tol``, pitches within ``pitch_tol_cents`` of the median): field medians."""
    trills = [t.trill for t in themes]
    if len(trills) < 2 or len({(t.shape, len(t.pitch_hz)) for t in trills}) != 1:
        return None
    interval = float(np.median([t.interval_s for t in trills]))
    logp = np.log([t.pitch_hz for t in trills])
    mid = np.median(logp, axis=0)
    if np.any(np.abs(np.array([t.interval_s for t in trills]) / interval - 1) > interval_tol):
        return None
    if np.any(np.abs(logp - mid) * 1200 / np.log(2) > pitch_tol_cents):
        return None

    def med(attr: str) -> float:
        return float(np.median([getattr(t, attr) for t in trills]))

    return dataclasses.replace(
        trills[0], pitch_hz=tuple(np.exp(mid)), interval_s=interval, note_s=med("note_s"),
        count=round(med("count")), peak_at=med("peak_at"), drift_pitch=med("drift_pitch"),
        drift_interval=med("drift_interval"), jitter=med("jitter"),
        loudness=tuple(np.median([t.loudness for t in trills], axis=0).tolist()))


def learn_catalog(folder: str | os.PathLike, *, params: LearnParams | None = None,
                  progress: ProgressCallback | None = None) -> LearnedCatalog:
    """One theme per subfolder of ``folder`` (``FOLDER/T01/*.wav``, …), and their dialect.

    A recording without a complete song is noted, not an error; a theme without any is.
    When the themes share their trill (:func:`shared_trill`) each theme gets it.
    """
    params = LearnParams() if params is None else params
    folders = theme_folders(folder)
    if not folders:
        raise SongnetError(f"{folder}: no theme subfolders with recordings; put each theme's "
                           "recordings in a subfolder named after it (FOLDER/T01/*.wav, …)")
    learned = [learn_theme(files, name=name, params=params, strict=False, progress=progress)
               for name, files in folders]
    dialect = shared_trill([lt.theme for lt in learned])
    if dialect is not None:
        learned = [dataclasses.replace(lt, theme=dataclasses.replace(lt.theme, trill=dialect))
                   for lt in learned]
    return LearnedCatalog(themes=tuple(learned), dialect=dialect, name=Path(folder).name)


VERIFIED_MARGIN_S = 0.5
"""Audio searched on either side of a verified song (s)."""


def learn_verified(verified: Sequence[Verdict], *, params: LearnParams | None = None,
                   name: str = "verified", progress: ProgressCallback | None = None
                   ) -> LearnedCatalog:
    """One theme per theme a reviewer gave songs (``verified.csv``: ``correct`` songs
    count for the theme songnet named, ``theme`` songs for the one the reviewer chose,
    ``wrong`` songs for none), learned from those songs only, and their dialect."""
    params = LearnParams() if params is None else params
    by_theme: dict[str, list[Verdict]] = {}
    for v in verified:
        if v.true_theme:
            by_theme.setdefault(v.true_theme, []).append(v)
    if not by_theme:
        raise SongnetError("the verified songs name no theme (every verdict is wrong); "
                           "mark songs correct or give their theme on the review page")
    learned = []
    for theme, songs in sorted(by_theme.items()):
        songs = sorted(songs, key=lambda v: (v.file, v.start_s))
        learned.append(learn_theme(
            [v.file for v in songs], name=theme, params=params, strict=False,
            spans=[(v.start_s - VERIFIED_MARGIN_S, v.end_s + VERIFIED_MARGIN_S)
                   for v in songs], progress=progress))
    dialect = shared_trill([lt.theme for lt in learned])
    if dialect is not None:
        learned = [dataclasses.replace(lt, theme=dataclasses.replace(lt.theme, trill=dialect))
                   for lt in learned]
    return LearnedCatalog(themes=tuple(learned), dialect=dialect, name=name)


def save_catalog(catalog: LearnedCatalog, folder: str | os.PathLike) -> list[Path]:
    """Write ``NAME.yaml`` per theme (and ``dialect.yaml`` when they share one) in
    ``folder``; returns the paths written."""
    folder = Path(folder)
    written = []
    if catalog.dialect is not None:
        written.append(save_dialect(
            folder / DIALECT_FILE, catalog.dialect, name=catalog.name,
            description=f"the trill the {len(catalog.themes)} learned themes share",
            header="Learned by `songnet themes learn`: medians of the themes' trills."))
    for lt in catalog.themes:
        written.append(save_theme(folder / f"{lt.theme.name}.yaml", lt.theme,
                                  dialect=catalog.dialect, header=lt.header))
    return written
