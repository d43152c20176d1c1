"""Window probabilities → events: timing, splitting, themes, thresholds (known answers)."""

from __future__ import annotations

import numpy as np
import pytest

from songnet.classify.activity import Activity, _moving_mean, frame_activity
from songnet.classify.events import find_events
from songnet.classify.scores import WindowScores
from songnet.core.errors import SongnetError

CLASSES = ("A", "B", "C", "D", "no_song")
WINDOW_S = 2.5
HOP_S = 0.25
FRAME_S = 0.01


def scores_for(songs: list[tuple[float, float, str]], *, duration: float = 60.0,
               p_theme: float = 0.9) -> WindowScores:
    """Windows that hold a whole song say its theme with p_theme; the rest say no_song."""
    starts = np.arange(0.0, duration - WINDOW_S + 1e-9, HOP_S)
    probs = np.zeros((starts.size, len(CLASSES)), dtype=np.float32)
    probs[:, -1] = 0.97
    probs[:, :-1] = 0.03 / 4
    for i, s in enumerate(starts):
        held = [th for a, b, th in songs if s <= a and b <= s + WINDOW_S]
        if held:
            probs[i] = (1 - p_theme) / (len(CLASSES) - 1)
            for th in held:
                probs[i, CLASSES.index(th)] += (p_theme - (1 - p_theme) / 4) / len(held)
    return WindowScores(starts, probs, WINDOW_S, CLASSES)


def activity_for(spans: list[tuple[float, float]], *, duration: float = 60.0) -> Activity:
    n = round(duration / FRAME_S)
    t = np.arange(n) * FRAME_S
    active = np.zeros(n, dtype=bool)
    for a, b in spans:
        active |= (t >= a) & (t < b)
    low = np.where(active, 3000.0, np.nan).astype(np.float32)
    high = np.where(active, 6500.0, np.nan).astype(np.float32)
    return Activity(active, low, high, FRAME_S)


def test_one_song_is_one_event_at_the_right_time_and_theme():
    scores = scores_for([(10.0, 12.0, "B")])
    events = find_events(scores, activity=activity_for([(10.0, 12.0)]), source="rec.wav")
    assert len(events) == 1
    ev = events[0]
    assert ev.file == "rec.wav"
    assert ev.start_s == pytest.approx(10.0, abs=0.02)
    assert ev.end_s == pytest.approx(12.0, abs=0.02)
    assert ev.theme == "B" and ev.top[0][0] == "B"
    # 0.9 of the windows' probability, 0.025 of it no_song: 0.9 / 0.975 given a song
    assert ev.song_score == pytest.approx(0.975, abs=0.01)
    assert ev.theme_confidence == pytest.approx(0.9 / 0.975, abs=0.01)
    assert ev.unknown_by == ""
    assert len(ev.top) == 3
    assert [p for _, p in ev.top] == sorted((p for _, p in ev.top), reverse=True)
    assert (ev.low_hz, ev.high_hz) == (3000.0, 6500.0)


def test_without_activity_the_common_part_of_the_windows_times_the_song():
    events = find_events(scores_for([(30.0, 32.0, "C")]), band_hz=(1000.0, 9000.0))
    assert len(events) == 1
    assert (events[0].start_s, events[0].end_s) == (pytest.approx(30.0), pytest.approx(32.0))
    assert events[0].theme == "C"
    assert (events[0].low_hz, events[0].high_hz) == (1000.0, 9000.0)


def test_songs_far_apart_give_separate_events_in_time_order():
    songs = [(5.0, 7.0, "A"), (20.0, 22.0, "D"), (41.0, 43.0, "B")]
    events = find_events(scores_for(songs), activity=activity_for([s[:2] for s in songs]))
    assert [e.theme for e in events] == ["A", "D", "B"]
    for ev, (a, b, _) in zip(events, songs, strict=True):
        assert abs(ev.start_s - a) <= 0.05 and abs(ev.end_s - b) <= 0.05


def test_a_quiet_gap_splits_one_run_of_windows_into_two_songs():
    songs = [(10.0, 11.0, "A"), (12.0, 13.0, "B")]  # windows [10, 12.5] hold both
    events = find_events(scores_for(songs), activity=activity_for([s[:2] for s in songs]),
                         split_gap_s=0.5)
    assert [e.theme for e in events] == ["A", "B"]
    assert events[0].end_s == pytest.approx(11.0, abs=0.02)
    assert events[1].start_s == pytest.approx(12.0, abs=0.02)
    merged = find_events(scores_for(songs), activity=activity_for([s[:2] for s in songs]),
                         split_gap_s=1.5)
    assert len(merged) == 1 and merged[0].duration_s == pytest.approx(3.0, abs=0.02)


def test_noise_alone_gives_no_events():
    assert find_events(scores_for([]), activity=activity_for([(3.0, 3.5)])) == []


def test_min_confidence_drops_unsure_themes_and_detect_threshold_drops_weak_windows():
    scores = scores_for([(10.0, 12.0, "B")], p_theme=0.4)
    (ev,) = find_events(scores)
    assert ev.theme_confidence < 0.5 < ev.song_score  # a song, but an unsure theme
    assert find_events(scores, min_confidence=0.5) == []
    assert [e.to_dict() for e in find_events(scores, min_song_score=0.5)] == [ev.to_dict()]
    assert find_events(scores, min_song_score=ev.song_score + 0.01) == []
    assert find_events(scores, detect_threshold=0.99) == []


def test_a_theme_outside_the_list_asked_for_is_other():
    songs = [(5.0, 7.0, "A"), (20.0, 22.0, "D")]
    events = find_events(scores_for(songs), activity=activity_for([s[:2] for s in songs]),
                         themes=("D",))
    assert [(e.theme, e.top[0][0]) for e in events] == [("other", "A"), ("D", "D")]


def test_a_click_shorter_than_min_event_is_ignored():
    scores = scores_for([(10.0, 12.0, "B")])
    act = activity_for([(9.0, 9.05), (10.0, 12.0)])
    events = find_events(scores, activity=act, min_event_s=0.2)
    assert len(events) == 1 and events[0].start_s == pytest.approx(10.0, abs=0.02)


def test_bad_scores_and_thresholds_are_errors():
    with pytest.raises(SongnetError, match="do not match"):
        WindowScores(np.arange(3.0), np.zeros((4, 5)), 2.5, CLASSES)
    with pytest.raises(SongnetError, match="no_song last"):
        WindowScores(np.arange(3.0), np.zeros((3, 4)), 2.5, CLASSES)
    with pytest.raises(SongnetError, match="min_confidence"):
        find_events(scores_for([]), min_confidence=1.5)
    with pytest.raises(SongnetError, match="min_song_score"):
        find_events(scores_for([]), min_song_score=-0.1)
    with pytest.raises(SongnetError, match="'T9' is not in the model's catalog"):
        find_events(scores_for([]), themes=("A", "T9"))


def test_event_dict_round_trips_and_refuses_what_it_did_not_write():
    from songnet.classify.events import Event

    ev = find_events(scores_for([(10.0, 12.0, "B")]), activity=activity_for([(10.0, 12.0)]))[0]
    assert Event.from_dict(ev.to_dict()).to_dict() == ev.to_dict()
    for bad in ({"song_score": 1.5}, {"start_s": float("nan")}, {"end_s": float("inf")},
                {"end_s": 1.0}, {"top": [{"theme": "B", "p": 2.0}]},
                {"top": "B"}, {"unknown_by": "guess"}, {"theme": 3}):
        with pytest.raises(SongnetError, match="event"):
            Event.from_dict({**ev.to_dict(), **bad})


def test_frame_activity_finds_a_tone_in_noise_and_its_band():
    rng = np.random.default_rng(0)
    freqs = 1000.0 * 2.0 ** (np.arange(72) / 24)
    power = rng.exponential(1.0, size=(72, 1000)).astype(np.float32)  # (n_bins, T)
    power[30:33, 300:500] += 100.0  # +20 dB in three bins for 2 s
    act = frame_activity(power, frequencies=freqs, frame_s=FRAME_S)
    on = np.flatnonzero(act.active)
    assert abs(on[0] - 300) <= 3 and abs(on[-1] - 499) <= 3
    assert act.active[:290].sum() + act.active[510:].sum() <= 5
    assert np.nanmin(act.low_hz) == pytest.approx(freqs[30], rel=0.06)
    assert np.nanmax(act.high_hz) == pytest.approx(freqs[32], rel=0.06)


def test_frame_activity_of_pure_noise_is_quiet():
    rng = np.random.default_rng(1)
    power = rng.exponential(1.0, size=(72, 3000)).astype(np.float32)
    act = frame_activity(power, frequencies=np.linspace(1e3, 9e3, 72), frame_s=FRAME_S)
    assert act.active.mean() < 0.01


@pytest.mark.parametrize("size", [1, 2, 5, 9])
@pytest.mark.parametrize("frames", [0, 1, 3, 600])
def test_moving_mean_is_scipys_uniform_filter(size, frames):
    from scipy.ndimage import uniform_filter1d

    rng = np.random.default_rng(size * 1000 + frames)
    x = (rng.standard_normal((6, frames)) ** 2 * rng.uniform(0, 1e3, (6, 1))).astype(np.float32)
    got = _moving_mean(x, size)
    assert got.dtype == np.float32 and got.shape == x.shape
    want = uniform_filter1d(x, size=size, axis=1, mode="nearest")
    # a sum of `size` non-negative float32 values: within (size - 1) + 1 roundings of scipy's
    np.testing.assert_allclose(got, want, rtol=(size + 1) * np.finfo(np.float32).eps, atol=0)
    if size == 1:
        assert np.array_equal(got, x)


def test_activity_concatenate_joins_runs():
    a = activity_for([(0.0, 0.5)], duration=1.0)
    joined = Activity.concatenate([a, a], frame_s=FRAME_S)
    assert joined.active.shape == (200,) and joined.active.sum() == 2 * a.active.sum()
    assert Activity.concatenate([], frame_s=FRAME_S).active.shape == (0,)


def test_a_noise_burst_beside_a_song_is_not_a_song():
    scores = scores_for([(10.0, 12.0, "B")])
    events = find_events(scores, activity=activity_for([(10.0, 12.0), (13.0, 13.5)]))
    assert len(events) == 1 and events[0].end_s == pytest.approx(12.0, abs=0.02)


@pytest.mark.parametrize("frames", [1, 2, 3, 10, 2000, 2001])
def test_row_median_is_numpys_bit_for_bit(frames):
    from songnet.core.quantiles import median
    x = np.random.default_rng(frames).standard_normal((80, frames)).astype(np.float32) ** 2
    got, want = median(x, axis=1)[:, None], np.median(x, axis=1, keepdims=True)
    assert got.dtype == want.dtype and np.array_equal(got, want)



def test_a_song_far_from_every_theme_centroid_is_unknown_and_keeps_its_nearest():
    from songnet.model.openset import ThemeMatcher

    rng = np.random.default_rng(0)
    centres = {"A": 0.0, "B": 6.0, "C": 12.0, "D": 18.0}
    X = np.concatenate([rng.normal(c, 1.0, (20, 4)) for c in centres.values()])
    matcher = ThemeMatcher(threshold_quantile=0.98).fit(X, np.repeat(list(centres), 20))
    base = scores_for([(10.0, 12.0, "B"), (30.0, 32.0, "B")])
    emb = np.zeros((len(base), 4), dtype=np.float32)
    for i, s in enumerate(base.starts_s):
        if s <= 10.0 and 12.0 <= s + WINDOW_S:
            emb[i] = 6.0  # at B's centre
        if s <= 30.0 and 32.0 <= s + WINDOW_S:
            emb[i] = 40.0  # far beyond every theme
    scores = WindowScores(base.starts_s, base.probs, WINDOW_S, CLASSES, embeddings=emb)
    known, new = find_events(scores, activity=activity_for([(10.0, 12.0), (30.0, 32.0)]),
                             open_set=matcher)
    assert (known.theme, known.nearest) == ("B", "B") and known.distance <= known.threshold
    assert (new.theme, new.nearest) == ("unknown", "D") and new.distance > new.threshold
    assert (known.unknown_by, new.unknown_by) == ("", "distance")
    assert new.top[0][0] == "B"  # the network's own ranking is kept beside the decision
    plain = find_events(base, activity=activity_for([(10.0, 12.0), (30.0, 32.0)]),
                        open_set=matcher)  # no embeddings: no open-set decision
    assert [e.theme for e in plain] == ["B", "B"] and np.isnan(plain[1].distance)
    with pytest.raises(SongnetError, match="embeddings"):
        WindowScores(base.starts_s, base.probs, WINDOW_S, CLASSES, embeddings=emb[:-1])


def test_song_candidates_bridge_short_gaps_and_split_what_is_too_long():
    from songnet.classify.activity import song_candidates

    t = np.arange(round(30.0 / FRAME_S)) * FRAME_S
    active = np.zeros(t.size, dtype=bool)
    for a, b in [(1.0, 1.3), (1.4, 2.5),            # one song: a 0.1 s gap inside
                 (5.0, 5.1),                        # a click: too short
                 (8.0, 9.8), (10.2, 11.0), (11.1, 12.9),  # 4.9 s of sound, widest gap 0.4 s
                 (20.0, 27.0)]:                     # 7 s without any silence
        active |= (t >= a) & (t < b)
    kw = dict(frame_s=FRAME_S, split_gap_s=0.25, min_event_s=0.3, max_song_s=3.0)
    got = [(round(a * FRAME_S, 2), round(b * FRAME_S, 2)) for a, b in
           song_candidates(active, **kw)]
    assert got[0] == (1.0, 2.5)
    assert (8.0, 9.8) in got and (10.2, 12.9) in got  # cut at the widest silence
    long = [g for g in got if g[0] >= 20.0]
    assert len(long) == 3 and long[0][0] == 20.0 and long[-1][1] == 27.0
    assert all(b - a <= 3.0 + 1e-9 for a, b in got)
    assert song_candidates(np.zeros(10, dtype=bool), **kw) == []


def test_a_model_of_long_songs_hears_them_whole():
    import dataclasses

    from songnet.classify.activity import song_candidates
    from songnet.classify.params import ClassifyParams, song_limit
    from songnet.features.params import FeatureParams

    t = np.arange(round(10.0 / FRAME_S)) * FRAME_S
    active = np.zeros(t.size, dtype=bool)
    for a, b in [(1.0, 1.6), (1.75, 2.2), (2.3, 4.3)]:  # a 3.3-s song: notes, then a trill
        active |= (t >= a) & (t < b)
    shipped = FeatureParams()
    long = dataclasses.replace(shipped, window_s=3.5)  # a catalog of slow birds' songs
    default = ClassifyParams()
    assert song_limit(default, shipped) == pytest.approx(3.0)
    assert song_limit(default, long) == pytest.approx(3.5)
    assert song_limit(dataclasses.replace(default, max_song_s=2.0), long) == 2.0

    def spans(limit):
        return [(round(a * FRAME_S, 2), round(b * FRAME_S, 2)) for a, b in song_candidates(
            active, frame_s=FRAME_S, split_gap_s=0.25, min_event_s=0.3, max_song_s=limit)]

    assert spans(song_limit(default, long)) == [(1.0, 4.3)]  # one candidate, the whole song
    assert spans(3.0) == [(1.0, 1.6), (1.75, 4.3)]  # 3 s: cut at its widest gap


def test_candidates_replace_loud_stretches_each_judged_on_its_own_image():
    from songnet.classify.scores import Candidates

    base = scores_for([(10.0, 12.0, "B")])
    probs = np.array([[0.0, 0.9, 0.0, 0.0, 0.1],   # a song, B
                      [0.0, 0.0, 0.0, 0.0, 1.0],   # another bird right after it: no song
                      [0.8, 0.0, 0.1, 0.0, 0.1]], dtype=np.float32)  # a faint A
    cands = Candidates(np.array([10.0, 12.5, 40.0]), np.array([12.0, 13.5, 41.5]), probs,
                       np.zeros((3, 2), np.float32))
    events = find_events(base, activity=activity_for([(10.0, 13.5), (40.0, 41.5)]),
                         candidates=cands)
    assert [(e.start_s, e.end_s, e.theme) for e in events] == [(10.0, 12.0, "B"),
                                                                (40.0, 41.5, "A")]
    assert (events[0].song_score, events[0].theme_confidence) == (0.9, 1.0)
    assert events[1].theme_confidence == pytest.approx(0.8 / 0.9, abs=1e-4)


def test_weak_evidence_of_an_unknown_theme_is_no_song():
    from songnet.classify.scores import Candidates

    classes = ("A", "B", "unknown", "no_song")
    base = WindowScores(np.arange(0.0, 20.0, 0.5), np.tile([0.0, 0.0, 0.0, 1.0], (40, 1)),
                        WINDOW_S, classes)
    probs = np.array([[0.1, 0.1, 0.45, 0.35],   # ranked unknown, but weakly
                      [0.0, 0.05, 0.9, 0.05],   # a clear song of an unknown theme
                      [0.5, 0.1, 0.3, 0.1]],    # a known theme: the rule does not apply
                     dtype=np.float32)
    cands = Candidates(np.array([1.0, 5.0, 9.0]), np.array([2.5, 6.5, 10.5]), probs,
                       np.zeros((3, 2), np.float32))
    act = activity_for([(1.0, 2.5), (5.0, 6.5), (9.0, 10.5)])
    loose = find_events(base, activity=act, candidates=cands)
    strict = find_events(base, activity=act, candidates=cands, unknown_min_p=0.6)
    assert [e.theme for e in loose] == ["unknown", "unknown", "A"]
    assert [e.unknown_by for e in loose] == ["network", "network", ""]
    assert all("unknown" not in [t for t, _ in e.top] for e in loose)  # ranking: themes
    assert loose[1].theme_confidence == pytest.approx(0.9 / 0.95, abs=1e-4)
    assert [(e.start_s, e.theme) for e in strict] == [(5.0, "unknown"), (9.0, "A")]
