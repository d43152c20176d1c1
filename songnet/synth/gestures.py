"""Gestures: the α(t), β(t), envelope and γ that make the model sing a pitch contour.

A note is a pitch contour over its duration; a song is notes separated by gaps. Inside a
song the labia keep oscillating at α = ALPHA_SOUND (near the onset, where the tone is
nearly pure) and β follows the wanted pitch through the calibration; the amplitude
envelope gates the sound at the trachea's input, so gaps are silent and notes start
without the slow build-up of an oscillation. Before and after the song α = β = −0.15
(silence).

Note shapes used by chingolo songs (Laje, Gardner & Mindlin 2002): a *whistle* (β
constant), a *sweep* up or down (β ramp), a *chevron* (up then down, or down then up, via
a middle pitch) and a *slur* (a smooth S-shaped glide); a *trill* repeats one brief note
at a fixed interval (:func:`trill_contour`).

**Wide sweeps.** With one γ the tonal β range (:data:`TONAL_BETA`) spans a pitch ratio of
about 2.2, less than a real introductory downsweep may cover (7.2 → 3.1 kHz) or a test
sweep of 2.5 → 7.5 kHz. A song whose pitch range does not fit one γ gets a slowly varying
γ(t) (:func:`gamma_profile`): β still sings the fast part of every note, γ follows the slow
part. This is physically sound: writing ``τ = ∫γ dt`` and ``y = γ v``, the normal form with
a time-varying γ becomes the constant-γ oscillator in the warped time τ plus one extra term,
``−(γ'/γ²)·v`` in ``dv/dτ``, a damping of relative size ``(d ln γ/dt)/γ``: below 2·10⁻⁴ for a
threefold change over 0.2 s at γ ≈ 24000, against O(1) terms. The labia thus run the same
limit cycle, only faster or slower, so the waveform shape (the timbre set by β) is kept
while the pitch scales with γ, as it does between birds. γ(t) is smoothed over
:data:`GAMMA_SMOOTH_S`, far slower than the labial period, and a trill's syllables are swept
by β alone.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import scipy.signal

from songnet.core.errors import SongnetError
from songnet.synth.calibration import (
    beta_for_f0,
    calibration_curve,
    level_for_beta,
    level_for_beta_gamma,
)
from songnet.synth.model import ALPHA_SILENT, ALPHA_SOUND, BETA_SILENT, GAMMA, SR

__all__ = [
    "GAMMA_RANGE",
    "GAMMA_SMOOTH_S",
    "SHAPES",
    "TONAL_BETA",
    "Gesture",
    "gamma_for_range",
    "gamma_profile",
    "gestures_from_contour",
    "note_contour",
    "trill_contour",
]

SHAPES = ("whistle", "sweep", "chevron", "slur")
TONAL_BETA = (1.0, 5.0)
"""β range used for notes: there the 2nd harmonic lies 44–55 dB below the fundamental."""
PREROLL_S = 0.03
"""Time the oscillator runs (silently) before the first note, to settle."""
RAMP_S = 0.004
"""Raised-cosine attack and release of each note's envelope (s)."""
GAMMA_RANGE = (8000.0, 64000.0)
"""γ (1/s) a varying γ(t) may take: a third to nearly three times the reference γ."""
GAMMA_SMOOTH_S = 0.04
"""Time scale (s) over which a varying γ(t) changes (Hann window of this length)."""
LOW_BETA = 1.0
"""β of a song's (or a stretch's) lowest pitch: sets the timbre (see :func:`gamma_for_range`)."""


@dataclasses.dataclass(frozen=True, eq=False)
class Gesture:
    """Model drive for one song, one value per output sample at :data:`SR`.

    Attributes
    ----------
    alpha, beta, envelope : np.ndarray [shape=(n,), dtype=float64]
        Air-sac pressure α, syringeal tension β and trachea input amplitude A.
    gamma : float
        Time-scale constant γ (1/s).
    """

    alpha: np.ndarray
    beta: np.ndarray
    envelope: np.ndarray
    gamma: float | np.ndarray = GAMMA

    def __post_init__(self) -> None:
        n = np.shape(self.alpha)
        if not (np.shape(self.beta) == np.shape(self.envelope) == n) or len(n) != 1:
            raise SongnetError(f"gesture arrays must share one shape (n,), got {n}, "
                               f"{np.shape(self.beta)}, {np.shape(self.envelope)}")
        if np.ndim(self.gamma) and np.shape(self.gamma) != n:
            raise SongnetError(f"gamma of shape {np.shape(self.gamma)} must be a number or "
                               f"one value per sample {n}")

    @property
    def n_samples(self) -> int:
        """Length in samples at :data:`SR`."""
        return int(self.alpha.shape[0])

    @property
    def gamma_t(self) -> np.ndarray:
        """γ per sample, float64 ``(n,)`` (constant unless the song needed a wide range)."""
        return np.broadcast_to(np.asarray(self.gamma, dtype=np.float64), self.alpha.shape)

    @property
    def gamma_median(self) -> float:
        """Median γ over the sounding samples (the song's γ when it is constant)."""
        if not np.ndim(self.gamma):
            return float(self.gamma)
        on = self.envelope > 0
        return float(np.median(self.gamma[on] if on.any() else self.gamma))


def note_contour(shape: str, pitch_hz: np.ndarray, n: int) -> np.ndarray:
    """Pitch contour (Hz) of one note of ``n`` samples.

    Parameters
    ----------
    shape : {"whistle", "sweep", "chevron", "slur"}
        whistle: ``pitch_hz[0]`` throughout; sweep: log-linear from the first to the last
        pitch; chevron: through the middle pitch and back (three pitches, or two: start =
        end, peak); slur: a raised-cosine glide from the first to the last pitch.
    pitch_hz : np.ndarray [shape=(k,)]
        Pitches in Hz.
    n : int
        Number of samples.

    Returns
    -------
    np.ndarray [shape=(n,)]
    """
    p = np.asarray(pitch_hz, dtype=np.float64).ravel()
    if p.size == 0 or not np.all(np.isfinite(p) & (p > 0)):
        raise SongnetError(f"note pitches must be positive numbers, got {p.tolist()}")
    u = (np.arange(n) + 0.5) / max(n, 1)
    logp = np.log(p)
    if shape == "whistle":
        out = np.full(n, logp[0])
    elif shape == "sweep":
        out = np.interp(u, np.linspace(0, 1, logp.size), logp)
    elif shape == "chevron":
        if logp.size == 2:
            logp = np.array([logp[0], logp[1], logp[0]])
        out = np.interp(u, np.linspace(0, 1, logp.size), logp)
        out = np.convolve(np.pad(out, 8, mode="edge"), np.hanning(17) / np.hanning(17).sum(),
                          mode="valid")  # round the apex
    elif shape == "slur":
        w = 0.5 - 0.5 * np.cos(np.pi * u)
        out = logp[0] + (logp[-1] - logp[0]) * w
    else:
        raise SongnetError(f"unknown note shape {shape!r}; use one of {', '.join(SHAPES)}")
    return np.exp(out)


def gamma_for_range(f_lo: float, f_hi: float, *, low_beta: float = LOW_BETA) -> float:
    """A γ that puts the pitch range ``[f_lo, f_hi]`` (Hz) inside :data:`TONAL_BETA`.

    The lowest pitch goes to β = ``low_beta`` (moved as little as needed to keep the
    highest pitch within :data:`TONAL_BETA`). Low β gives a richer tone, high β a purer
    one; 1.15 makes the default themes' songs match the real syllables' 2nd-harmonic level
    (median −47 to −49 dB). A range too wide for one γ raises.
    """
    b, f0, _ = calibration_curve()
    f_lo_ref = np.interp(np.log(TONAL_BETA[0]), np.log(b), f0)
    f_hi_ref = np.interp(np.log(TONAL_BETA[1]), np.log(b), f0)
    g_max = GAMMA * f_lo / f_lo_ref   # f_lo reaches β = TONAL_BETA[0] at this γ
    g_min = GAMMA * f_hi / f_hi_ref   # f_hi reaches β = TONAL_BETA[1] at this γ
    if g_min > g_max * 1.0001:
        raise SongnetError(f"pitch range {f_lo:.0f}–{f_hi:.0f} Hz spans more than the model "
                           f"sings with one gamma (at most a ratio of "
                           f"{f_hi_ref / f_lo_ref:.2f}); narrow the song's pitch range, or "
                           "let gestures_from_contour vary gamma (gamma=None)")
    wanted = GAMMA * f_lo / np.interp(np.log(low_beta), np.log(b), f0)
    return float(min(max(wanted, g_min), g_max))


def gestures_from_contour(times_s: np.ndarray, f0_hz: np.ndarray, amplitude: np.ndarray, *,
                          gamma: float | np.ndarray | None = None, gamma_scale: float = 1.0,
                          sr: int = SR, compensate_level: bool = True) -> Gesture:
    """Gestures that sing a pitch contour: the entry point for resynthesis.

    Parameters
    ----------
    times_s : np.ndarray [shape=(k,)]
        Increasing times (s) of the contour points; the song runs from 0 to
        ``times_s[-1]``.
    f0_hz : np.ndarray [shape=(k,)]
        Wanted pitch (Hz) at each time; NaN or 0 where the bird is silent.
    amplitude : np.ndarray [shape=(k,)]
        Wanted amplitude (0–1) at each time; 0 where silent.
    gamma : float or np.ndarray [shape=(n,)], optional
        γ (1/s), a number or one per output sample; default: chosen from the voiced
        pitches, by :func:`gamma_for_range` when one γ fits them, else a slowly varying
        γ(t) from :func:`gamma_profile`.
    gamma_scale : float
        Factor on the chosen γ (a bird's own labial time scale: changes the timbre a
        little, not the pitch, since β is computed for the scaled γ).
    sr : int
        Output rate; must be :data:`SR`.
    compensate_level : bool
        Divide the envelope by the model's output level at each β, so that notes of
        equal ``amplitude`` come out equally loud.

    Returns
    -------
    Gesture
        ``n = round(times_s[-1]·sr) + 1`` samples; ``gamma`` a float, or an array ``(n,)``
        when the voiced pitches span more than one γ sings (:func:`gamma_profile`).

    Raises
    ------
    SongnetError
        Mismatched or non-increasing inputs, or pitches the model cannot reach.
    """
    if sr != SR:
        raise SongnetError(f"sr={sr} must be the synthesis rate {SR}")
    t = np.asarray(times_s, dtype=np.float64).ravel()
    f = np.asarray(f0_hz, dtype=np.float64).ravel().copy()
    a = np.asarray(amplitude, dtype=np.float64).ravel().copy()
    if not (t.size == f.size == a.size) or t.size < 2:
        raise SongnetError(f"times_s, f0_hz and amplitude need one length >= 2, got "
                           f"{t.size}, {f.size}, {a.size}")
    if not np.all(np.isfinite(t)) or np.any(np.diff(t) <= 0) or t[0] < 0:
        raise SongnetError("times_s must be finite, non-negative and strictly increasing")
    voiced = np.isfinite(f) & (f > 0) & np.isfinite(a) & (a > 0)
    if not voiced.any():
        raise SongnetError("the contour has no voiced point (f0 > 0 and amplitude > 0)")
    a[~voiced] = 0.0
    n = round(t[-1] * sr) + 1
    ts = np.arange(n) / sr
    # pitch through gaps: log-linear between the voiced neighbours (silent there anyway)
    logf = np.interp(ts, t[voiced], np.log(f[voiced]))
    if gamma is None:
        try:
            gamma = gamma_for_range(float(f[voiced].min()), float(f[voiced].max()))
        except SongnetError:
            gamma = gamma_profile(np.exp(logf), sr=sr)
    g = np.asarray(gamma, dtype=np.float64) * gamma_scale
    if g.ndim and g.shape != (n,):
        raise SongnetError(f"gamma of shape {g.shape} must be a number or one value per "
                           f"output sample ({n},)")
    beta = beta_for_f0(np.exp(logf), gamma=g)
    env = np.interp(ts, t, a)
    env = _smooth_edges(env, round(RAMP_S * sr))
    if compensate_level:
        mid_beta = np.sqrt(TONAL_BETA[0] * TONAL_BETA[1])
        if g.ndim:  # with γ varying, the level follows the sung pitch (trachea, cavity)
            level = level_for_beta_gamma(beta, g)
            ref = level_for_beta_gamma(mid_beta, np.median(g))
        else:
            level = level_for_beta(beta)
            ref = level_for_beta(mid_beta)
        env = env * (ref / level)
    first = ts[np.argmax(env > 0)] if np.any(env > 0) else 0.0
    last = ts[n - 1 - np.argmax(env[::-1] > 0)] if np.any(env > 0) else 0.0
    sounding = (ts >= first - PREROLL_S) & (ts <= last + RAMP_S)
    alpha = np.where(sounding, ALPHA_SOUND, ALPHA_SILENT)
    beta = np.where(sounding, beta, BETA_SILENT)
    return Gesture(alpha=alpha, beta=beta, envelope=env, gamma=g if g.ndim else float(g))


def _smooth_edges(env: np.ndarray, ramp: int) -> np.ndarray:
    """Round every rise and fall of ``env`` with a raised cosine of ``ramp`` samples."""
    if ramp < 2:
        return env
    kernel = np.hanning(ramp + 2)[1:-1]
    kernel /= kernel.sum()
    return np.convolve(env, kernel, mode="same")


def gamma_profile(f0_hz: np.ndarray, *, sr: int = SR, low_beta: float = LOW_BETA,
                  smooth_s: float = GAMMA_SMOOTH_S) -> np.ndarray:
    """A slowly varying γ(t) that keeps a wide pitch contour in the tonal β range.

    Around each sample, the lowest pitch within ±``smooth_s`` goes to β = ``low_beta`` (as
    :func:`gamma_for_range` does for a whole song), raised where needed so the highest
    pitch there stays within :data:`TONAL_BETA`; the path is smoothed (Hann window of
    ``smooth_s``) and kept, sample by sample, inside the band where the wanted pitch lies
    in :data:`TONAL_BETA`.

    Parameters
    ----------
    f0_hz : np.ndarray [shape=(n,)]
        Wanted pitch (Hz) at every sample, gaps filled (no NaN).
    sr : int
        Sample rate of ``f0_hz`` (Hz).
    low_beta : float
        β of the local lowest pitch.
    smooth_s : float
        Time scale of γ's changes (s).

    Returns
    -------
    np.ndarray [shape=(n,)]
        γ (1/s) per sample, within :data:`GAMMA_RANGE`.

    Raises
    ------
    SongnetError
        A pitch the model cannot sing in its tonal range with γ in :data:`GAMMA_RANGE`.
    """
    f = np.asarray(f0_hz, dtype=np.float64)
    if f.ndim != 1 or f.size == 0 or not np.all(np.isfinite(f) & (f > 0)):
        raise SongnetError("gamma_profile needs a positive pitch at every sample (fill gaps)")
    b, f0, _ = calibration_curve()
    lb = np.log(b)
    log_ref = {k: np.log(np.interp(np.log(v), lb, f0)) - np.log(GAMMA)
               for k, v in (("lo", TONAL_BETA[0]), ("hi", TONAL_BETA[1]), ("low", low_beta))}
    logf = np.log(f)
    lo_band = logf - log_ref["hi"]  # log γ that puts this pitch at β = TONAL_BETA[1]
    hi_band = logf - log_ref["lo"]  # ... at β = TONAL_BETA[0]
    g_lo, g_hi = np.log(GAMMA_RANGE)
    out = (hi_band < g_lo) | (lo_band > g_hi)
    if out.any():
        reach = (np.exp(g_lo + log_ref["lo"]), np.exp(g_hi + log_ref["hi"]))
        raise SongnetError(f"pitch {f[np.argmax(out)]:.0f} Hz cannot be sung as a pure tone "
                           f"(the model reaches {reach[0]:.0f}–{reach[1]:.0f} Hz with gamma in "
                           f"{GAMMA_RANGE[0]:g}–{GAMMA_RANGE[1]:g}); choose pitches in that range")
    lo_band = np.maximum(lo_band, g_lo)
    hi_band = np.minimum(hi_band, g_hi)
    w = max(1, round(smooth_s * sr))
    step = max(1, w // 8)  # running min/max on a coarse grid, then back to samples
    coarse = logf[::step]
    k = max(1, w // step)
    pad_lo = np.pad(coarse, k, mode="edge")
    windows = np.lib.stride_tricks.sliding_window_view(pad_lo, 2 * k + 1)
    run_min = np.repeat(windows.min(axis=1), step)[: f.size]
    run_max = np.repeat(windows.max(axis=1), step)[: f.size]
    path = np.maximum(run_min - log_ref["low"], run_max - log_ref["hi"])
    kernel = np.hanning(w + 2)[1:-1]
    kernel /= kernel.sum()
    for _ in range(4):  # overlap-add: np.convolve's values to 1e-13, 5x faster at 40 ms
        path = np.clip(path, lo_band, hi_band)
        path = scipy.signal.oaconvolve(np.pad(path, w, mode="edge"), kernel,
                                       mode="same")[w:-w]
    return np.exp(np.clip(path, lo_band + 1e-9, hi_band - 1e-9))


def trill_contour(count: int, *, pitch_hz: np.ndarray, note_s: float, interval_s: float,
                  shape: str = "sweep", sr: int = SR,
                  loudness: tuple[float, float, float] = (1.0, 1.0, 1.0),
                  peak_at: float | None = None, drift_pitch: float = 0.0,
                  drift_interval: float = 0.0,
                  second: tuple[str, np.ndarray, float, float, float] | None = None,
                  jitter: float = 0.0, rng: np.random.Generator | None = None
                  ) -> tuple[np.ndarray, np.ndarray]:
    """Pitch and amplitude of a trill: one brief syllable repeated, a periodic gesture.

    The literature drives a trill with periodic gestures (Laje, Gardner & Mindlin 2002):
    ``α = α0 + A·max(0, sin 2πf_r t)`` gates the sound once per period and
    ``β = β0 + B·sin(2πf_r t + φ)`` sweeps the pitch. Here the same periodic drive is
    written in the pitch domain (β follows it through the calibration, as for every note):
    the phase ``u`` ∈ [0, 1) of each sounding stretch sweeps the pitch from the first to
    the last of ``pitch_hz`` (``shape``, :func:`note_contour`), and the air-sac pulse gives
    the syllable envelope ``sqrt(sin(π·u^q))`` (the oscillation's amplitude grows as the
    square root of the pressure beyond its onset, a Hopf bifurcation), loudest at
    ``peak_at``. The trill rate drifts slowly (``drift_interval``), so do the pitches
    (``drift_pitch``), and the syllables' loudness follows ``loudness`` over the trill.

    Parameters
    ----------
    count : int
        Number of syllables.
    pitch_hz : np.ndarray [shape=(k,)]
        Pitches of the syllable (Hz), as for :func:`note_contour`.
    note_s, interval_s : float
        Syllable length and the interval between onsets (s), at the trill's start.
    shape : str
        Syllable shape, one of :data:`SHAPES`.
    sr : int
        Sample rate (Hz).
    loudness : (float, float, float)
        Relative loudness of the first syllable, the loudest (in the trill's middle) and
        the last one; linear in between.
    peak_at : float, optional
        Where in the syllable its envelope peaks (0–1); None: flat with the note ramps.
    drift_pitch, drift_interval : float
        Relative change from the first to the last syllable of the pitches and of the
        interval (e.g. -0.03: 3 % lower at the end).
    second : (shape, pitch_hz, note_s, gap_s, level), optional
        A second element after each syllable: shape, pitches (Hz), length (s), silence
        before it (s) and loudness relative to the first element.
    jitter : float
        Standard deviation of each syllable's pitch factor and of its onset (as a fraction
        of the interval) (needs ``rng``).
    rng : numpy.random.Generator, optional
        Source of the jitter; None: no jitter.

    Returns
    -------
    f0_hz, amplitude : np.ndarray [shape=(n,)]
        From the first syllable's onset; ``f0_hz`` NaN and ``amplitude`` 0 between
        syllables.
    """
    if count < 1 or note_s <= 0 or interval_s <= note_s:
        raise SongnetError(f"a trill needs count >= 1 and 0 < note_s < interval_s, got "
                           f"count={count}, note_s={note_s}, interval_s={interval_s}")
    k = np.arange(count)
    frac = k / max(count - 1, 1)
    intervals = interval_s * (1 + drift_interval * frac)
    onsets = np.concatenate([[0.0], np.cumsum(intervals[:-1])])
    pitch_f = 1 + drift_pitch * frac
    if rng is not None and jitter > 0:
        pitch_f = pitch_f * (1 + np.clip(rng.normal(0, jitter, count), -2.5 * jitter,
                                         2.5 * jitter))
        shift = np.clip(rng.normal(0, jitter, count), -2.5 * jitter, 2.5 * jitter)
        onsets = onsets + shift * interval_s
        onsets -= onsets[0]
    mid = (count - 1) / 2
    level = np.where(k <= mid, np.interp(k, [0, max(mid, 1e-9)], loudness[:2]),
                     np.interp(k, [mid, max(count - 1, mid + 1e-9)], loudness[1:]))
    elements = [(shape, np.asarray(pitch_hz, float), note_s, 0.0, 1.0)]
    if second is not None:
        elements.append((second[0], np.asarray(second[1], float), second[2], second[3],
                         second[4]))
    syl_s = sum(e[2] + e[3] for e in elements)
    n = round((onsets[-1] + syl_s) * sr) + 1
    f0 = np.full(n, np.nan)
    amp = np.zeros(n)
    q = None if peak_at is None else np.log(0.5) / np.log(peak_at)
    for j in range(count):
        t = onsets[j]
        for e_shape, e_pitch, e_s, e_gap, e_level in elements:
            t += e_gap
            i0 = round(t * sr)
            m = max(2, round(e_s * sr))
            u = (np.arange(m) + 0.5) / m
            env = np.ones(m) if q is None else np.sqrt(np.sin(np.pi * u ** q))
            f0[i0:i0 + m] = note_contour(e_shape, e_pitch * pitch_f[j], m)[: n - i0]
            amp[i0:i0 + m] = (level[j] * e_level * env)[: n - i0]
            t += e_s
    return f0, amp
