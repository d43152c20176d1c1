"""Leave-one-theme-out validation of the persistence answer, and the threshold rule.

The persistence table calls a 1966 song ``lost`` when its embedding lies farther from every
2020 theme than the 2020 songs' own spread allows. Whether that works cannot be read off
the planted 1966 sketches (they were written knowing the catalog). This stage measures it:

- **lost**: for each held-out theme *k*, a network is trained on the other themes only,
  and *k*'s 1966-style variants (:func:`songnet.resynth.variants.drift_variant`, drawn as
  sketches and resung by the model, as 1966 songs are) must come out ``lost``: the network
  never heard *k*;
- **persists**: the same network must call the drifted variants of every theme it was
  trained on ``persists``, as their own theme.

Every threshold rule in the grid (distance metric × decision × ``pooled``/``per_theme``
spread × quantile) is scored on both; the rule with the best worst case,
``min(lost_rate, persist_rate)`` (ties: the higher sum, then the higher quantile), is the
one the ``project`` stage should use.
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
from songnet.model.train import TrainParams, train_model
from songnet.resynth.resynthesize import ResynthesizeParams, resynthesize_sketch
from songnet.resynth.sketch import parse_sketch
from songnet.resynth.variants import drift_variant, sketch_text
from songnet.surrogates.themes import Theme
from songnet.synth import SR

__all__ = ["DECISIONS", "RULE_COLUMNS", "ValidateParams", "Validation", "choose_rule",
           "drifted_songs", "foreign_origins", "leave_one_out", "save_validation", "score_rules"]

RULE_COLUMNS = ("metric", "decision", "pooling", "quantile", "lost_rate", "persist_rate",
                "chosen")
DECISIONS = ("distance", "either")
"""How a song is called ``lost``: ``distance``, farther from its nearest theme's centroid
than the threshold; ``either``, that or the network's ``unknown`` class is its most
probable class (among themes and ``unknown``)."""


@dataclasses.dataclass(frozen=True)
class ValidateParams:
    """The ``validate`` section of ``params.yaml``.

    Attributes
    ----------
    themes : tuple of str
        Themes held out one at a time (each costs one training); empty = every ``every``-th
        theme of the features' classes in sorted order, from the first.
    every : int
        With ``themes`` empty: hold out themes 1, 1 + every, 1 + 2·every, … (1 = all).
    epochs : int
        Length of each held-out model's one-cycle schedule (the full pipeline uses
        ``train.epochs``; see the README for the check that the shorter one gives the same
        answer).
    variants : int
        Drifted 1966-style variants per theme (sketched and resung).
    seed : int
        Seed of the variants.
    quantiles : tuple of float
        Spread quantiles tried for the threshold.
    poolings : tuple of str
        ``pooled`` and/or ``per_theme`` spreads tried.
    metrics : tuple of str
        Distance spaces tried (:data:`songnet.model.openset.METRICS`).
    batch_size : int
        Images per network call when embedding.
    """

    themes: tuple[str, ...] = ()
    every: int = 4
    epochs: int = 24
    variants: int = 6
    seed: int = 0
    quantiles: tuple[float, ...] = (0.9, 0.95, 0.98, 0.99, 1.0)
    poolings: tuple[str, ...] = ("pooled", "per_theme")
    metrics: tuple[str, ...] = METRICS
    batch_size: int = 64

    def __post_init__(self) -> None:
        if min(self.epochs, self.variants, self.batch_size, self.every) < 1:
            raise ValueError(f"epochs={self.epochs}, variants={self.variants}, every="
                             f"{self.every} and batch_size={self.batch_size} must be >= 1")
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
        One row per (held-out model, variant): ``held_out, theme, variant, description,
        expected`` (``lost`` for the held-out theme's variants, ``persists`` otherwise),
        then per rule ``nearest``, ``distance``, ``threshold``, ``status`` in long form
        with ``metric``, ``decision``, ``pooling`` and ``quantile`` columns.
    test_lost : dict
        Held-out theme -> {(metric, decision, pooling, quantile): the share of its 2020 test
        songs that rule calls lost}, for every rule of the grid.
    rules : pd.DataFrame
        :data:`RULE_COLUMNS`, one row per rule.
    """

    songs: pd.DataFrame
    test_lost: dict[str, dict[tuple[str, float], float]]
    rules: pd.DataFrame

    @property
    def chosen(self) -> tuple[str, str, str, float]:
        """The chosen rule: (metric, decision, pooling, quantile)."""
        row = self.rules[self.rules.chosen].iloc[0]
        return (str(row["metric"]), str(row["decision"]), str(row["pooling"]),
                float(row["quantile"]))


def drifted_songs(themes: Sequence[Theme], *, n: int, seed: int, sr: int,
                  params: ResynthesizeParams | None = None,
                  progress: ProgressCallback | None = None) -> pd.DataFrame:
    """``n`` drifted 1966-style variants of every theme, sketched and resung by the model.

    Returns
    -------
    pd.DataFrame
        Columns ``theme, variant, description, sound`` (a :class:`Sound` at ``sr``).
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
            rows.append({"theme": theme.name, "variant": name, "description": drift.description,
                         "sound": Sound(y, sr, source=name)})
            if progress is not None:
                progress(1)
    return pd.DataFrame(rows)


def _without(split: FeatureSplit, classes: list[str], theme: str,
             origins: np.ndarray | None = None) -> tuple[FeatureSplit, list[str]]:
    """The split without ``theme``'s images (nor the foreign near misses made from it,
    when ``origins`` gives each image's ``foreign_of``), labels re-indexed to the
    remaining classes."""
    kept = [c for c in classes if c != theme]
    index = np.array([kept.index(c) if c != theme else -1 for c in classes])
    keep = split.labels != classes.index(theme)
    if origins is not None:
        keep &= np.asarray(origins, dtype=str) != theme
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


def leave_one_out(*, train: FeatureSplit, val: FeatureSplit, test: FeatureSplit,
                  classes: list[str], feature_params: dict[str, Any], train_params: TrainParams,
                  variants: pd.DataFrame, params: ValidateParams,
                  origins: Mapping[str, np.ndarray] | None = None,
                  progress: ProgressCallback | None = None) -> Validation:
    """Train one network per held-out theme and score every threshold rule.

    ``origins`` gives, per split (``train``, ``val``), each image's ``foreign_of`` (the
    catalog theme a near-miss foreign song was made from, "" otherwise): the near misses of
    the held-out theme leave training with it.

    Parameters
    ----------
    train, val, test : FeatureSplit
        The features stage's splits (all themes).
    classes : list of str
        Their class names (themes sorted, ``no_song`` last).
    feature_params : dict
        The features' params (stored in each held-out model).
    train_params : TrainParams
        The ``train`` section; ``epochs`` (and ``patience``) are replaced by
        ``params.epochs``.
    variants : pd.DataFrame
        :func:`drifted_songs` of every theme.
    params : ValidateParams
    progress : callable, optional
        Called with 1 after each held-out model.
    """
    themes = theme_classes(classes)
    held = list(params.themes) or themes[::params.every]
    unknown = sorted(set(held) - set(themes))
    if unknown:
        raise SongnetError(f"validate.themes names {unknown[0]!r}, not a theme of these "
                           f"features ({', '.join(themes)})")
    tp = dataclasses.replace(train_params, epochs=params.epochs, patience=params.epochs)
    origins = origins or {}
    rows, test_lost = [], {}
    for k in held:
        tr, kept = _without(train, classes, k, origins.get("train"))
        va, _ = _without(val, classes, k, origins.get("val"))
        result = train_model(tr, va, classes=kept, feature_params=feature_params, params=tp)
        ckpt = Checkpoint(model=result.model, config=result.model.config, classes=kept,
                          feature_params=dict(feature_params),
                          train_params=params_to_dict(tp), meta={})
        ref = np.isin(test.labels, [classes.index(t) for t in themes if t != k])
        X_ref = embed_images_batched(ckpt, test.images[ref], batch_size=params.batch_size)
        ref_themes = [classes[i] for i in test.labels[ref]]
        X_k = embed_images_batched(ckpt, test.images[test.labels == classes.index(k)],
                                   batch_size=params.batch_size)
        X_v = embed_sounds(ckpt, list(variants.sound), batch_size=params.batch_size,
                           device=train_params.device)
        test_lost[k] = {}
        top_k, top_v = unknown_top(ckpt, X_k), unknown_top(ckpt, X_v)
        for metric, pooling, q in itertools.product(params.metrics, params.poolings,
                                                    params.quantiles):
            matcher = ThemeMatcher(threshold_quantile=q, pooling=pooling,
                                   metric=metric).fit(X_ref, ref_themes)
            far_k = matcher.match(X_k).status.to_numpy() == "lost"
            m = matcher.match(X_v)  # one fit and match serve every decision
            far_v = m.status.to_numpy() == "lost"
            for decision in DECISIONS:
                either = decision == "either"
                test_lost[k][(metric, decision, pooling, q)] = float(
                    (far_k | (either & top_k)).mean())
                lost_v = far_v | (either & top_v)
                for i, row in enumerate(variants.itertuples()):
                    rows.append({"held_out": k, "theme": row.theme, "variant": row.variant,
                                 "description": row.description,
                                 "expected": "lost" if row.theme == k else "persists",
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
    return Validation(songs=songs, test_lost=test_lost, rules=score_rules(songs))


def score_rules(songs: pd.DataFrame) -> pd.DataFrame:
    """Per rule: the share of held-out variants called ``lost`` and of kept themes' variants
    called ``persists`` as their own theme; the chosen rule flagged (:func:`choose_rule`)."""
    ok = np.where(songs.expected == "lost", songs.status == "lost",
                  (songs.status == "persists") & (songs.nearest == songs.theme))
    scored = songs.assign(ok=ok)
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
    """Write ``leave_one_out.csv``, ``drift.csv``, ``rules.csv``, ``metrics.json`` and
    ``validation.png`` into ``folder`` (call inside :func:`songnet.core.files.atomic_dir`).

    Returns the ``metrics.json`` content.
    """
    metric, decision, pooling, q = result.chosen
    songs = result.songs
    at = songs[(songs.metric == metric) & (songs.decision == decision)
               & (songs.pooling == pooling) & (songs["quantile"] == q)]
    held = at[at.expected == "lost"]
    loo = (held.groupby("held_out", sort=True)
           .agg(nearest=("nearest", lambda s: s.mode().iloc[0]),
                distance=("distance", "median"), threshold=("threshold", "median"),
                lost_share=("status", lambda s: float((s == "lost").mean())))
           .reset_index().rename(columns={"held_out": "theme"}))
    loo["status"] = np.where(loo.lost_share >= 0.5, "lost", "persists")
    loo["test_songs_lost"] = [result.test_lost[t][(metric, decision, pooling, q)]
                              for t in loo.theme]
    loo.round(4).to_csv(folder / "leave_one_out.csv", index=False)
    drift = at[at.expected == "persists"].drop(columns=["expected", "metric", "decision",
                                                         "pooling", "quantile"])
    drift.round(4).to_csv(folder / "drift.csv", index=False)
    result.rules.round(4).to_csv(folder / "rules.csv", index=False)
    chosen = result.rules[result.rules.chosen].iloc[0]
    summary = {"validation": {
        "lost_rate": float(chosen.lost_rate), "persist_rate": float(chosen.persist_rate),
        "themes_lost": f"{int((loo.status == 'lost').sum())}/{len(loo)}",
        "rule": {"metric": metric, "decision": decision, "threshold_pooling": pooling,
                 "threshold_quantile": q},
        "params": params_to_dict(params)}}
    write_json(folder / "metrics.json", summary)
    _figure(at, rules=result.rules, chosen=result.chosen).savefig(
        folder / "validation.png", dpi=110, bbox_inches="tight")
    return summary


def _figure(at: pd.DataFrame, *, rules: pd.DataFrame, chosen: tuple[str, str, str, float]
            ) -> Any:
    from matplotlib.figure import Figure

    fig = Figure(figsize=(10, 4), layout="constrained")
    ax, bx = fig.subplots(1, 2)
    margin = at.distance / at.threshold
    for expected, colour, label in (("persists", "tab:blue", "variants of trained themes"),
                                    ("lost", "tab:red", "variants of the held-out theme")):
        sel = at.expected == expected
        ax.hist(margin[sel], bins=30, alpha=0.6, color=colour, label=f"{label} (n={sel.sum()})")
    ax.axvline(1.0, color="k", lw=1)
    ax.set_xlabel("distance / threshold (chosen rule)")
    ax.set_ylabel("variants")
    ax.set_title(f"rule: {chosen[0]}, {chosen[1]}, {chosen[2]}, quantile {chosen[3]:g}",
                 fontsize=10)
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
    bx.set_title(f"leave-one-theme-out: every rule deciding by {chosen[1]}", fontsize=10)
    bx.legend(fontsize=7)
    return fig

