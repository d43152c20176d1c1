"""Typed, frozen params classes built from ``params.yaml`` sections.

Each stage module defines one frozen dataclass (``SynthesizeParams``, ``FeatureParams``,
…) whose fields are the keys of its ``params.yaml`` section. :func:`load_params` reads a
section into that class and refuses an unknown key, a missing key or a wrong type with an
error that names the file, the section and the key::

    params.yaml: [train] unknown key 'lerning_rate' (known keys: batch_size, epochs, …)

Limits every input goes through before work: :func:`read_yaml` refuses files over
:data:`MAX_YAML_BYTES` and YAML anchors/aliases (no "billion laughs"); every float is
finite (NaN and inf are refused for every key); :func:`check_workers` caps a ``--workers``
value by the CPUs and memory of the machine.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import os
import types
import typing
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal, TypeVar, Union, get_args, get_origin, get_type_hints

from songnet.core.errors import ParamsError
from songnet.core.numbers import bounded_yaml
from songnet.core.threads import usable_cpus

__all__ = ["MAX_SEED", "MAX_YAML_BYTES", "SEED_KEYS", "check_workers", "load_params",
           "params_from_mapping", "params_to_dict", "read_params_file", "read_yaml",
           "set_params_values", "short_repr"]

SEED_KEYS = frozenset({"seed", "random_state"})
MAX_SEED = 2**32 - 1
"""Seeds (params keys in :data:`SEED_KEYS`, ``--seed``) lie in 0–MAX_SEED."""
MAX_YAML_BYTES = 1 << 20
"""Largest params, theme or dialect YAML file read (1 MiB; real ones are a few KB)."""

P = TypeVar("P")


@functools.cache
def _no_alias_loader() -> type:
    """``yaml.SafeLoader`` that refuses anchors and aliases (``&a`` / ``*a``, ``<<: *a``)."""
    import yaml

    class NoAliasLoader(yaml.SafeLoader):
        def compose_node(self, parent: Any, index: Any) -> Any:
            event = self.peek_event()
            if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None) is not None:
                raise _AliasRefused(event.start_mark.line + 1)
            return super().compose_node(parent, index)

    return NoAliasLoader


def _load_plain(text: str) -> Any:
    """``yaml.safe_load`` refusing anchors and aliases; with libyaml (C) when present, which
    parses a params file some 20 times faster (it matters to ``classify``'s start-up).
    PyYAML is imported here, not with the module: ``classify`` without a params file
    never needs it (some 15 ms of its start-up)."""
    import yaml

    if not getattr(yaml, "__with_libyaml__", False):
        return yaml.load(text, Loader=_no_alias_loader())
    for event in yaml.parse(text, Loader=yaml.CSafeLoader):
        if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None) is not None:
            raise _AliasRefused(event.start_mark.line + 1)
    return yaml.load(text, Loader=yaml.CSafeLoader)


class _AliasRefused(Exception):
    def __init__(self, line: int) -> None:
        self.line = line


def read_yaml(path: str | os.PathLike, *, what: str = "params",
              error: type[Exception] = ParamsError) -> Any:
    """Parse a small YAML file safely: size-capped, no anchors or aliases, plain types only.

    Parameters
    ----------
    path : path-like
    what : str
        The kind of file, for messages (``"params"``, ``"theme"``).
    error : exception type
        The :class:`SongnetError` subclass to raise.

    Raises
    ------
    error
        A missing or unreadable file, one over :data:`MAX_YAML_BYTES`, invalid YAML, or
        an anchor/alias, naming the file (and the line).
    """
    path = Path(path)
    try:
        size = path.stat().st_size
        if size > MAX_YAML_BYTES:
            raise error(f"{path}: {size} bytes is too large for a {what} file (limit "
                        f"{MAX_YAML_BYTES} bytes); pass the right file")
        with path.open("rb") as fh:
            text = fh.read(MAX_YAML_BYTES + 1).decode("utf-8")
    except OSError as exc:
        raise error(f"cannot read {what} file {path}: {exc.strerror}") from exc
    except UnicodeDecodeError as exc:
        raise error(f"{path}: not a text file; pass a YAML {what} file") from exc
    if len(text) > MAX_YAML_BYTES:  # a FIFO or a file still growing
        raise error(f"{path}: too large for a {what} file (limit {MAX_YAML_BYTES} bytes)")
    import yaml

    try:
        return bounded_yaml(_load_plain, text, where=str(path), error=error)
    except _AliasRefused as exc:
        raise error(f"{path}: line {exc.line}: YAML anchors and aliases (&name, *name) are "
                    f"not allowed in a {what} file; write the values out") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise error(f"{path}: not a valid YAML {what} file{where}; fix the syntax") from exc
    except RecursionError:
        raise error(f"{path}: nested too deeply for a {what} file; fix the file") from None


def read_params_file(path: str | os.PathLike) -> dict[str, Any]:
    """Read a YAML params file into a dict of sections (see :func:`read_yaml`)."""
    path = Path(path)
    if not path.is_file():
        raise ParamsError(f"params file {path} not found; pass --params FILE or run from the "
                          "project folder that holds params.yaml")
    data = read_yaml(path, what="params")
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ParamsError(f"{path}: expected a mapping of sections at the top level")
    return data


def load_params(path: str | os.PathLike, section: str, cls: type[P], *,
                require_all: bool = True) -> P:
    """Load section ``section`` of the YAML file ``path`` into the frozen dataclass ``cls``.

    ``require_all``: every key must be there (a pipeline stage's section states every key,
    so a forgotten one is an error); False: the keys left out take ``cls``'s defaults (a
    user's file for ``songnet classify`` holds only what it changes). An unknown key is
    an error either way.
    """
    data = read_params_file(path)
    if section not in data:
        raise ParamsError(f"{path}: missing section [{section}]; add it (see the README)")
    return params_from_mapping(cls, data[section], where=f"{path}: [{section}]",
                               require_all=require_all)


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
        raise ParamsError(f"{where} unknown key {short_repr(unknown[0])} "
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
        seed = values[name] if name in SEED_KEYS else 0
        if isinstance(seed, int) and not 0 <= seed <= MAX_SEED:
            raise ParamsError(f"{where} key {name!r} must be a seed in 0–{MAX_SEED}, got "
                              f"{short_repr(values[name])}")
    try:
        return cls(**values)
    except (ValueError, TypeError, OverflowError) as exc:
        raise ParamsError(f"{where}: {exc}") from exc


def check_workers(workers: int, *, option: str = "--workers", per_worker_mb: int = 0,
                  floor: int = 1) -> int:
    """Refuse a worker count above the CPUs (or the memory) this process may use.

    Parameters
    ----------
    workers : int
        The requested count (at least 1).
    option : str
        Names the option in the message.
    per_worker_mb : int
        Memory one worker needs, in MiB; 0 skips the memory check.
    floor : int
        Always allow this many (threads that mostly wait on I/O), whatever the CPUs.

    Raises
    ------
    ParamsError
        Naming the value and the limit.
    """
    cpus = max(usable_cpus(), floor)
    if workers < 1 or workers > cpus:
        raise ParamsError(f"{option} {workers} must lie in 1–{cpus} (the CPUs this process may "
                          f"use); pass at most {cpus}")
    if per_worker_mb:
        avail = _available_mb()
        if avail is not None and workers > 1 and workers * per_worker_mb > avail:
            most = max(1, avail // per_worker_mb)
            raise ParamsError(f"{option} {workers} needs about {workers * per_worker_mb} MiB "
                              f"but {avail} MiB are available; pass at most {most}")
    return workers


def _available_mb() -> int | None:
    try:
        with open("/proc/meminfo", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) // 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


def short_repr(value: Any, limit: int = 80) -> str:
    """``repr(value)`` cut to ``limit`` characters, for error messages."""
    text = repr(value)
    return text if len(text) <= limit else text[:limit - 6] + " … " + text[-3:]


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


def set_params_values(text: str, section: str, values: Mapping[str, Any]) -> str:
    """``params.yaml``'s text with ``values`` written into ``section``, comments kept.

    Each key must already sit on a line of its own in the section (``key: value  # …``,
    indented); only its value is replaced, so the file's layout and comments stay as they
    were. A selection experiment writes its choice this way rather than by hand.

    Parameters
    ----------
    text : str
        The file's text.
    section : str
        A top-level section (``train``).
    values : mapping of str -> bool, int, float or str
        Keys of that section and their new values (scalars).

    Raises
    ------
    ParamsError
        When the section or a key is not in the text, or a value is not a plain scalar.
    """
    import json

    lines = text.splitlines(keepends=True)
    start = next((i for i, line in enumerate(lines) if line.rstrip() == f"{section}:"), None)
    if start is None:
        raise ParamsError(f"params: no section [{section}] to write {sorted(values)} into")
    end = next((i for i in range(start + 1, len(lines))
                if lines[i].strip() and not lines[i].startswith((" ", "#"))), len(lines))
    todo = dict(values)
    for i in range(start + 1, end):
        key, sep, rest = lines[i].strip().partition(":")
        if not sep or key not in todo or not lines[i].startswith("  ") \
                or lines[i].startswith("   "):
            continue
        value = todo.pop(key)
        if not isinstance(value, (bool, int, float, str)) or (
                isinstance(value, float) and not math.isfinite(value)):
            raise ParamsError(f"params: [{section}] {key}: {short_repr(value)} is not a finite "
                              "scalar")
        shown = json.dumps(value) if isinstance(value, str) and not value.isidentifier() \
            else (str(value).lower() if isinstance(value, bool) else f"{value}")
        body, hash_, comment = rest.partition(" #")
        old = f"  {key}:{body}"
        new = f"  {key}: {shown}"
        pad = max(len(old) + 1 - len(new), 1)  # the comment stays in its column
        lines[i] = new + (" " * pad + "#" + comment if hash_ else "") + "\n"
    if todo:
        raise ParamsError(f"params: [{section}] has no line for {sorted(todo)} to write")
    return "".join(lines)


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
        raise ParamsError(f"{where} must be {_type_name(tp)}, got {short_repr(value)}")
    if origin is Literal:
        if value not in args:
            choices = ", ".join(repr(a) for a in args)
            raise ParamsError(f"{where} must be one of {choices}, got {short_repr(value)}")
        return value
    if origin in (tuple, list, typing.Sequence) or tp in (tuple, list):
        if not isinstance(value, (list, tuple)):
            raise ParamsError(f"{where} must be a list, got {short_repr(value)}")
        if origin is tuple and args and args[-1] is not Ellipsis:
            if len(value) != len(args):
                raise ParamsError(f"{where} must be a list of {len(args)} values, "
                                  f"got {short_repr(value)}")
            pairs = enumerate(zip(value, args, strict=True))
            return tuple(_coerce(v, a, f"{where}[{i}]") for i, (v, a) in pairs)
        item = args[0] if args else Any
        return tuple(_coerce(v, item, f"{where}[{i}]") for i, v in enumerate(value))
    if origin in (dict, Mapping) or tp is dict:
        if not isinstance(value, Mapping):
            raise ParamsError(f"{where} must be a mapping, got {short_repr(value)}")
        kt, vt = args if args else (Any, Any)
        return types.MappingProxyType(
            {_coerce(k, kt, where): _coerce(v, vt, f"{where}[{k!r}]") for k, v in value.items()})
    if dataclasses.is_dataclass(tp):
        return params_from_mapping(tp, value, where=where, require_all=strict)
    if tp is bool:
        if not isinstance(value, bool):
            raise ParamsError(f"{where} must be true or false, got {short_repr(value)}")
        return value
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ParamsError(f"{where} must be an integer, got {short_repr(value)}")
        return value
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ParamsError(f"{where} must be a number, got {short_repr(value)}")
        try:
            number = float(value)
        except OverflowError:
            number = math.inf
        if not math.isfinite(number):
            raise ParamsError(f"{where} must be a finite number, got {short_repr(value)}; "
                              "NaN and infinity are not allowed")
        return number
    if tp is str:
        if not isinstance(value, str):
            raise ParamsError(f"{where} must be a string, got {short_repr(value)}")
        return value
    if isinstance(tp, type):
        if not isinstance(value, tp):
            raise ParamsError(f"{where} must be {tp.__name__}, got {short_repr(value)}")
        return value
    raise TypeError(f"unsupported params annotation {tp!r} at {where}")
