"""Foreign themes (the `unknown` class): the theme distance, random and near-miss themes."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from songnet.core.errors import SongnetError
from songnet.core.labels import UNKNOWN, class_names, theme_classes
from songnet.resynth.variants import drift_variant
from songnet.surrogates.foreign import (
    MAX_SONG_S,
    foreign_themes,
    mutate_theme,
    random_theme,
    theme_distance,
)
from songnet.surrogates.themes import load_catalog

CATALOG = load_catalog()


def drifted(theme, rng, spread=None):
    """The theme as drift_variant changes it (notes, transposition, tempo, trill rate)."""
    return drift_variant(theme, rng=rng, spread=spread).applied_to(theme)


def test_distance_is_zero_for_a_theme_symmetric_and_small_for_realistic_drift():
    rng = np.random.default_rng(0)
    steady = {"duration": 0.0, "pitch": 0.0}  # the note-level change alone
    jittered = []
    for theme in CATALOG:
        assert theme_distance(theme, theme) == pytest.approx(0.0)
        for _ in range(4):
            v = drifted(theme, rng, spread=steady)
            assert theme_distance(v, theme) < 2.5, theme.name  # a note, maybe the trill
            assert theme_distance(v, theme) == pytest.approx(theme_distance(theme, v))
            jittered.append(theme_distance(drifted(theme, rng), theme))
    # with a real bird's note-to-note spread on top, half stay nearer than the foreign
    # themes (2 and beyond): the validate stage's drift is harder than the network's margin
    assert 1.0 < np.median(jittered) < 2.0


def test_an_added_note_counts_one_and_another_trill_counts_one_more():
    t = CATALOG[3]  # T04: three whistles and a downsweep
    shorter = dataclasses.replace(t, notes=t.notes[1:])
    assert theme_distance(t, shorter) == pytest.approx(1.0)
    other = dataclasses.replace(shorter, trill=dataclasses.replace(
        t.trill, interval_s=t.trill.interval_s * 1.8))
    assert theme_distance(t, other) == pytest.approx(2.0)


def test_foreign_themes_keep_their_distance_and_length():
    rng = np.random.default_rng(1)
    got = foreign_themes(CATALOG, 40, rng=rng, min_distance=2.0, near=0.5)
    assert len(got) == 40
    origins = {o for _, o in got}
    assert "" in origins and origins - {""} <= {t.name for t in CATALOG}
    for theme, _ in got:
        assert theme.name == UNKNOWN and theme.duration_s <= MAX_SONG_S
        assert min(theme_distance(theme, c) for c in CATALOG) >= 2.0
        assert 1 <= len(theme.notes) <= 6


def test_near_misses_stay_near_their_theme_and_random_themes_vary():
    rng = np.random.default_rng(2)
    base = CATALOG[0]
    d = [theme_distance(mutate_theme(base, rng, edits=2), base) for _ in range(30)]
    assert np.median(d) <= 3.0 and max(d) <= 4.0 + 1e-9  # two edits, at most 2 units each
    shapes = {n.shape for _ in range(30)
              for n in random_theme(rng, trill=base.trill).notes}
    assert shapes == {"whistle", "sweep", "slur", "chevron"}


def test_a_catalog_with_no_room_says_what_to_lower():
    with pytest.raises(SongnetError, match="unknown_distance"):
        foreign_themes(CATALOG, 5, rng=np.random.default_rng(0), min_distance=40.0)


def test_unknown_is_a_class_before_no_song_and_never_a_theme():
    assert class_names(["T02", "unknown", "T01"]) == ["T01", "T02", "unknown", "no_song"]
    assert class_names(["T02", "T01"]) == ["T01", "T02", "no_song"]
    assert theme_classes(["T01", "T02", "unknown", "no_song"]) == ["T01", "T02"]


def test_a_catalog_theme_named_unknown_is_refused(tmp_path):
    src = CATALOG[0].source
    text = open(src, encoding="utf-8").read().replace("name: T01", "name: unknown")
    (tmp_path / "unknown.yaml").write_text(text, encoding="utf-8")
    dialect = CATALOG[0].source.replace("T01.yaml", "dialect.yaml")
    (tmp_path / "dialect.yaml").write_text(open(dialect, encoding="utf-8").read(),
                                           encoding="utf-8")
    with pytest.raises(SongnetError, match="reserved"):
        load_catalog(tmp_path)


def test_own_trill_share_gives_foreign_themes_another_dialects_trill():
    """``synthesize.unknown_own_trill`` (0 by default: an unknown theme of this place has
    the locality's trill): at 1 every grammar-drawn foreign theme has another trill, at 0
    none has."""
    for share, other in ((0.0, 0), (1.0, 12)):
        got = foreign_themes(CATALOG, 12, rng=np.random.default_rng(3), near=0.0,
                             own_trill=share)
        assert sum(theme.trill != CATALOG[0].trill for theme, _ in got) == other
