"""Output formats of ``songnet classify``: table, CSV, JSON, Raven selection tables, summary.

Every writer here is pure: it takes :class:`FileResult` objects and returns text. The
command layer decides where the text goes (standard output, one file, one file per
recording) and writes it atomically.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import json
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

from songnet.classify.events import Event
from songnet.core.errors import SongnetError
from songnet.core.verified import Verdict

__all__ = [
    "FORMATS",
    "RAVEN_COLUMNS",
    "FileResult",
    "error_message",
    "events_csv",
    "events_json",
    "events_table",
    "format_events",
    "output_names",
    "raven_table",
    "summary",
]

FORMATS = ("table", "csv", "json", "raven")
RAVEN_COLUMNS = ("Selection", "View", "Channel", "Begin Time (s)", "End Time (s)",
                 "Low Freq (Hz)", "High Freq (Hz)", "Theme", "Confidence", "Nearest",
                 "Distance")
CSV_COLUMNS = ("file", "start_s", "end_s", "theme", "confidence", "theme_2", "p_2",
               "theme_3", "p_3", "low_hz", "high_hz", "nearest", "distance", "threshold",
               "note_distance", "note_threshold")
SUFFIX = {"table": ".events.txt", "csv": ".events.csv", "json": ".events.json",
          "raven": ".Table.1.selections.txt"}


@dataclasses.dataclass(frozen=True)
class FileResult:
    """What classifying one recording gave.

    Attributes
    ----------
    file : str
        The recording, as the user named it (or as found in a folder).
    events : tuple of Event
        Songs found, in time order (empty: no chingolo song, a valid result).
    duration_s : float
        Seconds of audio processed.
    error : str, optional
        Why the file could not be processed (one line); ``None`` when it was.
    """

    file: str
    events: tuple[Event, ...] = ()
    duration_s: float = 0.0
    error: str | None = None

    @property
    def ok(self) -> bool:
        """True when the file was processed (with or without songs)."""
        return self.error is None


def _all_events(results: Sequence[FileResult]) -> list[Event]:
    return [ev for r in results if r.ok for ev in r.events]


def events_table(results: Sequence[FileResult]) -> str:
    """A readable fixed-width table of every event, one line each."""
    events = _all_events(results)
    if not events:
        return "no chingolo songs found\n"
    rows = [("file", "start_s", "end_s", "theme", "confidence", "top-3")]
    for ev in events:
        top = ", ".join(f"{t} {p:.2f}" for t, p in ev.top)
        rows.append((ev.file, f"{ev.start_s:.2f}", f"{ev.end_s:.2f}", ev.theme,
                     f"{ev.confidence:.2f}", top))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    right = {1, 2, 4}
    lines = []
    for row in rows:
        cells = [c.rjust(w) if i in right else c.ljust(w)
                 for i, (c, w) in enumerate(zip(row, widths, strict=True))]
        lines.append("  ".join(cells).rstrip())
    return "\n".join(lines) + "\n"


def events_csv(results: Sequence[FileResult]) -> str:
    """CSV with one row per event; runners-up in ``theme_2, p_2, theme_3, p_3``."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for ev in _all_events(results):
        runners = [x for t, p in ev.top[1:3] for x in (t, f"{p:.4f}")]
        runners += [""] * (4 - len(runners))
        writer.writerow([ev.file, f"{ev.start_s:.3f}", f"{ev.end_s:.3f}", ev.theme,
                         f"{ev.confidence:.4f}", *runners, f"{ev.low_hz:.1f}",
                         f"{ev.high_hz:.1f}", ev.nearest, _num(ev.distance),
                         _num(ev.threshold), _num(ev.note_distance),
                         _num(ev.note_threshold)])
    return buf.getvalue()


def _num(x: float) -> str:
    """A distance for a text table: 4 decimals, empty when there is none (NaN)."""
    return "" if x != x else f"{x:.4f}"


def events_json(results: Sequence[FileResult]) -> str:
    """A JSON list of ``{file, start_s, end_s, theme, confidence, top: [{theme, p}],
    nearest, distance, threshold, note_distance, note_threshold}`` (``distance`` and
    ``threshold`` null without an open-set matcher; the note fields null where the note
    check does not speak)."""
    data = [{"file": ev.file, "start_s": ev.start_s, "end_s": ev.end_s, "theme": ev.theme,
             "confidence": ev.confidence, "top": [{"theme": t, "p": p} for t, p in ev.top],
             **ev.open_set_fields()}
            for ev in _all_events(results)]
    return json.dumps(data, indent=2, allow_nan=False) + "\n"


def raven_table(result: FileResult) -> str:
    """The Raven selection table (tab-separated) of one recording."""
    lines = ["\t".join(RAVEN_COLUMNS)]
    for i, ev in enumerate(result.events, start=1):
        lines.append("\t".join([str(i), "Spectrogram 1", "1", f"{ev.start_s:.3f}",
                                f"{ev.end_s:.3f}", f"{ev.low_hz:.1f}", f"{ev.high_hz:.1f}",
                                ev.theme, f"{ev.confidence:.4f}", ev.nearest,
                                _num(ev.distance)]))
    return "\n".join(lines) + "\n"


def format_events(results: Sequence[FileResult], *, fmt: str) -> str:
    """All events of ``results`` in one text of format ``fmt`` (raven: one recording)."""
    if fmt == "table":
        return events_table(results)
    if fmt == "csv":
        return events_csv(results)
    if fmt == "json":
        return events_json(results)
    if fmt == "raven":
        good = [r for r in results if r.ok]
        if len(good) != 1:
            raise ValueError("a Raven selection table holds one recording")
        return raven_table(good[0])
    raise ValueError(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}")


def output_names(files: Sequence[str], *, fmt: str) -> dict[str, str]:
    """A distinct output file name for each recording: ``<stem><suffix>``, ``<stem>-2…``."""
    used: set[str] = set()
    names = {}
    for f in files:
        stem = Path(f).stem
        label, k = stem, 2
        while label in used:
            label, k = f"{stem}-{k}", k + 1
        used.add(label)
        names[f] = label + SUFFIX[fmt]
    return names


def summary(results: Sequence[FileResult]) -> str:
    """One line per file (songs found, themes, duration processed), then the failures."""
    lines = []
    for r in results:
        if not r.ok:
            continue
        themes = Counter(ev.theme for ev in r.events)
        what = ", ".join(f"{t}×{n}" for t, n in sorted(themes.items(), key=lambda x: -x[1]))
        songs = f"{len(r.events)} song{'s' if len(r.events) != 1 else ''}"
        lines.append(f"{r.file}: {songs}{f' ({what})' if what else ''} "
                     f"in {r.duration_s:.1f} s")
    failed = [r for r in results if not r.ok]
    done = len(results) - len(failed)
    total_s = sum(r.duration_s for r in results if r.ok)
    n_songs = sum(len(r.events) for r in results if r.ok)
    lines.append(f"{done} file{'s' if done != 1 else ''} processed ({total_s:.1f} s of audio, "
                 f"{n_songs} song{'s' if n_songs != 1 else ''}), {len(failed)} failed")
    lines.extend(f"failed: {r.file}: {r.error}" for r in failed)
    return "\n".join(lines) + "\n"


def verified_table(results: Sequence[FileResult], verified: Sequence[Verdict]) -> str:
    """Precision per theme against a reviewer's verdicts: each event that overlaps a
    verified song is right when the reviewer gave that song the event's theme."""
    checked: dict[str, list[int]] = {}
    for ev in _all_events(results):
        v = next((v for v in verified if v.overlaps(ev.file, ev.start_s, ev.end_s)), None)
        if v is not None:
            tally = checked.setdefault(ev.theme, [0, 0])
            tally[0] += 1
            tally[1] += v.true_theme == ev.theme
    n_events = len(_all_events(results))
    if not checked:
        return (f"verified: none of the {n_events} events lies on a verified song (the "
                "verdicts name other recordings or times)\n")
    lines = [f"verified: {sum(t[0] for t in checked.values())} of {n_events} events lie on "
             "verified songs", f"{'theme':<12} {'verified':>8} {'right':>6} {'precision':>9}"]
    for theme in sorted(checked):
        n, right = checked[theme]
        lines.append(f"{theme:<12} {n:>8} {right:>6} {right / n:>9.2f}")
    n, right = (sum(t[i] for t in checked.values()) for i in (0, 1))
    lines.append(f"{'all':<12} {n:>8} {right:>6} {right / n:>9.2f}")
    return "\n".join(lines) + "\n"


def error_message(path: str, exc: BaseException) -> str | None:
    """The one-line error of a recording that failed with ``exc``; None for a bug."""
    if isinstance(exc, SongnetError):
        msg = " ".join(str(exc).split())
        return msg.removeprefix(f"{path}: ").removeprefix(f"{path} ")
    if isinstance(exc, (OSError, RuntimeError, ValueError, EOFError)):  # a decoder giving up
        first = str(exc).splitlines()[0][:120] if str(exc) else ""
        return (f"cannot be decoded ({type(exc).__name__}: {first}); "
                "check that it is a complete audio file")
    return None
