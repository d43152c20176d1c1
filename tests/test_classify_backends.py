"""The two classify engines agree: ONNX Runtime + NumPy CQT against torch, event for event."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from songnet.classify.backends import OnnxBackend, TorchBackend, as_backend, open_model
from songnet.classify.params import ClassifyParams, block_overlap_s
from songnet.classify.windows import classify_file, score_blocks
from songnet.core.audio import Block
from songnet.core.errors import SongnetError
from songnet.model.checkpoint import default_model_path, load_checkpoint
from songnet.model.export import export_checkpoint
from songnet.model.runtime import default_onnx_path, load_onnx

REPO = Path(__file__).resolve().parents[1]


def same_events(a, b) -> None:
    assert len(a) == len(b), (a, b)
    for x, y in zip(a, b, strict=True):
        assert (x.file, x.theme) == (y.file, y.theme), (x, y)
        assert x.start_s == pytest.approx(y.start_s, abs=1e-6)
        assert x.end_s == pytest.approx(y.end_s, abs=1e-6)
        assert x.theme_confidence == pytest.approx(y.theme_confidence, abs=1e-4)
        assert [t for t, _ in x.top] == [t for t, _ in y.top]
        assert (x.low_hz, x.high_hz) == pytest.approx((y.low_hz, y.high_hz))


@pytest.fixture(scope="module")
def tiny_pair(tiny_model, tmp_path_factory):
    onnx = export_checkpoint(tiny_model, tmp_path_factory.mktemp("onnx") / "tiny.onnx")
    return load_checkpoint(tiny_model, device="cpu"), load_onnx(onnx, threads=1)


@pytest.fixture(scope="module")
def shipped_pair():
    if not (default_model_path().is_file() and default_onnx_path().is_file()):
        pytest.skip("no shipped model; run `dvc repro`")
    return load_checkpoint(None, device="cpu"), load_onnx(None)


def whistles(seconds: float, sr: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(round(seconds * sr)) / sr
    y = 0.01 * rng.standard_normal(t.size) + ((t % 7.0) < 0.8) * 0.3 * np.sin(9e3 * np.pi * t)
    return y.astype(np.float32)


def test_window_scores_and_activity_agree_block_by_block(tiny_pair):
    ckpt, onnx = tiny_pair
    fp = ckpt.features()
    y = whistles(40.0, fp.sr, seed=3)
    n, step = round(12.0 * fp.sr), round((12.0 - block_overlap_s(fp)) * fp.sr)
    blocks = [Block(y[s:s + n], s / fp.sr, fp.sr) for s in range(0, y.size - n + step, step)]
    params = ClassifyParams(skip_quiet=False)
    t_scores, t_act, t_dur = score_blocks(blocks, model=ckpt, params=params, device="cpu")
    o_scores, o_act, o_dur = score_blocks(blocks, model=onnx, params=params)
    assert np.array_equal(t_scores.starts_s, o_scores.starts_s)
    assert np.abs(t_scores.probs - o_scores.probs).max() < 1e-5
    assert np.array_equal(t_act.active, o_act.active) and t_dur == o_dur


@pytest.fixture(scope="module")
def field_recording(tmp_path_factory):
    """45 s of generated field recording: three model songs of known themes in noise."""
    from songnet.surrogates.fieldsim import render_recording
    from songnet.surrogates.themes import load_catalog
    from songnet.synth import SR
    themes = {t.name: t for t in load_catalog()}
    plan = [(4.0, themes["T01"]), (19.5, themes["T06"]), (33.0, themes["T09"])]
    blocks, truth = render_recording(plan, duration_s=45.0, snr_db=10.0,
                                     rng=np.random.default_rng(5))
    path = tmp_path_factory.mktemp("field") / "field.wav"
    sf.write(path, np.concatenate(list(blocks)), SR, subtype="PCM_16")
    return path, truth


def test_same_events_on_a_generated_recording(shipped_pair, field_recording):
    ckpt, onnx = shipped_pair
    path, truth = field_recording
    params = ClassifyParams(block_s=15.0)  # several streamed blocks
    want, dur = classify_file(path, model=ckpt, params=params, device="cpu")
    got, dur2 = classify_file(path, model=onnx, params=params)
    assert dur == dur2 == pytest.approx(45.0)
    same_events(got, want)
    assert len(got) == len(truth)  # (the themes are the model's business: test_classify)


def test_same_events_on_songs_of_every_catalog_theme(shipped_pair, tmp_path):
    """A song of every catalog theme, as the test split holds them (a new bird of each
    theme, in noise at 5-25 dB SNR, at a random place in a 4-s clip), generated here so
    the check runs in every checkout: both engines give the same events."""
    import soundfile as sf

    from songnet.surrogates.birds import sing
    from songnet.surrogates.themes import load_catalog
    from songnet.synth import SR

    ckpt, onnx = shipped_pair
    rng = np.random.default_rng(2026)
    for theme in load_catalog():
        song = sing(theme, rng=rng)
        clip = np.zeros(4 * SR)
        at = int(rng.integers(0, clip.size - song.size))
        clip[at:at + song.size] = song
        level = np.sqrt(np.mean(song ** 2)) * 10 ** (-rng.uniform(5, 25) / 20)
        clip += rng.normal(0, level, clip.size)
        path = tmp_path / f"{theme.name}.wav"
        sf.write(path, clip.astype(np.float32), SR, subtype="FLOAT")
        want, _ = classify_file(path, model=ckpt, device="cpu")
        got, _ = classify_file(path, model=onnx)
        assert want, theme.name  # a song, so the comparison compares something
        same_events(got, want)


def test_open_model_picks_the_engine_by_suffix(tiny_model, tiny_pair, tmp_path):
    assert isinstance(open_model(tiny_model, device="cpu"), TorchBackend)
    onnx_path = export_checkpoint(tiny_model, tmp_path / "t.onnx")
    backend = open_model(onnx_path, threads=1)
    assert isinstance(backend, OnnxBackend) and backend.classes[-1] == "no_song"
    assert as_backend(backend) is backend
    with pytest.raises(SongnetError, match="runs on the CPU"):
        as_backend(tiny_pair[1], device="cuda")


def test_blocks_prepared_on_several_threads_give_the_same_events(tiny_model, tmp_path,
                                                                 field_recording):
    """Several blocks transformed at once (the default on several cores) change nothing:
    the same windows, activity and events as one block at a time."""
    onnx = export_checkpoint(tiny_model, tmp_path / "t.onnx")
    path, _ = field_recording
    params = ClassifyParams(block_s=9.0, skip_quiet=False)  # several blocks, every window
    one, three = open_model(onnx, threads=1), open_model(onnx, threads=3)
    assert (one.block_threads, three.block_threads) == (1, 3)
    fp = one.fp
    y = whistles(50.0, fp.sr, seed=4)
    n, step = round(9.0 * fp.sr), round((9.0 - block_overlap_s(fp)) * fp.sr)
    blocks = [Block(y[s:s + n], s / fp.sr, fp.sr) for s in range(0, y.size - n + step, step)]
    a_scores, a_act, a_dur = score_blocks(blocks, model=one, params=params)
    b_scores, b_act, b_dur = score_blocks(blocks, model=three, params=params)
    assert len(blocks) > 3 and a_dur == b_dur
    assert np.array_equal(a_scores.starts_s, b_scores.starts_s)
    assert np.abs(a_scores.probs - b_scores.probs).max() < 1e-5
    assert np.array_equal(a_act.active, b_act.active)
    got, _ = classify_file(path, model=three, params=params)
    want, _ = classify_file(path, model=one, params=params)
    same_events(got, want)


def test_a_bad_block_on_a_worker_thread_is_the_usual_error(tiny_model, tmp_path):
    backend = open_model(export_checkpoint(tiny_model, tmp_path / "t.onnx"), threads=2)
    fp = backend.fp
    y = whistles(40.0, fp.sr, seed=5)
    y[round(27.5 * fp.sr)] = np.nan  # in the third block
    n, step = round(9.0 * fp.sr), round((9.0 - block_overlap_s(fp)) * fp.sr)
    blocks = [Block(y[s:s + n], s / fp.sr, fp.sr) for s in range(0, y.size - n + step, step)]
    with pytest.raises(SongnetError, match=r"NaN or infinite samples \(first at 27.50 s\)"):
        score_blocks(blocks, model=backend, params=ClassifyParams(block_s=9.0))
