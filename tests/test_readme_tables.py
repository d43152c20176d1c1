"""The README's and the docs' result tables are written from the pipeline's outputs
(docs/tables.py)."""

from __future__ import annotations

import importlib.util
import re

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
    stale = "x\n<!-- table:resynth_events -->\n| old |\n<!-- /table -->\ny"
    fresh = tables.refresh(stale)
    assert "| old |" not in fresh and fresh.startswith("x\n") and fresh.endswith("\ny")
    assert "| data/resynth/1966-L1.wav |" in fresh


def test_the_docs_tables_are_generated_and_every_include_has_one(tmp_path):
    tables = _tables()
    assert tables.write_generated(tmp_path) == {}
    for name, (_, source, command) in tables.GENERATED.items():
        text = (tmp_path / f"{name}.md").read_text(encoding="utf-8")
        assert f"`{source}`" in text and command in text and "\n| " in text, name
    pages = [*(REPO / "docs").glob("*.md"), *(REPO / "docs" / "guide").glob("*.md")]
    included = {m for p in pages for m in re.findall(r"_generated/(\w+)\.md",
                                                     p.read_text(encoding="utf-8"))}
    assert included and included <= set(tables.GENERATED), included - set(tables.GENERATED)
