"""songnet.cqt: the batched convolution CQT against librosa's, bin by bin."""

from __future__ import annotations

import librosa
import numpy as np
import pytest
import torch

from songnet.core.device import resolve_device
from songnet.features.cqt import SPARSITY, cqt_frequencies, cqt_magnitude, kernels, wavelet_lengths
from songnet.features.cqt import batch_power as cqt_power
from songnet.features.params import FeatureParams

P = FeatureParams()


def librosa_mag(y: np.ndarray, params: FeatureParams) -> np.ndarray:
    return np.abs(librosa.cqt(y, sr=params.sr, hop_length=params.hop_length, fmin=params.fmin,
                              n_bins=params.n_bins, bins_per_octave=params.bins_per_octave))


def noise_and_tones(n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(n) / P.sr
    y = 0.05 * rng.standard_normal(n)
    for f in rng.uniform(1200, 9000, size=4):
        y += 0.2 * np.sin(2 * np.pi * f * t)
    return y.astype(np.float32)


def test_resolve_device():
    assert resolve_device("cpu") == torch.device("cpu")
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert resolve_device("auto").type == expected


def test_kernels_are_one_group_per_octave_from_the_top_and_cached():
    kern = kernels(P, "cpu")
    spans = [(lo, hi) for lo, hi, _ in kern.groups]
    assert spans == [(56, 80), (32, 56), (8, 32), (0, 8)]
    for lo, hi, w in kern.groups:
        n_fft = w.shape[-1]
        assert w.shape[:2] == (2 * (hi - lo), 1) and n_fft & (n_fft - 1) == 0
    assert kernels(P, "cpu") is kern


@pytest.mark.parametrize("n", [P.sr, P.sr + 77, 5000])
def test_magnitudes_match_librosa_frame_for_frame(n):
    y = noise_and_tones(n, seed=n)
    ref = librosa_mag(y, P)
    got = cqt_magnitude(torch.from_numpy(y)[None], params=P, device="cpu")[0].numpy()
    assert got.shape == ref.shape == (P.n_bins, n // P.hop_length + 1)
    top = slice(P.n_bins - P.bins_per_octave, P.n_bins)  # no down-sampling in librosa here
    assert np.allclose(got[top], ref[top], rtol=1e-3, atol=1e-3 * ref.max())
    rel = np.abs(got - ref).mean() / ref.mean()
    assert rel < 0.02


def test_batch_rows_are_independent():
    a, b = noise_and_tones(8000, 1), noise_and_tones(8000, 2)
    both = cqt_magnitude(torch.from_numpy(np.stack([a, b])), params=P, device="cpu")
    alone = cqt_magnitude(torch.from_numpy(b)[None], params=P, device="cpu")
    assert torch.allclose(both[1], alone[0], atol=1e-5)


def test_other_parameters_still_match_librosa():
    params = FeatureParams(sr=16000, fmin=500.0, bins_per_octave=12, n_bins=40, hop_length=64)
    y = noise_and_tones(16000, 5)
    ref = librosa_mag(y, params)
    got = cqt_magnitude(torch.from_numpy(y)[None], params=params, device="cpu")[0].numpy()
    assert got.shape == ref.shape
    db = [20 * np.log10(np.maximum(m, 1e-6)) for m in (got, ref)]
    assert np.corrcoef(db[0].ravel(), db[1].ravel())[0, 1] > 0.99


def librosa_kernel(freqs: np.ndarray, alpha: np.ndarray, sr: int) -> np.ndarray:
    """One octave's time-domain kernels built with librosa itself (the definition)."""
    basis, lengths = librosa.filters.wavelet(freqs=freqs, sr=sr, filter_scale=1, norm=1,
                                             pad_fft=True, window="hann", alpha=alpha)
    n_fft = basis.shape[1]
    fft_basis = np.fft.fft(basis * (lengths[:, None] / n_fft), n=n_fft, axis=1)
    fft_basis = librosa.util.sparsify_rows(fft_basis[:, : n_fft // 2 + 1],
                                           quantile=SPARSITY).toarray()
    f, m = np.arange(n_fft // 2 + 1), np.arange(n_fft)
    v = fft_basis @ np.exp(-2j * np.pi * np.outer(f, m) / n_fft) / np.sqrt(lengths[:, None])
    return np.concatenate([v.real, v.imag]).astype(np.float32)[:, None, :]


@pytest.mark.parametrize("params", [P, FeatureParams(sr=16000, fmin=500.0, bins_per_octave=12,
                                                     n_bins=40, hop_length=64)])
def test_kernels_built_without_librosa_equal_librosas(params):
    freqs = librosa.cqt_frequencies(n_bins=params.n_bins, fmin=params.fmin,
                                    bins_per_octave=params.bins_per_octave)
    assert np.array_equal(cqt_frequencies(params.n_bins, params.fmin, params.bins_per_octave),
                          freqs)
    alpha = librosa.filters._relative_bandwidth(freqs=freqs)
    lengths, cutoff = librosa.filters.wavelet_lengths(freqs=freqs, sr=params.sr, window="hann",
                                                      filter_scale=1, alpha=alpha)
    ours = wavelet_lengths(params.sr, params.fmin, params.bins_per_octave, params.n_bins)
    assert np.array_equal(ours[0], lengths) and ours[1] == cutoff
    for lo, hi, w in kernels(params, "cpu").groups:
        ref = librosa_kernel(freqs[lo:hi], alpha[lo:hi], params.sr)
        assert w.shape == ref.shape
        assert np.allclose(w.numpy(), ref, rtol=0, atol=1e-9 * np.abs(ref).max())


def test_power_is_the_squared_magnitude():
    y = torch.from_numpy(noise_and_tones(6000, 3))[None]
    power = cqt_power(y, params=P, device="cpu")
    mag = cqt_magnitude(y, params=P, device="cpu")
    assert torch.allclose(power, mag ** 2, rtol=1e-5, atol=1e-12)


def test_input_rank_is_checked():
    with pytest.raises(ValueError, match=r"\(B, n\)"):
        cqt_magnitude(torch.zeros(10), params=P, device="cpu")


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA GPU on this machine")
def test_gpu_matches_cpu():
    y = torch.from_numpy(noise_and_tones(P.n_samples, 9))[None]
    cpu = cqt_magnitude(y, params=P, device="cpu")
    gpu = cqt_magnitude(y, params=P, device="cuda").cpu()
    assert torch.allclose(cpu, gpu, rtol=1e-3, atol=1e-3 * float(cpu.max()))


def chirp(seconds: float, f0: float, f1: float, seed: int) -> np.ndarray:
    """A log sweep from ``f0`` to ``f1`` Hz over ``seconds`` in noise 34 dB below it, as in
    the benchmark's song-like clips (without noise the two paths part below -60 dB)."""
    t = np.arange(int(seconds * P.sr)) / P.sr
    rate = np.log(f1 / f0) / seconds
    phase = 2 * np.pi * f0 * (np.exp(rate * t) - 1) / rate
    noise = 1e-2 * np.random.default_rng(seed).standard_normal(t.size)
    return (0.5 * np.sin(phase) + noise).astype(np.float32)


def test_a_4khz_tone_peaks_in_bin_48():
    t = np.arange(P.sr) / P.sr  # bin 48 is 1000 * 2 ** (48 / 24) = 4000 Hz exactly
    y = torch.from_numpy(np.sin(2 * np.pi * 4000.0 * t).astype(np.float32))[None]
    power = cqt_power(y, params=P, device="cpu")[0].numpy()
    assert np.all(power[:, 20:-20].argmax(axis=0) == 48)


def test_chirp_images_correlate_with_librosas():
    from songnet.features.images import image_reference, images

    y = chirp(P.window_s, 1100.0, 9000.0, seed=3)
    ours = images(y[None], params=P, device="cpu")[0]
    ref = image_reference(y, params=P)
    assert np.corrcoef(ours.ravel(), ref.ravel())[0, 1] >= 0.997
    # the sweep rises: its loudest bin climbs with time
    peaks = ours[:, 40:-40].argmax(axis=0)
    assert peaks[-1] - peaks[0] > 50 and np.all(np.diff(peaks) >= -1)
