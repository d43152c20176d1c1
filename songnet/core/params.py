"""Typed, frozen params classes built from ``params.yaml`` sections.

Each stage module defines one frozen dataclass (``SynthesizeParams``, ``FeatureParams``,
…) whose fields are the keys of its ``params.yaml`` section. :func:`load_params` reads a
section into that class and refuses an unknown key, a missing key or a wrong type with an
error that names the file, the section and the key::

    params.yaml: [train] unknown key 'lerning_rate' (known keys: batch_size, epochs, …)
"""

from __future__ import annotations

import dataclasses
import os
import types
import typing
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal, TypeVar, Union, get_args, get_origin, get_type_hints

import yaml

from songnet.core.errors import ParamsError

__all__ = ["load_params", "params_from_mapping", "params_to_dict", "read_params_file"]

P = TypeVar("P")


def read_params_file(path: str | os.PathLike) -> dict[str, Any]:
    """Read a YAML params file into a dict of sections."""
    path = Path(path)
    if not path.is_file():
        raise ParamsError(f"params file {path} not found; pass --params FILE or run from the "
                          "project folder that holds params.yaml")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise ParamsError(f"{path}: not valid YAML{where}; fix the syntax") from exc
    except UnicodeDecodeError as exc:
        raise ParamsError(f"{path}: not a text file; pass a YAML params file") from exc
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ParamsError(f"{path}: expected a mapping of sections at the top level")
    return data


def load_params(path: str | os.PathLike, section: str, cls: type[P]) -> P:
    """Load section ``section`` of the YAML file ``path`` into the frozen dataclass ``cls``."""
    data = read_params_file(path)
    if section not in data:
        raise ParamsError(f"{path}: missing section [{section}]; add it (see the README)")
    return params_from_mapping(cls, data[section], where=f"{path}: [{section}]", require_all=True)


def params_from_mapping(cls: type[P], mapping: Any, *, where: str = "params",
                        require_all: bool = False) -> P:
    """Build ``cls`` from a mapping, checking every key and type.

    Parameters
    ----------
    cls : dataclass type
        A (frozen) dataclass whose field annotations give the expected types.
    mapping : Mapping
        The section's contents.
    where : str
        Location used in error messages, e.g. ``"params.yaml: [train]"``.
    require_all : bool
        Every field must be present, even those with a default (a params file states
        every key, so a forgotten one is an error rather than a silent default).
    """
    if not dataclasses.is_dataclass(cls):
        raise TypeError(f"{cls!r} is not a dataclass")
    if not isinstance(mapping, Mapping):
        raise ParamsError(f"{where}: expected a mapping of keys, got {type(mapping).__name__}")
    fields = {f.name: f for f in dataclasses.fields(cls) if f.init}
    hints = get_type_hints(cls)
    unknown = [k for k in mapping if k not in fields]
    if unknown:
        raise ParamsError(f"{where} unknown key {unknown[0]!r} "
                          f"(known keys: {', '.join(fields)}); fix the spelling or remove it")
    values = {}
    for name, field in fields.items():
        if name not in mapping:
            no_default = (field.default is dataclasses.MISSING
                          and field.default_factory is dataclasses.MISSING)
            if no_default or require_all:
                raise ParamsError(f"{where} missing key {name!r}; add it")
            continue
        values[name] = _coerce(mapping[name], hints[name], f"{where} key {name!r}", require_all)
    try:
        return cls(**values)
    except (ValueError, TypeError) as exc:
        raise ParamsError(f"{where}: {exc}") from exc


def params_to_dict(params: Any) -> dict[str, Any]:
    """A params object as plain JSON/YAML-ready data (tuples become lists)."""
    def plain(v: Any) -> Any:
        if dataclasses.is_dataclass(v) and not isinstance(v, type):
            return {f.name: plain(getattr(v, f.name)) for f in dataclasses.fields(v)}
        if isinstance(v, (list, tuple)):
            return [plain(x) for x in v]
        if isinstance(v, Mapping):
            return {str(k): plain(x) for k, x in v.items()}
        return v
    return plain(params)


def _type_name(tp: Any) -> str:
    if isinstance(tp, type):
        return tp.__name__
    return str(tp).replace("typing.", "")


def _coerce(value: Any, tp: Any, where: str, strict: bool = False) -> Any:
    origin = get_origin(tp)
    args = get_args(tp)
    if tp is Any:
        return value
    if origin in (Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        errors = []
        for arg in args:
            if arg is type(None):
                continue
            try:
                return _coerce(value, arg, where, strict)
            except ParamsError as exc:
                errors.append(exc)
        raise ParamsError(f"{where} must be {_type_name(tp)}, got {value!r}")
    if origin is Literal:
        if value not in args:
            choices = ", ".join(repr(a) for a in args)
            raise ParamsError(f"{where} must be one of {choices}, got {value!r}")
        return value
    if origin in (tuple, list, typing.Sequence) or tp in (tuple, list):
        if not isinstance(value, (list, tuple)):
            raise ParamsError(f"{where} must be a list, got {value!r}")
        if origin is tuple and args and args[-1] is not Ellipsis:
            if len(value) != len(args):
                raise ParamsError(f"{where} must be a list of {len(args)} values, got {value!r}")
            pairs = enumerate(zip(value, args, strict=True))
            return tuple(_coerce(v, a, f"{where}[{i}]") for i, (v, a) in pairs)
        item = args[0] if args else Any
        return tuple(_coerce(v, item, f"{where}[{i}]") for i, v in enumerate(value))
    if origin in (dict, Mapping) or tp is dict:
        if not isinstance(value, Mapping):
            raise ParamsError(f"{where} must be a mapping, got {value!r}")
        kt, vt = args if args else (Any, Any)
        return types.MappingProxyType(
            {_coerce(k, kt, where): _coerce(v, vt, f"{where}[{k!r}]") for k, v in value.items()})
    if dataclasses.is_dataclass(tp):
        return params_from_mapping(tp, value, where=where, require_all=strict)
    if tp is bool:
        if not isinstance(value, bool):
            raise ParamsError(f"{where} must be true or false, got {value!r}")
        return value
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ParamsError(f"{where} must be an integer, got {value!r}")
        return value
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ParamsError(f"{where} must be a number, got {value!r}")
        return float(value)
    if tp is str:
        if not isinstance(value, str):
            raise ParamsError(f"{where} must be a string, got {value!r}")
        return value
    if isinstance(tp, type):
        if not isinstance(value, tp):
            raise ParamsError(f"{where} must be {tp.__name__}, got {value!r}")
        return value
    raise TypeError(f"unsupported params annotation {tp!r} at {where}")
