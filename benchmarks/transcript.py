"""A benchmark's printed output, also written to a file the documentation includes.

``--transcript PATH`` on a benchmark (:func:`add_option`) tees everything it prints to
``PATH``, under a first line with the command as run and a last line with the date and
the host's load, so a page shows the run itself rather than figures typed from it
(``make transcripts`` writes ``docs/results/transcripts/``, which the guide pages include).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import io
import os
import sys
from collections.abc import Iterator
from pathlib import Path


def add_option(parser: argparse.ArgumentParser) -> None:
    """Add ``--transcript PATH`` to a benchmark's parser."""
    parser.add_argument("--transcript", type=Path, default=None, metavar="PATH",
                        help="also write what this run prints to PATH (for the docs)")


class _Tee(io.TextIOBase):
    def __init__(self, *streams: io.TextIOBase) -> None:
        self.streams = streams

    def write(self, text: str) -> int:
        for s in self.streams:
            s.write(text)
        return len(text)

    def flush(self) -> None:
        for s in self.streams:
            s.flush()


@contextlib.contextmanager
def recorded(path: Path | None, *, script: str) -> Iterator[None]:
    """Within the block, what is printed also goes to ``path`` (nothing when None), which
    is written only when the block ends without an error (never half a transcript)."""
    if path is None:
        yield
        return
    buf = io.StringIO()
    argv = [a for a in sys.argv[1:]]
    if "--transcript" in argv:  # the option that writes this file is not part of the run
        i = argv.index("--transcript")
        del argv[i:i + 2]
    buf.write(f"$ .venv/bin/python benchmarks/{script} {' '.join(argv)}".rstrip() + "\n")
    stdout = sys.stdout
    sys.stdout = _Tee(stdout, buf)
    try:
        yield
    finally:
        sys.stdout = stdout
    buf.write(f"(run {dt.date.today().isoformat()}, load average "
              f"{os.getloadavg()[0]:.2f} on {os.cpu_count()} cores)\n")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(buf.getvalue(), encoding="utf-8")
    tmp.replace(path)
