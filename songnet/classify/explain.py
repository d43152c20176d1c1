"""What the network sees: a class activation map for each song event of a recording.

:func:`explain_sound` finds the song events of a stretch of audio exactly as ``songnet
classify`` does (with a torch checkpoint), rebuilds the image the network scored for each
one (the analysis window around the song, every frame outside it held at the noise floor),
and computes Grad-CAM (:func:`songnet.model.cam.grad_cam`) for the event's theme, or, for
an ``unknown`` event, for its nearest theme. The song's parts are its introductory notes
and its trill, read by the very measurement that times the event and that the note check
reads (:func:`songnet.classify.bounds.read_event` on classify's own frame peaks); each
gets the map's mean (over its frames, of each frame's strongest bin), so a table can say
which note carried the decision. A song that cannot be read there is one part,
:data:`NOT_READ`, never numbered notes. :func:`explain_figure` draws it, each event titled
with its decision and, apart and labelled, the evidence (:func:`event_title`).

Needs torch (the pipeline extras); ``songnet classify`` never imports this module.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

import numpy as np

from songnet.classify.activity import Activity, noise_floor, song_candidates
from songnet.classify.backends import TorchBackend
from songnet.classify.bounds import read_event
from songnet.classify.candidates import candidate_images
from songnet.classify.events import Event
from songnet.classify.params import ClassifyParams, song_limit
from songnet.classify.windows import scan_events
from songnet.core import audio
from songnet.core.errors import SongnetError
from songnet.core.labels import NO_SONG, UNKNOWN
from songnet.features.npcqt import fit_window
from songnet.model.cam import grad_cam

__all__ = ["NOT_READ", "TITLE_CHARS", "UNKNOWN_BY_WORDS", "Explanation", "event_title",
           "explain_figure", "explain_sound", "song_parts"]

NOT_READ = "song not read"
"""The one part of an event whose song cannot be read (no trill after a note)."""
UNKNOWN_BY_WORDS = {"network": "the network's unknown class",
                    "distance": "the embedding distance",
                    "note_check": "the note check"}
"""Who made an ``unknown`` call (:attr:`songnet.classify.events.Event.unknown_by`), in
words."""
TITLE_CHARS = 90
"""The longest line of an event's title (:func:`event_title`): half the figure's width."""


@dataclasses.dataclass(frozen=True, eq=False)
class Explanation:
    """One event, the image the network scored, and its class activation map.

    Attributes
    ----------
    event : Event
        As ``songnet classify`` reports it (times from the start of the recording).
    explained : str
        The class the map explains: the event's theme, or its nearest theme when it is
        ``unknown``.
    image : np.ndarray [shape=(n_bins, n_frames), dtype=float32]
        The network's input, in [0, 1].
    cam : np.ndarray [shape=(n_bins, n_frames), dtype=float32]
        Grad-CAM for ``explained``, in [0, 1].
    start_s : float
        Time of the image's first frame in the recording, s.
    frame_s : float
        Seconds between frames.
    frequencies : np.ndarray [shape=(n_bins,)]
        Row centre frequencies, Hz.
    notes : tuple of (float, float)
        Onset and offset of each part of the song (an introductory note, or the whole
        trill), s in the recording: half-level times, as the note check measures notes.
    note_names : tuple of str
        ``"1"``, ``"2"``, ... for the introductory notes, ``"trill"`` for the trill
        (:func:`song_parts`); an event whose song cannot be read has one part,
        :data:`NOT_READ`, spanning the event.
    note_weights : tuple of float
        The map's mean over each part (of each frame's strongest bin), in [0, 1].
    """

    event: Event
    explained: str
    image: np.ndarray
    cam: np.ndarray
    start_s: float
    frame_s: float
    frequencies: np.ndarray
    notes: tuple[tuple[float, float], ...]
    note_names: tuple[str, ...]
    note_weights: tuple[float, ...]
    method: str = "hirescam"

    @property
    def song_read(self) -> bool:
        """Whether the song's notes and trill were read (else one :data:`NOT_READ` part)."""
        return self.note_names != (NOT_READ,)

    def rows(self) -> list[dict[str, Any]]:
        """One table row per part: the event, its decision, the part's times and weight."""
        ev = self.event
        return [{"event_start_s": round(ev.start_s, 3), "event_end_s": round(ev.end_s, 3),
                 "theme": ev.theme, "unknown_by": ev.unknown_by,
                 "theme_confidence": round(ev.theme_confidence, 4),
                 "explained": self.explained, "note": name, "note_start_s": round(a, 3),
                 "note_end_s": round(b, 3), "weight": round(w, 4)}
                for name, (a, b), w in zip(self.note_names, self.notes, self.note_weights,
                                           strict=True)]


def song_parts(activity: Activity, start_s: float, end_s: float
               ) -> list[tuple[str, float, float]]:
    """Name the parts of an event's song: ``(name, onset_s, offset_s)``, the introductory
    notes ``"1"``, ``"2"``, ... and the ``"trill"``, read as the event's boundaries are
    (:func:`songnet.classify.bounds.read_event`, on ``activity``'s peaks: the pitch track,
    its notes, the trill found from its repetition); the notes at their half-level onsets
    and offsets, the trill from its first syllable's onset to its end
    (:meth:`songnet.classify.bounds.EventSong.trill_end_s`).

    Parameters
    ----------
    activity : Activity
        The recording's frame activity with ``peaks``, as ``classify`` computes it.
    start_s, end_s : float
        The event's span, s.

    Returns
    -------
    list of (str, float, float)
        Empty when no song can be read there (no peaks, or no trill).
    """
    song = read_event(activity, start_s, end_s)
    if song is None:
        return []
    read = song.read
    return [*((str(k + 1), n.onset_s, n.offset_s) for k, n in enumerate(read.intro)),
            ("trill", read.trill[0].onset_s, song.trill_end_s())]


def explain_sound(y: np.ndarray, *, checkpoint: Any, params: ClassifyParams | None = None,
                  offset_s: float = 0.0, source: str = "<array>", method: str = "hirescam"
                  ) -> list[Explanation]:
    """Events of a stretch of audio, each with its Grad-CAM.

    Parameters
    ----------
    y : np.ndarray [shape=(n,)]
        Mono samples at the checkpoint's feature rate.
    checkpoint : Checkpoint
        A torch model (:func:`songnet.model.checkpoint.load_checkpoint`); the CQT and the
        map run on the device it was loaded to.
    params : ClassifyParams, optional
        As ``songnet classify`` uses them (default: its defaults).
    offset_s : float
        Time of ``y``'s first sample in its recording; event and note times include it.
    source : str
        The recording's name, for events and messages.
    method : {"hirescam", "gradcam"}
        The map (:func:`songnet.model.cam.grad_cam`).

    Returns
    -------
    list of Explanation
        One per event, in time order.
    """
    params = ClassifyParams() if params is None else params
    backend = TorchBackend(checkpoint, device=str(checkpoint.device))
    fp = backend.fp
    y = np.asarray(y, dtype=np.float32).reshape(-1)
    block = audio.Block(y, 0.0, fp.sr)
    events, activity, _ = scan_events([block], model=backend, params=params, source=source)
    if not events:
        return []
    power = backend.power(fit_window(y, params=fp) if y.size < fp.n_samples else y)
    floor = noise_floor(backend.activity_power(power))  # (n_bins, 1), as classify's
    frame_s, classes = fp.frame_s, list(backend.classes)
    spans = song_candidates(activity.active, frame_s=frame_s, split_gap_s=params.split_gap_s,
                            min_event_s=params.min_event_s,
                            max_song_s=song_limit(params, fp))
    out = []
    for ev in events:
        # the image classify scored: its candidate's own frames, placed by the song
        image, first = candidate_images(backend, y, [_candidate(ev, spans, frame_s)], floor)
        start = first[0]
        explained = _explained(ev, classes)
        cam = grad_cam(checkpoint.model, image, [classes.index(explained)], method=method)[0]
        parts = song_parts(activity, ev.start_s, ev.end_s) or [(NOT_READ, ev.start_s,
                                                                 ev.end_s)]
        col = cam.max(axis=0)  # (n_frames,) each frame's strongest bin
        weights = tuple(_mean_over(col, a / frame_s - start, b / frame_s - start)
                        for _, a, b in parts)
        out.append(Explanation(
            event=dataclasses.replace(ev, start_s=ev.start_s + offset_s,
                                      end_s=ev.end_s + offset_s),
            explained=explained, image=np.asarray(image.float().cpu().numpy()[0]), cam=cam,
            start_s=start * frame_s + offset_s, frame_s=frame_s,
            frequencies=np.asarray(fp.frequencies),
            notes=tuple((a + offset_s, b + offset_s) for _, a, b in parts),
            note_names=tuple(name for name, _, _ in parts), note_weights=weights,
            method=method))
    return out


def _candidate(ev: Event, spans: Sequence[tuple[int, int]], frame_s: float
               ) -> tuple[int, int]:
    """The song candidate ``(first, end)`` frames that overlaps ``ev`` most: the loud
    frames classify scored (the event's own frames for a song of no candidate)."""
    a, b = ev.start_s / frame_s, ev.end_s / frame_s
    best = max(spans, key=lambda s: min(s[1], b) - max(s[0], a), default=None)
    if best is None or min(best[1], b) <= max(best[0], a):
        return max(0, round(a)), round(b)
    return best


def _mean_over(col: np.ndarray, a: float, b: float) -> float:
    """The mean of ``col`` over frames ``a`` to ``b`` (fractional; at least one frame,
    inside ``col``)."""
    i = int(np.clip(np.floor(a), 0, col.size - 1))
    j = int(np.clip(np.ceil(b) + 1, i + 1, col.size))
    return float(col[i:j].mean())


def _explained(ev: Event, classes: Sequence[str]) -> str:
    """The class an event's map explains: its theme, else its nearest theme."""
    if ev.theme not in (UNKNOWN, NO_SONG) and ev.theme in classes:
        return ev.theme
    if ev.nearest in classes:
        return ev.nearest
    themes = [c for c, _ in ev.top if c not in (UNKNOWN, NO_SONG) and c in classes]
    if not themes:
        raise SongnetError(f"{ev.file}: the event at {ev.start_s:.2f} s names no theme to "
                           "explain")
    return themes[0]


def event_title(ev: Event) -> str:
    """An event's title: its times and decision on the first line (an ``unknown`` says who
    called it, :data:`UNKNOWN_BY_WORDS`), and on the second, each labelled, the evidence:
    the network's own first theme and its probability given a song (and its ``unknown``
    class where that came first), the nearest theme's distance against its threshold,
    and the note check's distance against its threshold.

    Examples
    --------
    ``1.71-3.48 s: unknown, called by the embedding distance; song score 0.97``, then
    ``network's first theme T08 p=0.54 | nearest theme T09: distance 0.41 > threshold 0.35``
    and ``note check: distance 0.20 <= threshold 0.80``: the evidence, items joined by
    `` | `` on lines of at most :data:`TITLE_CHARS` characters.
    """
    decision = ev.theme
    if ev.theme == UNKNOWN and ev.unknown_by in UNKNOWN_BY_WORDS:
        decision += f", called by {UNKNOWN_BY_WORDS[ev.unknown_by]}"
    evidence = []
    if ev.unknown_by == "network":
        evidence.append(f"network's first class unknown p={ev.theme_confidence:.2f}")
    if ev.top:
        theme, p = ev.top[0]
        evidence.append(f"network's first theme {theme} p={p:.2f}")
    for what, name, d, thr in (("nearest theme", ev.nearest, ev.distance, ev.threshold),
                               ("note check", "", ev.note_distance, ev.note_threshold)):
        if thr == thr and (name or what == "note check"):
            said = "no reading" if d != d else \
                f"distance {d:.2f} {'>' if d > thr else '<='} threshold {thr:.2f}"
            evidence.append(f"{what}{' ' + name if name else ''}: {said}")
    lines = [f"{ev.start_s:.2f}-{ev.end_s:.2f} s: {decision}; song score {ev.song_score:.2f}"]
    for i, item in enumerate(evidence):  # as many items a line as fit in TITLE_CHARS
        if i and len(lines[-1]) + 3 + len(item) <= TITLE_CHARS:
            lines[-1] += " | " + item
        else:
            lines.append(item)
    return "\n".join(lines)


def explain_figure(explanations: Sequence[Explanation], *, title: str = "") -> Any:
    """One row per event: the image the network scored, and the same image under its
    Grad-CAM, with the song's parts' boundaries (dashed) and each part's weight; each
    event titled by :func:`event_title`.

    Returns
    -------
    matplotlib.figure.Figure
    """
    from matplotlib.figure import Figure

    if not explanations:
        raise SongnetError("no events to draw")
    rows = len(explanations)
    fig = Figure(figsize=(12, 3.0 * rows + 0.6), layout="constrained")
    axes = fig.subplots(rows, 2, squeeze=False)
    for (left, right), ex in zip(axes, explanations, strict=True):
        # rows are log-spaced: draw them as rows, label a few frequencies where they lie
        n_rows = ex.image.shape[0]
        extent = (ex.start_s, ex.start_s + ex.image.shape[1] * ex.frame_s, -0.5, n_rows - 0.5)
        ticks_khz = [k for k in (1, 2, 3, 4, 5, 6, 8, 10)
                     if ex.frequencies[0] <= 1000 * k <= ex.frequencies[-1]]
        tick_rows = np.interp(np.log([1000.0 * k for k in ticks_khz]), np.log(ex.frequencies),
                              np.arange(n_rows))
        for ax in (left, right):
            ax.imshow(ex.image, origin="lower", aspect="auto", extent=extent, cmap="gray_r",
                      vmin=0, vmax=1, interpolation="nearest")
            for a, b in ex.notes:
                for t in (a, b):
                    ax.axvline(t, color="tab:blue", lw=0.7, ls="--")
            ax.set_yticks(tick_rows, [str(k) for k in ticks_khz])
            ax.set_ylabel("kHz")
        right.imshow(ex.cam, origin="lower", aspect="auto", extent=extent, cmap="inferno",
                     alpha=0.55, vmin=0, vmax=1, interpolation="bilinear")
        for i, (name, (a, b), w) in enumerate(zip(ex.note_names, ex.notes, ex.note_weights,
                                                  strict=True)):
            right.text((a + b) / 2, n_rows * (0.95 - 0.08 * (i % 2)), f"{name}: {w:.2f}",
                       ha="center", va="top", fontsize=7, color="white")
        left.set_title(event_title(ex.event), fontsize=8, loc="left")
        which = "" if ex.explained == ex.event.theme else " (the nearest theme)"
        parts = ("each part's weight above" if ex.song_read else
                 "its notes could not be read (no trill after a note): one part")
        right.set_title(f"{ex.method} for {ex.explained}{which}: where its evidence lies in "
                        f"the image;\n{parts}", fontsize=8, loc="left")
    for ax in axes[-1]:
        ax.set_xlabel("time in recording (s)")
    if title:
        fig.suptitle(title, fontsize=10)
    return fig
