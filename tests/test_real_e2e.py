"""A reduced run of ``benchmarks/real_e2e.py``: real birds' recordings in ``data/2020``, the
pipeline trained on them, held-out recordings and real negatives classified, and BirdNET's
one-shot baseline on the same songs (slow)."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

pytestmark = pytest.mark.slow


def test_a_pipeline_trained_on_real_birds_names_their_held_out_songs(repo_root, real_birds,
                                                                   tmp_path):
    bench = str(repo_root / "benchmarks" / "real_e2e.py")
    run = subprocess.run([sys.executable, bench,
                          "--files", "2", "--songs", "2", "--folds", "1", "--epochs", "15",
                          "--no-foreign", "--keep", str(tmp_path / "kept")],
                         capture_output=True, text=True, timeout=1200, cwd=repo_root)
    assert run.returncode == 0, run.stderr[-3000:]
    last = run.stdout.strip().splitlines()[-1]
    got = {k: float(v) for k, v in re.findall(r"(\w+)=([\d.]+)", last)}
    assert got["songs"] == 2 * len(real_birds.BIRDS)  # one recording of each bird held out
    assert got["found"] >= got["songs"] - 1
    assert got["named_right"] >= 0.5 * got["songs"]  # chance: one in three birds
    assert got["false_events"] <= 1
    # (the foreign-bird check needs more than one recording per bird left: with one, its
    # two-theme catalog leaves too few random themes far enough from it for `unknown`)
    assert "foreign_songs" not in got
    # BirdNET's one-shot baseline named the same songs, in the same run
    assert 0 <= got["baseline_named_right"] <= got["songs"]
    assert "baseline (BirdNET V2.4 embedding" in run.stdout
    assert run.stdout.count("  realism ") == len(real_birds.BIRDS)
    assert "| true \\ answer |" in run.stdout
    # the kept run, classified again by the same code with its own models: the same answers
    again = subprocess.run([sys.executable, bench, "--reclassify", str(tmp_path / "kept")],
                           capture_output=True, text=True, timeout=300, cwd=repo_root)
    assert again.returncode == 0, again.stderr[-3000:]
    redo = dict(re.findall(r"(\w+)=([\d.]+)", again.stdout.strip().splitlines()[-1]))
    assert {k: float(v) for k, v in redo.items()} == {
        k: got[k] for k in ("songs", "found", "named_right", "unknown", "wrong",
                            "false_events")}
    assert "fold 0 (rec-0 held out), re-classified:" in again.stdout
    empty = subprocess.run([sys.executable, bench, "--reclassify", str(tmp_path)],
                           capture_output=True, text=True, timeout=60, cwd=repo_root)
    assert empty.returncode != 0 and "no sung.json" in empty.stderr
