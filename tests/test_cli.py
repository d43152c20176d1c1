"""The command line as a user meets it: help, version, one-line errors, exit status 2."""

from __future__ import annotations

import functools
import importlib
import subprocess
import sys
from pathlib import Path

import click
import pytest

from songnet import __version__
from songnet.cli import COMMANDS, cli, main
from songnet.cli.common import (
    MODEL_DEFAULTS,
    PIPELINE_MODEL,
    FiniteFloatRange,
    common_options,
    load_optional_params,
)


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
    catalog = tmp_path / "catalog"
    assert main(["themes", "--catalog-out", str(catalog), "--format", "json", "-q"]) == 0
    assert (catalog / "T01.yaml").is_file()
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1 and "--catalog-out is deprecated" in err[0] and "-o/--out" in err[0]


def test_removed_option_is_a_one_line_error_naming_the_new_one(capsys):
    assert main(["evaluate", "--metrics", "m.json"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--metrics was removed" in err[0] and "-o/--out" in err[0]


# --- the command contract (songnet.cli.common) -------------------------------------------
# Every command and subcommand registered in COMMANDS keeps it. The tests below walk them
# all; a command that genuinely lacks an item is listed in an exemption table with the
# reason, so a new command that forgets one fails here.

# --model: commands that read no trained model.
NO_MODEL = {
    "themes": "lists, copies or learns the catalog: no network",
    "themes learn": "fits songs to the syrinx model: no network",
    "sing": "sings a theme through the syrinx model: no network",
    "synthesize": "sings the surrogate clips: no network",
    "features": "computes CQT images: no network",
    "train": "writes a model (-o), reads none",
    "resynthesize": "fits the syrinx model to 1966 songs: no network",
    "validate": "trains one network per fold itself",
    "project": "reads the embeddings `embed` wrote, not the model",
    "compare": "trains every pair itself",
    "review": "reads classify's events or a discover folder, not the model",
}
# --model of a command a user runs: the shipped checkpoint (default.pt) where the command
# needs torch, the shipped ONNX export (default.onnx) otherwise.
NEEDS_TORCH = {
    "explain": "Grad-CAM needs the network's gradients",
    "export": "exports a checkpoint, which only torch reads",
}
# --device: commands that run neither torch nor a torch CQT.
NO_DEVICE = {
    "themes": "--plot and the learn report draw librosa's CQT (NumPy, CPU only)",
    "themes learn": "the pitch tracker and the learn report run in NumPy (CPU only)",
    "sing": "the syrinx model runs in NumPy/numba",
    "synthesize": "the syrinx model runs in NumPy/numba",
    "resynthesize": "the syrinx model runs in NumPy/numba",
    "project": "UMAP and PCA on the embeddings (NumPy, CPU only)",
    "review": "draws its images with the NumPy CQT (songnet.features.npcqt, CPU only)",
    "export": "ONNX export traces the network on the CPU, wherever torch could run",
    "release": "exports the ONNX model on the CPU, as export does",
}
# --params: commands that read no params section.
NO_PARAMS = {
    "export": "the checkpoint carries its feature params",
    "release": "the card comes from the checkpoint, metrics.json and features.json",
    "review": "draws with the default features; reads events or a discover folder",
}
# An int option without an upper bound in its type.
OPEN_ABOVE = {
    ("classify", "--workers"): "capped at run time by the CPUs and memory (check_workers)",
    ("features", "--workers"): "capped at run time by the CPUs (check_workers)",
    ("themes discover", "--min-songs"): "any count is meaningful: smaller groups go to "
                                        "_unsorted/",
}


@functools.cache
def commands() -> dict[str, click.Command]:
    """Every command and subcommand of COMMANDS, by its full name (``themes learn``)."""
    found: dict[str, click.Command] = {}
    todo = [(name, importlib.import_module(module).command)
            for name, (module, _) in COMMANDS.items()]
    while todo:
        name, command = todo.pop(0)
        found[name] = command
        if isinstance(command, click.Group):
            todo += [(f"{name} {sub}", command.get_command(None, sub))  # type: ignore[arg-type]
                     for sub in command.list_commands(None)]  # type: ignore[arg-type]
    return found


def option(command: click.Command, name: str) -> click.Parameter | None:
    return next((p for p in command.params if p.name == name), None)


def stage_models() -> dict[str, str]:
    """The ``--model`` each DVC stage passes its command."""

    from tests.test_layout import _stages

    found = {}
    for stage in _stages().values():
        words = stage["cmd"].split()
        if "--model" in words:
            found[words[1]] = words[words.index("--model") + 1]
    return found


def test_the_walk_finds_every_command_and_subcommand():
    assert {"themes learn", "themes discover", "explain", "compare"} <= set(commands())
    for table in (NO_MODEL, NEEDS_TORCH, NO_DEVICE, NO_PARAMS):
        assert set(table) <= set(commands())  # no exemption outlives its command


def test_every_model_option_follows_the_one_default_rule():
    """A command a DVC stage runs on the pipeline's own model defaults to it; a command a
    user runs defaults to the shipped model (default.pt where it needs torch)."""
    staged = stage_models()
    bad = []
    for name, command in commands().items():
        model = option(command, "model_path")
        if name in NO_MODEL:
            bad += [f"{name}: has --model but is exempt"] if model is not None else []
            continue
        if model is None or model.opts != ["--model"]:
            bad.append(f"{name}: no --model")
            continue
        kind = ("pipeline" if staged.get(name) == PIPELINE_MODEL.as_posix()
                else "default.pt" if name in NEEDS_TORCH else "default.onnx")
        value, words = MODEL_DEFAULTS[kind]
        if model.default != value or not model.help.endswith(f"[default: {words}]"):
            bad.append(f"{name}: --model default {model.default!r} ({model.help!r}), "
                       f"expected {kind}")
        if name in staged and staged[name] not in words:
            bad.append(f"{name}: its DVC stage passes --model {staged[name]}, not its default")
    assert not bad, bad


def test_every_command_that_runs_torch_or_the_cqt_takes_device(capsys):
    bad = []
    for name, command in commands().items():
        device = option(command, "device")
        if name in NO_DEVICE:
            bad += [f"{name}: has --device but is exempt"] if device is not None else []
            continue
        if device is None or device.opts != ["--device"]:
            bad.append(f"{name}: no --device")
            continue
        capsys.readouterr()
        if main([*name.split(), "--device", "tpu"]) != 2 or \
                "'--device': 'tpu' is not one of" not in capsys.readouterr().err:
            bad.append(f"{name}: --device tpu is not refused")
    assert not bad, bad


def test_every_command_spells_its_output_o_out():
    bad = []
    for name, command in commands().items():
        out = option(command, "out")
        if out is None or out.opts != ["-o", "--out"]:
            bad.append(f"{name}: no -o/--out")
        visible = [o for p in command.params if isinstance(p, click.Option) and not p.hidden
                   for o in p.opts]
        bad += [f"{name}: {o} (an output is -o/--out)" for o in visible
                if o == "--output" or (o.endswith("-out") and o != "--out")]
    assert not bad, bad


def test_every_command_that_reads_params_takes_params():
    bad = []
    for name, command in commands().items():
        opts = {o for p in command.params for o in p.opts}
        if not {"-q", "--quiet", "-v", "--verbose"} <= opts:
            bad.append(f"{name}: no -q/--quiet or -v/--verbose")
        params = option(command, "params_file")
        if name in NO_PARAMS:
            bad += [f"{name}: has --params but is exempt"] if params is not None else []
        elif params is None or params.opts != ["--params"]:
            bad.append(f"{name}: no --params")
    assert not bad, bad


def test_every_number_option_is_bounded_and_finite():
    """A float option refuses NaN and infinity (click's own FloatRange lets them through:
    NaN compares as in range, inf as unbounded) and has a bound; an int option has a
    lower bound and an upper one (or one checked at run time)."""
    bad = []
    for name, command in commands().items():
        for p in command.params:
            where = f"{name} {p.opts[-1]}"
            if isinstance(p.type, click.types.FloatParamType):
                if not isinstance(p.type, FiniteFloatRange) or \
                        (p.type.min is None and p.type.max is None):
                    bad.append(f"{where}: not a bounded FiniteFloatRange")
            elif isinstance(p.type, click.types.IntParamType):
                if not isinstance(p.type, click.IntRange) or p.type.min is None or \
                        (p.type.max is None and (name, p.opts[-1]) not in OPEN_ABOVE):
                    bad.append(f"{where}: not a bounded IntRange")
    assert not bad, bad


def test_optional_params_follow_one_policy(tmp_path, monkeypatch):
    """The section when the file has it (only the keys it changes); with --params named,
    file and section required; otherwise the defaults."""
    from songnet.classify.params import ClassifyParams
    from songnet.core.errors import ParamsError

    @click.command()
    @common_options
    def probe(params_file, quiet):
        return load_optional_params(params_file, "classify", ClassifyParams)

    def load(*args):
        return probe.main(list(args), standalone_mode=False)

    monkeypatch.chdir(tmp_path)
    assert load() == ClassifyParams()  # no params.yaml
    Path("params.yaml").write_text("train:\n  epochs: 3\n")
    assert load() == ClassifyParams()  # no [classify]
    Path("params.yaml").write_text("classify:\n  detect_threshold: 0.1\n")
    assert load() == ClassifyParams(detect_threshold=0.1)
    with pytest.raises(ParamsError, match="not found"):
        load("--params", "missing.yaml")
    Path("other.yaml").write_text("train:\n  epochs: 3\n")
    with pytest.raises(ParamsError, match=r"missing section \[classify\]"):
        load("--params", "other.yaml")


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
