"""1966-style sketches of a theme, and themes drifted as a real theme drifts over decades.

A 1966 song reaches songnet as a sonogram sketch: what one reads off the drawing, resung by
the model (:mod:`songnet.resynth.resynthesize`). :func:`sketch_text` draws a theme (its
introductory notes and its trill) as such a sketch, optionally transposed and sped up or
slowed down; the shipped ``data/1966/`` sketches and the ``validate`` stage's variants are
made with it.

:func:`drift_variant` makes the kind of change a theme can undergo between 1966 and 2020
(Nottebohm's and later comparisons of chingolo dialects): an introductory note dropped,
repeated, added (a new note in the theme's range) or sung in another shape, the whole song
transposed by 5–8 %, its tempo changed by up to 10 %, and a different trill rate; on top,
every note varies as one real bird varies a note it sings twice (:data:`WITHIN_BIRD`). It
draws these from its own ranges, independent of the birds' variation in the surrogate
dataset (``synthesize`` params), so a variant that still comes out ``persists`` does so on
changes the network was not trained to ignore.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from songnet.surrogates.themes import Note, Theme, Trill
from songnet.synth import note_contour

__all__ = ["HEADER", "WITHIN_BIRD", "Drift", "drift_variant", "sketch_text"]

HEADER = "onset_s,offset_s,start_hz,end_hz,mid_hz,amplitude,repeat,interval_s"
WITHIN_BIRD = {"duration": 0.12, "pitch": 0.03}
"""Standard deviations (of the log) of a note's length and pitch between two renditions by
one real bird: ``benchmarks/within_bird.py`` measured 0.124 and 0.028 on the repeated
notes of ``../shared/data/real-birds/XC53516`` (two whistles, two downsweeps, four
distinct trill syllables)."""


@dataclasses.dataclass(frozen=True)
class Drift:
    """How a variant differs from its theme.

    Attributes
    ----------
    notes : tuple of Note
        The variant's introductory notes (one dropped, repeated, added or reshaped, or as
        the theme's; each with the within-bird jitter), before transposition and tempo.
    pitch, tempo : float
        Transposition and tempo factors applied to the whole song.
    trill_interval : float
        Factor on the trill's interval (on top of the tempo).
    description : str
        The changes in words, for the sketch's ``# note:`` line and tables.
    """

    notes: tuple[Note, ...]
    pitch: float
    tempo: float
    trill_interval: float
    description: str

    def applied_to(self, theme: Theme) -> Theme:
        """``theme`` as this drift sings it: the variant's notes transposed and at its
        tempo, the trill interval changed (the theme the drifted sketch draws)."""
        notes = tuple(dataclasses.replace(n, pitch_hz=tuple(p * self.pitch for p in n.pitch_hz),
                                          duration_s=n.duration_s / self.tempo)
                      for n in self.notes)
        trill = dataclasses.replace(
            theme.trill, interval_s=theme.trill.interval_s * self.trill_interval / self.tempo)
        return dataclasses.replace(theme, notes=notes, trill=trill)


def drift_variant(theme: Theme, *, rng: np.random.Generator,
                  spread: dict[str, float] | None = None) -> Drift:
    """A realistic 1966 → 2020 drift of ``theme`` (see the module text).

    Parameters
    ----------
    theme : Theme
    rng : numpy.random.Generator
        The only source of randomness.
    spread : dict, optional
        ``duration`` and ``pitch`` standard deviations (of the log) of the per-note jitter;
        default :data:`WITHIN_BIRD`.

    Returns
    -------
    Drift
        Pitch × (1 ± 0.05–0.08), tempo × 0.90–1.10, trill interval × (1 ± 0.10–0.20); one
        note-level change: with probability 0.25 an introductory note dropped (themes with
        two or more notes), 0.2 one sung twice, 0.2 a new note added, 0.2 one note sung in
        another shape, 0.15 none; and every note's length and pitch jittered by the
        within-bird spread (:data:`WITHIN_BIRD`).
    """
    notes = list(theme.notes)
    change = rng.random()
    what = []
    if change < 0.25 and len(notes) >= 2:
        k = int(rng.integers(len(notes)))
        notes.pop(k)
        what.append(f"note {k + 1} dropped")
    elif change < 0.45:
        k = int(rng.integers(len(notes)))
        notes.insert(k + 1, notes[k])
        what.append(f"note {k + 1} repeated")
    elif change < 0.65:
        k = int(rng.integers(len(notes) + 1))
        notes.insert(k, _new_note(notes, rng))
        what.append(f"a {notes[k].shape} added as note {k + 1}")
    elif change < 0.85:
        k = int(rng.integers(len(notes)))
        was = notes[k].shape
        notes[k] = _reshaped(notes[k], rng)
        what.append(f"note {k + 1} sung as a {notes[k].shape} (was a {was})")
    spread = WITHIN_BIRD if spread is None else spread
    jittered = []
    for n in notes:
        length = float(np.exp(rng.normal(0, spread["duration"])))
        tone = float(np.exp(rng.normal(0, spread["pitch"])))  # one factor for the whole note
        jittered.append(dataclasses.replace(n, duration_s=n.duration_s * length,
                                            pitch_hz=tuple(p * tone for p in n.pitch_hz)))
    notes = jittered
    pitch = 1.0 + float(rng.choice([-1.0, 1.0])) * float(rng.uniform(0.05, 0.08))
    tempo = float(rng.uniform(0.90, 1.10))
    trill_interval = 1.0 + float(rng.choice([-1.0, 1.0])) * float(rng.uniform(0.10, 0.20))
    what += [f"pitch x{pitch:.3f}", f"tempo x{tempo:.3f}", f"trill interval x{trill_interval:.3f}"]
    return Drift(tuple(notes), pitch, tempo, trill_interval, ", ".join(what))


def _new_note(notes: list[Note], rng: np.random.Generator) -> Note:
    """A note the theme does not sing: a flat whistle or a downsweep, its pitch and length
    within the range of the theme's own notes."""
    pitches = [p for n in notes for p in n.pitch_hz]
    lo, hi = min(pitches), max(pitches)
    duration = float(rng.uniform(min(n.duration_s for n in notes),
                                 max(n.duration_s for n in notes)))
    gap = float(np.median([n.gap_s for n in notes]))
    if rng.random() < 0.5 or hi / lo < 1.15:
        return Note("whistle", (float(np.exp(rng.uniform(np.log(lo), np.log(hi)))),),
                    duration, gap)
    return Note("sweep", (hi, lo), duration, gap)


def _reshaped(note: Note, rng: np.random.Generator) -> Note:
    """``note`` sung in another shape over the same pitches: a whistle becomes a sweep of
    15–30 % (up or down), any other note a whistle at its geometric mean pitch."""
    p = np.asarray(note.pitch_hz, dtype=float)
    if note.shape == "whistle":
        factor = 1.0 + float(rng.choice([-1.0, 1.0])) * float(rng.uniform(0.15, 0.30))
        return dataclasses.replace(note, shape="sweep",
                                   pitch_hz=(float(p[0]), float(p[0] * factor)))
    return dataclasses.replace(note, shape="whistle",
                               pitch_hz=(float(np.exp(np.log(p).mean())),))


def _visible(trill: Trill, floor_db: float = 20.0) -> tuple[float, float]:
    """Start and end (fractions of the syllable) of the part within ``floor_db`` of its peak."""
    if trill.peak_at is None:
        return 0.0, 1.0
    u = (np.arange(1000) + 0.5) / 1000
    env = np.sqrt(np.sin(np.pi * u ** (np.log(0.5) / np.log(trill.peak_at))))
    on = np.flatnonzero(env >= env.max() * 10 ** (-floor_db / 20))
    return float(u[on[0]]), float(u[on[-1]])


def _note_row(onset: float, note: Note, pitch: float, tempo: float) -> tuple[str, float]:
    dur = note.duration_s / tempo
    p = np.array(note.pitch_hz) * pitch
    if note.shape == "whistle":
        pts = [p[0], p[0]]
    elif note.shape == "slur":  # drawn through three midpoints of the raised-cosine glide
        c = note_contour("slur", p, 101)
        pts = [p[0], c[25], c[50], c[75], p[-1]]
    else:
        pts = list(p)
    mids = ";".join(f"{v:.0f}" for v in pts[1:-1])
    return f"{onset:.3f},{onset + dur:.3f},{pts[0]:.0f},{pts[-1]:.0f},{mids},1.0,,", dur


def sketch_text(sketch_id: str, theme_label: str, note: str, notes: list[Note] | tuple[Note, ...],
                trill: Trill, *, pitch: float = 1.0, tempo: float = 1.0,
                trill_interval: float = 1.0) -> str:
    """The CSV text of one sketch (format: ``data/1966/README.md``).

    Parameters
    ----------
    sketch_id, theme_label, note : str
        The ``# id:``, ``# theme:`` and ``# note:`` lines.
    notes : sequence of Note
        Introductory notes, drawn as they are sung (a slur through three midpoints).
    trill : Trill
        Drawn as it shows on a sonogram: the part of the syllable within 20 dB of its peak,
        at its mean pitch and interval (drawings show no drift).
    pitch, tempo : float
        Every frequency times ``pitch``, every time divided by ``tempo``.
    trill_interval : float
        Extra factor on the trill's interval.
    """
    lines = [f"# id: {sketch_id}", f"# theme: {theme_label}", f"# note: {note}", HEADER]
    t = 0.0
    for n in notes:
        row, dur = _note_row(t, n, pitch, tempo)
        lines.append(row)
        t += dur + n.gap_s / tempo
    u0, u1 = _visible(trill)
    mean_pitch = pitch * (1 + trill.drift_pitch / 2)
    f = np.array(trill.pitch_hz) * mean_pitch
    f_on = f[0] * (f[-1] / f[0]) ** u0
    f_off = f[0] * (f[-1] / f[0]) ** u1
    on = t + u0 * trill.note_s / tempo
    off = t + u1 * trill.note_s / tempo
    interval = trill.interval_s * (1 + trill.drift_interval / 2) / tempo * trill_interval
    lines.append(f"{on:.3f},{off:.3f},{f_on:.0f},{f_off:.0f},,0.8,{trill.count},"
                 f"{interval:.4f}")
    return "\n".join(lines) + "\n"
