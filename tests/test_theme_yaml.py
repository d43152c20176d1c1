"""Themes written in the catalog format load back to the same themes."""

from __future__ import annotations

import dataclasses

import pytest
import yaml

from songnet.core.errors import SongnetError
from songnet.surrogates.theme_yaml import format_dialect, format_theme, save_dialect, save_theme
from songnet.surrogates.themes import Spread, load_catalog, theme_from_mapping


def test_every_default_theme_round_trips_alone_and_with_its_dialect(tmp_path):
    themes = load_catalog()
    dialect = themes[0].trill
    save_dialect(tmp_path / "dialect.yaml", dialect, name="Pereyra", description="a: b # c")
    for t in themes:
        alone = theme_from_mapping(yaml.safe_load(format_theme(t)), source=t.source)
        assert alone == t
        save_theme(tmp_path / f"{t.name}.yaml", t, dialect=dialect, header="learned\nhere")
        text = (tmp_path / f"{t.name}.yaml").read_text()
        assert text.startswith("# learned\n# here\n") and "trill:" not in text
    again = load_catalog(tmp_path)
    assert [dataclasses.replace(t, source="") for t in again] == \
        [dataclasses.replace(t, source="") for t in themes]


def test_a_trill_differing_from_the_dialect_writes_only_its_own_keys():
    t = load_catalog()[0]
    own = dataclasses.replace(t, trill=dataclasses.replace(t.trill, interval_s=0.09,
                                                           peak_at=None, jitter=0.0))
    text = format_theme(own, dialect=t.trill)
    block = yaml.safe_load(text)["trill"]
    assert block == {"interval_ms": 90, "peak_at": None, "jitter": 0}
    merged = theme_from_mapping(yaml.safe_load(text),
                                dialect={"trill": yaml.safe_load(format_dialect(
                                    t.trill, name="x"))["trill"]})
    assert merged.trill == own.trill


def test_spread_is_written_and_checked():
    t = dataclasses.replace(load_catalog()[0], spread=Spread(pitch=0.021, tempo=0.04, songs=5))
    data = yaml.safe_load(format_theme(t))
    assert data["spread"] == {"pitch": 0.021, "tempo": 0.04, "songs": 5}
    assert theme_from_mapping(data).spread == t.spread
    data["spread"]["pitch"] = 0.5
    with pytest.raises(SongnetError, match=r"spread.pitch'=0.5 must lie in \[0, 0.2\]"):
        theme_from_mapping(data)
