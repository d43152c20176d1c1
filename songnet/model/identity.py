"""How outputs name the model they came from: file, training date, checksum prefix.

``songnet classify`` records it in every output and ``songnet --version`` prints the
default model's, so a table of events can always be traced to the network that made it.
An ONNX export carries the SHA-256 of the checkpoint it was exported from, so a checkpoint
and its export share everything but the file name.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping
from typing import Any

__all__ = ["file_sha256", "model_id"]


def model_id(name: str, meta: Mapping[str, Any], sha256: str) -> str:
    """``"<name> (trained <date>, sha256 <first 12 hex digits>)"``, e.g. ``default.onnx
    (trained 2026-12-07, sha256 ccf984ba6b38)``; ``unknown`` for what the model lacks."""
    digest = sha256.removeprefix("sha256:")[:12] or "unknown"
    return f"{name} (trained {meta.get('trained') or 'unknown'}, sha256 {digest})"


def file_sha256(path: str | os.PathLike) -> str:
    """The hex SHA-256 of a file's bytes, read a MiB at a time."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()
