"""The checksum of an exported ONNX model, written and checked without onnx or torch.

``songnet export`` (:func:`sign`) stores in the model's metadata entry :data:`CHECKSUM_KEY`
the SHA-256 of everything else the file holds: the graph (its initializers, the weights,
its nodes, inputs and outputs) and every other metadata entry (the class names, the
feature params, the open-set matcher, ``checkpoint_sha256``, ...). :func:`read_checksums`
reads a file's top-level protobuf fields (an ONNX ``ModelProto``) as a stream and gives
the stored checksum beside the one its bytes give: a weight altered, a byte flipped or a
metadata value changed makes them differ.

The checksum entry is appended to the serialized model as one more ``metadata_props``
field (protobuf concatenates repeated fields), so the hashed bytes are exactly those the
exporter serialized, whatever protobuf library wrote them.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import IO, Any

from songnet.core.errors import SongnetError

__all__ = ["CHECKSUM_KEY", "MAX_ONNX_BYTES", "read_checksums", "sign"]

CHECKSUM_KEY = "checksum"
"""The metadata entry holding ``sha256:<hex>`` of the rest of the file."""
MAX_ONNX_BYTES = 256 << 20
"""Largest ONNX model read (the shipped one is about 1 MB)."""
_METADATA = 14  # ModelProto.metadata_props: repeated StringStringEntryProto
_MAX_ENTRY = 16 << 20
_CHUNK = 1 << 20


def sign(model: bytes) -> bytes:
    """A serialized ``ModelProto`` without a checksum -> the same with its checksum entry.

    Raises
    ------
    ValueError
        When ``model`` already has one.
    """
    stored, digest = _scan(_Bytes(model), len(model), where="model")
    if stored is not None:
        raise ValueError("the model already carries a checksum")
    return model + _field(_METADATA, _field(1, CHECKSUM_KEY.encode())
                          + _field(2, digest.encode()))


def read_checksums(path: str | os.PathLike) -> tuple[str | None, str]:
    """The checksum a model file stores (None: none) and the one its bytes give.

    Raises
    ------
    SongnetError
        For a file over :data:`MAX_ONNX_BYTES`, or one that is not a protobuf message (a
        truncated file, random bytes), naming it.
    """
    path = Path(path)
    size = path.stat().st_size
    if size > MAX_ONNX_BYTES:
        raise SongnetError(f"{path}: {size} bytes, over the {MAX_ONNX_BYTES >> 20} MiB of a "
                           "songnet model; pass the right file")
    with path.open("rb") as fh:
        return _scan(fh, size, where=str(path))


class _Bytes:
    """``read`` over a bytes object, like a file."""

    def __init__(self, data: bytes) -> None:
        self.data, self.pos = data, 0

    def read(self, n: int) -> bytes:
        out = self.data[self.pos:self.pos + n]
        self.pos += len(out)
        return out


def _scan(fh: IO[bytes] | _Bytes, size: int, *, where: str) -> tuple[str | None, str]:
    h = hashlib.sha256()
    stored = None
    pos = 0
    while pos < size:
        tag, raw_tag = _varint(fh, where)
        field, wire = tag >> 3, tag & 7
        if wire == 0:
            _, body = _varint(fh, where)
            head = raw_tag
        elif wire in (1, 5):
            body = _read(fh, 8 if wire == 1 else 4, where)
            head = raw_tag
        elif wire == 2:
            length, raw_len = _varint(fh, where)
            head = raw_tag + raw_len
            if field == _METADATA and length <= _MAX_ENTRY:
                body = _read(fh, length, where)
                if _entry_key(body) == CHECKSUM_KEY:
                    if stored is not None:
                        raise _unreadable(where, "two checksum entries")
                    stored = _entry_value(body)
                    pos += len(head) + length
                    continue
            else:
                h.update(head)
                _stream(fh, length, h, where)
                pos += len(head) + length
                continue
        else:
            raise _unreadable(where, f"wire type {wire} at byte {pos}")
        h.update(head)
        h.update(body)
        pos += len(head) + len(body)
    if pos != size:
        raise _unreadable(where, "its last field runs past the end")
    return stored, "sha256:" + h.hexdigest()


def _unreadable(where: str, why: str) -> SongnetError:
    return SongnetError(f"{where}: not a readable ONNX model (not a protobuf model file: "
                        f"{why}); export it again with `songnet export`")


def _read(fh: IO[bytes] | _Bytes, n: int, where: str) -> bytes:
    data = fh.read(n)
    if len(data) != n:
        raise _unreadable(where, "truncated")
    return data


def _stream(fh: IO[bytes] | _Bytes, n: int, h: Any, where: str) -> None:
    while n > 0:
        chunk = _read(fh, min(n, _CHUNK), where)
        h.update(chunk)
        n -= len(chunk)


def _varint(fh: IO[bytes] | _Bytes, where: str) -> tuple[int, bytes]:
    """A protobuf varint: its value and its bytes."""
    raw = b""
    while len(raw) < 10:
        raw += _read(fh, 1, where)
        if not raw[-1] & 0x80:
            return sum((b & 0x7F) << (7 * i) for i, b in enumerate(raw)), raw
    raise _unreadable(where, "a varint over 10 bytes")


def _field(number: int, payload: bytes) -> bytes:
    """A length-delimited protobuf field."""
    return _encode_varint(number << 3 | 2) + _encode_varint(len(payload)) + payload


def _encode_varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte, value = value & 0x7F, value >> 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def _entry_fields(body: bytes) -> dict[int, bytes]:
    """The length-delimited fields of a ``StringStringEntryProto`` (1: key, 2: value)."""
    out: dict[int, bytes] = {}
    reader = _Bytes(body)
    try:
        while reader.pos < len(body):
            tag, _ = _varint(reader, "entry")
            if tag & 7 != 2:
                return {}
            length, _ = _varint(reader, "entry")
            out[tag >> 3] = _read(reader, length, "entry")
    except SongnetError:
        return {}
    return out


def _entry_key(body: bytes) -> str | None:
    key = _entry_fields(body).get(1)
    return None if key is None else key.decode("utf-8", "replace")


def _entry_value(body: bytes) -> str:
    return _entry_fields(body).get(2, b"").decode("utf-8", "replace")
