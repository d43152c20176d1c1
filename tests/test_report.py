"""Output formats of classify: table, CSV, JSON, Raven, Audacity, summary, output names."""

from __future__ import annotations

import csv
import dataclasses
import io
import json

import pytest

from songnet.classify.events import Event
from songnet.classify.report import (
    COLUMNS,
    RAVEN_COLUMNS,
    FileResult,
    audacity_labels,
    events_csv,
    events_json,
    events_table,
    format_events,
    output_names,
    raven_table,
    summary,
)

MODEL = "default.onnx (trained 2026-12-07, sha256 ccf984ba6b38)"


def event(file: str, start: float, theme: str, conf: float) -> Event:
    top = ((theme, conf), ("X", round((1 - conf) / 2, 4)), ("Y", 0.01))
    return Event(file=file, start_s=start, end_s=start + 2.0, song_score=0.97, theme=theme,
                 theme_confidence=conf, top=top, low_hz=3100.0, high_hz=6400.0)


UNKNOWN_EVENT = Event(file="a.wav", start_s=30.0, end_s=32.0, song_score=0.88,
                      theme="unknown", theme_confidence=0.7, top=(("T02", 0.7), ("T04", 0.2)),
                      low_hz=3000.0, high_hz=7000.0, nearest="T02", distance=5.25,
                      threshold=4.5, note_distance=2.75, note_threshold=1.8,
                      unknown_by="distance")
RESULTS = [
    FileResult("a.wav", (event("a.wav", 1.5, "T01", 0.91), event("a.wav", 20.25, "T03", 0.8)),
               60.0),
    FileResult("quiet.wav", (), 30.0),
    FileResult("broken.wav", error="not an audio file; pass WAV, FLAC, OGG or MP3"),
]


def test_json_has_exactly_the_agreed_keys_rounded_alike_in_every_row():
    data = json.loads(events_json(RESULTS, model=MODEL))
    assert len(data) == 2
    assert set(data[0]) == {"file", "start_s", "end_s", "song_score", "theme",
                            "theme_confidence", "unknown_by", "top", "nearest", "distance",
                            "threshold", "note_distance", "note_threshold", "low_hz",
                            "high_hz", "model"}
    assert data[0]["model"] == MODEL
    assert data[0]["note_distance"] is None  # no note check: null, not NaN
    assert data[0]["distance"] is None and data[0]["nearest"] == ""  # no open-set matcher
    assert data[0]["file"] == "a.wav" and data[0]["theme"] == "T01"
    assert (data[0]["song_score"], data[0]["theme_confidence"]) == (0.97, 0.91)
    assert data[0]["start_s"] == 1.5 and data[0]["end_s"] == 3.5
    assert data[1]["top"][0] == {"theme": "T03", "p": 0.8}
    assert [set(t) for t in data[1]["top"]] == [{"theme", "p"}] * 3
    ragged = dataclasses.replace(RESULTS[0].events[0], start_s=1.23456789, song_score=0.912345678,
                                 distance=0.123456789)
    (js,) = json.loads(events_json([FileResult("a.wav", (ragged,), 60.0)]))
    assert (js["start_s"], js["song_score"], js["distance"]) == (1.235, 0.9123, 0.1235)


def test_unknown_events_say_who_called_them_unknown_in_every_format():
    res = [FileResult("a.wav", (UNKNOWN_EVENT,), 60.0)]
    (js,) = json.loads(events_json(res))
    assert (js["theme"], js["unknown_by"], js["nearest"], js["distance"], js["threshold"]) \
        == ("unknown", "distance", "T02", 5.25, 4.5)
    assert (js["note_distance"], js["note_threshold"]) == (2.75, 1.8)
    (row,) = csv.DictReader(io.StringIO(events_csv(res)))
    assert (row["theme"], row["unknown_by"], row["nearest"], float(row["distance"])) == \
        ("unknown", "distance", "T02", 5.25)
    assert (float(row["note_distance"]), float(row["note_threshold"])) == (2.75, 1.8)
    assert (row["top_1"], row["top_2"], row["top_3"]) == ("T02", "T04", "")
    raven = dict(zip(RAVEN_COLUMNS, raven_table(res[0]).splitlines()[1].split("\t"),
                     strict=True))
    assert (raven["Theme"], raven["Unknown By"], raven["Nearest"], raven["Distance"],
            raven["Threshold"]) == ("unknown", "distance", "T02", "5.2500", "4.5000")
    table = events_table(res).splitlines()
    assert table[0].split() == ["file", "start_s", "end_s", "song_score", "theme",
                                "theme_confidence", "unknown_by", "top_3", "nearest",
                                "distance", "threshold", "note_distance", "note_threshold"]
    assert table[1].split()[3:7] == ["0.88", "unknown", "0.70", "distance"]
    assert "unknown×1" in summary(res)
    label, band = audacity_labels(res[0]).splitlines()
    assert band.startswith("\\\t")
    assert label.split("\t")[2] == "unknown (distance) song 0.88"


def test_csv_rows_round_trip():
    rows = list(csv.DictReader(io.StringIO(events_csv(RESULTS, model=MODEL))))
    assert tuple(rows[0]) == COLUMNS
    assert [r["theme"] for r in rows] == ["T01", "T03"]
    assert float(rows[1]["start_s"]) == 20.25 and float(rows[0]["theme_confidence"]) == 0.91
    assert float(rows[0]["song_score"]) == 0.97 and rows[0]["unknown_by"] == ""
    assert (rows[0]["top_1"], rows[0]["top_2"], rows[0]["top_3"]) == ("T01", "X", "Y")
    assert rows[0]["model"] == MODEL


def test_table_names_the_model_lists_every_event_and_says_when_none():
    text = events_table(RESULTS, model=MODEL)
    lines = text.splitlines()
    assert lines[0] == f"# model: {MODEL}"
    assert lines[1].split()[:6] == ["file", "start_s", "end_s", "song_score", "theme",
                                    "theme_confidence"]
    assert len(lines) == 4 and "T03" in lines[3] and "20.25" in lines[3]
    assert events_table([RESULTS[1]]) == "no chingolo songs found\n"


def test_raven_selection_table_is_tab_separated_with_raven_columns_first():
    lines = raven_table(RESULTS[0], model=MODEL).splitlines()
    assert lines[0].split("\t") == list(RAVEN_COLUMNS)
    assert RAVEN_COLUMNS[:7] == ("Selection", "View", "Channel", "Begin Time (s)",
                                 "End Time (s)", "Low Freq (Hz)", "High Freq (Hz)")
    first = lines[1].split("\t")
    assert len(first) == len(RAVEN_COLUMNS)
    assert first[:3] == ["1", "Spectrogram 1", "1"]
    assert float(first[3]) == 1.5 and float(first[4]) == 3.5
    assert (float(first[5]), float(first[6])) == (3100.0, 6400.0)
    row = dict(zip(RAVEN_COLUMNS, first, strict=True))
    assert (row["Song Score"], row["Theme"], row["Theme Confidence"], row["Top 2"],
            row["Nearest"], row["Model"]) == ("0.9700", "T01", "0.9100", "X", "", MODEL)
    assert lines[2].split("\t")[0] == "2"
    assert raven_table(RESULTS[1]).splitlines() == ["\t".join(RAVEN_COLUMNS)]


def test_audacity_labels_are_a_label_track_with_frequency_lines():
    text = audacity_labels(RESULTS[0])
    lines = text.splitlines()
    assert len(lines) == 4  # a label line and its band line per event
    start, end, label = lines[0].split("\t")
    assert (float(start), float(end), label) == (1.5, 3.5, "T01 song 0.97 theme 0.91")
    assert lines[1].split("\t") == ["\\", "3100.000000", "6400.000000"]
    assert float(lines[2].split("\t")[0]) == 20.25
    assert audacity_labels(RESULTS[1]) == ""


def test_format_events_dispatches_and_refuses_raven_for_many_files():
    assert format_events(RESULTS, fmt="json") == events_json(RESULTS)
    assert format_events(RESULTS[:1], fmt="raven") == raven_table(RESULTS[0])
    assert format_events(RESULTS[:1], fmt="audacity") == audacity_labels(RESULTS[0])
    with pytest.raises(ValueError, match="one recording"):
        format_events(RESULTS, fmt="raven")
    with pytest.raises(ValueError, match="one recording"):
        format_events(RESULTS, fmt="audacity")
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
