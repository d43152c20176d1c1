from __future__ import annotations

import json
from pathlib import Path

import pytest

from songnet.core.files import atomic_dir, atomic_path, write_json


def test_atomic_path_keeps_old_file_on_failure(tmp_path):
    target = tmp_path / "out" / "a.txt"
    with atomic_path(target) as tmp:
        tmp.write_text("first")
    assert target.read_text() == "first"
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.write_text("half")
        raise RuntimeError("interrupted")
    assert target.read_text() == "first"
    assert [p.name for p in target.parent.iterdir()] == ["a.txt"]


def test_atomic_dir_replaces_whole_folder(tmp_path):
    target = tmp_path / "wavs"
    with atomic_dir(target) as tmp:
        (tmp / "1.wav").write_bytes(b"x")
    with pytest.raises(KeyboardInterrupt), atomic_dir(target) as tmp:
        (tmp / "2.wav").write_bytes(b"y")
        raise KeyboardInterrupt
    assert sorted(p.name for p in target.iterdir()) == ["1.wav"]
    with atomic_dir(target) as tmp:
        (tmp / "3.wav").write_bytes(b"z")
    assert sorted(p.name for p in target.iterdir()) == ["3.wav"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["wavs"]


def test_write_json_refuses_nan(tmp_path):
    write_json(tmp_path / "m.json", {"a": 1})
    assert json.loads((tmp_path / "m.json").read_text()) == {"a": 1}
    with pytest.raises(ValueError):
        write_json(tmp_path / "n.json", {"a": float("nan")})
    assert not (tmp_path / "n.json").exists()


def test_outputs_get_ordinary_permissions(tmp_path):
    import os
    import stat
    mask = os.umask(0o022)
    try:
        write_json(tmp_path / "p.json", {})
        with atomic_dir(tmp_path / "d"):
            pass
    finally:
        os.umask(mask)
    assert stat.S_IMODE((tmp_path / "p.json").stat().st_mode) == 0o644
    assert stat.S_IMODE((tmp_path / "d").stat().st_mode) == 0o755


def test_output_policy_refuses_inputs_folders_and_fifos(tmp_path):
    import os

    from songnet.core.errors import SongnetError
    from songnet.core.files import check_output_dir, check_output_file

    src = tmp_path / "in.wav"
    src.write_bytes(b"x")
    with pytest.raises(SongnetError, match="also an input"):
        check_output_file(src, inputs=[src])
    with pytest.raises(SongnetError, match="is a folder"):
        check_output_file(tmp_path)
    os.mkfifo(tmp_path / "p")
    with pytest.raises(SongnetError, match="FIFO"):
        check_output_file(tmp_path / "p")
    assert check_output_file(os.devnull) == Path(os.devnull)
    assert check_output_file(tmp_path / "new" / "deeper" / "x.csv").name == "x.csv"
    with pytest.raises(SongnetError, match="holds the input"):
        check_output_dir(tmp_path, inputs=[src])
    check_output_dir(tmp_path / "out", inputs=[src])
    check_output_dir(tmp_path, inputs=[src], replaced=False)


def test_atomic_dir_refuses_the_current_folder(tmp_path, monkeypatch):
    from songnet.core.errors import SongnetError

    monkeypatch.chdir(tmp_path)
    (tmp_path / "keep").write_text("x")
    for target in (".", str(tmp_path.parent)):
        with pytest.raises(SongnetError, match="current folder"), atomic_dir(target):
            pass
    assert (tmp_path / "keep").read_text() == "x"
