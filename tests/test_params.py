from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Literal

import pytest

from songnet.errors import ParamsError
from songnet.params import load_params, params_from_mapping, params_to_dict


@dataclasses.dataclass(frozen=True)
class Inner:
    low: float
    high: float = 2.0


@dataclasses.dataclass(frozen=True)
class Example:
    rate: float
    epochs: int
    mode: Literal["fast", "slow"] = "fast"
    names: tuple[str, ...] = ()
    pair: tuple[int, float] = (1, 2.0)
    flag: bool = False
    inner: Inner = Inner(low=0.0)
    maybe: int | None = None


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "params.yaml"
    path.write_text(text)
    return path


def test_loads_typed_frozen(tmp_path):
    path = write(tmp_path, "ex:\n  rate: 1\n  epochs: 3\n  names: [a, b]\n"
                           "  inner: {low: 0.5}\n  pair: [2, 3]\n")
    p = load_params(path, "ex", Example)
    assert p.rate == 1.0 and isinstance(p.rate, float)
    assert p.names == ("a", "b")
    assert p.inner == Inner(low=0.5, high=2.0)
    assert p.pair == (2, 3.0)
    with pytest.raises(dataclasses.FrozenInstanceError):
        p.rate = 2.0  # type: ignore[misc]
    assert params_to_dict(p)["names"] == ["a", "b"]


def test_misspelled_key_names_section_and_key(tmp_path):
    path = write(tmp_path, "ex:\n  rate: 1\n  epochs: 3\n  epochz: 4\n")
    with pytest.raises(ParamsError, match=r"\[ex\] unknown key 'epochz'"):
        load_params(path, "ex", Example)


def test_missing_key(tmp_path):
    path = write(tmp_path, "ex:\n  rate: 1\n")
    with pytest.raises(ParamsError, match=r"\[ex\] missing key 'epochs'"):
        load_params(path, "ex", Example)


@pytest.mark.parametrize(("text", "key"), [
    ("rate: fast\n  epochs: 1", "rate"),
    ("rate: 1\n  epochs: 1.5", "epochs"),
    ("rate: 1\n  epochs: true", "epochs"),
    ("rate: 1\n  epochs: 1\n  mode: medium", "mode"),
    ("rate: 1\n  epochs: 1\n  flag: 1", "flag"),
    ("rate: 1\n  epochs: 1\n  pair: [1]", "pair"),
    ("rate: 1\n  epochs: 1\n  inner: {low: x}", "low"),
])
def test_wrong_type_names_key(tmp_path, text, key):
    path = write(tmp_path, f"ex:\n  {text}\n")
    with pytest.raises(ParamsError, match=key):
        load_params(path, "ex", Example)


def test_missing_section_and_file(tmp_path):
    path = write(tmp_path, "other: {}\n")
    with pytest.raises(ParamsError, match=r"missing section \[ex\]"):
        load_params(path, "ex", Example)
    with pytest.raises(ParamsError, match="not found"):
        load_params(tmp_path / "nope.yaml", "ex", Example)
    bad = write(tmp_path, "ex: [unclosed\n")
    with pytest.raises(ParamsError, match="not valid YAML"):
        load_params(bad, "ex", Example)


def test_optional_accepts_none():
    p = params_from_mapping(Example, {"rate": 1.0, "epochs": 1, "maybe": None})
    assert p.maybe is None
