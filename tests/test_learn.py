"""Learning themes from songs: songs found in noise beside other sounds, notes fitted to the
catalog's vocabulary through the model, songs pooled; learn(sing(theme)) ≈ theme."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import soundfile as sf

from songnet.core.errors import SongnetError
from songnet.core.sound import Sound
from songnet.resynth.learn import learn_song, pool_songs, sing_clean
from songnet.resynth.learn_files import check_singable
from songnet.resynth.songs import LearnParams, find_songs
from songnet.surrogates import conditions as cond
from songnet.surrogates.themes import Note, Theme, Trill, load_catalog
from songnet.synth import SR, note_contour

CATALOG = {t.name: t for t in load_catalog()}


def in_field(song: np.ndarray, *, seed: int, competitor: str | None = "before",
             snr_db: float = 20.0, lead_s: float = 0.8) -> Sound:
    """``song`` in pink noise, another species' call 0.3 s before or after it."""
    rng = np.random.default_rng(seed)
    lead = round(lead_s * SR)
    y = np.zeros(song.size + 2 * lead)
    y[lead:lead + song.size] = song
    if competitor is not None:
        call = cond.clutter_calls(round(0.4 * SR), count=2, rng=rng)
        call = call / np.abs(call).max()
        at = lead - call.size - round(0.3 * SR) if competitor == "before" \
            else lead + song.size + round(0.3 * SR)
        y[max(at, 0):at + call.size] += call[max(-at, 0):]
    noise = cond.coloured_noise(y.size, exponent=1.0, rng=rng)
    y = cond.mix_at_snr(y, noise, snr_db=snr_db, signal_rms=cond.rms(song[np.abs(song) > 0.05]))
    return Sound((0.8 * y / np.abs(y).max()).astype(np.float32), SR, f"seed{seed}.wav")


def contour_cents(a: Note, b: Note) -> float:
    ca = note_contour(a.shape, np.array(a.pitch_hz), 200)
    cb = note_contour(b.shape, np.array(b.pitch_hz), 200)
    return float(np.max(np.abs(1200 * np.log2(cb / ca))))


def audible_cents(a: Trill, b: Trill) -> float:
    """Median |cents| between two trill syllables where they sound: above half their peak
    (phases 0.3–0.95 of a syllable loudest at 0.7); the quiet start is not observable."""
    sl = slice(60, 190)
    ca = note_contour(a.shape, np.array(a.pitch_hz), 200)[sl]
    cb = note_contour(b.shape, np.array(b.pitch_hz), 200)[sl]
    return float(np.median(np.abs(1200 * np.log2(cb / ca))))


def assert_close(got: Theme, want: Theme, *, cents: float = 25.0, ms: float = 6.0) -> None:
    assert len(got.notes) == len(want.notes)
    for g, w in zip(got.notes, want.notes, strict=True):
        assert contour_cents(g, w) < cents, (g, w)
        assert abs(g.duration_s - w.duration_s) * 1000 < ms, (g, w)
        assert abs(g.gap_s - w.gap_s) * 1000 < ms, (g, w)
    gt, wt = got.trill, want.trill
    assert gt.shape == wt.shape
    assert audible_cents(gt, wt) < 2 * cents  # the syllable's slope is the least sure
    assert abs(gt.interval_s / wt.interval_s - 1) < 0.03
    assert abs(gt.count - wt.count) <= 1


def learn_one(sound: Sound, name: str = "x") -> Theme:
    songs, _ = find_songs(sound)
    assert len(songs) == 1
    return learn_song(songs[0], name=name).theme


def no_jitter(theme: Theme) -> Theme:
    return dataclasses.replace(theme, trill=dataclasses.replace(theme.trill, jitter=0.0))


def test_a_song_in_noise_after_another_species_learns_back_to_its_theme():
    theme = CATALOG["T08"]  # two whistles and a long downsweep
    sound = in_field(sing_clean(theme, lead_s=0.05), seed=1, competitor="before")
    got = learn_one(sound)
    assert [n.shape for n in got.notes] == ["whistle", "whistle", "sweep"]
    assert_close(got, theme)
    assert abs(got.trill.drift_interval - theme.trill.drift_interval) < 0.03
    assert got.trill.peak_at == pytest.approx(theme.trill.peak_at, abs=0.08)


def test_a_wide_downsweep_learns_back():
    wide = dataclasses.replace(CATALOG["T03"], notes=(
        Note("sweep", (7500.0, 2500.0), 0.4, 0.09), Note("whistle", (4800.0,), 0.15, 0.07)))
    got = learn_one(in_field(sing_clean(wide, lead_s=0.05), seed=2, competitor="after"))
    assert got.notes[0].shape == "sweep"
    assert_close(got, wide)


def test_songs_of_several_birds_pool_to_medians_with_their_spread():
    theme = CATALOG["T06"]
    learned = []
    for k, factor in enumerate((0.97, 1.0, 1.03)):
        bird = dataclasses.replace(theme, notes=tuple(
            dataclasses.replace(n, pitch_hz=tuple(p * factor for p in n.pitch_hz))
            for n in theme.notes))
        songs, _ = find_songs(in_field(sing_clean(bird, lead_s=0.05), seed=10 + k))
        learned.append(learn_song(songs[0], name="T06"))
    pooled, left_out = pool_songs(learned, name="T06")
    assert not left_out
    assert_close(pooled, theme)
    assert pooled.spread.songs == 3
    assert pooled.spread.pitch == pytest.approx(0.03, abs=0.01)
    assert pooled.spread.tempo < 0.01


def test_two_songs_in_one_recording_and_one_cut_at_the_edge():
    song = sing_clean(CATALOG["T01"], lead_s=0.05)
    y = np.concatenate([song[song.size // 3:], np.zeros(SR), song, np.zeros(SR), song,
                        np.zeros(SR // 2), song[:song.size // 2]])
    noise = cond.coloured_noise(y.size, exponent=1.0, rng=np.random.default_rng(0))
    y = (y + 0.005 * noise).astype(np.float32)
    songs, skipped = find_songs(Sound(y, SR, "two.wav"))
    assert len(songs) == 2
    assert len(skipped) == 2 and all("cut at the edge" in str(s) for s in skipped)
    assert "in its trill" in str(skipped[1])
    assert str(skipped[0]).startswith("two.wav: 0.00–")
    inner, _ = find_songs(Sound(y, SR, "two.wav"), start_s=songs[1].start_s - 0.3)
    assert len(inner) == 1 and inner[0].start_s == pytest.approx(songs[1].start_s, abs=0.01)


def test_noise_and_other_sounds_hold_no_song():
    rng = np.random.default_rng(3)
    y = cond.clutter_calls(3 * SR, count=4, rng=rng) + 0.05 * cond.coloured_noise(
        3 * SR, exponent=1.0, rng=rng)
    songs, _ = find_songs(Sound(y.astype(np.float32), SR, "calls.wav"))
    assert songs == []
    with pytest.raises(SongnetError, match="must lie before --end"):
        find_songs(Sound(y.astype(np.float32), SR, "calls.wav"), start_s=2.0, end_s=1.0)


def test_a_note_the_model_cannot_sing_is_named():
    theme = dataclasses.replace(CATALOG["T01"], notes=(
        CATALOG["T01"].notes[0], Note("sweep", (9000.0, 2000.0), 0.3, 0.08)))
    with pytest.raises(SongnetError, match=r"x: note 2 \(sweep 9.00 → 2.00 kHz, 300 ms\) "
                                           r"cannot be sung: it spans a pitch ratio of 4.50"):
        check_singable(theme, where="x")
    low = dataclasses.replace(theme, notes=(Note("whistle", (1200.0,), 0.2, 0.07),))
    with pytest.raises(SongnetError, match=r"note 1 .* 1.20 kHz lies outside"):
        check_singable(low, where="x")


def test_params_are_checked():
    with pytest.raises(ValueError, match="min_trill"):
        LearnParams(min_trill=1)


def assemble(real: dict[str, np.ndarray], *, whistle: str, sweep: str, syllable: str,
             interval_s: float, count: int, seed: int) -> np.ndarray:
    """A song from real syllables: whistle, downsweep, then the trill syllable repeated."""
    parts = [np.zeros(round(0.5 * SR)), real[whistle], np.zeros(round(0.07 * SR)),
             real[sweep], np.zeros(round(0.08 * SR))]
    syl = real[syllable]
    gap = np.zeros(round(interval_s * SR) - syl.size)
    parts += [syl, gap] * count + [np.zeros(round(0.5 * SR))]
    y = np.concatenate(parts)
    rng = np.random.default_rng(seed)
    return (y + 0.003 * rng.standard_normal(y.size)).astype(np.float32)


def test_a_theme_learned_from_real_syllables_sings_and_relearns_to_itself(real_syllables):
    real = {}
    for p in real_syllables:
        y, sr = sf.read(p, dtype="float32")
        assert sr == SR
        real[p.stem.replace("-syllable-", "-")] = y
    song = assemble(real, whistle="XC391056-1", sweep="XC391056-2", syllable="XC391056-4",
                    interval_s=0.065, count=12, seed=0)
    first = learn_one(Sound(song, SR, "assembled.wav"), name="real")
    assert first.notes[1].shape in ("sweep", "slur", "chevron")
    assert first.notes[1].pitch_hz[0] / first.notes[1].pitch_hz[-1] > 1.7  # 6.6 -> 3.4 kHz
    assert first.trill.interval_s == pytest.approx(0.065, rel=0.03)
    assert abs(first.trill.count - 12) <= 1
    first = check_singable(first, where="real")
    again = learn_one(Sound(sing_clean(no_jitter(first)).astype(np.float32), SR, "sung"))
    assert_close(again, first)
