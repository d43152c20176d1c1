"""The threshold rules of the persistence answer, scored and chosen: each rule's lost and persist
rates over the held-out folds (:func:`score_rules`), the best worst case (:func:`choose_rule`),
the rates reported out of sample (:func:`outer_rates`) with bootstrap intervals over themes
and their variants (:func:`bootstrap_rate`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["CHOOSE", "DECISIONS", "REPORT", "RULE_COLUMNS", "RULE_KEYS", "Validation",
           "bootstrap_rate", "choose_rule", "outer_rates", "rule_of", "score_rules"]


RULE_COLUMNS = ("metric", "decision", "pooling", "quantile", "lost_rate", "persist_rate",
                "chosen")


RULE_KEYS = ("metric", "decision", "pooling", "quantile")


DECISIONS = ("distance", "either")
"""How a song is called ``lost``: ``distance``, farther from its nearest theme's centroid
than the threshold; ``either``, that or the network's ``unknown`` class is its most
probable class (among themes and ``unknown``)."""


CHOOSE, REPORT = "choose", "report"
"""The two halves of each theme's variants: odd-numbered ones (``-d1``, ``-d3``, …) choose
a rule, even-numbered ones report it."""


@dataclasses.dataclass(frozen=True)
class Validation:
    """Everything the stage measured.

    Attributes
    ----------
    songs : pd.DataFrame
        One row per (fold, variant, rule): ``fold, theme, variant, half`` (``choose`` or
        ``report``), ``description, expected`` (``lost`` for the fold's held-out themes'
        variants, ``persists`` otherwise), ``metric, decision, pooling, quantile``, then
        ``nearest, distance, threshold, unknown_top, status``.
    folds : list of list of str
        The held-out themes of each fold.
    test_lost : dict
        Held-out theme -> {(metric, decision, pooling, quantile): the share of its 2020 test
        songs that rule calls lost}, for every rule of the grid.
    rules : pd.DataFrame
        :data:`RULE_COLUMNS`, one row per rule, scored on every fold at once (in sample:
        the rule the ``project`` stage uses is the chosen one).
    """

    songs: pd.DataFrame
    folds: list[list[str]]
    test_lost: dict[str, dict[tuple[str, str, str, float], float]]
    rules: pd.DataFrame

    @property
    def chosen(self) -> tuple[str, str, str, float]:
        """The chosen rule: (metric, decision, pooling, quantile)."""
        return rule_of(self.rules[self.rules.chosen].iloc[0])


def rule_of(row: Any) -> tuple[str, str, str, float]:
    return (str(row["metric"]), str(row["decision"]), str(row["pooling"]),
            float(row["quantile"]))


def _ok(songs: pd.DataFrame) -> np.ndarray:
    """Per row: right (a held-out theme's variant ``lost``; a trained theme's variant
    ``persists`` as its own theme)."""
    return np.where(songs.expected == "lost", songs.status == "lost",
                    (songs.status == "persists") & (songs.nearest == songs.theme))


def bootstrap_rate(ok: np.ndarray, themes: Sequence[str], *, n: int,
                   rng: np.random.Generator) -> tuple[float, float]:
    """95 % percentile interval of the share of ``ok`` rows, resampling themes with
    replacement and, within each drawn theme, its rows with replacement (songs of one
    theme are not independent of each other).

    Returns
    -------
    (low, high) : tuple of float
        NaN, NaN for no rows.
    """
    ok = np.asarray(ok, dtype=float)
    if ok.size == 0:
        return float("nan"), float("nan")
    names = np.asarray(themes, dtype=str)
    groups = [ok[names == t] for t in np.unique(names)]
    sizes = np.array([g.size for g in groups])
    rates = np.empty(n)
    for b in range(n):
        drawn = rng.integers(len(groups), size=len(groups))
        hits = sum(float(groups[g][rng.integers(sizes[g], size=sizes[g])].sum())
                   for g in drawn)
        rates[b] = hits / float(sizes[drawn].sum())
    low, high = np.quantile(rates, [0.025, 0.975])
    return float(low), float(high)


def _at(songs: pd.DataFrame, rule: tuple[str, str, str, float]) -> pd.DataFrame:
    metric, decision, pooling, q = rule
    return songs[(songs.metric == metric) & (songs.decision == decision)
                 & (songs.pooling == pooling) & (songs["quantile"] == q)]


def _rates(at: pd.DataFrame, *, n: int, rng: np.random.Generator) -> dict[str, Any]:
    """Lost and persist rates of rows under one rule, with their bootstrap intervals."""
    ok = _ok(at)
    out: dict[str, Any] = {}
    for expected, name in (("lost", "lost"), ("persists", "persist")):
        sel = (at.expected == expected).to_numpy()
        out[f"{name}_rate"] = float(ok[sel].mean()) if sel.any() else float("nan")
        out[f"{name}_ci"] = list(bootstrap_rate(ok[sel], at.theme[sel], n=n, rng=rng))
        out[f"n_{name}"] = int(sel.sum())
    return out


def outer_rates(result: Validation, *, n: int, seed: int = 0
                ) -> tuple[pd.DataFrame, dict[str, Any], pd.DataFrame]:
    """The out-of-sample figures: per fold, the rule chosen without it and its rates on it.

    For fold *f* the rule is chosen (:func:`choose_rule`) on the ``choose`` half of the
    variants of themes outside fold *f*, under the other folds' networks; it is scored under
    fold *f*'s network on every variant of fold *f*'s held-out themes (no choosing row holds
    those themes) and on the ``report`` half of the others' (the ``choose`` half of those
    themes chose the rule, under other networks). Pooled figures put every fold's
    reported rows together, each under its own fold's rule.

    Returns
    -------
    per_fold : pd.DataFrame
        ``fold, themes, metric, decision, pooling, quantile, lost_rate, lost_ci,
        n_lost, persist_rate, persist_ci, n_persist``.
    pooled : dict
        ``lost_rate, lost_ci, n_lost, persist_rate, persist_ci, n_persist``.
    reported : pd.DataFrame
        The reported rows, each fold's under its own rule.
    """
    rng = np.random.default_rng([seed, 29])
    songs = result.songs
    rows, reported = [], []
    for f, held in enumerate(result.folds):
        inner = songs[(songs.fold != f) & (songs.half == CHOOSE) & ~songs.theme.isin(held)]
        rules = score_rules(inner)
        rule = rule_of(rules[rules.chosen].iloc[0])
        at = _at(songs[(songs.fold == f)
                       & ((songs.half == REPORT) | (songs.expected == "lost"))], rule)
        reported.append(at)
        rows.append({"fold": f, "themes": " ".join(held),
                     **dict(zip(RULE_KEYS, rule, strict=True)), **_rates(at, n=n, rng=rng)})
    together = pd.concat(reported, ignore_index=True)
    return pd.DataFrame(rows), _rates(together, n=n, rng=rng), together


def score_rules(songs: pd.DataFrame) -> pd.DataFrame:
    """Per rule: the share of held-out variants called ``lost`` and of kept themes' variants
    called ``persists`` as their own theme; the chosen rule flagged (:func:`choose_rule`)."""
    scored = songs.assign(ok=_ok(songs))
    rules = (scored.groupby(["metric", "decision", "pooling", "quantile", "expected"]).ok.mean()
             .unstack("expected")
             .rename(columns={"lost": "lost_rate", "persists": "persist_rate"}).reset_index())
    rules["chosen"] = False
    rules.loc[choose_rule(rules), "chosen"] = True
    return rules.loc[:, list(RULE_COLUMNS)]


def choose_rule(rules: pd.DataFrame) -> int:
    """Index of the rule with the best worst case, ``min(lost_rate, persist_rate)``; ties go
    to the higher sum, then to the higher quantile (the more lenient threshold)."""
    worst = np.minimum(rules.lost_rate, rules.persist_rate)
    total = rules.lost_rate + rules.persist_rate
    order = np.lexsort((rules["quantile"].to_numpy(), total.to_numpy(), worst.to_numpy()))
    return int(rules.index[order[-1]])
