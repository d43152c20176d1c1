"""``songnet themes discover``: unsorted recordings in, proposed themes out."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from conftest import benchmark

from songnet.cli import main
from songnet.discover.group import (
    FALLBACK,
    between_bird_tolerance,
    confirm,
    distance_matrix,
    group_songs,
    within_bird_tolerance,
)
from songnet.discover.report import cut_clips
from songnet.discover.songs import SongFound
from songnet.song.distance import intro_distance, intro_distances


def _rows(out: Path) -> list[dict]:
    with open(out / "discover.csv", newline="") as f:
        return list(csv.DictReader(f))


def _song(source: str, notes_khz_ms: list[tuple[float, float]], *, start: float = 0.0,
          interval: float = 0.07, p: float = 1.0, trill_hz: tuple[float, float] = (6000, 3000)
          ) -> SongFound:
    notes = np.log([[k * 1000, k * 1000, k * 1000, ms / 1000] for k, ms in notes_khz_ms])
    return SongFound(source=source, start_s=start, end_s=start + 2.0, p_song=p, notes=notes,
                     trill_interval_s=interval, trill_start_hz=float(trill_hz[0]),
                     trill_end_hz=float(trill_hz[1]), trill_count=12, description="")


# ---- distances and grouping ----------------------------------------------------------


def test_intro_distances_are_intro_distance_figure_for_figure():
    rng = np.random.default_rng(0)
    intros = [rng.normal(8.5, 0.2, size=(int(rng.integers(1, 6)), 4)) for _ in range(25)]
    for a in intros[:6]:
        assert np.array_equal(intro_distances(a, intros),
                              [intro_distance(a, b) for b in intros])


def test_tolerance_frees_small_differences_but_not_whole_notes():
    a = np.log([[4000, 4000, 4000, 0.15], [5000, 5000, 5000, 0.10]])
    near = a + np.log([[1.02, 1.02, 1.02, 1.05], [0.99, 0.99, 0.99, 0.95]])
    dropped = a[:1]
    assert intro_distances(a, [near])[0] > 0.2
    assert intro_distances(a, [near], tolerance=0.5)[0] == 0.0
    assert intro_distances(a, [dropped], tolerance=0.5)[0] == pytest.approx(1.0)


def test_two_notes_read_as_one_cost_half_a_note_with_merging():
    a = np.log([[4000, 4250, 4500, 0.1], [4500, 4750, 5000, 0.1], [6000, 5000, 4000, 0.3]])
    joined = np.log([[4000, 4500, 5000, 0.2], [6000, 5000, 4000, 0.3]])
    assert intro_distances(a, [joined], merge=0.5)[0] == pytest.approx(0.5, abs=0.05)
    assert intro_distances(a, [joined])[0] >= 1.0


def test_songs_of_one_theme_group_and_other_themes_do_not():
    songs = [_song(f"bird{b}", [(4.0 * f, 150 * g), (5.0 * f, 90 * g)], start=10.0 * i)
             for b, (f, g) in enumerate([(1.0, 1.0), (1.03, 1.08), (0.97, 0.95)])
             for i in range(3)]
    songs += [_song(f"other{b}", [(6.0 * f, 300), (3.5 * f, 60), (4.5 * f, 60)],
                    start=10.0 * i) for b, f in enumerate([1.0, 1.02]) for i in range(3)]
    g = group_songs(songs, min_songs=3)
    assert g.labels[:9] == ["D01"] * 9
    assert g.labels[9:] == ["D02"] * 6
    assert g.to_centre[g.centres["D01"]] == 0.0
    assert np.isfinite(g.to_centre).all()


def test_another_trill_is_another_theme():
    a = [_song("r1", [(4.0, 150)], start=i, interval=0.07) for i in range(3)]
    b = [_song("r2", [(4.0, 150)], start=i, interval=0.12) for i in range(3)]
    d = distance_matrix(a + b)
    assert d[0, 3] == pytest.approx(1.0)
    assert group_songs(a + b, threshold=0.9).labels == ["D01"] * 3 + ["D02"] * 3


def test_a_bird_that_sings_its_whole_song_lower_keeps_its_theme():
    intro = [(4.5, 200), (6.0, 140), (5.0, 180)]
    theme = [_song("high", intro, start=i) for i in range(3)]
    low = [_song("low", [(k * 0.91, ms) for k, ms in intro], start=i,
                 trill_hz=(6000 * 0.85, 3000 * 0.86)) for i in range(3)]
    other_trill = [_song("dialect", intro, start=i, trill_hz=(6000 * 1.2, 3000 * 1.2))
                   for i in range(3)]
    d = distance_matrix(theme + low + other_trill, tolerance=0.3)
    assert d[0, 3] < 0.5  # 9 % lower throughout: the same theme
    assert d[0, 6] == pytest.approx(1.0)  # the same introduction, a trill 20 % higher: not
    assert group_songs(theme + low + other_trill, tolerance=None).labels == \
        ["D01"] * 6 + ["D02"] * 3


def test_many_songs_are_grouped_by_representatives_as_by_every_pair():
    rng = np.random.default_rng(3)
    themes = [[(4.0, 150), (5.0, 90)], [(6.0, 300), (3.5, 60), (4.5, 60)], [(3.2, 500)]]
    songs = [_song(f"r{t}-{b}", [(k * rng.normal(1, 0.01), ms * rng.normal(1, 0.03))
                                 for k, ms in theme], start=float(i))
             for t, theme in enumerate(themes) for b in range(3) for i in range(6)]
    exact = group_songs(songs)
    by_reps = group_songs(songs, exact_up_to=10)
    assert exact.labels == by_reps.labels == [f"D0{t + 1}" for t in range(3) for _ in range(18)]


def test_weighted_average_linkage_is_scipys_with_unit_weights():
    from scipy.cluster.hierarchy import fcluster, linkage
    from scipy.spatial.distance import squareform
    from sklearn.metrics import adjusted_rand_score

    from songnet.discover.group import average_linkage

    rng = np.random.default_rng(0)
    for _ in range(30):
        x = rng.normal(size=(int(rng.integers(2, 40)), 2)) * rng.uniform(0.5, 3)
        d = np.sqrt(((x[:, None] - x[None]) ** 2).sum(-1))
        ours = average_linkage(d, np.ones(len(d)), 1.0)
        theirs = fcluster(linkage(squareform(d, checks=False), method="average"), t=1.0,
                          criterion="distance")
        assert adjusted_rand_score(ours, theirs) == 1.0
    # a weight of 5: five points at one place; 1 and 2 merge first (0.9), then 0 is on
    # average 1.3 from them with unit weights, (5 x 1.0 + 1.6) / 6 = 1.1 with 1 weighing 5
    d = np.array([[0, 1.0, 1.6], [1.0, 0, 0.9], [1.6, 0.9, 0]])
    assert list(average_linkage(d, np.array([1, 1, 1]), 1.2)) == [1, 2, 2]
    assert list(average_linkage(d, np.array([1, 5, 1]), 1.2)) == [1, 1, 1]


def test_small_groups_are_unsorted():
    songs = [_song("r1", [(4.0, 150)], start=i) for i in range(3)]
    songs.append(_song("r2", [(7.0, 400), (3.0, 50)]))
    assert group_songs(songs, min_songs=2).labels == ["D01"] * 3 + ["_unsorted"]
    assert group_songs(songs, min_songs=4).labels == ["_unsorted"] * 4


def test_a_misread_song_joins_the_group_of_its_recording():
    songs = [_song(f"r{r}", [(4.0, 150), (5.0, 90), (6.0, 120)], start=i)
             for r in range(2) for i in range(3)]
    misread = _song("r0", [(4.0, 150), (5.0, 90), (3.0, 40), (6.0, 120), (6.5, 30)], start=9)
    stranger = _song("r2", [(4.0, 150), (5.0, 90), (3.0, 40), (6.0, 120), (6.5, 30)])
    far = _song("r1", [(7.0, 400), (3.0, 50)], start=9)
    g = group_songs([*songs, misread, stranger, far], min_songs=3)
    assert g.labels == ["D01"] * 7 + ["_unsorted"] * 2
    assert g.to_centre[6] == pytest.approx(2.0, abs=0.3)


def test_a_recording_read_unevenly_joins_the_group_most_of_its_songs_are_near():
    theme = [(4.0, 150), (5.0, 90), (6.0, 120)]
    songs = [_song(f"r{r}", theme, start=i) for r in range(2) for i in range(3)]
    # a third bird of the theme, each song misread differently: no group of its own
    uneven = [_song("r2", [(4.0, 150), (5.0, 90), (3.0, 40), (6.0, 120), (6.5, 30)]),
              _song("r2", [(4.0, 150), (3.0, 40), (5.0, 90), (6.0, 120), (3.5, 30)], start=3),
              _song("r2", [(7.0, 400), (3.0, 50)], start=6)]
    g = group_songs([*songs, *uneven], min_songs=3)
    assert g.labels == ["D01"] * 8 + ["_unsorted"]
    # one such song alone in its recording is not vouched for
    assert group_songs([*songs, uneven[0]], min_songs=3).labels[-1] == "_unsorted"


def test_groups_holding_songs_of_one_recording_are_reported_with_their_distance():
    """One bird of a theme read two ways (its last two notes run together) makes a group
    of its own; a song of another bird read that way too puts one recording in both
    groups, which the grouping reports; a theme sung in recordings of its own does not."""
    theme = [(4.0, 150), (5.0, 90), (6.0, 120), (5.5, 100)]
    merged = [(4.0, 150), (5.0, 90), (5.8, 260)]
    songs = [_song(f"r{r}", theme, start=i) for r in range(2) for i in range(3)]
    songs += [_song("r2", merged, start=i) for i in range(3)] + [_song("r0", merged, start=9)]
    other = [_song(f"r{r}", [(7.0, 400), (3.0, 50)], start=i) for r in (3, 4) for i in range(2)]
    g = group_songs([*songs, *other], min_songs=3)
    assert g.labels == ["D01"] * 6 + ["D02"] * 4 + ["D03"] * 4
    assert [(x.groups, x.recordings) for x in g.shared] == [(("D01", "D02"), ("r0",))]
    assert 0.5 < g.shared[0].distance < 2.0


def test_tolerance_is_measured_on_songs_that_share_a_recording():
    steady = [_song("r1", [(4.0, 150), (5.0, 90)], start=i) for i in range(3)]
    wobbly = [_song("r2", [(4.0 * f, 150), (5.0, 90 * f)], start=i)
              for i, f in enumerate([1.0, 1.06, 0.94])]
    tol = within_bird_tolerance(steady + wobbly)
    assert tol.pairs == 6
    assert 0.0 < tol.value < 0.8
    assert within_bird_tolerance(steady).value == 0.0
    lone = within_bird_tolerance([_song("r1", [(4.0, 150)]), _song("r2", [(4.0, 150)])])
    assert lone.value == FALLBACK and "fewer than" in lone.source


def test_a_bird_whose_notes_differ_from_its_themes_other_birds_keeps_its_theme():
    """Each bird sings each note a little off its theme, the same way in every song: one
    bird's third note 10 % high is more than one bird varies from song to song, so the
    within-recording tolerance alone gives it a group of its own; the tolerance measured
    between the birds grouped together joins it to its theme, and another theme (a note
    sung as another) stays apart."""
    rng = np.random.default_rng(1)
    theme = [(4.0, 150), (5.0, 90), (6.0, 120), (4.5, 100), (5.5, 80)]
    other = [(4.0, 150), (5.0, 90), (3.2, 200), (4.5, 100), (5.5, 80)]
    offsets = {"a0": [(1, 1)] * 5,
               "a1": [(1.02, 1.05), (0.98, 1), (1.03, 0.95), (1, 1.05), (0.98, 1)],
               "a2": [(1, 1), (1.02, 1.05), (1.1, 1.0), (1, 0.95), (1.02, 1)]}

    def sing(source, notes, off, i):
        return _song(source, [(k * f * rng.normal(1, 0.012), ms * g * rng.normal(1, 0.03))
                              for (k, ms), (f, g) in zip(notes, off, strict=True)],
                     start=10.0 * i)

    songs = [sing(b, theme, off, i) for b, off in offsets.items() for i in range(4)]
    songs += [sing(f"b{j}", other, offsets[f"a{j}"], i) for j in range(2) for i in range(4)]
    once = group_songs(songs, between_birds=False)
    assert len(set(once.labels[:12])) == 2  # bird a2 apart
    g = group_songs(songs)
    assert g.labels == ["D01"] * 12 + ["D02"] * 8
    assert g.within == once.tolerance
    assert g.tolerance.value > g.within.value
    assert "75th percentile" in g.tolerance.source


def test_the_between_bird_tolerance_is_the_within_one_when_no_group_holds_two_birds():
    songs = [_song("r1", [(4.0 * f, 150), (5.0, 90 * f)], start=i)
             for i, f in enumerate([1.0, 1.04, 0.97])]
    songs += [_song("r2", [(7.0, 400), (3.0, 50)], start=i) for i in range(3)]
    within = within_bird_tolerance(songs)
    labels = group_songs(songs, between_birds=False).labels
    assert between_bird_tolerance(songs, labels, within) is within
    g = group_songs(songs)
    assert g.tolerance == within and g.labels == labels


def test_the_between_bird_tolerance_reads_a_bounded_sample_of_a_large_group():
    from songnet.discover.group import BETWEEN_SAMPLE, Tolerance

    rng = np.random.default_rng(2)
    songs = [_song(f"r{i}", [(4.0 * rng.normal(1, 0.03), 150), (5.0, 90 * rng.normal(1, 0.1))])
             for i in range(300)]  # 300 birds of one theme, one song each
    tol = between_bird_tolerance(songs, ["D01"] * 300, Tolerance(0.0, 0, "none"))
    assert tol.pairs == BETWEEN_SAMPLE * (BETWEEN_SAMPLE - 1) // 2
    assert 0.0 < tol.value < 0.8


def test_doubted_songs_return_only_when_their_notes_match_a_kept_song():
    kept = [_song("r1", [(4.0, 150), (5.0, 90)], start=i) for i in range(3)]
    same = _song("r2", [(4.1, 155), (5.1, 88)], p=0.2)
    other = _song("r3", [(7.0, 400), (3.0, 50), (6.0, 40)], p=0.2)
    back = confirm(kept, [same, other], tolerance=0.3)
    assert [s.source for s in back] == ["r2"]
    assert back[0].found_by == "notes"


def test_clips_cut_in_one_pass_equal_direct_slices(tmp_path):
    sr = 8000
    y = np.random.default_rng(1).standard_normal(sr * 150).astype(np.float32) * 0.1
    path = tmp_path / "long.wav"
    sf.write(path, y, sr, subtype="FLOAT")
    spans = [(130.0, 138.5), (1.0, 3.0), (55.0, 61.0), (59.5, 70.0), (145.0, 150.5)]
    got = {i: clip for i, clip, _ in cut_clips(str(path), spans)}
    assert sorted(got) == list(range(len(spans)))
    for i, (a, b) in enumerate(spans):
        assert np.array_equal(got[i], y[round(a * sr):min(round(b * sr), y.size)])


# ---- the command ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def three_themes(tmp_path_factory):
    """3 of the shipped themes x 2 birds x 3 songs, one recording per bird, with other
    species between songs (the benchmark's model-made birds)."""
    from songnet.surrogates.themes import load_catalog

    bench = benchmark("discover")
    folder = tmp_path_factory.mktemp("discover") / "recordings"
    folder.mkdir()
    rng = np.random.default_rng(7)
    truth = []
    catalog = {t.name: t for t in load_catalog()}
    for i, theme in enumerate(catalog[name] for name in ("T01", "T04", "T07")):
        for b in range(2):
            truth += bench.model_recording(folder / f"rec-{i}-{b}.wav", theme, f"{i}-{b}", 3,
                                           rng, [])
    return folder, truth


def test_known_answer_three_themes_two_birds(three_themes, tmp_path, capsys):
    folder, truth = three_themes
    out = tmp_path / "out"
    assert main(["themes", "discover", str(folder), "-o", str(out), "-q"]) == 0
    rows = _rows(out)
    score = benchmark("discover").score(truth, rows)
    assert score["ari"] == 1.0
    assert score["themes_found"] == 3 and score["false_songs"] == 0
    summary = json.loads((out / "discover.json").read_text())
    assert summary["themes"] == 3 and summary["songs"] == 18
    assert "within-recording" in summary["tolerance_source"]
    for r in rows:  # every clip is where the table says, and holds its song
        clip, sr = sf.read(out / r["song"])
        assert clip.size / sr == pytest.approx(float(r["end_s"]) - float(r["start_s"]) + 1.0,
                                               abs=0.01)
    assert (out / "discover.png").stat().st_size > 10_000
    assert "18 songs in 6 recordings -> 3 proposed themes" in capsys.readouterr().err


def test_groups_sharing_a_recording_are_printed_and_written(three_themes, tmp_path, capsys):
    """Cut so fine that one bird's songs fall into several groups: every pair of groups
    holding songs of one recording is in discover.json (the CSV agrees) and printed."""
    folder, _ = three_themes
    out = tmp_path / "out"
    assert main(["themes", "discover", str(folder), "-o", str(out), "--threshold", "0.05",
                 "--tolerance", "0", "--min-songs", "1"]) == 0
    shared = json.loads((out / "discover.json").read_text())["shared_recordings"]
    assert shared
    sources = {}
    for r in _rows(out):
        sources.setdefault(r["group"], set()).add(r["source"])
    for x in shared:
        a, b = x["groups"]
        assert set(x["recordings"]) == sources[a] & sources[b]
        assert x["distance"] > 0
    groups = sorted(sources)
    assert len(shared) == sum(bool(sources[a] & sources[b])
                              for i, a in enumerate(groups) for b in groups[i + 1:])
    err = capsys.readouterr().err
    assert err.count("one theme read two ways, or two birds in one recording") == len(shared)


@pytest.mark.slow
def test_the_folders_go_to_themes_learn_as_they_are(three_themes, tmp_path):
    folder, _ = three_themes
    out = tmp_path / "out"
    assert main(["themes", "discover", str(folder), "-o", str(out), "-q",
                 "--min-songs", "4"]) == 0
    (out / "D01").rename(out / "T01")
    catalog = tmp_path / "catalog"
    assert main(["themes", "learn", str(out), "-o", str(catalog), "-q"]) == 0
    names = sorted(p.stem for p in catalog.glob("T*.yaml")) + sorted(
        p.stem for p in catalog.glob("D*.yaml"))
    assert names == ["T01", "D02", "D03"]


def test_resume_reuses_the_journal(three_themes, tmp_path, monkeypatch):
    folder, _ = three_themes
    out = tmp_path / "out"
    assert main(["themes", "discover", str(folder), "-o", str(out), "-q", "--resume"]) == 0
    first = _rows(out)
    journal = tmp_path / "out.journal.jsonl"
    assert len(journal.read_text().splitlines()) == 1 + 6

    import songnet.discover.songs as songs_mod

    def no_work(*args, **kwargs):
        raise AssertionError("a recording in the journal was searched again")

    monkeypatch.setattr(songs_mod, "recording_songs", no_work)
    assert main(["themes", "discover", str(folder), "-o", str(out), "-q", "--resume"]) == 0
    assert _rows(out) == first


def test_songs_of_one_bird_in_one_recording_stay_together(real_birds, tmp_path):
    rec = tmp_path / "recordings"
    real_birds.record_birds(rec, real_birds.BIRDS, files=1, songs=4, seed=5)
    out = tmp_path / "out"
    assert main(["themes", "discover", str(rec), "-o", str(out), "-q", "--min-songs",
                 "2"]) == 0
    groups: dict[str, set[str]] = {}
    for r in _rows(out):
        groups.setdefault(Path(r["source"]).parent.name, set()).add(r["group"])
    assert set(groups) == {b.name for b in real_birds.BIRDS}
    for bird, g in groups.items():
        assert len(g) == 1 and "_unsorted" not in g, (bird, g)
    assert len({next(iter(g)) for g in groups.values()}) == 3  # three birds, three themes


def test_a_recording_without_chingolos_gives_no_songs_and_says_so(real_birds, tmp_path,
                                                                  capsys):
    from songnet.surrogates import conditions as cond
    from songnet.surrogates import others

    rng = np.random.default_rng(5)  # the model's other species; some read as "songs"
    sr = 44100
    parts = []
    for _ in range(8):
        sounds, _ = others.world_mix(10 * sr, rng=rng)
        parts.append(sounds + 0.05 * cond.coloured_noise(10 * sr, exponent=1.0, rng=rng))
    for f in real_birds.NEGATIVES:
        clip, _ = sf.read(f, dtype="float32")
        parts.append(np.tile(np.concatenate([clip, np.zeros(sr // 5)]), 6))
    y = np.concatenate(parts)
    path = tmp_path / "other-species.wav"
    sf.write(path, (0.5 * y / np.abs(y).max()).astype(np.float32), sr)
    out = tmp_path / "out"
    assert main(["themes", "discover", str(path), "-o", str(out), "-q"]) == 0
    err = capsys.readouterr().err
    assert f"{path}: no chingolo song found" in err
    assert "no chingolo songs in 1 recordings" in err
    assert _rows(out) == []
    assert not (out / "discover.png").exists()


@pytest.mark.parametrize("args, message", [
    (["missing.wav"], "missing.wav"),
    (["notaudio.txt"], "notaudio.txt"),
    (["ok.wav", "--threshold", "nan"], "not a finite number"),
    (["ok.wav", "--min-songs", "0"], "--min-songs"),
])
def test_bad_input_gives_one_line_and_status_2(tmp_path, monkeypatch, capsys, args, message):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "notaudio.txt").write_text("hello")
    sf.write(tmp_path / "ok.wav", np.zeros(44100, np.float32), 44100)
    code = main(["themes", "discover", *args, "-o", "out"])
    err = capsys.readouterr().err
    assert code == 2
    assert message in err and "Traceback" not in err


def test_the_output_may_not_hold_the_recordings(tmp_path, capsys):
    sf.write(tmp_path / "ok.wav", np.zeros(44100, np.float32), 44100)
    assert main(["themes", "discover", str(tmp_path), "-o", str(tmp_path)]) == 2
    assert "Traceback" not in capsys.readouterr().err
    assert (tmp_path / "ok.wav").exists()


def test_the_given_tolerance_is_used(three_themes, tmp_path):
    folder, _ = three_themes
    out = tmp_path / "out"
    assert main(["themes", "discover", str(folder), "-o", str(out), "-q", "--tolerance",
                 "0.1"]) == 0
    summary = json.loads((out / "discover.json").read_text())
    assert summary["tolerance"] == 0.1 and summary["tolerance_source"].startswith("given")
