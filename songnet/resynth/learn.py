"""Themes learned from recordings: each song measured, fitted to the catalog's vocabulary,
refined by singing it, and the songs of one theme pooled.

**Measuring a song** (:func:`measure_song`). An introductory note (:mod:`songnet.resynth.songs`)
gives its half-level duration, the silence after it, and its pitch contour, fitted by
least squares (log pitch) with each note shape of the catalog: ``whistle`` (one pitch),
``sweep`` (log-linear), ``slur`` (raised cosine) and ``chevron`` (start, apex, end); the
simplest shape within :data:`SHAPE_PENALTY_CENTS` per extra pitch of the best one wins.
The trill gives its syllable shape and pitches (per syllable, their slow drift removed),
its interval at the start and its drift (a line through the onsets), the syllable length,
where each syllable is loudest, the loudness of its first, loudest and last syllable, its
count and its jitter (scatter around those lines).

**Refining** (:func:`learn_song`). Half-level times and tracked pitches are not exactly
the theme's fields: the envelope's ramps, a trill syllable's √sin envelope and the
tracker's window move them a little, and the model sings a fast sweep a few cents off. So
the learned theme is sung (clean, with the measured shapes), measured the same way, and
each field corrected by the difference between the recording's and the song's
measurement, ``n_refine`` times: a fit of the theme to the recording *through the
model*, as resynthesis fits gestures.

**Pooling** (:func:`pool_songs`): the songs of one theme (one bird or several) must agree
on the number of introductory notes (the others are left out, with the reason); each field
is the median over the songs, each note's shape the most common one, and the spread
between songs (s.d. of the songs' transposition and tempo) becomes the theme's ``spread``.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Sequence

import numpy as np

from songnet.core.errors import SongnetError
from songnet.resynth.songs import FoundSong, LearnParams, Segment, find_songs
from songnet.surrogates.themes import Note, Spread, Theme, Trill, contour
from songnet.synth import SR, gestures_from_contour, render_gesture

__all__ = ["SHAPE_PENALTY_CENTS", "LearnedSong", "learn_song", "measure_song", "pool_songs",
           "sing_clean"]

SHAPE_PENALTY_CENTS = 6.0
"""A note shape with one more pitch must fit this much better (rms, cents) to be chosen."""
N_POINTS = {"whistle": 1, "sweep": 2, "slur": 2, "chevron": 3}
_LOG_CENTS = 1200 / np.log(2)


def _basis(shape: str, u: np.ndarray) -> np.ndarray:
    """Columns whose weighted sum is the log pitch of ``shape`` at phase ``u`` (0–1)."""
    if shape == "whistle":
        return np.ones((u.size, 1))
    if shape == "sweep":
        return np.stack([1 - u, u], axis=1)
    if shape == "slur":
        w = 0.5 - 0.5 * np.cos(np.pi * u)
        return np.stack([1 - w, w], axis=1)
    return np.stack([np.maximum(0, 1 - 2 * u), 1 - np.abs(2 * u - 1),
                     np.maximum(0, 2 * u - 1)], axis=1)  # chevron: start, apex, end


def fit_shape(seg: Segment, shape: str, *, onset_s: float | None = None,
              offset_s: float | None = None) -> tuple[np.ndarray, float]:
    """Log pitches of ``shape`` fitted to a segment's contour, and the rms error (cents)."""
    on = seg.onset_s if onset_s is None else onset_s
    off = seg.offset_s if offset_s is None else offset_s
    u = np.clip((seg.times_s - on) / max(off - on, 1e-6), 0, 1)
    basis = _basis(shape, u)
    logf = np.log(seg.f0_hz)
    coef, *_ = np.linalg.lstsq(basis, logf, rcond=None)
    rms = float(np.sqrt(np.mean((basis @ coef - logf) ** 2))) * _LOG_CENTS
    return coef, rms


def _choose(rms: dict[str, float]) -> str:
    score = {s: r + SHAPE_PENALTY_CENTS * (N_POINTS[s] - 1) for s, r in rms.items()}
    return min(score, key=score.get)


def measure_song(song: FoundSong, *, shapes: Sequence[str] | None = None, name: str = "song"
                 ) -> Theme:
    """The theme fields a song shows, as measured (unrefined; see :func:`learn_song`).

    ``shapes``: the note shapes to fit (intro notes, then the trill syllable); default:
    chosen per note. The result is an unchecked :class:`Theme` (durations are half-level
    widths; ``peak_at`` the loudest frame's place within that width).
    """
    notes = []
    bounds = [s.onset_s for s in song.intro[1:]] + [song.trill[0].onset_s]
    for i, (seg, nxt) in enumerate(zip(song.intro, bounds, strict=True)):
        fits = {s: fit_shape(seg, s) for s in N_POINTS}
        shape = shapes[i] if shapes is not None else _choose({s: f[1] for s, f in fits.items()})
        notes.append(Note(shape=shape, pitch_hz=tuple(np.exp(fits[shape][0])),
                          duration_s=seg.duration_s, gap_s=nxt - seg.offset_s))
    return Theme(name=name, notes=tuple(notes),
                 trill=_measure_trill(song.trill, song.slots, song.count,
                                      None if shapes is None else shapes[-1]),
                 description="", source=song.where)


def _line(x: np.ndarray, y: np.ndarray) -> tuple[float, float, np.ndarray]:
    """Intercept, slope and residuals of a least-squares line (a constant for one point)."""
    if x.size < 2 or np.ptp(x) == 0:
        return float(np.mean(y)), 0.0, y - np.mean(y)
    slope, intercept = np.polyfit(x, y, 1)
    return float(intercept), float(slope), y - (intercept + slope * x)


def _measure_trill(syl: Sequence[Segment], slots: Sequence[int], count: int,
                   shape: str | None) -> Trill:
    """The trill's fields from its whole syllables ``syl`` at places ``slots`` (0-based
    within the ``count`` syllables sung: a missing or merged one leaves a gap)."""
    fits = {s: [fit_shape(g, s) for g in syl] for s in N_POINTS}
    if shape is None:
        shape = _choose({s: float(np.median([r for _, r in f])) for s, f in fits.items()})
    logp = np.array([c for c, _ in fits[shape]])  # (n_syllables, n_points)
    slot = np.asarray(slots, dtype=float)
    frac = slot / max(count - 1, 1)
    _, b, res_p = _line(frac, logp.mean(axis=1))
    base = np.median(logp - b * frac[:, None], axis=0)
    onsets = np.array([g.onset_s for g in syl])
    gaps = np.diff(onsets) / np.maximum(np.diff(slot), 1)  # per syllable
    k_frac = slot[:-1] / max(count - 1, 1)
    interval, slope, _ = _line(k_frac, gaps)
    if interval <= 0:
        interval = float(np.median(gaps))
    drift_i = float(np.clip(slope / interval, -0.5, 0.5))
    model = interval * (slot + 0.5 * drift_i * slot * np.maximum(slot - 1, 0) / max(count - 1, 1))
    _, _, res_t = _line(slot, onsets - onsets[0] - model)
    jitter = 0.5 * (np.std(res_p) + np.std(res_t) / interval) if len(syl) > 3 else 0.0
    width = np.array([g.duration_s for g in syl])
    peak = np.array([(g.peak_s - g.onset_s) / max(g.duration_s, 1e-6) for g in syl])
    amp = np.array([g.peak for g in syl])
    smooth = np.array([np.median(amp[max(0, j - 1):j + 2]) for j in range(len(syl))])
    loud = smooth / smooth.max()
    return Trill(shape=shape, pitch_hz=tuple(np.exp(base)), note_s=float(np.median(width)),
                 interval_s=interval, count=count, peak_at=float(np.median(peak)),
                 loudness=(float(loud[0]), 1.0, float(loud[-1])),
                 drift_pitch=float(np.clip(np.expm1(b), -0.2, 0.2)), drift_interval=drift_i,
                 jitter=float(np.clip(jitter, 0, 0.05)))


def _vector(theme: Theme) -> np.ndarray:
    """The refined fields as one vector (log pitches, times in s, trill shape fields)."""
    v: list[float] = []
    for n in theme.notes:
        v += [*np.log(n.pitch_hz), n.duration_s, n.gap_s]
    t = theme.trill
    v += [*np.log(t.pitch_hz), t.note_s, t.interval_s, t.peak_at or 0.5, t.drift_pitch,
          t.drift_interval, float(t.count)]
    return np.array(v + list(np.log(t.loudness)))


def _weights(theme: Theme) -> np.ndarray:
    """Per field of :func:`_vector`: 1 / a just-noticeable error (30 cents, 5 ms, ...)."""
    cents30, ms5 = 1 / (30 / _LOG_CENTS), 1 / 0.005
    w: list[float] = []
    for n in theme.notes:
        w += [cents30] * len(n.pitch_hz) + [ms5, ms5]
    w += [cents30] * len(theme.trill.pitch_hz) + [ms5, ms5 / 5, 10.0, 20.0, 10.0, 1.0]
    return np.array(w + [5.0] * 3)


def _trill_shape_fields(theme: Theme) -> list[int]:
    """Indices in :func:`_vector` of the trill syllable's length and peak."""
    k = sum(len(n.pitch_hz) + 2 for n in theme.notes) + len(theme.trill.pitch_hz)
    return [k, k + 2]


MAX_TRILL_RATIO = 1.9
"""A learned trill syllable's pitch span is kept within this ratio (one γ sings it)."""


def _from_vector(template: Theme, v: np.ndarray) -> Theme:
    k = 0
    notes = []
    for n in template.notes:
        m = len(n.pitch_hz)
        notes.append(dataclasses.replace(n, pitch_hz=tuple(np.exp(v[k:k + m])),
                                         duration_s=max(float(v[k + m]), 0.01),
                                         gap_s=max(float(v[k + m + 1]), 0.0)))
        k += m + 2
    t = template.trill
    m = len(t.pitch_hz)
    logp = v[k:k + m].copy()
    span = float(np.ptp(logp))
    if span > np.log(MAX_TRILL_RATIO):  # shrink towards the lower pitch
        logp = logp.min() + (logp - logp.min()) * np.log(MAX_TRILL_RATIO) / span
    pitch = tuple(np.exp(logp))
    note_s, interval, peak_at, dp, di, count = v[k + m:k + m + 6]
    loud = np.exp(np.minimum(v[k + m + 6:k + m + 9], 0.0))
    interval = max(float(interval), 0.01)
    trill = dataclasses.replace(
        t, pitch_hz=pitch, note_s=float(np.clip(note_s, 0.005, 0.9 * interval)),
        interval_s=interval, peak_at=float(np.clip(peak_at, 0.05, 0.95)),
        drift_pitch=float(np.clip(dp, -0.2, 0.2)), drift_interval=float(np.clip(di, -0.5, 0.5)),
        count=max(1, round(float(count))), loudness=tuple(float(x) for x in loud))
    return dataclasses.replace(template, notes=tuple(notes), trill=trill)


def sing_clean(theme: Theme, *, lead_s: float = 0.3) -> np.ndarray:
    """The theme sung as written (no bird variation, no jitter): float64 ``(n,)`` at SR."""
    t, f0, amp = contour(dataclasses.replace(theme, trill=dataclasses.replace(
        theme.trill, jitter=0.0)), lead_s=lead_s)
    y = render_gesture(gestures_from_contour(t, f0, amp))
    return y / max(float(np.abs(y).max()), 1e-12)


def _shapes(theme: Theme) -> list[str]:
    return [n.shape for n in theme.notes] + [theme.trill.shape]


def _remeasure(theme: Theme, params: LearnParams) -> Theme | None:
    """Sing ``theme`` and measure it with its own shapes; None when the song is not found
    whole (a note split or lost)."""
    from songnet.core.sound import Sound

    songs, _ = find_songs(Sound(sing_clean(theme).astype(np.float32), SR, "<learned>"),
                          params=params)
    if len(songs) != 1 or len(songs[0].intro) != len(theme.notes):
        return None
    return measure_song(songs[0], shapes=_shapes(theme))


@dataclasses.dataclass(frozen=True, eq=False)
class LearnedSong:
    """One song learned on its own: the song found, its measurement and its theme."""

    song: FoundSong
    measured: Theme
    theme: Theme


def learn_song(song: FoundSong, *, params: LearnParams | None = None,
               name: str = "song") -> LearnedSong:
    """Learn one song's theme: measure it, then sing-measure-correct ``n_refine`` times
    (the best pass is kept)."""
    params = LearnParams() if params is None else params
    measured = measure_song(song, name=name)
    target = _vector(measured)
    weights = _weights(measured)
    theme, best, best_err = measured, measured, np.inf
    for i in range(params.n_refine + 1 if params.n_refine else 0):
        again = _remeasure(theme, params)
        if again is None or again.trill.count < 2:
            break
        diff = target - _vector(again)
        err = float(np.max(np.abs(diff) * weights))
        if err < best_err:
            best, best_err = theme, err
        if i < params.n_refine:
            if i > 0:  # syllable length and peak trade off with its end pitches: once only
                diff[_trill_shape_fields(theme)] = 0.0
            theme = _from_vector(theme, _vector(theme) + diff)
    return LearnedSong(song=song, measured=measured, theme=best)


def _as_points(logp: np.ndarray, n: int) -> np.ndarray:
    """Log pitches re-expressed with ``n`` points (a whistle as a flat sweep, and so on)."""
    if logp.size == n:
        return logp
    if n == 1:
        return np.array([logp.mean()])
    if logp.size == 1:
        return np.repeat(logp, n)
    if n == 2:
        return np.array([logp[0], logp[-1]])
    return np.array([logp[0], logp.mean(), logp[-1]])  # a sweep as a chevron


def pool_songs(learned: Sequence[LearnedSong], *, name: str, description: str = ""
               ) -> tuple[Theme, list[tuple[LearnedSong, str]]]:
    """One theme from several songs: medians of their fields, the spread between them.

    The songs must agree on the number of introductory notes: the theme takes the count
    most songs show (the larger count when as many songs show each: a note lost in noise
    is likelier than one added), and the others are left out.

    Returns
    -------
    theme : Theme
        Unchecked (see :func:`songnet.surrogates.themes.theme_from_mapping`).
    left_out : list of (LearnedSong, str)
        Each song left out, and why.
    """
    if not learned:
        raise SongnetError(f"theme {name}: no song to learn from")
    counts = Counter(len(ls.theme.notes) for ls in learned)
    k = max(counts, key=lambda c: (counts[c], c))
    keep = [ls for ls in learned if len(ls.theme.notes) == k]
    left_out = [(ls, f"{len(ls.theme.notes)} introductory notes where {len(keep)} other "
                 f"song(s) have {k}") for ls in learned if len(ls.theme.notes) != k]
    notes = []
    for i in range(k):
        shape = Counter(ls.theme.notes[i].shape for ls in keep).most_common(1)[0][0]
        pts = np.median([_as_points(np.log(ls.theme.notes[i].pitch_hz), N_POINTS[shape])
                         for ls in keep], axis=0)
        notes.append(Note(shape=shape, pitch_hz=tuple(np.exp(pts)),
                          duration_s=float(np.median([ls.theme.notes[i].duration_s
                                                      for ls in keep])),
                          gap_s=float(np.median([ls.theme.notes[i].gap_s for ls in keep]))))
    trills = [ls.theme.trill for ls in keep]
    tshape = Counter(t.shape for t in trills).most_common(1)[0][0]

    def med(attr: str) -> float:
        return float(np.median([getattr(t, attr) for t in trills]))

    trill = Trill(shape=tshape, pitch_hz=tuple(np.exp(np.median(
        [_as_points(np.log(t.pitch_hz), N_POINTS[tshape]) for t in trills], axis=0))),
        note_s=med("note_s"), interval_s=med("interval_s"), count=round(med("count")),
        peak_at=med("peak_at"), loudness=tuple(np.median([t.loudness for t in trills],
                                                         axis=0).tolist()),
        drift_pitch=med("drift_pitch"), drift_interval=med("drift_interval"),
        jitter=med("jitter"))
    theme = Theme(name=name, notes=tuple(notes), trill=trill, description=description,
                  source=name)
    return dataclasses.replace(theme, spread=_spread(keep, theme)), left_out


def _spread(songs: Sequence[LearnedSong], pooled: Theme) -> Spread | None:
    """S.d. of the songs' transposition and tempo around the pooled theme."""
    if len(songs) < 2:
        return None
    ref = np.array([np.mean(np.log(n.pitch_hz)) for n in pooled.notes])
    shift = [float(np.median(np.array([np.mean(np.log(n.pitch_hz)) for n in ls.theme.notes])
                             - ref)) for ls in songs]
    intro = sum(n.duration_s + n.gap_s for n in pooled.notes)
    tempo = [np.log(intro / sum(n.duration_s + n.gap_s for n in ls.theme.notes))
             for ls in songs]
    return Spread(pitch=float(min(np.std(np.expm1(shift), ddof=1), 0.2)),
                  tempo=float(min(np.std(np.expm1(tempo), ddof=1), 0.2)), songs=len(songs))
