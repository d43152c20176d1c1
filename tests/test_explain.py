"""Class activation maps (songnet.model.cam) and `songnet explain` (songnet.classify.explain).

The central check trains a tiny network on two themes that differ only in their second
note; its map for either theme must be highest over that note. As in songnet's own
training, songs that share the other notes and the trill but not a catalog theme's second
note are a class of their own (``unknown``), so the shared parts are no evidence for a
theme.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import soundfile as sf
import torch

from songnet.classify.explain import explain_sound, note_runs, song_parts
from songnet.cli import main
from songnet.core import audio
from songnet.core.errors import SongnetError
from songnet.features.images import images as cqt_images
from songnet.features.params import FeatureParams
from songnet.model.cam import grad_cam
from songnet.model.checkpoint import Checkpoint, save_checkpoint
from songnet.model.network import ModelConfig, ThemeCNN
from songnet.surrogates.synthesize import SynthesizeParams, sing
from songnet.surrogates.themes import DEFAULT_CATALOG, load_dialect, theme_from_mapping
from songnet.synth import SR

FP = FeatureParams()
CLASSES = ["A", "B", "unknown", "no_song"]
NOTE_2 = (0.35, 0.65)  # where the second note lies in a song, s (before the bird's tempo)


def _theme(name: str, second: dict | None) -> object:
    notes = [{"shape": "whistle", "pitch_khz": [4.6], "duration_ms": 250, "gap_ms": 100},
             *([second] if second else []),
             {"shape": "sweep", "pitch_khz": [6.0, 3.8], "duration_ms": 250, "gap_ms": 100}]
    return theme_from_mapping({"name": name, "description": "test", "notes": notes},
                              dialect=load_dialect(DEFAULT_CATALOG / "dialect.yaml"))


THEMES = [_theme("A", {"shape": "whistle", "pitch_khz": [4.3], "duration_ms": 300,
                       "gap_ms": 100}),
          _theme("B", {"shape": "sweep", "pitch_khz": [5.6, 4.0], "duration_ms": 300,
                       "gap_ms": 100})]
# every second note stays inside the song's pitch range (3.8-6.3 kHz, the trill's), so all
# songs get the same model gamma: a wider note would change the timbre of the whole song,
# trill included, and the trill would then tell the themes apart too
OTHERS = [_theme("C", None),  # no second note
          _theme("D", {"shape": "chevron", "pitch_khz": [4.0, 5.6, 4.0], "duration_ms": 300,
                       "gap_ms": 100})]


def _clip(song: np.ndarray | None, rng: np.random.Generator, *, at: float) -> np.ndarray:
    y = 0.01 * rng.standard_normal(FP.n_samples).astype(np.float32)
    if song is not None:
        s = audio.resample(song, orig_sr=SR, sr=FP.sr)[:FP.n_samples - int(at * FP.sr)]
        y[int(at * FP.sr):int(at * FP.sr) + s.size] += 0.3 * s
    return y


@pytest.fixture(scope="module")
def trained() -> Checkpoint:
    """A tiny ThemeCNN that tells A from B, from unknown themes and from noise, trained in
    seconds."""
    rng = np.random.default_rng(0)
    params = SynthesizeParams()
    clips, labels = [], []
    for i in range(32):
        for k, theme in enumerate([*THEMES, OTHERS[i % 2]]):
            clips.append(_clip(sing(theme, rng=rng, params=params), rng,
                               at=float(rng.uniform(0.05, 0.8))))
            labels.append(k)
        clips.append(_clip(None, rng, at=0.0))
        labels.append(3)
    x = torch.from_numpy(cqt_images(np.stack(clips), params=FP, device="cpu"))
    y = torch.tensor(labels)
    torch.manual_seed(0)
    model = ThemeCNN(ModelConfig(n_bins=FP.n_bins, n_frames=FP.n_frames, n_classes=4,
                                 channels=(8, 16, 32, 32), embed_dim=16, dropout=0.0))
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    for _ in range(12):
        model.train()
        for idx in torch.randperm(len(y)).split(24):
            opt.zero_grad()
            torch.nn.functional.cross_entropy(model(x[idx, None]), y[idx]).backward()
            opt.step()
    model.eval()
    with torch.no_grad():
        acc = (model(x[:, None]).argmax(1) == y).float().mean().item()
    assert acc > 0.95, f"the tiny model did not learn the two themes (accuracy {acc:.2f})"
    return Checkpoint(model=model, config=model.config, classes=CLASSES,
                      feature_params=dataclasses.asdict(FP), train_params={}, meta={})


def test_cam_is_highest_over_the_note_that_tells_the_themes_apart(trained):
    rng = np.random.default_rng(7)
    at = 0.5
    for k, theme in enumerate(THEMES):
        for _ in range(3):
            song = sing(theme, rng=rng)
            img = cqt_images(_clip(song, rng, at=at)[None], params=FP, device="cpu")
            cam = grad_cam(trained.model, img, [k])[0].max(axis=0)  # (n_frames,)
            t = np.arange(FP.n_frames) * FP.frame_s - at  # s from the song's onset
            # the bird's tempo moves notes by a few %: judge each note's core
            parts = {"1": (0.03, 0.22), "2": (0.38, 0.62), "3": (0.78, 0.97),
                     "trill": (1.15, 1.9)}
            means = {n: float(cam[(t >= a) & (t < b)].mean()) for n, (a, b) in parts.items()}
            assert max(means, key=means.get) == "2", (theme.name, means)


def test_gradcam_method_and_bad_arguments(trained):
    img = np.zeros((2, FP.n_bins, FP.n_frames), dtype=np.float32)
    out = grad_cam(trained.model, img, [0, 1], method="gradcam")
    assert out.shape == img.shape and np.all((out >= 0) & (out <= 1))
    with pytest.raises(SongnetError, match="method='nope'"):
        grad_cam(trained.model, img, [0, 1], method="nope")
    with pytest.raises(SongnetError, match="1 classes for 2 images"):
        grad_cam(trained.model, img, [0])
    with pytest.raises(SongnetError, match=r"shape \(B, n_bins, n_frames\)"):
        grad_cam(trained.model, img[0], [0])


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


def test_explain_sound_finds_each_song_and_its_notes(trained):
    rng = np.random.default_rng(3)
    gap = np.zeros(int(1.5 * FP.sr), dtype=np.float32)
    songs = [audio.resample(sing(t, rng=rng), orig_sr=SR, sr=FP.sr) for t in THEMES]
    y = np.concatenate([gap, 0.3 * songs[0], gap, 0.3 * songs[1], gap])
    y += 0.003 * rng.standard_normal(y.size).astype(np.float32)
    found = explain_sound(y, checkpoint=trained, offset_s=10.0)
    assert [e.event.theme for e in found] == ["A", "B"]
    for ex, onset in zip(found, (11.5, 11.5 + 1.5 + songs[0].size / FP.sr), strict=True):
        assert abs(ex.event.start_s - onset) < 0.05  # offset_s is added
        assert ex.note_names[:3] == ("1", "2", "3") and ex.note_names[-1] == "trill"
        assert ex.note_weights[1] == max(ex.note_weights)  # note 2 carries the decision
        assert ex.cam.shape == ex.image.shape == (FP.n_bins, FP.n_frames)
        rows = ex.rows()
        assert [r["note"] for r in rows] == list(ex.note_names)


def test_explain_command(trained, tmp_path, capsys):
    model = save_checkpoint(tmp_path / "tiny.pt", trained.model, classes=CLASSES,
                            feature_params=trained.feature_params, train_params={})
    rng = np.random.default_rng(5)
    song = audio.resample(sing(THEMES[1], rng=rng), orig_sr=SR, sr=FP.sr)
    y = np.concatenate([np.zeros(FP.sr, np.float32), 0.3 * song, np.zeros(FP.sr, np.float32)])
    y += 0.003 * rng.standard_normal(y.size).astype(np.float32)
    wav = tmp_path / "rec.wav"
    sf.write(wav, y, FP.sr)
    png = tmp_path / "out" / "explain.png"
    assert main(["explain", str(wav), "--model", str(model), "-o", str(png), "-q"]) == 0
    assert png.read_bytes()[:4] == b"\x89PNG"
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("event_start_s,") and out[1].split(",")[2] == "B"
    # --start/--end: a stretch without the song is an error naming the file, exit 2
    assert main(["explain", str(wav), "--model", str(model), "-o", str(png),
                 "--end", "0.8"]) == 2
    assert f"{wav}: no song event between 0.0-0.8 s" in capsys.readouterr().err
    assert main(["explain", str(wav), "--model", str(model), "-o", str(png),
                 "--start", "50"]) == 2
    assert "outside the recording" in capsys.readouterr().err
    assert main(["explain", str(wav), "--model", str(model), "-o",
                 str(tmp_path / "x.jpg")]) == 2
    assert "ending in .png" in capsys.readouterr().err
