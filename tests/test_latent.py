"""Latent map and persistence on generated embeddings with planted theme clusters."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from songnet.cli import main
from songnet.core.errors import SongnetError
from songnet.latent.embed import Embeddings, save_embeddings
from songnet.latent.plots import plot_latent_map, plot_persistence
from songnet.latent.project import (
    LatentMap,
    LatentOutputs,
    ProjectParams,
    ThemeMatcher,
    load,
    persistence_table,
    save,
)

DIM = 12


def planted(seed=0, n_per=20, n_themes=4):
    """2020 clusters T0..T3; 1966: variants near T0 and T2, two far-away themes."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(0, 6, size=(n_themes, DIM))
    X = np.concatenate([c + rng.normal(0, 1, size=(n_per, DIM)) for c in centres])
    labels = np.repeat([f"T{i}" for i in range(n_themes)], n_per)
    far = rng.normal(0, 6, size=(2, DIM)) + 25.0
    old = np.stack([centres[0] + rng.normal(0, 0.5, DIM), centres[2] + rng.normal(0, 0.5, DIM),
                    far[0], far[1]])
    return X, labels, old


def test_matcher_finds_planted_truth():
    X, labels, old = planted()
    m = ThemeMatcher().fit(X, labels)
    assert list(m.themes_) == ["T0", "T1", "T2", "T3"]
    table = persistence_table(m, old, song_ids=["a", "b", "c", "d"],
                              themes_1966=["T0", "T2", "X", "Y"])
    rows = table.set_index("song_id")
    assert rows.loc["a", "theme_2020"] == "T0" and rows.loc["a", "status"] == "persists"
    assert rows.loc["b", "theme_2020"] == "T2" and rows.loc["b", "status"] == "persists"
    assert rows.loc["c", "status"] == "lost" and rows.loc["d", "status"] == "lost"
    new = table[table.status == "new"]
    assert sorted(new.theme_2020) == ["T1", "T3"]
    assert (table.loc[table.status == "persists", "distance"]
            <= table.loc[table.status == "persists", "threshold"]).all()
    assert list(table.columns) == ["song_id", "theme_1966", "theme_2020", "distance",
                                   "threshold", "margin", "status", "persist_share", "n_2020",
                                   "n_1966_given"]
    assert table.persist_share.isna().all()  # no resampling asked for
    np.testing.assert_allclose(table.margin, table.threshold - table.distance)
    assert (table.margin[table.status == "persists"] >= 0).all()
    assert (table.margin[table.status == "lost"] < 0).all()
    assert list(rows.loc[["a", "b", "c", "d"], "n_1966_given"]) == [1, 1, 1, 1]
    assert (new.n_1966_given == 4).all()  # new = not found among the 4 songs given


def test_each_decision_carries_its_bootstrap_share_and_the_songs_it_rests_on():
    X, labels, old = planted()
    m = ThemeMatcher(threshold_quantile=0.9).fit(X, labels)
    # a fifth 1966 song right on T1's threshold: a close call the resampling must show
    i1 = list(m.themes_).index("T1")
    z = (m.centroids_[i1] + np.eye(DIM)[0] * m.thresholds_[i1]) * m.scale_ + m.mean_
    old = np.vstack([old, z])
    ids = ["a", "b", "c", "d", "edge"]
    table = persistence_table(m, old, song_ids=ids, X2020=X, themes_2020=labels,
                              bootstrap=200, seed=1)
    rows = table[table.status != "new"].set_index("song_id")
    assert rows.loc["a", "persist_share"] >= 0.95 and rows.loc["b", "persist_share"] >= 0.95
    assert rows.loc["c", "persist_share"] == 0.0 and rows.loc["d", "persist_share"] == 0.0
    assert 0.1 < rows.loc["edge", "persist_share"] < 0.9
    new = table[table.status == "new"].set_index("theme_2020")
    assert new.loc["T3", "persist_share"] == 0.0  # firmly new: no resample finds it
    assert (table.n_2020 == 20).all()
    again = persistence_table(m, old, song_ids=ids, X2020=X, themes_2020=labels,
                              bootstrap=200, seed=1)
    pd.testing.assert_frame_equal(table, again)  # seeded
    flagged = persistence_table(m, old, song_ids=ids, X2020=X, themes_2020=labels,
                                bootstrap=50, unknown=[True, False, False, False, False])
    assert flagged.persist_share.iloc[0] == 0.0  # `unknown` to the network: lost every time
    with pytest.raises(SongnetError, match="bootstrap needs the 2020 embeddings"):
        persistence_table(m, old, song_ids=ids, bootstrap=10)


def test_threshold_is_learned_from_spread():
    X, labels, _ = planted()
    tight = ThemeMatcher(threshold_quantile=0.95, threshold_scale=1.0).fit(X, labels)
    loose = ThemeMatcher(threshold_quantile=0.95, threshold_scale=2.0).fit(X, labels)
    np.testing.assert_allclose(loose.thresholds_, 2 * tight.thresholds_)
    Z = (X - tight.mean_) / tight.scale_
    within = np.concatenate([np.linalg.norm(Z[labels == t] - tight.centroids_[i], axis=1)
                             for i, t in enumerate(tight.themes_)])
    np.testing.assert_allclose(tight.thresholds_, np.quantile(within, 0.95))
    per = ThemeMatcher(threshold_quantile=0.95, pooling="per_theme").fit(X, labels)
    d0 = np.linalg.norm(Z[labels == "T0"] - per.centroids_[0], axis=1)
    assert per.thresholds_[0] == pytest.approx(np.quantile(d0, 0.95))
    assert len(set(per.thresholds_)) == 4
    with pytest.raises(SongnetError, match="pooling"):
        ThemeMatcher(pooling="mean").fit(X, labels)


def test_a_few_real_songs_weigh_as_much_as_many_surrogates():
    """With groups, a theme's centroid is the mean of its groups' means: 40 model-made songs
    in one direction and 4 real songs in another put it halfway, not a tenth of the way;
    the threshold covers both kinds."""
    rng = np.random.default_rng(4)
    model_songs = np.array([1.0, 0.0, 0.0]) + rng.normal(0, 0.05, size=(40, 3))
    real_songs = np.array([1.0, 1.0, 0.0]) + rng.normal(0, 0.05, size=(4, 3))
    other = np.array([0.0, 0.0, 1.0]) + rng.normal(0, 0.05, size=(40, 3))
    X = np.concatenate([model_songs, real_songs, other])
    labels = ["A"] * 44 + ["B"] * 40
    groups = ["model"] * 40 + ["real"] * 4 + ["model"] * 40
    kw = dict(metric="cosine", threshold_quantile=1.0)
    plain = ThemeMatcher(**kw).fit(X, labels)
    both = ThemeMatcher(**kw).fit(X, labels, groups)
    Z = X / np.linalg.norm(X, axis=1, keepdims=True)
    np.testing.assert_allclose(both.centroids_[0],
                               (Z[:40].mean(axis=0) + Z[40:44].mean(axis=0)) / 2)
    np.testing.assert_allclose(both.centroids_[1], plain.centroids_[1])  # one group: as before
    real_new = np.array([[1.0, 1.1, 0.0]])  # another real song of theme A
    assert both.distances(real_new)[0, 0] < 0.6 * plain.distances(real_new)[0, 0]
    idx, dist, thr = both.nearest(np.concatenate([real_new, X[:1]]))
    assert list(both.themes_[idx]) == ["A", "A"] and (dist <= thr).all()
    assert plain.nearest(real_new)[1][0] > plain.nearest(real_new)[2][0]  # unknown without
    with pytest.raises(SongnetError, match="groups"):
        ThemeMatcher().fit(X, labels, groups[:-1])


def test_matcher_errors():
    X, labels, old = planted()
    with pytest.raises(SongnetError, match="labels"):
        ThemeMatcher().fit(X, labels[:-1])
    m = ThemeMatcher().fit(X, labels)
    with pytest.raises(SongnetError, match="same model"):
        m.match(old[:, :5])
    with pytest.raises(SongnetError, match="single song"):
        ThemeMatcher().fit(X[:2], ["a", "b"])


def test_save_load_and_plots_roundtrip(tmp_path):
    X, labels, old = planted(n_per=5)
    m = ThemeMatcher().fit(X, labels)
    table = persistence_table(m, old, song_ids=["a", "b", "c", "d"])
    coords = np.arange(24 * 4, dtype=float).reshape(24, 4)
    maps = pd.DataFrame(coords, columns=["umap_1", "umap_2", "pca_1", "pca_2"])
    maps.insert(0, "theme", list(labels) + [""] * 4)
    maps.insert(0, "era", ["2020"] * 20 + ["1966"] * 4)
    maps.insert(0, "song_id", [f"s{i}" for i in range(20)] + ["a", "b", "c", "d"])
    save(LatentOutputs(maps=maps, persistence=table, info={"random_state": 3}), tmp_path)
    back = load(tmp_path)
    assert back.info == {"random_state": 3}
    assert list(back.songs_1966.song_id) == ["a", "b", "c", "d"]
    assert back.songs_2020.theme.iloc[0] == "T0"
    pd.testing.assert_frame_equal(back.persistence, table, check_exact=False, rtol=1e-5)
    fig = plot_latent_map(back.maps)
    assert len(fig.axes) == 2
    assert len(plot_persistence(back.persistence).axes) == 1


def test_load_missing_folder(tmp_path):
    with pytest.raises(SongnetError, match="songnet project"):
        load(tmp_path / "none")


@pytest.mark.slow
def test_umap_same_random_state_same_map():
    X, labels, old = planted(n_per=10)
    a = LatentMap(n_neighbors=8, random_state=7)
    b = LatentMap(n_neighbors=8, random_state=7)
    A = a.fit_transform(X)
    np.testing.assert_array_equal(A, b.fit_transform(X))
    np.testing.assert_array_equal(a.transform(old), b.transform(old))
    assert A.shape == (40, 4) and a.transform(old).shape == (4, 2 + 2)
    # 2020 themes form separate groups in the map: each song's nearest neighbour shares its theme
    D = np.linalg.norm(A[:, None, :2] - A[None, :, :2], axis=2)
    np.fill_diagonal(D, np.inf)
    assert np.mean(labels[D.argmin(axis=1)] == labels) > 0.95


def test_project_params_checked():
    with pytest.raises(ValueError, match="threshold_quantile"):
        ProjectParams(threshold_quantile=1.5)


@pytest.mark.slow
def test_cli_project_writes_maps_table_and_plots(tmp_path, repo_root):
    X, labels, old = planted(n_per=10)
    songs = pd.DataFrame({
        "song_id": [f"s{i}" for i in range(len(X))] + ["a", "b", "c", "d"],
        "era": ["2020"] * len(X) + ["1966"] * 4,
        "theme": [*list(labels), "T0", "T2", "X", "Y"], "source": "generated", "split": ""})
    save_embeddings(Embeddings(np.concatenate([X, old]), songs), tmp_path / "emb", info={})
    args = ["project", "--embeddings", str(tmp_path / "emb"), "-q",
            "--params", str(repo_root / "params.yaml")]
    assert main([*args, "--out", str(tmp_path / "latent")]) == 0
    out = load(tmp_path / "latent")
    assert len(out.maps) == len(X) + 4
    rows = out.persistence.set_index("song_id")
    assert list(rows.loc[["a", "b", "c", "d"], "status"]) == ["persists", "persists", "lost",
                                                             "lost"]
    assert list(rows.loc[["a", "b"], "theme_2020"]) == ["T0", "T2"]
    assert sorted(out.persistence[out.persistence.status == "new"].theme_2020) == ["T1", "T3"]
    assert (tmp_path / "latent" / "latent_map.png").stat().st_size > 10_000
    assert (tmp_path / "latent" / "persistence.png").is_file()
    assert main([*args, "--out", str(tmp_path / "again")]) == 0
    again = load(tmp_path / "again")
    pd.testing.assert_frame_equal(out.maps, again.maps)  # same random_state, same map


def _trained_model():
    from songnet.model.checkpoint import default_model_path

    for path in (Path(__file__).resolve().parents[1] / "experiments" / "model" / "model.pt",
                 default_model_path()):
        if path.is_file():
            return path
    pytest.skip("no trained model (experiments/model/model.pt or the shipped default); "
                "run `dvc repro train` first")
    return None


@pytest.mark.slow
def test_default_data_planted_truth(repo_root):
    """Default catalog vs data/1966: variants persist as their theme, absent themes are lost."""
    from songnet.core.audio import resample
    from songnet.core.sound import Sound
    from songnet.latent.embed import embed_sounds
    from songnet.model.checkpoint import load_checkpoint
    from songnet.resynth.resynthesize import resynthesize_sketch
    from songnet.resynth.sketch import read_sketch
    from songnet.surrogates.birds import sing
    from songnet.surrogates.themes import load_catalog

    ckpt = load_checkpoint(_trained_model())
    fp = ckpt.features()
    rng = np.random.default_rng(0)
    songs, labels = [], []
    for theme in load_catalog():
        for _ in range(8):
            y = resample(sing(theme, rng=rng), orig_sr=44100, sr=fp.sr)
            songs.append(Sound(y, fp.sr, theme.name))
            labels.append(theme.name)
    sketches = [read_sketch(p) for p in sorted((repo_root / "data" / "1966").glob("*.csv"))]
    old = [Sound(resample(resynthesize_sketch(s).sound.samples, orig_sr=44100, sr=fp.sr),
                 fp.sr, s.id) for s in sketches]
    X = embed_sounds(ckpt, songs, device="cpu")
    O = embed_sounds(ckpt, old, device="cpu")
    params = ProjectParams()
    matcher = ThemeMatcher(threshold_quantile=params.threshold_quantile,
                           threshold_scale=params.threshold_scale,
                           pooling=params.threshold_pooling).fit(X, labels)
    table = persistence_table(matcher, O, song_ids=[s.id for s in sketches],
                              themes_1966=[s.theme for s in sketches])
    known = set(labels)
    rows = table[table.song_id != ""]
    for row in rows.itertuples():
        if row.theme_1966 in known:
            assert (row.status, row.theme_2020) == ("persists", row.theme_1966), row
        else:
            assert row.status == "lost", row
    new = set(table.loc[table.status == "new", "theme_2020"])
    assert new == known - set(rows.theme_1966)


def test_n_1966_given_counts_songs_per_1966_theme():
    X, labels, old = planted()
    m = ThemeMatcher().fit(X, labels)
    table = persistence_table(m, old, song_ids=["a", "b", "c", "d"],
                              themes_1966=["T0", "T0", "X", ""])
    assert list(table.n_1966_given[:4]) == [2, 2, 1, 1]


def test_a_song_the_network_calls_unknown_is_lost_whatever_its_distance():
    X, labels, old = planted()
    m = ThemeMatcher().fit(X, labels)
    plain = persistence_table(m, old, song_ids=["a", "b", "c", "d"])
    flagged = persistence_table(m, old, song_ids=["a", "b", "c", "d"],
                                unknown=[True, False, False, False])
    assert flagged.status[0] == "lost" and list(flagged.status[1:4]) == list(plain.status[1:4])
    assert flagged.distance[0] == plain.distance[0]  # the nearest theme and distance are kept
    with pytest.raises(SongnetError, match="unknown flags"):
        persistence_table(m, old, song_ids=["a", "b", "c", "d"], unknown=[True])


def test_cosine_matcher_measures_directions_only():
    X, labels, old = planted()
    X = np.abs(X)  # embeddings after a ReLU are non-negative
    m = ThemeMatcher(threshold_quantile=0.95, metric="cosine").fit(X, labels)
    unit = X / np.linalg.norm(X, axis=1, keepdims=True)
    want = np.stack([unit[labels == t].mean(axis=0) for t in m.themes_])
    np.testing.assert_allclose(m.centroids_, want)
    song = np.abs(old[:1])
    np.testing.assert_allclose(m.distances(3.0 * song), m.distances(song))  # louder, same
    np.testing.assert_allclose(m.distances(song)[0],
                               np.linalg.norm(song[0] / np.linalg.norm(song[0]) - want, axis=1))
    std = ThemeMatcher(threshold_quantile=0.95).fit(X, labels)
    assert not np.allclose(std.distances(3.0 * song), std.distances(song))
    back = ThemeMatcher.from_dict(m.to_dict())
    assert back.metric == "cosine"
    np.testing.assert_allclose(back.distances(old), m.distances(old))
    older = {k: v for k, v in std.to_dict().items() if k != "metric"}  # saved before metrics
    assert ThemeMatcher.from_dict(older).metric == "standardized"
    with pytest.raises(SongnetError, match="metric='angle'"):
        ThemeMatcher(metric="angle").fit(X, labels)
    with pytest.raises(SongnetError, match="unknown metric"):
        ThemeMatcher.from_dict({**m.to_dict(), "metric": "angle"})


def test_validation_scores_every_metric_and_picks_the_best_worst_case():
    from songnet.latent.rules import RULE_COLUMNS, score_rules

    rows = []
    for metric, lost_ok, persist_ok in (("standardized", 1, 2), ("cosine", 2, 3)):
        for i in range(4):  # 4 held-out variants, 4 variants of kept themes
            rows.append({"metric": metric, "decision": "distance", "pooling": "pooled",
                         "quantile": 0.95, "theme": "T1", "expected": "lost",
                         "nearest": "T2", "status": "lost" if i < lost_ok else "persists"})
            rows.append({"metric": metric, "decision": "distance", "pooling": "pooled",
                         "quantile": 0.95, "theme": "T2", "expected": "persists",
                         "nearest": "T2" if i < persist_ok else "T3", "status": "persists"})
    rules = score_rules(pd.DataFrame(rows))
    assert list(rules.columns) == list(RULE_COLUMNS)
    got = rules.set_index("metric")
    assert got.loc["standardized", "lost_rate"] == 0.25
    assert got.loc["cosine", "persist_rate"] == 0.75
    assert list(rules[rules.chosen].metric) == ["cosine"]


def test_project_takes_the_rule_the_validate_stage_chose(tmp_path):
    import dataclasses
    import json

    from songnet.latent.project import validated_rule

    given = ProjectParams(threshold_quantile=0.9, threshold_metric="cosine",
                          threshold_decision="either", threshold_pooling="pooled",
                          threshold_from="")
    assert validated_rule(given) is given  # threshold_from "": as given
    metrics = tmp_path / "metrics.json"
    metrics.write_text(json.dumps({"validation": {"lost_rate": 0.7, "rule": {
        "metric": "standardized", "decision": "distance", "threshold_pooling": "per_theme",
        "threshold_quantile": 0.95}}}))
    got = validated_rule(dataclasses.replace(given, threshold_from=str(metrics)))
    assert (got.threshold_metric, got.threshold_decision, got.threshold_pooling,
            got.threshold_quantile) == ("standardized", "distance", "per_theme", 0.95)
    assert got.n_neighbors == given.n_neighbors and got.threshold_scale == given.threshold_scale
    with pytest.raises(SongnetError, match="not found; run `songnet validate`"):
        validated_rule(dataclasses.replace(given, threshold_from=str(tmp_path / "none.json")))
    metrics.write_text(json.dumps({"validation": {"lost_rate": 0.7}}))
    with pytest.raises(SongnetError, match="holds no validated rule"):
        validated_rule(dataclasses.replace(given, threshold_from=str(metrics)))
    metrics.write_text(json.dumps({"validation": {"rule": {
        "metric": "angle", "decision": "distance", "threshold_pooling": "pooled",
        "threshold_quantile": 0.9}}}))
    with pytest.raises(SongnetError, match="threshold_metric='angle'"):
        validated_rule(dataclasses.replace(given, threshold_from=str(metrics)))
