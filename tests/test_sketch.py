"""Sketch CSV parsing, validation errors and the contour it becomes."""

from __future__ import annotations

import numpy as np
import pytest

from songnet.core.errors import SongnetError
from songnet.resynth.sketch import parse_sketch, read_sketch, sketch_contour

GOOD = """# id: 1966-x
# theme: T01
onset_s,offset_s,start_hz,end_hz,mid_hz,amplitude,repeat,interval_s
0.00,0.10,4500,4500,,1.0,,
0.20,0.40,5000,3500,4000,0.5,,
0.50,0.53,6000,4000,,,4,0.06
"""


def test_parse_good_sketch():
    sk = parse_sketch(GOOD, source="x.csv")
    assert sk.id == "1966-x" and sk.theme == "T01"
    assert len(sk.notes) == 2 + 4
    assert sk.notes[1].freqs_hz == (5000.0, 4000.0, 3500.0)
    assert [round(n.onset_s, 3) for n in sk.notes[2:]] == [0.5, 0.56, 0.62, 0.68]
    assert sk.duration_s == pytest.approx(0.71)


def test_contour_hits_drawn_points():
    sk = parse_sketch(GOOD)
    times, f0, amp = sketch_contour(sk, frame_s=0.001, lead_s=0.05)
    at = lambda t: round((t + 0.05) / 0.001)  # noqa: E731
    assert f0[at(0.05)] == pytest.approx(4500.0)
    assert f0[at(0.30)] == pytest.approx(4000.0, rel=1e-3)  # the midpoint
    assert f0[at(0.40)] == pytest.approx(3500.0, rel=1e-3)
    assert np.isnan(f0[at(0.15)]) and amp[at(0.15)] == 0
    assert amp[at(0.30)] == pytest.approx(0.5)
    assert times[-1] >= 0.71 + 0.05


def test_read_file_uses_stem_as_id(tmp_path):
    path = tmp_path / "N66-07.csv"
    path.write_text(GOOD.replace("# id: 1966-x\n", ""))
    assert read_sketch(path).id == "N66-07"


@pytest.mark.parametrize("text, match", [
    ("onset_s,offset_s,start_hz\n0,0.1,4000\n", "missing column 'end_hz'"),
    ("onset_s,offset_s,start_hz,end_hz\n0.3,0.1,4000,4000\n",
     r"line 2: offset_s=0.1 is not after onset_s=0.3"),
    ("onset_s,offset_s,start_hz,end_hz\n0,0.1,4.5,4000\n", "4.5 Hz outside"),
    ("onset_s,offset_s,start_hz,end_hz\n0,0.1,abc,4000\n", "start_hz='abc' is not a number"),
    ("onset_s,offset_s,start_hz,end_hz\n0,0.2,4000,4000\n0.1,0.3,4000,4000\n",
     "starts before the note"),
    ("onset_s,offset_s,start_hz,end_hz,pitch\n0,0.1,4000,4000,1\n", "unknown column 'pitch'"),
    ("onset_s,offset_s,start_hz,end_hz\n", "no notes"),
    ("# only a comment\n", "no header"),
    ("onset_s,offset_s,start_hz,end_hz,amplitude\n0,0.1,4000,4000,2\n", "amplitude=2"),
])
def test_bad_sketch_messages(text, match):
    with pytest.raises(SongnetError, match=match):
        parse_sketch(text, source="bad.csv")


def test_missing_file(tmp_path):
    with pytest.raises(SongnetError, match="not found"):
        read_sketch(tmp_path / "nope.csv")


def test_shipped_1966_sketches_match_the_catalog(repo_root):
    """data/1966 is written from the catalog by benchmarks/sketches_1966.py: up to date."""
    import subprocess
    import sys

    run = subprocess.run([sys.executable, str(repo_root / "benchmarks" / "sketches_1966.py"),
                          "--check", "--out", str(repo_root / "data" / "1966")],
                         capture_output=True, text=True, cwd=repo_root)
    assert run.returncode == 0, run.stdout + run.stderr
