"""``songnet validate``: every theme held out, the persistence answer measured out of sample."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import click
import torch

from songnet.cli.common import (
    catalog_option,
    common_options,
    device_option,
    features_dir_option,
    out_option,
)
from songnet.core.errors import SongnetError
from songnet.core.files import atomic_dir, check_output_dir
from songnet.core.labels import theme_classes
from songnet.core.params import load_params, params_from_mapping
from songnet.core.progress import bar
from songnet.features.featureset import load_meta, load_split
from songnet.features.params import FeatureParams
from songnet.latent.folds import drifted_songs, foreign_origins, held_out_folds, theme_folds
from songnet.latent.validate import save_validation
from songnet.latent.validate_params import ValidateParams
from songnet.model.train_params import TrainParams
from songnet.resynth.resynthesize import ResynthesizeParams
from songnet.surrogates.themes import load_catalog


@click.command("validate")
@features_dir_option()
@catalog_option
@out_option("Output folder: folds.csv, leave_one_out.csv, drift.csv, rules.csv, "
            "summary.json, metrics.json (headline), rule.json, validation.png.",
            default=Path("experiments/validation"))
@device_option(default=None)
@common_options
def command(features_dir: Path, catalog_dir: Path | None, out: Path, device: str | None,
            params_file: Path, quiet: bool) -> None:
    """Hold every theme out once, in validate.folds folds; its variants must come out lost.

    For each fold a network is trained on the other themes (validate.epochs, the rest of
    the [train] section as it is); drifted 1966-style variants of every theme are sketched
    and resung by the model, as 1966 songs are. The held-out themes' variants must be
    `lost`, the others' `persists`. Each fold's threshold rule is chosen on the other folds
    and its rates are reported on that fold (out of sample, with 95 % bootstrap
    intervals); the rule chosen on every fold at once goes to the project stage.
    """
    inputs = [features_dir, params_file] + ([catalog_dir] if catalog_dir is not None else [])
    check_output_dir(out, inputs=inputs)
    params = load_params(params_file, "validate", ValidateParams)
    train_params = load_params(params_file, "train", TrainParams)
    if device is not None:
        train_params = dataclasses.replace(train_params, device=device)
    resynth_params = load_params(params_file, "resynthesize", ResynthesizeParams)
    meta = load_meta(features_dir)
    fp = params_from_mapping(FeatureParams, meta["params"], where=f"{features_dir} params")
    themes = [t for t in load_catalog(catalog_dir) if t.name in meta["classes"]]
    if len(themes) != len(theme_classes(meta["classes"])):
        raise SongnetError(f"the catalog's themes do not match the classes of {features_dir} "
                           f"({', '.join(theme_classes(meta['classes']))}); pass the catalog the "
                           "features were made from with --catalog")
    names = [t.name for t in themes]  # checked before any variant is sung
    n_models = len(theme_folds(list(params.themes) or names, params.folds, known=names))
    splits = {s: load_split(features_dir, s) for s in ("train", "val", "test")}
    torch.set_num_threads(train_params.num_threads)
    torch.use_deterministic_algorithms(True, warn_only=True)
    with bar(len(themes) * params.variants, desc="variants", unit="song", quiet=quiet) as pbar:
        variants = drifted_songs(themes, n=params.variants, seed=params.seed, sr=fp.sr,
                                 params=resynth_params, progress=pbar.update)
    with bar(n_models, desc="validate", unit="fold", quiet=quiet) as pbar:
        result = held_out_folds(train=splits["train"], val=splits["val"], test=splits["test"],
                               classes=meta["classes"], feature_params=meta["params"],
                               train_params=train_params, variants=variants, params=params,
                               origins=foreign_origins(meta), progress=pbar.update)
    with atomic_dir(out) as tmp:
        summary = save_validation(result, tmp, params=params)["validation"]
    if not quiet:
        rule = summary["rule"]
        lo, hi = summary["lost_ci"]
        plo, phi = summary["persist_ci"]
        click.echo(f"out of sample, {len(summary['folds'])} folds: lost_rate "
                   f"{summary['lost_rate']:.2f} [{lo:.2f}, {hi:.2f}], persist_rate "
                   f"{summary['persist_rate']:.2f} [{plo:.2f}, {phi:.2f}] (95 % intervals); "
                   f"held-out themes lost: {summary['themes_lost']}; the project stage's rule "
                   f"({rule['metric']}, {rule['decision']}, {rule['threshold_pooling']}, "
                   f"quantile {rule['threshold_quantile']:g}) chosen by "
                   f"{summary['folds_choosing_it']} of {len(summary['folds'])} folds too "
                   f"-> {out}", err=True)
