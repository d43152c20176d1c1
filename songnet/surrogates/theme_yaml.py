"""Writing themes and dialects in the catalog's YAML format (what ``load_catalog`` reads).

One flow mapping per note, a block mapping for a trill, numbers rounded to what the
catalog states (pitches to 1 Hz, times to 0.1 ms)::

    name: T01
    description: learned from 4 songs
    notes:
      - {shape: whistle, pitch_khz: [4.6], duration_ms: 200, gap_ms: 70}
    trill:
      shape: sweep
      ...

:func:`format_theme` with ``dialect=`` leaves out the trill keys the dialect already gives
(a theme file in a catalog with a ``dialect.yaml``); without it the theme carries a
complete trill of its own and loads alone.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from songnet.core.files import write_text
from songnet.surrogates.themes import Theme, Trill

__all__ = ["dialect_mapping", "format_dialect", "format_theme", "save_dialect", "save_theme",
           "trill_mapping"]


def _num(value: float, digits: int) -> int | float:
    v = round(float(value), digits)
    return int(v) if v == int(v) else v


def _khz(pitches_hz: tuple[float, ...]) -> list[int | float]:
    return [_num(p / 1000, 3) for p in pitches_hz]


def trill_mapping(trill: Trill) -> dict[str, Any]:
    """The trill's YAML fields (``trill:`` of a theme, or of ``dialect.yaml``)."""
    out: dict[str, Any] = {"shape": trill.shape, "pitch_khz": _khz(trill.pitch_hz),
                           "note_ms": _num(trill.note_s * 1000, 1),
                           "interval_ms": _num(trill.interval_s * 1000, 1),
                           "count": int(trill.count)}
    if trill.peak_at is not None:
        out["peak_at"] = _num(trill.peak_at, 3)
    if trill.loudness != (1.0, 1.0, 1.0):
        out["loudness"] = [_num(v, 3) for v in trill.loudness]
    if trill.drift_pitch or trill.drift_interval:
        out["drift"] = {"pitch": _num(trill.drift_pitch, 4),
                        "interval": _num(trill.drift_interval, 4)}
    if trill.jitter:
        out["jitter"] = _num(trill.jitter, 4)
    if trill.second is not None:
        s = trill.second
        out["second"] = {"shape": s.shape, "pitch_khz": _khz(s.pitch_hz),
                         "note_ms": _num(s.note_s * 1000, 1), "gap_ms": _num(s.gap_s * 1000, 1),
                         "level": _num(s.level, 3)}
    return out


def dialect_mapping(trill: Trill, *, name: str, description: str = "") -> dict[str, Any]:
    """A ``dialect.yaml`` mapping: the trill every theme of a catalog shares."""
    return {"name": name, "description": description, "trill": trill_mapping(trill)}


def _scalar(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, str):
        plain = yaml.safe_dump(value, default_flow_style=True, width=10_000).strip()
        plain = plain.removesuffix("...").strip()
        return plain if "\n" not in plain else json.dumps(value)
    if isinstance(value, list):
        return "[" + ", ".join(_scalar(v) for v in value) + "]"
    if isinstance(value, Mapping):
        return "{" + ", ".join(f"{k}: {_scalar(v)}" for k, v in value.items()) + "}"
    return str(value)


def _block(mapping: Mapping[str, Any], indent: str = "  ") -> list[str]:
    return [f"{indent}{k}: {_scalar(v)}" for k, v in mapping.items()]


def _comment(header: str) -> list[str]:
    return [f"# {line}".rstrip() for line in header.splitlines()] if header else []


def format_theme(theme: Theme, *, dialect: Trill | None = None, header: str = "") -> str:
    """A theme file's text.

    Parameters
    ----------
    theme : Theme
    dialect : Trill, optional
        The catalog's shared trill: only the keys where the theme's trill differs are
        written (none when it is the dialect's). None: the theme's complete trill.
    header : str
        Comment lines at the top (without ``#``).
    """
    lines = [*_comment(header), f"name: {_scalar(theme.name)}"]
    if theme.description:
        lines.append(f"description: {_scalar(theme.description)}")
    lines.append("notes:")
    for n in theme.notes:
        lines.append("  - " + _scalar({"shape": n.shape, "pitch_khz": _khz(n.pitch_hz),
                                       "duration_ms": _num(n.duration_s * 1000, 1),
                                       "gap_ms": _num(n.gap_s * 1000, 1)}))
    own = trill_mapping(theme.trill)
    if dialect is not None:
        shared = trill_mapping(dialect)
        own = {k: v for k, v in own.items() if shared.get(k) != v}
        own.update({k: _default(k) for k in shared if k not in trill_mapping(theme.trill)})
    if own:
        lines += ["trill:", *_block(own)]
    if theme.spread is not None:
        lines.append("spread: " + _scalar({"pitch": _num(theme.spread.pitch, 4),
                                           "tempo": _num(theme.spread.tempo, 4),
                                           "songs": int(theme.spread.songs)}))
    return "\n".join(lines) + "\n"


def _default(key: str) -> Any:
    """The value that switches off an optional trill key the dialect sets."""
    return {"loudness": [1, 1, 1], "drift": {"pitch": 0, "interval": 0}, "jitter": 0}.get(key)


def format_dialect(trill: Trill, *, name: str, description: str = "", header: str = "") -> str:
    """A ``dialect.yaml`` file's text."""
    m = dialect_mapping(trill, name=name, description=description)
    lines = [*_comment(header), f"name: {_scalar(m['name'])}"]
    if description:
        lines.append(f"description: {_scalar(description)}")
    return "\n".join([*lines, "trill:", *_block(m["trill"])]) + "\n"


def save_theme(path: str | os.PathLike, theme: Theme, *, dialect: Trill | None = None,
               header: str = "") -> Path:
    """Write :func:`format_theme` to ``path`` atomically."""
    return write_text(path, format_theme(theme, dialect=dialect, header=header))


def save_dialect(path: str | os.PathLike, trill: Trill, *, name: str, description: str = "",
                 header: str = "") -> Path:
    """Write :func:`format_dialect` to ``path`` atomically."""
    return write_text(path, format_dialect(trill, name=name, description=description,
                                           header=header))
