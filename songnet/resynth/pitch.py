"""Pitch tracking of nearly pure tones, note segmentation and pitch error in cents.

Chingolo notes are whistles between about 2.5 and 8 kHz with their second harmonic
40–50 dB down, so the fundamental is the strongest spectral peak in the band. The
tracker takes, frame by frame, the peak of a zero-padded Hann spectrum inside
``[fmin, fmax]`` and refines it by parabolic interpolation of the log magnitude (a
sub-hertz estimate for a steady tone). A frame is voiced when its peak stands well above
the band's median level and the frame is not far below the loudest frame of the clip.
"""

from __future__ import annotations

import numpy as np

from songnet.core.errors import SongnetError
from songnet.core.notes import Note, PitchTrack, cents, segment_notes  # their home since 2026-12-05
from songnet.core.sound import Sound

SILENCE_DB = -100.0  # a peak below this (re full scale 1.0) is silence, whatever its shape


__all__ = ["Note", "PitchTrack", "cents", "pitch_error_cents", "segment_notes", "track_pitch"]


def track_pitch(sound: Sound, *, fmin: float = 2000.0, fmax: float = 9000.0,
                hop_s: float = 0.002, window_s: float = 0.008, n_fft: int = 4096,
                tonality_db: float = 15.0, floor_db: float = -35.0) -> PitchTrack:
    """Track the fundamental of a nearly pure tone, frame by frame.

    Parameters
    ----------
    sound : Sound
        The recording (any rate whose Nyquist frequency lies above ``fmax``).
    fmin, fmax : float
        Search band in Hz.
    hop_s : float
        Frame hop in seconds.
    window_s : float
        Hann window length in seconds (shorter follows fast sweeps, longer resolves noise).
    n_fft : int
        FFT size (zero-padding) in samples; at least the window length.
    tonality_db : float
        A voiced frame's peak must lie this many dB above the band's median level.
    floor_db : float
        A voiced frame's peak must lie within this many dB of the clip's loudest peak.

    Returns
    -------
    PitchTrack
        Frames centred at ``k * hop_s``, for ``k = 0 … ceil(duration / hop_s)``.
    """
    sr = sound.sr
    if not 0 < fmin < fmax < sr / 2:
        raise SongnetError(f"{sound.source}: pitch band fmin={fmin}, fmax={fmax} Hz must satisfy "
                           f"0 < fmin < fmax < sr/2={sr / 2:g}; resample or narrow the band")
    win = max(16, round(window_s * sr))
    hop = max(1, round(hop_s * sr))
    n_fft = max(n_fft, int(2 ** np.ceil(np.log2(win))))
    y = sound.samples.astype(np.float64)
    n_frames = max(1, int(np.ceil(len(y) / hop)) + 1)
    padded = np.pad(y, (win // 2, win // 2 + n_frames * hop))
    idx = np.arange(win)[None, :] + hop * np.arange(n_frames)[:, None]  # (n_frames, win)
    window = np.hanning(win)
    spec = np.abs(np.fft.rfft(padded[idx] * window, n=n_fft, axis=1))  # (n_frames, n_fft/2+1)
    freqs = np.fft.rfftfreq(n_fft, 1.0 / sr)
    lo, hi = np.searchsorted(freqs, [fmin, fmax])
    band = spec[:, lo:hi] + 1e-12
    k = np.argmax(band, axis=1)
    k = np.clip(k, 1, band.shape[1] - 2)
    rows = np.arange(n_frames)
    a, b, c = (np.log(band[rows, k - 1]), np.log(band[rows, k]), np.log(band[rows, k + 1]))
    denom = a - 2 * b + c
    delta = np.where(np.abs(denom) > 1e-12, 0.5 * (a - c) / np.where(denom == 0, 1, denom), 0.0)
    delta = np.clip(delta, -0.5, 0.5)
    f0 = (lo + k + delta) * sr / n_fft
    peak = np.exp(b - 0.25 * (a - c) * delta) * 2.0 / window.sum()
    peak_db = 20 * np.log10(peak)
    median_db = 20 * np.log10(np.median(band, axis=1) * 2.0 / window.sum())
    voiced = ((peak_db - median_db >= tonality_db) & (peak_db >= peak_db.max() + floor_db)
              & (peak_db >= SILENCE_DB))
    times = rows * hop / sr
    return PitchTrack(times_s=times, f0_hz=np.where(voiced, f0, np.nan),
                      amplitude=np.where(voiced, peak, 0.0), voiced=voiced)


def pitch_error_cents(reference: PitchTrack, candidate: PitchTrack) -> np.ndarray:
    """Absolute pitch error in cents over the frames voiced in ``reference``.

    Frames voiced in the reference but silent in the candidate count as the largest
    error of the contour's band (1200 cents), so that a candidate cannot score well by
    staying silent.

    Returns
    -------
    np.ndarray [shape=(n_voiced,)]
        One error per reference-voiced frame (the two tracks share their frame grid up to
        the shorter length).
    """
    n = min(len(reference.times_s), len(candidate.times_s))
    ref_v = reference.voiced[:n]
    cand_v = candidate.voiced[:n]
    err = np.full(int(ref_v.sum()), 1200.0)
    both = cand_v[ref_v]
    err[both] = np.abs(cents(candidate.f0_hz[:n][ref_v][both], reference.f0_hz[:n][ref_v][both]))
    return err
