"""What the network sees: a class activation map for each song event of a recording.

:func:`explain_sound` finds the song events of a stretch of audio exactly as ``songnet
classify`` does (with a torch checkpoint), rebuilds the image the network scored for each
one (the analysis window around the song, every frame outside it held at the noise floor),
and computes Grad-CAM (:func:`songnet.model.cam.grad_cam`) for the event's theme, or, for
an ``unknown`` event, for its nearest theme. The song's notes are the runs of loud frames
inside the event; each gets the map's mean (over its frames, of each frame's strongest
bin), so a table can say which note carried the decision. :func:`explain_figure` draws it.

Needs torch (the pipeline extras); ``songnet classify`` never imports this module.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

import numpy as np

from songnet.classify.backends import TorchBackend
from songnet.classify.events import Event, frame_activity, noise_floor
from songnet.classify.windows import ClassifyParams, candidate_images, classify_blocks
from songnet.core import audio
from songnet.core.errors import SongnetError
from songnet.core.labels import NO_SONG, UNKNOWN
from songnet.features.npcqt import fit_window
from songnet.model.cam import grad_cam
from songnet.song.segment import SongRules, best_read, segment_groups
from songnet.song.track import clean_track, peaks_track, power_peaks

__all__ = ["Explanation", "explain_figure", "explain_sound", "note_runs", "song_parts"]

NOTE_GAP_S = 0.012
"""Quieter stretches shorter than this do not split a sound (:func:`note_runs`)."""
MIN_NOTE_S = 0.015
"""Louder runs shorter than this are not sounds (:func:`note_runs`)."""


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
        trill), s in the recording.
    note_names : tuple of str
        ``"1"``, ``"2"``, ... for the introductory notes, ``"trill"`` for the trill (as
        ``songnet themes`` reads a song: :func:`songnet.song.segment.read_song`); an
        event whose song cannot be read names each of its sounds ``"1"``, ``"2"``, ...
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

    def rows(self) -> list[dict[str, Any]]:
        """One table row per note: the event, its theme, the note's times and weight."""
        ev = self.event
        return [{"event_start_s": round(ev.start_s, 3), "event_end_s": round(ev.end_s, 3),
                 "theme": ev.theme, "confidence": round(ev.confidence, 4),
                 "explained": self.explained, "note": name, "note_start_s": round(a, 3),
                 "note_end_s": round(b, 3), "weight": round(w, 4)}
                for name, (a, b), w in zip(self.note_names, self.notes, self.note_weights,
                                           strict=True)]


def note_runs(active: np.ndarray, *, frame_s: float, gap_s: float = NOTE_GAP_S,
              min_s: float = MIN_NOTE_S) -> list[tuple[int, int]]:
    """Runs of active frames ``[a, b)``: gaps shorter than ``gap_s`` are bridged, runs
    shorter than ``min_s`` dropped."""
    active = np.asarray(active, dtype=bool)
    if not active.any():
        return []
    edges = np.flatnonzero(np.diff(np.concatenate([[0], active.view(np.int8), [0]])))
    runs = [[int(a), int(b)] for a, b in zip(edges[::2], edges[1::2], strict=True)]
    merged = [runs[0]]
    for a, b in runs[1:]:
        if (a - merged[-1][1]) * frame_s < gap_s:
            merged[-1][1] = b
        else:
            merged.append([a, b])
    return [(a, b) for a, b in merged if (b - a) * frame_s >= min_s]


def song_parts(power: np.ndarray, frequencies: np.ndarray, *, frame_s: float,
               active: np.ndarray) -> list[tuple[str, int, int]]:
    """Name the parts of an event's song: ``(name, a, b)`` in frames of ``power`` (linear
    Constant-Q power ``(n_bins, T)``), the introductory notes ``"1"``, ``"2"``, ... and the
    ``"trill"`` spanning its syllables, read as ``songnet themes`` reads songs (the pitch
    track, its notes, the trill found from its repetition: :mod:`songnet.song`). When no
    song can be read there (a trill without notes, a sound that does not repeat), each
    run of ``active`` frames (:func:`note_runs`) is a numbered part."""
    track = clean_track(peaks_track(*power_peaks(power, frequencies), frame_s))
    song = best_read(segment_groups(track, song_gap_s=SongRules().song_gap_s),
                     with_intro=True)
    if song is None:
        return [(str(k + 1), a, b) for k, (a, b) in
                enumerate(note_runs(active, frame_s=frame_s))]

    def frames(a_s: float, b_s: float) -> tuple[int, int]:
        a = max(0, int(np.floor(a_s / frame_s)))
        return a, max(a + 1, min(power.shape[1], int(np.ceil(b_s / frame_s)) + 1))

    return [*((str(k + 1), *frames(n.onset_s, n.offset_s)) for k, n in enumerate(song.intro)),
            ("trill", *frames(song.trill[0].onset_s, song.trill[-1].offset_s))]


def explain_sound(y: np.ndarray, *, checkpoint: Any, params: ClassifyParams | None = None,
                  offset_s: float = 0.0, source: str = "<array>", method: str = "hirescam"
                  ) -> list[Explanation]:
    """Events of a stretch of audio, each with its Grad-CAM.

    Parameters
    ----------
    y : np.ndarray [shape=(n,)]
        Mono samples at the checkpoint's feature rate.
    checkpoint : Checkpoint
        A torch model (:func:`songnet.model.checkpoint.load_checkpoint`).
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
    backend = TorchBackend(checkpoint, device="cpu")
    fp = backend.fp
    y = np.asarray(y, dtype=np.float32).reshape(-1)
    block = audio.Block(y, 0.0, fp.sr)
    events, _ = classify_blocks([block], model=backend, params=params, source=source)
    if not events:
        return []
    power = backend.power(fit_window(y, params=fp) if y.size < fp.n_samples else y)
    loud = backend.activity_power(power)  # (n_bins, T) float32
    floor = noise_floor(loud)
    frame_s, classes = fp.frame_s, list(backend.classes)
    out = []
    for ev in events:
        j0 = max(0, round(ev.start_s / frame_s))
        j1 = min(loud.shape[1], round(ev.end_s / frame_s) + 1)
        # the image classify scored: the candidate's own frames, placed by the song
        image, first = candidate_images(backend, y, [(j0, j1 - 1)], floor)
        start = round(first[0])
        explained = _explained(ev, classes)
        cam = grad_cam(checkpoint.model, image, [classes.index(explained)], method=method)[0]
        act = frame_activity(loud[:, j0:j1], frequencies=fp.frequencies, frame_s=frame_s,
                             threshold_db=params.activity_db, smooth_frames=1,
                             floor=floor)
        parts = song_parts(loud[:, j0:j1], fp.frequencies, frame_s=frame_s,
                           active=act.active)
        col = cam.max(axis=0)  # (n_frames,) each frame's strongest bin
        weights = tuple(float(col[max(0, j0 + a - start):max(1, j0 + b - start)].mean())
                        for _, a, b in parts)
        notes = tuple(((j0 + a) * frame_s + offset_s, (j0 + b) * frame_s + offset_s)
                      for _, a, b in parts)
        out.append(Explanation(
            event=dataclasses.replace(ev, start_s=ev.start_s + offset_s,
                                      end_s=ev.end_s + offset_s),
            explained=explained, image=np.asarray(image.float().cpu().numpy()[0]), cam=cam,
            start_s=first[0] * frame_s + offset_s, frame_s=frame_s,
            frequencies=np.asarray(fp.frequencies), notes=notes,
            note_names=tuple(name for name, _, _ in parts), note_weights=weights,
            method=method))
    return out


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


def explain_figure(explanations: Sequence[Explanation], *, title: str = "") -> Any:
    """One row per event: the image the network scored, and the same image under its
    Grad-CAM, with the notes' boundaries (dashed) and each note's weight.

    Returns
    -------
    matplotlib.figure.Figure
    """
    from matplotlib.figure import Figure

    if not explanations:
        raise SongnetError("no events to draw")
    rows = len(explanations)
    fig = Figure(figsize=(12, 2.6 * rows + 0.6), layout="constrained")
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
        ev = ex.event
        name = ev.theme if ev.theme == ex.explained else f"{ev.theme} (nearest {ex.explained})"
        left.set_title(f"{ev.start_s:.2f}-{ev.end_s:.2f} s: {name}, p={ev.confidence:.2f}; "
                       "the image the network scored", fontsize=9, loc="left")
        right.set_title(f"{ex.method} for {ex.explained}: where the evidence lies; each "
                        "part's weight above", fontsize=9, loc="left")
    for ax in axes[-1]:
        ax.set_xlabel("time in recording (s)")
    if title:
        fig.suptitle(title, fontsize=10)
    return fig
