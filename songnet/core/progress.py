"""Progress bars for long work, silenced by ``--quiet``.

Core functions never print: they take an optional ``progress`` callback,
``progress(n)`` advancing by ``n`` units. The command layer makes the bar.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable, Iterator

from tqdm.auto import tqdm

__all__ = ["ProgressCallback", "bar"]

ProgressCallback = Callable[[int], object]


@contextlib.contextmanager
def bar(total: int | float | None, *, desc: str, unit: str = "it", quiet: bool = False,
        unit_scale: bool = False) -> Iterator[tqdm]:
    """A progress bar with counts and rate on standard error; ``bar.update`` is the callback."""
    with tqdm(total=total, desc=desc, unit=unit, disable=quiet, file=sys.stderr,
              dynamic_ncols=True, leave=True, unit_scale=unit_scale) as pbar:
        yield pbar
