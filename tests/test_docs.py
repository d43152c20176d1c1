"""The README stays short and inside the clone; the docs pages it links to exist."""

from __future__ import annotations

import re

import pytest
from conftest import REPO

PAGES = sorted(p for p in (REPO / "docs").rglob("*.md")
               if not {"_build", "_generated", "_api", "jupyter_execute"} & set(p.parts))


def test_the_readme_is_short():
    n = len((REPO / "README.md").read_text(encoding="utf-8").splitlines())
    assert n <= 200, f"README.md has {n} lines; move detail to a docs page"


@pytest.mark.parametrize("path", [REPO / "README.md", *PAGES], ids=lambda p: p.name)
def test_nothing_a_user_reads_points_outside_the_clone(path):
    text = path.read_text(encoding="utf-8")
    assert "../shared" not in text and "DESIGN.md" not in text


def test_every_readme_link_into_the_repository_exists():
    text = (REPO / "README.md").read_text(encoding="utf-8")
    links = [t for t in re.findall(r"\]\(([^)#]+)(?:#[^)]*)?\)", text)
             if not t.startswith("http")]
    assert links
    missing = [t for t in links if not (REPO / t).exists()]
    assert not missing, missing
