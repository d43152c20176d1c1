"""Song measures (syllables, pitch, song length, timbre) on generated and real sounds."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf

from songnet.core.errors import SongnetError
from songnet.surrogates.realism import REAL_RANGES, measure

SR = 44100


def _tone(f_from: float, f_to: float, seconds: float) -> np.ndarray:
    t = np.arange(round(seconds * SR)) / SR
    f = f_from * (f_to / f_from) ** (t / seconds)
    return np.sin(2 * np.pi * np.cumsum(f) / SR)


def test_syllables_of_a_generated_trill_are_found_with_their_pitch():
    gap = np.zeros(round(0.03 * SR))
    syllable = _tone(6200.0, 3900.0, 0.035)
    y = np.concatenate([gap, _tone(4500, 4500, 0.2), np.zeros(round(0.08 * SR))]
                       + [np.concatenate([syllable, gap])] * 5)
    m = measure(y, sr=SR)
    assert len(m.trill) == 5 and len(m.intro) == 1 and len(m.syllables) == 6
    for s in m.trill:
        assert s.duration_ms == pytest.approx(35, abs=3)  # half-level onset to offset
        assert s.f_start_hz == pytest.approx(6100, rel=0.04)
        assert s.f_end_hz == pytest.approx(3950, rel=0.04)
        assert s.ratio > 1.45 and s.sweep_oct_s > 10
    assert m.intro[0].f_start_hz == pytest.approx(4500, rel=0.02)
    assert m.intro[0].duration_ms == pytest.approx(200, abs=3)
    assert m.song_s == pytest.approx(0.2 + 0.08 + 4 * 0.065 + 0.035, abs=0.01)
    assert m.h2_db < -60  # a pure sine


def test_a_slow_trill_of_long_syllables_is_a_trill():
    """Length decides nothing: 120-ms syllables every 190 ms repeat, so they are a trill."""
    y = np.concatenate([np.zeros(2000), _tone(4400, 4400, 0.15), np.zeros(round(0.07 * SR))]
                       + [np.concatenate([_tone(5600, 3400, 0.12), np.zeros(round(0.07 * SR))])]
                       * 6)
    m = measure(y, sr=SR)
    assert len(m.intro) == 1 and len(m.trill) == 6
    assert all(s.duration_ms == pytest.approx(120, abs=4) for s in m.trill)


def test_silence_and_bad_audio():
    m = measure(np.zeros(2000), sr=SR)
    assert m.syllables == () and m.trill == () and m.song_s == 0.0
    with pytest.raises(SongnetError, match="finite mono"):
        measure(np.full(1000, np.nan), sr=SR)
    (note,) = measure(_tone(4000, 4000, 0.05), sr=SR).syllables  # one note: no song
    assert note.f_start_hz == pytest.approx(4000, rel=0.01)


def test_real_syllables_fall_in_the_real_ranges(real_syllables):
    by_name = {p.stem: p for p in real_syllables}
    # extents within 12 dB of the syllable's level: the clips hold 29 and 46 ms, faint
    # edges included
    for name, ms, start, end in (("XC391056-syllable-4", 28, 6000, 4000),
                                 ("XC462515-syllable-4", 40, 6400, 3800)):
        y, sr = sf.read(by_name[name])
        (syl,) = measure(y, sr=sr).syllables
        assert syl.duration_ms == pytest.approx(ms, abs=4)
        assert syl.f_start_hz == pytest.approx(start, rel=0.06)  # an 8-ms window on a fast sweep
        assert syl.f_end_hz == pytest.approx(end, rel=0.05)
        lo, hi = REAL_RANGES["trill_sweep_ratio"]
        assert lo <= syl.ratio <= hi
    y, sr = sf.read(by_name["XC391056-syllable-2"])
    (note,) = measure(y, sr=sr).syllables
    assert note.ratio > 1.8  # the wide real downsweep, 6.6 -> 3.4 kHz (6.4 -> 3.4 at 8 ms)
