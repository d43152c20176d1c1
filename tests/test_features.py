"""songnet.features: params, crop/pad policy, images, normalisation, compatibility."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from songnet.core.audio import load
from songnet.core.errors import ParamsError, SongnetError
from songnet.core.params import params_from_mapping
from songnet.features.images import cqt_power, fit_window, image_reference, images, power_to_images
from songnet.features.params import FeatureParams, check_compatible

P = FeatureParams()


def tone(freq: float, seconds: float = 3.0, amp: float = 0.5) -> np.ndarray:
    t = np.arange(round(seconds * P.sr)) / P.sr
    return (amp * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def nearest_bin(freq: float) -> int:
    return int(np.argmin(np.abs(np.log(P.frequencies / freq))))


def test_defaults_cover_1_to_10_khz_with_a_short_hop():
    assert P.frequencies[0] == pytest.approx(1000.0)
    assert 9000 < P.frequencies[-1] < 10000
    assert P.hop_length / P.sr <= 0.006
    assert P.n_samples == 66150 and P.n_frames == 517
    assert P.frame_s == pytest.approx(128 / 22050)


def test_params_refuse_impossible_values_by_name():
    with pytest.raises(SongnetError, match="sr/2"):
        FeatureParams(sr=16000)  # top bin near 9.8 kHz over an 8 kHz Nyquist
    with pytest.raises(SongnetError, match="hop_length=0"):
        FeatureParams(hop_length=0)
    with pytest.raises(SongnetError, match="n_bins=1 must be at least 2"):
        FeatureParams(n_bins=1)
    with pytest.raises(ParamsError, match=r"\[features\]: db_floor=10"):
        params_from_mapping(FeatureParams, {"db_floor": 10.0}, where="params.yaml: [features]")
    with pytest.raises(ParamsError, match="normalize"):
        params_from_mapping(FeatureParams, {"normalize": "peak"}, where="params.yaml")


def test_a_4khz_tone_peaks_in_the_4khz_bin():
    img = images(tone(4000.0)[None], params=P, device="cpu")[0]
    assert img.shape == (P.n_bins, P.n_frames)
    assert int(np.argmax(img[:, P.n_frames // 2])) == nearest_bin(4000.0)
    ref = image_reference(tone(4000.0), params=P)
    assert int(np.argmax(ref[:, P.n_frames // 2])) == nearest_bin(4000.0)


def test_a_sweeps_peak_bin_moves_with_it():
    t = np.arange(P.n_samples) / P.sr
    f0, f1 = 2000.0, 8000.0  # exponential sweep: bins rise linearly in time
    freq = f0 * (f1 / f0) ** (t / t[-1])
    y = (0.5 * np.sin(2 * np.pi * np.cumsum(freq) / P.sr)).astype(np.float32)
    img = images(y[None], params=P, device="cpu")[0]
    frames = np.arange(40, P.n_frames - 40, 20)
    peaks = np.argmax(img[:, frames], axis=0)
    expected = [nearest_bin(freq[f * P.hop_length]) for f in frames]
    assert np.all(np.diff(peaks) >= 0)
    assert np.max(np.abs(peaks - expected)) <= 1


def test_a_silent_clip_is_finite_and_at_the_floor():
    for img in (images(np.zeros((1, P.n_samples), np.float32), params=P, device="cpu")[0],
                image_reference(np.zeros(P.n_samples, np.float32), params=P)):
        assert np.isfinite(img).all() and np.all(img == 0.0)


def test_max_normalisation_maps_the_peak_to_one_and_the_floor_to_zero():
    power = np.full((2, 4, 5), 1e-3, dtype=np.float32)
    power[0, 1, 2] = 10.0  # 40 dB above the rest
    power[1, 0, 0] = 1e9  # 120 dB above: the rest drops under the -80 dB floor
    img = power_to_images(power, params=P)
    assert img[0, 1, 2] == 1.0 and img[1, 0, 0] == 1.0
    assert np.allclose(np.delete(img[0].ravel(), 7), 0.5)  # -40 dB of an 80 dB range
    assert np.all(np.delete(img[1].ravel(), 0) == 0.0)


def test_fixed_normalisation_compares_levels_across_images():
    fixed = dataclasses.replace(P, normalize="fixed")
    loud, quiet = tone(2000.0, amp=0.5), tone(2000.0, amp=0.05)
    img = images(np.stack([loud, quiet]), params=fixed, device="cpu")
    assert img[0].max() - img[1].max() == pytest.approx(20.0 / 80.0, abs=0.01)
    img_max = images(np.stack([loud, quiet]), params=P, device="cpu")
    assert img_max[0].max() == img_max[1].max() == 1.0


def test_fit_window_pads_short_clips_at_the_end_and_crops_to_the_loudest_stretch():
    short = tone(3000.0, 0.5)
    fitted = fit_window(short, params=P)
    assert fitted.shape == (P.n_samples,)
    assert np.array_equal(fitted[: len(short)], short) and not fitted[len(short):].any()
    long = np.zeros(P.n_samples * 2, dtype=np.float32)
    long[40000:42000] = 1.0
    cropped = fit_window(long, params=P)
    assert cropped.shape == (P.n_samples,) and cropped.sum() == 2000.0
    assert np.array_equal(fit_window(np.zeros(P.n_samples * 2), params=P),
                          np.zeros(P.n_samples))


def test_short_clips_give_full_size_images():
    img = images(tone(4000.0, 0.2)[None], params=P, device="cpu")
    ref = image_reference(tone(4000.0, 0.2), params=P)
    assert img.shape == (1, P.n_bins, P.n_frames) and ref.shape == (P.n_bins, P.n_frames)
    assert img[0, :, :40].max() == 1.0 and img[0, :, 60:].max() == 0.0  # 0.2 s = 34 frames


def test_batched_path_agrees_with_librosa():
    rng = np.random.default_rng(7)
    t = np.arange(P.n_samples) / P.sr
    clips = []
    for _ in range(3):
        f = rng.uniform(1500, 7000) * (1 + 0.3 * np.sin(2 * np.pi * rng.uniform(1, 5) * t))
        env = np.exp(-0.5 * ((t - rng.uniform(0.5, 2.5)) / 0.3) ** 2)
        y = 0.5 * env * np.sin(2 * np.pi * np.cumsum(f) / P.sr)
        clips.append((y + 0.01 * rng.standard_normal(len(t))).astype(np.float32))
    fast = images(np.stack(clips), params=P, device="cpu")
    for clip, img in zip(clips, fast, strict=True):
        ref = image_reference(clip, params=P)
        assert np.corrcoef(ref.ravel(), img.ravel())[0, 1] >= 0.99
        assert np.abs(ref - img).mean() < 0.01


def test_windows_of_a_long_cqt_match_clip_images():
    rng = np.random.default_rng(1)
    y = (0.05 * rng.standard_normal(P.n_samples * 3)).astype(np.float32)
    y[P.n_samples: P.n_samples + 20000] += tone(5000.0, 20000 / P.sr)
    power = cqt_power(y, params=P, device="cpu")
    assert tuple(power.shape) == (P.n_bins, len(y) // P.hop_length + 1)
    t0 = 400  # frames, well inside the signal
    window = power_to_images(power[None, :, t0:t0 + P.n_frames], params=P).numpy()[0]
    clip = y[t0 * P.hop_length: t0 * P.hop_length + P.n_samples]
    single = images(clip[None], params=P, device="cpu")[0]
    inner = slice(40, P.n_frames - 40)  # away from the clip's zero-padded edges
    assert np.abs(window[:, inner] - single[:, inner]).max() < 1e-3


def test_check_compatible_names_the_differing_parameter():
    check_compatible(P, FeatureParams(), what="model.pt")
    other = dataclasses.replace(P, hop_length=256)
    with pytest.raises(SongnetError, match=r"model\.pt was made with features\.hop_length=128 "
                                           r"but these features use hop_length=256"):
        check_compatible(P, other, what="model.pt")


def test_bad_clips_are_refused():
    with pytest.raises(SongnetError, match="NaN"):
        images(np.full((1, P.n_samples), np.nan, dtype=np.float32), params=P, device="cpu")
    with pytest.raises(SongnetError, match="finite"):
        image_reference(np.full(100, np.nan), params=P)
    with pytest.raises(SongnetError, match="shape"):
        images(np.zeros(10), params=P, device="cpu")


def test_real_syllables_give_images(real_syllables):
    clips = [load(path, sr=P.sr).samples for path in real_syllables]
    fast = images(np.stack([fit_window(c, params=P) for c in clips]), params=P, device="cpu")
    assert fast.shape == (len(clips), P.n_bins, P.n_frames)
    for clip, img in zip(clips, fast, strict=True):
        assert np.isfinite(img).all() and img.max() == 1.0
        # the notes lie between 3 and 8 kHz (DESIGN.md): the loudest bin is there
        peak_hz = P.frequencies[np.argmax(img.sum(axis=1))]
        assert 2500 < peak_hz < 8500
        ref = image_reference(clip, params=P)
        assert np.corrcoef(ref.ravel(), img.ravel())[0, 1] >= 0.99
