"""Songs assembled from real chingolo notes, in many variants (benchmarks and tests).

The real material lies beside the repository, in ``../shared/data/`` (never copied into
it): each bird of :data:`BIRDS` is its introductory notes and its trill syllable(s), cut
one per clip from one Xeno-canto song. :func:`assemble` sings a new rendition of a bird's
song from them: the notes in order with varied gaps, the trill syllables repeated at a
varied rate (touching at the fastest, slowed with stretched syllables at the slowest),
varied counts and levels, in noise at a given SNR, with a real clip of another species
before or after it. :func:`truth` gives each bird's true note list, measured on each note
clip alone.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import soundfile as sf

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"
SR = 44100


@dataclasses.dataclass(frozen=True)
class Bird:
    """One real bird: its note clips (introduction, then trill syllables) and its gaps."""

    name: str
    intro: tuple[str, ...]
    trill: tuple[str, ...]
    gap_s: float  # typical silence after an introductory note

    def clip(self, rel: str) -> np.ndarray:
        y, sr = sf.read(SHARED / rel, dtype="float32")
        assert sr == SR, rel
        return y


BIRDS = (
    Bird("XC391056", ("real-syllables/XC391056-syllable-1.wav",
                      "real-syllables/XC391056-syllable-2.wav"),
         ("real-syllables/XC391056-syllable-4.wav",), 0.07),
    Bird("XC462515", ("real-syllables/XC462515-syllable-1.wav",
                      "real-syllables/XC462515-syllable-3.wav"),
         ("real-syllables/XC462515-syllable-4.wav",), 0.08),
    Bird("XC53516", tuple(f"real-birds/XC53516/note-{k}.wav" for k in range(1, 5)),
         tuple(f"real-birds/XC53516/note-{k}.wav" for k in range(5, 10)), 0.06),
)
NEGATIVES = tuple(sorted((SHARED / "real-negatives").glob("*.wav")))

SHARED_TRILL = BIRDS[2].trill
"""The trill of the dialect birds: XC53516's five trill syllables."""

DIALECT = tuple(Bird(f"{b.name}-dialect", b.intro, SHARED_TRILL, b.gap_s) for b in BIRDS)
"""The study's question in miniature: three themes of one locality, one real trill shared,
each with its own real bird's introduction (as the themes of a dialect differ only there)."""


def available() -> bool:
    """Whether the real material is beside the repository."""
    return all((SHARED / rel).is_file() for b in BIRDS for rel in (*b.intro, *b.trill)) \
        and bool(NEGATIVES)


def _trim(y: np.ndarray, floor_db: float = 30.0) -> np.ndarray:
    """The clip from its first to its last sample envelope within ``floor_db`` of its peak
    (the clips carry a little of their own background at each end)."""
    env = np.convolve(np.abs(y), np.ones(64) / 64, mode="same")
    loud = np.flatnonzero(env >= env.max() * 10 ** (-floor_db / 20))
    return y[max(0, loud[0] - 64):loud[-1] + 64]


def _fade(y: np.ndarray, n: int = 44) -> np.ndarray:
    y = y.copy()
    ramp = np.linspace(0.0, 1.0, min(n, y.size // 2))
    y[:ramp.size] *= ramp
    y[y.size - ramp.size:] *= ramp[::-1]
    return y


def _stretch(y: np.ndarray, factor: float) -> np.ndarray:
    """``y`` slowed by ``factor`` at the same pitch (a phase vocoder with 6-ms frames,
    short enough for a 30-ms syllable's sweep)."""
    import librosa

    return librosa.effects.time_stretch(y.astype(np.float32), rate=1.0 / factor, n_fft=256,
                                        hop_length=32)


@dataclasses.dataclass(frozen=True)
class Rendition:
    """How one song is sung: what :func:`variant` draws."""

    gap_scale: tuple[float, ...]   # per introductory note, x the bird's gap
    intro_db: tuple[float, ...]    # per introductory note, level re its clip
    count: int                     # trill syllables
    interval_s: float              # trill onset-to-onset interval
    stretch: float                 # trill syllables slowed by this (1 = as sung)
    snr_db: float
    negative: int                  # index in NEGATIVES, -1 = none
    negative_after: bool
    gain_db: float


def variant(bird: Bird, rng: np.random.Generator, *, slow: bool | None = None) -> Rendition:
    """A random rendition: gaps ±30 %, counts 8–20, a trill rate from touching syllables to
    a slow trill (syllables stretched ×2–3.5, every 150–250 ms), the first notes up to
    12 dB quieter, SNR 10–30 dB, a real negative before or after (or none)."""
    n = len(bird.intro)
    syl = max(_trim(bird.clip(t)).size for t in bird.trill) / SR
    slow = bool(rng.random() < 0.25) if slow is None else slow
    if slow:
        stretch = float(rng.uniform(2.0, 3.5))
        interval = float(rng.uniform(max(0.15, 1.2 * syl * stretch), 0.25))
        count = int(rng.integers(6, 11))
    else:
        stretch = 1.0
        interval = float(rng.uniform(max(syl, 0.045), 2.4 * syl + 0.02))  # touching and up
        count = int(rng.integers(8, 21))
    quiet = [float(-rng.uniform(0, 12)) if k < n - 1 and rng.random() < 0.5 else 0.0
             for k in range(n)]
    return Rendition(gap_scale=tuple(rng.uniform(0.7, 1.3, n)), intro_db=tuple(quiet),
                     count=count, interval_s=interval, stretch=stretch,
                     snr_db=float(rng.uniform(10, 30)),
                     negative=int(rng.integers(-1, len(NEGATIVES))),
                     negative_after=bool(rng.random() < 0.5),
                     gain_db=float(rng.uniform(-20, 0)))


def sing(bird: Bird, r: Rendition) -> np.ndarray:
    """The song alone (no noise, no negative): float32 at :data:`SR`."""
    parts: list[np.ndarray] = []
    for rel, g, db in zip(bird.intro, r.gap_scale, r.intro_db, strict=True):
        parts += [_fade(_trim(bird.clip(rel))) * 10 ** (db / 20),
                  np.zeros(round(g * bird.gap_s * SR), dtype=np.float32)]
    syllables = [_fade(_trim(bird.clip(t))) for t in bird.trill]
    if r.stretch != 1.0:
        syllables = [_fade(_stretch(s, r.stretch)) for s in syllables]
    hop = round(r.interval_s * SR)
    trill = np.zeros(hop * (r.count - 1) + max(s.size for s in syllables), dtype=np.float32)
    for k in range(r.count):
        s = syllables[k % len(syllables)]
        trill[k * hop:k * hop + s.size] += s
    return np.concatenate([*parts, trill]).astype(np.float32)


def scene(bird: Bird, r: Rendition, rng: np.random.Generator, *, lead_s: float = 1.0,
          space_s: tuple[float, float] = (0.3, 0.8),
          room: Callable[[np.ndarray], np.ndarray] | None = None
          ) -> tuple[np.ndarray, float, float]:
    """The song in noise at its SNR, with a real negative before or after it (a silence
    drawn from ``space_s`` seconds between them): the samples, and the song's start and
    end (s). ``room``, when given, takes the song and the negative before the noise is
    added (a reverberant site: :func:`songnet.surrogates.conditions.reverberate`)."""
    song = sing(bird, r)
    lead = np.zeros(round(lead_s * SR), dtype=np.float32)
    pieces = [lead.copy(), song, lead.copy()]
    if r.negative >= 0:
        neg, _ = sf.read(NEGATIVES[r.negative], dtype="float32")
        neg = neg / max(float(np.abs(neg).max()), 1e-9) * float(np.abs(song).max())
        space = np.zeros(round(rng.uniform(*space_s) * SR), dtype=np.float32)
        pieces = [lead, song, space, neg, lead.copy()] if r.negative_after \
            else [lead, neg, space, song, lead.copy()]
    y = np.concatenate(pieces)
    start = next(sum(p.size for p in pieces[:i]) for i, p in enumerate(pieces) if p is song)
    if room is not None:
        y = np.asarray(room(y), dtype=np.float32)
    active = song[np.abs(song) > 0.05 * np.abs(song).max()]
    noise = _noise(y.size, rng)
    noise *= np.sqrt(np.mean(active ** 2)) / np.sqrt(np.mean(noise ** 2)) * 10 ** (-r.snr_db / 20)
    y = (y + noise) * 10 ** (r.gain_db / 20)
    return y.astype(np.float32), start / SR, (start + song.size) / SR


def record_birds(folder: Path, birds: Sequence[Bird], *, files: int, songs: int, seed: int
          ) -> list[dict]:
    """``folder/<bird>/rec-K.wav`` for every bird, each recording ``songs`` renditions
    (:func:`variant`, :func:`scene`) one after another; one record per song sung (its
    bird, recording number K, start and end in s)."""
    rng = np.random.default_rng(seed)
    sung = []
    for bird in birds:
        (folder / bird.name).mkdir(parents=True)
        # a bird keeps its trill rate from song to song (±8 %); its gaps, counts, levels,
        # SNR and neighbours vary (a bird that switched between fast and slow trills would
        # be singing two themes)
        own = variant(bird, rng)
        for f in range(files):
            parts, t = [], 0.0
            for _ in range(songs):
                r = variant(bird, rng, slow=own.stretch != 1.0)
                r = dataclasses.replace(r, interval_s=own.interval_s * float(
                    rng.uniform(0.92, 1.08)), stretch=own.stretch)
                y, a, b = scene(bird, r, rng, lead_s=float(rng.uniform(1.0, 2.5)))
                sung.append({"bird": bird.name, "file": f, "start_s": t + a, "end_s": t + b})
                parts.append(y)
                t += y.size / SR
            sf.write(folder / bird.name / f"rec-{f}.wav", np.concatenate(parts), SR,
                     subtype="FLOAT")
    return sung


def _noise(n: int, rng: np.random.Generator) -> np.ndarray:
    """Field-like background: pink noise (most energy low, some in the song band)."""
    white = rng.standard_normal(n)
    spec = np.fft.rfft(white)
    f = np.fft.rfftfreq(n, 1 / SR)
    spec /= np.sqrt(np.maximum(f, 100.0))
    return np.fft.irfft(spec, n).astype(np.float32)


@dataclasses.dataclass(frozen=True)
class TrueNote:
    """One introductory note measured on its clip alone."""

    start_hz: float
    end_hz: float
    duration_s: float


def truth(bird: Bird) -> list[TrueNote]:
    """Each introductory note of ``bird`` measured on its clip alone (silence around it):
    the half-level duration and the start and end pitch (medians of the first and last
    three voiced frames), as ``songnet themes`` measures notes."""
    from songnet.core.sound import Sound
    from songnet.song.segment import segment
    from songnet.song.track import clean_track, track_pitch

    out = []
    for rel in bird.intro:
        y = np.concatenate([np.zeros(SR // 10), _fade(_trim(bird.clip(rel))),
                            np.zeros(SR // 10)]).astype(np.float32)
        tr = clean_track(track_pitch(Sound(y, SR, rel), floor_db=-40.0))
        v = np.flatnonzero(tr.voiced)
        seg = segment(tr, int(v[0]), int(v[-1]) + 1)
        out.append(TrueNote(*seg.ends_hz, seg.duration_s))
    return out
