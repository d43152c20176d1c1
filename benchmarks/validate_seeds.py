"""Does ``validate`` choose the same rule, and report the same rates, run after run?

Runs ``songnet validate`` on the pipeline's features and catalog (after ``dvc repro``) with
``validate.seed`` and ``train.seed`` both set to 0, 1, 2, …: other drifted variants, other
bootstrap draws and other fold networks each time, the rest of ``params.yaml`` as it is.
Prints per seed the out-of-sample rates with their 95 % intervals, the rule each fold chose
without itself and the rule the ``project`` stage would take, then how many seeds agree on
that rule.

Run: ``.venv/bin/python benchmarks/validate_seeds.py [--seeds 3] [--first 0]
[--set SECTION.KEY=YAML]``
(about 5 minutes a seed here).
"""

from __future__ import annotations

import argparse
import collections
import json
import sys
import tempfile
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks import overrides as ov
from songnet.cli import main as songnet_main

ROOT = Path(__file__).resolve().parents[1]


def rule_text(rule: dict) -> str:
    pooling = rule.get("threshold_pooling", rule.get("pooling"))
    quantile = rule.get("threshold_quantile", rule.get("quantile"))
    return f"{rule['metric']}, {rule['decision']}, {pooling}, {float(quantile):g}"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--first", type=int, default=0, help="the first seed")
    ap.add_argument("--features", type=Path, default=ROOT / "data" / "features")
    ap.add_argument("--catalog", type=Path, default=ROOT / "data" / "catalog")
    ap.add_argument("--set", dest="overrides", action="append", default=[],
                    metavar="SECTION.KEY=YAML", help="override a param, e.g. validate.epochs=12")
    args = ap.parse_args()
    overrides = ov.parse(args.overrides)
    if not (args.features / "features.json").is_file():
        raise SystemExit(f"{args.features}: no features; run `dvc repro features` first")
    chosen = collections.Counter()
    with tempfile.TemporaryDirectory() as t:
        tmp = Path(t)
        for seed in range(args.first, args.first + args.seeds):
            p = yaml.safe_load((ROOT / "params.yaml").read_text())
            p["validate"]["seed"] = seed
            p["train"]["seed"] = seed
            ov.apply(p, overrides)
            params = tmp / f"params{seed}.yaml"
            params.write_text(yaml.safe_dump(p))
            out = tmp / f"validation{seed}"
            code = songnet_main(["validate", "--features", str(args.features), "--catalog",
                                 str(args.catalog), "--params", str(params), "-o", str(out),
                                 "-q"])
            if code != 0:
                raise SystemExit(f"songnet validate failed ({code}) with seed {seed}")
            v = json.loads((out / "summary.json").read_text())["validation"]
            folds = "; ".join(rule_text(f["rule"]) for f in v["folds"])
            print(f"seed {seed}: lost_rate {v['lost_rate']:.2f} [{v['lost_ci'][0]:.2f}, "
                  f"{v['lost_ci'][1]:.2f}], persist_rate {v['persist_rate']:.2f} "
                  f"[{v['persist_ci'][0]:.2f}, {v['persist_ci'][1]:.2f}], themes lost "
                  f"{v['themes_lost']}; folds chose: {folds}; project rule: "
                  f"{rule_text(v['rule'])}", flush=True)
            chosen[rule_text(v["rule"])] += 1
    rule, n = chosen.most_common(1)[0]
    print(f"project rule agreed by {n} of {args.seeds} seeds: {rule}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
