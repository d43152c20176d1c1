"""Song measures (syllables, pitch, song length, timbre) on generated and real sounds."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf

from songnet.core.errors import SongnetError
from songnet.surrogates.realism import REAL_RANGES, find_syllables, measure, peak_track

SR = 44100


def _tone(f_from: float, f_to: float, seconds: float) -> np.ndarray:
    t = np.arange(round(seconds * SR)) / SR
    f = f_from * (f_to / f_from) ** (t / seconds)
    return np.sin(2 * np.pi * np.cumsum(f) / SR)


def test_syllables_of_a_generated_trill_are_found_with_their_pitch():
    gap = np.zeros(round(0.03 * SR))
    syllable = _tone(6200.0, 3900.0, 0.035)
    y = np.concatenate([gap] + [np.concatenate([syllable, gap])] * 5 + [_tone(4500, 4500, 0.2)])
    m = measure(y, sr=SR)
    assert len(m.trill) == 5 and len(m.intro) == 1
    for s in m.trill:
        assert s.duration_ms == pytest.approx(35 + 256 / SR * 1000, abs=3)  # + half a frame
        assert s.f_start_hz == pytest.approx(6100, rel=0.04)
        assert s.f_end_hz == pytest.approx(3950, rel=0.04)
        assert s.ratio > 1.45 and s.sweep_oct_s > 10
    assert m.intro[0].f_start_hz == pytest.approx(4500, rel=0.02)
    assert m.song_s == pytest.approx(5 * 0.065 + 0.2, abs=0.01)
    assert m.h2_db < -60  # a pure sine


def test_peak_track_and_silence():
    track = peak_track(_tone(4000, 4000, 0.05), sr=SR)
    assert np.median(track.f_hz) == pytest.approx(4000, rel=0.03)
    assert find_syllables(peak_track(np.zeros(2000), sr=SR)) == ()
    with pytest.raises(SongnetError, match="fmin"):
        peak_track(np.ones(1000), sr=SR, fmin=9000.0, fmax=2000.0)


def test_real_syllables_fall_in_the_real_ranges(real_syllables):
    by_name = {p.stem: p for p in real_syllables}
    for name, ms, start, end in (("XC391056-syllable-4", 29, 6000, 4000),
                                 ("XC462515-syllable-4", 46, 6400, 3800)):
        y, sr = sf.read(by_name[name])
        (syl,) = measure(y, sr=sr).syllables
        assert syl.duration_ms == pytest.approx(ms, abs=4)
        assert syl.f_start_hz == pytest.approx(start, rel=0.05)
        assert syl.f_end_hz == pytest.approx(end, rel=0.05)
        lo, hi = REAL_RANGES["trill_sweep_ratio"]
        assert lo <= syl.ratio <= hi
    y, sr = sf.read(by_name["XC391056-syllable-2"])
    (note,) = measure(y, sr=sr).intro
    assert note.ratio > 1.9  # the wide real downsweep, 6.6 -> 3.4 kHz
