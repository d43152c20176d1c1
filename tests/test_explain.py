"""Class activation maps (songnet.model.cam) and `songnet explain` (songnet.classify.explain),
on the shipped model and songs of the default catalog."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf

from songnet.classify.explain import explain_sound, note_runs, song_parts
from songnet.cli import main
from songnet.core import audio
from songnet.core.errors import SongnetError
from songnet.model.cam import grad_cam
from songnet.model.checkpoint import load_checkpoint
from songnet.surrogates.synthesize import sing
from songnet.surrogates.themes import load_catalog
from songnet.synth import SR

SCENE = ("T04", "T01", "T09")  # 4, 2 and 1 introductory notes, then the dialect's trill


@pytest.fixture(scope="module")
def shipped():
    return load_checkpoint(None)


@pytest.fixture(scope="module")
def scene():
    """Three catalog songs 1.5 s apart in faint noise, at 22 050 Hz; and their onsets, s."""
    themes = {t.name: t for t in load_catalog()}
    rng = np.random.default_rng(1)
    gap = np.zeros(int(1.5 * 22050), dtype=np.float32)
    parts, onsets, t = [], [], 0.0
    for name in SCENE:
        y = audio.resample(sing(themes[name], rng=rng), orig_sr=SR, sr=22050)
        parts += [gap, 0.3 * y]
        onsets.append(t + 1.5)
        t += 1.5 + y.size / 22050
    y = np.concatenate([*parts, gap])
    return y + 0.003 * rng.standard_normal(y.size).astype(np.float32), onsets


def test_grad_cam_shapes_range_and_bad_arguments(shipped):
    fp = shipped.features()
    rng = np.random.default_rng(0)
    img = rng.random((2, fp.n_bins, fp.n_frames)).astype(np.float32)
    for method in ("hirescam", "gradcam"):
        out = grad_cam(shipped.model, img, [0, 1], method=method)
        assert out.shape == img.shape and np.all((out >= 0) & (out <= 1))
    with pytest.raises(SongnetError, match="method='nope'"):
        grad_cam(shipped.model, img, [0, 1], method="nope")
    with pytest.raises(SongnetError, match="1 classes for 2 images"):
        grad_cam(shipped.model, img, [0])
    with pytest.raises(SongnetError, match=r"shape \(B, n_bins, n_frames\)"):
        grad_cam(shipped.model, img[0], [0])


def test_note_runs_and_song_parts():
    f = 0.005
    active = np.zeros(200, dtype=bool)
    active[10:50] = True  # a 200 ms note
    active[51:60] = True  # one quiet frame inside it (5 ms < 12 ms) is bridged
    active[80:84] = True  # 20 ms: kept
    active[90:92] = True  # 10 ms: too short
    for k in range(4):  # four 40 ms syllables every 70 ms: one trill
        active[100 + 14 * k:108 + 14 * k] = True
    runs = note_runs(active, frame_s=f)
    assert runs[:2] == [(10, 60), (80, 84)] and len(runs) == 6
    parts = song_parts(runs, frame_s=f)
    assert [p[0] for p in parts] == ["1", "trill"]
    assert parts[1][1:] == (80, 150)  # the 20 ms note starts the run of short ones


def test_explain_sound_finds_each_song_and_its_notes(shipped, scene):
    y, onsets = scene
    found = explain_sound(y, checkpoint=shipped, offset_s=10.0)
    assert [e.event.theme for e in found] == list(SCENE)
    n_notes = {"T04": 4, "T01": 2, "T09": 1}
    for ex, onset in zip(found, onsets, strict=True):
        assert abs(ex.event.start_s - (10.0 + onset)) < 0.05  # offset_s is added
        n = n_notes[ex.event.theme]
        assert ex.note_names == (*[str(i + 1) for i in range(n)], "trill")
        starts = [a for a, _ in ex.notes]
        assert starts == sorted(starts) and ex.event.start_s - 0.02 <= starts[0]
        assert ex.notes[-1][1] <= ex.event.end_s + 0.02
        assert ex.cam.shape == ex.image.shape and ex.cam.max() == pytest.approx(1.0)
        assert all(0.0 <= w <= 1.0 for w in ex.note_weights)
        # the themes share the trill: the map puts the evidence on the introduction
        assert max(ex.note_weights[:-1]) > ex.note_weights[-1]
        assert [r["note"] for r in ex.rows()] == list(ex.note_names)


def test_explain_command(scene, tmp_path, capsys):
    y, _ = scene
    wav = tmp_path / "rec.wav"
    sf.write(wav, y, 22050)
    png = tmp_path / "out" / "explain.png"
    csv_out = tmp_path / "notes.csv"
    assert main(["explain", str(wav), "-o", str(png), "--csv", str(csv_out), "-q"]) == 0
    assert png.read_bytes()[:4] == b"\x89PNG"
    rows = csv_out.read_text().splitlines()
    assert rows[0].startswith("event_start_s,") and {r.split(",")[2] for r in rows[1:]} == set(
        SCENE)
    # a stretch: only the songs inside it; the table goes to standard output
    assert main(["explain", str(wav), "-o", str(png), "--start", "4.5", "--end", "8.5",
                 "-q"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert {r.split(",")[2] for r in out[1:]} == {"T01"}
    # bad input: one line naming the file or value, exit 2, nothing written
    assert main(["explain", str(wav), "-o", str(tmp_path / "x.png"), "--end", "1.2"]) == 2
    assert f"{wav}: no song event between 0.0-1.2 s" in capsys.readouterr().err
    assert main(["explain", str(wav), "-o", str(tmp_path / "x.png"), "--start", "50"]) == 2
    assert "outside the recording" in capsys.readouterr().err
    assert main(["explain", str(wav), "-o", str(tmp_path / "x.jpg")]) == 2
    assert "ending in .png" in capsys.readouterr().err
    assert not (tmp_path / "x.png").exists()
