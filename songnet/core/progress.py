"""Progress bars for long work, silenced by ``--quiet``.

Core functions never print: they take an optional ``progress`` callback,
``progress(n)`` advancing by ``n`` units. The command layer makes the bar.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tqdm import tqdm

__all__ = ["ProgressCallback", "bar"]

ProgressCallback = Callable[[int], object]


@contextlib.contextmanager
def bar(total: int | float | None, *, desc: str, unit: str = "it", quiet: bool = False,
        unit_scale: bool = False) -> Iterator[tqdm]:
    """A progress bar with counts and rate on standard error; ``bar.update`` is the callback.

    A quiet bar is a silent stand-in with the same methods: importing tqdm costs a short
    command some 60 ms of start-up.
    """
    if quiet:
        yield _Silent(total)
        return
    from tqdm.auto import tqdm
    with tqdm(total=total, desc=desc, unit=unit, disable=quiet, file=sys.stderr,
              dynamic_ncols=True, leave=True, unit_scale=unit_scale) as pbar:
        yield pbar


class _Silent:
    """What a quiet :func:`bar` yields: tqdm's methods, doing nothing."""

    def __init__(self, total: int | float | None) -> None:
        self.total, self.n = total, 0

    def update(self, n: int | float = 1) -> None:
        self.n += n

    def refresh(self, *args: object, **kwargs: object) -> None:
        pass

    def set_postfix(self, *args: object, **kwargs: object) -> None:
        pass

    def set_postfix_str(self, *args: object, **kwargs: object) -> None:
        pass

