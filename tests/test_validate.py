"""The validate stage's statistics: folds of held-out themes, the rule chosen out of sample,
bootstrap intervals over themes; and the metric-learning loss of the embedding."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from songnet.core.errors import SongnetError
from songnet.latent.folds import theme_folds
from songnet.latent.rules import (
    CHOOSE,
    REPORT,
    Validation,
    bootstrap_rate,
    outer_rates,
    score_rules,
)
from songnet.latent.validate_params import ValidateParams
from songnet.model.train import supcon_loss


def test_every_theme_is_held_out_exactly_once():
    themes = [f"T{i:02d}" for i in range(11, 0, -1)]
    folds = theme_folds(themes, 4)
    assert folds[0] == ["T01", "T05", "T09"]  # the old default's three, now fold 0
    assert sorted(t for f in folds for t in f) == sorted(themes)
    assert [len(f) for f in folds] == [3, 3, 3, 2]
    with pytest.raises(SongnetError, match=r"validate\.folds=5 but only 3 themes"):
        theme_folds(["A", "B", "C"], 5)
    with pytest.raises(ValueError, match="folds=2"):
        ValidateParams(folds=2)
    with pytest.raises(ValueError, match="variants=1"):
        ValidateParams(variants=1)


def _row(fold, theme, half, expected, quantile, ok):
    """One scored variant: right or wrong under the rule ``quantile``."""
    if expected == "lost":
        status, nearest = ("lost" if ok else "persists"), "T9"
    else:
        status, nearest = "persists", (theme if ok else "T9")
    return {"fold": fold, "theme": theme, "variant": f"{theme}-{half}", "half": half,
            "description": "", "expected": expected, "metric": "cosine",
            "decision": "distance", "pooling": "pooled", "quantile": quantile,
            "nearest": nearest, "distance": 0.1, "threshold": 0.2, "unknown_top": False,
            "status": status}


def _validation(folds, *, choose_good, report_good):
    """Two rules: ``choose_good`` is right on every choosing variant and wrong on every
    reported one, ``report_good`` the opposite."""
    rows = []
    themes = sorted(t for f in folds for t in f)
    for f, held in enumerate(folds):
        for theme in themes:
            expected = "lost" if theme in held else "persists"
            for half in (CHOOSE, REPORT):
                for q in (choose_good, report_good):
                    good = (q == choose_good) == (half == CHOOSE)
                    rows.append(_row(f, theme, half, expected, q, good))
    songs = pd.DataFrame(rows)
    return Validation(songs=songs, folds=folds, test_lost={}, rules=score_rules(songs))


def test_the_reported_rule_is_chosen_without_the_rows_that_report_it():
    # a rule that is right exactly where the reported rows lie must never be picked: the
    # choice sees only other folds' choosing half
    result = _validation([["T1", "T4"], ["T2", "T5"], ["T3", "T6"]], choose_good=0.9,
                         report_good=0.99)
    per_fold, pooled, reported = outer_rates(result, n=200)
    assert list(per_fold["quantile"]) == [0.9, 0.9, 0.9]
    # under 0.9 every reported persist row is wrong; the held-out themes' choosing half
    # (never seen by the choice, other folds hold those themes as kept) is right
    assert pooled["persist_rate"] == 0.0
    assert pooled["lost_rate"] == 0.5
    assert set(reported.half[reported.expected == "persists"]) == {REPORT}
    assert set(reported.half[reported.expected == "lost"]) == {CHOOSE, REPORT}
    assert pooled["n_lost"] == 12 and pooled["n_persist"] == 12


def test_a_fold_is_not_chosen_on_its_own_themes():
    # every row is right under both rules, except fold 0's theme T1 as the other folds see
    # it: right under 0.9 only. Leaked, T1 would pick 0.9; unseen, the tie goes to 0.99.
    folds = [["T1"], ["T2"], ["T3"]]
    rows = [_row(f, theme, half, "lost" if theme in held else "persists", q,
                 ok=not (theme == "T1" and f != 0 and q == 0.99))
            for f, held in enumerate(folds) for theme in ("T1", "T2", "T3")
            for half in (CHOOSE, REPORT) for q in (0.9, 0.99)]
    songs = pd.DataFrame(rows)
    result = Validation(songs=songs, folds=folds, test_lost={}, rules=score_rules(songs))
    per_fold, _, _ = outer_rates(result, n=50)
    assert per_fold.loc[0, "quantile"] == 0.99
    assert list(per_fold["quantile"][1:]) == [0.9, 0.9]  # they do see T1


def test_bootstrap_resamples_themes_not_songs():
    rng = np.random.default_rng(0)
    ok = np.r_[np.ones(50), np.zeros(50)]
    themes = ["A"] * 50 + ["B"] * 50
    low, high = bootstrap_rate(ok, themes, n=500, rng=rng)
    # two themes, one all right and one all wrong: resampling themes gives 0, 0.5 or 1
    assert low == 0.0 and high == 1.0
    low, high = bootstrap_rate(ok, [f"t{i}" for i in range(100)], n=500, rng=rng)
    assert 0.35 < low < 0.5 < high < 0.65  # 100 independent songs: a narrow interval
    assert bootstrap_rate(np.ones(7), ["A"] * 7, n=50, rng=rng) == (1.0, 1.0)
    assert all(np.isnan(bootstrap_rate(np.ones(0), [], n=50, rng=rng)))


def test_supervised_contrastive_loss_rewards_themes_that_cluster():
    labels = torch.tensor([0, 0, 1, 1, 2, 2])
    anchors = torch.tensor([True, True, True, True, False, False])  # 2: unknown
    clustered = torch.tensor([[1.0, 0, 0], [0.9, 0.1, 0], [0, 1, 0], [0.1, 0.9, 0],
                              [0, 0, 1], [0.5, 0.5, 0.5]])
    mixed = clustered[[0, 2, 1, 3, 4, 5]]
    kw = {"anchors": anchors, "temperature": 0.1}
    assert supcon_loss(clustered, labels, **kw) < supcon_loss(mixed, labels, **kw) - 1.0
    # unknown songs are never anchors: with no theme anchor the loss is 0 (and has a grad)
    emb = clustered.clone().requires_grad_(True)
    zero = supcon_loss(emb, labels, anchors=torch.zeros(6, dtype=torch.bool),
                       temperature=0.1)
    zero.backward()
    assert float(zero.detach()) == 0.0 and emb.grad is not None


def test_the_command_refuses_bad_folds_and_themes_before_any_work(tmp_path, repo_root, capsys):
    import shutil

    import yaml

    from songnet.cli import main
    from tests.tiny_features import write_features

    features = write_features(tmp_path / "features")  # classes low, high, no_song
    catalog = tmp_path / "catalog"
    catalog.mkdir()
    for name, src in (("low", "T01"), ("high", "T04")):
        text = (repo_root / "songnet" / "surrogates" / "catalog" / f"{src}.yaml").read_text()
        (catalog / f"{name}.yaml").write_text(text.replace(f"name: {src}", f"name: {name}"))
    shutil.copy(repo_root / "songnet" / "surrogates" / "catalog" / "dialect.yaml", catalog)
    params = yaml.safe_load((repo_root / "params.yaml").read_text())
    for change, needle in (({"folds": 5}, "validate.folds=5 but only 2 themes"),
                           ({"themes": ["low", "mid"]}, "validate.themes names 'mid'"),
                           ({"folds": 2}, "folds=2 must be >= 3")):
        params["validate"] = {**yaml.safe_load((repo_root / "params.yaml").read_text()
                                               )["validate"], **change}
        path = tmp_path / "params.yaml"
        path.write_text(yaml.safe_dump(params))
        out = tmp_path / "validation"
        code = main(["validate", "--features", str(features), "--catalog", str(catalog),
                     "-o", str(out), "--params", str(path), "-q"])
        err = capsys.readouterr().err
        assert code == 2 and needle in err and "Traceback" not in err, err
        assert len(err.strip().splitlines()) == 1 and not out.exists()
