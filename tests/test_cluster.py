"""Classify and synthesize on a real Dask LocalCluster (2 worker processes): the serial
run's events and bytes, a long recording split across workers, a killed worker, --resume."""

from __future__ import annotations

import itertools
import json
import os
import signal
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

pytest.importorskip("distributed")

from songnet.classify.backends import open_model
from songnet.classify.cluster import classify_on
from songnet.classify.params import ClassifyParams
from songnet.classify.ranges import events_of_parts, plan_ranges, score_range
from songnet.classify.windows import classify_file
from songnet.cli import main
from songnet.cli.cluster import connect, parse_scheduler
from songnet.core.audio import resample
from songnet.core.errors import SongnetError
from songnet.surrogates.fieldsim import plan_songs, render_recording
from songnet.surrogates.themes import load_catalog

SR = 44100
PARAMS = ClassifyParams(block_s=10.0, detect_threshold=0.2)  # short blocks: many per file


def songs(seconds: float, *, seed: int = 0) -> np.ndarray:
    """Model songs of the catalog's themes, one every 6 s, in field noise (15 dB SNR)."""
    rng = np.random.default_rng(seed)
    plan = plan_songs(load_catalog(), duration_s=seconds, interval_s=6.0, rng=rng)
    blocks, _ = render_recording(plan, duration_s=seconds, snr_db=15.0, rng=rng)
    return np.concatenate(list(blocks)).astype(np.float32)


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("archive")
    sf.write(d / "long.wav", songs(95.0), SR, subtype="PCM_16")
    short = resample(songs(12.0, seed=1), orig_sr=SR, sr=SR // 2)  # another rate
    sf.write(d / "short.wav", short, SR // 2, subtype="PCM_16")
    sf.write(d / "other.flac", songs(17.0, seed=2), SR)
    return d


@pytest.fixture(scope="module")
def params_file(tmp_path_factory) -> Path:
    import dataclasses

    import yaml
    path = tmp_path_factory.mktemp("params") / "params.yaml"
    path.write_text(yaml.safe_dump({"classify": dataclasses.asdict(PARAMS)}))
    return path


@pytest.fixture(scope="module")
def client():
    with connect("local:2") as c:
        yield c


@pytest.fixture(scope="module")
def model():
    return open_model(None)


def _same(a, b) -> bool:
    return len(a) == len(b) and all(
        x.file == y.file and x.start_s == y.start_s and x.end_s == y.end_s
        and x.theme == y.theme and abs(x.theme_confidence - y.theme_confidence) < 1e-6
        for x, y in zip(a, b, strict=True))


def test_ranges_joined_in_order_give_the_serial_events(folder, model):
    path = folder / "long.wav"
    serial, duration = classify_file(path, model=model, params=PARAMS)
    assert len(serial) >= 12
    for split_s in (10.0, 25.0, 1000.0):
        ranges = plan_ranges(duration, fp=model.fp, params=PARAMS, split_s=split_s)
        parts = [score_range(path, r, model=model, params=PARAMS) for r in ranges]
        events, d = events_of_parts(parts, model=model, params=PARAMS, source=str(path))
        assert d == duration and _same(serial, events), split_s


def test_plan_ranges_cover_the_recording_in_order(model):
    ranges = plan_ranges(95.0, fp=model.fp, params=PARAMS, split_s=20.0)
    assert ranges[0][0] == 0 and ranges[-1][1] is None and len(ranges) > 2
    assert all(a[1] == b[0] for a, b in itertools.pairwise(ranges))
    assert plan_ranges(5.0, fp=model.fp, params=PARAMS, split_s=20.0) == [(0, None)]


def test_scheduler_local_gives_the_serial_events(capsys, folder, params_file):
    args = ["classify", str(folder), "--params", str(params_file), "--format", "json", "-q"]
    assert main(args) == 0
    serial = capsys.readouterr().out
    assert main([*args, "--scheduler", "local:2", "--split-s", "20"]) == 0
    assert json.loads(capsys.readouterr().out) == json.loads(serial)


def test_a_bad_file_is_its_error_line_and_the_others_continue(capsys, folder, params_file,
                                                             tmp_path):
    bad = tmp_path / "notes.wav"
    bad.write_text("not audio\n")
    rc = main(["classify", str(folder / "short.wav"), str(bad), "--params", str(params_file),
               "--format", "csv", "-q", "--scheduler", "local:2"])
    out, err = capsys.readouterr()
    assert rc == 2 and f"error: {bad}:" in err and "short.wav" in out


def test_a_killed_worker_still_gives_the_full_result(client, folder, model):
    files = [str(folder / n) for n in ("long.wav", "short.wav", "other.flac")]
    serial = {f: classify_file(f, model=model, params=PARAMS)[0] for f in files}
    lengths = {f: sf.info(f).duration for f in files}
    pids = list(client.run(os.getpid).values())
    first = [True]

    def kill(_: float) -> None:  # after the first range is in, one worker dies
        if first[0]:
            first[0] = False
            os.kill(pids[0], signal.SIGKILL)

    results = {r.file: r for r in classify_on(client, files, model=model, model_path=None,
                                              params=PARAMS, device="auto", threads=1,
                                              split_s=10.0, lengths=lengths, progress=kill)}
    assert not first[0]
    for f in files:
        assert results[f].ok, results[f].error
        assert _same(serial[f], list(results[f].events)), f


def test_resume_after_an_interruption_gives_the_same_output(capsys, folder, params_file,
                                                            tmp_path, monkeypatch):
    args = ["classify", str(folder), "--params", str(params_file), "--format", "csv", "-q"]
    whole = tmp_path / "whole.csv"
    assert main([*args, "-o", str(whole)]) == 0
    out = tmp_path / "resumed.csv"
    import songnet.cli.classify as cli

    calls = [0]
    real = cli.classify_file

    def interrupted(path, **kw):  # Ctrl-C on the second recording
        calls[0] += 1
        if calls[0] == 2:
            raise KeyboardInterrupt
        return real(path, **kw)

    monkeypatch.setattr(cli, "classify_file", interrupted)
    assert main([*args, "-o", str(out), "--resume"]) not in (0, 2)  # "error: aborted"
    journal = tmp_path / "resumed.csv.journal.jsonl"
    assert len(journal.read_text().splitlines()) == 2 and not out.exists()  # key + 1 file
    seen: list[str] = []
    monkeypatch.setattr(cli, "classify_file", lambda path, **kw: seen.append(path)
                        or real(path, **kw))
    assert main([*args, "-o", str(out), "--resume", "--scheduler", "local:2"]) == 0
    assert out.read_text() == whole.read_text()
    # a recording that changed is redone; the unchanged ones come from the journal
    capsys.readouterr()
    (folder / "short.wav").touch()
    os.utime(folder / "short.wav", ns=(1, 1))
    assert main([*args, "-o", str(out), "--resume"]) == 0
    assert seen == [str(folder / "short.wav")]
    assert out.read_text() == whole.read_text()


def test_a_journal_of_other_params_is_refused(tmp_path):
    from songnet.classify.journal import Journal
    Journal(tmp_path / "j.jsonl", key={"a": 1})
    with pytest.raises(SongnetError, match="other params"):
        Journal(tmp_path / "j.jsonl", key={"a": 2})


def test_scheduler_names_are_checked():
    assert parse_scheduler("local:1") == 1
    assert parse_scheduler("tcp://10.0.0.1:8786") == "tcp://10.0.0.1:8786"
    with pytest.raises(SongnetError, match="local:N"):
        parse_scheduler("local:zero")


def test_missing_dask_names_the_extra(monkeypatch):
    import builtins
    real_import = builtins.__import__

    def no_dask(name, *a, **kw):
        if name.split(".")[0] in ("distributed", "dask"):
            raise ImportError(name)
        return real_import(name, *a, **kw)

    monkeypatch.setattr(builtins, "__import__", no_dask)
    with pytest.raises(SongnetError, match=r"songnet\[cluster\]"), connect("local:1"):
        pass


def test_synthesize_on_the_cluster_gives_the_same_bytes(client):
    import dataclasses

    from songnet.surrogates.synthesize import synthesize
    from songnet.surrogates.synthesize_params import SynthesizeParams
    from songnet.surrogates.themes import load_catalog
    themes = load_catalog(None)[:2]
    tiny = SynthesizeParams(train_birds=1, train_songs_per_bird=2, val_birds=1,
                            val_songs_per_bird=1, test_birds=1, test_songs_per_bird=1,
                            stress_birds=1, stress_songs_per_bird=1, clip_s=2.6, workers=1)
    serial = [(c.path, c.samples.tobytes()) for c in synthesize(themes, params=tiny)]
    on = [(c.path, c.samples.tobytes())
          for c in synthesize(themes, params=dataclasses.replace(tiny, workers=2),
                              executor=client)]
    assert on == serial
