"""The folds of held-out themes: the catalog dealt into folds (:func:`theme_folds`), a network
trained without each fold's themes, and every theme's drifted 1966-style variants
(:func:`drifted_songs`) measured on it under every rule of the grid
(:func:`held_out_folds`).
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
from songnet.core.labels import theme_classes
from songnet.core.params import params_to_dict
from songnet.core.progress import ProgressCallback
from songnet.core.sound import Sound
from songnet.features.featureset import FeatureSplit
from songnet.latent.embed import embed_images_batched, embed_sounds
from songnet.latent.project import ThemeMatcher
from songnet.latent.rules import (
    CHOOSE,
    DECISIONS,
    REPORT,
    Validation,
    score_rules,
)
from songnet.latent.validate_params import ValidateParams
from songnet.model.checkpoint import Checkpoint, unknown_top
from songnet.model.train import train_model
from songnet.model.train_params import TrainParams
from songnet.resynth.resynthesize import ResynthesizeParams, resynthesize_sketch
from songnet.resynth.sketch import parse_sketch
from songnet.resynth.variants import drift_variant, sketch_text
from songnet.surrogates.themes import Theme
from songnet.synth import SR

__all__ = ["drifted_songs", "foreign_origins", "held_out_folds", "theme_folds"]


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
        rows += _score_fold(ckpt, f, held, test=test, classes=classes, variants=variants,
                            params=params, device=train_params.device, test_lost=test_lost)
        if progress is not None:
            progress(1)
    songs = pd.DataFrame(rows)
    return Validation(songs=songs, folds=folds, test_lost=test_lost, rules=score_rules(songs))


def _score_fold(ckpt: Checkpoint, fold: int, held: Sequence[str], *, test: FeatureSplit,
                classes: list[str], variants: pd.DataFrame, params: ValidateParams,
                device: str, test_lost: dict[str, dict]) -> list[dict[str, Any]]:
    """Every rule of the grid on one fold's network (``ckpt``, trained without ``held``):
    one row per (variant, rule); ``test_lost`` gets each held-out theme's lost share of its
    2020 test songs under each rule."""
    themes = theme_classes(classes)
    ref = np.isin(test.labels, [classes.index(t) for t in themes if t not in held])
    X_ref = embed_images_batched(ckpt, test.images[ref], batch_size=params.batch_size)
    ref_themes = [classes[i] for i in test.labels[ref]]
    X_k = {k: embed_images_batched(ckpt, test.images[test.labels == classes.index(k)],
                                   batch_size=params.batch_size) for k in held}
    top_k = {k: unknown_top(ckpt, x) for k, x in X_k.items()}
    X_v = embed_sounds(ckpt, list(variants.sound), batch_size=params.batch_size,
                       device=device)
    top_v = unknown_top(ckpt, X_v)
    for k in held:
        test_lost[k] = {}
    rows: list[dict[str, Any]] = []
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
            rows += _variant_rows(m, variants, lost=far_v | (either & top_v), top=top_v,
                                  fold=fold, held=held, rule=(metric, decision, pooling, q))
    return rows


def _variant_rows(m: pd.DataFrame, variants: pd.DataFrame, *, lost: np.ndarray,
                  top: np.ndarray, fold: int, held: Sequence[str],
                  rule: tuple[str, str, str, float]) -> list[dict[str, Any]]:
    """One row per variant: its match ``m`` under ``rule`` and whether it is ``lost``."""
    metric, decision, pooling, q = rule
    return [{"fold": fold, "theme": row.theme, "variant": row.variant, "half": row.half,
             "description": row.description,
             "expected": "lost" if row.theme in held else "persists",
             "metric": metric, "decision": decision, "pooling": pooling, "quantile": q,
             "nearest": m.theme_2020.iloc[i], "distance": float(m.distance.iloc[i]),
             "threshold": float(m.threshold.iloc[i]), "unknown_top": bool(top[i]),
             "status": "lost" if lost[i] else "persists"}
            for i, row in enumerate(variants.itertuples())]
