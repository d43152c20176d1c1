"""``dvc repro`` end to end with a small ``data/2020/`` of generated theme folders: the themes
stage learns the catalog from them and every later stage uses it (a copy of the repository,
tiny params)."""

from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import yaml
from learn_songs import write_theme_folder
from test_pipeline import tiny_params

from songnet.surrogates.themes import load_catalog

pytestmark = pytest.mark.slow


def _copy_repo(src: Path, dst: Path) -> None:
    files = subprocess.run(["git", "ls-files", "-co", "--exclude-standard"], cwd=src,
                           check=True, capture_output=True, text=True).stdout.split()
    for rel in files:
        if (src / rel).is_file() and not rel.startswith(("data/2020/", "experiments/")):
            (dst / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src / rel, dst / rel)
    for rel in ("songnet/models",):  # the shipped model stays until `release` replaces it
        shutil.copytree(src / rel, dst / rel, dirs_exist_ok=True)
    # the rule of the validation pipeline, which the default pipeline reads and never runs
    rule = "experiments/validation/rule.json"
    (dst / rule).parent.mkdir(parents=True, exist_ok=True)
    shutil.copy2(src / rule, dst / rule)


def _repro(repo_root: Path, tmp_path: Path, fill) -> Path:
    """A copy of the repository with tiny params and two 1966 sketches, ``fill(data_2020)``
    run, then ``dvc repro``; returns the copy."""
    repo = tmp_path / "repo"
    _copy_repo(repo_root, repo)
    for sketch in sorted((repo / "data" / "1966").glob("*.csv"))[2:]:
        sketch.unlink()
    fill(repo / "data" / "2020")
    params = tiny_params(repo_root, tmp_path)
    shutil.copy(params, repo / "params.yaml")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "songnet").write_text(f'#!/bin/sh\nexec "{sys.executable}" -m songnet "$@"\n')
    (bin_dir / "songnet").chmod(0o755)
    env = {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}", "PYTHONPATH": str(repo)}
    subprocess.run(["git", "init", "-q"], cwd=repo, check=True)
    run = subprocess.run([sys.executable, "-m", "dvc", "repro", "-q"], cwd=repo, env=env,
                         capture_output=True, text=True, timeout=900)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    return repo


def test_dvc_repro_learns_the_catalog_from_data_2020(tmp_path, repo_root):
    catalog = {t.name: t for t in load_catalog()}

    def fill(data_2020: Path) -> None:
        for k, name in enumerate(("T01", "T04", "T08")):
            write_theme_folder(data_2020, catalog[name], n_songs=2, seed=k)

    repo = _repro(repo_root, tmp_path, fill)
    learned = repo / "data" / "catalog"
    assert [t.name for t in load_catalog(learned)] == ["T01", "T04", "T08"]
    assert (learned / "learn_report.png").is_file()
    assert "Learned by `songnet themes learn`" in (learned / "T04.yaml").read_text()
    rows = list(csv.DictReader((repo / "data" / "surrogates" / "manifest.csv").open()))
    assert {r["theme"] for r in rows} == {"T01", "T04", "T08", "unknown", "no_song"}
    info = json.loads((repo / "experiments" / "metrics.json").read_text())
    assert "acc" in info["test"]
    themes = list(csv.DictReader((repo / "experiments" / "themes.csv").open()))
    assert [t["name"] for t in themes] == ["T01", "T04", "T08"]
    stages = yaml.safe_load((repo / "dvc.lock").read_text())["stages"]
    assert "data/2020" in {d["path"] for d in stages["themes"]["deps"]}


def test_dvc_repro_with_real_birds_in_data_2020(tmp_path, repo_root, real_birds):
    """``data/2020/`` holds one folder per real bird (songs sung anew from its real notes,
    one recording of them with slow trills, real other species between songs): the themes
    stage learns each bird with its notes, the clips grow to hold its longest songs, the
    real songs and backgrounds join the surrogate clips, and every later stage runs on
    that catalog."""
    birds = real_birds.BIRDS

    def fill(data_2020: Path) -> None:
        for k, bird in enumerate(birds):
            rng = np.random.default_rng(100 + k)
            (data_2020 / bird.name).mkdir(parents=True)
            for f in range(2):
                parts = []
                for _ in range(2):
                    r = real_birds.variant(bird, rng, slow=f == 1)
                    parts.append(real_birds.scene(bird, r, rng)[0])
                sf.write(data_2020 / bird.name / f"rec-{f}.wav", np.concatenate(parts),
                         real_birds.SR, subtype="FLOAT")

    repo = _repro(repo_root, tmp_path, fill)
    learned = {t.name: t for t in load_catalog(repo / "data" / "catalog")}
    assert sorted(learned) == sorted(b.name for b in birds)
    for bird in birds:
        assert len(learned[bird.name].notes) == len(bird.intro), bird.name
    report = list(csv.DictReader((repo / "data" / "catalog" / "learn_report.csv").open()))
    assert {r["theme"] for r in report} == {b.name for b in birds}
    rows = list(csv.DictReader((repo / "data" / "surrogates" / "manifest.csv").open()))
    assert {r["theme"] for r in rows} == {*(b.name for b in birds), "unknown", "no_song"}
    # the birds' own songs train too (both recordings of a bird in train: too few to hold
    # one out), and their song-free stretches are backgrounds
    real = [r for r in rows if r["real_recording"]]
    assert {r["theme"] for r in real} == {b.name for b in birds}
    assert {r["split"] for r in real} == {"train"}
    assert any(r["site_background"] for r in rows if not r["real_recording"])
    clip_s = max(float(r["duration_s"]) for r in rows)
    longest = max(t.duration_s for t in learned.values())
    assert clip_s >= longest
    features = json.loads((repo / "experiments" / "metrics.json").read_text())
    assert "acc" in features["test"]
    assert (repo / "experiments" / "latent" / "persistence.csv").is_file()
