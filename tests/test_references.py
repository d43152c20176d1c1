"""Every ``songnet.x.y`` the params file and the documents name exists in the code."""

from __future__ import annotations

import importlib
import re
import types

import pytest
from conftest import REPO

# every page of the docs site written by hand (not what the build generates), and the
# data folders' READMEs the site includes
GENERATED = {"_build", "_api", "_generated", "jupyter_execute"}
DOCUMENTS = ["params.yaml", "README.md", "data/1966/README.md", "data/2020/README.md", *sorted(
    str(p.relative_to(REPO)) for p in (REPO / "docs").rglob("*")
    if p.suffix in (".md", ".rst") and not GENERATED & set(p.relative_to(REPO).parts))]
REFERENCE = re.compile(r"(?<![\w/.-])songnet(?:\.[A-Za-z_][A-Za-z0-9_]*)+")
FILE_SUFFIXES = (".py", ".yaml", ".yml", ".onnx", ".pt", ".json", ".csv", ".png", ".md")


def resolves(ref: str) -> bool:
    """Whether ``ref`` names a module, or an attribute reached from the longest module
    prefix of it; a class or function must be named in the module that defines it (not
    one that only imports it, which a split can leave behind), unless the module exports
    it on purpose (its ``__all__``: a package's public names)."""
    parts = ref.split(".")
    for k in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:k]))
        except ModuleNotFoundError:
            continue
        module, exported = obj.__name__, getattr(obj, "__all__", ())
        try:
            for i, name in enumerate(parts[k:]):
                obj = getattr(obj, name)
                if i == 0 and isinstance(obj, type | types.FunctionType) \
                        and obj.__module__ != module and name not in exported:
                    return False
        except AttributeError:
            return False
        return True
    return False


def references(text: str) -> set[str]:
    return {m.group(0) for m in REFERENCE.finditer(text)
            if not m.group(0).endswith(FILE_SUFFIXES)}


def test_the_resolver_tells_a_real_name_from_a_stale_one():
    assert resolves("songnet.classify.params.ClassifyParams")
    assert not resolves("songnet.train.TrainParams")  # a module that moved
    assert not resolves("songnet.classify.windows.NoSuchParams")
    assert not resolves("songnet.classify.windows.ClassifyParams")  # imported there only
    assert references("see `songnet.core.notes` and songnet/core/x.py or songnet.yaml") == \
        {"songnet.core.notes"}


@pytest.mark.parametrize("document", DOCUMENTS)
def test_every_songnet_name_in_a_document_exists(document):
    text = (REPO / document).read_text(encoding="utf-8")
    stale = sorted(ref for ref in references(text) if not resolves(ref))
    assert not stale, f"{document} names what the code no longer has: {stale}"
