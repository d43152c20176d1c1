"""The note check: introductions measured on Constant-Q frames, and how far they lie from a
theme's (songnet.song.notecheck)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from songnet.core.audio import resample
from songnet.core.errors import SongnetError
from songnet.core.quantiles import median, percentile
from songnet.features import npcqt
from songnet.features.params import FeatureParams
from songnet.song.distance import intro_distance
from songnet.song.notecheck import NoteCheck, measure_vectors
from songnet.song.track import db_track, peaks_track, power_peaks
from songnet.surrogates.birds import sing
from songnet.surrogates.foreign import theme_distance
from songnet.surrogates.themes import load_catalog
from songnet.synth import SR

FP = FeatureParams()
FRAME_S = FP.hop_length / FP.sr
CATALOG = {t.name: t for t in load_catalog()}


def measured(theme, *, seed: int, noise_db: float | None = None) -> np.ndarray | None:
    """A model song of ``theme``, with 0.5 s of silence (or noise) around it, measured on
    its CQT as classify measures it."""
    rng = np.random.default_rng(seed)
    y = np.concatenate([np.zeros(SR // 2), sing(theme, rng=rng), np.zeros(SR // 2)])
    if noise_db is not None:
        y = y + rng.normal(0, np.sqrt(np.mean(y ** 2)) * 10 ** (-noise_db / 20), y.size)
    power = npcqt.cqt_power(resample(y.astype(np.float32), orig_sr=SR, sr=FP.sr), params=FP)
    f0, peak, median = power_peaks(power, FP.frequencies)
    return measure_vectors(peaks_track(f0, peak, median, FRAME_S))


def test_intro_distance_is_theme_distance_without_the_trill():
    a, b = CATALOG["T04"], CATALOG["T07"]
    assert intro_distance(a.note_vectors(), a.note_vectors()) == 0.0
    same_trill = dataclasses.replace(a, trill=b.trill)
    assert intro_distance(a.note_vectors(), b.note_vectors()) == pytest.approx(
        theme_distance(same_trill, b))
    one_more = np.concatenate([a.note_vectors(), a.note_vectors()[-1:]])
    assert intro_distance(one_more, a.note_vectors()) == pytest.approx(1.0)


@pytest.mark.parametrize("name", ["T01", "T04", "T07", "T09", "T11"])
def test_a_model_song_measures_close_to_its_own_theme(name):
    theme = CATALOG[name]
    for seed in (0, 1):
        v = measured(theme, seed=seed, noise_db=20.0)
        assert v is not None and len(v) == len(theme.notes)
        assert intro_distance(v, theme.note_vectors()) < 1.3


def test_a_theme_with_other_note_lengths_measures_far_from_it():
    """T07's three 170-ms downsweeps sung 70, 290 and 170 ms long: the network hears T07's
    note shapes; the note check hears another theme."""
    t07 = CATALOG["T07"]
    notes = [dataclasses.replace(n, duration_s=d)
             for n, d in zip(t07.notes, (0.07, 0.29, 0.17), strict=True)]
    other = dataclasses.replace(t07, name="X", notes=tuple(notes))
    v = measured(other, seed=3, noise_db=20.0)
    assert v is not None and len(v) == 3
    assert intro_distance(v, t07.note_vectors()) > 2.0
    assert intro_distance(v, other.note_vectors()) < 1.0


def test_no_song_or_a_lone_tone_is_not_measured():
    silence = np.full((3, 400), -120.0, dtype=np.float32)
    assert measure_vectors(peaks_track(*silence, FRAME_S)) is None
    db = np.full((FP.n_bins, 400), -90.0, dtype=np.float32)
    db[50, 100:200] = -20.0  # a whistle without a trill after it
    assert measure_vectors(db_track(db, FP.frequencies, FRAME_S)) is None


def test_the_check_speaks_only_for_its_themes_and_their_number_of_notes():
    templates = {n: t.note_vectors() for n, t in CATALOG.items()}
    songs = [(n, t.note_vectors() + 0.01 * k) for k in range(3) for n, t in CATALOG.items()]
    check = NoteCheck.fit(templates, songs, quantile=1.0)
    assert check.n_songs == 33 and 0 < check.threshold < 1.0
    assert np.isnan(check.distance("T04", CATALOG["T01"].note_vectors()))  # 2 notes, not 4
    assert np.isnan(check.distance("T99", CATALOG["T01"].note_vectors()))
    assert np.isnan(check.distance("T01", None))
    assert check.distance("T01", CATALOG["T01"].note_vectors()) == 0.0
    again = NoteCheck.from_dict(check.to_dict())
    assert again.threshold == check.threshold and set(again.templates) == set(templates)
    with pytest.raises(SongnetError, match="at least 20"):
        NoteCheck.fit(templates, songs[:5])
    with pytest.raises(SongnetError, match="damaged"):
        NoteCheck.from_dict({"templates": {}})


def test_quantiles_without_numpy_ma_match_numpy():
    rng = np.random.default_rng(0)
    for n in (1, 2, 3, 10, 11):
        x = rng.normal(size=(n, 5))
        np.testing.assert_array_equal(median(x, axis=0), np.median(x, axis=0))
        for q in (0, 2, 50, 90, 98, 100):
            np.testing.assert_array_equal(percentile(x, q, axis=0),
                                          np.percentile(x, q, axis=0))


def test_train_learns_the_note_check_from_catalog_songs_and_only_for_the_cqt():
    """`fit_note_check` on images made as the features stage makes them: a threshold from
    the songs of the catalog's themes (never from `unknown` clips), None for another front
    end or too few songs."""
    from songnet.core.params import params_to_dict
    from songnet.features.featureset import FeatureSplit
    from songnet.features.images import images
    from songnet.features.npcqt import fit_window
    from songnet.model.calibrate import fit_note_check
    from songnet.model.train_params import TrainParams

    classes = ["T01", "T04", "T09", "unknown", "no_song"]
    rng = np.random.default_rng(2)
    clips, labels = [], []
    for k in range(30):
        theme = CATALOG[classes[k % 3]]
        y = resample(np.concatenate([np.zeros(SR // 4), sing(theme, rng=rng)]).astype(np.float32),
                     orig_sr=SR, sr=FP.sr)
        clips.append(fit_window(y + rng.normal(0, 0.002, y.size).astype(np.float32), params=FP))
        labels.append(k % 3)
    split = FeatureSplit(images(np.stack(clips), params=FP, device="cpu").astype(np.float16),
                         np.array(labels, dtype=np.int64), "val")
    templates = {n: t.note_vectors() for n, t in CATALOG.items()}
    fitted = fit_note_check([split], classes=classes, feature_params=params_to_dict(FP),
                            templates=templates, params=TrainParams())
    assert fitted is not None and fitted["n_songs"] >= 20
    assert set(fitted["templates"]) == {"T01", "T04", "T09"}
    assert 0 < fitted["threshold"] < 2.0  # clean model songs lie close to their themes
    stft = params_to_dict(dataclasses.replace(FP, frontend="stft"))
    assert fit_note_check([split], classes=classes, feature_params=stft, templates=templates,
                          params=TrainParams()) is None
    few = FeatureSplit(split.images[:6], split.labels[:6], "val")
    assert fit_note_check([few], classes=classes, feature_params=params_to_dict(FP),
                          templates=templates, params=TrainParams()) is None
