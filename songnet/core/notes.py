"""Notes of a song: pitch tracks, notes and trills cut from them, and how far two
introductions differ.

NumPy only: ``classify`` uses it. Three things live here.

- **Tracks and segments** (used by ``songnet themes`` through
  :mod:`songnet.resynth.songs`, and by the note check below): a :class:`PitchTrack`
  (pitch and level per frame), the notes cut from it (:func:`segment_notes`), each note's
  half-level onset and offset (:func:`segment`), notes closer than a song's gaps grouped
  (:func:`segment_groups`) and the trill of a group (:func:`find_trill`).
- **The distance between introductions** (:func:`intro_distance`), in notes' worth: after
  the best common transposition (±10 %) and tempo (±12 %), one unit per note added or
  dropped and up to two per note sung differently (10 % of pitch, or a factor 1.5 in
  length, is one unit). :func:`songnet.surrogates.foreign.theme_distance` adds one for
  another trill.
- **The note check** (:class:`NoteCheck`): the introduction of a song measured on its
  Constant-Q frames (:func:`db_track`, :func:`measure_introduction`) against the
  introduction of the theme the network named. The network hears the sequence of note
  shapes and is tolerant of a note's length; the check is not. It speaks only when the
  song's introduction is measured cleanly (:data:`GATE`) and shows as many notes as the
  named theme's, and its threshold is learned by ``train``: the quantile of the training
  and validation birds' song-to-own-theme distances that the open set uses.
"""

from __future__ import annotations

import dataclasses
import functools
import itertools
import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from songnet.core.errors import SongnetError
from songnet.core.quantiles import median, percentile

__all__ = ["GATE", "NOTE_CHECK_KEY", "Note", "NoteCheck", "PitchTrack", "Segment", "cents",
           "clean_track", "db_track", "edit_cost", "find_trill", "frame_peaks", "image_vectors",
           "intro_distance", "intro_vectors", "measure_introduction", "measure_vectors",
           "note_vector", "peaks_track", "power_peaks", "segment", "segment_groups",
           "segment_notes"]

NOTE_CHECK_KEY = "note_check"
"""Key of the fitted :class:`NoteCheck` (:meth:`NoteCheck.to_dict`) in a checkpoint's
metadata and in an ONNX file's metadata (JSON)."""
_PITCH_SCALE = float(np.log(1.10))  # 10 % of pitch = one unit
_TIME_SCALE = float(np.log(1.5))    # a factor 1.5 in length = one unit
_SHIFTS = np.log(np.linspace(0.90, 1.10, 9))
_TEMPI = np.log(np.linspace(0.88, 1.12, 7))
_OFFSETS = np.array([[s, s, s, t] for s, t in itertools.product(_SHIFTS, _TEMPI)])


def _smallmedian(x: Sequence[float]) -> float:
    """The median of a short list of floats (as ``np.median``: the mean of the middle two
    for an even count), without NumPy's per-call overhead."""
    v = sorted(x)
    k = len(v) // 2
    return v[k] if len(v) % 2 else (v[k - 1] + v[k]) / 2


@dataclasses.dataclass(frozen=True, eq=False)
class PitchTrack:
    """A pitch contour on a regular frame grid.

    Attributes
    ----------
    times_s : np.ndarray [shape=(n_frames,)]
        Frame centres in seconds from the start of the sound.
    f0_hz : np.ndarray [shape=(n_frames,)]
        Fundamental frequency in Hz; NaN where the frame is unvoiced.
    amplitude : np.ndarray [shape=(n_frames,)]
        Peak amplitude of the fundamental (linear, same scale as the samples).
    voiced : np.ndarray [shape=(n_frames,), dtype=bool]
        True where a tone was found.
    """

    times_s: np.ndarray
    f0_hz: np.ndarray
    amplitude: np.ndarray
    voiced: np.ndarray

    @property
    def hop_s(self) -> float:
        """Frame hop in seconds."""
        return float(self.times_s[1] - self.times_s[0]) if len(self.times_s) > 1 else 0.0


@dataclasses.dataclass(frozen=True)
class Note:
    """One note of a track: frames ``start`` (inclusive) to ``stop`` (exclusive)."""

    start: int
    stop: int


def segment_notes(track: PitchTrack, *, min_note_s: float = 0.008, max_gap_s: float = 0.006,
                  max_jump_cents: float = 300.0) -> list[Note]:
    """Split a track into notes: voiced runs, bridging short gaps, cut at pitch jumps.

    Parameters
    ----------
    track : PitchTrack
        The tracked contour.
    min_note_s : float
        Shorter voiced runs are dropped (clicks, noise).
    max_gap_s : float
        Unvoiced gaps up to this long inside a note are bridged.
    max_jump_cents : float
        A pitch jump between consecutive voiced frames larger than this starts a new note.

    Returns
    -------
    list of Note
        In time order; frames ``note.start`` and ``note.stop - 1`` are voiced.
    """
    hop = track.hop_s or 1.0
    voiced = np.flatnonzero(track.voiced)
    if voiced.size == 0:
        return []
    with np.errstate(invalid="ignore"):
        jump = np.abs(cents(track.f0_hz[voiced[1:]], track.f0_hz[voiced[:-1]]))
    gap = (np.diff(voiced) - 1) * hop
    cut = np.flatnonzero((gap > max_gap_s) | (jump > max_jump_cents)) + 1  # a new note
    starts = np.concatenate([[0], cut])
    stops = np.concatenate([cut, [voiced.size]])
    min_frames = max(1, int(np.ceil(min_note_s / hop)))
    return [Note(int(voiced[a]), int(voiced[b - 1]) + 1) for a, b in zip(starts, stops, strict=True)
            if int(voiced[b - 1]) + 1 - int(voiced[a]) >= min_frames]


def cents(f_hz: np.ndarray | float, ref_hz: np.ndarray | float) -> np.ndarray:
    """Interval from ``ref_hz`` to ``f_hz`` in cents (1200 per octave)."""
    return 1200.0 * np.log2(np.asarray(f_hz, dtype=np.float64) / np.asarray(ref_hz,
                                                                             dtype=np.float64))


@dataclasses.dataclass(frozen=True, eq=False)
class Segment:
    """One note or trill syllable: its half-level onset and offset and its voiced frames.

    Attributes
    ----------
    onset_s, offset_s : float
        Half-level crossings, s from the start of the recording.
    times_s, f0_hz, amplitude : np.ndarray [shape=(k,)]
        The note's voiced frames (s, Hz, linear amplitude).
    """

    onset_s: float
    offset_s: float
    times_s: np.ndarray
    f0_hz: np.ndarray
    amplitude: np.ndarray

    @property
    def duration_s(self) -> float:
        return self.offset_s - self.onset_s

    @property
    def peak(self) -> float:
        return float(self.amplitude.max())

    @property
    def peak_s(self) -> float:
        """Time of the loudest frame (s)."""
        return float(self.times_s[np.argmax(self.amplitude)])

    @functools.cached_property
    def pitch_hz(self) -> float:
        """Median pitch (Hz)."""
        return float(median(self.f0_hz))


def segment(track: PitchTrack, start: int, stop: int, *, trill: bool) -> Segment | None:
    """Frames ``start:stop`` of ``track`` as a :class:`Segment` (None with under 3 voiced
    frames); ``trill``: the level is the loudest frame, else the 90th percentile."""
    t = track.times_s[start:stop]
    a = track.amplitude[start:stop]
    v = track.voiced[start:stop]
    if v.sum() < 3:
        return None
    ref = float(a[v].max() if trill else percentile(a[v], 90))
    above = np.flatnonzero(a >= 0.5 * ref)
    i, j = int(above[0]), int(above[-1])

    def cross(k0: int, k1: int) -> float:  # interpolate the half-level crossing k0 -> k1
        if not 0 <= k0 < len(a):
            return float(t[k1])
        a0, a1 = a[k0], a[k1]
        w = (0.5 * ref - a0) / (a1 - a0) if a1 != a0 else 1.0
        return float(t[k0] + (t[k1] - t[k0]) * w)

    onset, offset = cross(i - 1, i), cross(j + 1, j)
    keep = v & (a >= 0.25 * ref)
    return Segment(onset_s=onset, offset_s=offset, times_s=t[keep],
                   f0_hz=track.f0_hz[start:stop][keep], amplitude=a[keep])


def clean_track(track: PitchTrack) -> PitchTrack:
    """Unvoice single frames whose pitch jumps away from both neighbours (noise spikes)."""
    f, v = track.f0_hz, track.voiced.copy()
    spike = np.zeros_like(v)
    with np.errstate(invalid="ignore"):
        spike[1:-1] = (v[1:-1] & v[:-2] & v[2:] & (np.abs(cents(f[1:-1], f[:-2])) > 300)
                       & (np.abs(cents(f[1:-1], f[2:])) > 300))
    v &= ~spike
    return dataclasses.replace(track, voiced=v, f0_hz=np.where(v, f, np.nan),
                               amplitude=np.where(v, track.amplitude, 0.0))


def find_trill(group: list[Segment], *, trill_max_s: float, min_trill: int
               ) -> tuple[int, int] | None:
    """The longest run of short, evenly spaced syllables of one pitch: ``(first, stop)``."""
    best: tuple[int, int] | None = None
    i = 0
    while i < len(group):
        if group[i].duration_s >= trill_max_s:
            i += 1
            continue
        j = i + 1
        while j < len(group) and group[j].duration_s < trill_max_s:
            d = group[j].onset_s - group[j - 1].onset_s
            ref = _smallmedian([b.onset_s - a.onset_s for a, b in
                                 itertools.pairwise(group[i:j])]) if j - i >= 2 else d
            pitch = abs(1200.0 * math.log2(group[j].pitch_hz / group[i].pitch_hz))
            if not 0.6 * ref <= d <= 1.6 * ref or pitch > 600:
                break
            j += 1
        if j - i >= min_trill and (best is None or j - i > best[1] - best[0]):
            best = (i, j)
        i = j
    return best


def note_vector(pitch_hz: Sequence[float], duration_s: float) -> np.ndarray:
    """(ln start, ln middle, ln end pitch, ln duration) of a note sung along ``pitch_hz``
    (its start, midpoints and end) for ``duration_s``."""
    p = np.log(np.asarray(pitch_hz, dtype=float))
    mid = p[len(p) // 2] if len(p) > 2 else 0.5 * (p[0] + p[-1])
    return np.array([p[0], mid, p[-1], np.log(duration_s)])


def edit_cost(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Edit distances of note sequences ``a (m, k, 4)`` to ``b (l, 4)``: ``(m,)``.

    Adding or dropping a note costs 1; singing one differently up to 2.
    """
    m, na, nb = a.shape[0], a.shape[1], len(b)
    pitch = np.abs(a[:, :, None, :3] - b[None, None, :, :3]).max(axis=-1) / _PITCH_SCALE
    time = np.abs(a[:, :, None, 3] - b[None, None, :, 3]) / _TIME_SCALE
    sub = np.minimum(2.0, pitch + time)  # (m, na, nb)
    d = np.zeros((m, na + 1, nb + 1))
    d[:, :, 0] = np.arange(na + 1)
    d[:, 0, :] = np.arange(nb + 1)
    for i in range(1, na + 1):
        for j in range(1, nb + 1):
            d[:, i, j] = np.minimum(np.minimum(d[:, i - 1, j], d[:, i, j - 1]) + 1,
                                    d[:, i - 1, j - 1] + sub[:, i - 1, j - 1])
    return d[:, na, nb]


def intro_distance(a: np.ndarray, b: np.ndarray) -> float:
    """How many notes' worth two introductions differ by (the module text): note vectors
    ``a (k, 4)`` and ``b (l, 4)`` (:func:`note_vector`); the smaller of the two directions
    of alignment, each at its best transposition and tempo."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    there = edit_cost(a[None] + _OFFSETS[:, None], b).min()
    back = edit_cost(b[None] + _OFFSETS[:, None], a).min()
    return float(min(there, back))


def segment_groups(track: PitchTrack, *, trill_max_s: float, song_gap_s: float
                   ) -> list[list[Segment]]:
    """The notes of ``track`` (voiced runs, cut at pitch jumps) as :class:`Segment` s,
    grouped where less than ``song_gap_s`` of silence separates them; a note shorter than
    ``trill_max_s`` takes its level from its loudest frame, as a trill syllable."""
    notes = segment_notes(track, min_note_s=0.01, max_gap_s=0.008, max_jump_cents=400)
    groups: list[list[Segment]] = []
    for n in notes:
        short = (n.stop - n.start) * track.hop_s < trill_max_s
        seg = segment(track, n.start, n.stop, trill=short)
        if seg is None or seg.duration_s < 0.008:
            continue
        if groups and seg.onset_s - groups[-1][-1].offset_s <= song_gap_s:
            groups[-1].append(seg)
        else:
            groups.append([seg])
    return groups


# ---- the note check -------------------------------------------------------------------

GATE = {"notes": (1, 6), "note_s": (0.04, 0.5), "gap_s": (0.02, 0.15),
        "pitch_hz": (2800.0, 7600.0), "min_trill": 5}
"""When an introduction counts as measured cleanly: 1–6 notes of 40–500 ms, 20–150 ms
apart, every pitch within 2.8–7.6 kHz, and a trill of at least 5 syllables after it. The
ranges are the species' (DESIGN.md, "Real songs"; the foreign themes' grammar,
:mod:`songnet.surrogates.foreign`): outside them a note was merged with a reverberant
tail or the note beside it, cut in two, or is another bird's sound."""
BAND_HZ = (2000.0, 9000.0)  # the song band the note check tracks (as ``songnet themes``)
TRILL_MAX_S = 0.075  # a trill syllable is shorter (as :class:`songnet.resynth.songs.LearnParams`)
SONG_GAP_S = 0.25    # the silence that ends a song


def frame_peaks(levels: np.ndarray, frequencies: np.ndarray, *,
                band_hz: tuple[float, float] = BAND_HZ, power: bool = False
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per frame of a Constant-Q stretch ``(n_bins, T)`` (bins at ``frequencies``,
    log-spaced), in dB or, with ``power``, linear power: the pitch of the loudest bin in
    ``band_hz`` (Hz, refined by parabolic interpolation of the dB levels), its level and
    the band's median level (dB; the upper middle bin for an even count); float32 ``(T,)``
    each. Only the few levels needed are taken to dB."""
    f = np.asarray(frequencies, dtype=np.float64)
    lo, hi = np.searchsorted(f, band_hz)
    band = np.asarray(levels, dtype=np.float32)[lo:hi]
    n = band.shape[1]
    if band.shape[0] < 3 or n == 0:
        nothing = np.full(n, np.nan, dtype=np.float32)
        return nothing, nothing.copy(), nothing.copy()

    def db(x: np.ndarray) -> np.ndarray:
        return 10.0 * np.log10(x + np.float32(1e-12)) if power else x

    k = np.clip(band.argmax(axis=0), 1, band.shape[0] - 2)
    cols = np.arange(n)
    a, b, c = db(band[k - 1, cols]), db(band[k, cols]), db(band[k + 1, cols])
    den = a - 2 * b + c
    delta = np.clip(np.where(np.abs(den) > 1e-9, 0.5 * (a - c) / np.where(den == 0, 1, den),
                             0.0), -0.5, 0.5)
    f0 = f[lo + k] * 2.0 ** (delta * np.log2(f[lo + 1] / f[lo]))
    middle = band.shape[0] // 2
    median = db(np.partition(band, middle, axis=0)[middle])
    return (f0.astype(np.float32), (b - 0.25 * (a - c) * delta).astype(np.float32),
            median.astype(np.float32))


def power_peaks(power: np.ndarray, frequencies: np.ndarray, *, active: np.ndarray | None = None,
                band_hz: tuple[float, float] = BAND_HZ) -> np.ndarray:
    """:func:`frame_peaks` of linear Constant-Q power ``(n_bins, T)``, stacked ``(3, T)``
    float32 (pitch, peak level, median level); only the frames where ``active`` is True
    (all without it), the others NaN (never voiced)."""
    if active is None:
        return np.stack(frame_peaks(power, frequencies, band_hz=band_hz, power=True))
    out = np.full((3, power.shape[1]), np.nan, dtype=np.float32)
    cols = np.flatnonzero(active)
    if cols.size:
        out[:, cols] = np.stack(frame_peaks(np.asarray(power)[:, cols], frequencies,
                                            band_hz=band_hz, power=True))
    return out


def peaks_track(f0_hz: np.ndarray, peak_db: np.ndarray, median_db: np.ndarray,
                frame_s: float, *, tonality_db: float = 15.0, floor_db: float = -35.0,
                range_db: float = 80.0) -> PitchTrack:
    """The pitch track of a stretch from its :func:`frame_peaks`: a frame is voiced when its
    peak stands ``tonality_db`` above the band's median and within ``floor_db`` of the
    stretch's loudest, levels first floored ``range_db`` below the loudest (as the
    network's images are)."""
    peak = np.asarray(peak_db, dtype=np.float64)
    n = peak.size
    if n == 0 or not np.isfinite(peak).any():
        return PitchTrack(np.arange(n) * float(frame_s), np.full(n, np.nan), np.zeros(n),
                          np.zeros(n, dtype=bool))
    top = float(np.nanmax(peak))
    peak = np.maximum(np.nan_to_num(peak, nan=-np.inf), top - range_db)
    median = np.maximum(np.nan_to_num(np.asarray(median_db, dtype=np.float64), nan=np.inf),
                        top - range_db)
    voiced = (peak - median >= tonality_db) & (peak >= top + floor_db)
    return PitchTrack(times_s=np.arange(n) * float(frame_s),
                      f0_hz=np.where(voiced, np.asarray(f0_hz, dtype=np.float64), np.nan),
                      amplitude=np.where(voiced, 10.0 ** (peak / 20.0), 0.0), voiced=voiced)


def db_track(db: np.ndarray, frequencies: np.ndarray, frame_s: float, **kwargs: float
             ) -> PitchTrack:
    """The pitch track of a Constant-Q stretch in dB (:func:`frame_peaks`, then
    :func:`peaks_track` with ``kwargs``)."""
    return peaks_track(*frame_peaks(db, frequencies), frame_s, **kwargs)


def measure_introduction(track: PitchTrack) -> list[Segment] | None:
    """The introductory notes of the song in ``track`` (the group with the longest trill
    after at least one note), or None when there is none or it fails :data:`GATE`."""
    best: tuple[list[Segment], int] | None = None
    for group in segment_groups(clean_track(track), trill_max_s=TRILL_MAX_S,
                                song_gap_s=SONG_GAP_S):
        trill = find_trill(group, trill_max_s=TRILL_MAX_S, min_trill=3)
        if trill is None or trill[0] == 0:
            continue
        if best is None or trill[1] - trill[0] > best[1]:
            best = (group[:trill[0]], trill[1] - trill[0])
    if best is None:
        return None
    intro, n_trill = best
    gaps = [b.onset_s - a.offset_s for a, b in itertools.pairwise(intro)]
    pitches = np.concatenate([s.f0_hz for s in intro])
    ok = (GATE["notes"][0] <= len(intro) <= GATE["notes"][1]
          and all(GATE["note_s"][0] <= s.duration_s <= GATE["note_s"][1] for s in intro)
          and all(GATE["gap_s"][0] <= g <= GATE["gap_s"][1] for g in gaps)
          and GATE["pitch_hz"][0] <= pitches.min() and pitches.max() <= GATE["pitch_hz"][1]
          and n_trill >= GATE["min_trill"])
    return intro if ok else None


def _line_at(u: np.ndarray, y: np.ndarray, at: float) -> float:
    """The least-squares line through ``(u, y)`` evaluated at ``at`` (the mean of ``y``
    for fewer than two distinct ``u``)."""
    du = u - u.mean()
    ss = float(du @ du)
    return float(y.mean() + (du @ (y - y.mean())) / ss * (at - u.mean())) if ss > 0 \
        else float(y.mean())


def intro_vectors(intro: Sequence[Segment]) -> np.ndarray:
    """Note vectors ``(k, 4)`` (:func:`note_vector`) of measured notes: each note's start and
    end pitch from lines fitted to its first and last 35 % (log pitch against time,
    extrapolated to its half-level onset and offset), its middle pitch the median of its
    middle fifth, and its half-level duration."""
    out = []
    for s in intro:
        dur = max(s.duration_s, 1e-3)
        u = np.clip((s.times_s - s.onset_s) / dur, 0.0, 1.0)
        logf = np.log(s.f0_hz)
        first, last, mid = u <= 0.35, u >= 0.65, (u >= 0.4) & (u <= 0.6)
        start = _line_at(u[first], logf[first], 0.0) if first.any() else float(logf[0])
        end = _line_at(u[last], logf[last], 1.0) if last.any() else float(logf[-1])
        middle = float(median(logf[mid])) if mid.any() else 0.5 * (start + end)
        out.append(note_vector(np.exp([start, middle, end]), dur))
    return np.array(out).reshape(-1, 4)


def image_vectors(image: np.ndarray, frequencies: np.ndarray, frame_s: float,
                  db_floor: float) -> np.ndarray | None:
    """:func:`measure_vectors` of a network image (values in [0, 1], 0 = ``db_floor`` dB
    below the image's loudest, as :mod:`songnet.features.images` makes them)."""
    db = np.asarray(image, dtype=np.float32) * -db_floor + db_floor
    return measure_vectors(db_track(db, frequencies, frame_s))


def measure_vectors(track: PitchTrack) -> np.ndarray | None:
    """Note vectors ``(k, 4)`` of the song's introduction in ``track``, or None when it is
    not measured cleanly (:func:`measure_introduction`)."""
    intro = measure_introduction(track)
    return None if intro is None else intro_vectors(intro)


@dataclasses.dataclass
class NoteCheck:
    """Each catalog theme's introduction and the threshold beyond which a song named that
    theme is ``unknown``.

    Attributes
    ----------
    templates : dict of str to np.ndarray [shape=(k, 4)]
        Each theme's introductory notes as note vectors (:func:`note_vector`).
    threshold : float
        :func:`intro_distance` beyond which a cleanly measured song is not its named theme.
    quantile, scale : float
        The rule that set ``threshold`` (``scale`` × that quantile of the fitting songs'
        distances to their own theme).
    n_songs : int
        How many songs were measured cleanly to fit it.
    """

    templates: dict[str, np.ndarray]
    threshold: float
    quantile: float
    scale: float
    n_songs: int

    @classmethod
    def fit(cls, templates: Mapping[str, np.ndarray],
            songs: Sequence[tuple[str, np.ndarray | None]], *, quantile: float = 0.98,
            scale: float = 1.0) -> NoteCheck:
        """Learn the threshold from ``songs``: (theme, note vectors or None when not measured
        cleanly) of songs of known themes."""
        templates = {t: np.asarray(v, dtype=float).reshape(-1, 4) for t, v in templates.items()}
        d = [intro_distance(v, templates[t]) for t, v in songs
             if v is not None and t in templates and len(v) == len(templates[t])]
        if len(d) < 20:
            raise SongnetError(f"only {len(d)} songs' introductions could be measured cleanly "
                               "(at least 20 needed to learn the note check's threshold)")
        threshold = float(scale * percentile(np.array(d), 100.0 * quantile))
        return cls(templates, threshold, float(quantile), float(scale), len(d))

    def distance(self, theme: str, vectors: np.ndarray | None) -> float:
        """The introduction's distance to ``theme``'s; NaN when the check does not speak
        (not measured cleanly, another number of notes, or not a theme it knows)."""
        template = self.templates.get(theme)
        if vectors is None or template is None or len(vectors) != len(template):
            return float("nan")
        return intro_distance(vectors, template)

    def to_dict(self) -> dict[str, Any]:
        return {"templates": {t: v.round(6).tolist() for t, v in self.templates.items()},
                "threshold": self.threshold, "quantile": self.quantile, "scale": self.scale,
                "n_songs": self.n_songs}

    @classmethod
    def from_meta(cls, meta: Mapping[str, Any]) -> NoteCheck | None:
        """The check a model's metadata carries under :data:`NOTE_CHECK_KEY` (None for
        models trained before it)."""
        fitted = meta.get(NOTE_CHECK_KEY)
        return None if fitted is None else cls.from_dict(fitted)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> NoteCheck:
        try:
            return cls({t: np.asarray(v, dtype=float).reshape(-1, 4)
                        for t, v in d["templates"].items()}, float(d["threshold"]),
                       float(d["quantile"]), float(d["scale"]), int(d["n_songs"]))
        except (KeyError, TypeError, ValueError, AttributeError) as e:
            raise SongnetError(f"the model's note check is damaged ({e}); re-export the "
                               "model with `songnet release`") from e
