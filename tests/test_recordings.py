"""songnet.classify.recordings: files, folders and globs named on the command line."""

from __future__ import annotations

from pathlib import Path

import pytest

from songnet.classify.recordings import find_recordings
from songnet.core.audio_files import AUDIO_SUFFIXES, audio_files


def test_find_recordings_expands_files_folders_and_globs(tmp_path):
    (tmp_path / "site" / "day2").mkdir(parents=True)
    for name in ["site/a.wav", "site/day2/b.FLAC", "site/notes.txt", "c.mp3", "d.wav"]:
        (tmp_path / name).write_bytes(b"x")
    files, problems = find_recordings([tmp_path / "site", str(tmp_path / "*.mp3"),
                                       tmp_path / "site" / "notes.txt",
                                       tmp_path / "site" / "a.wav", tmp_path / "nope.wav",
                                       str(tmp_path / "zz*.wav")])
    names = [f.replace(str(tmp_path), "") for f in files]
    assert names == ["/site/a.wav", "/site/day2/b.FLAC", "/c.mp3", "/site/notes.txt"]
    assert [p for p, _ in problems] == [str(tmp_path / "nope.wav"), str(tmp_path / "zz*.wav")]
    assert "no such file" in problems[0][1] and "matches no files" in problems[1][1]


def test_a_folder_without_audio_is_a_problem(tmp_path):
    (tmp_path / "empty").mkdir()
    files, problems = find_recordings([tmp_path / "empty"])
    assert files == [] and "no audio files" in problems[0][1]


def test_every_audio_suffix_is_found_in_any_case_and_nothing_else(tmp_path):
    for k, suffix in enumerate(sorted(AUDIO_SUFFIXES)):
        (tmp_path / f"r{k}{suffix.upper() if k % 2 else suffix}").write_bytes(b"x")
    for name in ("notes.txt", "labels.csv", "image.png", "wav"):
        (tmp_path / name).write_bytes(b"x")
    files, problems = find_recordings([tmp_path])
    assert problems == [] and len(files) == len(AUDIO_SUFFIXES)
    assert [Path(f) for f in files] == audio_files(tmp_path)
    assert {".aiff", ".flac", ".mp3", ".ogg", ".wav"} <= AUDIO_SUFFIXES


def test_read_ahead_yields_every_block_in_order_and_raises_where_reading_failed():
    import threading

    from songnet.classify.recordings import read_ahead
    from songnet.core.decode import AudioError

    def blocks(fail_at=None):
        for k in range(5):
            if k == fail_at:
                raise AudioError("rec.wav: could not be decoded")
            yield k

    with read_ahead(blocks()) as ahead:
        assert list(ahead) == [0, 1, 2, 3, 4]
    got = []
    with pytest.raises(AudioError, match="could not be decoded"), \
            read_ahead(blocks(fail_at=3)) as ahead:
        got.extend(ahead)
    assert got == [0, 1, 2]
    with read_ahead(blocks()) as ahead:  # leaving early stops the reader
        next(ahead)
    assert not [t for t in threading.enumerate() if t.name == "songnet-audio"]
