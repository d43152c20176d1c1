"""songnet.features.npcqt: the NumPy CQT and images equal the torch ones."""

from __future__ import annotations

import dataclasses
import itertools

import numpy as np
import pytest
import torch

from songnet.core.errors import SongnetError
from songnet.features import images, npcqt
from songnet.features.cqt import batch_power
from songnet.features.params import FeatureParams

P = FeatureParams()


def noise_and_tones(n: int, seed: int, sr: int = P.sr) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(n) / sr
    y = 0.05 * rng.standard_normal(n)
    for f in rng.uniform(1200, 9000, size=4):
        y += 0.2 * np.sin(2 * np.pi * f * t)
    return y.astype(np.float32)


def torch_power(y: np.ndarray, params: FeatureParams) -> np.ndarray:
    return batch_power(torch.from_numpy(y)[None], params=params, device="cpu")[0].numpy()


@pytest.mark.parametrize("n", [1, 127, 1000, 5000, P.n_samples, 20 * P.sr + 77])
def test_power_equals_the_torch_convolution(n):
    y = noise_and_tones(n, seed=n)
    got = npcqt.cqt_power(y, params=P)
    want = torch_power(y, P)
    assert got.shape == want.shape == (P.n_bins, n // P.hop_length + 1)
    assert got.dtype == np.float32
    assert np.abs(got - want).max() <= 1e-5 * want.max()


@pytest.mark.parametrize("params", [FeatureParams(hop_length=100),
                                    FeatureParams(sr=16000, fmin=500.0, n_bins=60),
                                    FeatureParams(bins_per_octave=12, n_bins=40)],
                         ids=["hop100", "sr16k", "bpo12"])
def test_power_equals_torch_for_other_params(params):
    y = noise_and_tones(3 * params.sr + 13, seed=1, sr=params.sr)
    got, want = npcqt.cqt_power(y, params=params), torch_power(y, params)
    assert np.abs(got - want).max() <= 1e-5 * want.max()


def test_a_tone_peaks_in_its_bin():
    t = np.arange(P.sr) / P.sr
    f = float(P.frequencies[50])  # a bin centre, about 4.2 kHz
    power = npcqt.cqt_power(np.sin(2 * np.pi * f * t).astype(np.float32), params=P)
    assert np.all(power[:, 20:-20].argmax(axis=0) == 50)


def test_tiling_does_not_change_the_result(monkeypatch):
    y = noise_and_tones(12 * P.sr, seed=4)
    whole = npcqt.cqt_power(y, params=P)
    monkeypatch.setattr(npcqt, "_TILE_FRAMES", 100)
    tiled = npcqt.cqt_power(y, params=P)
    assert tiled.shape == whole.shape
    # BLAS may sum a smaller product in another order (CPU-dependent kernels), so the
    # tiles agree to float32 rounding, not bit for bit; a misplaced tile is off by O(1).
    assert np.abs(tiled - whole).max() <= 1e-5 * whole.max()
    assert np.allclose(tiled, whole, rtol=1e-4, atol=1e-6 * whole.max())


@pytest.mark.parametrize("normalize", ["max", "fixed"])
def test_images_equal_the_torch_normalisation(normalize):
    params = dataclasses.replace(P, normalize=normalize)
    power = torch_power(noise_and_tones(P.n_samples, seed=2), params)[None]  # (1, bins, T)
    got = npcqt.power_to_images(power, params=params)
    want = images.power_to_images(torch.from_numpy(power), params=params).numpy()
    assert np.abs(got - want).max() < 1e-5
    silent = npcqt.power_to_images(np.zeros_like(power), params=params)
    assert np.all(silent == 0.0)


def test_windows_cut_from_db_equal_images_of_their_frames():
    y = noise_and_tones(10 * P.sr, seed=5)
    power = npcqt.cqt_power(y, params=P)
    starts = np.array([0, 7, 300, power.shape[1] - P.n_frames])
    got = npcqt.db_windows(npcqt.power_to_db(power), starts, params=P)
    want = np.stack([npcqt.power_to_images(power[:, s:s + P.n_frames], params=P)
                     for s in starts])
    assert got.shape == (4, P.n_bins, P.n_frames)
    assert np.array_equal(got, want)


def test_fit_window_pads_and_crops_to_the_loudest_stretch():
    short = npcqt.fit_window(np.ones(10, dtype=np.float32), params=P)
    assert short.shape == (P.n_samples,) and short[:10].sum() == 10 and short[10:].sum() == 0
    y = np.zeros(2 * P.n_samples, dtype=np.float32)
    y[P.n_samples + 5] = 1.0
    cropped = npcqt.fit_window(y, params=P)
    assert cropped.shape == (P.n_samples,) and cropped.max() == 1.0
    assert images.fit_window is npcqt.fit_window


def test_plan_is_cached_per_params():
    assert npcqt.plan(P) is npcqt.plan(FeatureParams())
    assert npcqt.plan(FeatureParams(hop_length=100)) is not npcqt.plan(P)


def test_low_octaves_through_their_spectrum_equal_their_kernels(monkeypatch):
    assert [(g.lo, g.hi) for g in npcqt.plan(P).spectral] == [(8, 32), (0, 8)]
    y = noise_and_tones(7 * P.sr + 5, seed=6)
    spectral = npcqt.cqt_power(y, params=P)
    monkeypatch.setattr(npcqt, "_spectral_group", lambda *args, **kwargs: None)
    npcqt._plan.cache_clear()
    try:
        assert not npcqt.plan(P).spectral
        direct = npcqt.cqt_power(y, params=P)
    finally:
        npcqt._plan.cache_clear()
    assert np.abs(spectral - direct).max() <= 1e-5 * direct.max()


@pytest.mark.parametrize("threads", [2, 3])
def test_threads_do_not_change_the_result(monkeypatch, threads):
    y = noise_and_tones(9 * P.sr + 301, seed=7)
    one = npcqt.cqt_power(y, params=P)
    split = npcqt.cqt_power(y, params=P, threads=threads)  # a tile per thread
    monkeypatch.setattr(npcqt, "_TILE_FRAMES", 200)  # several tiles per thread
    many = npcqt.cqt_power(y, params=P, threads=threads)
    for got in (split, many):  # float32 rounding (as for tiles), not a misplaced tile
        assert got.shape == one.shape
        assert np.abs(got - one).max() <= 1e-5 * one.max()
        assert np.allclose(got, one, rtol=1e-4, atol=1e-6 * one.max())
    with pytest.raises(SongnetError, match="threads=0"):
        npcqt.cqt_power(y, params=P, threads=0)


@pytest.mark.parametrize("n_frames", [1, 7, 8, 100, 4096, 4097, 11026])
@pytest.mark.parametrize("threads", [1, 2, 3])
def test_tiles_cover_the_frames_aligned(n_frames, threads):
    tiles = npcqt._tiles(n_frames, threads=threads, align=8)
    assert tiles[0][0] == 0 and tiles[-1][1] == n_frames
    assert all(a[1] == b[0] for a, b in itertools.pairwise(tiles))  # no gap, no overlap
    assert all(t0 % 8 == 0 and t1 > t0 and t1 - t0 <= npcqt._TILE_FRAMES + 8
               for t0, t1 in tiles)
    if threads > 1 and n_frames > npcqt._TILE_FRAMES:
        assert len(tiles) % threads == 0  # no thread waits alone on a last tile


def test_threads_asking_for_the_plan_at_once_share_one():
    from concurrent.futures import ThreadPoolExecutor

    params = FeatureParams(hop_length=96)  # not cached by another test
    npcqt.plan_in_background(params)
    with ThreadPoolExecutor(4) as pool:
        plans = list(pool.map(lambda _: npcqt.plan(params), range(8)))
    assert all(p is plans[0] for p in plans)
    assert npcqt._plan.cache_info().currsize >= 1


def test_chirp_images_equal_the_torch_path():
    t = np.arange(P.n_samples) / P.sr
    y = (0.5 * np.sin(2 * np.pi * (1500.0 * t + 1000.0 * t ** 2))).astype(np.float32)
    got = npcqt.power_to_images(npcqt.cqt_power(y, params=P), params=P)
    want = images.images(y[None], params=P, device="cpu")[0]
    assert got.shape == want.shape == (P.n_bins, P.n_frames)
    assert np.corrcoef(got.ravel(), want.ravel())[0, 1] > 0.99999
    assert np.abs(got - want).max() < 1e-3
