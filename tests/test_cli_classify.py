"""`songnet classify` as a user runs it: formats, outputs, bad files beside good ones."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from songnet.classify.report import COLUMNS, RAVEN_COLUMNS
from songnet.cli import main
from songnet.model.checkpoint import default_model_path
from songnet.model.runtime import default_onnx_path

SR = 44100


def whistles(seconds: float, *, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(round(seconds * SR)) / SR
    y = 0.01 * rng.standard_normal(t.size) + ((t % 7.0) < 0.8) * 0.3 * np.sin(2e4 * np.pi * t)
    return y.astype(np.float32)


@pytest.fixture(scope="module")
def recordings(tmp_path_factory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("recs")
    paths = {name: d / f"{name}.wav" for name in ["good", "empty", "truncated", "zeros", "nan"]}
    sf.write(paths["good"], whistles(20.0), SR, subtype="PCM_16")
    sf.write(paths["empty"], np.zeros(0, dtype=np.float32), SR, subtype="PCM_16")
    sf.write(paths["truncated"], whistles(10.0, seed=1), SR, subtype="PCM_16")
    data = paths["truncated"].read_bytes()
    paths["truncated"].write_bytes(data[: len(data) // 2])
    sf.write(paths["zeros"], np.zeros(SR * 5, dtype=np.float32), SR, subtype="PCM_16")
    nan = whistles(5.0)
    nan[SR * 2:SR * 3] = np.nan
    sf.write(paths["nan"], nan, SR, subtype="FLOAT")
    paths["text"] = d / "notes.wav"
    paths["text"].write_text("field notes, not audio\n")
    paths["missing"] = d / "missing.wav"
    return paths


def run(capsys, *args: str) -> tuple[int, str, str]:
    rc = main(["classify", *args])
    out = capsys.readouterr()
    return rc, out.out, out.err


def test_bad_files_give_one_line_errors_while_good_files_succeed(capsys, tiny_model,
                                                                 recordings):
    names = ["good", "missing", "text", "empty", "truncated", "zeros", "nan"]
    rc, out, err = run(capsys, *(str(recordings[n]) for n in names), "--model", tiny_model,
                       "--format", "json", "-q")
    assert rc == 2
    events = json.loads(out)
    assert {e["file"] for e in events} <= {str(recordings["good"])}
    errors = [line for line in err.splitlines() if line.startswith("error: ")]
    failures = [line for line in err.splitlines() if line.startswith("failed: ")]
    for name, what in [("missing", "no such file"), ("text", "not a readable audio"),
                       ("empty", "no audio samples"), ("truncated", "truncated"),
                       ("zeros", "every sample is zero"), ("nan", "NaN")]:
        path = str(recordings[name])
        assert [e for e in errors if e.startswith(f"error: {path}: ") and what in e], name
        assert [f for f in failures if f.startswith(f"failed: {path}: ")], name
    assert "Traceback" not in err
    assert f"{recordings['good']}: " in err and " in 20.0 s" in err
    assert "1 file processed (20.0 s of audio" in err and "6 failed" in err


def test_good_file_alone_exits_zero_with_a_table(capsys, tiny_model, recordings):
    rc, out, err = run(capsys, str(recordings["good"]), "--model", tiny_model, "-q",
                       "--min-confidence", "0.99")
    assert rc == 0
    assert out.splitlines()[1:] == ["no chingolo songs found"]
    assert out.startswith("# model: tiny.pt (trained ")
    assert "0 songs in 20.0 s" in err


def test_raven_writes_one_selection_table_per_recording(capsys, tiny_model, recordings,
                                                        tmp_path):
    other = tmp_path / "in" / "good.wav"  # same stem, another folder
    other.parent.mkdir()
    other.write_bytes(recordings["good"].read_bytes())
    out_dir = tmp_path / "raven"
    rc, out, _ = run(capsys, str(recordings["good"]), str(other.parent), "--model",
                     tiny_model, "--format", "raven", "-o", str(out_dir), "-q")
    assert rc == 0 and out == ""
    tables = sorted(p.name for p in out_dir.iterdir())
    assert tables == ["good-2.Table.1.selections.txt", "good.Table.1.selections.txt"]
    for p in out_dir.iterdir():
        assert p.read_text().splitlines()[0].split("\t") == list(RAVEN_COLUMNS)


def test_output_ending_in_a_slash_is_a_folder(capsys, tiny_model, recordings, tmp_path):
    rc, _, _ = run(capsys, str(recordings["good"]), "--model", tiny_model, "--format", "raven",
                   "-o", f"{tmp_path}/tables/", "-q")
    assert rc == 0
    assert [p.name for p in (tmp_path / "tables").iterdir()] == ["good.Table.1.selections.txt"]


def test_raven_for_many_files_needs_a_folder(capsys, tiny_model, recordings):
    rc, _, err = run(capsys, str(recordings["good"]), str(recordings["good"].parent),
                     "--model", tiny_model, "--format", "raven", "-q")
    assert rc == 2 and err.strip().startswith("error: --format raven") and "-o FOLDER" in err


def test_csv_to_a_file_is_written_atomically(capsys, tiny_model, recordings, tmp_path):
    target = tmp_path / "out" / "events.csv"
    rc, out, _ = run(capsys, str(recordings["good"]), "--model", tiny_model, "--format",
                     "csv", "-o", str(target), "-q")
    assert rc == 0 and out == ""
    assert [p.name for p in target.parent.iterdir()] == ["events.csv"]
    _, printed, _ = run(capsys, str(recordings["good"]), "--model", tiny_model, "--format",
                        "csv", "-q")
    assert target.read_text() == printed  # the same table, whole, whether printed or written
    reader = csv.DictReader(io.StringIO(printed))
    assert reader.fieldnames == list(COLUMNS)
    assert {r["file"] for r in reader} <= {str(recordings["good"])}


def test_params_default_without_a_file_and_explicit_params_must_exist(
        capsys, tiny_model, recordings, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    rc, _, _ = run(capsys, str(recordings["good"]), "--model", tiny_model, "-q")
    assert rc == 0
    rc, _, err = run(capsys, str(recordings["good"]), "--model", tiny_model, "-q",
                     "--params", "nope.yaml")
    assert rc == 2 and "nope.yaml" in err
    Path("p.yaml").write_text("classify:\n  hop_s: 0.5\n  detect_thresold: 0.3\n")
    rc, _, err = run(capsys, str(recordings["good"]), "--model", tiny_model, "-q",
                     "--params", "p.yaml")
    assert rc == 2 and "detect_thresold" in err


def test_a_params_file_may_hold_only_the_keys_it_changes(tmp_path, monkeypatch):
    from songnet.classify.params import ClassifyParams
    from songnet.cli.common import load_optional_params

    monkeypatch.chdir(tmp_path)
    Path("params.yaml").write_text("classify:\n  detect_threshold: 0.1\n")
    params = load_optional_params(Path("params.yaml"), "classify", ClassifyParams)
    assert params == ClassifyParams(detect_threshold=0.1)  # the other 10+ keys: defaults
    Path("params.yaml").write_text("classify:\n  detect_threshold: 0.1\n  hop: 1\n")
    with pytest.raises(Exception, match="unknown key 'hop'"):
        load_optional_params(Path("params.yaml"), "classify", ClassifyParams)


def test_options_users_tune_reach_the_params_and_bad_ones_are_one_line_errors(
        capsys, tiny_model, recordings, tmp_path, monkeypatch):
    import songnet.cli.classify as cli_classify

    seen = []
    real = cli_classify._run

    def spy(files, **kw):
        seen.append(kw["params"])
        return real(files, **kw)

    monkeypatch.setattr(cli_classify, "_run", spy)
    good = str(recordings["good"])
    rc, _, err = run(capsys, good, "--model", tiny_model, "-q", "--sensitivity", "0.8",
                     "--overlap", "2.0", "--batch-size", "8", "--fmin", "2000", "--fmax",
                     "8000", "--min-song-score", "0.3", "--themes", "C, A")
    assert rc == 0, err
    p = seen[-1]
    assert (p.detect_threshold, p.batch_size, p.fmin_hz, p.fmax_hz, p.min_song_score,
            p.themes) == (pytest.approx(0.2), 8, 2000.0, 8000.0, 0.3, ("C", "A"))
    assert p.hop_s == pytest.approx(1.0)  # the tiny model's windows are 3 s long
    (tmp_path / "list.txt").write_text("# the themes of site 1\nB\n\nA  # and 2\n")
    rc, _, err = run(capsys, good, "--model", tiny_model, "-q", "--theme-list",
                     str(tmp_path / "list.txt"))
    assert rc == 0 and seen[-1].themes == ("B", "A")
    for args, what in [(["--themes", "A,T99"], "'T99' is not in the model's catalog"),
                       (["--themes", "A", "--theme-list", str(tmp_path / "list.txt")],
                        "give one of them"),
                       (["--overlap", "2.99"], "--overlap 2.99"),
                       (["--fmin", "9000", "--fmax", "3000"], "fmin"),
                       (["--fmin", "20000"], "holds none of the model's frequencies"),
                       (["--sensitivity", "1"], "--sensitivity"),
                       (["--min-song-score", "nan"], "--min-song-score")]:
        rc, _, err = run(capsys, good, "--model", tiny_model, "-q", *args)
        lines = err.strip().splitlines()
        assert rc == 2 and what in err and "Traceback" not in err, (args, err)
        assert len([line for line in lines if line.startswith(("error", "Error"))]) == 1


def test_audacity_labels_one_file_per_recording(capsys, tiny_model, recordings, tmp_path):
    from songnet.classify.backends import open_model

    target = tmp_path / "good.labels.txt"
    rc, _, err = run(capsys, str(recordings["good"]), "--model", tiny_model, "--format",
                     "audacity", "-o", str(target), "-q", "--sensitivity", "0.99")
    assert rc == 0, err
    rc, out, _ = run(capsys, str(recordings["good"]), "--model", tiny_model, "--format",
                     "json", "-q", "--sensitivity", "0.99")
    events = json.loads(out)
    lines = target.read_text().splitlines()
    assert len(lines) == 2 * len(events)
    for ev, label, band in zip(events, lines[::2], lines[1::2], strict=True):
        start, end, text = label.split("\t")
        assert (float(start), float(end)) == (ev["start_s"], ev["end_s"])
        assert text.startswith(ev["theme"]) and f"song {ev['song_score']:.2f}" in text
        assert band.split("\t")[0] == "\\"
    model = open_model(Path(tiny_model)).model_id
    assert all(ev["model"] == model for ev in events)
    assert f"model: {model}" in err
    rc, _, err = run(capsys, str(recordings["good"]), str(recordings["good"].parent),
                     "--model", tiny_model, "--format", "audacity", "-q")
    assert rc == 2 and "error: --format audacity" in err


def test_version_names_the_default_model(capsys):
    from songnet.model.runtime import load_onnx

    if not default_onnx_path().is_file():
        pytest.skip("no shipped default.onnx")
    assert main(["--version"]) == 0
    out = capsys.readouterr().out.splitlines()
    shipped = load_onnx(None)
    assert out[0].startswith("songnet, version ")
    assert out[1] == (f"default model: default.onnx (trained {shipped.meta['trained']}, "
                      f"sha256 {shipped.checkpoint_sha256[:12]})")


@pytest.mark.slow
def test_workers_give_the_same_events(capsys, tiny_model, recordings, tmp_path):
    second = tmp_path / "second.wav"
    sf.write(second, whistles(12.0, seed=4), SR)
    args = [str(recordings["good"]), str(second), "--model", tiny_model, "--format", "json",
            "-q"]
    rc1, out1, _ = run(capsys, *args)
    rc2, out2, _ = run(capsys, *args, "--workers", "2")
    assert rc1 == rc2 == 0 and json.loads(out1) == json.loads(out2)


def test_real_syllables_run_without_error(capsys, tiny_model, real_syllables):
    model = str(default_model_path()) if default_model_path().is_file() else tiny_model
    rc, out, err = run(capsys, *map(str, real_syllables), "--model", model, "--format",
                       "json", "-q")
    assert rc == 0, err
    json.loads(out)
    for clip in real_syllables:
        assert f"{clip}: " in err
    assert f"{len(real_syllables)} files processed" in err and "0 failed" in err


def test_help_names_the_formats_and_says_what_each_column_means(capsys):
    rc, out, _ = run(capsys, "--help")
    assert rc == 0 and "raven" in out and "audacity" in out and "--min-confidence" in out
    for word in ("song_score", "theme_confidence", "unknown_by", "note_check", "nearest",
                 "distance", "threshold", "--sensitivity", "--themes", "--theme-list",
                 "--fmin", "--fmax", "--overlap", "--batch-size", "--min-song-score"):
        assert word in out, word


def test_the_classify_path_imports_neither_torch_nor_librosa_nor_scipy(recordings):
    """The default model runs on ONNX Runtime: start-up is most of a short command's time,
    and the base install has none of the heavy libraries."""
    import subprocess
    import sys

    if not default_onnx_path().is_file():
        pytest.skip("no shipped default.onnx")
    code = ("import sys\nfrom songnet.cli import main\n"
            f"status = main(['classify', {str(recordings['good'])!r}, '-q'])\n"
            "heavy = sorted({m.split('.')[0] for m in sys.modules} & "
            "{'torch', 'librosa', 'scipy', 'numba', 'matplotlib', 'sklearn', 'umap', "
            "'pandas', 'onnx', 'dask', 'distributed'})\n"
            "print(heavy, 'onnxruntime' in sys.modules)\nsys.exit(status)")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=False)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().splitlines()[-1] == "[] True", proc.stderr


def test_onnx_and_checkpoint_give_the_same_output(capsys, tiny_model, recordings, tmp_path):
    from songnet.model.export import export_checkpoint
    onnx = export_checkpoint(tiny_model, tmp_path / "tiny.onnx")
    outs = []
    for model in (tiny_model, str(onnx)):
        rc, out, _ = run(capsys, str(recordings["good"]), "--model", model, "--format",
                         "json", "--threads", "1", "-q")
        assert rc == 0
        outs.append(json.loads(out))
    models = [{ev.pop("model") for ev in out} for out in outs]
    assert outs[0] == outs[1]
    # each names its own file, and the same training date and checkpoint checksum
    (pt,), (ox,) = models
    assert pt.startswith("tiny.pt (") and ox.startswith("tiny.onnx (")
    assert pt.split(" ", 1)[1] == ox.split(" ", 1)[1]


def test_the_onnx_model_runs_on_the_cpu_only(capsys, tiny_model, recordings, tmp_path):
    from songnet.model.export import export_checkpoint
    onnx = export_checkpoint(tiny_model, tmp_path / "tiny.onnx")
    rc, _, err = run(capsys, str(recordings["good"]), "--model", str(onnx), "--device",
                     "cuda", "-q")
    assert rc == 2 and "runs on the CPU" in err and "--model FILE.pt" in err
