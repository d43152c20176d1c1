"""What each of classify's columns means, on known-answer inputs through the shipped model.

Songs the syrinx model sings (so these check the columns' meaning and the plumbing, not
how songnet does on real birds): a catalog theme is named with ``unknown_by`` empty; a
theme the network was not taught, with T07's note shapes at other lengths, is the network's
own ``unknown``, or, where the network names T07, refused by the note check once its
threshold lies below the song's note distance; the same song is refused by the embedding
distance once its theme's threshold lies below its distance; noise gives no events.
The thresholds are set here from the song's own figures, so each call is known in advance.
"""

from __future__ import annotations

import copy
import dataclasses

import numpy as np
import pytest

from songnet.classify.backends import open_model
from songnet.classify.params import ClassifyParams
from songnet.classify.windows import classify_blocks
from songnet.core import audio
from songnet.core.audio import resample
from songnet.core.labels import UNKNOWN
from songnet.surrogates.synthesize import sing
from songnet.surrogates.themes import load_catalog
from songnet.synth import SR

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


def test_a_catalog_song_is_named_with_every_column_agreeing(model):
    (ev,) = events(model, in_noise(CATALOG["T04"], seed=0, sr=model.fp.sr))
    assert (ev.theme, ev.unknown_by) == ("T04", "")
    assert ev.song_score >= 0.99  # a clear song
    assert ev.top[0] == ("T04", ev.theme_confidence)  # the decision is the network's first
    assert UNKNOWN not in [t for t, _ in ev.top] and len(ev.top) == 3
    assert sum(p for _, p in ev.top) <= 1.0 + 1e-3  # probabilities given a song
    assert ev.nearest == "T04" and ev.distance <= ev.threshold
    assert ev.note_distance <= ev.note_threshold


def test_the_networks_own_unknown_class_makes_the_call(model):
    (ev,) = events(model, in_noise(other_lengths(0), seed=0, sr=model.fp.sr))
    assert (ev.theme, ev.unknown_by) == (UNKNOWN, "network")
    assert ev.top[0][0] == "T07"  # the ranking names the catalog theme it is nearest to
    assert ev.theme_confidence > ev.top[0][1]  # the confidence is its unknown class's
    assert np.isnan(ev.note_distance)  # the note check does not speak on an unknown


def test_the_note_check_refuses_a_song_the_network_names(model):
    y = in_noise(other_lengths(1), seed=1, sr=model.fp.sr)
    (named,) = events(model, y)
    assert (named.theme, named.unknown_by) == ("T07", "")
    assert named.note_distance > 2.0  # T07's note shapes at other lengths
    strict = copy.copy(model)
    strict.note_check = dataclasses.replace(model.note_check,
                                            threshold=named.note_distance - 0.5)
    (ev,) = events(strict, y)
    assert (ev.theme, ev.unknown_by) == (UNKNOWN, "note_check")
    assert ev.note_distance == named.note_distance > ev.note_threshold
    assert ev.top == named.top and ev.theme_confidence == named.theme_confidence
    assert ev.distance <= ev.threshold  # the embedding alone would have named it


def test_the_embedding_distance_refuses_a_song_beyond_its_threshold(model):
    y = in_noise(CATALOG["T07"], seed=1, sr=model.fp.sr)
    (named,) = events(model, y)
    assert (named.theme, named.nearest, named.unknown_by) == ("T07", "T07", "")
    strict = copy.copy(model)
    strict.open_set = copy.deepcopy(model.open_set)
    k = list(strict.open_set.themes_).index("T07")
    strict.open_set.thresholds_[k] = named.distance / 2
    (ev,) = events(strict, y)
    assert (ev.theme, ev.unknown_by, ev.nearest) == (UNKNOWN, "distance", "T07")
    assert ev.distance > ev.threshold == pytest.approx(named.distance / 2, abs=1e-4)
    assert np.isnan(ev.note_distance)  # not a named theme: the check does not speak


def test_noise_alone_gives_no_song_and_filters_mean_what_they_say(model):
    rng = np.random.default_rng(7)
    noise = rng.normal(0, 0.01, 8 * model.fp.sr).astype(np.float32)
    assert events(model, noise) == []
    y = in_noise(other_lengths(3), seed=3, sr=model.fp.sr)
    (ev,) = events(model, y)
    assert ev.theme == "T07" and ev.song_score > 0.99 and ev.theme_confidence < 0.7
    # a sure song with an unsure theme: presence and theme are filtered apart
    assert events(model, y, ClassifyParams(min_song_score=0.99)) == [ev]
    assert events(model, y, ClassifyParams(min_confidence=0.7)) == []
    subset = events(model, y, ClassifyParams(themes=("T01", "T04")))
    assert [(e.theme, e.top) for e in subset] == [("other", ev.top)]
