"""The README's result tables are written from the pipeline's outputs (docs/tables.py)."""

from __future__ import annotations

import importlib.util

from conftest import REPO


def _tables():
    spec = importlib.util.spec_from_file_location("readme_tables", REPO / "docs" / "tables.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_readme_tables_match_the_outputs_in_experiments():
    tables = _tables()
    text = (REPO / "README.md").read_text(encoding="utf-8")
    for name in tables.TABLES:
        assert f"<!-- table:{name} -->" in text, name
    assert tables.refresh(text) == text, "run .venv/bin/python docs/tables.py after dvc repro"


def test_a_stale_table_is_rewritten():
    tables = _tables()
    stale = "x\n<!-- table:persistence -->\n| old |\n<!-- /table -->\ny"
    fresh = tables.refresh(stale)
    assert "| old |" not in fresh and fresh.startswith("x\n") and fresh.endswith("\ny")
    assert "| 1966-L1 | L1 |" in fresh
