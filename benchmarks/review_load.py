"""How fast a large review page opens, and how large it is.

Makes a review page (``songnet review``) of ``--events`` events (default 5 000, 2-s songs
spread over a 10-minute recording of coloured noise with tones) and of a reference page of
50 events, opens each in Chromium (Playwright, the system's Chromium) ``--runs`` times
from the file system, and takes the time from navigation to the list drawn (the page's
own ``performance.now()`` once its first render returns; images and clips load later, as
they scroll into view). Prints each page's median load time, their ratio, the time
``songnet review`` took to make the big page, and its size per minute of reviewed audio,
then::

    events= load_s= ratio_to_50= make_s= mb_per_min=

Target (issue 31): 5 000 events load in under 2 s; under ~1 MB per minute of reviewed
audio.

    .venv/bin/python benchmarks/review_load.py [--events 5000] [--runs 5]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from songnet.cli import main as songnet_main

SR = 22050
CHROMIUM = os.environ.get("SONGNET_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"


def recording(path: Path, seconds: float, rng: np.random.Generator) -> None:
    t = np.arange(int(seconds * SR)) / SR
    y = 0.05 * rng.standard_normal(t.size)
    y += 0.3 * np.sin(2 * np.pi * (4000 + 500 * np.sin(2 * np.pi * 0.7 * t)) * t) * (
        np.sin(2 * np.pi * 0.25 * t) > 0.3)
    sf.write(path, y.astype(np.float32), SR)


def events(path: Path, wav: Path, n: int, seconds: float) -> None:
    starts = np.linspace(1.0, seconds - 4.0, n)
    themes = [f"T{k:02d}" for k in range(1, 12)]
    data = [{"file": str(wav), "start_s": float(a), "end_s": float(a) + 2.0,
             "theme": themes[i % len(themes)], "confidence": 0.5 + 0.5 * ((i * 37) % 100) / 100,
             "top": [], "nearest": themes[i % len(themes)], "distance": 0.2,
             "threshold": 0.3, "note_distance": None, "note_threshold": None}
            for i, a in enumerate(starts)]
    path.write_text(json.dumps(data))


def load_times(page: Path, runs: int) -> list[float]:
    from playwright.sync_api import sync_playwright

    out = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM)
        for _ in range(runs + 1):  # the first opens the browser's caches: not counted
            tab = browser.new_page()
            tab.goto(page.as_uri(), wait_until="domcontentloaded")
            tab.wait_for_function("document.querySelectorAll('.item').length > 0")
            out.append(tab.evaluate("performance.now()") / 1000)
            tab.close()
        browser.close()
    return out[1:]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--events", type=int, default=5000)
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    if not Path(CHROMIUM).exists():
        print(f"no Chromium at {CHROMIUM}: apt-get install chromium", file=sys.stderr)
        return 2
    seconds = 600.0
    with tempfile.TemporaryDirectory() as t:
        tmp = Path(t)
        wav = tmp / "rec.wav"
        recording(wav, seconds, np.random.default_rng(0))
        results = {}
        for n in (50, args.events):
            ev = tmp / f"events{n}.json"
            events(ev, wav, n, seconds)
            t0 = time.perf_counter()
            if songnet_main(["review", str(ev), "-o", str(tmp / f"review{n}"), "-q"]):
                return 1
            make_s = time.perf_counter() - t0
            size = sum(p.stat().st_size for p in (tmp / f"review{n}").rglob("*")
                       if p.is_file())
            load = statistics.median(load_times(tmp / f"review{n}" / "index.html", args.runs))
            results[n] = (load, make_s, size / 2**20 / (n * 4.0 / 60))
            print(f"{n} events: load {load:.3f} s (median of {args.runs}), made in "
                  f"{make_s:.1f} s, {results[n][2]:.2f} MB per minute of clips", flush=True)
    load, make_s, per_min = results[args.events]
    print(f"events={args.events} load_s={load:.3f} ratio_to_50={load / results[50][0]:.2f} "
          f"make_s={make_s:.1f} mb_per_min={per_min:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
