"""Reading theme and dialect YAML: field access whose errors name the file and the field."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NoReturn

import numpy as np

from songnet.core.errors import SongnetError
from songnet.core.params import short_repr
from songnet.synth import SHAPES

__all__ = ["MAX_MS", "MAX_TRILL_COUNT", "PITCH_LIMITS_HZ", "TRILL_KEYS", "FieldReader",
           "spread_fields", "trill_fields"]

PITCH_LIMITS_HZ = (1500.0, 10000.0)
"""Pitches a theme may ask for: the model's reach over the γ values it uses."""
MAX_MS = 2000.0
"""Longest note, gap or trill interval in ms (real ones are tens to hundreds of ms)."""
MAX_TRILL_COUNT = 100
"""Most trill syllables (real trills have 10–20)."""
TRILL_KEYS = ("shape", "pitch_khz", "note_ms", "interval_ms", "count", "peak_at", "loudness",
              "drift", "jitter", "second")


class FieldReader:
    """Field access with errors that name the file and the field."""

    def __init__(self, source: str) -> None:
        self.source = source

    def fail(self, field: str, what: str) -> NoReturn:
        raise SongnetError(f"{self.source}: field '{field}'{what}")

    def mapping(self, data: Any, field: str) -> Mapping:
        if not isinstance(data, Mapping):
            self.fail(field or "<top>", f" must be a mapping of fields, got {type(data).__name__}")
        return data

    def get(self, m: Mapping, key: str, tp: type, where: str) -> Any:
        if key not in m or m[key] is None:
            self.fail(where + key, " is missing; add it (see the catalog format in the README)")
        value = m[key]
        ok = isinstance(value, tp) and not (tp is int and isinstance(value, bool))
        if tp is float:
            ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        if not ok:
            self.fail(where + key, f"={short_repr(value)} must be of type {tp.__name__}")
        if tp is float and not _finite(value):
            self.fail(where + key, f"={short_repr(value)} must be a finite number")
        return value

    def positive(self, m: Mapping, key: str, where: str, *, zero_ok: bool = False,
                 limit: float = MAX_MS) -> float:
        value = float(self.get(m, key, float, where))  # finite (checked by get)
        if value < 0 or (value == 0 and not zero_ok):
            rule = "non-negative" if zero_ok else "positive"
            self.fail(where + key, f"={value:g} must be {rule}")
        if value > limit:
            self.fail(where + key, f"={value:g} is over the limit of {limit:g}")
        return value

    def shape(self, m: Mapping, where: str) -> str:
        shape = self.get(m, "shape", str, where)
        if shape not in SHAPES:
            self.fail(where + "shape", f"={shape!r} must be one of {', '.join(SHAPES)}")
        return shape

    def pitches(self, m: Mapping, where: str, shape: str) -> tuple[float, ...]:
        if m.get("pitch_khz") is None:
            self.fail(where + "pitch_khz", " is missing; add it (a list of pitches in kHz)")
        raw = m["pitch_khz"]
        raw = [raw] if isinstance(raw, (int, float)) and not isinstance(raw, bool) else raw
        if not isinstance(raw, list) or not raw or not all(
                isinstance(v, (int, float)) and not isinstance(v, bool) for v in raw):
            self.fail(where + "pitch_khz", f"={short_repr(raw)} must be a list of numbers (kHz)")
        hz = tuple(float(v) * 1000 for v in raw)
        need = {"whistle": 1, "sweep": 2, "chevron": 2, "slur": 2}[shape]
        if len(hz) < need:
            self.fail(where + "pitch_khz", f" needs at least {need} pitches for a {shape}")
        lo, hi = PITCH_LIMITS_HZ
        for v in hz:
            if not (lo <= v <= hi):
                self.fail(where + "pitch_khz", f"={v / 1000:g} kHz cannot be reached by the "
                          f"model; use {lo / 1000:g}–{hi / 1000:g} kHz")
        return hz


def _finite(value: float) -> bool:
    try:
        return bool(np.isfinite(float(value)))
    except OverflowError:
        return False


def trill_fields(r: FieldReader, tm: Mapping, where: str) -> dict[str, Any]:
    """The :class:`~songnet.surrogates.themes.Trill` keyword arguments of a trill mapping.

    ``where`` prefixes field names in errors; ``second`` comes back as a dict of the
    :class:`~songnet.surrogates.themes.Element` arguments, or None.
    """
    bad = sorted(set(tm) - set(TRILL_KEYS))
    if bad:
        r.fail(where + bad[0], f" is not a trill field; use {', '.join(TRILL_KEYS)}")
    shape = r.shape(tm, where)
    note_s = r.positive(tm, "note_ms", where) / 1000
    interval_s = r.positive(tm, "interval_ms", where) / 1000
    count = r.get(tm, "count", int, where)
    if not 1 <= count <= MAX_TRILL_COUNT:
        r.fail(where + "count", f"={short_repr(count)} must lie in 1–{MAX_TRILL_COUNT} (the "
               "limit)")
    peak_at = None
    if tm.get("peak_at") is not None:
        peak_at = float(r.get(tm, "peak_at", float, where))
        if not 0.05 <= peak_at <= 0.95:
            r.fail(where + "peak_at", f"={peak_at:g} must lie in [0.05, 0.95]")
    loudness = (1.0, 1.0, 1.0)
    if tm.get("loudness") is not None:
        raw = tm["loudness"]
        if not (isinstance(raw, list) and len(raw) == 3 and all(
                isinstance(v, (int, float)) and not isinstance(v, bool) and 0 < v <= 1
                for v in raw)):
            r.fail(where + "loudness", f"={short_repr(raw)} must be three levels in (0, 1]: "
                   "the first, loudest and last syllable")
        loudness = tuple(float(v) for v in raw)
    drift = r.mapping(tm.get("drift") or {}, where + "drift")
    dp = float(r.get(drift, "pitch", float, where + "drift.")) if "pitch" in drift else 0.0
    di = float(r.get(drift, "interval", float, where + "drift.")) if "interval" in drift \
        else 0.0
    if abs(dp) > 0.2 or abs(di) > 0.5 or set(drift) - {"pitch", "interval"}:
        r.fail(where + "drift", f"={short_repr(dict(drift))} must be {{pitch: p, interval: i}} "
               "with |p| <= 0.2 and |i| <= 0.5 (relative change first to last syllable)")
    jitter = float(r.get(tm, "jitter", float, where)) if tm.get("jitter") is not None else 0.0
    if not 0 <= jitter <= 0.1:
        r.fail(where + "jitter", f"={jitter:g} must lie in [0, 0.1]")
    second = None
    if tm.get("second") is not None:
        sm = r.mapping(tm["second"], where + "second")
        w2 = where + "second."
        s_shape = r.shape(sm, w2)
        level = float(r.get(sm, "level", float, w2)) if sm.get("level") is not None else 0.7
        if not 0 < level <= 1.5:
            r.fail(w2 + "level", f"={level:g} must lie in (0, 1.5]")
        second = dict(shape=s_shape, pitch_hz=r.pitches(sm, w2, s_shape),
                      note_s=r.positive(sm, "note_ms", w2) / 1000,
                      gap_s=r.positive(sm, "gap_ms", w2, zero_ok=True) / 1000, level=level)
    return dict(shape=shape, pitch_hz=r.pitches(tm, where, shape), note_s=note_s,
                interval_s=interval_s, count=count, peak_at=peak_at, loudness=loudness,
                drift_pitch=dp, drift_interval=di, jitter=jitter, second=second)


def spread_fields(r: FieldReader, raw: Any) -> dict[str, Any]:
    """The :class:`~songnet.surrogates.themes.Spread` arguments of a ``spread:`` mapping."""
    sm = r.mapping(raw, "spread")
    bad = sorted(set(sm) - {"pitch", "tempo", "songs"})
    if bad:
        r.fail(f"spread.{bad[0]}", " is not a spread field; use pitch, tempo and songs")
    out: dict[str, Any] = {}
    for key in ("pitch", "tempo"):
        out[key] = float(r.get(sm, key, float, "spread."))
        if not 0 <= out[key] <= 0.2:
            r.fail(f"spread.{key}", f"={out[key]:g} must lie in [0, 0.2] (a fraction)")
    out["songs"] = r.get(sm, "songs", int, "spread.")
    if out["songs"] < 2:
        r.fail("spread.songs", f"={out['songs']} must be at least 2 (a spread needs songs)")
    return out
