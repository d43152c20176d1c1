"""Numbers from files and options, bounded before use.

A YAML file (params, a theme, a dialect) can hold any integer, of any number of digits,
and ``.nan`` or ``.inf``; an option such as ``--scheduler local:N`` can hold any digits.
:func:`bounded_yaml` parses a YAML text and refuses a number that no songnet value needs
(an integer beyond ±:data:`MAX_INT`, a float that is not finite, an integer too long for
Python to convert) with one error naming the file, the key and the value;
:func:`parse_count` reads a count from text the same way.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from typing import Any

from songnet.core.errors import SongnetError

__all__ = ["MAX_INT", "bounded_yaml", "check_numbers", "parse_count"]

MAX_INT = 2**53
"""Largest magnitude of an integer in a YAML file (every such integer is exact as a float;
seeds, counts and sizes are far smaller)."""
_LONG_DIGITS = re.compile(r"[0-9][0-9_]{99,}")


def bounded_yaml(parse: Callable[[str], Any], text: str, *, where: str,
                 error: type[Exception] = SongnetError) -> Any:
    """Parse a YAML ``text`` with ``parse`` and check every number it holds.

    Parameters
    ----------
    parse : callable
        Text -> data (a safe YAML loader); its own errors pass through.
    text : str
        The file's contents.
    where : str
        Names the file in messages.
    error : exception type
        The :class:`SongnetError` subclass to raise.

    Returns
    -------
    The parsed data.

    Raises
    ------
    error
        For an integer the YAML loader cannot convert (more digits than Python converts)
        or a date that does not exist, and for what :func:`check_numbers` refuses.
    """
    try:
        data = parse(text)
    except ValueError:  # int() of a number over Python's digit limit, datetime(2020, 13, 1)
        match = _LONG_DIGITS.search(text)
        if match is not None:
            line = text.count("\n", 0, match.start()) + 1
            raise error(f"{where}: line {line}: a number of {len(match.group())} digits; no "
                        f"value needs more than {len(str(MAX_INT))}: fix the file") from None
        raise error(f"{where}: a value YAML cannot convert (a number or a date out of range); "
                    "fix the file") from None
    check_numbers(data, where=where, error=error)
    return data


def check_numbers(data: Any, *, where: str, error: type[Exception] = SongnetError,
                  max_int: int = MAX_INT) -> None:
    """Refuse an integer beyond ±``max_int`` or a float that is not finite, at any depth of
    ``data`` (mappings, their keys, lists).

    Raises
    ------
    error
        Naming ``where``, the key path (``classify.hop_s``, ``notes[0].gap_ms``) and the
        value.
    """
    todo: list[tuple[str, Any]] = [("", data)]
    while todo:
        key, value = todo.pop()
        if isinstance(value, Mapping):
            for k, v in value.items():
                _check_one(f"{key} key", k, where, error, max_int)
                todo.append((f"{key}.{k}" if key else str(k), v))
        elif isinstance(value, (list, tuple)):
            todo.extend((f"{key}[{i}]", v) for i, v in enumerate(value))
        else:
            _check_one(key or "the file", value, where, error, max_int)


def _check_one(key: str, value: Any, where: str, error: type[Exception], max_int: int) -> None:
    if isinstance(value, bool):
        return
    if isinstance(value, int) and abs(value) > max_int:
        digits = int(value.bit_length() * math.log10(2)) + 1  # str() of a huge int raises
        raise error(f"{where}: {key} is a number of about {digits} digits, out of range "
                    f"(at most ±{max_int}); fix the file")
    if isinstance(value, float) and not math.isfinite(value):
        raise error(f"{where}: {key} must be a finite number, got {value}; NaN and infinity "
                    "are not allowed")


def parse_count(text: str, *, what: str, low: int = 1, high: int, why: str = "") -> int:
    """A whole number written in ``text`` (ASCII digits only), in ``low``–``high``.

    Parameters
    ----------
    text : str
        The digits, as typed (``"4"`` of ``local:4``).
    what : str
        Names the value in messages (``"--scheduler local:100000"``).
    low, high : int
        The range allowed.
    why : str
        Said after the range in messages (``" worker processes (the CPUs …)"``).

    Raises
    ------
    SongnetError
        For anything but ASCII digits, or a count outside the range, naming ``what``.
    """
    if not (text.isascii() and text.isdigit()) or len(text) > 18:
        raise SongnetError(f"{what}: {text[:20]!r} is not a whole number in {low}–{high}{why}")
    value = int(text)
    if not low <= value <= high:
        raise SongnetError(f"{what}: {value} must lie in {low}–{high}{why}; pass at most "
                           f"{high}")
    return value
