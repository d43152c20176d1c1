"""The whole pipeline on a tiny config, stage by stage, through the command line.

Three themes, a handful of birds, a few epochs: every stage runs and hands the next one
what it needs, and the tiny model already beats chance on held-out birds.
"""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import pytest
import soundfile as sf
import yaml

from songnet.cli import main

pytestmark = pytest.mark.slow

THEMES = ("T01", "T04", "T08")


def tiny_params(repo: Path, out: Path) -> Path:
    params = yaml.safe_load((repo / "params.yaml").read_text())
    params["synthesize"].update(train_birds=4, train_songs_per_bird=5, val_birds=1,
                                val_songs_per_bird=3, test_birds=2, test_songs_per_bird=3,
                                stress_birds=1, stress_songs_per_bird=3, no_song_factor=1.0)
    params["train"].update(epochs=15, patience=15, batch_size=16, lr=0.01,
                           channels=[8, 16, 32])
    params["project"].update(n_neighbors=5, threshold_from="")  # no validate run here
    params["validate"].update(epochs=2, variants=2, folds=3, bootstrap=50)
    path = out / "params.yaml"
    path.write_text(yaml.safe_dump(params))
    return path


def songnet(*args: str) -> None:
    assert main([*args, "-q"]) == 0, f"songnet {' '.join(args)} failed"


def test_tiny_pipeline_end_to_end(tmp_path, repo_root):
    catalog = tmp_path / "catalog"
    catalog.mkdir()
    for name in [*THEMES, "dialect"]:  # the themes and the locality's shared trill
        shutil.copy(repo_root / "songnet" / "surrogates" / "catalog" / f"{name}.yaml", catalog)
    sketches = tmp_path / "1966"
    sketches.mkdir()
    for name in ("1966-T01v.csv", "1966-L1.csv"):
        shutil.copy(repo_root / "data" / "1966" / name, sketches)
    params = str(tiny_params(repo_root, tmp_path))
    surrogates, features = tmp_path / "surrogates", tmp_path / "features"
    model_dir, metrics = tmp_path / "model", tmp_path / "evaluation.json"

    songnet("synthesize", "--catalog", str(catalog), "--out", str(surrogates), "--params", params)
    rows = list(csv.DictReader((surrogates / "manifest.csv").open()))
    assert {r["theme"] for r in rows} == {*THEMES, "unknown", "no_song"}
    assert {r["split"] for r in rows} == {"train", "val", "test", "stress"}

    songnet("features", "--manifest", str(surrogates / "manifest.csv"), "--out", str(features),
            "--params", params)
    info = json.loads((features / "features.json").read_text())
    assert info["classes"] == [*THEMES, "unknown", "no_song"]

    songnet("train", "--features", str(features), "--out", str(model_dir), "--params", params)
    assert (model_dir / "model.pt").is_file()
    assert len((model_dir / "history.csv").read_text().splitlines()) >= 2

    songnet("evaluate", "--model", str(model_dir / "model.pt"), "--features", str(features),
            "-o", str(metrics.parent), "--params", params)
    scores = json.loads(metrics.read_text())
    assert scores["test"]["accuracy"] > 1.5 / len(info["classes"])  # clearly above chance
    for key in ("macro_f1", "ece"):
        assert 0.0 <= scores["test"][key] <= 1.0
    assert "accuracy" in scores["stress"]

    resynth = tmp_path / "resynth"
    songnet("resynthesize", str(sketches), "-o", str(resynth), "--params", params)
    assert len(list(resynth.glob("*.wav"))) == 2

    embeddings, latent = tmp_path / "embeddings", tmp_path / "latent"
    songnet("embed", "--model", str(model_dir / "model.pt"), "--features", str(features),
            "--resynth", str(resynth), "--out", str(embeddings), "--params", params)
    songnet("project", "--embeddings", str(embeddings), "--out", str(latent), "--params", params)
    table = list(csv.DictReader((latent / "persistence.csv").open()))
    assert {r["status"] for r in table} <= {"persists", "lost", "new"}
    assert any("1966-T01v" in json.dumps(r) for r in table)
    assert all(0.0 <= float(r["persist_share"]) <= 1.0 for r in table)
    assert all(int(r["n_2020"]) > 0 for r in table)  # each decision rests on 2020 songs

    # every theme held out once (3 folds of one), the rule chosen out of sample, and the
    # project stage reading it
    validation = tmp_path / "validation"
    songnet("validate", "--features", str(features), "--catalog", str(catalog), "-o",
            str(validation), "--params", params)
    summary = json.loads((validation / "summary.json").read_text())["validation"]
    assert json.loads((validation / "metrics.json").read_text()) == {
        "lost_rate": summary["lost_rate"], "persist_rate": summary["persist_rate"]}
    assert [f["themes"] for f in summary["folds"]] == [[t] for t in THEMES]
    for key in ("lost", "persist"):
        low, high = summary[f"{key}_ci"]
        assert 0.0 <= low <= summary[f"{key}_rate"] <= high <= 1.0
    assert summary["n_lost"] == 3 * 2  # every variant of every held-out theme
    assert summary["n_persist"] == 3 * 2 * 1  # the reporting half of the kept themes'
    held = list(csv.DictReader((validation / "leave_one_out.csv").open()))
    assert sorted(r["theme"] for r in held) == sorted(THEMES)
    ruled = yaml.safe_load(Path(params).read_text())
    ruled["project"]["threshold_from"] = str(validation / "summary.json")
    (tmp_path / "ruled.yaml").write_text(yaml.safe_dump(ruled))
    songnet("project", "--embeddings", str(embeddings), "--out", str(tmp_path / "latent2"),
            "--params", str(tmp_path / "ruled.yaml"))
    info2 = json.loads((tmp_path / "latent2" / "latent.json").read_text())
    assert info2["params"]["threshold_quantile"] == summary["rule"]["threshold_quantile"]

    wav = next(resynth.glob("*.wav"))
    out = tmp_path / "events.json"
    assert main(["classify", str(wav), "--model", str(model_dir / "model.pt"),
                 "--format", "json", "-o", str(out), "--params", params, "-q"]) == 0
    events = json.loads(out.read_text())
    assert len(events) <= 1  # one resynthesized song: never split into several events
    duration = sf.info(wav).duration
    for event in events:
        assert event["file"] == str(wav) and event["theme"] in info["classes"][:-1]
        assert 0.0 <= event["start_s"] < event["end_s"] <= duration + 1e-6

    # songnet compare: each (arch, frontend) pair trained and scored on the same surrogates
    with open(params) as f:
        p = yaml.safe_load(f)
    p["compare"].update(archs=["songnet", "lenet"], frontends=["cqt", "mel"], epochs=2)
    p["train"]["channels"] = [8, 16, 32]
    Path(params).write_text(yaml.safe_dump(p))
    script = tmp_path / "soundscape.py"  # stands in for benchmarks/soundscape.py
    script.write_text("import json, sys\nassert sys.argv[1] == '--model'\n"
                      "summary = sys.argv[sys.argv.index('--summary') + 1]\n"
                      "figures = {'precision': 0.9, 'recall': 0.8, 'boundary_ms': 9}\n"
                      "json.dump({'figures': figures}, open(summary, 'w'))\n")
    comparison = tmp_path / "comparison"
    songnet("compare", "--manifest", str(surrogates / "manifest.csv"), "-o", str(comparison),
            "--params", params, "--soundscape", str(script))
    rows = list(csv.DictReader((comparison / "comparison.csv").open()))
    assert [(r["arch"], r["frontend"]) for r in rows] == [
        ("songnet", "cqt"), ("lenet", "cqt"), ("songnet", "mel"), ("lenet", "mel")]
    for r in rows:
        assert int(r["params"]) > 0 and float(r["mflops"]) > 0 and float(r["images_per_s"]) > 0
        assert 0 <= float(r["test_accuracy"]) <= 1 and 0 <= float(r["stress_accuracy"]) <= 1
        assert (float(r["soundscape_precision"]), float(r["soundscape_recall"])) == (0.9, 0.8)
        assert (comparison / "models" / f"{r['arch']}-{r['frontend']}.pt").is_file()
    assert (comparison / "comparison.png").read_bytes()[:4] == b"\x89PNG"
    # a rerun trains nothing (each pair's row is kept), and gives the same table
    before = (comparison / "comparison.csv").read_text()
    stamps = {q: q.stat().st_mtime_ns for q in (comparison / "models").iterdir()}
    songnet("compare", "--manifest", str(surrogates / "manifest.csv"), "-o", str(comparison),
            "--params", params)
    assert (comparison / "comparison.csv").read_text() == before
    assert {q: q.stat().st_mtime_ns for q in (comparison / "models").iterdir()} == stamps
    # where a pair trains is no part of its key: --device reuses the rows too
    songnet("compare", "--manifest", str(surrogates / "manifest.csv"), "-o", str(comparison),
            "--params", params, "--device", "cpu")
    assert (comparison / "comparison.csv").read_text() == before
    assert {q: q.stat().st_mtime_ns for q in (comparison / "models").iterdir()} == stamps
    # another schedule is another experiment: every pair is trained again
    p["compare"]["epochs"] = 3
    Path(params).write_text(yaml.safe_dump(p))
    songnet("compare", "--manifest", str(surrogates / "manifest.csv"), "-o", str(comparison),
            "--params", params)
    assert all(q.stat().st_mtime_ns > stamps[q] for q in stamps)
    rows = list(csv.DictReader((comparison / "comparison.csv").open()))
    # --retime: only the speed column is measured again, also in a checkout without the
    # trained models (models/ is not kept in git; speed needs only the network's shape)
    shutil.rmtree(comparison / "models")
    songnet("compare", "--manifest", str(surrogates / "manifest.csv"), "-o", str(comparison),
            "--params", params, "--retime")
    again = list(csv.DictReader((comparison / "comparison.csv").open()))
    assert [{k: v for k, v in r.items() if k != "images_per_s"} for r in again] == [
        {k: v for k, v in r.items() if k != "images_per_s"} for r in rows]
    assert all(float(r["images_per_s"]) > 0 for r in again)
