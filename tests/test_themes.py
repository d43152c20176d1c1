"""Theme catalog: the shipped themes, the dialect trill, validation errors, contours,
``songnet themes``."""

from __future__ import annotations

import json

import numpy as np
import pytest
import yaml

from songnet.cli import main
from songnet.core.errors import SongnetError
from songnet.surrogates.birds import sing
from songnet.surrogates.realism import measure
from songnet.surrogates.themes import DEFAULT_CATALOG, contour, load_catalog, load_theme
from songnet.synth import SR, gestures_from_contour, render_gesture

GOOD = {
    "name": "X1",
    "description": "test theme",
    "notes": [{"shape": "whistle", "pitch_khz": [4.5], "duration_ms": 150, "gap_ms": 50},
              {"shape": "sweep", "pitch_khz": [5.0, 3.6], "duration_ms": 300, "gap_ms": 60}],
    "trill": {"shape": "sweep", "pitch_khz": [6.0, 4.0], "note_ms": 20, "interval_ms": 80,
              "count": 8},
}


def _write(tmp_path, data, name="x1.yaml"):
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data))
    return path


DIALECT = {"name": "D", "trill": {"shape": "sweep", "pitch_khz": [6.6, 3.8], "note_ms": 40,
                                  "interval_ms": 70, "count": 12, "peak_at": 0.7,
                                  "loudness": [0.6, 1.0, 0.7],
                                  "drift": {"pitch": -0.03, "interval": 0.08}, "jitter": 0.01}}


def test_default_catalog_is_one_locality():
    themes = load_catalog()
    assert [t.name for t in themes] == [f"T{i:02d}" for i in range(1, 12)]
    assert len({t.trill for t in themes}) == 1  # the shared dialect trill
    trill = themes[0].trill
    assert trill.pitch_hz[0] > trill.pitch_hz[-1] and trill.peak_at is not None
    for t in themes:
        assert 1 <= len(t.notes) <= 4, t.name
        lo, hi = t.pitch_range_hz
        assert 2900 <= lo and hi <= 7500, t.name
        assert 1.5 <= t.duration_s <= 2.5, t.name
    intros = {tuple((n.shape, n.pitch_hz, round(n.duration_s, 3)) for n in t.notes)
              for t in themes}
    assert len(intros) == 11  # every theme has its own introduction


@pytest.mark.parametrize("index", range(11))
def test_default_songs_measure_like_real_ones(index):
    """Trill syllables: 25-50 ms downsweeps from about 6 to about 3.8 kHz; 1.5-2.5 s songs."""
    theme = load_catalog()[index]
    m = measure(sing(theme, rng=np.random.default_rng([0, index])), sr=SR)
    assert 1.5 <= m.song_s <= 2.5
    assert len(m.trill) >= 12
    for syl in m.trill[1:-1]:
        assert 25 <= syl.duration_ms <= 50
        assert 5400 <= syl.f_start_hz <= 6800 and 3300 <= syl.f_end_hz <= 4100
        assert syl.f_start_hz / syl.f_end_hz > 1.4
    assert len(m.intro) == len(theme.notes)
    assert -51 <= m.h2_db <= -44


def test_themes_inherit_and_override_the_dialect(tmp_path):
    (tmp_path / "dialect.yaml").write_text(yaml.safe_dump(DIALECT))
    plain = {k: v for k, v in GOOD.items() if k != "trill"}
    _write(tmp_path, plain, "a.yaml")
    _write(tmp_path, {**plain, "name": "X2", "trill": {"interval_ms": 90, "count": 10}},
           "b.yaml")
    a, b = load_catalog(tmp_path)
    assert a.trill.pitch_hz == (6600.0, 3800.0) and a.trill.interval_s == pytest.approx(0.07)
    assert a.trill.drift_interval == pytest.approx(0.08) and a.trill.count == 12
    assert b.trill.interval_s == pytest.approx(0.09) and b.trill.count == 10
    assert b.trill.pitch_hz == a.trill.pitch_hz and b.trill.peak_at == 0.7
    assert load_theme(tmp_path / "a.yaml").trill == a.trill  # dialect found beside the file


def test_old_format_theme_files_still_load(tmp_path):
    theme = load_theme(_write(tmp_path, GOOD))  # own complete trill, no dialect
    assert theme.trill.peak_at is None and theme.trill.loudness == (1.0, 1.0, 1.0)
    _, _, amp = contour(theme)
    trill = amp[round((0.05 + 0.15 + 0.05 + 0.3 + 0.06) * SR):]
    assert set(np.unique(trill)) <= {0.0, 1.0}  # flat syllables, as before dialects


def test_a_theme_without_trill_needs_a_dialect(tmp_path):
    path = _write(tmp_path, {k: v for k, v in GOOD.items() if k != "trill"})
    with pytest.raises(SongnetError, match=r"'trill' is missing, and there is no dialect"):
        load_theme(path)
    bad = json.loads(json.dumps(DIALECT))
    bad["trill"]["warble"] = 3
    (tmp_path / "dialect.yaml").write_text(yaml.safe_dump(bad))
    with pytest.raises(SongnetError, match=r"dialect.yaml: field 'trill.warble' is not a trill"):
        load_catalog(tmp_path)


def test_shipped_catalog_folder_holds_the_dialect():
    assert (DEFAULT_CATALOG / "dialect.yaml").is_file()


def test_good_file_loads(tmp_path):
    theme = load_theme(_write(tmp_path, GOOD))
    assert theme.name == "X1" and theme.notes[1].pitch_hz == (5000.0, 3600.0)
    assert theme.duration_s == pytest.approx(0.15 + 0.05 + 0.3 + 0.06 + 7 * 0.08 + 0.02)


@pytest.mark.parametrize(("edit", "message"), [
    (lambda d: d["notes"][1].pop("duration_ms"), r"field 'notes\[1\].duration_ms' is missing"),
    (lambda d: d["notes"][0].update(duration_ms=-5), r"'notes\[0\].duration_ms'=-5 must be pos"),
    (lambda d: d["notes"][0].update(pitch_khz=[14.0]), r"'notes\[0\].pitch_khz'=14 kHz cannot "
                                                       r"be reached"),
    (lambda d: d["trill"].pop("interval_ms"), r"'trill.interval_ms' is missing"),
    (lambda d: d["trill"].update(note_ms=90), r"'trill.note_ms'=90 must be shorter"),
    (lambda d: d["notes"][0].update(shape="trumpet"), r"'notes\[0\].shape'='trumpet'"),
    (lambda d: d["notes"][1].update(pitch_khz=[9.5, 2.5]),
     r"'notes\[1\].pitch_khz'=\[9.5, 2.5\] spans a pitch ratio of 3.80"),
    (lambda d: d["trill"].update(pitch_khz=[8.0, 3.5]),
     r"'trill.pitch_khz' values span 3.50–8.00 kHz: a trill syllable must fit one gamma"),
    (lambda d: d["trill"].update(loudness=[0.5, 2.0, 0.5]), r"'trill.loudness'=.* must be"),
    (lambda d: d["trill"].update(drift={"pitch": 0.5}), r"'trill.drift'=.* must be"),
    (lambda d: d.pop("name"), r"field 'name' is missing"),
])
def test_bad_files_give_named_errors(tmp_path, edit, message):
    data = json.loads(json.dumps(GOOD))
    edit(data)
    path = _write(tmp_path, data)
    with pytest.raises(SongnetError, match=message) as info:
        load_theme(path)
    assert str(path) in str(info.value)


def test_catalog_errors(tmp_path):
    with pytest.raises(SongnetError, match="not found"):
        load_catalog(tmp_path / "nope")
    with pytest.raises(SongnetError, match=r"no \*\.yaml"):
        load_catalog(tmp_path)
    _write(tmp_path, GOOD, "a.yaml")
    _write(tmp_path, GOOD, "b.yaml")
    with pytest.raises(SongnetError, match="used by more than one file"):
        load_catalog(tmp_path)
    (tmp_path / "c.yaml").write_text("name: [unclosed")
    with pytest.raises(SongnetError, match=r"c\.yaml: not a valid YAML"):
        load_theme(tmp_path / "c.yaml")


def test_trill_interval_measured_from_the_envelope():
    theme = load_theme_from(GOOD, interval_ms=120, count=10)
    t, f0, amp = contour(theme)
    y = render_gesture(gestures_from_contour(t, f0, amp))
    trill_start = round((0.05 + 0.15 + 0.05 + 0.3 + 0.06) * SR)
    env = np.abs(y[trill_start:])
    hop = SR // 1000
    frames = env[: env.size // hop * hop].reshape(-1, hop).max(axis=1)  # 1 ms envelope
    frames = frames - frames.mean()
    acf = np.correlate(frames, frames, mode="full")[frames.size - 1:]
    lag = 40 + int(np.argmax(acf[40:300]))
    assert lag / 1000 == pytest.approx(0.12, rel=0.05)


def load_theme_from(data, **trill):
    from songnet.surrogates.themes import theme_from_mapping

    d = json.loads(json.dumps(data))
    d["trill"].update(trill)
    return theme_from_mapping(d)


def test_contour_variations():
    theme = load_theme_from(GOOD)
    t, f0, amp = contour(theme)
    t2, f2, _ = contour(theme, pitch=1.1, tempo=2.0)
    assert np.nanmax(f2) == pytest.approx(1.1 * np.nanmax(f0), rel=1e-3)
    assert t2[-1] - 0.1 == pytest.approx((t[-1] - 0.1) / 2, rel=0.01)
    assert np.all(np.isnan(f0[amp == 0]))


def test_themes_command_lists_table_and_json(capsys, tmp_path):
    assert main(["themes", "--format", "json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["name"] for r in rows] == [f"T{i:02d}" for i in range(1, 12)]
    assert main(["themes", "--csv", str(tmp_path / "t.csv")]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0].startswith("name") and "T11" in out
    assert (tmp_path / "t.csv").read_text().count("\n") == 12


def test_themes_command_reports_a_bad_catalog(capsys, tmp_path):
    data = json.loads(json.dumps(GOOD))
    data["notes"][0]["duration_ms"] = -1
    _write(tmp_path, data)
    assert main(["themes", "--catalog", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "x1.yaml" in err and "duration_ms" in err
