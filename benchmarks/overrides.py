"""``--set SECTION.KEY=YAML`` for the benchmarks that run the pipeline with other params."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import yaml


def parse(items: Iterable[str]) -> dict[str, Any]:
    """``{"section.key": value}`` from ``SECTION.KEY=YAML`` items (the value read as YAML).

    Raises
    ------
    SystemExit
        For an item not of that form, naming it.
    """
    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or key.count(".") != 1:
            raise SystemExit(f"--set {item!r}: write SECTION.KEY=VALUE")
        out[key] = yaml.safe_load(value)
    return out


def apply(params: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    """``params`` (a params.yaml mapping) with ``overrides`` set in place; returned."""
    for key, value in overrides.items():
        section, name = key.split(".")
        params[section][name] = value
    return params
