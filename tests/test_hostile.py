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
])
def test_bad_option_values(tmp_path, capfd, rec, args):
    args = [a.format(rec=rec, tmp=tmp_path) for a in args]
    rc, _, err = run(capfd, *args)
    one_error(rc, err)
    assert not list(tmp_path.glob("*.png")) and not list(tmp_path.glob("s.wav"))


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
    assert all(line.startswith(("error:", "failed:", "0 files", "no chingolo")) for line in
               err.splitlines() if line.strip()), err
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
