"""How long themes discover's grouping takes as songs grow: one grouping against two.

Songs of ``--themes`` themes (each a random introduction of 2-5 notes), ``--songs`` songs
a bird, each bird one recording: each bird sings each note off its theme (pitch 1.5 %,
length 6 %, s.d.) and each song off its bird (1.5 % and 3 %), as the synthesize stage
draws its birds (:func:`songnet.surrogates.birds.draw_bird`), read without audio (the
note vectors themselves), so this times the grouping alone. It prints, per size, the
seconds of ``group_songs`` with ``between_birds=False`` (grouped once, with the
within-recording tolerance) and with the default (grouped twice, the second time with the
between-bird tolerance), and their ratio (a timing: these birds are drawn to vary, not to
be sorted right)::

    songs= once_s= twice_s= ratio=

Above 1 000 songs both group by representatives (``songnet.discover.group.EXACT_UP_TO``).

    .venv/bin/python benchmarks/discover_group.py [--sizes 500 3000] [--seed 0]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from songnet.discover.group import group_songs
from songnet.discover.songs import SongFound


def _sung(notes: np.ndarray, rng: np.random.Generator, pitch_sd: float, length_sd: float
          ) -> np.ndarray:
    """``notes`` (rows of start, middle and end pitch, length) with each note's pitch and
    length scaled by its own 1 + N(0, sd)."""
    k = len(notes)
    return notes * np.column_stack([np.repeat(rng.normal(1, pitch_sd, k)[:, None], 3, 1),
                                    rng.normal(1, length_sd, k)])


def scene(n_songs: int, *, themes: int, songs: int, rng: np.random.Generator
          ) -> list[SongFound]:
    """``n_songs`` songs: ``themes`` themes, as many birds as it takes, ``songs`` a bird."""
    intros = []
    for _ in range(themes):
        k = int(rng.integers(2, 6))
        intros.append(np.column_stack([np.repeat(rng.uniform(3000, 7000, k)[:, None], 3, 1),
                                       rng.uniform(0.04, 0.3, k)]))
    out: list[SongFound] = []
    bird = 0
    while len(out) < n_songs:
        own = _sung(intros[bird % themes], rng, 0.015, 0.06)
        for i in range(min(songs, n_songs - len(out))):
            out.append(SongFound(source=f"rec-{bird}", start_s=10.0 * i, end_s=10.0 * i + 2,
                                 p_song=1.0, notes=np.log(_sung(own, rng, 0.015, 0.03)),
                                 trill_interval_s=0.07, trill_start_hz=6000.0,
                                 trill_end_hz=3000.0, trill_count=12, description=""))
        bird += 1
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[500, 3000])
    ap.add_argument("--themes", type=int, default=40)
    ap.add_argument("--songs", type=int, default=5, help="songs per bird (one recording)")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    for n in args.sizes:
        songs = scene(n, themes=args.themes, songs=args.songs,
                      rng=np.random.default_rng(args.seed))
        t0 = time.perf_counter()
        group_songs(songs, between_birds=False)
        t1 = time.perf_counter()
        group_songs(songs)
        t2 = time.perf_counter()
        print(f"songs={n} once_s={t1 - t0:.1f} twice_s={t2 - t1:.1f} "
              f"ratio={(t2 - t1) / (t1 - t0):.2f}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
