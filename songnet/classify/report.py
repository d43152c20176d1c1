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
from songnet.core.files import safe_name
from songnet.core.verified import Verdict

__all__ = [
    "COLUMNS",
    "FORMATS",
    "PER_RECORDING",
    "RAVEN_COLUMNS",
    "FileResult",
    "audacity_labels",
    "error_message",
    "events_csv",
    "events_json",
    "events_table",
    "format_events",
    "output_names",
    "raven_table",
    "summary",
]

FORMATS = ("table", "csv", "json", "raven", "audacity")
PER_RECORDING = ("raven", "audacity")
"""Formats whose times count from one recording's start: one file per recording."""
COLUMNS = ("file", "start_s", "end_s", "song_score", "theme", "theme_confidence",
           "unknown_by", "top_1", "p_1", "top_2", "p_2", "top_3", "p_3", "nearest",
           "distance", "threshold", "note_distance", "note_threshold", "low_hz", "high_hz",
           "model")
"""The CSV's columns; the table, JSON and Raven tables hold the same ones (Raven under
its own capitalised names, the table with the ranking as one ``top_3`` column)."""
CSV_COLUMNS = COLUMNS
RAVEN_COLUMNS = ("Selection", "View", "Channel", "Begin Time (s)", "End Time (s)",
                 "Low Freq (Hz)", "High Freq (Hz)", "Song Score", "Theme",
                 "Theme Confidence", "Unknown By", "Top 1", "P 1", "Top 2", "P 2", "Top 3",
                 "P 3", "Nearest", "Distance", "Threshold", "Note Distance",
                 "Note Threshold", "Model")
SUFFIX = {"table": ".events.txt", "csv": ".events.csv", "json": ".events.json",
          "raven": ".Table.1.selections.txt", "audacity": ".labels.txt"}


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


def events_table(results: Sequence[FileResult], *, model: str = "") -> str:
    """A readable fixed-width table of every event, one line each, under a line naming
    the model; empty cells are ``-``."""
    events = _all_events(results)
    head = f"# model: {model}\n" if model else ""
    if not events:
        return head + "no chingolo songs found\n"
    rows = [("file", "start_s", "end_s", "song_score", "theme", "theme_confidence",
             "unknown_by", "top_3", "nearest", "distance", "threshold", "note_distance",
             "note_threshold")]
    for ev in events:
        top = ", ".join(f"{t} {p:.2f}" for t, p in ev.top)
        rows.append((ev.file, f"{ev.start_s:.2f}", f"{ev.end_s:.2f}", f"{ev.song_score:.2f}",
                     ev.theme, f"{ev.theme_confidence:.2f}", ev.unknown_by or "-", top,
                     ev.nearest or "-", *(_num(x, 2) or "-" for x in (
                         ev.distance, ev.threshold, ev.note_distance, ev.note_threshold))))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    right = {1, 2, 3, 5, 9, 10, 11, 12}
    lines = []
    for row in rows:
        cells = [c.rjust(w) if i in right else c.ljust(w)
                 for i, (c, w) in enumerate(zip(row, widths, strict=True))]
        lines.append("  ".join(cells).rstrip())
    return head + "\n".join(lines) + "\n"


def _ranked(ev: Event, k: int = 3) -> list[str]:
    """``top_1, p_1, ..., top_k, p_k`` as text cells ("" past the ranking's end)."""
    cells = [x for t, p in ev.top[:k] for x in (t, f"{p:.4f}")]
    return cells + [""] * (2 * k - len(cells))


def _cells(ev: Event, model: str) -> list[str]:
    """The values of :data:`COLUMNS` as text: times to 3 decimals, probabilities and
    distances to 4, frequencies to 1, "" where there is no value."""
    return [ev.file, f"{ev.start_s:.3f}", f"{ev.end_s:.3f}", f"{ev.song_score:.4f}",
            ev.theme, f"{ev.theme_confidence:.4f}", ev.unknown_by, *_ranked(ev),
            ev.nearest, _num(ev.distance), _num(ev.threshold), _num(ev.note_distance),
            _num(ev.note_threshold), f"{ev.low_hz:.1f}", f"{ev.high_hz:.1f}", model]


def events_csv(results: Sequence[FileResult], *, model: str = "") -> str:
    """CSV with one row per event, the columns of :data:`COLUMNS`."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(COLUMNS)
    for ev in _all_events(results):
        writer.writerow(_cells(ev, model))
    return buf.getvalue()


def _num(x: float, digits: int = 4) -> str:
    """A distance for a text table: ``digits`` decimals, empty when there is none (NaN)."""
    return "" if x != x else f"{x:.{digits}f}"


def events_json(results: Sequence[FileResult], *, model: str = "") -> str:
    """A JSON list of events (:meth:`songnet.classify.events.Event.to_dict`: the columns
    of :data:`COLUMNS`, the ranking as ``top: [{theme, p}]``, null where there is no
    value), each with the ``model`` it came from."""
    data = [{**ev.to_dict(), "model": model} for ev in _all_events(results)]
    return json.dumps(data, indent=2, allow_nan=False) + "\n"


def raven_table(result: FileResult, *, model: str = "") -> str:
    """The Raven selection table (tab-separated) of one recording: Raven's own columns,
    then songnet's (:data:`RAVEN_COLUMNS`)."""
    lines = ["\t".join(RAVEN_COLUMNS)]
    for i, ev in enumerate(result.events, start=1):
        cells = _cells(ev, model)
        lines.append("\t".join([str(i), "Spectrogram 1", "1", cells[1], cells[2],
                                 cells[-3], cells[-2], *cells[3:-3], model]))
    return "\n".join(lines) + "\n"


def audacity_labels(result: FileResult) -> str:
    """An Audacity label track of one recording (File > Import > Labels): per event a
    ``start<TAB>end<TAB>label`` line and its frequency band on a ``\\<TAB>low<TAB>high``
    line. The label reads e.g. ``T05 song 0.93 theme 0.81`` or ``unknown (distance) song
    0.88``."""
    lines = []
    for ev in result.events:
        what = f"{ev.theme} ({ev.unknown_by})" if ev.unknown_by else ev.theme
        conf = "" if ev.unknown_by else f" theme {ev.theme_confidence:.2f}"
        lines.append(f"{ev.start_s:.6f}\t{ev.end_s:.6f}\t{what} song {ev.song_score:.2f}{conf}")
        lines.append(f"\\\t{ev.low_hz:.6f}\t{ev.high_hz:.6f}")
    return "".join(line + "\n" for line in lines)


def format_events(results: Sequence[FileResult], *, fmt: str, model: str = "") -> str:
    """All events of ``results`` in one text of format ``fmt`` (raven, audacity: one
    recording), recording the ``model`` they came from
    (:func:`songnet.model.identity.model_id`; an Audacity label track has no place for it).
    """
    if fmt == "table":
        return events_table(results, model=model)
    if fmt == "csv":
        return events_csv(results, model=model)
    if fmt == "json":
        return events_json(results, model=model)
    if fmt in PER_RECORDING:
        good = [r for r in results if r.ok]
        if len(good) != 1:
            raise ValueError(f"a {fmt} output holds one recording")
        return raven_table(good[0], model=model) if fmt == "raven" \
            else audacity_labels(good[0])
    raise ValueError(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}")


def output_names(files: Sequence[str], *, fmt: str) -> dict[str, str]:
    """A distinct output file name for each recording: ``<stem><suffix>``, ``<stem>-2…``."""
    used: set[str] = set()
    names = {}
    for f in files:
        stem = safe_name(Path(f).stem, default="recording")
        label, k = stem, 2
        while label in used:
            label, k = f"{stem}-{k}", k + 1
        used.add(label)
        names[f] = label + SUFFIX[fmt]
    return names


def summary(results: Sequence[FileResult], *, model: str = "") -> str:
    """The model used, one line per file (songs found, themes, duration processed), then
    the failures."""
    lines = [f"model: {model}"] if model else []
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
