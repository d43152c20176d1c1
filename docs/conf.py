"""Sphinx configuration of the songnet documentation (``make docs``)."""

from __future__ import annotations

import importlib
import os
import pkgutil
import re
import sys
from datetime import date
from pathlib import Path

DOCS = Path(__file__).resolve().parent
sys.path.insert(0, str(DOCS))  # docs/tables.py, run below

import tables  # noqa: E402  (docs/tables.py: the generated tables the pages include)
from sphinx.util import logging  # noqa: E402

import songnet  # noqa: E402

logger = logging.getLogger("songnet.docs")

project = "songnet"
author = "the songnet authors"
copyright = f"{date.today().year}, {author}"
release = songnet.__version__
version = ".".join(release.split(".")[:2])

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.intersphinx",
    "sphinx.ext.mathjax",
    "sphinx.ext.viewcode",
    "numpydoc",
    "myst_nb",  # Markdown pages (myst-parser) and the executed notebook
    "sphinx_click",
]

source_suffix = {".rst": "restructuredtext", ".md": "myst-nb", ".ipynb": "myst-nb"}
root_doc = "index"
exclude_patterns = ["_build", "README.md", "Thumbs.db", ".DS_Store", "jupyter_execute",
                    "_generated/*.md"]
templates_path = ["_templates"]

# Markdown (MyST): $…$ maths, ::: fences, anchors for headings down to ###
myst_enable_extensions = ["colon_fence", "dollarmath", "deflist"]
myst_heading_anchors = 3

# the notebook is executed by every build (its saved outputs are for readers of the file)
nb_execution_mode = "force"
nb_execution_timeout = 180
nb_execution_raise_on_error = True
nb_merge_streams = True

# API reference: one page per module, generated from the docstrings
autosummary_generate = True
autosummary_imported_members = False
autodoc_default_options = {"members": True, "show-inheritance": True}
autodoc_typehints = "none"  # numpydoc's Parameters sections carry the types
autodoc_member_order = "bysource"

# numpydoc as librosa configures it: no per-class member tables (autosummary lists them),
# no validation checks beyond the docstrings parsing
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_xref_param_type = False

nitpicky = True
# names in signatures and docstrings that point into libraries without an inventory here,
# or type-alias spellings Python's typing module does not document
nitpick_ignore_regex = [
    (r"py:.*", r"(torch|onnxruntime|numba|umap|soundfile|click|tqdm|pandas|np|numpy\.typing|"
               r"npt|dask|distributed|matplotlib|plt)\..*"),
    (r"py:.*", r"(optional|default.*|array_like|array-like|callable|path-like|file-like)"),
]

intersphinx_mapping = {
    "python": ("https://docs.python.org/3", None),
}
intersphinx_disabled_reftypes = ["*"]
if os.environ.get("SONGNET_DOCS_OFFLINE", "1") == "1":
    intersphinx_mapping = {}  # the build runs offline (CI included): no inventories fetched

html_theme = "pydata_sphinx_theme"
html_title = f"songnet {release}"
html_static_path = []
html_theme_options = {
    "navigation_depth": 3,
    "show_toc_level": 2,
    "secondary_sidebar_items": ["page-toc"],
    "footer_start": ["copyright"],
    "footer_end": ["sphinx-version"],
}
html_sidebars = {"changelog": [], "README": []}



def _lookup(path: str) -> bool:
    """Whether the dotted ``path`` names a module or something reached from one."""
    parts = path.split(".")
    for k in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:k]))
        except ImportError:
            continue
        for name in parts[k:]:
            fields = getattr(obj, "__dataclass_fields__", {}) or getattr(obj, "__annotations__", {})
            if not hasattr(obj, name) and name in fields:  # a field without a default
                return True
            if not hasattr(obj, name):
                return False
            obj = getattr(obj, name)
        return True
    return False


def _existing_undocumented(app, env, node, contnode):
    """A Python cross-reference to a name the API pages do not document (a module
    constant such as ``SR``, a private helper, a name of a sibling module) that still
    exists in the code is shown as code, unlinked; a name the code no longer has stays a
    broken reference (a warning, so an error with ``-W``)."""
    if node.get("refdomain") != "py":
        return None
    target = re.sub(r"\s+", "", node["reftarget"]).lstrip(".~")
    module, cls = node.get("py:module") or "", node.get("py:class") or ""
    candidates = [target]
    if module:
        if cls:
            candidates.append(f"{module}.{cls}.{target}")
        candidates.append(f"{module}.{target}")
        package = module if _is_package(module) else module.rpartition(".")[0]
        candidates += [f"{package}.{sub}.{target}" for sub in _submodules(package)]
    if any(_lookup(c) for c in candidates):
        return contnode
    return None


def _is_package(name: str) -> bool:
    try:
        return hasattr(importlib.import_module(name), "__path__")
    except ImportError:
        return False


def _submodules(package: str) -> list[str]:
    try:
        path = importlib.import_module(package).__path__
    except (ImportError, AttributeError):
        return []
    return [m.name for m in pkgutil.iter_modules(path)]


def _plain_help(app, ctx, lines: list[str]) -> None:
    """Click's help texts are plain text, not reStructuredText: escape the ``*``, ``|``
    and word-final ``_`` of ``DIR/T01/*.wav`` or ``soundscape_*`` so they print as
    written."""
    for i, line in enumerate(lines):
        if line.lstrip().startswith(".. "):  # a directive (an option's signature): as is
            continue
        parts = line.split("``")
        parts[::2] = [re.sub(r"(?<=\w)_(?!\w)", r"\\_", re.sub(r"(?<!\\)([*|])", r"\\\1", p))
                      for p in parts[::2]]
        lines[i] = "``".join(parts)


def _write_generated(app) -> None:
    """Write the results tables from ``experiments/`` before the pages are read; a table
    whose output is missing is a warning (an error with ``-W``): run ``dvc repro``."""
    for name, problem in tables.write_generated(DOCS / "_generated").items():
        logger.warning("results table %r not generated: %s", name, problem)


def setup(app):
    app.connect("builder-inited", _write_generated)
    app.connect("missing-reference", _existing_undocumented)
    for what in ("description", "options", "arguments", "epilog"):
        app.connect(f"sphinx-click-process-{what}", _plain_help)
