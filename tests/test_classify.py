"""classify core: input discovery, streaming windows, bad recordings, known songs."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from songnet.classify.params import ClassifyParams
from songnet.classify.windows import classify_blocks, score_blocks
from songnet.core.audio import Block
from songnet.core.errors import SongnetError
from songnet.features import images as features
from songnet.model.checkpoint import load_checkpoint, predict_proba

CLASSES = ["A", "B", "C", "no_song"]


@pytest.fixture(scope="module")
def ckpt(tiny_model):
    """The tiny network with its last layer set by hand: every window is theme A with
    p = 0.7 and no_song with p = 0.1, whatever the image (a known answer, not an accident
    of the initial weights); the images still flow through every layer."""
    ckpt = load_checkpoint(tiny_model, device="cpu")
    head = ckpt.model.classifier
    with torch.no_grad():
        head.weight.zero_()
        head.bias.copy_(torch.log(torch.tensor([0.7, 0.1, 0.1, 0.1])))
    return ckpt


def tones_in_noise(seconds: float, sr: int, *, seed: int = 0) -> np.ndarray:
    """Noise with a 4.5 kHz whistle every 7 s (a stand-in for song)."""
    rng = np.random.default_rng(seed)
    t = np.arange(round(seconds * sr)) / sr
    y = 0.01 * rng.standard_normal(t.size)
    on = (t % 7.0) < 0.8
    y += on * 0.3 * np.sin(2 * np.pi * 4500 * t)
    return y.astype(np.float32)


def blocks_of(y: np.ndarray, sr: int, *, block_s: float, overlap_s: float) -> list[Block]:
    n, step = round(block_s * sr), round((block_s - overlap_s) * sr)
    out, start = [], 0
    while True:
        out.append(Block(y[start:start + n], start / sr, sr))
        if start + n >= y.size:
            return out
        start += step


# --- streaming windows --------------------------------------------------------------


def test_windows_cover_the_recording_on_one_grid(ckpt):
    fp = ckpt.features()
    y = tones_in_noise(30.0, fp.sr)
    params = ClassifyParams(hop_s=0.5)
    scores, activity, duration = score_blocks([Block(y, 0.0, fp.sr)], model=ckpt,
                                              params=params, device="cpu")
    assert duration == pytest.approx(30.0)
    frame_s = fp.hop_length / fp.sr
    hop = round(0.5 / frame_s) * frame_s
    grid = scores.starts_s[:-1]
    assert np.allclose(np.diff(grid), hop)
    assert scores.starts_s[-1] + scores.window_s == pytest.approx(30.0, abs=2 * frame_s)
    assert np.allclose(scores.probs.sum(axis=1), 1.0, atol=1e-5)
    assert activity.active.shape[0] == pytest.approx(30.0 / frame_s, abs=2)
    on = activity.active[(np.arange(activity.active.size) * frame_s % 7.0) < 0.7]
    off = activity.active[np.abs((np.arange(activity.active.size) * frame_s % 7.0) - 4) < 2]
    assert on.mean() > 0.95 and off.mean() < 0.02


def test_streamed_blocks_match_one_whole_block(ckpt):
    fp = ckpt.features()
    y = tones_in_noise(40.0, fp.sr, seed=3)
    params = ClassifyParams(hop_s=0.5, skip_quiet=False)
    whole = score_blocks([Block(y, 0.0, fp.sr)], model=ckpt, params=params, device="cpu")
    from songnet.classify.params import block_overlap_s
    blocks = blocks_of(y, fp.sr, block_s=9.0, overlap_s=block_overlap_s(fp))
    assert len(blocks) >= 4
    streamed = score_blocks(blocks, model=ckpt, params=params, device="cpu")
    assert np.allclose(whole[0].starts_s, streamed[0].starts_s)
    assert np.allclose(whole[0].probs, streamed[0].probs, atol=2e-3)
    assert whole[1].active.shape == streamed[1].active.shape
    assert (whole[1].active != streamed[1].active).mean() < 0.01
    assert whole[2] == pytest.approx(streamed[2])


def test_window_images_match_the_training_images(ckpt):
    fp = ckpt.features()
    y = tones_in_noise(12.0, fp.sr, seed=5)
    scores, _, _ = score_blocks([Block(y, 0.0, fp.sr)], model=ckpt,
                                params=ClassifyParams(hop_s=1.0, skip_quiet=False),
                                device="cpu")
    k = 3
    start = round(scores.starts_s[k] * fp.sr)
    clip = y[start:start + fp.n_samples][None]
    ref = predict_proba(ckpt, features.images(clip, params=fp, device="cpu"))
    assert np.allclose(scores.probs[k], ref[0], atol=0.02)


def test_only_song_candidates_reach_the_network_and_blocks_do_not_change_them(ckpt):
    from songnet.classify.params import block_overlap_s
    fp = ckpt.features()
    y = tones_in_noise(75.0, fp.sr, seed=2)  # whistles every 7 s, some at block edges
    blocks = blocks_of(y, fp.sr, block_s=20.0, overlap_s=block_overlap_s(fp))
    assert len(blocks) >= 4
    fast, _, _ = score_blocks(blocks, model=ckpt, device="cpu")
    assert (fast.probs[:, -1] == 1.0).all()  # no sliding window ran the CNN
    full_params = ClassifyParams(skip_quiet=False)
    full, _, _ = score_blocks(blocks, model=ckpt, device="cpu", params=full_params)
    assert np.allclose(full.probs, [0.7, 0.1, 0.1, 0.1], atol=1e-5)  # set by hand
    got, _ = classify_blocks(blocks, model=ckpt, device="cpu")
    want, _ = classify_blocks(blocks, model=ckpt, device="cpu", params=full_params)
    whole, _ = classify_blocks([Block(y, 0.0, fp.sr)], model=ckpt, device="cpu")
    assert len(got) == len(want) == len(whole) == 11  # one event per whistle, each alone
    for g, w, o in zip(got, want, whole, strict=True):
        assert (g.start_s, g.end_s, g.theme) == (w.start_s, w.end_s, w.theme)
        assert g.start_s == pytest.approx(o.start_s, abs=0.02)
        assert g.end_s == pytest.approx(o.end_s, abs=0.02)
        assert g.end_s - g.start_s <= fp.n_samples / fp.sr  # max_song_s: the model's window


def test_the_longest_song_candidate_must_outlast_the_shortest_event(ckpt):
    fp = ckpt.features()
    block = [Block(np.zeros(fp.n_samples, np.float32), 0.0, fp.sr)]
    window = fp.n_samples / fp.sr
    # max_song_s unset: the model's window is the limit, checked once the model is known
    with pytest.raises(SongnetError, match=r"min_event_s=.*model's window"):
        classify_blocks(block, model=ckpt, device="cpu",
                        params=ClassifyParams(min_event_s=window + 0.5))
    with pytest.raises(ValueError, match=r"max_song_s=2\.0 must exceed min_event_s=2\.5"):
        ClassifyParams(min_event_s=2.5, max_song_s=2.0)
    with pytest.raises(SongnetError, match="longer than the model's window"):
        classify_blocks(block, model=ckpt, device="cpu",
                        params=ClassifyParams(max_song_s=window + 1.0))


def test_a_clip_shorter_than_a_window_gets_one_window(ckpt):
    fp = ckpt.features()
    y = tones_in_noise(1.0, fp.sr)
    scores, activity, duration = score_blocks([Block(y, 0.0, fp.sr)], model=ckpt,
                                              device="cpu")
    assert len(scores) == 1 and scores.starts_s[0] == 0.0
    assert duration == pytest.approx(1.0)
    assert activity.active.shape[0] <= 1 + y.size // fp.hop_length


def test_progress_reports_every_second_once(ckpt):
    fp = ckpt.features()
    from songnet.classify.params import block_overlap_s
    y = tones_in_noise(25.0, fp.sr)
    seen: list[float] = []
    score_blocks(blocks_of(y, fp.sr, block_s=10.0, overlap_s=block_overlap_s(fp)),
                 model=ckpt, device="cpu", progress=seen.append)
    assert sum(seen) == pytest.approx(25.0, abs=0.01) and min(seen) >= 0


# --- where the recording starts -------------------------------------------------------


def test_song_anchor_follows_the_song_not_the_stretch():
    from songnet.classify.candidates import song_anchor
    fp = features.FeatureParams()
    sr, rng = fp.sr, np.random.default_rng(3)
    t = np.arange(round(0.6 * sr)) / sr
    song = np.sin(2 * np.pi * 4000 * t) * np.hanning(t.size)
    y = 0.002 * rng.standard_normal(3 * sr)
    y[sr:sr + song.size] += song
    band = (float(fp.frequencies[0]), float(fp.frequencies[-1]))
    centre = sr + song.size / 2
    for lead in (0, 37, 128, 300, 2000):  # the stretch starts where a frame grid puts it
        got = lead + song_anchor(y[lead:], sr=sr, band=band)
        assert abs(got - centre) < 2.0, (lead, got, centre)
    rumble = y + 0.5 * np.sin(2 * np.pi * 80 * np.arange(y.size) / sr) * (np.arange(y.size)
                                                                          < sr // 2)
    assert abs(song_anchor(rumble, sr=sr, band=band) - centre) < 2.0  # out of band: unseen


def test_a_real_song_reads_the_same_wherever_the_recording_starts(shipped, real_birds):
    """A real bird's song cut 3, 1 and 0.3 s before it (off the frame grid, as a file
    would be) gets the network's same reading as in the whole recording: the candidate's
    image is placed by the song, not by the file's first sample."""
    from songnet.core import audio
    rb = real_birds
    sr = shipped.features().sr
    rng = np.random.default_rng(5)
    bird = rb.BIRDS[1]
    y, start, end = rb.scene(bird, rb.variant(bird, rng, slow=False), rng, lead_s=6.0)
    y = audio.resample(y, orig_sr=rb.SR, sr=sr)
    readings = []
    for cut in (None, 3.0, 1.0, 0.3):
        t0 = 0.0 if cut is None else start - cut + 37 / sr  # 37 samples off any grid
        z = y[round(t0 * sr):]
        events, _ = classify_blocks([Block(z, 0.0, sr)], model=shipped, device="cpu")
        hits = [e for e in events if e.start_s < end - t0 and e.end_s > start - t0]
        assert len(hits) == 1, (cut, events)
        readings.append(dict(hits[0].top))
    for other in readings[1:]:
        assert other.keys() == readings[0].keys()
        for name, p in readings[0].items():
            assert other[name] == pytest.approx(p, abs=0.03), readings


# --- bad recordings -----------------------------------------------------------------


@pytest.mark.parametrize(("samples", "message"), [
    (np.zeros(22050 * 5, dtype=np.float32), "every sample is zero"),
    (np.full(22050 * 5, np.nan, dtype=np.float32), "NaN or infinite"),
    (np.zeros(0, dtype=np.float32), "empty"),
])
def test_bad_recordings_are_errors_naming_the_source(ckpt, samples, message):
    fp = ckpt.features()
    blocks = [Block(samples, 0.0, fp.sr)] if samples.size else []
    with pytest.raises(SongnetError, match=message) as info:
        classify_blocks(blocks, model=ckpt, device="cpu", source="rec.wav")
    assert str(info.value).startswith("rec.wav: ")


def test_params_are_checked():
    with pytest.raises(ValueError, match="detect_threshold"):
        ClassifyParams(detect_threshold=0.0)
    with pytest.raises(ValueError, match="hop_s"):
        ClassifyParams(hop_s=-1.0)
    assert dataclasses.replace(ClassifyParams(), min_confidence=0.5).min_confidence == 0.5


def test_field_noise_alone_gives_no_events_whatever_the_model(ckpt, tmp_path):
    from songnet.classify.windows import classify_file
    path, _ = field_recording(tmp_path, [], seconds=30.0, seed=3)
    events, duration = classify_file(path, model=ckpt, device="cpu")
    assert events == [] and duration == pytest.approx(30.0)


# --- known songs with the shipped model ---------------------------------------------


@pytest.fixture(scope="module")
def shipped():
    from songnet.model.checkpoint import default_model_path
    if not default_model_path().is_file():
        pytest.skip(f"no shipped model at {default_model_path()}; run `dvc repro` to make it")
    return load_checkpoint(None, device="auto")


def field_recording(tmp_path, plan, *, seconds: float, seed: int):
    import soundfile as sf

    from songnet.surrogates.fieldsim import render_recording
    from songnet.synth import SR
    blocks, truth = render_recording(plan, duration_s=seconds, snr_db=10.0,
                                     rng=np.random.default_rng(seed))
    path = tmp_path / "field.wav"
    sf.write(path, np.concatenate(list(blocks)), SR, subtype="PCM_16")
    return path, truth


@pytest.mark.slow
def test_songs_of_known_themes_at_known_times_are_found(shipped, tmp_path):
    from songnet.classify.windows import classify_file
    from songnet.surrogates.themes import load_catalog
    themes = {t.name: t for t in load_catalog()}
    names = [n for n in shipped.classes[:-1] if n in themes]  # every theme, once
    assert names, "the shipped model knows none of the catalog's themes"
    plan = [(4.0 + 12.0 * i, themes[n]) for i, n in enumerate(names)]
    path, truth = field_recording(tmp_path, plan, seconds=12.0 * len(plan) + 4.0, seed=11)
    events, duration = classify_file(path, model=shipped, device="auto")
    assert duration == pytest.approx(12.0 * len(plan) + 4.0)
    assert len(events) == len(truth), events
    for ev, t in zip(events, truth, strict=True):
        assert abs(ev.start_s - t.start_s) <= 0.3 and abs(ev.end_s - t.end_s) <= 0.3, (ev, t)
        assert ev.theme == t.theme, (ev, t)


@pytest.mark.slow
def test_noise_alone_gives_no_events(shipped, tmp_path):
    from songnet.classify.windows import classify_file
    path, truth = field_recording(tmp_path, [], seconds=60.0, seed=12)
    assert truth == []
    events, _ = classify_file(path, model=shipped, device="auto")
    assert events == []
