"""Theme catalog: the shipped themes, validation errors, contours, ``songnet themes``."""

from __future__ import annotations

import json

import numpy as np
import pytest
import yaml

from songnet.cli import main
from songnet.core.errors import SongnetError
from songnet.surrogates.themes import contour, load_catalog, load_theme
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


def test_default_catalog_follows_the_published_facts():
    themes = load_catalog()
    assert len(themes) == 11
    intervals = {t.trill.interval_s for t in themes}
    assert min(intervals) == pytest.approx(0.05) and max(intervals) == pytest.approx(0.2)
    for t in themes:
        assert 2 <= len(t.notes) <= 4, t.name
        lo, hi = t.pitch_range_hz
        assert 2500 <= lo and hi <= 8000, t.name
        assert 0.8 < t.duration_s < 2.5, t.name
    intros = {tuple((n.shape, n.pitch_hz, round(n.duration_s, 3)) for n in t.notes)
              for t in themes}
    assert len(intros) == 11  # every theme has its own introduction


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
    (lambda d: d.update(notes=[{**GOOD["notes"][0], "pitch_khz": [2.0]},
                               {**GOOD["notes"][1], "pitch_khz": [9.5, 9.0]}]),
     r"'pitch_khz' values span 2.00–9.50 kHz"),
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
