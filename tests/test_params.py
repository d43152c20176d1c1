from __future__ import annotations

import dataclasses
import re
from pathlib import Path
from typing import Literal

import pytest
import yaml

from songnet.core.errors import ParamsError
from songnet.core.params import load_params, params_from_mapping, params_to_dict


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
    path = write(tmp_path, "ex:\n  rate: 1\n  epochs: 3\n  names: [a, b]\n  mode: slow\n"
                           "  inner: {low: 0.5, high: 2}\n  pair: [2, 3]\n  flag: true\n"
                           "  maybe: null\n")
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


def test_params_file_must_state_keys_that_have_defaults(tmp_path):
    path = write(tmp_path, "ex:\n  rate: 1\n  epochs: 3\n")
    with pytest.raises(ParamsError, match=r"\[ex\] missing key 'mode'"):
        load_params(path, "ex", Example)
    lenient = params_from_mapping(Example, {"rate": 1, "epochs": 3})
    assert lenient.mode == "fast"


FULL = {"rate": 1, "epochs": 1, "mode": "fast", "names": [], "pair": [1, 2.0], "flag": False,
        "inner": {"low": 0.0, "high": 1.0}, "maybe": None}


@pytest.mark.parametrize(("key", "value", "named"), [
    ("rate", "fast", "rate"),
    ("epochs", 1.5, "epochs"),
    ("epochs", True, "epochs"),
    ("mode", "medium", "mode"),
    ("flag", 1, "flag"),
    ("pair", [1], "pair"),
    ("inner", {"low": "x", "high": 1}, "low"),
])
def test_wrong_type_names_key(tmp_path, key, value, named):
    assert load_params(write(tmp_path, yaml.safe_dump({"ex": FULL})), "ex", Example).epochs == 1
    path = write(tmp_path, yaml.safe_dump({"ex": {**FULL, key: value}}))
    with pytest.raises(ParamsError, match=named):
        load_params(path, "ex", Example)


def test_missing_section_and_file(tmp_path):
    path = write(tmp_path, "other: {}\n")
    with pytest.raises(ParamsError, match=r"missing section \[ex\]"):
        load_params(path, "ex", Example)
    with pytest.raises(ParamsError, match="not found"):
        load_params(tmp_path / "nope.yaml", "ex", Example)
    bad = write(tmp_path, "ex: [unclosed\n")
    with pytest.raises(ParamsError, match="not a valid YAML"):
        load_params(bad, "ex", Example)


def test_optional_accepts_none():
    p = params_from_mapping(Example, {"rate": 1.0, "epochs": 1, "maybe": None})
    assert p.maybe is None


def _stage_params_classes():
    from songnet.classify.params import ClassifyParams
    from songnet.features.params import FeatureParams
    from songnet.latent.embed import EmbedParams
    from songnet.latent.project import ProjectParams
    from songnet.latent.validate_params import ValidateParams
    from songnet.model.compare import CompareParams
    from songnet.model.evaluate import EvaluateParams
    from songnet.model.train_params import TrainParams
    from songnet.resynth.resynthesize import ResynthesizeParams
    from songnet.resynth.songs import LearnParams
    from songnet.surrogates.synthesize_params import SynthesizeParams
    return {"themes": LearnParams, "synthesize": SynthesizeParams, "features": FeatureParams,
            "train": TrainParams, "evaluate": EvaluateParams, "resynthesize": ResynthesizeParams,
            "embed": EmbedParams, "project": ProjectParams, "classify": ClassifyParams,
            "validate": ValidateParams, "compare": CompareParams}


def test_every_params_yaml_section_equals_its_class_defaults():
    """The defaults a library user gets are the values the pipeline runs with."""
    path = Path(__file__).resolve().parents[1] / "params.yaml"
    classes = _stage_params_classes()
    assert set(yaml.safe_load(path.read_text(encoding="utf-8"))) == set(classes)
    for section, cls in classes.items():
        loaded = load_params(path, section, cls)
        differing = [f.name for f in dataclasses.fields(cls)
                     if getattr(loaded, f.name) != getattr(cls(), f.name)]
        assert differing == [], f"{section}: params.yaml differs from the defaults on {differing}"


def test_set_params_values_writes_values_keeps_comments_and_loads_back(tmp_path):
    """What a selection experiment writes into params.yaml is what the stage then reads;
    every other line (comments included) is unchanged."""
    from songnet.core.params import set_params_values
    from songnet.model.train_params import TrainParams

    original = (Path(__file__).resolve().parents[1] / "params.yaml").read_text(encoding="utf-8")
    chosen = {"open_set_metric": "standardized", "open_set_pooling": "per_theme",
              "open_set_quantile": 0.95, "note_check_quantile": 1.0}
    text = set_params_values(original, "train", chosen)
    path = tmp_path / "params.yaml"
    path.write_text(text, encoding="utf-8")
    loaded = load_params(path, "train", TrainParams)
    assert {k: getattr(loaded, k) for k in chosen} == chosen
    changed = [(a, b) for a, b in zip(original.splitlines(), text.splitlines(), strict=True)
               if a != b]
    assert len(changed) == 4
    for old, new in changed:
        assert old.split("#", 1)[1] == new.split("#", 1)[1]          # the comment kept
        assert old.index("#") == new.index("#") or len(new.split("#")[0]) > old.index("#")
    current = {k: getattr(load_params(Path(__file__).resolve().parents[1] / "params.yaml",
                                      "train", TrainParams), k) for k in chosen}
    assert set_params_values(original, "train", current) == original


@pytest.mark.parametrize(("section", "values", "message"), [
    ("nosuch", {"epochs": 3}, "no section [nosuch]"),
    ("train", {"no_such_key": 3}, "no line for ['no_such_key']"),
    ("train", {"epochs": [1, 2]}, "not a finite scalar"),
    ("train", {"lr": float("nan")}, "not a finite scalar"),
])
def test_set_params_values_refuses_what_it_cannot_write(section, values, message):
    from songnet.core.params import set_params_values

    text = (Path(__file__).resolve().parents[1] / "params.yaml").read_text(encoding="utf-8")
    with pytest.raises(ParamsError, match=re.escape(message)):
        set_params_values(text, section, values)


def test_params_show_the_persistence_rule_the_project_stage_runs_with():
    """``project.threshold_from`` points at the validated rule; ``params.yaml``'s
    ``threshold_*`` keys hold the same rule (``make adopt-rule``), so the file shows what
    runs rather than a rule that is overridden."""
    from songnet.latent.project import ProjectParams, rule_settings, validated_rule

    root = Path(__file__).resolve().parents[1]
    params = load_params(root / "params.yaml", "project", ProjectParams)
    assert params.threshold_from
    rule = rule_settings(root / params.threshold_from)
    assert {k: getattr(params, k) for k in rule} == rule
    assert validated_rule(params) == params
