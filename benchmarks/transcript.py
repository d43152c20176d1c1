"""A benchmark's printed output, also written to a file the documentation includes.

Runs a benchmark in a child process from the repository root, echoes its standard output
and keeps it, under a first line with the command as run and a last line with the date
and the host's load, so a page shows the run itself rather than figures typed from it
(``make transcripts`` and ``make figures`` write ``docs/results/transcripts/``, which the
guide pages include)::

    .venv/bin/python benchmarks/transcript.py OUT.txt boundaries.py [ARGS...]

The benchmark's standard error passes through; ``OUT.txt`` is written, at once, only when
it exits 0 (never half a transcript).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import subprocess
import sys
from pathlib import Path


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
    lines.append(f"(run {dt.date.today().isoformat()}, load average "
                 f"{os.getloadavg()[0]:.2f} on {os.cpu_count()} cores)\n")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    tmp = args.out.with_name(f".{args.out.name}.tmp")
    tmp.write_text("".join(lines), encoding="utf-8")
    tmp.replace(args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
