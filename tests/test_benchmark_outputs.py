"""Benchmarks read inputs and write only under ``benchmarks/out/`` by default."""

from __future__ import annotations

import ast

import pytest
from conftest import REPO

OUTPUT_OPTIONS = {"-o", "--out", "--output", "--figure", "--csv", "--json", "--plot"}


def output_defaults(path) -> list[tuple[str, object]]:
    """``(option, default)`` of every output option a benchmark's argparse declares (the
    default's literal text, None when it has none)."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if not (isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "add_argument"):
            continue
        names = {a.value for a in node.args if isinstance(a, ast.Constant)}
        if not names & OUTPUT_OPTIONS:
            continue
        default = next((k.value for k in node.keywords if k.arg == "default"), None)
        text = None if default is None else ast.unparse(default)
        found.append((max(names, key=len), None if text == "None" else text))
    return found


def test_the_scanner_finds_an_output_default(tmp_path):
    script = tmp_path / "b.py"
    script.write_text('ap.add_argument("-o", "--out", default=Path("docs/x.png"))\n'
                      'ap.add_argument("--seed", default=3)\n')
    assert output_defaults(script) == [("--out", "Path('docs/x.png')")]


@pytest.mark.parametrize("path", sorted((REPO / "benchmarks").glob("*.py")),
                         ids=lambda p: p.name)
def test_a_benchmark_writes_under_its_own_folder_by_default(path):
    for option, default in output_defaults(path):
        assert default is None or "benchmarks/out" in default, \
            f"{path.name} {option} defaults to {default}: write under benchmarks/out/"
