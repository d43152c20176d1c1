"""The note check: the introduction of a song measured on its Constant-Q frames against
the introduction of the theme the network named.

The network hears the sequence of note shapes and is tolerant of a note's length; the
check is not. It speaks only when the song's introduction is measured cleanly
(:data:`GATE`) and shows as many notes as the named theme's, and its threshold is learned
by ``train``: the quantile of the training and validation birds' song-to-own-theme
distances that the open set uses.
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from songnet.core.errors import SongnetError
from songnet.core.quantiles import percentile
from songnet.song.distance import intro_distance, intro_vectors
from songnet.song.reading import SongRules, best_read
from songnet.song.segment import Segment, segment_groups
from songnet.song.track import PitchTrack, clean_track, db_track

__all__ = ["GATE", "NOTE_CHECK_KEY", "NoteCheck", "image_vectors", "measure_introduction",
           "measure_vectors"]

NOTE_CHECK_KEY = "note_check"
"""Key of the fitted :class:`NoteCheck` (:meth:`NoteCheck.to_dict`) in a checkpoint's
metadata and in an ONNX file's metadata (JSON)."""
GATE = {"notes": (1, 6), "note_s": (0.04, 0.5), "gap_s": (0.02, 0.15),
        "pitch_hz": (2800.0, 7600.0), "min_trill": 5}
"""When an introduction counts as measured cleanly: 1–6 notes of 40–500 ms, 20–150 ms
apart, every pitch within 2.8–7.6 kHz, and a trill of at least 5 syllables after it. The
ranges are the species' (DESIGN.md, "Real songs"; the foreign themes' grammar,
:mod:`songnet.surrogates.foreign`): outside them a note was merged with a reverberant
tail or the note beside it, cut in two, or is another bird's sound."""
SONG_GAP_S = SongRules().song_gap_s  # the silence that ends a song


def measure_introduction(track: PitchTrack) -> list[Segment] | None:
    """The introductory notes of the song in ``track`` (the group whose trill, read as
    ``songnet themes`` reads it (:func:`songnet.song.reading.read_song`), is the longest
    after at least one note), or None when there is none or it fails :data:`GATE`."""
    read = best_read(segment_groups(clean_track(track), song_gap_s=SONG_GAP_S),
                     with_intro=True)
    if read is None:
        return None
    intro, n_trill = list(read.intro), read.count
    gaps = [b.onset_s - a.offset_s for a, b in itertools.pairwise(intro)]
    pitches = np.concatenate([s.f0_hz for s in intro])
    ok = (GATE["notes"][0] <= len(intro) <= GATE["notes"][1]
          and all(GATE["note_s"][0] <= s.duration_s <= GATE["note_s"][1] for s in intro)
          and all(GATE["gap_s"][0] <= g <= GATE["gap_s"][1] for g in gaps)
          and GATE["pitch_hz"][0] <= pitches.min() and pitches.max() <= GATE["pitch_hz"][1]
          and n_trill >= GATE["min_trill"])
    return intro if ok else None


def image_vectors(image: np.ndarray, frequencies: np.ndarray, frame_s: float,
                  db_floor: float) -> np.ndarray | None:
    """:func:`measure_vectors` of a network image (values in [0, 1], 0 = ``db_floor`` dB
    below the image's loudest, as :mod:`songnet.features.images` makes them)."""
    db = np.asarray(image, dtype=np.float32) * -db_floor + db_floor
    return measure_vectors(db_track(db, frequencies, frame_s))


def measure_vectors(track: PitchTrack) -> np.ndarray | None:
    """Note vectors ``(k, 4)`` of the song's introduction in ``track``, or None when it is
    not measured cleanly (:func:`measure_introduction`)."""
    intro = measure_introduction(track)
    return None if intro is None else intro_vectors(intro)


@dataclasses.dataclass
class NoteCheck:
    """Each catalog theme's introduction and the threshold beyond which a song named that
    theme is ``unknown``.

    Attributes
    ----------
    templates : dict of str to np.ndarray [shape=(k, 4)]
        Each theme's introductory notes as note vectors (:func:`note_vector`).
    threshold : float
        :func:`intro_distance` beyond which a cleanly measured song is not its named theme.
    quantile, scale : float
        The rule that set ``threshold`` (``scale`` × that quantile of the fitting songs'
        distances to their own theme).
    n_songs : int
        How many songs were measured cleanly to fit it.
    """

    templates: dict[str, np.ndarray]
    threshold: float
    quantile: float
    scale: float
    n_songs: int

    @classmethod
    def fit(cls, templates: Mapping[str, np.ndarray],
            songs: Sequence[tuple[str, np.ndarray | None]], *, quantile: float = 0.98,
            scale: float = 1.0) -> NoteCheck:
        """Learn the threshold from ``songs``: (theme, note vectors or None when not measured
        cleanly) of songs of known themes."""
        templates = {t: np.asarray(v, dtype=float).reshape(-1, 4) for t, v in templates.items()}
        d = [intro_distance(v, templates[t]) for t, v in songs
             if v is not None and t in templates and len(v) == len(templates[t])]
        if len(d) < 20:
            raise SongnetError(f"only {len(d)} songs' introductions could be measured cleanly "
                               "(at least 20 needed to learn the note check's threshold)")
        threshold = float(scale * percentile(np.array(d), 100.0 * quantile))
        return cls(templates, threshold, float(quantile), float(scale), len(d))

    def distance(self, theme: str, vectors: np.ndarray | None) -> float:
        """The introduction's distance to ``theme``'s; NaN when the check does not speak
        (not measured cleanly, another number of notes, or not a theme it knows)."""
        template = self.templates.get(theme)
        if vectors is None or template is None or len(vectors) != len(template):
            return float("nan")
        return intro_distance(vectors, template)

    def to_dict(self) -> dict[str, Any]:
        return {"templates": {t: v.round(6).tolist() for t, v in self.templates.items()},
                "threshold": self.threshold, "quantile": self.quantile, "scale": self.scale,
                "n_songs": self.n_songs}

    @classmethod
    def from_meta(cls, meta: Mapping[str, Any]) -> NoteCheck | None:
        """The check a model's metadata carries under :data:`NOTE_CHECK_KEY` (None for
        models trained before it)."""
        fitted = meta.get(NOTE_CHECK_KEY)
        return None if fitted is None else cls.from_dict(fitted)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> NoteCheck:
        try:
            return cls({t: np.asarray(v, dtype=float).reshape(-1, 4)
                        for t, v in d["templates"].items()}, float(d["threshold"]),
                       float(d["quantile"]), float(d["scale"]), int(d["n_songs"]))
        except (KeyError, TypeError, ValueError, AttributeError) as e:
            raise SongnetError(f"the model's note check is damaged ({e}); re-export the "
                               "model with `songnet release`") from e
