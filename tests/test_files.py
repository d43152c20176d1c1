from __future__ import annotations

import json

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
