"""Output formats of classify: table, CSV, JSON, Raven, summary, output names."""

from __future__ import annotations

import csv
import io
import json

import pytest

from songnet.classify.events import Event
from songnet.classify.report import (
    RAVEN_COLUMNS,
    FileResult,
    events_csv,
    events_json,
    events_table,
    format_events,
    output_names,
    raven_table,
    summary,
)


def event(file: str, start: float, theme: str, conf: float) -> Event:
    top = ((theme, conf), ("X", round((1 - conf) / 2, 4)), ("Y", 0.01))
    return Event(file=file, start_s=start, end_s=start + 2.0, theme=theme, confidence=conf,
                 top=top, low_hz=3100.0, high_hz=6400.0)


UNKNOWN_EVENT = Event(file="a.wav", start_s=30.0, end_s=32.0, theme="unknown", confidence=0.7,
                      top=(("T02", 0.7), ("unknown", 0.2)), low_hz=3000.0, high_hz=7000.0,
                      nearest="T02", distance=5.25, threshold=4.5, note_distance=2.75,
                      note_threshold=1.8)
RESULTS = [
    FileResult("a.wav", (event("a.wav", 1.5, "T01", 0.91), event("a.wav", 20.25, "T03", 0.8)),
               60.0),
    FileResult("quiet.wav", (), 30.0),
    FileResult("broken.wav", error="not an audio file; pass WAV, FLAC, OGG or MP3"),
]


def test_json_has_exactly_the_agreed_keys():
    data = json.loads(events_json(RESULTS))
    assert len(data) == 2
    assert set(data[0]) == {"file", "start_s", "end_s", "theme", "confidence", "top",
                            "nearest", "distance", "threshold", "note_distance",
                            "note_threshold"}
    assert data[0]["note_distance"] is None  # no note check: null, not NaN
    assert data[0]["distance"] is None and data[0]["nearest"] == ""  # no open-set matcher
    assert data[0]["file"] == "a.wav" and data[0]["theme"] == "T01"
    assert data[0]["start_s"] == 1.5 and data[0]["end_s"] == 3.5
    assert data[1]["top"][0] == {"theme": "T03", "p": 0.8}
    assert [set(t) for t in data[1]["top"]] == [{"theme", "p"}] * 3


def test_unknown_events_keep_their_nearest_theme_and_distance_in_every_format():
    res = [FileResult("a.wav", (UNKNOWN_EVENT,), 60.0)]
    (js,) = json.loads(events_json(res))
    assert (js["theme"], js["nearest"], js["distance"], js["threshold"]) == \
        ("unknown", "T02", 5.25, 4.5)
    assert (js["note_distance"], js["note_threshold"]) == (2.75, 1.8)
    (row,) = csv.DictReader(io.StringIO(events_csv(res)))
    assert (row["theme"], row["nearest"], float(row["distance"])) == ("unknown", "T02", 5.25)
    assert (float(row["note_distance"]), float(row["note_threshold"])) == (2.75, 1.8)
    raven = dict(zip(RAVEN_COLUMNS, raven_table(res[0]).splitlines()[1].split("\t"),
                     strict=True))
    assert (raven["Theme"], raven["Nearest"], raven["Distance"]) == ("unknown", "T02", "5.2500")
    assert "unknown×1" in summary(res)


def test_csv_rows_round_trip():
    rows = list(csv.DictReader(io.StringIO(events_csv(RESULTS))))
    assert [r["theme"] for r in rows] == ["T01", "T03"]
    assert float(rows[1]["start_s"]) == 20.25 and float(rows[0]["confidence"]) == 0.91
    assert rows[0]["theme_2"] == "X" and rows[0]["theme_3"] == "Y"


def test_table_lists_every_event_and_says_when_none():
    text = events_table(RESULTS)
    lines = text.splitlines()
    assert lines[0].split()[:5] == ["file", "start_s", "end_s", "theme", "confidence"]
    assert len(lines) == 3 and "T03" in lines[2] and "20.25" in lines[2]
    assert events_table([RESULTS[1]]) == "no chingolo songs found\n"


def test_raven_selection_table_is_tab_separated_with_raven_columns():
    lines = raven_table(RESULTS[0]).splitlines()
    assert lines[0].split("\t") == list(RAVEN_COLUMNS)
    first = lines[1].split("\t")
    assert first[:3] == ["1", "Spectrogram 1", "1"]
    assert float(first[3]) == 1.5 and float(first[4]) == 3.5
    assert (float(first[5]), float(first[6])) == (3100.0, 6400.0)
    assert first[7:] == ["T01", "0.9100", "", ""]
    assert lines[2].split("\t")[0] == "2"
    assert raven_table(RESULTS[1]).splitlines() == ["\t".join(RAVEN_COLUMNS)]


def test_format_events_dispatches_and_refuses_raven_for_many_files():
    assert format_events(RESULTS, fmt="json") == events_json(RESULTS)
    assert format_events(RESULTS[:1], fmt="raven") == raven_table(RESULTS[0])
    with pytest.raises(ValueError, match="one recording"):
        format_events(RESULTS, fmt="raven")
    with pytest.raises(ValueError, match="unknown format"):
        format_events(RESULTS, fmt="xml")


def test_output_names_are_distinct_per_recording():
    names = output_names(["a/x.wav", "b/x.flac", "c/x-2.wav", "y.mp3"], fmt="raven")
    assert names["a/x.wav"] == "x.Table.1.selections.txt"
    assert len(set(names.values())) == 4
    assert names["y.mp3"] == "y.Table.1.selections.txt"
    assert output_names(["r.wav"], fmt="csv") == {"r.wav": "r.events.csv"}


def test_summary_counts_songs_themes_duration_and_lists_failures():
    lines = summary(RESULTS).splitlines()
    assert lines[0] == "a.wav: 2 songs (T01×1, T03×1) in 60.0 s"
    assert lines[1] == "quiet.wav: 0 songs in 30.0 s"
    assert lines[2] == "2 files processed (90.0 s of audio, 2 songs), 1 failed"
    assert lines[3].startswith("failed: broken.wav: not an audio file")
