"""benchmarks/note_persistence.py: the persistence question asked of the notes alone."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import benchmark

ROWS = [  # own theme T01; its distances to T01 and T02
    {"theme": "T01", "half": "choose", "distances": {"T01": 0.5, "T02": 2.5}},
    {"theme": "T01", "half": "choose", "distances": {"T01": 1.5, "T02": 1.2}},
    {"theme": "T02", "half": "report", "distances": {"T01": 3.0, "T02": 0.4}},
    {"theme": "T02", "half": "report", "distances": None},  # not read: left out
]


def test_rates_ask_each_variant_both_questions():
    bench = benchmark("note_persistence")
    # at 1.0: variant 1 persists (0.5) and is lost without T01 (2.5 > 1); variant 2 is
    # neither (1.5 > 1 from its own theme, 1.2 > 1 from the other: lost)
    assert bench.rates(ROWS, 1.0, "choose") == pytest.approx((1.0, 0.5))
    assert bench.rates(ROWS, 2.0, "choose") == pytest.approx((0.5, 1.0))
    assert bench.rates(ROWS, 1.0, "report") == pytest.approx((1.0, 1.0))


def test_a_variant_nearer_another_theme_is_not_separable():
    assert benchmark("note_persistence").separable(ROWS) == pytest.approx(2 / 3)


def test_drifted_variants_are_read_and_measured_against_every_template():
    from songnet.model.checkpoint import default_model_path, load_checkpoint
    from songnet.song.notecheck import NoteCheck
    from songnet.surrogates.themes import load_catalog

    check = NoteCheck.from_meta(load_checkpoint(default_model_path()).meta)
    themes = [t for t in load_catalog() if t.name in ("T02", "T05")]
    templates = {t.name: check.templates[t.name] for t in themes}
    rows = benchmark("note_persistence").variant_distances(themes, templates, n=2, seed=3)
    assert [r["theme"] for r in rows] == ["T02", "T02", "T05", "T05"]
    assert [r["half"] for r in rows] == ["choose", "report"] * 2
    for r in rows:
        assert set(r["distances"]) == {"T02", "T05"}
        assert all(np.isfinite(v) and v >= 0 for v in r["distances"].values())
