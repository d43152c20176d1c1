"""The ``stft`` and ``mel`` front ends: known answers, librosa, NumPy = torch, classify."""

from __future__ import annotations

import dataclasses
import subprocess
import sys

import librosa
import numpy as np
import pytest
import soundfile as sf
import torch

from songnet.core.errors import ParamsError, SongnetError
from songnet.core.params import params_from_mapping, params_to_dict
from songnet.features import frontends, images, npcqt
from songnet.features.params import FeatureParams, FeatureParamsError, check_compatible

P = FeatureParams(window_s=1.0)
FRONTENDS = ("cqt", "stft", "mel")


def tone(hz: float, *, params: FeatureParams = P, amplitude: float = 0.5,
         seconds: float | None = None) -> np.ndarray:
    n = params.n_samples if seconds is None else round(seconds * params.sr)
    t = np.arange(n) / params.sr
    return (amplitude * np.cos(2 * np.pi * hz * t)).astype(np.float32)


def noisy_tone(hz: float, *, params: FeatureParams = P, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    noise = 0.01 * rng.standard_normal(params.n_samples).astype(np.float32)
    return tone(hz, params=params) + noise


def with_frontend(frontend: str, **kw) -> FeatureParams:
    return dataclasses.replace(P, frontend=frontend, **kw)


def test_n_fft_is_the_power_of_two_nearest_23_ms():
    assert frontends.stft_n_fft(22050) == 512
    assert frontends.stft_n_fft(44100) == 1024
    assert frontends.stft_n_fft(16000) == 512
    assert frontends.stft_n_fft(11025) == 256


def test_the_bands_span_fmin_to_the_top_cqt_bin():
    top = frontends.top_frequency(P)
    assert top == pytest.approx(FeatureParams().frequencies[-1])
    stft = with_frontend("stft").frequencies
    width = (top - P.fmin) / P.n_bins
    assert stft == pytest.approx(P.fmin + width * (np.arange(P.n_bins) + 0.5))
    mel = with_frontend("mel").frequencies
    edges = librosa.mel_frequencies(P.n_bins + 2, fmin=P.fmin, fmax=top, htk=False)
    assert mel == pytest.approx(edges[1:-1], rel=1e-9)


def test_mel_scale_matches_librosa():
    hz = np.array([0.0, 200.0, 999.0, 1000.0, 1001.0, 4000.0, 11025.0])
    assert frontends.hz_to_mel(hz) == pytest.approx(librosa.hz_to_mel(hz, htk=False))
    mels = np.linspace(0, 40, 17)
    assert frontends.mel_to_hz(mels) == pytest.approx(librosa.mel_to_hz(mels, htk=False))


@pytest.mark.parametrize(("sr", "n_fft", "n_mels", "fmin", "fmax"), [
    (22050, 512, 80, 1000.0, 9792.4),
    (22050, 1024, 40, 300.0, 8000.0),
    (44100, 1024, 64, 0.0, 22050.0),
])
def test_mel_filters_match_librosa(sr, n_fft, n_mels, fmin, fmax):
    got = frontends.mel_filters(sr=sr, n_fft=n_fft, n_mels=n_mels, fmin=fmin, fmax=fmax)
    want = librosa.filters.mel(sr=sr, n_fft=n_fft, n_mels=n_mels, fmin=fmin, fmax=fmax,
                               htk=False, norm="slaney")
    assert got.shape == want.shape == (n_mels, n_fft // 2 + 1)
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-7 * want.max())


def test_linear_bands_average_the_fft_bins_between_their_edges():
    top = frontends.top_frequency(P)
    bank = frontends.linear_filters(sr=P.sr, n_fft=512, n_bands=P.n_bins, fmin=P.fmin, fmax=top)
    freqs = np.fft.rfftfreq(512, 1 / P.sr)
    edges = np.linspace(P.fmin, top, P.n_bins + 1)
    for k in range(P.n_bins):
        inside = (freqs >= edges[k]) & (freqs < edges[k + 1])
        assert inside.sum() in (2, 3)  # 110 Hz bands, 43 Hz between FFT bins
        assert bank[k] == pytest.approx(inside / inside.sum())
    assert bank.sum(axis=1) == pytest.approx(np.ones(P.n_bins))  # flat for white noise


def expected_row(frontend: str, hz: float) -> int:
    params = with_frontend(frontend)
    if frontend == "cqt":
        return round(P.bins_per_octave * np.log2(hz / P.fmin))
    if frontend == "stft":
        edges = np.linspace(P.fmin, frontends.top_frequency(P), P.n_bins + 1)
        return int(np.searchsorted(edges, hz, side="right") - 1)
    return int(np.argmin(np.abs(frontends.hz_to_mel(params.frequencies)
                                - frontends.hz_to_mel(hz))))


@pytest.mark.parametrize("frontend", FRONTENDS)
def test_a_4_khz_tone_peaks_in_the_band_that_holds_it(frontend):
    params = with_frontend(frontend)
    power = npcqt.power(tone(4000.0), params=params)
    assert power.shape == (P.n_bins, P.n_frames)
    row = int(np.argmax(power[:, P.n_frames // 2]))
    assert row == expected_row(frontend, 4000.0)
    assert frontends.frequency_rows(4000.0, params=params) == pytest.approx(row, abs=0.5)


def test_stft_power_is_librosa_stft_squared_summed_into_the_bands():
    params = with_frontend("stft")
    y = noisy_tone(4000.0)
    got = frontends.spectral_power(y, params=params)
    bank, lo, hi = frontends.filterbank(params)
    spec = librosa.stft(y, n_fft=512, hop_length=P.hop_length, window="hann", center=True,
                        pad_mode="constant")
    want = bank @ (np.abs(spec[lo:hi]) ** 2)
    assert got.shape == want.shape == (P.n_bins, P.n_frames)
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-6 * want.max())


def test_mel_power_is_librosa_melspectrogram():
    params = with_frontend("mel")
    y = noisy_tone(3000.0)
    got = frontends.spectral_power(y, params=params)
    want = librosa.feature.melspectrogram(
        y=y, sr=P.sr, n_fft=512, hop_length=P.hop_length, n_mels=P.n_bins, fmin=P.fmin,
        fmax=frontends.top_frequency(P), htk=False, norm="slaney", pad_mode="constant")
    assert got.shape == want.shape
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-6 * want.max())


@pytest.mark.parametrize("frontend", ["stft", "mel"])
@pytest.mark.parametrize("normalize", ["max", "fixed"])
def test_numpy_and_torch_paths_agree(frontend, normalize):
    params = with_frontend(frontend, normalize=normalize)
    y = noisy_tone(5000.0, seed=1)
    np_power = npcqt.power(y, params=params)
    torch_power = images.power(y, params=params, device="cpu")
    assert isinstance(torch_power, torch.Tensor)
    np.testing.assert_allclose(torch_power.numpy(), np_power, rtol=1e-4,
                               atol=1e-5 * np_power.max())
    np_img = npcqt.power_to_images(np_power, params=params)
    torch_img = images.images(y[None], params=params, device="cpu")[0]
    assert np.abs(np_img - torch_img).max() < 1e-5
    assert np.abs(images.image_reference(y, params=params) - torch_img).max() < 1e-4


def test_every_frontend_gives_images_of_one_shape():
    clips = np.stack([noisy_tone(2000.0), noisy_tone(6000.0, seed=2)])
    shapes = {f: images.images(clips, params=with_frontend(f), device="cpu").shape
              for f in FRONTENDS}
    assert set(shapes.values()) == {(2, P.n_bins, P.n_frames)}
    for f in FRONTENDS:
        assert npcqt.power(clips[0], params=with_frontend(f)).shape == (P.n_bins, P.n_frames)


@pytest.mark.parametrize("frontend", ["stft", "mel"])
def test_fixed_reference_is_a_full_scale_sine_at_the_lowest_band(frontend):
    params = with_frontend(frontend, normalize="fixed")
    centre = float(params.frequencies[0])
    full = npcqt.power_to_images(npcqt.power(tone(centre, amplitude=1.0), params=params),
                                 params=params)
    half = npcqt.power_to_images(npcqt.power(tone(centre, amplitude=0.5), params=params),
                                 params=params)
    frame = P.n_frames // 2
    assert full[:, frame].max() == pytest.approx(1.0, abs=1e-4)
    assert half[:, frame].max() == pytest.approx(1 - 20 * np.log10(2) / -P.db_floor, abs=1e-4)
    assert npcqt.reference_db(params) == pytest.approx(
        10 * np.log10(frontends.reference_power(params)))


def test_the_default_frontend_is_cqt_and_leaves_the_cqt_path_alone():
    assert FeatureParams().frontend == "cqt"
    y = noisy_tone(4000.0)
    np.testing.assert_array_equal(npcqt.power(y, params=P), npcqt.cqt_power(y, params=P))
    np.testing.assert_array_equal(images.power(y, params=P, device="cpu").numpy(),
                                  images.cqt_power(y, params=P, device="cpu").numpy())


def test_an_unknown_frontend_is_named():
    with pytest.raises(FeatureParamsError, match="frontend='foo' must be one of 'cqt'"):
        FeatureParams(frontend="foo")
    with pytest.raises(ParamsError, match="frontend"):
        params_from_mapping(FeatureParams, {"frontend": "foo"}, where="params.yaml")


def test_feature_params_without_a_frontend_load_as_cqt():
    old = params_to_dict(FeatureParams())
    del old["frontend"]
    assert params_from_mapping(FeatureParams, old, where="old model").frontend == "cqt"
    from songnet.model.checkpoint import check_features
    check_features(old, params_to_dict(FeatureParams()), what="old.pt")  # no error
    with pytest.raises(SongnetError, match=r"features\.frontend='cqt'.*frontend='stft'"):
        check_features(old, params_to_dict(FeatureParams(frontend="stft")), what="old.pt")
    with pytest.raises(SongnetError, match="frontend"):
        check_compatible(P, with_frontend("mel"), what="model.pt")


def test_band_limits_per_frontend():
    # the CQT's top filter would reach past sr/2; the stft and mel bands end below it
    with pytest.raises(FeatureParamsError, match="must stay below sr/2"):
        FeatureParams(n_bins=84)
    assert FeatureParams(n_bins=84, frontend="stft").n_bins == 84
    assert FeatureParams(n_bins=84, frontend="mel").n_bins == 84
    with pytest.raises(FeatureParamsError, match=r"frontend='stft'.*below sr/2"):
        FeatureParams(fmin=3000.0, frontend="stft")
    with pytest.raises(FeatureParamsError, match=r"band \d+ of n_bins=240 holds no FFT bin"):
        FeatureParams(n_bins=240, bins_per_octave=72, frontend="stft")
    with pytest.raises(FeatureParamsError, match="hop_length=1024 exceeds"):
        FeatureParams(hop_length=1024, frontend="mel")


@pytest.fixture(scope="module")
def stft_model(tmp_path_factory):
    """An untrained ThemeCNN whose checkpoint says ``frontend: stft``, and its ONNX."""
    from songnet.model.checkpoint import save_checkpoint
    from songnet.model.export import export_checkpoint
    from songnet.model.network import ModelConfig, ThemeCNN

    fp = FeatureParams(frontend="stft")
    torch.manual_seed(0)
    model = ThemeCNN(ModelConfig(n_bins=fp.n_bins, n_frames=fp.n_frames, n_classes=3,
                                 channels=(4, 8), embed_dim=8))
    folder = tmp_path_factory.mktemp("stft_model")
    pt = folder / "stft.pt"
    save_checkpoint(pt, model, classes=["A", "B", "no_song"],
                    feature_params=params_to_dict(fp), train_params={})
    return pt, export_checkpoint(str(pt), folder / "stft.onnx")


@pytest.fixture(scope="module")
def recording(tmp_path_factory):
    sr = 22050
    t = np.arange(12 * sr) / sr
    rng = np.random.default_rng(4)
    y = 0.01 * rng.standard_normal(t.size) + ((t % 6.0) < 0.8) * 0.3 * np.sin(9e3 * np.pi * t)
    path = tmp_path_factory.mktemp("rec") / "rec.wav"
    sf.write(path, y.astype(np.float32), sr, subtype="PCM_16")
    return path


def test_classify_with_an_stft_model_on_both_engines(stft_model, recording):
    from songnet.classify.backends import open_model
    from songnet.classify.params import ClassifyParams
    from songnet.classify.windows import classify_file

    pt, onnx = stft_model
    torch_backend = open_model(str(pt), device="cpu")
    onnx_backend = open_model(str(onnx), threads=1)
    assert torch_backend.fp.frontend == onnx_backend.fp.frontend == "stft"
    y = sf.read(recording, dtype="float32")[0][: 5 * 22050]
    np.testing.assert_allclose(torch_backend.power(y).numpy(), onnx_backend.power(y),
                               rtol=1e-4, atol=1e-5 * float(onnx_backend.power(y).max()))
    params = ClassifyParams(skip_quiet=False, block_s=8.0)
    want, dur = classify_file(recording, model=torch_backend, params=params, device="cpu")
    got, dur2 = classify_file(recording, model=onnx_backend, params=params)
    assert dur == dur2 == pytest.approx(12.0)
    assert len(got) == len(want) == 2  # the two whistles (an untrained net: themes at random)
    for g, w in zip(got, want, strict=True):
        assert (g.theme, g.start_s, g.end_s) == (w.theme, w.start_s, w.end_s)
        assert g.theme_confidence == pytest.approx(w.theme_confidence, abs=1e-4)
        assert g.low_hz < 4500.0 < g.high_hz  # the band in Hz of the linear bands


def test_classify_with_an_stft_onnx_model_imports_no_heavy_library(stft_model, recording):
    _, onnx = stft_model
    code = ("import sys\nfrom songnet.cli import main\n"
            f"status = main(['classify', {str(recording)!r}, '--model', {str(onnx)!r}, '-q'])\n"
            "heavy = sorted({m.split('.')[0] for m in sys.modules} & "
            "{'torch', 'librosa', 'scipy', 'numba', 'matplotlib', 'sklearn'})\n"
            "print(heavy)\nsys.exit(status)")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=False)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().splitlines()[-1] == "[]", proc.stderr
