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

import pytest
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


def test_dvc_repro_learns_the_catalog_from_data_2020(tmp_path, repo_root):
    repo = tmp_path / "repo"
    _copy_repo(repo_root, repo)
    for sketch in sorted((repo / "data" / "1966").glob("*.csv"))[2:]:
        sketch.unlink()
    catalog = {t.name: t for t in load_catalog()}
    for k, name in enumerate(("T01", "T04", "T08")):
        write_theme_folder(repo / "data" / "2020", catalog[name], n_songs=2, seed=k)
    params = tiny_params(repo_root, tmp_path)
    shutil.copy(params, repo / "params.yaml")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "songnet").write_text(f'#!/bin/sh\nexec "{sys.executable}" -m songnet "$@"\n')
    (bin_dir / "songnet").chmod(0o755)
    env = {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}", "PYTHONPATH": str(repo)}
    subprocess.run(["git", "init", "-q"], cwd=repo, check=True)
    run = subprocess.run([sys.executable, "-m", "dvc", "repro", "-q"], cwd=repo, env=env,
                         capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    learned = repo / "data" / "catalog"
    assert [t.name for t in load_catalog(learned)] == ["T01", "T04", "T08"]
    assert (learned / "learn_report.png").is_file()
    assert "Learned by `songnet themes learn`" in (learned / "T04.yaml").read_text()
    rows = list(csv.DictReader((repo / "data" / "surrogates" / "manifest.csv").open()))
    assert {r["theme"] for r in rows} == {"T01", "T04", "T08", "unknown", "no_song"}
    info = json.loads((repo / "experiments" / "metrics.json").read_text())
    assert "accuracy" in info["test"]
    themes = list(csv.DictReader((repo / "experiments" / "themes.csv").open()))
    assert [t["name"] for t in themes] == ["T01", "T04", "T08"]
    stages = yaml.safe_load((repo / "dvc.lock").read_text())["stages"]
    assert "data/2020" in {d["path"] for d in stages["themes"]["deps"]}
