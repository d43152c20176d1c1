"""Reading a song out of its notes: the trill is what repeats (:func:`read_song`, :class:`ReadSong`,
:class:`SongRules`), and the best reading among a recording's groups of notes
(:func:`best_read`).
"""

from __future__ import annotations

import dataclasses
import itertools
import math
from collections.abc import Sequence

import numpy as np

from songnet.core.quantiles import median, median_rows, small_median
from songnet.song.segment import Segment, set_aside_faint

__all__ = ["ReadSong", "SongRules", "best_read", "read_song"]


@dataclasses.dataclass(frozen=True)
class SongRules:
    """How a song is read from its notes (``songnet themes``: the ``themes`` params).

    A *trill* is a run of similar syllables repeated at a steady rate, whatever their
    length: it is found from the repetition itself, never from a fixed syllable length.
    The *introduction* is the 1–``max_intro`` notes before it. The ranges below are the
    species' (DESIGN.md, "Real birds vary"): trill syllables 30–170 ms every 55–190 ms
    measured on real chingolos, widened by a third so that a bird outside the measured ones
    is still read.

    Attributes
    ----------
    song_gap_s : float
        A silence this long ends a song (s): longer than a slow trill's silence when a
        syllable is lost in noise (2 × 250 ms, less the syllable).
    note_gap_s : float
        At most this silence lies between introductory notes, and before the trill (s):
        real birds leave 20–150 ms (DESIGN.md, "Real birds vary"); widened.
    min_trill : int
        A trill repeats its syllable at least this many times.
    syllable_s : (float, float)
        A trill syllable's half-level length (s).
    interval_s : (float, float)
        A trill's onset-to-onset interval (s).
    interval_tol : float
        An onset may lie this fraction of the interval off the trill's beat (the local
        median of its intervals, so the rate may drift).
    similar_ratio : float
        Trill syllables differ in length by less than this factor ...
    similar_cents : float
        ... and in start and end pitch by less than this (cents), from the run's medians.
    max_intro : int
        At most this many introductory notes (the theme's limit).
    intro_note_s : (float, float)
        An introductory note's length (s); shorter sounds before a trill are fragments
        (skipped), longer ones not a chingolo note.
    intro_pitch_hz : (float, float)
        An introductory note's median pitch (Hz): the species' notes lie in 2.8–7.2 kHz.
    echo_db, echo_s, echo_cents : float
        A sound at least ``echo_db`` below the note before it, starting within ``echo_s``
        of that note's end at its end pitch (within ``echo_cents``), is that note's echo,
        not a note (a reverberant tail 26 dB down follows XC462515's whistle; the quiet
        introductory notes of real birds lie within 12 dB of the song's loudest).
    tail_db : float or None
        None: never (``themes learn`` and classify's note check, whose rules were chosen
        without it; classify sets echoes aside its own way,
        :func:`songnet.classify.bounds.without_echoes`).
    tail_s : float
        A sound at least ``tail_db`` below the sound before it, starting within ``tail_s``
        of that sound's end, is its tail, whatever its pitch: the faint end of a trill
        syllable (reverberant, or a downsweep's last part) that the tracker cut off; so is
        a sound that faint ending within ``tail_s`` of the next sound's start. Read as a
        syllable, a tail sits half a beat off the trill and halves its beat, or breaks
        the trill; read as a note, it pushes the trill's first syllables into the
        introduction. Real chingolos leave 20–150 ms between notes, and their quiet
        introductory notes lie within 12 dB of the song's loudest (DESIGN.md, "Real
        birds vary").
    trim_start : bool
        A trill's first sounds that are unlike its syllables as a whole (its median) are
        not syllables of it, even where each is like the few before it: notes at the
        trill's beat can otherwise start it. False: never (``themes learn``, classify).
    dip_db : float or None
        Also cut a note where its level dips this far below both its sides
        (:func:`songnet.song.segment.split_at_dips`); None: never (``themes learn``, whose
        real birds' notes were read without it).
    """

    song_gap_s: float = 0.4
    note_gap_s: float = 0.25
    min_trill: int = 3
    syllable_s: tuple[float, float] = (0.005, 0.23)
    interval_s: tuple[float, float] = (0.035, 0.27)
    interval_tol: float = 0.3
    similar_ratio: float = 1.8
    similar_cents: float = 350.0
    max_intro: int = 6
    intro_note_s: tuple[float, float] = (0.025, 0.7)
    intro_pitch_hz: tuple[float, float] = (2600.0, 8500.0)
    echo_db: float = 20.0
    echo_s: float = 0.06
    echo_cents: float = 150.0
    tail_db: float | None = None
    tail_s: float = 0.02
    trim_start: bool = False
    dip_db: float | None = None


@dataclasses.dataclass(frozen=True, eq=False)
class ReadSong:
    """A song read from a group of notes.

    Attributes
    ----------
    intro : tuple of Segment
        The introductory notes, in order.
    trill : tuple of Segment
        The trill syllables seen whole (a merged pair of syllables is left out here).
    slots : tuple of int
        Each syllable's place in the trill (0, 1, 2, ...): a syllable missing or merged
        with its neighbour leaves its number out.
    count : int
        How many syllables the trill holds (the last slot + 1).
    skipped : tuple of str
        What was seen and not taken as a note (fragments, the other sounds).
    """

    intro: tuple[Segment, ...]
    trill: tuple[Segment, ...]
    slots: tuple[int, ...]
    count: int
    skipped: tuple[str, ...] = ()

    @property
    def interval_s(self) -> float:
        """The trill's mean onset-to-onset interval (s)."""
        onsets = [s.onset_s for s in self.trill]
        return (onsets[-1] - onsets[0]) / max(self.slots[-1] - self.slots[0], 1)


def _ends(seg: Segment) -> tuple[float, float]:
    """Log start and end pitch: the medians of the first and last three frames."""
    f = np.log(seg.f0_hz)
    k = min(3, f.size)
    return float(median(f[:k])), float(median(f[-k:]))


def _features(group: Sequence[Segment]) -> np.ndarray:
    """(log extent, log start pitch, log end pitch) per segment: ``(n, 3)``."""
    return np.array([[math.log(max(s.extent_s, 1e-3)), *_ends(s)] for s in group])


def _similar(f: np.ndarray, ref: np.ndarray, rules: SongRules, *, steady: bool = False
             ) -> bool:
    """Whether a syllable (log extent, start and end pitch) is like the run's ``ref``:
    on the run's beat (``steady``: it starts where the run's rhythm puts the next
    syllable), its length may differ twice as much (in noise a syllable's length varies
    more than its pitch or its place)."""
    pitch = np.abs(f[1:] - ref[1:]).max() * 1200 / math.log(2)
    ratio = math.log(rules.similar_ratio) * (2 if steady else 1)
    return abs(f[0] - ref[0]) < ratio and pitch < rules.similar_cents


def _grow(group: Sequence[Segment], feats: np.ndarray, i: int, rules: SongRules
          ) -> tuple[list[int], list[int], int]:
    """The trill that starts at syllable ``i``: the whole syllables' indices, their slots,
    and the count (slots covered: missing and merged syllables included). The rhythm is
    read from the syllables' starts and extents (:attr:`Segment.start_s`)."""
    lo_s, hi_s = rules.syllable_s
    lo_i, hi_i = rules.interval_s
    members, slots = [i], [0]
    if not lo_s <= group[i].duration_s <= hi_s:
        return members, slots, 1
    last_onset, last_slot = group[i].start_s, 0
    for j in range(i + 1, len(group)):
        d = group[j].start_s - last_onset
        if len(members) >= 2:
            on = [group[k].start_s for k in members[-5:]]
            last = slots[-5:]
            beat = small_median([(b - a) / (q - p) for a, b, p, q in
                                 zip(on, on[1:], last, last[1:], strict=False)])
        elif lo_i <= d <= hi_i:
            beat = d
        else:
            break
        k = round(d / beat)
        if not 1 <= k <= 2 or abs(d / (k * beat) - 1) > rules.interval_tol:
            break
        ref = median_rows(feats[members])
        dur = group[j].extent_s
        if _similar(feats[j], ref, rules, steady=len(members) >= 2) and dur < 0.95 * beat:
            members.append(j)
            last_slot += k
            slots.append(last_slot)
            last_onset = group[j].start_s
            continue
        # syllables run together: one sound from this beat over m more beats, starting
        # where a syllable starts
        extra = dur - math.exp(ref[0])
        m = round(extra / beat)
        start_cents = abs(feats[j][1] - ref[1]) * 1200 / math.log(2)
        if 1 <= m <= 2 and abs(extra - m * beat) < rules.interval_tol * beat \
                and start_cents < rules.similar_cents:
            last_slot += k + m
            last_onset = group[j].start_s + m * beat
            continue
        break
    return members, slots, last_slot + 1


def _trim_start(feats: np.ndarray, members: list[int], slots: list[int], rules: SongRules
                ) -> tuple[list[int], list[int], int]:
    """The run without its first members that are unlike the run as a whole (its median
    syllable, as on the beat): a trill grows from each sound, comparing the next with the
    few before it, so it can start on introductory notes at the trill's beat whose pitch
    lies near its first syllables' and drift into the trill (a theme whose last notes
    keep the trill's rhythm: development scenes, a slow trill)."""
    ref = np.median(feats[members], axis=0)
    k = 0
    while k < len(members) - 1 and not _similar(feats[members[k]], ref, rules, steady=True):
        k += 1
    if k == 0:
        return members, slots, slots[-1] + 1
    return members[k:], [q - slots[k] for q in slots[k:]], slots[-1] - slots[k] + 1


def _join(parts: Sequence[Segment]) -> Segment:
    """Segments sung as one syllable (a syllable with two elements), as one segment."""
    if len(parts) == 1:
        return parts[0]
    return Segment(onset_s=parts[0].onset_s, offset_s=parts[-1].offset_s,
                   times_s=np.concatenate([p.times_s for p in parts]),
                   f0_hz=np.concatenate([p.f0_hz for p in parts]),
                   amplitude=np.concatenate([p.amplitude for p in parts]))


def _best_trill(group: Sequence[Segment], rules: SongRules
                ) -> tuple[int, list[Segment], list[int], int] | None:
    """The trill of a group: (index of its first segment in ``group``, its whole
    syllables, their slots, the count). A syllable may be one segment or two (a syllable
    of two elements repeats as a pair): the reading with the most syllables wins, one
    segment per syllable and the later trill among equals."""
    best: tuple[int, list[Segment], list[int], int] | None = None
    for size in (1, 2):
        for phase in range(size):
            starts = list(range(phase, len(group) - size + 1, size))
            units = [_join(group[k:k + size]) for k in starts]
            if size > 1:  # the elements of a syllable lie closer than the syllables
                units = [u if all(b.onset_s - a.offset_s < 0.5 * u.duration_s for a, b in
                                  itertools.pairwise(group[k:k + size])) else None
                         for k, u in zip(starts, units, strict=True)]
            feats = _features([u for u in units if u is not None]) if any(units) else None
            if feats is None:
                continue
            index = np.cumsum([u is not None for u in units]) - 1
            for i, u in enumerate(units):
                if u is None:
                    continue
                # grow within the stretch of usable units that starts here
                stop = next((k for k in range(i, len(units)) if units[k] is None), len(units))
                run = units[i:stop]
                run_feats = feats[index[i]:index[i] + len(run)]
                members, slots, count = _grow(run, run_feats, 0, rules)
                if rules.trim_start:
                    members, slots, count = _trim_start(run_feats, members, slots, rules)
                if len(members) < 2 or count < rules.min_trill:
                    continue
                better = best is None or count > best[3] or (
                    count == best[3] and size == 1 and starts[i] >= best[0])
                if better:
                    best = (starts[i], [run[k] for k in members], slots, count)
    return best


def _extend_back(group: Sequence[Segment], first: int, syllables: list[Segment],
                 slots: list[int], count: int, rules: SongRules
                 ) -> tuple[int, list[Segment], list[int], int]:
    """The trill grown backwards: a sound one beat before its first syllable (within half
    the usual tolerance: the whole run sets the beat), with its pitch and (as
    on the beat) its length, is a syllable of it too. The trill is grown forwards from each
    syllable, so a first syllable measured long or short in noise would otherwise be left
    before it; the last introductory note, often like the syllables but off the beat,
    stays a note."""
    starts = [s.start_s for s in syllables]
    beat = (starts[-1] - starts[0]) / max(slots[-1] - slots[0], 1)
    ref = np.median(_features(syllables), axis=0)
    k = first - 1
    while k >= 0 and beat > 0:
        seg = group[k]
        d = syllables[0].start_s - seg.start_s
        if abs(d / beat - 1) > rules.interval_tol / 2 \
                or seg.extent_s >= 0.95 * beat \
                or not _similar(_features([seg])[0], ref, rules, steady=True):
            break
        syllables = [seg, *syllables]
        slots = [0, *(s + 1 for s in slots)]
        count += 1
        first = k
        k -= 1
    return first, syllables, slots, count


def _without_tails(group: Sequence[Segment], rules: SongRules
                   ) -> tuple[list[Segment], list[Segment]]:
    """``group`` without its sounds' tails and faint fore-runners (:class:`SongRules`:
    ``tail_db``, ``tail_s``), and those set aside."""
    if rules.tail_db is None:
        return list(group), []
    return set_aside_faint(group, db=rules.tail_db, gap_s=rules.tail_s, before_next=True)


def _echo(seg: Segment, before: Segment, rules: SongRules) -> bool:
    """Whether ``seg`` is the reverberant tail of the note ``before`` it."""
    quiet = seg.peak < before.peak * 10 ** (-rules.echo_db / 20)
    soon = seg.onset_s - before.offset_s < rules.echo_s
    same = abs(1200 * math.log2(seg.pitch_hz / float(before.f0_hz[-1]))) < rules.echo_cents
    return quiet and soon and same


def read_song(group: Sequence[Segment], *, rules: SongRules = SongRules()) -> ReadSong | None:
    """The song in a group of notes: its trill (the longest run of similar syllables at a
    steady rate, the latest of equals) and the introductory notes before it.

    Returns None when the group holds no trill; a ReadSong with no intro when the trill has
    no notes before it.
    """
    group, tails = _without_tails(group, rules)
    if len(group) < rules.min_trill:
        return None
    found = _best_trill(group, rules)
    if found is None:
        return None
    first, syllables, slots, count = _extend_back(group, *found, rules)
    intro: list[Segment] = []
    skipped: list[str] = []
    nxt = syllables[0]
    lo_n, hi_n = rules.intro_note_s
    lo_p, hi_p = rules.intro_pitch_hz
    for k in range(first - 1, -1, -1):
        seg = group[k]
        if nxt.onset_s - seg.offset_s > rules.note_gap_s:
            break
        where = f"{seg.onset_s:.2f}–{seg.offset_s:.2f} s"
        if k > 0 and _echo(seg, group[k - 1], rules):
            skipped.append(f"an echo of the note before it at {where}")
            nxt = seg
            continue
        if seg.duration_s < lo_n:
            skipped.append(f"a {seg.duration_s * 1000:.0f}-ms fragment at {where}")
            nxt = seg
            continue
        if seg.duration_s > hi_n or not lo_p <= seg.pitch_hz <= hi_p:
            skipped.append(f"a sound at {where} ({seg.duration_s * 1000:.0f} ms, "
                           f"{seg.pitch_hz / 1000:.1f} kHz) unlike a chingolo note")
            break
        if len(intro) == rules.max_intro:
            skipped.append(f"a note at {where}: more than {rules.max_intro} notes before "
                           "the trill")
            break
        intro.append(seg)
        nxt = seg
    first_s = (intro[-1] if intro else syllables[0]).onset_s
    skipped = [f"the tail of the sound before it at {t.onset_s:.2f}–{t.offset_s:.2f} s"
               for t in tails if t.onset_s >= first_s] + list(reversed(skipped))
    return ReadSong(intro=tuple(reversed(intro)), trill=tuple(syllables),
                    slots=tuple(slots), count=count, skipped=tuple(skipped))


def best_read(groups: Sequence[Sequence[Segment]], *, rules: SongRules = SongRules(),
              with_intro: bool = False) -> ReadSong | None:
    """The song of a stretch: of its groups' reads (:func:`read_song`), the one with the
    longest trill (the first of equals); ``with_intro``: only reads with introductory
    notes count. None when no group holds one."""
    reads = [r for r in (read_song(g, rules=rules) for g in groups)
             if r is not None and (r.intro or not with_intro)]
    return max(reads, key=lambda r: r.count, default=None)
