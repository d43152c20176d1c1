"""benchmarks/decided.py: classify's decision on feature splits, beside the network's."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
from conftest import benchmark
from scripted import FixedMatcher

CLASSES = ("T01", "T02", "unknown", "no_song")


def _backend(distance: float) -> SimpleNamespace:
    return SimpleNamespace(classes=CLASSES, unknown_min_p=0.5,
                           open_set=FixedMatcher(np.array(["T01", "T02"]), theme="T01",
                                                 distance=distance, threshold=0.3))


@pytest.mark.parametrize(("probs", "distance", "answer"), [
    ([0.2, 0.1, 0.1, 0.6], 0.1, "no_song"),   # 1 - p(no_song) below 0.5: not a song
    ([0.7, 0.1, 0.1, 0.1], 0.1, "T01"),       # a theme, within the open set
    ([0.7, 0.1, 0.1, 0.1], 0.4, "unknown"),   # a theme, beyond the open set's threshold
    ([0.1, 0.1, 0.4, 0.4], 0.1, "no_song"),   # unknown first, but p(unknown) 0.4 < 0.5
    ([0.1, 0.1, 0.7, 0.1], 0.4, "unknown"),   # the network's own unknown
])
def test_the_decision_is_classifys(probs, distance, answer):
    p = np.array([probs], dtype=np.float32)
    got = benchmark("decided").decide(_backend(distance), p, np.zeros((1, 4), np.float32),
                                      window_s=3.0, detect_threshold=0.5)
    assert got == [answer]


def test_fates_share_out_the_theme_songs_only():
    truth = ["T01", "T01", "T02", "T02", "unknown", "no_song"]
    answer = ["T01", "unknown", "no_song", "T01", "T01", "T02"]
    f = benchmark("decided").fates(truth, answer)
    assert f == pytest.approx({"right": 0.25, "unknown": 0.25, "no_song": 0.25,
                               "another": 0.25})
