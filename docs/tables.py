"""The result tables of the README and the docs, written from the pipeline's outputs.

The docs' results page includes the tables :func:`write_generated` writes at the start of
every build (``docs/conf.py``). The README's few sit between ``<!-- table:NAME -->`` and
``<!-- /table -->``, so that no figure of them is typed by hand: after ``dvc repro``,
refresh them with

    .venv/bin/python docs/tables.py            # rewrite README.md's tables
    .venv/bin/python docs/tables.py --check    # exit 1 when a table differs from the outputs

``tests/test_readme_tables.py`` runs the check.
"""

from __future__ import annotations

import argparse
import csv
import datetime
import json
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
EXP = ROOT / "experiments"


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as f:
        return list(csv.DictReader(f))


def _metrics() -> str:
    m = json.loads((EXP / "evaluation.json").read_text())
    lines = ["| split | n | accuracy | macro-F1 | ECE | `unknown` recall | `no_song` recall |",
             "|---|---|---|---|---|---|---|"]
    names = {"test": "test (birds never seen in training)",
             "stress": "stress (low SNR, tempo and pitch extremes, clutter)"}
    for split in ("test", "stress"):
        s = m[split]
        pc = s["per_class"]
        lines.append(f"| {names[split]} | {s['n']} | **{s['accuracy']:.4f}** | "
                     f"{s['macro_f1']:.4f} | {s['ece']:.4f} | {pc['unknown']['recall']:.2f} | "
                     f"{pc['no_song']['recall']:.2f} |")
    return "\n".join(lines)


def _persistence() -> str:
    lines = ["| song_id | theme_1966 | theme_2020 | distance | threshold | margin | "
             "persist_share | n_2020 | status |", "|---|---|---|---|---|---|---|---|---|"]
    for r in _rows(EXP / "latent" / "persistence.csv"):
        lines.append(f"| {r['song_id']} | {r['theme_1966']} | {r['theme_2020']} | "
                     f"{float(r['distance']):.3f} | {float(r['threshold']):.3f} | "
                     f"{float(r['margin']):.3f} | {float(r['persist_share']):.2f} | "
                     f"{r['n_2020']} | {r['status']} |")
    return "\n".join(lines)


def _leave_one_out(folder: str) -> str:
    lines = ["| theme | fold | nearest | distance | threshold | lost_share | status | "
             "test_songs_lost |", "|---|---|---|---|---|---|---|---|"]
    for r in _rows(EXP / folder / "leave_one_out.csv"):
        lines.append(f"| {r['theme']} | {r['fold']} | {r['nearest']} | "
                     f"{float(r['distance']):.2f} | "
                     f"{float(r['threshold']):.2f} | {float(r['lost_share']):.2f} | "
                     f"{r['status']} | {float(r['test_songs_lost']):.2f} |")
    return "\n".join(lines)


def _folds() -> str:
    """Out-of-sample rates per fold and pooled, with their 95 % intervals."""
    lines = ["| fold | held-out themes | rule (chosen on the other folds) | lost_rate [95 % CI] "
             "| persist_rate [95 % CI] |", "|---|---|---|---|---|"]
    for r in _rows(EXP / "validation" / "folds.csv"):
        lines.append(f"| {r['fold']} | {r['themes']} | {r['metric']}, {r['decision']}, "
                     f"{r['pooling']}, {float(r['quantile']):g} | "
                     f"{float(r['lost_rate']):.2f} [{_span(r['lost_ci'])}] (n={r['n_lost']}) | "
                     f"{float(r['persist_rate']):.2f} [{_span(r['persist_ci'])}] "
                     f"(n={r['n_persist']}) |")
    v = json.loads((EXP / "validation" / "summary.json").read_text())["validation"]
    lines.append(f"| pooled | all {len(v['folds'])} folds | each fold's own | "
                 f"**{v['lost_rate']:.2f}** [{v['lost_ci'][0]:.2f}, {v['lost_ci'][1]:.2f}] "
                 f"(n={v['n_lost']}) | **{v['persist_rate']:.2f}** [{v['persist_ci'][0]:.2f}, "
                 f"{v['persist_ci'][1]:.2f}] (n={v['n_persist']}) |")
    return "\n".join(lines)


def _span(ci: str) -> str:
    low, high = ci.split("-")
    return f"{float(low):.2f}, {float(high):.2f}"


def _events_short() -> str:
    """The README's example of ``songnet classify``'s columns, from the classify stage."""
    return _csv_table(EXP / "classify" / "resynth_events.csv",
                      ["file", "start_s", "end_s", "song_score", "theme", "theme_confidence",
                       "unknown_by", "nearest", "distance", "threshold"])


def _real() -> str:
    """How the shipped model does on real material: the soundscape benchmark's summary
    (``benchmarks/soundscape.py --summary docs/results/soundscape.json``, ``make figures``)."""
    s = json.loads((ROOT / "docs" / "results" / "soundscape.json").read_text())
    f = s["figures"]
    right, matched = (int(x) for x in f["real_songs_right"].split(" of "))
    named = dict(item.rsplit(" ", 1) for item in f.get("real_named", "").split(", ") if item)
    unknown = int(named.get("unknown", 0))
    return "\n".join([
        "| real songs matched as songs | named their bird's theme | `unknown` | another theme "
        "| false events an hour (other species, no chingolo) |", "|---|---|---|---|---|",
        f"| {matched} | **{right}** | {unknown} | {matched - right - unknown} | "
        f"{f['false_per_hour']} in {f['negative_only_min'] / 60:g} h |",
        "", f"*`{s['command']}`, run {s['date']} on {s['model']}.*"])


def _discover() -> str:
    """Theme discovery against the truth: the scenes' lines of ``benchmarks/discover.py``'s
    transcript (``make figures`` writes it)."""
    path = ROOT / "docs" / "results" / "transcripts" / "discover.txt"
    lines = path.read_text(encoding="utf-8").splitlines()
    command = lines[0].removeprefix("$ ")
    scenes = [(m.group(1), dict(re.findall(r"(\w+)=(\S+)", m.group(2))))
              for m in (re.match(r"seed (\d+): (.*)", line) for line in lines) if m]
    if not scenes:
        raise ValueError(f"{path}: no scene lines")
    out = ["| scene (seed) | ARI (target ≥ 0.9) | ARI of the songs sorted | themes found / "
           "true | pairs flagged as sharing a recording | songs unsorted | real birds split |",
           "|---|---|---|---|---|---|---|"]
    for seed, f in scenes:
        out.append(f"| {seed} | **{f['ari']}** | {f['ari_sorted']} | {f['themes_found']} / "
                   f"{f['themes_true']} | {f['shared']} | {float(f['unsorted']):.1%} | "
                   f"{f['real_split']} |")
    run = lines[-1].strip("()").split(",")[0] if lines[-1].startswith("(run ") else ""
    return "\n".join([*out, "", f"*`{command}`{', ' + run if run else ''}.*"])


def _real_e2e() -> str:
    """Trained for real birds, measured on their other songs, against the one-shot
    BirdNET baseline: the summary lines of ``benchmarks/real_e2e.py``'s transcripts (the
    birds as they sang, and the dialect scenes)."""
    folder = ROOT / "docs" / "results" / "transcripts"
    out = ["| scene | held-out real songs | songnet named right | one-shot BirdNET named "
           "right | songnet false events (real other species) | songs of a bird outside "
           "the catalog named a theme (songnet / BirdNET) | surrogate test accuracy "
           "(lowest fold) |", "|---|---|---|---|---|---|---|"]
    runs = []
    for name, label in (("real_e2e.txt", "the real birds as they sang"),
                        ("real_e2e_dialect.txt", "dialect: one shared trill, "
                                                 "introductions differ")):
        lines = (folder / name).read_text(encoding="utf-8").splitlines()
        f = dict(re.findall(r"(\w+)=(\S+)", next(x for x in lines if x.startswith("songs="))))
        out.append(f"| {label} | {f['songs']} | **{f['named_right']}** | "
                   f"{f['baseline_named_right']} | {f['false_events']} | "
                   f"{f['foreign_named']} / {f['baseline_foreign_named']} of "
                   f"{f['foreign_songs']} | {f['surrogate_test_acc']} |")
        run = lines[-1].strip("()").split(",")[0] if lines[-1].startswith("(run ") else ""
        runs.append(f"`{lines[0].removeprefix('$ ')}`" + (f", {run}" if run else ""))
    return "\n".join([*out, "", "*" + "; ".join(runs) + ".*"])


# The README's tables (between its markers); the docs' results page has more (GENERATED)
TABLES = {"metrics": _metrics, "resynth_events": _events_short, "real": _real,
          "discover": _discover, "real_e2e": _real_e2e}


def refresh(text: str) -> str:
    """``text`` with every marked table rewritten from the outputs."""
    def table(m: re.Match) -> str:
        name = m.group(1)
        if name not in TABLES:
            raise SystemExit(f"README.md: unknown table {name!r}; known: {sorted(TABLES)}")
        return f"<!-- table:{name} -->\n{TABLES[name]()}\n<!-- /table -->"

    return re.sub(r"<!-- table:(\w+) -->\n.*?<!-- /table -->", table, text, flags=re.S)


def _csv_table(path: Path, columns: list[str] | None = None) -> str:
    """A CSV file as a Markdown table (all columns, or ``columns`` in that order)."""
    rows = _rows(path)
    cols = columns or list(rows[0])
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    lines += ["| " + " | ".join(r[c] for c in cols) + " |" for r in rows]
    return "\n".join(lines)


def _comparison() -> str:
    return _csv_table(EXP / "comparison" / "comparison.csv")


# The docs' results page includes these, each from one output of the pipeline: the table,
# the file it is made from, and the command that writes that file.
GENERATED = {
    "metrics": (_metrics, "experiments/evaluation.json",
                "songnet evaluate (dvc repro evaluate)"),
    "folds": (_folds, "experiments/validation/folds.csv",
              "songnet validate (dvc repro validation/dvc.yaml)"),
    "leave_one_out": (lambda: _leave_one_out("validation"),
                      "experiments/validation/leave_one_out.csv",
                      "songnet validate (dvc repro validation/dvc.yaml)"),
    "persistence": (_persistence, "experiments/latent/persistence.csv",
                    "songnet project (dvc repro project)"),
    "comparison": (_comparison, "experiments/comparison/comparison.csv",
                   "songnet compare (dvc repro compare)"),
    "resynth_events": (_events_short, "experiments/classify/resynth_events.csv",
                       "songnet classify (dvc repro classify)"),
    "real": (_real, "docs/results/soundscape.json",
             "benchmarks/soundscape.py --summary (make figures)"),
    "real_e2e": (_real_e2e, "docs/results/transcripts/real_e2e.txt",
                 "benchmarks/transcript.py ... real_e2e.py [--scenes dialect]"),
    "discover": (_discover, "docs/results/transcripts/discover.txt",
                 "benchmarks/discover.py (make figures)"),
}


def _date(path: Path) -> str:
    """The day ``path`` was last committed (its modification day when it is not)."""
    try:
        out = subprocess.run(["git", "log", "-1", "--format=%cs", "--", str(path)], cwd=ROOT,
                             capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        out = ""
    if out and not subprocess.run(["git", "diff", "--quiet", "--", str(path)],
                                  cwd=ROOT).returncode:
        return out
    return datetime.date.fromtimestamp(path.stat().st_mtime).isoformat()


def write_generated(folder: Path) -> dict[str, str]:
    """Write every table of :data:`GENERATED` to ``folder/NAME.md`` with a line naming its
    source file, the command that wrote it and its date; return ``{name: problem}`` for
    the tables whose source is missing (each then says so on the page)."""
    folder.mkdir(parents=True, exist_ok=True)
    problems = {}
    for name, (make, source, command) in GENERATED.items():
        try:
            table = make()
            note = (f"*Generated from `{source}`, written by `{command}` on "
                    f"{_date(ROOT / source)}.*")
        except (OSError, KeyError, ValueError) as e:
            problems[name] = f"{type(e).__name__}: {e}"
            table, note = f"*Not generated: {problems[name]} (run `dvc repro`).*", ""
        (folder / f"{name}.md").write_text(f"{note}\n\n{table}\n", encoding="utf-8")
    return problems


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true", help="only check; exit 1 on a difference")
    ap.add_argument("--readme", type=Path, default=ROOT / "README.md")
    args = ap.parse_args()
    text = args.readme.read_text(encoding="utf-8")
    new = refresh(text)
    if args.check:
        if new != text:
            print(f"{args.readme}: tables differ from experiments/; run docs/tables.py",
                  file=sys.stderr)
            return 1
        return 0
    args.readme.write_text(new, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
