"""The command line as a user meets it: help, version, one-line errors, exit status 2."""

from __future__ import annotations

import subprocess
import sys

import pytest

from songnet import __version__
from songnet.cli import COMMANDS, cli, main


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "songnet", *args],
                          capture_output=True, text=True, timeout=120)


def test_help_lists_every_present_command():
    proc = run("--help")
    assert proc.returncode == 0
    listed = cli.list_commands(None)  # type: ignore[arg-type]
    for name in listed:
        assert name in proc.stdout
        assert COMMANDS[name][1][:30] in proc.stdout


def test_version():
    proc = run("--version")
    assert proc.returncode == 0
    assert __version__ in proc.stdout


def test_unknown_command_is_one_line_error(capsys):
    assert main(["no-such-stage"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ")


def test_every_command_is_listed():
    assert cli.list_commands(None) == list(COMMANDS)  # type: ignore[arg-type]


@pytest.mark.parametrize("name", list(COMMANDS))
def test_each_command_has_help(name):
    proc = run(name, "--help")
    assert proc.returncode == 0, proc.stderr
    assert "Usage:" in proc.stdout


def test_old_output_spelling_warns_and_still_works(tmp_path, capsys, repo_root):
    sketch = repo_root / "data" / "1966" / "1966-T01v.csv"
    out = tmp_path / "song.wav"
    assert main(["resynthesize", str(sketch), "--output", str(out), "-q"]) == 0
    assert out.is_file()
    assert "--output is deprecated" in capsys.readouterr().err


def test_removed_option_is_a_one_line_error_naming_the_new_one(capsys):
    assert main(["evaluate", "--metrics", "m.json"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--metrics was removed" in err[0] and "-o/--out" in err[0]


@pytest.mark.parametrize("name", ["synthesize", "features", "train", "evaluate", "release",
                                  "resynthesize", "validate", "embed", "project", "classify",
                                  "sing"])
def test_every_stage_spells_its_output_o_out(name):
    command = cli.get_command(None, name)  # type: ignore[arg-type]
    out = [p for p in command.params if p.name == "out"]
    assert len(out) == 1 and out[0].opts == ["-o", "--out"]


@pytest.mark.parametrize("name", ["features", "train", "evaluate", "validate", "embed",
                                  "classify"])
def test_every_torch_stage_takes_device(name, capsys):
    assert main([name, "--device", "tpu"]) == 2
    assert "'--device': 'tpu' is not one of" in capsys.readouterr().err


# --- the base install: classify only -------------------------------------------------

_HIDE_EXTRAS = ("import sys\nfrom songnet.cli import PIPELINE_MODULES, main\n"
                "for m in PIPELINE_MODULES:\n    sys.modules[m] = None  # as if not installed\n"
                "sys.exit(main(sys.argv[1:]))")


def run_base(*args: str) -> subprocess.CompletedProcess:
    """songnet as in an environment without the pipeline extras."""
    return subprocess.run([sys.executable, "-c", _HIDE_EXTRAS, *args], capture_output=True,
                          text=True, timeout=120)


@pytest.mark.parametrize("args", [["train"], ["themes", "--help"], ["export", "-o", "x.onnx"],
                                  ["synthesize", "-o", "x"]], ids=lambda a: a[0])
def test_without_the_extras_other_commands_say_what_to_install(args):
    proc = run_base(*args)
    assert proc.returncode == 2
    assert proc.stderr == (f'error: songnet {args[0]} needs the pipeline extras: '
                           'pip install "songnet[pipeline]"\n')


def test_without_the_extras_help_and_classify_work(tmp_path):
    proc = run_base("--help")
    assert proc.returncode == 0 and "classify" in proc.stdout
    import numpy as np
    import soundfile as sf
    wav = tmp_path / "clip.wav"
    sf.write(wav, 0.01 * np.random.default_rng(0).standard_normal(22050 * 4), 22050)
    proc = run_base("classify", str(wav), "-q")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == [f"# model: {shipped_model_id()}",
                                        "no chingolo songs found"]
    proc = run_base("classify", str(wav), "--model", "model.pt", "-q")
    assert proc.returncode == 2 and 'pip install "songnet[pipeline]"' in proc.stderr


def shipped_model_id() -> str:
    """The id every output of the shipped model records (:func:`model_id`)."""
    from songnet.model.identity import model_id
    from songnet.model.runtime import load_onnx
    m = load_onnx(None)
    return model_id(m.path.name, m.meta, m.checkpoint_sha256)
