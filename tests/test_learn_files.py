"""``songnet themes learn`` and the themes stage: recordings → theme files, theme folders →
a catalog with its dialect and report; bad inputs give the named errors."""

from __future__ import annotations

import filecmp

import numpy as np
import soundfile as sf
import yaml
from learn_songs import write_theme_folder

from songnet.cli import main
from songnet.surrogates.themes import DEFAULT_CATALOG, load_catalog, load_theme
from songnet.synth import SR

CATALOG = {t.name: t for t in load_catalog()}


def test_learn_one_theme_from_stereo_recordings_at_another_rate(tmp_path, capsys):
    paths = write_theme_folder(tmp_path / "in", CATALOG["T04"], n_songs=2, seed=3,
                               sr=32000, stereo=True)
    out = tmp_path / "T04x.yaml"
    assert main(["themes", "learn", *map(str, paths), "-o", str(out), "-q"]) == 0
    theme = load_theme(out)
    assert theme.name == "T04x" and len(theme.notes) == 4
    assert [n.shape for n in theme.notes][:3] == ["whistle"] * 3
    assert theme.spread is not None and theme.spread.songs == 2
    assert abs(theme.trill.interval_s / CATALOG["T04"].trill.interval_s - 1) < 0.1
    wav = tmp_path / "sung.wav"
    assert main(["sing", str(out), "-o", str(wav), "-q"]) == 0
    assert sf.info(wav).duration > 1.0


def test_learn_a_catalog_from_theme_folders_with_dialect_and_report(tmp_path):
    folder = tmp_path / "2020"
    for k, name in enumerate(("T01", "T09")):
        write_theme_folder(folder, CATALOG[name], n_songs=2, seed=k)
    out = tmp_path / "catalog"
    assert main(["themes", "learn", str(folder), "-o", str(out), "-q"]) == 0
    assert sorted(p.name for p in out.iterdir()) == [
        "T01.yaml", "T09.yaml", "dialect.yaml", "learn_report.csv", "learn_report.png"]
    assert "trill" not in yaml.safe_load((out / "T01.yaml").read_text())
    themes = load_catalog(out)
    assert [t.name for t in themes] == ["T01", "T09"]
    assert themes[0].trill == themes[1].trill
    rows = (out / "learn_report.csv").read_text().splitlines()
    assert rows[0] == ("theme,file,song_start_s,song_end_s,status,note,pitch_error_cents,"
                       "timing_error_ms,reason")
    assert len(rows) == 1 + 2 * 3 + 2 * 2  # T01: 2 notes + trill, T09: 1 note + trill
    assert all(",used," in r for r in rows[1:])


def test_the_themes_stage_copies_the_default_catalog_without_theme_folders(tmp_path):
    empty = tmp_path / "2020"
    empty.mkdir()
    (empty / "README.md").write_text("nothing yet")
    out = tmp_path / "catalog"
    assert main(["themes", "--recordings", str(empty), "-o", str(out),
                 "--format", "json", "-q"]) == 0
    same, diff, errors = filecmp.cmpfiles(DEFAULT_CATALOG, out, [
        p.name for p in DEFAULT_CATALOG.glob("*.yaml")], shallow=False)
    assert len(same) == 12 and not diff and not errors


def test_a_recording_without_a_song_is_an_error_naming_the_file_and_span(tmp_path, capsys):
    path = tmp_path / "wind.wav"
    rng = np.random.default_rng(0)
    sf.write(path, (0.1 * rng.standard_normal(2 * SR)).astype(np.float32), SR)
    assert main(["themes", "learn", str(path), "-o", str(tmp_path / "x.yaml"),
                 "--start", "0.5", "--end", "1.5", "-q"]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: {path}: no song found between 0.50 and 1.50 s; ")


def test_a_song_cut_at_the_edge_is_named(tmp_path, capsys):
    paths = write_theme_folder(tmp_path, CATALOG["T06"], n_songs=1, seed=0)
    y, sr = sf.read(paths[0])
    cut = tmp_path / "cut.wav"
    sf.write(cut, y[round(1.2 * sr):], sr)  # starts inside the song
    assert main(["themes", "learn", str(cut), "-o", str(tmp_path / "x.yaml"), "-q"]) == 2
    err = capsys.readouterr().err
    assert "no song found between 0.00 and" in err
    assert "song cut at the edge (0.00 s, before its first note)" in err


def test_bad_outputs_and_options_are_refused(tmp_path, capsys):
    paths = write_theme_folder(tmp_path / "in", CATALOG["T06"], n_songs=1, seed=0)
    assert main(["themes", "learn", str(paths[0]), "-o", str(tmp_path / "x.txt"), "-q"]) == 2
    assert "name it THEME.yaml" in capsys.readouterr().err
    assert main(["themes", "learn", str(tmp_path / "in"), "--name", "A", "-o",
                 str(tmp_path / "c"), "-q"]) == 2
    assert "--start, --end and --name apply to recordings" in capsys.readouterr().err
    assert main(["themes", "--recordings", str(tmp_path / "in"), "-q"]) == 2
    assert "--recordings needs -o/--out" in capsys.readouterr().err
