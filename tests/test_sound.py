from __future__ import annotations

import numpy as np
import pytest

from songnet.core.errors import SongnetError
from songnet.core.sound import Sound


def test_sound_normalises_dtype_and_duration():
    s = Sound(np.zeros(22050, dtype=np.float64), sr=22050, source="x.wav")
    assert s.samples.dtype == np.float32
    assert s.duration == pytest.approx(1.0)
    assert s.name == "x.wav"


@pytest.mark.parametrize(("samples", "sr", "match"), [
    (np.zeros((2, 10)), 100, "mono"),
    (np.array([0.0, np.nan]), 100, "NaN"),
    (np.array([0.0, np.inf]), 100, "NaN or inf"),
    (np.zeros(4, dtype=np.int16), 100, "floating point"),
    (np.zeros(4), 0, "sample rate"),
])
def test_sound_rejects_bad_input(samples, sr, match):
    with pytest.raises(SongnetError, match=match):
        Sound(samples, sr=sr, source="bad.wav")
