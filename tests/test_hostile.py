"""Hostile but fair input (issue 15): every case ends in exit 2 with one `error:` line and
no traceback, nothing outside the output (or any input) changes, and the memory bombs stay
bounded. Inputs are generated here; commands run in-process through ``songnet.cli.main``,
except where the child's peak memory is measured."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch
import yaml

from songnet.cli import main
from songnet.core.errors import SongnetError
from songnet.core.files import (
    atomic_path,
    check_output_dir,
    check_output_file,
    inside,
    safe_name,
    write_text,
)
from songnet.core.params import MAX_YAML_BYTES, read_yaml
from songnet.model.checkpoint import load_checkpoint
from songnet.resynth.sketch import MAX_NOTES, parse_sketch

REPO = Path(__file__).resolve().parents[1]
PARAMS = REPO / "params.yaml"
SKETCH = "onset_s,offset_s,start_hz,end_hz,mid_hz,amplitude,repeat,interval_s\n"
MEMORY_LIMIT_MB = 1500


def run(capfd, *args: str) -> tuple[int, str, str]:
    rc = main([str(a) for a in args])
    out, err = capfd.readouterr()
    return rc, out, err


def one_error(rc: int, err: str, *needles: str) -> str:
    """Exit 2, exactly one `error:` line (which holds every needle), no traceback."""
    assert rc == 2, err
    assert "Traceback" not in err, err
    errors = [line for line in err.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1, err
    for needle in needles:
        assert needle in errors[0], errors[0]
    assert len(errors[0]) < 400, errors[0]
    return errors[0]


def snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file()}


def wav(path: Path, y: np.ndarray, sr: int = 22050, subtype: str = "PCM_16") -> Path:
    sf.write(path, np.asarray(y, dtype=np.float32), sr, subtype=subtype)
    return path


def noise(seconds: float = 1.0, sr: int = 22050) -> np.ndarray:
    return 0.05 * np.random.default_rng(0).standard_normal(int(seconds * sr))


def sketch(path: Path, rows: str, *, sid: str | None = None) -> Path:
    head = f"# id: {sid}\n" if sid is not None else ""
    path.write_text(head + SKETCH + rows, encoding="utf-8")
    return path


@pytest.fixture
def rec(tmp_path) -> Path:
    return wav(tmp_path / "rec.wav", noise())


# --- the output policy -------------------------------------------------------------------


def test_safe_name_and_inside(tmp_path):
    assert safe_name("1966-T01v") == "1966-T01v"
    assert safe_name("../../x") == "x"
    assert safe_name("/abs/x") == "abs_x"
    assert "/" not in safe_name("a/b\\c\nd") and not safe_name("..a").startswith(".")
    with pytest.raises(SongnetError, match="no usable file name"):
        safe_name("../..")
    assert inside(tmp_path, "a.wav") == tmp_path / "a.wav"
    for bad in ("../a.wav", "/etc/passwd", "."):
        with pytest.raises(SongnetError, match="outside the output folder"):
            inside(tmp_path, bad)


def test_sketch_ids_never_leave_the_output_folder(tmp_path, capfd):
    sketches = tmp_path / "in" / "deep"
    sketches.mkdir(parents=True)
    victim = tmp_path / "x.wav"
    victim.write_bytes(b"precious")
    sketch(sketches / "a.csv", "0.0,0.1,4000,4000,,,,\n", sid="../../x")
    sketch(sketches / "b.csv", "0.0,0.1,4500,4500,,,,\n", sid=str(tmp_path / "abs"))
    before = snapshot(tmp_path)
    out = tmp_path / "out"
    rc, _, err = run(capfd, "resynthesize", sketches, "-o", out, "--params", PARAMS, "-q")
    assert rc == 0, err
    after = snapshot(tmp_path)
    changed = {k for k in after if before.get(k) != after[k]}
    assert all(k.startswith("out/") for k in changed), changed
    assert victim.read_bytes() == b"precious"
    names = {p.name for p in out.glob("*.wav")}
    assert names == {"x.wav", safe_name(str(tmp_path / "abs")) + ".wav"}


def test_sketch_ids_that_collide_after_sanitising_are_refused(tmp_path, capfd):
    d = tmp_path / "in"
    d.mkdir()
    sketch(d / "a.csv", "0.0,0.1,4000,4000,,,,\n", sid="a/b")
    sketch(d / "b.csv", "0.0,0.1,4000,4000,,,,\n", sid="a_b")
    rc, _, err = run(capfd, "resynthesize", d, "-o", tmp_path / "out", "--params", PARAMS, "-q")
    one_error(rc, err, "already used")
    assert not (tmp_path / "out").exists()


def test_an_output_is_never_an_input(tmp_path, capfd, rec):
    data = rec.read_bytes()
    rc, _, err = run(capfd, "classify", rec, "-o", rec, "-q")
    one_error(rc, err, "also an input", str(rec))
    assert rec.read_bytes() == data
    d = tmp_path / "sk"
    d.mkdir()
    sketch(d / "a.csv", "0.0,0.1,4000,4000,,,,\n")
    (d / "README.md").write_text("notes")
    before = snapshot(d)
    rc, _, err = run(capfd, "resynthesize", d, "-o", d, "--params", PARAMS, "-q")
    one_error(rc, err, "holds the input")
    rc, _, err = run(capfd, "resynthesize", d / "a.csv", "-o", d / "a.csv", "--params", PARAMS)
    one_error(rc, err)
    assert snapshot(d) == before


@pytest.mark.parametrize("command", ["resynthesize", "synthesize"])
def test_the_current_folder_is_never_replaced(tmp_path, capfd, monkeypatch, command):
    work = tmp_path / "work"
    work.mkdir()
    sketch(work / "a.csv", "0.0,0.1,4000,4000,,,,\n")
    monkeypatch.chdir(work)
    before = snapshot(tmp_path)
    args = ["resynthesize", "."] if command == "resynthesize" else ["synthesize"]
    for out in (".", str(tmp_path)):
        rc, _, err = run(capfd, *args, "-o", out, "--params", PARAMS, "-q")
        one_error(rc, err, "current folder")
    assert snapshot(tmp_path) == before


def test_devices_are_sinks_and_fifos_or_folders_are_refused(tmp_path, capfd, rec):
    if os.geteuid() == 0:  # as root a regression would replace /dev/null: use our own node
        sink = tmp_path / "null"
        os.mknod(sink, stat.S_IFCHR | 0o666, os.makedev(1, 3))
    else:
        sink = Path(os.devnull)
    rc, _, err = run(capfd, "classify", rec, "-o", sink, "-q")
    assert rc == 0, err
    assert stat.S_ISCHR(os.stat(sink).st_mode)
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    rc, _, err = run(capfd, "classify", rec, "-o", fifo, "-q")
    one_error(rc, err, "FIFO")
    folder = tmp_path / "folder"
    folder.mkdir()
    rc, _, err = run(capfd, "sing", "T01", "-o", folder, "-q")
    one_error(rc, err, "folder")
    with pytest.raises(SongnetError, match="FIFO"), atomic_path(fifo) as tmp:
        tmp.write_text("x")
    assert stat.S_ISFIFO(os.stat(fifo).st_mode)


def test_unwritable_outputs_fail_before_any_work(tmp_path, capfd, rec):
    blocker = tmp_path / "file"
    blocker.write_text("a file, not a folder")
    rc, _, err = run(capfd, "classify", rec, "-o", blocker / "out.csv", "-q")
    one_error(rc, err, "not a folder")
    rc, _, err = run(capfd, "synthesize", "-o", blocker / "data", "--params", PARAMS, "-q")
    one_error(rc, err)
    with pytest.raises(SongnetError, match="not a folder"):
        check_output_file(blocker / "sub" / "x.csv")
    if os.geteuid() != 0:
        locked = tmp_path / "locked"
        locked.mkdir(mode=0o555)
        rc, _, err = run(capfd, "classify", rec, "-o", locked / "out.csv", "-q")
        one_error(rc, err, "not writable")
    with pytest.raises(SongnetError, match="is a file"):
        check_output_dir(blocker)


# --- limits ------------------------------------------------------------------------------


def test_a_1_hz_wav_is_refused_and_the_good_files_still_run(tmp_path, capfd, rec):
    bomb = wav(tmp_path / "bomb.wav", noise(4000, sr=1), sr=1)
    rc, out, err = run(capfd, "classify", bomb, rec, "-q")
    assert rc == 2 and "Traceback" not in err
    assert "error: " + str(bomb) in err and "8000 Hz" in err and "sr/2" in err
    assert f"{rec}: 0 songs" in err or str(rec) in out


def test_billion_laughs_and_huge_yaml_are_refused(tmp_path, capfd, rec):
    laughs = tmp_path / "laughs.yaml"
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for prev, name in zip("abcdefgh", "bcdefghi", strict=True):
        lines.append(f"{name}: &{name} [" + ",".join([f"*{prev}"] * 9) + "]")
    laughs.write_text("\n".join(lines) + "\nclassify: {hop_s: *i}\n")
    rc, _, err = run(capfd, "classify", rec, "--params", laughs, "-q")
    one_error(rc, err, "anchors and aliases")
    big = tmp_path / "big.yaml"
    big.write_text("x: " + "a" * (MAX_YAML_BYTES + 10))
    with pytest.raises(SongnetError, match="too large"):
        read_yaml(big)
    catalog = tmp_path / "cat"
    catalog.mkdir()
    (catalog / "T1.yaml").write_text("name: &n T1\ndescription: *n\nnotes: []\n")
    rc, _, err = run(capfd, "themes", "--catalog", catalog)
    one_error(rc, err, "aliases")


@pytest.mark.parametrize(("row", "needle"), [
    ("0.0,0.04,4000,4000,,,1e308,0.06", "repeat"),
    ("0.0,0.04,4000,4000,,,100,1e308", "over the limit"),
    ("0.0,1e308,4000,4000,,,,", "over the limit"),
    ("0.0,0.04,4000,4000," + ";".join(["4000"] * 100) + ",,,", "mid_hz"),
])
def test_sketch_limits(tmp_path, capfd, row, needle):
    path = sketch(tmp_path / "s.csv", row + "\n")
    rc, _, err = run(capfd, "resynthesize", path, "-o", tmp_path / "o.wav", "--params", PARAMS)
    one_error(rc, err, needle)
    assert not (tmp_path / "o.wav").exists()


def test_sketch_with_too_many_rows_or_bytes_is_refused_quickly(tmp_path, capfd):
    rows = "".join(f"{i * 0.001:.3f},{i * 0.001 + 0.0005:.4f},4000,4000,,,,\n"
                   for i in range(MAX_NOTES + 5))
    with pytest.raises(SongnetError, match=f"more than {MAX_NOTES}"):
        parse_sketch(SKETCH + rows, source="many")
    huge = tmp_path / "huge.csv"
    with huge.open("w") as fh:
        fh.write(SKETCH)
        fh.write("0.0,0.1,4000,4000,,,,\n" * 100_000)  # 2 MB
    rc, _, err = run(capfd, "resynthesize", huge, "-o", tmp_path / "o.wav", "--params", PARAMS)
    one_error(rc, err, "bytes")


@pytest.mark.parametrize(("edit", "needle"), [
    ({"trill": {"count": 10_000_000}}, "count"),
    ({"trill": {"interval_ms": 1e308}}, "limit"),
    ({"trill": {"note_ms": float("nan")}}, "finite"),
    ({"notes": [{"shape": "whistle", "pitch_khz": [4.0], "duration_ms": 1900, "gap_ms": 1900}
                for _ in range(3)]}, "limit of 10 s"),
    ({"name": "../../evil"}, "name"),
])
def test_theme_limits(tmp_path, capfd, edit, needle):
    catalog = tmp_path / "cat"
    catalog.mkdir()
    theme = {"name": "T1", "notes": [{"shape": "whistle", "pitch_khz": [4.0],
                                      "duration_ms": 200, "gap_ms": 60}],
             "trill": {"shape": "sweep", "pitch_khz": [6.0, 4.0], "note_ms": 40,
                       "interval_ms": 70, "count": 10}}
    for key, value in edit.items():
        if isinstance(value, dict):
            theme[key] = {**theme[key], **value}
        else:
            theme[key] = value
    (catalog / "T1.yaml").write_text(yaml.safe_dump(theme))
    rc, _, err = run(capfd, "themes", "--catalog", catalog, "--plot", tmp_path / "p.png")
    one_error(rc, err, needle)
    assert not (tmp_path / "p.png").exists()


def test_workers_are_capped(tmp_path, capfd, rec):
    other = wav(tmp_path / "b.wav", noise())
    rc, _, err = run(capfd, "classify", rec, other, "--workers", "1000", "-q")
    one_error(rc, err, "--workers 1000", "at most")
    manifest = tmp_path / "manifest.csv"
    manifest.write_text("path,theme,split\nrec.wav,A,train\n")
    rc, _, err = run(capfd, "features", "--manifest", manifest, "-o", tmp_path / "f",
                     "--workers", "1000", "--params", PARAMS, "-q")
    one_error(rc, err, "--workers 1000")


# --- values that are not numbers, or not usable --------------------------------------------


@pytest.mark.parametrize("args", [
    ("classify", "{rec}", "--min-confidence", "nan"),
    ("classify", "{rec}", "--min-confidence", "inf"),
    ("sing", "T01", "-o", "{tmp}/s.wav", "--seed", "-1"),
    ("themes", "--plot", "{tmp}/p.png", "--seed", "-1"),
    ("classify", "{rec}", "--scheduler", "local:1", "--split-s", "inf"),
    ("classify", "{rec}", "--scheduler", "local:1", "--split-s", "nan"),
    ("classify", "{rec}", "--scheduler", "local:100000"),  # hung, starting 100000 workers
    ("classify", "{rec}", "--scheduler", "local:" + "9" * 5000),
    ("classify", "{rec}", "--scheduler", "local:²"),
    ("explain", "{rec}", "-o", "{tmp}/e.png", "--end", "inf"),
    ("explain", "{rec}", "-o", "{tmp}/e.png", "--start", "nan"),
    ("themes", "learn", "{rec}", "-o", "{tmp}/t.yaml", "--start", "nan"),
    ("themes", "learn", "{rec}", "-o", "{tmp}/t.yaml", "--end", "inf"),
    ("classify", "{rec}", "--threads", "100000"),
])
def test_bad_option_values(tmp_path, capfd, rec, args):
    args = [a.format(rec=rec, tmp=tmp_path) for a in args]
    before = snapshot(tmp_path)
    rc, _, err = run(capfd, *args)
    one_error(rc, err)
    assert snapshot(tmp_path) == before


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without a GPU")
def test_cuda_without_a_gpu(capfd, rec, repo_root):
    import torch
    if not torch.cuda.is_available():
        torch_model = str(repo_root / "songnet" / "models" / "default.pt")
        rc, _, err = run(capfd, "classify", rec, "--model", torch_model, "--device", "cuda",
                         "-q")
        one_error(rc, err, "no CUDA GPU")
    rc, _, err = run(capfd, "classify", rec, "--device", "cuda", "-q")  # the ONNX model
    one_error(rc, err, "the ONNX model runs on the CPU")


@pytest.mark.parametrize(("section", "key", "value"), [
    ("classify", "block_s", np.nan),
    ("classify", "hop_s", np.nan),
    ("classify", "activity_db", np.nan),
    ("synthesize", "clip_s", np.inf),
    ("synthesize", "snr_db", [np.nan, 3.0]),
    ("synthesize", "distance_m", [-5.0, 40.0]),
    ("synthesize", "seed", -1),
])
def test_non_finite_and_absurd_params(tmp_path, capfd, rec, section, key, value):
    params = yaml.safe_load(PARAMS.read_text())
    params.setdefault(section, {})[key] = value
    bad = tmp_path / "params.yaml"
    bad.write_text(yaml.safe_dump(params))
    if section == "classify":
        rc, _, err = run(capfd, "classify", rec, "--params", bad, "-q")
    else:
        rc, _, err = run(capfd, "synthesize", "-o", tmp_path / "s", "--params", bad, "-q")
    line = one_error(rc, err, key, str(bad))
    assert "rec.wav" not in line
    assert not (tmp_path / "s").exists()


# --- checkpoints ---------------------------------------------------------------------------


def _flip_weights(src: str, dst: Path, n: int = 2000) -> None:
    data = bytearray(Path(src).read_bytes())
    with zipfile.ZipFile(src) as zf:
        spans = [(i.header_offset + 30 + len(i.filename) + len(i.extra), i.file_size)
                 for i in zf.infolist() if "/data/" in i.filename and i.file_size > 0]
    rng = np.random.default_rng(0)
    for _ in range(n):
        start, size = spans[rng.integers(len(spans))]
        data[start + int(rng.integers(size))] ^= 0x5A
    dst.write_bytes(bytes(data))


def test_damaged_checkpoints(tmp_path, capfd, rec, tiny_model):
    flipped = tmp_path / "flipped.pt"
    _flip_weights(tiny_model, flipped)
    rc, _, err = run(capfd, "classify", rec, "--model", flipped, "-q")
    one_error(rc, err, f"{flipped}: checkpoint is damaged (checksum mismatch); rebuild it "
                       "with songnet train or reinstall")
    empty = tmp_path / "empty.pt"
    empty.write_bytes(b"")
    rc, _, err = run(capfd, "classify", rec, "--model", empty, "-q")
    one_error(rc, err, str(empty))
    rng = np.random.default_rng(1)
    data = bytearray(Path(tiny_model).read_bytes())
    for i in rng.choice(len(data), 2000, replace=False):
        data[i] ^= 0xFF
    anywhere = tmp_path / "anywhere.pt"
    anywhere.write_bytes(bytes(data))
    rc, _, err = run(capfd, "classify", rec, "--model", anywhere, "-q")
    one_error(rc, err, str(anywhere))
    truncated = tmp_path / "truncated.pt"
    truncated.write_bytes(Path(tiny_model).read_bytes()[:3000])
    rc, _, err = run(capfd, "classify", rec, "--model", truncated, "-q")
    one_error(rc, err, str(truncated))


def test_a_checkpoint_without_checksum_still_loads(tmp_path, tiny_model):
    payload = torch.load(tiny_model, weights_only=True)
    assert payload["checksum"].startswith("sha256:")
    del payload["checksum"]
    old = tmp_path / "old.pt"
    torch.save(payload, old)
    assert load_checkpoint(old).classes == ["A", "B", "C", "no_song"]
    load_checkpoint(None)  # the shipped model, with or without a checksum


# --- audio ---------------------------------------------------------------------------------


def test_absurd_and_non_finite_samples_name_the_file(tmp_path, capfd):
    for name, value in (("loud.wav", 1e30), ("nan.wav", np.nan), ("inf.wav", np.inf)):
        y = noise()
        y[100] = value
        path = wav(tmp_path / name, y, subtype="FLOAT")
        rc, _, err = run(capfd, "classify", path, "-q")
        assert rc == 2 and "Traceback" not in err and "RuntimeWarning" not in err, err
        assert f"error: {path}: samples contain" in err


def test_random_and_truncated_compressed_files(tmp_path, capfd):
    junk = tmp_path / "junk.mp3"
    junk.write_bytes(np.random.default_rng(0).bytes(5000))
    rc, _, err = run(capfd, "classify", junk, "-q")
    assert rc == 2 and "does not exist" not in err and "not a recognised audio format" in err
    expected = ("error:", "failed:", "0 files", "no chingolo", "model: ")
    assert all(line.startswith(expected) for line in err.splitlines() if line.strip()), err
    y = 0.3 * np.sin(2 * np.pi * 3000 * np.arange(3 * 44100) / 44100)
    full = tmp_path / "full.mp3"
    sf.write(full, y.astype(np.float32), 44100, format="MP3")
    cut = tmp_path / "cut.mp3"
    data = full.read_bytes()
    cut.write_bytes(data[:len(data) * 6 // 10])
    rc, _, err = run(capfd, "classify", cut, "-q")
    assert rc == 0 and "Traceback" not in err
    warnings = [line for line in err.splitlines() if line.startswith("warning: ")]
    assert len(warnings) == 1 and str(cut) in warnings[0] and "truncated" in warnings[0]
    assert "Xing" not in err  # the MP3 decoder's own lines stay quiet
    full = tmp_path / "full.ogg"
    sf.write(full, y.astype(np.float32), 44100, format="OGG")
    cut = tmp_path / "cut.ogg"
    data = full.read_bytes()
    cut.write_bytes(data[:len(data) * 95 // 100])
    rc, _, err = run(capfd, "classify", full, cut, "-q")
    assert rc == 0 and "Traceback" not in err
    warnings = [line for line in err.splitlines() if line.startswith("warning: ")]
    assert len(warnings) == 1 and str(cut) in warnings[0] and "truncated" in warnings[0]


def test_pickled_or_truncated_embeddings(tmp_path, capfd):
    emb = tmp_path / "emb"
    emb.mkdir()
    (emb / "songs.csv").write_text("song_id,era,theme,source,split\na,2020,T1,s,test\n")
    np.save(emb / "embeddings.npy", np.array([object()], dtype=object), allow_pickle=True)
    params = tmp_path / "params.yaml"
    params.write_text(yaml.safe_dump({"project": yaml.safe_load(PARAMS.read_text())["project"]}))
    rc, _, err = run(capfd, "project", "--embeddings", emb, "-o", tmp_path / "o",
                     "--params", params, "-q")
    one_error(rc, err, "rerun `songnet embed`")
    np.save(emb / "embeddings.npy", np.ones((1, 8), dtype=np.float32))
    data = (emb / "embeddings.npy").read_bytes()
    (emb / "embeddings.npy").write_bytes(data[:-10])
    rc, _, err = run(capfd, "project", "--embeddings", emb, "-o", tmp_path / "o",
                     "--params", params, "-q")
    one_error(rc, err, "rerun `songnet embed`")


def test_writes_stay_atomic_on_a_device_sink(tmp_path):
    write_text(os.devnull, "nothing")
    assert stat.S_ISCHR(os.stat(os.devnull).st_mode)


# --- memory of the bombs, measured in a child ------------------------------------------------


_HWM = """
import atexit, os, runpy, sys
def _report():
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            with open(os.environ["SONGNET_TEST_HWM"], "w") as fh:
                fh.write(line.split()[1])
atexit.register(_report)
sys.argv = ["songnet", *sys.argv[1:]]
runpy.run_module("songnet", run_name="__main__")
"""


def _peak_mb(args: list[str], cwd: Path) -> tuple[int, int, str]:
    """Run `songnet ARGS` in a child; its exit status, peak RSS (MiB) and stderr.

    The peak is the child's own high-water mark (``VmHWM`` of its address space, read at
    exit), not ``ru_maxrss``: that one keeps the RSS of the forking parent (this test
    process, large late in a full run) across ``exec``.
    """
    hwm = cwd / "hwm.txt"
    env = {**os.environ, "PYTHONPATH": str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""),
           "SONGNET_TEST_HWM": str(hwm)}
    proc = subprocess.run([sys.executable, "-c", _HWM, *args], cwd=cwd, env=env,
                          stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                          check=False)
    return proc.returncode, int(hwm.read_text()) // 1024, proc.stderr


def test_bombs_stay_in_bounded_memory(tmp_path):
    bomb = wav(tmp_path / "bomb.wav", noise(16000, sr=1), sr=1)  # 32 KB at 1 Hz
    good = wav(tmp_path / "good.wav", noise())
    rc, peak, err = _peak_mb(["classify", str(bomb), str(good), "-q"], tmp_path)
    assert rc == 2 and "Traceback" not in err and "good.wav: 0 songs" in err, err
    assert peak < MEMORY_LIMIT_MB, peak
    (tmp_path / "manifest.csv").write_text("path,theme,split\nbomb.wav,A,train\n")
    rc, peak, err = _peak_mb(["features", "--manifest", "manifest.csv", "-o", "f", "--params",
                              str(PARAMS), "-q"], tmp_path)
    one_error(rc, err, "8000 Hz")
    assert peak < MEMORY_LIMIT_MB, peak
    laughs = tmp_path / "laughs.yaml"
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for prev, name in zip("abcdefgh", "bcdefghi", strict=True):
        lines.append(f"{name}: &{name} [" + ",".join([f"*{prev}"] * 9) + "]")
    laughs.write_text("\n".join(lines) + "\nclassify: {hop_s: *i}\n")
    rc, peak, err = _peak_mb(["classify", str(good), "--params", str(laughs), "-q"], tmp_path)
    one_error(rc, err, "aliases")
    assert peak < MEMORY_LIMIT_MB, peak


# --- issue 35: every output checked, models verified, the journal distrusted ---------------


def test_an_output_never_replaces_an_input_or_another_output(tmp_path, capfd, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "R" / "T01").mkdir(parents=True)
    wav(tmp_path / "R" / "T01" / "a.wav", noise())
    before = snapshot(tmp_path)
    for args, needle in (
            (["themes", "--recordings", "R", "-o", "C", "--csv", "R/T01/a.wav"],
             "also an input"),
            (["themes", "--plot", "x.png", "--csv", "x.png"], "same path"),
            (["themes", "--recordings", "R", "-o", "C", "--csv", "C/t.csv"],
             "replaced as a whole"),
            (["themes", "--plot", "x.wav"], ".png"),
            (["explain", "R/T01/a.wav", "-o", "e.png", "--csv", "e.png"], "same path")):
        rc, _, err = run(capfd, *args, "-q")
        one_error(rc, err, needle)
    assert snapshot(tmp_path) == before


@pytest.mark.parametrize(("target", "needle"), [(".", "inside"), ("T02", "inside"),
                                                 ("{elsewhere}", "outside")])
def test_a_theme_folder_that_is_a_link_is_refused(tmp_path, capfd, target, needle):
    recordings = tmp_path / "R"
    for theme in ("T02", "elsewhere"):
        (recordings / theme if theme == "T02" else tmp_path / theme).mkdir(parents=True)
    wav(recordings / "T02" / "a.wav", noise())
    wav(tmp_path / "elsewhere" / "b.wav", noise())
    (recordings / "T01").symlink_to(target.format(elsewhere=tmp_path / "elsewhere"))
    rc, _, err = run(capfd, "themes", "--recordings", recordings, "-o", tmp_path / "C",
                     "-q")
    one_error(rc, err, str(recordings / "T01"), needle)
    assert not (tmp_path / "C").exists()


def test_output_names_made_from_recordings_are_safe(tmp_path, capfd):
    folder = tmp_path / "in"
    folder.mkdir()
    for name in ("a\nb.wav", "\n.wav", "c.wav"):
        wav(folder / name, noise())
    rc, _, err = run(capfd, "classify", folder, "--format", "raven", "-o",
                     str(tmp_path / "out") + "/", "-q")
    assert rc == 0, err
    names = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert len(names) == 3 and all(n.isprintable() and "/" not in n for n in names), names


@pytest.mark.parametrize("number", ["1" * 5000, "0x" + "f" * 5000, "123456789012345678901"])
def test_numbers_in_yaml_are_bounded(tmp_path, capfd, rec, number):
    catalog = tmp_path / "cat"
    catalog.mkdir()
    (catalog / "T1.yaml").write_text(
        "name: T1\nnotes:\n  - {shape: whistle, pitch_khz: [4.0], duration_ms: 200, "
        f"gap_ms: 60}}\ntrill: {{shape: sweep, pitch_khz: [6.0, 4.0], note_ms: 40, "
        f"interval_ms: 70, count: {number}}}\n")
    rc, _, err = run(capfd, "themes", "--catalog", catalog)
    one_error(rc, err, str(catalog / "T1.yaml"), "digits")
    params = tmp_path / "params.yaml"
    params.write_text(f"classify:\n  batch_size: {number}\n")
    rc, _, err = run(capfd, "classify", rec, "--params", params, "-q")
    one_error(rc, err, str(params), "digits")


# ONNX models: verified like checkpoints


def _resigned(model) -> bytes:
    """``model`` (an onnx ModelProto) with its checksum made anew over what it now holds."""
    from songnet.model.onnxfile import CHECKSUM_KEY, sign

    keep = [(p.key, p.value) for p in model.metadata_props if p.key != CHECKSUM_KEY]
    del model.metadata_props[:]
    for key, value in keep:
        entry = model.metadata_props.add()
        entry.key, entry.value = key, value
    return sign(model.SerializeToString())


def _alter_weight(model) -> None:
    from onnx import numpy_helper

    weight = model.graph.initializer[0]
    array = numpy_helper.to_array(weight).copy()
    array.flat[0] += 0.5
    weight.CopyFrom(numpy_helper.from_array(array, weight.name))


def _set_meta(model, key: str, value: str) -> None:
    for p in model.metadata_props:
        if p.key == key:
            p.value = value


def _other_network(model, *, rank: int) -> None:
    """Keep the songnet metadata; replace the graph by one of other inputs and outputs."""
    from onnx import TensorProto, helper

    dims = ["batch", 80, 517][:rank]
    graph = helper.make_graph(
        [helper.make_node("Identity", ["images"], ["scores"])], "other",
        [helper.make_tensor_value_info("images", TensorProto.FLOAT, dims)],
        [helper.make_tensor_value_info("scores", TensorProto.FLOAT, dims)])
    model.graph.CopyFrom(graph)


@pytest.mark.parametrize(("edit", "signed", "needle"), [
    (_alter_weight, False, "is damaged (checksum mismatch)"),
    (lambda m: _set_meta(m, "checkpoint_sha256", "0" * 64), False,
     "is damaged (checksum mismatch)"),
    (lambda m: _set_meta(m, "classes", '["T01"]'), False, "is damaged (checksum mismatch)"),
    ("flip", False, "is damaged (checksum mismatch)"),
    (lambda m: None, True, None),  # re-signed unchanged: still a songnet model
    (lambda m: None, None, "no checksum"),
    (lambda m: _other_network(m, rank=3), True, "not a songnet model (inputs and outputs"),
    (lambda m: _other_network(m, rank=2), True, "not a songnet model (inputs and outputs"),
    (lambda m: _set_meta(m, "meta", "[" * 100_000 + "]" * 100_000), True,
     "not a songnet model (its 'meta' entry is not JSON"),
    (lambda m: _set_meta(m, "model_config", '{"n_bins": 1e400}'), True, "not a songnet model"),
    (lambda m: _set_meta(m, "open_set", '{"themes": 1}'), True, "not a songnet model"),
    (lambda m: _set_meta(m, "format", "someone-else/3"), True, "not a songnet model (format"),
    ("junk", None, "not a readable ONNX model"),
    ("truncated", None, "not a readable ONNX model"),
])
def test_onnx_models_are_verified(tmp_path, capfd, rec, edit, signed, needle):
    import onnx

    from songnet.model.onnxfile import CHECKSUM_KEY
    from songnet.model.runtime import default_onnx_path

    shipped = default_onnx_path().read_bytes()
    path = tmp_path / "model.onnx"
    if edit == "flip":
        data = bytearray(shipped)
        data[len(data) // 2] ^= 0x01  # in the weights
        path.write_bytes(bytes(data))
    elif edit == "junk":
        path.write_bytes(np.random.default_rng(0).bytes(5000))
    elif edit == "truncated":
        path.write_bytes(shipped[: len(shipped) // 3])
    else:
        model = onnx.load_from_string(shipped)
        edit(model)
        if signed is None:  # the checksum entry removed
            keep = [p for p in model.metadata_props if p.key != CHECKSUM_KEY]
            del model.metadata_props[:]
            model.metadata_props.extend(keep)
        path.write_bytes(_resigned(model) if signed else model.SerializeToString())
    rc, _, err = run(capfd, "classify", rec, "--model", path, "-q")
    if needle is None:
        assert rc == 0, err
    else:
        one_error(rc, err, f"{path}: ", needle)


# the --resume journal, read as untrusted input


@pytest.fixture(scope="module")
def song(tmp_path_factory) -> Path:
    """A recording of one T01 song between two seconds of noise."""
    from songnet.surrogates.birds import sing
    from songnet.surrogates.synthesize_params import SynthesizeParams
    from songnet.surrogates.themes import load_catalog
    from songnet.synth import SR

    theme = {t.name: t for t in load_catalog(None)}["T01"]
    y = sing(theme, rng=np.random.default_rng(3), params=SynthesizeParams())
    pad = noise(2.0, sr=SR) * 0.2
    return wav(tmp_path_factory.mktemp("song") / "rec.wav", np.concatenate([pad, y, pad]),
               sr=SR)


def _journal_case(tmp_path: Path, song: Path, capfd) -> tuple[list[str], str, Path, str]:
    """A recording classified with --resume in ``tmp_path``: the arguments, the output,
    the journal and its first two lines."""
    rec = tmp_path / "rec.wav"
    rec.write_bytes(song.read_bytes())
    args = ["classify", str(rec), "-o", str(tmp_path / "out.csv"), "--format", "csv",
            "--resume", "-q"]
    rc, _, err = run(capfd, *args)
    assert rc == 0, err
    journal = tmp_path / "out.csv.journal.jsonl"
    return args, (tmp_path / "out.csv").read_text(), journal, journal.read_text()


def _event_line(line: str, **edits) -> str:
    import json

    d = json.loads(line)
    for key, value in edits.items():
        if key == "events":
            d["events"] = value(d["events"])
        else:
            d[key] = value
    return json.dumps(d)


@pytest.mark.parametrize(("name", "lines"), [
    ("NaN in an event", lambda h, ln: [h, ln.replace('"start_s": ', '"start_s": NaN, "x": ')]),
    ("inf in an event", lambda h, ln: [h, ln.replace('"end_s": ', '"end_s": 1e999, "x": ')]),
    ("events beyond the recording", lambda h, ln: [h, _event_line(
        ln, events=lambda evs: [{**evs[0], "start_s": 9000.0, "end_s": 9001.0}])]),
    ("more events than the recording holds", lambda h, ln: [h, _event_line(
        ln, events=lambda evs: evs * 500)]),
    ("another duration", lambda h, ln: [h, _event_line(ln, duration_s=6000.0)]),
    ("a theme with a newline", lambda h, ln: [h, _event_line(
        ln, events=lambda evs: [{**evs[0], "theme": "T01\nT02"}])]),
    ("an event of another file", lambda h, ln: [h, _event_line(
        ln, events=lambda evs: [{**evs[0], "file": "other.wav"}])]),
    ("100,000-deep nesting", lambda h, ln: [h, ln[:-1] + ', "x": ' + "[" * 100_000
                                           + "]" * 100_000 + "}"]),
    ("random bytes in a line", lambda h, ln: [h, '{"file": "REC", ' + "\x00\xff" * 50]),
])
def test_a_journal_line_that_songnet_did_not_write_is_ignored(tmp_path, capfd, song, name,
                                                              lines):
    args, clean, journal, text = _journal_case(tmp_path, song, capfd)
    head, line = text.splitlines()
    body = "\n".join(lines(head, line)).replace('"REC"', '"' + str(tmp_path / "rec.wav") + '"')
    journal.write_text(body + "\n", encoding="utf-8", errors="surrogateescape")
    (tmp_path / "out.csv").unlink()
    rc, _, err = run(capfd, *args)
    assert rc == 0 and "Traceback" not in err, err
    warnings = [w for w in err.splitlines() if w.startswith("warning: ")]
    assert len(warnings) == 1 and str(journal) in warnings[0], err
    assert (tmp_path / "out.csv").read_text() == clean  # classified again, the same


@pytest.mark.parametrize(("name", "needle"), [
    ("random bytes", "not a songnet resume journal"),
    ("a [] header", "not a songnet resume journal"),
    ("100,000-deep nesting", "not a songnet resume journal"),
    ("a folder", "folder"),
    ("a FIFO", "FIFO"),
    ("a link to the recording", "symbolic link"),
    ("the recording itself", "also an input"),
    ("other params", "other params"),
])
def test_a_journal_that_is_not_songnets_is_refused(tmp_path, capfd, song, name, needle):
    args, _, journal, text = _journal_case(tmp_path, song, capfd)
    journal.unlink()
    rec = tmp_path / "rec.wav"
    if name == "random bytes":
        journal.write_bytes(np.random.default_rng(0).bytes(10_000))
    elif name == "a [] header":
        journal.write_text("[]\n" + text.splitlines()[1] + "\n")
    elif name == "100,000-deep nesting":
        journal.write_text("[" * 100_000 + "]" * 100_000 + "\n")
    elif name == "a folder":
        journal.mkdir()
    elif name == "a FIFO":
        os.mkfifo(journal)
    elif name == "a link to the recording":
        journal.symlink_to(rec)
    elif name == "the recording itself":
        os.link(rec, journal)
    else:
        journal.write_text(text.replace('"hop_s": 0.5', '"hop_s": 0.25'))
    (tmp_path / "out.csv").unlink()
    before = snapshot(tmp_path) if name != "a FIFO" else None
    if name == "a FIFO":  # in a child, so that a regression hangs no test run
        proc = subprocess.run([sys.executable, "-m", "songnet", *args], capture_output=True,
                              text=True, timeout=300, check=False, cwd=tmp_path)
        rc, err = proc.returncode, proc.stderr
    else:
        rc, _, err = run(capfd, *args)
    one_error(rc, err, str(journal), needle)
    assert not (tmp_path / "out.csv").exists()
    if before is not None:
        assert snapshot(tmp_path) == before  # the recording untouched


def test_a_journal_passes_over_other_recordings_and_is_never_an_input(tmp_path):
    import json

    from songnet.core.journal import Journal

    rec = wav(tmp_path / "a.wav", noise())
    st = rec.stat()
    path = tmp_path / "j.jsonl"
    Journal(path, key={"k": 1}, decode=dict)
    with path.open("a") as fh:
        for file in ("other.wav", str(rec)):
            fh.write(json.dumps({"file": file, "size": st.st_size,
                                 "mtime_ns": st.st_mtime_ns}) + "\n")
    seen = []
    journal = Journal(path, key={"k": 1}, decode=lambda d: seen.append(d) or d["file"],
                      files=[str(rec)])
    assert journal.done(str(rec)) == str(rec) and [d["file"] for d in seen] == [str(rec)]
    with pytest.raises(SongnetError, match="also an input"):
        Journal(rec, key={"k": 1}, decode=dict, files=[str(rec)])


def test_a_discover_journal_song_is_checked():
    from songnet.discover.songs import SongFound

    good = {"source": "a.wav", "start_s": 1.0, "end_s": 2.0, "p_song": 0.9,
            "notes": [[1.0, 2.0, 3.0, 4.0]], "trill_interval_s": 0.07,
            "trill_start_hz": 4000.0, "trill_end_hz": 3000.0, "trill_count": 8,
            "description": "2 notes, trill", "found_by": "network"}
    assert SongFound.from_dict(good).as_dict() == good
    for bad in ({"start_s": "1"}, {"end_s": 0.5}, {"notes": [[1.0]]}, {"trill_count": 1e9},
                {"description": "a\nb"}, {"found_by": "me"}, {"p_song": float("nan")}):
        with pytest.raises(SongnetError):
            SongFound.from_dict({**good, **bad})


def test_hostile_journals_stay_in_bounded_memory(tmp_path, song):
    """One line of 500,000 events (some 170 MB) for a 6-s recording, and 200,000 lines of
    other recordings: each is passed over, in no more memory than the run without a
    journal takes, and the output is the clean run's."""
    import json

    rec = tmp_path / "rec.wav"
    rec.write_bytes(song.read_bytes())
    args = ["classify", "rec.wav", "-o", "out.csv", "--format", "csv", "--resume", "-q"]
    rc, base, err = _peak_mb(args, tmp_path)
    assert rc == 0, err
    clean = (tmp_path / "out.csv").read_text()
    journal = tmp_path / "out.csv.journal.jsonl"
    head, line = journal.read_text().splitlines()
    event = json.dumps(json.loads(line)["events"][0])
    st = rec.stat()
    start = (f'{{"file": "rec.wav", "size": {st.st_size}, "mtime_ns": {st.st_mtime_ns}, '
             '"duration_s": 6.0, "events": [')
    with journal.open("w") as fh:  # one line, 500,000 events
        fh.write(head + "\n" + start)
        chunk = ", ".join([event] * 10_000)
        fh.write(", ".join([chunk] * 50) + "]}\n")
    assert journal.stat().st_size > 100e6
    (tmp_path / "out.csv").unlink()
    rc, peak, err = _peak_mb(args, tmp_path)
    assert rc == 0 and "1 song" in err and "500000" not in err, err
    assert (tmp_path / "out.csv").read_text() == clean
    assert peak < base + 64, (peak, base)
    with journal.open("w") as fh:  # 200,000 lines of other recordings
        fh.write(head + "\n")
        fh.writelines(f'{{"file": "elsewhere/{i}.wav", "size": 1, "mtime_ns": 1, '
                      f'"duration_s": 1.0, "events": [{event}]}}\n' for i in range(200_000))
    (tmp_path / "out.csv").unlink()
    rc, peak, err = _peak_mb(args, tmp_path)
    assert rc == 0 and "Traceback" not in err, err
    assert (tmp_path / "out.csv").read_text() == clean
    assert peak < base + 64, (peak, base)
