"""``songnet features`` end to end on a tiny generated manifest."""

from __future__ import annotations

import json

import numpy as np
import pytest
import yaml

from songnet.cli import main
from tests.test_featureset import ROWS, write_manifest


def params_file(tmp_path, **features):
    section = {"sr": 22050, "fmin": 1000.0, "bins_per_octave": 24, "n_bins": 80,
               "hop_length": 128, "window_s": 0.5, "db_floor": -80.0, "normalize": "max",
               "frontend": "cqt"}
    section.update(features)
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump({"features": section}))
    return path


def test_features_writes_arrays_json_and_preview(tmp_path, capsys):
    manifest = write_manifest(tmp_path / "surrogates", ROWS)
    out = tmp_path / "features"
    code = main(["features", "--manifest", str(manifest), "--out", str(out), "--params",
                 str(params_file(tmp_path)), "--device", "cpu", "--quiet"])
    assert code == 0, capsys.readouterr().err
    meta = json.loads((out / "features.json").read_text())
    assert meta["classes"] == ["A", "B", "no_song"]
    assert meta["counts"] == {"train": 4, "val": 1, "test": 1, "stress": 1}
    assert meta["params"]["window_s"] == 0.5 and meta["rows"]["train"] == [0, 1, 2, 5]
    train = np.load(out / "train.npy", mmap_mode="r")
    assert isinstance(train, np.memmap) and train.dtype == np.float16
    assert train.shape == (4, 80, meta["shape"][1])
    assert np.load(out / "train.labels.npy").tolist() == [1, 0, 2, 0]
    assert (out / "preview.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert sorted(p.name for p in out.iterdir()) == sorted(
        ["features.json", "preview.png"] + [f"{s}{e}" for s in ("train", "val", "test", "stress")
                                            for e in (".npy", ".labels.npy")])


@pytest.mark.parametrize(("args", "message"), [
    (["--manifest", "{tmp}/none.csv"], "manifest {tmp}/none.csv not found"),
    (["--device", "tpu"], "'--device': 'tpu' is not one of"),
])
def test_features_errors_are_one_line_and_leave_no_output(tmp_path, capsys, args, message):
    manifest = write_manifest(tmp_path / "s", ROWS[:2])
    out = tmp_path / "features"
    argv = ["features", "--manifest", str(manifest), "--out", str(out), "--params",
            str(params_file(tmp_path)), "--quiet"] + [a.format(tmp=tmp_path) for a in args]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ")
    assert message.format(tmp=tmp_path) in err[0]
    assert not out.exists()


def test_a_bad_params_key_is_named(tmp_path, capsys):
    manifest = write_manifest(tmp_path / "s", ROWS[:2])
    assert main(["features", "--manifest", str(manifest), "--out", str(tmp_path / "f"),
                 "--params", str(params_file(tmp_path, hop_length=0)), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "[features]" in err and "hop_length=0" in err
