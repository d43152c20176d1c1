"""Every theme held out, the threshold rule chosen out of sample: the persistence answer tested.

The persistence table calls a 1966 song ``lost`` when its embedding lies farther from every
2020 theme than the 2020 songs' own spread allows. Whether that works cannot be read off
the planted 1966 sketches (they were written knowing the catalog). This stage measures it:

- **folds of held-out themes**: the catalog's themes are dealt, in sorted order, into
  ``folds`` groups (:func:`songnet.latent.folds.theme_folds`); for each group a network is
  trained on the other themes only, so every theme is held out exactly once at the cost of
  ``folds`` trainings;
- **lost**: a held-out theme's 1966-style variants (:func:`songnet.resynth.variants.
  drift_variant`: sketched and resung by the model, as 1966 songs are) must come out
  ``lost``: that network never heard the theme;
- **persists**: the same network must call the drifted variants of every theme it was
  trained on ``persists``, as their own theme.

Every threshold rule in the grid (distance metric × decision × ``pooled``/``per_theme``
spread × quantile) is scored on both (:func:`songnet.latent.rules.score_rules`);
:func:`songnet.latent.rules.choose_rule` picks the best worst case. The rates are reported
**out of sample** (:func:`songnet.latent.rules.outer_rates`): for fold *f* the rule is
chosen on the other folds only, on the odd-numbered variants (``-d1``, ``-d3``, …) of themes
outside fold *f*; it is scored on fold *f*'s network, on every variant of fold *f*'s
held-out themes and the even-numbered variants of the others, so no variant, theme or
network that chose a rule ever reports it. 95 % intervals come from a bootstrap over themes
and, within each theme, over its variants (:func:`songnet.latent.rules.bootstrap_rate`). The
rule the ``project`` stage uses is chosen the same way on every fold at once.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from songnet.core.files import write_json
from songnet.core.params import params_to_dict
from songnet.latent.rules import (
    RULE_KEYS,
    Validation,
    outer_rates,
    rule_of,
)
from songnet.latent.validate_params import ValidateParams

__all__ = ["save_validation"]


def save_validation(result: Validation, folder: Path, *, params: ValidateParams) -> dict:
    """Write ``folds.csv``, ``leave_one_out.csv``, ``drift.csv``, ``rules.csv``,
    ``summary.json`` (every figure: the pooled rates with their intervals, each fold's,
    the rule chosen, in-sample rates, params), ``metrics.json`` (the headline: the pooled
    lost and persist rates, what ``dvc metrics show`` prints), ``rule.json`` (the chosen
    rule alone, which the ``project`` stage reads) and ``validation.png`` into ``folder``
    (call inside :func:`songnet.core.files.atomic_dir`).

    Returns the ``summary.json`` content.
    """
    per_fold, pooled, reported = outer_rates(result, n=params.bootstrap, seed=params.seed)
    per_fold.assign(lost_ci=[_ci(c) for c in per_fold.lost_ci],
                    persist_ci=[_ci(c) for c in per_fold.persist_ci]
                    ).round(4).to_csv(folder / "folds.csv", index=False)
    held = reported[reported.expected == "lost"]
    loo = (held.groupby("theme", sort=True)
           .agg(fold=("fold", "first"), nearest=("nearest", lambda s: s.mode().iloc[0]),
                distance=("distance", "median"), threshold=("threshold", "median"),
                lost_share=("status", lambda s: float((s == "lost").mean())))
           .reset_index())
    loo["status"] = np.where(loo.lost_share >= 0.5, "lost", "persists")
    rule_of_fold = {int(r.fold): rule_of(r._asdict()) for r in per_fold.itertuples()}
    loo["test_songs_lost"] = [result.test_lost[t][rule_of_fold[f]]
                              for t, f in zip(loo.theme, loo.fold, strict=True)]
    loo.round(4).to_csv(folder / "leave_one_out.csv", index=False)
    drift = reported[reported.expected == "persists"].drop(columns=["expected"])
    drift.round(4).to_csv(folder / "drift.csv", index=False)
    result.rules.round(4).to_csv(folder / "rules.csv", index=False)
    metric, decision, pooling, q = result.chosen
    chosen = result.rules[result.rules.chosen].iloc[0]
    fold_rules = [dict(zip(RULE_KEYS, rule_of_fold[f], strict=True))
                  for f in range(len(result.folds))]
    summary = {"validation": {
        **{k: _round(v) for k, v in pooled.items()},
        "themes_lost": f"{int((loo.status == 'lost').sum())}/{len(loo)}",
        "folds": [{"fold": int(r.fold), "themes": r.themes.split(),
                   "rule": fold_rules[int(r.fold)],
                   **{k: _round(getattr(r, k)) for k in pooled}}
                  for r in per_fold.itertuples()],
        "rule": {"metric": metric, "decision": decision, "threshold_pooling": pooling,
                 "threshold_quantile": q},
        "folds_choosing_it": sum(r == dict(zip(RULE_KEYS, result.chosen, strict=True))
                                 for r in fold_rules),
        "in_sample": {"lost_rate": round(float(chosen.lost_rate), 4),
                      "persist_rate": round(float(chosen.persist_rate), 4)},
        "params": params_to_dict(params)}}
    write_json(folder / "summary.json", summary)
    write_json(folder / "metrics.json", {k: summary["validation"][k]
                                         for k in ("lost_rate", "persist_rate")})
    write_json(folder / "rule.json", {"validation": {"rule": summary["validation"]["rule"]}})
    _figure(reported, rules=result.rules, chosen=result.chosen).savefig(
        folder / "validation.png", dpi=110, bbox_inches="tight")
    return summary


def _ci(ci: Sequence[float]) -> str:
    return f"{ci[0]:.3f}-{ci[1]:.3f}"


def _round(value: Any) -> Any:
    if isinstance(value, (list, tuple)):
        return [round(float(v), 4) for v in value]
    return round(float(value), 4) if isinstance(value, float) else value


def _figure(at: pd.DataFrame, *, rules: pd.DataFrame, chosen: tuple[str, str, str, float]
            ) -> Any:
    from matplotlib.figure import Figure

    fig = Figure(figsize=(10, 4), layout="constrained")
    ax, bx = fig.subplots(1, 2)
    margin = at.distance / at.threshold
    for expected, colour, label in (("persists", "tab:blue", "variants of trained themes"),
                                    ("lost", "tab:red", "variants of held-out themes")):
        sel = at.expected == expected
        ax.hist(margin[sel], bins=30, alpha=0.6, color=colour, label=f"{label} (n={sel.sum()})")
    ax.axvline(1.0, color="k", lw=1)
    ax.set_xlabel("distance / threshold (each fold's rule, chosen without it)")
    ax.set_ylabel("variants")
    ax.set_title("out of sample: the reported variants of every fold", fontsize=10)
    ax.legend(fontsize=8)
    same = rules[rules.decision == chosen[1]]
    for (metric, pooling), r in same.groupby(["metric", "pooling"], sort=True):
        marker = "o" if pooling == "pooled" else "s"
        ls = "-" if metric == "cosine" else ":"
        bx.plot(r["quantile"], r.lost_rate, marker=marker, color="tab:red", ls=ls,
                label=f"lost rate, {metric}, {pooling}")
        bx.plot(r["quantile"], r.persist_rate, marker=marker, color="tab:blue", ls=ls,
                mfc="none", label=f"persist rate, {metric}, {pooling}")
    bx.set_xlabel("spread quantile")
    bx.set_ylim(-0.02, 1.02)
    bx.set_title(f"every fold at once, every rule deciding by {chosen[1]} (chosen: "
                 f"{chosen[0]}, {chosen[2]}, {chosen[3]:g})", fontsize=9)
    bx.legend(fontsize=7)
    return fig

