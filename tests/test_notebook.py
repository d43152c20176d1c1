"""The latent-space notebook runs on a tiny `project` output and shows the map."""

from __future__ import annotations

import json
import sys

import numpy as np
import pandas as pd
import pytest
import soundfile as sf

from songnet.core import audio
from songnet.latent.project import LatentOutputs, save
from songnet.surrogates.birds import sing
from songnet.surrogates.themes import load_catalog
from songnet.synth import SR

nbclient = pytest.importorskip("nbclient")
nbformat = pytest.importorskip("nbformat")


def tiny_latent(folder):
    rng = np.random.default_rng(0)
    n = 12
    maps = pd.DataFrame({
        "song_id": [f"s{i}" for i in range(n)] + ["1966-a", "1966-b"],
        "era": ["2020"] * n + ["1966"] * 2,
        "theme": ["T01"] * 6 + ["T02"] * 6 + ["T01", "L1"],
        "source": "surrogate", "split": "test"})
    for col in ("umap_1", "umap_2", "pca_1", "pca_2"):
        maps[col] = rng.normal(size=n + 2)
    persistence = pd.DataFrame({
        "song_id": ["1966-a", "1966-b", ""], "theme_1966": ["T01", "L1", ""],
        "theme_2020": ["T01", "T02", "T02"], "distance": [1.0, 9.0, 9.0],
        "threshold": [2.0, 2.0, 2.0], "status": ["persists", "lost", "new"]})
    info = {"status_counts": {"persists": 1, "lost": 1, "new": 1}}
    save(LatentOutputs(maps=maps, persistence=persistence, info=info), folder)


def test_notebook_executes_on_tiny_outputs(tmp_path, repo_root, monkeypatch):
    tiny_latent(tmp_path / "latent")
    # a kernel spec pointing at this interpreter, whatever is installed system-wide
    spec = tmp_path / "jupyter" / "kernels" / "songnet-test"
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "songnet test", "language": "python"}))
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "jupyter"))
    monkeypatch.setenv("SONGNET_LATENT_DIR", str(tmp_path / "latent"))
    # the explain cell: one catalog song in faint noise
    themes = {t.name: t for t in load_catalog()}
    song = audio.resample(sing(themes["T04"], rng=np.random.default_rng(0)), orig_sr=SR,
                          sr=22050)
    y = np.concatenate([np.zeros(22050, np.float32), 0.3 * song, np.zeros(22050, np.float32)])
    y += 0.003 * np.random.default_rng(1).standard_normal(y.size).astype(np.float32)
    sf.write(tmp_path / "song.wav", y, 22050)
    monkeypatch.setenv("SONGNET_EXPLAIN_RECORDING", str(tmp_path / "song.wav"))
    path = repo_root / "experiments" / "notebooks" / "latent_space.ipynb"
    nb = nbformat.read(path, as_version=4)
    # no logic of its own: the notebook defines no function or class
    code = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
    assert "def " not in code and "class " not in code
    nbclient.NotebookClient(nb, kernel_name="songnet-test", timeout=120,
                            resources={"metadata": {"path": str(path.parent)}}).execute()
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    texts = " ".join(str(o.get("data", {}).get("text/plain", "")) for o in outputs)
    assert "persists" in texts and "1966-b" in texts
    pngs = [o for o in outputs if "image/png" in o.get("data", {})]
    assert len(pngs) == 3  # dim 1 vs 2 of UMAP, and of PCA; the explained song
    assert "T04 ['1: " in texts or any("T04 ['1: " in str(o.get("text", "")) for o in outputs)
