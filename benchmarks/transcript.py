"""A benchmark's printed output, also written to a file the documentation includes.

``--transcript PATH`` on a benchmark (:func:`add_option`) tees everything it prints to
``PATH``, under a first line with the command as run and a last line with the date and
the host's load, so a page shows the run itself rather than figures typed from it
(``make transcripts`` writes ``docs/results/transcripts/``, which the guide pages include).
Any other benchmark runs through this script as a wrapper, to the same effect::

    .venv/bin/python benchmarks/transcript.py OUT.txt boundaries.py [ARGS...]

(the benchmark in a child process from the repository root; its standard output is
echoed and kept, its standard error passes through; ``OUT.txt`` is written only when it
exits 0).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import io
import os
import subprocess
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
    _write(path, buf.getvalue())


def _write(path: Path, text: str) -> None:
    """``text`` and a last line with the date and the host's load, to ``path`` at once."""
    text += (f"(run {dt.date.today().isoformat()}, load average "
             f"{os.getloadavg()[0]:.2f} on {os.cpu_count()} cores)\n")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)


def main() -> int:
    parser = argparse.ArgumentParser(description="Run a benchmark and keep its transcript.")
    parser.add_argument("out", type=Path, help="the transcript file to write")
    parser.add_argument("script", help="a benchmark in benchmarks/ (e.g. boundaries.py)")
    parser.add_argument("args", nargs=argparse.REMAINDER, help="its arguments")
    args = parser.parse_args()
    root = Path(__file__).resolve().parents[1]
    script = root / "benchmarks" / args.script
    if not script.is_file():
        parser.error(f"no benchmark {script}")
    command = f"$ .venv/bin/python benchmarks/{args.script} {' '.join(args.args)}".rstrip()
    lines = [command + "\n"]
    with subprocess.Popen([sys.executable, str(script), *args.args], cwd=root,
                          stdout=subprocess.PIPE, text=True) as proc:
        assert proc.stdout is not None
        for line in proc.stdout:
            sys.stdout.write(line)
            lines.append(line)
    if proc.returncode != 0:
        print(f"{args.script} exited {proc.returncode}; {args.out} not written",
              file=sys.stderr)
        return proc.returncode
    _write(args.out, "".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
