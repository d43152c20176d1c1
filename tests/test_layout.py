"""The package layout is the data flow: no lower layer imports a higher one, and every DVC
stage lists exactly the songnet/ code its command imports."""

from __future__ import annotations

import ast
import importlib
import re
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "songnet"

# Lowest first; a module may import its own layer and the layers before it.
LAYERS = ("core", "song", "synth", "surrogates", "features", "model", "resynth", "latent",
          "classify", "discover", "review", "cli")
# Imported with every command but never changing what a stage writes: the package's
# version string and the command group (option parsing, error printing).
NOT_STAGE_CODE = {"songnet/__init__.py", "songnet/cli/__init__.py"}


def _module_file(name: str) -> Path | None:
    rel = Path(*name.split("."))
    for candidate in (ROOT / rel.with_suffix(".py"), ROOT / rel / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def _imports(path: Path) -> set[str]:
    """Every songnet module ``path`` imports, at the top or inside a function."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("songnet")}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module \
                and node.module.startswith("songnet"):
            found.add(node.module)
            found |= {f"{node.module}.{a.name}" for a in node.names
                      if _module_file(f"{node.module}.{a.name}") is not None}
            lazy = _lazy_names(node.module)  # a package that loads its names on first use
            found |= {f"{node.module}.{lazy[a.name]}" for a in node.names if a.name in lazy}
    return found


def _lazy_names(package: str) -> dict[str, str]:
    """``{name: submodule}`` of a package whose ``__init__`` loads its names lazily
    (``_MODULE_OF``, PEP 562), e.g. ``songnet.synth``; empty for any other module."""
    path = _module_file(package)
    if path is None or path.name != "__init__.py" or "_MODULE_OF" not in path.read_text(
            encoding="utf-8"):
        return {}
    return dict(importlib.import_module(package)._MODULE_OF)


def _closure(module: str) -> set[Path]:
    """Files of ``module``, of every songnet module it imports, and of their packages."""
    seen: set[Path] = set()
    todo = [module]
    while todo:
        name = todo.pop()
        parts = name.split(".")
        for k in range(1, len(parts) + 1):  # importing a.b.c runs a/__init__ and a/b/__init__
            path = _module_file(".".join(parts[:k]))
            if path is not None and path not in seen:
                seen.add(path)
                todo += sorted(_imports(path))
    return seen


def _layer(path: Path) -> str | None:
    rel = path.relative_to(PACKAGE).parts
    return rel[0] if len(rel) > 1 else None


def _all_modules() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py") if "__pycache__" not in p.parts)


def test_every_module_sits_in_a_layer_or_is_the_package_entry():
    loose = [p.name for p in _all_modules() if _layer(p) is None]
    assert sorted(loose) == ["__init__.py", "__main__.py"]
    assert {_layer(p) for p in _all_modules()} - {None} == set(LAYERS)


@pytest.mark.parametrize("path", _all_modules(), ids=lambda p: str(p.relative_to(ROOT)))
def test_no_module_imports_a_higher_layer(path):
    layer = _layer(path)
    if layer is None:
        return
    rank = LAYERS.index(layer)
    for name in _imports(path):
        target = _module_file(name)
        other = _layer(target) if target is not None and target.parent != PACKAGE else None
        if other is not None:
            assert LAYERS.index(other) <= rank, f"{path.relative_to(ROOT)} imports {name}"


PIPELINES = ("dvc.yaml", "validation/dvc.yaml")  # the default pipeline, the k-fold validation


def _stages() -> dict[str, dict]:
    stages = {}
    for name in PIPELINES:
        stages.update(yaml.safe_load((ROOT / name).read_text(encoding="utf-8"))["stages"])
    return stages


def _listed_code(stage: dict) -> set[str]:
    return {d for d in stage["deps"] if isinstance(d, str) and d.startswith("songnet/")
            and not d.startswith("songnet/models/")}


def _needed_code(command: str) -> set[str]:
    """songnet/ deps for ``command``: whole stage folders, single files of cli/."""
    needed = set()
    for path in _closure(f"songnet.cli.{command}"):
        rel = path.relative_to(ROOT).as_posix()
        if rel in NOT_STAGE_CODE:
            continue
        needed.add(rel if rel.startswith("songnet/cli/") else "/".join(rel.split("/")[:2]))
    return needed


@pytest.mark.parametrize("name", sorted(_stages()))
def test_dvc_stage_lists_exactly_the_code_its_command_imports(name):
    stage = _stages()[name]
    command = re.match(r"songnet (\w+)", stage["cmd"].strip()).group(1)
    assert command == name  # one name for stage, command and params section
    assert _listed_code(stage) == _needed_code(command)


def test_closure_follows_function_level_imports_and_packages():
    needed = _needed_code("themes")
    # cli/themes imports the plotting module only inside the command function
    assert "songnet/features" in needed and "songnet/cli/themes.py" in needed
    assert "songnet/model" not in needed and "songnet/classify" not in needed


LOADED_SECTION = re.compile(r"load_(?:optional_)?params\(\s*params_file,\s*\"(\w+)\"")


def _declared_sections(stage: dict) -> set[str]:
    """The ``params.yaml`` sections a stage declares (``section`` or ``section.key``)."""
    out = set()
    for entry in stage.get("params", []):
        names = [entry] if isinstance(entry, str) else \
            [k for f, keys in entry.items() if f == "params.yaml" for k in keys]
        out |= {n.split(".")[0] for n in names}
    return out


def test_the_section_scanner_reads_both_loaders():
    text = ('p = load_params(params_file, "embed", EmbedParams)\n'
            'q = load_optional_params(params_file, "themes", LearnParams)\n')
    assert set(LOADED_SECTION.findall(text)) == {"embed", "themes"}
    assert _declared_sections({"params": ["train.device", {"params.yaml": ["embed"]}]}) == \
        {"train", "embed"}


@pytest.mark.parametrize("name", sorted(_stages()))
def test_dvc_stage_declares_every_params_section_its_command_reads(name):
    stage = _stages()[name]
    command = re.match(r"songnet (\w+)", stage["cmd"].strip()).group(1)
    source = (PACKAGE / "cli" / f"{command}.py").read_text(encoding="utf-8")
    read = set(LOADED_SECTION.findall(source))
    missing = read - _declared_sections(stage)
    assert not missing, f"stage {name} reads [{', '.join(sorted(missing))}] undeclared"


def test_the_synth_facade_loads_its_modules_on_first_use():
    """``from songnet.synth import SR`` (18 modules) imports the model's constants, not
    numba and scipy; every public name still resolves, and the layout scan follows it."""
    import subprocess
    import sys

    code = ("import sys\nfrom songnet.synth import SR\n"
            "print(sorted({m.split('.')[0] for m in sys.modules} & {'numba', 'scipy'}))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.strip()
    assert out == "[]"
    synth = importlib.import_module("songnet.synth")
    assert set(synth.__all__) == set(synth._MODULE_OF)
    assert all(getattr(synth, name) is not None for name in synth.__all__)
    assert "songnet.synth.integrate" in _imports(PACKAGE / "resynth" / "learn.py")
