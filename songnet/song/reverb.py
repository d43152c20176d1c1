"""How long a song's sound lingers after it: the reverberation time read off a recording.

After a song's last note the direct sound stops within a few milliseconds; what follows,
above the site's background, is the place's reverberant tail. :func:`tail_t60` reads it
with Schroeder's backward integration (Schroeder 1965, "New method of measuring
reverberation time") of the song band's power (2–9 kHz, 5-ms frames) from the last note's
loudest frame to where the power meets the background, less the background's power: the
decay's slope between 5 dB and at most 30 dB below the start gives T60, the time to fall
by 60 dB.

A recording can only show a tail that stands above its background: the song's last note
must lie at least ``min_range_db`` above it (the default, 30 dB in the song band, leaves
about 20 dB of decay to fit). Below that the answer is NaN, "not measurable", never a
number read off the noise. On songs given a known tail (``benchmarks/reverb_tail.py``:
model-made and real songs, 30 dB SNR) the estimate reads 8–29 % short of the true T60 for
a tail of level 0.3, and about half for a faint one (0.1), whose end sinks into the
background sooner: a lower bound. At 15 dB SNR every song is refused.

NumPy only.
"""

from __future__ import annotations

import dataclasses

import numpy as np

__all__ = ["Tail", "tail_t60"]


@dataclasses.dataclass(frozen=True)
class Tail:
    """The tail after one song.

    Attributes
    ----------
    t60_s : float
        Reverberation time (s): 0.0 when the power falls to the background too fast to fit
        (a dry site), NaN when it cannot be measured (too little level above the
        background, or too little recording after the song).
    range_db : float
        How far the last note's loudest frame stands above the background in the song band
        (dB); NaN without enough recording after the song.
    """

    t60_s: float
    range_db: float


def _band_db(y: np.ndarray, sr: int, hop_s: float, band: tuple[float, float]) -> np.ndarray:
    """Power (dB) of ``band`` in Hann frames of ``2 * hop_s``, one every ``hop_s``."""
    hop = max(1, round(hop_s * sr))
    win = 2 * hop
    if y.size < win:
        return np.zeros(0)
    n = 1 + (y.size - win) // hop
    idx = np.arange(win)[None, :] + hop * np.arange(n)[:, None]
    spec = np.abs(np.fft.rfft(y[idx] * np.hanning(win), axis=1)) ** 2
    f = np.fft.rfftfreq(win, 1.0 / sr)
    sel = (f >= band[0]) & (f <= band[1])
    return 10 * np.log10(spec[:, sel].sum(axis=1) + 1e-20)


def tail_t60(y: np.ndarray, sr: int, end_s: float, *, band: tuple[float, float] = (2000.0,
             9000.0), hop_s: float = 0.005, min_range_db: float = 30.0,
             last_note_s: float = 0.15, floor_s: tuple[float, float] = (0.4, 1.2)) -> Tail:
    """The reverberation time after a song ending at ``end_s`` in recording ``y``.

    Parameters
    ----------
    y : np.ndarray [shape=(n,)]
        The recording (mono).
    sr : int
        Its sample rate (Hz; its Nyquist frequency above ``band``).
    end_s : float
        Where the song ends (s), as the song finder reports it.
    band : (float, float)
        The song band (Hz).
    hop_s : float
        Frame hop (s).
    min_range_db : float
        The last note must stand this far above the background to measure a tail.
    last_note_s : float
        The tail starts at the loudest frame within this long before ``end_s``.
    floor_s : (float, float)
        The background: the median power of the frames this far after ``end_s`` (s).

    Returns
    -------
    Tail
    """
    db = _band_db(np.asarray(y, dtype=np.float64), sr, hop_s, band)
    i_end = round(end_s / hop_s)
    a, b = i_end + round(floor_s[0] / hop_s), i_end + round(floor_s[1] / hop_s)
    if b > db.size or i_end <= 0:
        return Tail(float("nan"), float("nan"))
    floor = float(np.median(db[a:b]))
    start = max(0, i_end - round(last_note_s / hop_s))
    i0 = start + int(np.argmax(db[start:i_end + 2]))
    top = float(db[i0])
    span = top - floor
    if span < min_range_db:
        return Tail(float("nan"), span)
    level = db[i0:a]
    below = np.flatnonzero(level <= floor + 3.0)
    stop = int(below[0]) if below.size else level.size
    excess = np.clip(10 ** (level[:max(stop, 2)] / 10) - 10 ** (floor / 10), 0.0, None)
    edc = np.cumsum(excess[::-1])[::-1]
    edc_db = 10 * np.log10(edc / edc[0] + 1e-20)
    fit = np.flatnonzero((edc_db <= -5.0) & (edc_db >= -5.0 - min(25.0, span - 10.0)))
    if fit.size < 3:
        return Tail(0.0, span)
    slope = float(np.polyfit(fit * hop_s, edc_db[fit], 1)[0])
    return Tail(-60.0 / slope if slope < 0 else 0.0, span)
