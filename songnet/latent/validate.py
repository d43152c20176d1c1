"""Every theme held out, the threshold rule chosen out of sample: the persistence answer tested.

The persistence table calls a 1966 song ``lost`` when its embedding lies farther from every
2020 theme than the 2020 songs' own spread allows. Whether that works cannot be read off
the planted 1966 sketches (they were written knowing the catalog). This stage measures it:

- **folds of held-out themes**: the catalog's themes are dealt, in sorted order, into
  ``folds`` groups (:func:`theme_folds`); for each group a network is trained on the other
  themes only, so every theme is held out exactly once at the cost of ``folds`` trainings;
- **lost**: a held-out theme's 1966-style variants (:func:`songnet.resynth.variants.
  drift_variant`: sketched and resung by the model, as 1966 songs are) must come out
  ``lost``: that network never heard the theme;
- **persists**: the same network must call the drifted variants of every theme it was
  trained on ``persists``, as their own theme.

Every threshold rule in the grid (distance metric × decision × ``pooled``/``per_theme``
spread × quantile) is scored on both (:func:`score_rules`); :func:`choose_rule` picks the
best worst case. The rates are reported **out of sample** (:func:`outer_rates`): for fold
*f* the rule is chosen on the other folds only, on the odd-numbered variants (``-d1``,
``-d3``, …) of themes outside fold *f*; it is scored on fold *f*'s network, on every variant
of fold *f*'s held-out themes and the even-numbered variants of the others, so no variant,
theme or network that chose a rule ever reports it. 95 % intervals come from a bootstrap over themes
and, within each theme, over its variants (:func:`bootstrap_rate`). The rule the
``project`` stage uses is chosen the same way on every fold at once.
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from songnet.core.audio import resample
from songnet.core.errors import SongnetError
from songnet.core.files import write_json
from songnet.core.labels import theme_classes
from songnet.core.params import params_to_dict
from songnet.core.progress import ProgressCallback
from songnet.core.sound import Sound
from songnet.features.featureset import FeatureSplit
from songnet.latent.embed import embed_images_batched, embed_sounds
from songnet.latent.project import ThemeMatcher
from songnet.model.checkpoint import Checkpoint, unknown_top
from songnet.model.openset import METRICS
from songnet.model.train import train_model
from songnet.model.train_params import TrainParams
from songnet.resynth.resynthesize import ResynthesizeParams, resynthesize_sketch
from songnet.resynth.sketch import parse_sketch
from songnet.resynth.variants import drift_variant, sketch_text
from songnet.surrogates.themes import Theme
from songnet.synth import SR

__all__ = ["DECISIONS", "RULE_COLUMNS", "ValidateParams", "Validation", "bootstrap_rate",
           "choose_rule", "drifted_songs", "foreign_origins", "held_out_folds", "outer_rates",
           "save_validation", "score_rules", "theme_folds"]

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
class ValidateParams:
    """The ``validate`` section of ``params.yaml``.

    Attributes
    ----------
    themes : tuple of str
        Themes to hold out; empty = every theme of the features (each once).
    folds : int
        The held-out themes are dealt, in sorted order, into this many folds; each fold
        costs one training (:func:`theme_folds`).
    epochs : int
        Length of each fold's one-cycle schedule (the full pipeline uses ``train.epochs``;
        see the README for the check that the shorter one gives the same answer).
    variants : int
        Drifted 1966-style variants per theme (sketched and resung); the odd-numbered ones
        choose the rule, the even-numbered ones report it (at least 2).
    seed : int
        Seed of the variants and of the bootstrap.
    quantiles : tuple of float
        Spread quantiles tried for the threshold.
    poolings : tuple of str
        ``pooled`` and/or ``per_theme`` spreads tried.
    metrics : tuple of str
        Distance spaces tried (:data:`songnet.model.openset.METRICS`).
    bootstrap : int
        Bootstrap resamples behind each 95 % interval.
    batch_size : int
        Images per network call when embedding.
    """

    themes: tuple[str, ...] = ()
    folds: int = 4
    epochs: int = 24
    variants: int = 8
    seed: int = 0
    quantiles: tuple[float, ...] = (0.9, 0.95, 0.98, 0.99, 1.0)
    poolings: tuple[str, ...] = ("pooled", "per_theme")
    metrics: tuple[str, ...] = METRICS
    bootstrap: int = 2000
    batch_size: int = 64

    def __post_init__(self) -> None:
        if min(self.epochs, self.batch_size, self.bootstrap) < 1:
            raise ValueError(f"epochs={self.epochs}, bootstrap={self.bootstrap} and "
                             f"batch_size={self.batch_size} must be >= 1")
        if self.folds < 3:
            raise ValueError(f"folds={self.folds} must be >= 3 (a fold's rule is chosen on "
                             "the others, which need kept themes outside it)")
        if self.variants < 2:
            raise ValueError(f"variants={self.variants} must be >= 2 (half choose the rule, "
                             "half report it)")
        if not self.quantiles or any(not 0 < q <= 1 for q in self.quantiles):
            raise ValueError(f"quantiles={list(self.quantiles)} must lie in (0, 1]")
        if not self.poolings or set(self.poolings) - {"pooled", "per_theme"}:
            raise ValueError(f"poolings={list(self.poolings)}: use pooled and/or per_theme")
        if not self.metrics or set(self.metrics) - set(METRICS):
            raise ValueError(f"metrics={list(self.metrics)}: use {' and/or '.join(METRICS)}")


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
        return _rule_of(self.rules[self.rules.chosen].iloc[0])


def _rule_of(row: Any) -> tuple[str, str, str, float]:
    return (str(row["metric"]), str(row["decision"]), str(row["pooling"]),
            float(row["quantile"]))


def theme_folds(themes: Sequence[str], folds: int, *, known: Sequence[str] | None = None
                ) -> list[list[str]]:
    """``themes`` in sorted order dealt into ``folds`` groups: T01, T05, T09 | T02, T06, …

    ``known`` (the features' themes), when given, must hold every one of ``themes``.

    Raises
    ------
    SongnetError
        For a theme not in ``known``, or fewer themes than folds.
    """
    if known is not None:
        strange = sorted(set(themes) - set(known))
        if strange:
            raise SongnetError(f"validate.themes names {strange[0]!r}, not a theme of these "
                               f"features ({', '.join(known)})")
    ordered = sorted(themes)
    if len(ordered) < folds:
        raise SongnetError(f"validate.folds={folds} but only {len(ordered)} themes to hold "
                           "out; lower validate.folds")
    return [ordered[i::folds] for i in range(folds)]


def drifted_songs(themes: Sequence[Theme], *, n: int, seed: int, sr: int,
                  params: ResynthesizeParams | None = None,
                  progress: ProgressCallback | None = None) -> pd.DataFrame:
    """``n`` drifted 1966-style variants of every theme, sketched and resung by the model.

    Returns
    -------
    pd.DataFrame
        Columns ``theme, variant, half, description, sound`` (a :class:`Sound` at ``sr``);
        ``half`` is ``choose`` for the 1st, 3rd, … variant of a theme, ``report`` for the
        2nd, 4th, ….
    """
    rows = []
    for theme in themes:
        rng = np.random.default_rng([seed, *map(ord, theme.name)])
        for v in range(n):
            drift = drift_variant(theme, rng=rng)
            name = f"{theme.name}-d{v + 1}"
            text = sketch_text(name, theme.name, drift.description, drift.notes, theme.trill,
                               pitch=drift.pitch, tempo=drift.tempo,
                               trill_interval=drift.trill_interval)
            song = resynthesize_sketch(parse_sketch(text, source=name),
                                       params=params or ResynthesizeParams())
            y = resample(song.sound.samples, orig_sr=SR, sr=sr)
            rows.append({"theme": theme.name, "variant": name,
                         "half": CHOOSE if v % 2 == 0 else REPORT,
                         "description": drift.description, "sound": Sound(y, sr, source=name)})
            if progress is not None:
                progress(1)
    return pd.DataFrame(rows)


def _without(split: FeatureSplit, classes: list[str], themes: Sequence[str],
             origins: np.ndarray | None = None) -> tuple[FeatureSplit, list[str]]:
    """The split without ``themes``' images (nor the foreign near misses made from them,
    when ``origins`` gives each image's ``foreign_of``), labels re-indexed to the
    remaining classes."""
    kept = [c for c in classes if c not in themes]
    index = np.array([kept.index(c) if c in kept else -1 for c in classes])
    keep = ~np.isin(split.labels, [classes.index(t) for t in themes])
    if origins is not None:
        keep &= ~np.isin(np.asarray(origins, dtype=str), list(themes))
    return FeatureSplit(split.images[keep], index[split.labels[keep]], name=split.name), kept


def foreign_origins(meta: Mapping[str, Any]) -> dict[str, np.ndarray]:
    """Per split of a feature set (its ``features.json``), each image's ``foreign_of``
    column of the synthesize manifest ("" where absent, or for a manifest without it)."""
    path = Path(str(meta.get("manifest", "")))
    if not path.is_file():
        return {}
    table = pd.read_csv(path, dtype=str, usecols=lambda c: c == "foreign_of")
    if "foreign_of" not in table.columns:
        return {}
    col = table["foreign_of"].fillna("").to_numpy(dtype=str)
    return {s: col[np.asarray(rows, dtype=np.int64)] for s, rows in meta["rows"].items()}


def held_out_folds(*, train: FeatureSplit, val: FeatureSplit, test: FeatureSplit,
                   classes: list[str], feature_params: dict[str, Any],
                   train_params: TrainParams, variants: pd.DataFrame, params: ValidateParams,
                   origins: Mapping[str, np.ndarray] | None = None,
                   progress: ProgressCallback | None = None) -> Validation:
    """Train one network per fold of held-out themes and score every threshold rule.

    ``origins`` gives, per split (``train``, ``val``), each image's ``foreign_of`` (the
    catalog theme a near-miss foreign song was made from, "" otherwise): the near misses of
    the held-out themes leave training with them.

    Parameters
    ----------
    train, val, test : FeatureSplit
        The features stage's splits (all themes).
    classes : list of str
        Their class names (themes sorted, ``no_song`` last).
    feature_params : dict
        The features' params (stored in each fold's model).
    train_params : TrainParams
        The ``train`` section; ``epochs`` (and ``patience``) are replaced by
        ``params.epochs``.
    variants : pd.DataFrame
        :func:`drifted_songs` of every theme.
    params : ValidateParams
    progress : callable, optional
        Called with 1 after each fold's model.
    """
    themes = theme_classes(classes)
    # folds >= 3 (ValidateParams), so no fold holds out every theme
    folds = theme_folds(list(params.themes) or themes, params.folds, known=themes)
    tp = dataclasses.replace(train_params, epochs=params.epochs, patience=params.epochs)
    origins = origins or {}
    rows, test_lost = [], {}
    for f, held in enumerate(folds):
        tr, kept = _without(train, classes, held, origins.get("train"))
        va, _ = _without(val, classes, held, origins.get("val"))
        result = train_model(tr, va, classes=kept, feature_params=feature_params, params=tp)
        ckpt = Checkpoint(model=result.model, config=result.model.config, classes=kept,
                          feature_params=dict(feature_params),
                          train_params=params_to_dict(tp), meta={})
        ref = np.isin(test.labels, [classes.index(t) for t in themes if t not in held])
        X_ref = embed_images_batched(ckpt, test.images[ref], batch_size=params.batch_size)
        ref_themes = [classes[i] for i in test.labels[ref]]
        X_k = {k: embed_images_batched(ckpt, test.images[test.labels == classes.index(k)],
                                       batch_size=params.batch_size) for k in held}
        top_k = {k: unknown_top(ckpt, x) for k, x in X_k.items()}
        X_v = embed_sounds(ckpt, list(variants.sound), batch_size=params.batch_size,
                           device=train_params.device)
        top_v = unknown_top(ckpt, X_v)
        for k in held:
            test_lost[k] = {}
        for metric, pooling, q in itertools.product(params.metrics, params.poolings,
                                                    params.quantiles):
            matcher = ThemeMatcher(threshold_quantile=q, pooling=pooling,
                                   metric=metric).fit(X_ref, ref_themes)
            far_k = {k: matcher.match(x).status.to_numpy() == "lost" for k, x in X_k.items()}
            m = matcher.match(X_v)  # one fit and match serve every decision
            far_v = m.status.to_numpy() == "lost"
            for decision in DECISIONS:
                either = decision == "either"
                for k in held:
                    test_lost[k][(metric, decision, pooling, q)] = float(
                        (far_k[k] | (either & top_k[k])).mean())
                lost_v = far_v | (either & top_v)
                for i, row in enumerate(variants.itertuples()):
                    rows.append({"fold": f, "theme": row.theme, "variant": row.variant,
                                 "half": row.half, "description": row.description,
                                 "expected": "lost" if row.theme in held else "persists",
                                 "metric": metric, "decision": decision, "pooling": pooling,
                                 "quantile": q,
                                 "nearest": m.theme_2020.iloc[i],
                                 "distance": float(m.distance.iloc[i]),
                                 "threshold": float(m.threshold.iloc[i]),
                                 "unknown_top": bool(top_v[i]),
                                 "status": "lost" if lost_v[i] else "persists"})
        if progress is not None:
            progress(1)
    songs = pd.DataFrame(rows)
    return Validation(songs=songs, folds=folds, test_lost=test_lost, rules=score_rules(songs))


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
        rule = _rule_of(rules[rules.chosen].iloc[0])
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


def save_validation(result: Validation, folder: Path, *, params: ValidateParams) -> dict:
    """Write ``folds.csv``, ``leave_one_out.csv``, ``drift.csv``, ``rules.csv``,
    ``metrics.json``, ``rule.json`` (the chosen rule alone, which the ``project`` stage
    reads) and ``validation.png`` into ``folder`` (call inside
    :func:`songnet.core.files.atomic_dir`).

    Returns the ``metrics.json`` content.
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
    rule_of_fold = {int(r.fold): _rule_of(r._asdict()) for r in per_fold.itertuples()}
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
    write_json(folder / "metrics.json", summary)
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

