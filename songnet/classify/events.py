"""Window probabilities → song events.

The classifier scores fixed-length windows that slide over a recording; a window's last
class is ``no_song``. This module turns those scores into song **events**: runs of
windows that hold a song, split and timed by where sound actually is (frame activity in
the Constant-Q frames), each with a start, an end, a theme, a confidence and the top
themes.

The timing rests on one observation: a song lies inside every window that detects it,
so the windows' common part brackets the song, and the loud frames inside that bracket
give its onset and offset to within a few CQT frames. Loud is not the song, though (a
reverberant tail, another bird close by): where the song can be read in those frames, its
own notes time the event (:mod:`songnet.classify.bounds`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from songnet.classify.activity import Activity, loud_segments
from songnet.classify.bounds import event_frames, song_bounds
from songnet.classify.scores import Candidates, WindowScores, holding_windows, pooled_scores
from songnet.core.errors import SongnetError
from songnet.core.journal import number_field, text_field
from songnet.core.labels import UNKNOWN, ranks_unknown_first, theme_classes
from songnet.core.quantiles import percentile
from songnet.song.notecheck import NoteCheck, measure_vectors
from songnet.song.track import peaks_track

__all__ = ["OTHER", "UNKNOWN_BY", "Event", "check_themes", "find_events"]


UNKNOWN_BY = ("network", "distance", "note_check")
"""Who calls a song ``unknown``: the network's own ``unknown`` class ranks first, the
song's embedding lies beyond its nearest theme's open-set threshold, or its introduction
lies beyond the note check's threshold from the named theme's (the first that applies)."""
OTHER = "other"
"""The theme of a song named a catalog theme outside the themes asked for
(``songnet classify --themes``)."""


@dataclasses.dataclass(frozen=True)
class Event:
    """One detected song.

    Attributes
    ----------
    file : str
        The recording it was found in.
    start_s, end_s : float
        Onset and offset in seconds from the start of the recording.
    song_score : float
        How sure songnet is that a chingolo song is there, whatever its theme: the
        network's ``1 - p(no_song)`` for the song (its own image, or the mean of the windows
        holding it). The detection threshold (``detect_threshold``, ``--sensitivity``)
        applies to it. In [0, 1].
    theme : str
        The decision: a catalog theme, ``unknown`` (see ``unknown_by``) or ``other`` (a
        catalog theme outside ``--themes``).
    theme_confidence : float
        How sure the network is of its own first choice among the themes and its
        ``unknown`` class, given that a song is there: that class's probability divided
        by ``song_score``. In [0, 1]. With ``unknown_by`` ``distance`` or ``note_check``
        the choice it measures was overruled.
    top : tuple of (str, float)
        The network's own ranking of the catalog themes (never ``unknown``): the ``top_k``
        most probable with their probabilities given a song, best first.
    low_hz, high_hz : float
        The frequency band the song occupies (for a Raven selection box).
    nearest : str
        The catalog theme whose centroid is nearest to the song's embedding ("" when the
        model has no open-set matcher).
    distance : float
        The distance to that centroid, in the matcher's units (NaN without a matcher).
    threshold : float
        The open-set threshold of ``nearest``: farther is ``unknown`` (NaN without one).
    note_distance : float
        How many notes' worth the song's introduction, measured on its Constant-Q frames,
        differs from that of the theme the network named
        (:class:`songnet.song.notecheck.NoteCheck`);
        farther than ``note_threshold`` is ``unknown``. NaN where the check does not speak:
        no check in the model, an introduction not measured cleanly, another number of
        notes than the theme's, or a song already ``unknown``.
    note_threshold : float
        The model's note-check threshold (NaN without one).
    unknown_by : str
        Who made an ``unknown`` call (one of :data:`UNKNOWN_BY`); "" for a named theme.
    """

    file: str
    start_s: float
    end_s: float
    song_score: float
    theme: str
    theme_confidence: float
    top: tuple[tuple[str, float], ...]
    low_hz: float
    high_hz: float
    nearest: str = ""
    distance: float = float("nan")
    threshold: float = float("nan")
    note_distance: float = float("nan")
    note_threshold: float = float("nan")
    unknown_by: str = ""

    def to_dict(self) -> dict[str, Any]:
        """Every field as JSON takes it: ``top`` as ``[{"theme", "p"}]``, NaN as None,
        probabilities and distances to 4 decimals, times to 3, frequencies to 1."""
        def num(x: float, digits: int) -> float | None:
            return None if x != x else round(float(x), digits)
        return {"file": self.file, "start_s": num(self.start_s, 3),
                "end_s": num(self.end_s, 3), "song_score": num(self.song_score, 4),
                "theme": self.theme, "theme_confidence": num(self.theme_confidence, 4),
                "unknown_by": self.unknown_by,
                "top": [{"theme": t, "p": num(p, 4)} for t, p in self.top],
                "nearest": self.nearest, "distance": num(self.distance, 4),
                "threshold": num(self.threshold, 4),
                "note_distance": num(self.note_distance, 4),
                "note_threshold": num(self.note_threshold, 4),
                "low_hz": num(self.low_hz, 1), "high_hz": num(self.high_hz, 1)}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Event:
        """The event :meth:`to_dict` wrote; ``SongnetError`` for anything else (a missing
        or mistyped field, a number that is not finite where one is needed)."""
        def number(key: str, **bounds: float) -> float:
            return number_field(d, key, what="event", **bounds)

        def maybe(key: str) -> float:  # a distance: null where there is none
            return number_field(d, key, what="event", low=0.0, null_nan=True)

        def text(key: str) -> str:
            return text_field(d, key, what="event", limit=200, default="")

        if not isinstance(d, Mapping):
            raise SongnetError("an event is not a JSON object")
        top = d.get("top")
        if not isinstance(top, list) or len(top) > 50 or not all(
                isinstance(t, Mapping) and isinstance(t.get("theme"), str) for t in top):
            raise SongnetError("event field top is not a list of {theme, p}")
        ranked = tuple((str(t["theme"]), number_field(t, "p", what="event top", low=0.0,
                                                      high=1.0)) for t in top)
        unknown_by = text_field(d, "unknown_by", what="event", limit=20, default="",
                                choices=("", *UNKNOWN_BY))
        start, end = number("start_s", low=0.0), number("end_s", low=0.0)
        if end < start:
            raise SongnetError(f"event ends ({end:g} s) before it starts ({start:g} s)")
        return cls(file=text("file"), start_s=start, end_s=end,
                   song_score=number("song_score", low=0.0, high=1.0), theme=text("theme"),
                   theme_confidence=number("theme_confidence", low=0.0, high=1.0),
                   top=ranked, low_hz=number("low_hz", low=0.0),
                   high_hz=number("high_hz", low=0.0), nearest=text("nearest"),
                   distance=maybe("distance"), threshold=maybe("threshold"),
                   note_distance=maybe("note_distance"),
                   note_threshold=maybe("note_threshold"), unknown_by=unknown_by)

    @property
    def duration_s(self) -> float:
        """Event length in seconds."""
        return self.end_s - self.start_s


def find_events(scores: WindowScores, *, activity: Activity | None = None,
                detect_threshold: float = 0.5, min_confidence: float = 0.0,
                split_gap_s: float = 0.5, min_event_s: float = 0.2, top_k: int = 3,
                band_hz: tuple[float, float] = (0.0, 0.0), open_set: Any = None,
                candidates: Candidates | None = None, unknown_min_p: float = 0.0,
                source: str = "<array>", note_check: NoteCheck | None = None,
                min_song_score: float = 0.0, themes: Sequence[str] = ()) -> list[Event]:
    """Merge window probabilities into song events.

    Each loud stretch of the recording (from ``activity``) is a candidate; its *holding
    windows* are those that contain the most of it (all of it, for a stretch shorter than
    a window). It is a song when their mean ``1 - p(no_song)`` reaches
    ``detect_threshold``, and its theme probabilities are their mean weighted by that
    song probability. Runs of song windows with no loud stretch at all (a faint song, or
    no ``activity``) give one event spanning the part common to all of the run's windows.

    Parameters
    ----------
    scores : WindowScores
        Probabilities of ``n`` windows on a regular grid.
    activity : Activity, optional
        Frame activity of the same recording. With its ``peaks``, each event runs from its
        song's first note to the end of its trill where the song can be read there
        (:func:`songnet.classify.bounds.song_bounds`).
    detect_threshold : float
        A window (or a stretch's holding windows) holds a song when
        ``1 - p(no_song)`` reaches this.
    min_confidence : float
        Events whose ``theme_confidence`` is below this are dropped.
    split_gap_s : float
        Quiet gaps shorter than this are bridged; longer ones separate songs.
    min_event_s : float
        Loud stretches shorter than this are ignored (clicks, drops).
    top_k : int
        How many themes each event lists in ``top``.
    band_hz : (float, float)
        Fallback (low, high) band in Hz for events without activity information.
    open_set : ThemeMatcher, optional
        The model's open-set matcher (:mod:`songnet.model.openset`); with it and window
        ``embeddings``, each event gets its nearest theme and distance, and is ``unknown``
        beyond the threshold.
    candidates : Candidates, optional
        Song candidates scored alone (what :mod:`songnet.classify.windows` gives). When
        given, they replace the loud stretches and their holding windows: a candidate is a
        song when its own ``1 - p(no_song)`` reaches ``detect_threshold``, and its
        probabilities and embedding are its own. Windows still give the events of song
        windows with no candidate in them (a song too faint to be loud).
    unknown_min_p : float
        A song whose most probable class is ``unknown`` (when the classes hold it) needs at
        least this probability of it; weaker ones are not songs (the model's
        ``unknown_min_p``, fitted by ``train`` on the validation birds).
    source : str
        The recording's name, copied into each event.
    note_check : NoteCheck, optional
        The model's note check (:class:`songnet.song.notecheck.NoteCheck`); with it and the
        activity's ``peaks``, a song the network names a theme whose introduction, measured
        cleanly, lies farther than its threshold from that theme's is ``unknown``.
    min_song_score : float
        Events whose ``song_score`` is below this are dropped (a filter on what is
        reported; ``detect_threshold`` decides what is a song).
    themes : sequence of str
        Report only these catalog themes: a song named another is :data:`OTHER`
        (empty: every theme).

    Returns
    -------
    list of Event
        In time order; empty when no window holds a song.
    """
    if not 0.0 < detect_threshold <= 1.0:
        raise SongnetError(f"detect_threshold={detect_threshold} must be in (0, 1]")
    for name, x in (("min_confidence", min_confidence), ("min_song_score", min_song_score)):
        if not 0.0 <= x <= 1.0:
            raise SongnetError(f"{name}={x} must be in [0, 1]")
    check_themes(themes, scores.classes)
    p_song = 1.0 - scores.probs[:, -1].astype(np.float64)  # (n,)
    if candidates is not None:
        loud, found = _candidate_songs(candidates, detect_threshold=detect_threshold)
    else:
        loud = (loud_segments(activity, split_gap_s=split_gap_s, min_event_s=min_event_s)
                if activity is not None else [])
        found = _loud_songs(scores, loud, p_song, detect_threshold=detect_threshold)
    found += _faint_songs(scores, loud, p_song, detect_threshold=detect_threshold)
    events = []
    for seg, probs, emb in sorted(found, key=lambda c: c[0]):
        if (ranks_unknown_first(probs[None], scores.classes)[0]
                and probs[scores.classes.index(UNKNOWN)] < unknown_min_p):
            continue  # weaker evidence of an unknown theme than the model's own songs give
        if activity is not None:  # the song's own span, where it can be read
            seg = song_bounds(activity, *seg) or seg
        event = _event(scores.classes, probs, emb, seg, activity=activity, top_k=top_k,
                       band_hz=band_hz, open_set=open_set, source=source)
        if note_check is not None and activity is not None and activity.peaks is not None:
            event = _note_checked(event, activity, note_check)
        if themes and event.theme not in themes and event.theme != UNKNOWN:
            event = dataclasses.replace(event, theme=OTHER)
        if event.theme_confidence >= min_confidence and event.song_score >= min_song_score:
            events.append(event)
    return events


_Song = tuple[tuple[float, float], np.ndarray, np.ndarray | None]
"""A song found: its ``(start_s, end_s)``, class probabilities and embedding (or None)."""


def _candidate_songs(candidates: Candidates, *, detect_threshold: float
                     ) -> tuple[list[tuple[float, float]], list[_Song]]:
    """Every candidate's span, and the candidates whose own ``1 - p(no_song)`` makes
    them songs."""
    loud = list(zip(np.asarray(candidates.start_s, dtype=float).tolist(),
                    np.asarray(candidates.end_s, dtype=float).tolist(), strict=True))
    found = [(seg, candidates.probs[i].astype(np.float64), candidates.embeddings[i])
             for i, seg in enumerate(loud)
             if 1.0 - float(candidates.probs[i, -1]) >= detect_threshold]
    return loud, found


def _loud_songs(scores: WindowScores, loud: list[tuple[float, float]], p_song: np.ndarray,
                *, detect_threshold: float) -> list[_Song]:
    """The loud stretches whose holding windows hold a song, pooled over those windows."""
    found: list[_Song] = []
    for seg in loud:
        holding = holding_windows(scores.starts_s, seg, window_s=scores.window_s)
        if holding.size and p_song[holding].mean() >= detect_threshold:
            found.append((seg, *pooled_scores(scores, holding, p_song)))
    return found


def _faint_songs(scores: WindowScores, loud: list[tuple[float, float]], p_song: np.ndarray,
                 *, detect_threshold: float) -> list[_Song]:
    """Runs of song windows with no loud stretch in them: one song each, spanning the part
    common to all of the run's windows (or their union, where they share none)."""
    found: list[_Song] = []
    for run in _runs(np.flatnonzero(p_song >= detect_threshold)):
        first, last = float(scores.starts_s[run[0]]), float(scores.starts_s[run[-1]])
        union = (first, last + scores.window_s)
        if any(a < union[1] and b > union[0] for a, b in loud):
            continue
        common = (last, first + scores.window_s)
        found.append((common if common[1] > common[0] else union,
                      *pooled_scores(scores, run, p_song)))
    return found


def check_themes(themes: Sequence[str], classes: Sequence[str]) -> None:
    """``SongnetError`` naming the first of ``themes`` that is not a catalog theme of a
    model with ``classes``."""
    known = theme_classes(classes)
    for t in themes:
        if t not in known:
            raise SongnetError(f"theme {t!r} is not in the model's catalog (its themes: "
                               f"{', '.join(known)}); fix --themes or the theme list")


def _note_checked(event: Event, activity: Activity, check: NoteCheck) -> Event:
    """``event`` with its note distance, and ``unknown`` when the distance exceeds the
    check's threshold (the network's own ``unknown`` and other names are kept as they are
    where the check does not speak)."""
    if event.theme not in check.templates:
        return dataclasses.replace(event, note_threshold=check.threshold)
    f0, peak, median = activity.peaks[:, event_frames(activity, event.start_s, event.end_s)]
    vectors = measure_vectors(peaks_track(f0, peak, median, activity.frame_s))
    d = check.distance(event.theme, vectors)
    if d > check.threshold:
        event = dataclasses.replace(event, theme=UNKNOWN, unknown_by="note_check")
    return dataclasses.replace(event, note_distance=round(d, 4),
                               note_threshold=round(check.threshold, 4))


def _runs(indices: np.ndarray) -> list[np.ndarray]:
    """Split sorted indices into runs of consecutive integers."""
    if indices.size == 0:
        return []
    breaks = np.flatnonzero(np.diff(indices) > 1) + 1
    return np.split(indices, breaks)


def _event(classes: Sequence[str], probs: np.ndarray, emb: np.ndarray | None,
           seg: tuple[float, float], *, activity: Activity | None, top_k: int,
           band_hz: tuple[float, float], open_set: Any, source: str) -> Event:
    """One song's event from its class probabilities (``no_song`` last) and embedding."""
    start, end = seg
    song_score = float(1.0 - probs[-1])
    given = np.asarray(probs[:-1], dtype=np.float64) / max(song_score, 1e-12)  # p(c | song)
    first = int(np.argmax(given))  # the network's first choice, its unknown class included
    ranked = [i for i in np.argsort(-given, kind="stable") if classes[i] != UNKNOWN]
    top = tuple((classes[i], round(float(given[i]), 4)) for i in ranked[:max(1, top_k)])
    low, high = _band(activity, seg, band_hz=band_hz)
    theme = str(classes[first])
    unknown_by = "network" if theme == UNKNOWN else ""
    nearest, distance, threshold = "", float("nan"), float("nan")
    if open_set is not None and emb is not None:
        idx, dist, thr = open_set.nearest(np.asarray(emb, dtype=np.float64)[None])
        nearest, distance, threshold = str(open_set.themes_[idx[0]]), float(dist[0]), \
            float(thr[0])
        if distance > threshold and not unknown_by:
            theme, unknown_by = UNKNOWN, "distance"
    return Event(file=source, start_s=round(start, 3), end_s=round(end, 3),
                 song_score=round(min(max(song_score, 0.0), 1.0), 4), theme=theme,
                 theme_confidence=round(min(float(given[first]), 1.0), 4), top=top,
                 low_hz=round(low, 1), high_hz=round(high, 1), nearest=nearest,
                 distance=round(distance, 4), threshold=round(threshold, 4),
                 unknown_by=unknown_by)


def _band(activity: Activity | None, seg: tuple[float, float], *,
          band_hz: tuple[float, float]) -> tuple[float, float]:
    """A song's (low, high) frequency in Hz: the 5th and 95th percentiles of its loud
    frames' bands, else ``band_hz``."""
    low, high = band_hz
    if activity is not None:
        start, end = seg
        j0 = int(np.floor(start / activity.frame_s))
        j1 = int(np.ceil(end / activity.frame_s))
        lows = activity.low_hz[j0:j1]
        if np.isfinite(lows).any():  # percentiles: a click's broadband frame does not count
            highs = activity.high_hz[j0:j1]
            low = float(percentile(lows[np.isfinite(lows)], 5))  # np.nanpercentile, without
            high = float(percentile(highs[np.isfinite(highs)], 95))  # importing numpy.ma
    return low, high
