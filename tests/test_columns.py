"""What each of classify's columns means, on known-answer inputs.

Songs the syrinx model sings in noise go through classify's own path with a known-answer
model (:class:`tests.scripted.Scripted`): the shipped model's CQT, song detection and note
check, with the network's theme probabilities and the open set's answer set by each test.
So each call is known in advance, whatever a trained network answers on one seed's song:
a catalog theme is named with ``unknown_by`` empty; the network's own ``unknown`` makes the
call; the note check refuses a song whose notes differ from the named theme's (T07's note
shapes at other lengths); the embedding distance refuses a song beyond its threshold;
noise gives no events; the filters on presence and theme act apart.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from songnet.classify.backends import open_model
from songnet.classify.params import ClassifyParams
from songnet.classify.windows import classify_blocks
from songnet.core import audio
from songnet.core.audio import resample
from songnet.core.labels import UNKNOWN
from songnet.surrogates.birds import sing
from songnet.surrogates.themes import load_catalog
from songnet.synth import SR
from tests.scripted import Scripted

CATALOG = {t.name: t for t in load_catalog()}


@pytest.fixture(scope="module")
def model():
    return open_model(None, threads=1)


def in_noise(theme, *, seed: int, sr: int) -> np.ndarray:
    """A model song of ``theme`` with a second of noise either side, 25 dB below it."""
    rng = np.random.default_rng(seed)
    y = np.concatenate([np.zeros(SR), sing(theme, rng=rng), np.zeros(SR)])
    y = y + rng.normal(0, np.sqrt(np.mean(y ** 2)) * 10 ** (-25 / 20), y.size)
    return resample(y.astype(np.float32), orig_sr=SR, sr=sr)


def events(model, y, params: ClassifyParams | None = None):
    found, _ = classify_blocks([audio.Block(y, 0.0, model.fp.sr)], model=model,
                               params=params or ClassifyParams())
    return found


def other_lengths(seed: int) -> np.ndarray:
    """T07's three downsweeps sung 70, 290 and 170 ms long: a theme the catalog lacks."""
    t07 = CATALOG["T07"]
    notes = [dataclasses.replace(n, duration_s=d)
             for n, d in zip(t07.notes, (0.07, 0.29, 0.17), strict=True)]
    return dataclasses.replace(t07, name="X", notes=tuple(notes))


def scripted(model, probs, nearest, **kw):
    return Scripted(model, probs=probs, nearest=nearest, **kw)


def test_a_catalog_song_is_named_with_every_column_agreeing(model):
    m = scripted(model, {"T04": 0.9, "T02": 0.06, "T01": 0.04}, "T04", distance=0.2,
                 threshold=0.4)
    (ev,) = events(m, in_noise(CATALOG["T04"], seed=0, sr=model.fp.sr))
    assert (ev.theme, ev.unknown_by) == ("T04", "")
    assert ev.song_score == 1.0 and ev.theme_confidence == 0.9  # p(no_song) 0: given a song
    assert ev.top == (("T04", 0.9), ("T02", 0.06), ("T01", 0.04))  # the decision is first
    assert (ev.nearest, ev.distance, ev.threshold) == ("T04", 0.2, 0.4)
    assert ev.note_distance <= ev.note_threshold  # a T04 song has T04's notes


def test_the_networks_own_unknown_class_makes_the_call(model):
    m = scripted(model, {"unknown": 0.7, "T07": 0.2, "T05": 0.1}, "T07")
    (ev,) = events(m, in_noise(other_lengths(0), seed=0, sr=model.fp.sr))
    assert (ev.theme, ev.unknown_by) == (UNKNOWN, "network")
    assert ev.top[0] == ("T07", 0.2)  # the ranking names catalog themes only
    assert UNKNOWN not in [t for t, _ in ev.top]
    assert ev.theme_confidence == 0.7  # the confidence is its unknown class's
    assert np.isnan(ev.note_distance)  # the note check does not speak on an unknown
    # weaker evidence of an unknown theme than the model's own songs give: no event
    assert events(scripted(model, {"unknown": 0.7, "T07": 0.3}, "T07", unknown_min_p=0.8),
                  in_noise(other_lengths(0), seed=0, sr=model.fp.sr)) == []


def test_the_note_check_refuses_a_song_the_network_names(model):
    y = in_noise(other_lengths(1), seed=1, sr=model.fp.sr)
    m = scripted(model, {"T07": 0.9, "T06": 0.1}, "T07")
    (named,) = events(m, y)
    assert (named.theme, named.unknown_by) == ("T07", "")
    assert named.note_distance > 2.0  # T07's note shapes at other lengths
    m.note_check = dataclasses.replace(model.note_check, threshold=named.note_distance - 0.5)
    (ev,) = events(m, y)
    assert (ev.theme, ev.unknown_by) == (UNKNOWN, "note_check")
    assert ev.note_distance == named.note_distance > ev.note_threshold
    assert ev.top == named.top and ev.theme_confidence == named.theme_confidence
    assert ev.distance <= ev.threshold  # the embedding alone would have named it


def test_the_embedding_distance_refuses_a_song_beyond_its_threshold(model):
    y = in_noise(CATALOG["T07"], seed=1, sr=model.fp.sr)
    (named,) = events(scripted(model, {"T07": 1.0}, "T07", distance=0.3, threshold=0.6), y)
    assert (named.theme, named.nearest, named.unknown_by) == ("T07", "T07", "")
    (ev,) = events(scripted(model, {"T07": 1.0}, "T07", distance=0.3, threshold=0.15), y)
    assert (ev.theme, ev.unknown_by, ev.nearest) == (UNKNOWN, "distance", "T07")
    assert ev.distance > ev.threshold == 0.15
    assert np.isnan(ev.note_distance)  # not a named theme: the check does not speak
    # the network's own unknown keeps its reason even beyond the threshold
    (own,) = events(scripted(model, {"unknown": 0.9, "T07": 0.1}, "T07", distance=0.3,
                             threshold=0.15), y)
    assert own.unknown_by == "network"


def test_noise_alone_gives_no_song_and_filters_mean_what_they_say(model):
    rng = np.random.default_rng(7)
    noise = rng.normal(0, 0.01, 8 * model.fp.sr).astype(np.float32)
    m = scripted(model, {"T07": 0.6, "T03": 0.3, "T01": 0.1}, "T07")
    assert events(m, noise) == []
    y = in_noise(other_lengths(3), seed=3, sr=model.fp.sr)
    (ev,) = events(m, y)
    assert ev.theme == "T07" and ev.song_score == 1.0 and ev.theme_confidence == 0.6
    # a sure song with an unsure theme: presence and theme are filtered apart
    assert events(m, y, ClassifyParams(min_song_score=0.99)) == [ev]
    assert events(m, y, ClassifyParams(min_confidence=0.7)) == []
    subset = events(m, y, ClassifyParams(themes=("T01", "T04")))
    assert [(e.theme, e.top) for e in subset] == [("other", ev.top)]
