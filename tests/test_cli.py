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


@pytest.mark.parametrize("name", list(COMMANDS))
def test_each_present_command_has_help(name):
    if name not in cli.list_commands(None):  # type: ignore[arg-type]
        pytest.skip(f"stage {name} not built yet")
    proc = run(name, "--help")
    assert proc.returncode == 0, proc.stderr
    assert "Usage:" in proc.stdout
