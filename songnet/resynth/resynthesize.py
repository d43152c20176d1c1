"""Resynthesis: 1966 recordings and sketches → model gestures α(t), β(t) → model audio.

Both paths end in one pitch contour and amplitude envelope on a frame grid:

- a **recording** is tracked (:func:`songnet.song.track.track_pitch`) and split into notes;
- a **sketch** (:mod:`songnet.resynth.sketch`) is interpolated through its drawn points.

:func:`fit_contour` turns the contour into gestures: α switches the source on a little
before each note (while the trachea input ``A(t)`` is still 0, so the note starts on the
limit cycle) and off after it, β follows the contour through the model's pitch calibration
(``songnet.synth.beta_for_f0``); a song wider than one γ sings gets a slowly varying γ(t)
(``songnet.synth.gamma_profile``: notes spanning a pitch ratio of 3 and more). Because the
calibration holds for steady notes, fast sweeps and the trachea shift the sung pitch a
little: the fit then sings, re-tracks its own output, and corrects the wanted pitch by the
measured error, ``n_refine`` times. Fit quality is the pitch error in cents, per note,
against the contour.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import scipy.signal

from songnet.core.errors import SongnetError
from songnet.core.sound import Sound
from songnet.resynth.sketch import Sketch, sketch_contour
from songnet.song.segment import segment_notes
from songnet.song.track import PitchTrack, cents, track_pitch
from songnet.synth import gestures_from_contour, render
from songnet.synth.calibration import beta_for_f0, f0_range
from songnet.synth.model import ALPHA_SILENT, BETA_SILENT, SR

__all__ = ["NoteFit", "Resynthesis", "ResynthesizeParams", "fit_contour",
           "resynthesize_recording", "resynthesize_sketch"]


@dataclasses.dataclass(frozen=True)
class ResynthesizeParams:
    """The ``resynthesize`` section of ``params.yaml``.

    Attributes
    ----------
    fmin_hz, fmax_hz : float
        Pitch search band of the tracker (Hz).
    hop_s, window_s : float
        Tracker frame hop and window (s).
    min_note_s : float
        Voiced runs shorter than this are not notes (s).
    gamma : float
        Model time-scale constant γ (1/s); 0 = chosen per song from its pitch range so
        that β stays in the model's tonal range (as for the surrogate songs).
    n_refine : int
        Sing-track-correct passes after the calibration-only fit (0 = none).
    n_sub : int
        RK4 substeps per output sample (20 = the reference accuracy).
    pre_roll_s : float
        The source starts this long before each note, silent, so the note starts steady (s).
    sketch_lead_s : float
        Silence around a sketched song (s).
    peak : float
        Peak amplitude of a sketch's audio (a recording's resynthesis keeps its peak).
    """

    fmin_hz: float = 2000.0
    fmax_hz: float = 9000.0
    hop_s: float = 0.002
    window_s: float = 0.008
    min_note_s: float = 0.008
    gamma: float = 0.0
    n_refine: int = 3
    n_sub: int = 20
    pre_roll_s: float = 0.03
    sketch_lead_s: float = 0.05
    peak: float = 0.5

    def __post_init__(self) -> None:
        if not 0 < self.fmin_hz < self.fmax_hz < SR / 2:
            raise ValueError(f"fmin_hz={self.fmin_hz} and fmax_hz={self.fmax_hz} must satisfy "
                             f"0 < fmin_hz < fmax_hz < {SR / 2:g}")
        if self.n_refine < 0 or self.n_sub < 1:
            raise ValueError(f"n_refine={self.n_refine} must be ≥ 0 and n_sub={self.n_sub} ≥ 1")
        if min(self.hop_s, self.window_s, self.peak) <= 0 or self.gamma < 0:
            raise ValueError("hop_s, window_s and peak must be positive, gamma ≥ 0")


@dataclasses.dataclass(frozen=True)
class NoteFit:
    """Fit quality of one note: where it is, its pitch, and the resynthesis' pitch error."""

    index: int
    onset_s: float
    offset_s: float
    f0_start_hz: float
    f0_end_hz: float
    median_abs_cents: float
    max_abs_cents: float


@dataclasses.dataclass(frozen=True, eq=False)
class Resynthesis:
    """A model-made song and how well it follows its source.

    Attributes
    ----------
    sound : Sound
        The model's song at ``songnet.synth.SR``.
    alpha, beta, envelope : np.ndarray [shape=(n,)]
        The fitted gestures, one value per output sample.
    target : PitchTrack
        The contour it was fitted to (tracked from a recording, or drawn).
    sung : PitchTrack
        The contour tracked from the model's song, on the same frame grid.
    notes : tuple of NoteFit
        Per-note pitch error.
    gamma : float
        The model's γ (1/s) for this song (the median when it varies).
    gamma_t : np.ndarray [shape=(n,)], optional
        γ per output sample when the song's pitch range needed a varying γ
        (:func:`songnet.synth.gamma_profile`); None when ``gamma`` is constant.
    """

    sound: Sound
    alpha: np.ndarray
    beta: np.ndarray
    envelope: np.ndarray
    target: PitchTrack
    sung: PitchTrack
    notes: tuple[NoteFit, ...]
    gamma: float
    gamma_t: np.ndarray | None = None

    @property
    def median_abs_cents(self) -> float:
        """Median absolute pitch error (cents) over frames voiced in the target."""
        err = _errors(self.target, self.sung)
        return float(np.median(err)) if err.size else float("nan")


def _errors(target: PitchTrack, sung: PitchTrack, sel: np.ndarray | None = None) -> np.ndarray:
    """``|cents|`` over target-voiced frames (in ``sel``) within 20 dB of the target's peak.

    Quieter frames (a note's attack and release) are left out when the selection has
    louder ones; a frame the song leaves unvoiced counts 1200 cents.
    """
    n = min(len(target.times_s), len(sung.times_s))
    mask = target.voiced[:n].copy()
    if sel is not None:
        mask &= sel[:n]
    loud = mask & (target.amplitude[:n] >= 0.1 * float(target.amplitude.max()))
    if loud.any():
        mask = loud
    err = np.full(int(mask.sum()), 1200.0)
    both = sung.voiced[:n][mask]
    err[both] = np.abs(cents(sung.f0_hz[:n][mask][both], target.f0_hz[:n][mask][both]))
    return err


def _track(sound: Sound, params: ResynthesizeParams) -> PitchTrack:
    return track_pitch(sound, fmin=params.fmin_hz, fmax=params.fmax_hz, hop_s=params.hop_s,
                       window_s=params.window_s)


def fit_contour(target: PitchTrack, *, params: ResynthesizeParams, n_samples: int,
                source: str = "<contour>") -> Resynthesis:
    """Fit gestures to a contour and sing them.

    Parameters
    ----------
    target : PitchTrack
        Wanted pitch (Hz, NaN where silent) and amplitude per frame; frames at
        ``k * hop`` seconds.
    params : ResynthesizeParams
        Model and tracker settings.
    n_samples : int
        Length of the output at ``SR``.
    source : str
        Name used in the output ``Sound`` and in error messages.

    Returns
    -------
    Resynthesis
        With ``sound.samples`` peak-normalised to 1 (callers rescale).
    """
    if not target.voiced.any():
        raise SongnetError(f"{source}: no note found between {params.fmin_hz:g} and "
                           f"{params.fmax_hz:g} Hz; check the file, or widen the band "
                           "(resynthesize.fmin_hz/fmax_hz)")
    pre = round(params.pre_roll_s * SR)
    # shift the contour by the pre-roll so a note at t = 0 still starts on the limit cycle
    times = np.concatenate([[0.0], target.times_s + pre / SR])
    f0 = np.concatenate([[np.nan], np.where(target.voiced, target.f0_hz, np.nan)])
    amp = np.concatenate([[0.0], np.where(target.voiced, target.amplitude, 0.0)])
    amp = amp / max(float(amp.max()), 1e-12)
    gamma = None if params.gamma <= 0 else params.gamma
    try:
        g = gestures_from_contour(times, f0, amp, gamma=gamma)
    except SongnetError as exc:
        raise SongnetError(f"{source}: {exc}") from exc
    lo, hi = f0_range(gamma=g.gamma)
    lo, hi = lo * 1.001, hi * 0.999
    sounding = g.alpha > ALPHA_SILENT
    t = np.arange(g.alpha.size) / SR
    vt, vf = times[1:][target.voiced], target.f0_hz[target.voiced]
    wanted = np.exp(np.interp(t, vt, np.log(vf)))  # held outside notes
    frame_t = times[1:]
    correction = np.zeros_like(t)  # log-frequency correction per sample
    best: tuple[float, np.ndarray, np.ndarray, PitchTrack] | None = None
    beta = g.beta
    for _ in range(params.n_refine + 1):
        y = render(g.alpha, beta, g.envelope, gamma=g.gamma, n_sub=params.n_sub)
        y = _fit_length(y[pre:], n_samples)
        y = y / max(float(np.abs(y).max()), 1e-12)
        sung = _track(Sound(y.astype(np.float32), SR, source), params)
        score = float(np.median(_errors(target, sung)))
        if best is None or score < best[0]:
            best = (score, y, beta, sung)
        n = min(len(frame_t), len(sung.times_s))
        ok = target.voiced[:n] & sung.voiced[:n]
        if not ok.any():
            break
        ratio = np.log(target.f0_hz[:n][ok] / sung.f0_hz[:n][ok])
        correction = correction + np.interp(t, frame_t[:n][ok], ratio)
        drive = np.clip(wanted * np.exp(correction), lo, hi)
        beta = np.where(sounding, beta_for_f0(drive, gamma=g.gamma), BETA_SILENT)
    assert best is not None
    _, y, beta, sung = best
    alpha, envelope = (_fit_length(a[pre:], n_samples) for a in (g.alpha, g.envelope))
    notes = _note_fits(target, sung, params)
    gamma_t = None
    if np.ndim(g.gamma):  # held at its last value past the song's end
        gamma_t = g.gamma[pre:pre + n_samples]
        gamma_t = np.pad(gamma_t, (0, n_samples - gamma_t.size), mode="edge")
    return Resynthesis(sound=Sound(y.astype(np.float32), SR, source), alpha=alpha,
                       beta=_fit_length(beta[pre:], n_samples), envelope=envelope,
                       target=target, sung=sung, notes=notes, gamma=g.gamma_median,
                       gamma_t=gamma_t)


def _fit_length(x: np.ndarray, n: int) -> np.ndarray:
    """``x`` cut or zero-padded to ``n`` samples."""
    return x[:n] if x.size >= n else np.pad(x, (0, n - x.size))


def _note_fits(target: PitchTrack, sung: PitchTrack,
               params: ResynthesizeParams) -> tuple[NoteFit, ...]:
    fits = []
    for i, note in enumerate(segment_notes(target, min_note_s=params.min_note_s)):
        sel = np.zeros(len(target.times_s), dtype=bool)
        sel[note.start:note.stop] = True
        err = _errors(target, sung, sel)
        fits.append(NoteFit(index=i, onset_s=float(target.times_s[note.start]),
                            offset_s=float(target.times_s[note.stop - 1]),
                            f0_start_hz=float(target.f0_hz[note.start]),
                            f0_end_hz=float(target.f0_hz[note.stop - 1]),
                            median_abs_cents=float(np.median(err)),
                            max_abs_cents=float(np.max(err))))
    return tuple(fits)


def resynthesize_recording(sound: Sound, *, params: ResynthesizeParams = ResynthesizeParams()
                           ) -> Resynthesis:
    """Resynthesize a recorded song: track it, fit the model, sing it.

    Parameters
    ----------
    sound : Sound
        The recording (any rate; resampled to ``SR``). Frames outside the notes found by
        :func:`songnet.song.segment.segment_notes` are treated as silence.
    params : ResynthesizeParams

    Returns
    -------
    Resynthesis
        Same duration as ``sound``, at ``SR``, with the recording's peak amplitude.
    """
    if sound.sr != SR:
        g = np.gcd(int(sound.sr), SR)
        y = scipy.signal.resample_poly(sound.samples, SR // g, sound.sr // g)
        sound = Sound(y.astype(np.float32), SR, sound.source)
    track = _track(sound, params)
    keep = np.zeros(len(track.times_s), dtype=bool)
    for note in segment_notes(track, min_note_s=params.min_note_s):
        keep[note.start:note.stop] = True
    # short unvoiced gaps bridged inside a note get interpolated pitch and amplitude
    v = track.voiced
    frames = np.arange(len(track.times_s))
    f0 = np.exp(np.interp(frames, frames[v], np.log(track.f0_hz[v]))) if v.any() else track.f0_hz
    amplitude = np.interp(frames, frames[v], track.amplitude[v]) if v.any() else track.amplitude
    target = dataclasses.replace(track, voiced=keep, f0_hz=np.where(keep, f0, np.nan),
                                 amplitude=np.where(keep, amplitude, 0.0))
    res = fit_contour(target, params=params, n_samples=len(sound), source=sound.source)
    scale = float(np.abs(sound.samples).max())
    return dataclasses.replace(res, sound=Sound(res.sound.samples * scale, SR, sound.source))


def resynthesize_sketch(sketch: Sketch, *, params: ResynthesizeParams = ResynthesizeParams()
                        ) -> Resynthesis:
    """Sing a digitised sonogram: its drawn contour becomes gestures, then audio.

    The fit quality compares the model's sung pitch with the drawn contour.
    """
    times, f0, amp = sketch_contour(sketch, frame_s=params.hop_s, lead_s=params.sketch_lead_s)
    voiced = ~np.isnan(f0) & (amp > 0)
    target = PitchTrack(times_s=times, f0_hz=np.where(voiced, f0, np.nan),
                        amplitude=np.where(voiced, amp, 0.0), voiced=voiced)
    n_samples = round(times[-1] * SR) + 1
    res = fit_contour(target, params=params, n_samples=n_samples, source=sketch.source)
    return dataclasses.replace(res, sound=Sound(res.sound.samples * params.peak, SR,
                                                sketch.source))
