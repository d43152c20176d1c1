"""A real song sung again (issue 28): its gaps and trill count re-drawn within the variation
of its theme's real songs, read back as a song with the drawn values."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from songnet.core.sound import Sound
from songnet.song.find import find_songs
from songnet.surrogates.realdata import RealMaterial, read_recordings
from songnet.surrogates.resing import SR, SongVariation, resing, theme_variation


@pytest.fixture(scope="module")
def songs(real_birds, tmp_path_factory):
    """Two real birds' songs as the synthesize stage reads them: 2 recordings x 3 songs."""
    root = tmp_path_factory.mktemp("resing") / "2020"
    rng = np.random.default_rng(3)
    for bird in real_birds.BIRDS[:2]:
        (root / bird.name).mkdir(parents=True)
        for f in range(2):
            parts = [real_birds.scene(bird, real_birds.variant(bird, rng, slow=False), rng,
                                      lead_s=1.2)[0] for _ in range(3)]
            sf.write(root / bird.name / f"rec-{f}.wav", np.concatenate(parts),
                     real_birds.SR, subtype="FLOAT")
    return read_recordings(root, themes=[b.name for b in real_birds.BIRDS[:2]]).songs


def _read(y: np.ndarray):
    """The one song found in ``y`` (padded with silence)."""
    pad = np.zeros(SR // 2)
    found, _ = find_songs(Sound(np.concatenate([pad, y, pad]).astype(np.float32), SR, "x"))
    assert len(found) == 1
    return found[0]


def test_real_songs_keep_their_notes_and_syllables(songs, real_birds):
    intro = {b.name: len(b.intro) for b in real_birds.BIRDS[:2]}
    assert len(songs) == 12
    for s in songs:
        assert s.n_intro == intro[s.theme] and len(s.parts) - s.n_intro >= 8
        starts = [a for a, _ in s.parts]
        assert starts == sorted(starts) and 0 < starts[0] and s.parts[-1][1] < s.samples.size / SR
        assert all(b > a for a, b in s.parts)


def test_variation_spans_the_theme_songs(songs):
    var = theme_variation(songs)
    assert set(var) == {s.theme for s in songs}
    for theme, v in var.items():
        counts = [len(s.parts) - s.n_intro for s in songs if s.theme == theme]
        assert v.counts == (min(counts), max(counts))
        assert v.gap_ratio[0] <= 1.0 <= v.gap_ratio[1] and v.gap_ratio[1] > v.gap_ratio[0]
    # what synthesize draws from: the train recordings' songs alone
    held = tuple(dataclasses.replace(s, split="test") if Path(s.recording).stem == "rec-1"
                 else s for s in songs)
    train_only = RealMaterial(held, (), (), ()).variation
    assert train_only == theme_variation([s for s in held if s.split == "train"])
    assert train_only != var
    alone = theme_variation(songs[:1])[songs[0].theme]  # one song: its own values
    assert alone.counts == (len(songs[0].parts) - songs[0].n_intro,) * 2
    assert alone.gap_ratio == (1.0, 1.0)


@pytest.mark.parametrize("change", [+3, -4])
def test_the_trill_gets_the_drawn_count(songs, change):
    rng = np.random.default_rng(0)
    for s in songs[::3]:
        count = len(s.parts) - s.n_intro
        read_before = _read(s.samples)
        out = _read(resing(s, SongVariation((count + change,) * 2, (1.0, 1.0)), rng))
        assert len(out.intro) == len(read_before.intro) == s.n_intro
        assert out.count == read_before.count + change


def test_gaps_are_scaled_and_notes_kept(songs):
    rng = np.random.default_rng(0)
    for s in songs[::3]:
        count = len(s.parts) - s.n_intro
        y = resing(s, SongVariation((count, count), (1.5, 1.5)), rng)
        before, after = _read(s.samples), _read(y)
        gaps, new = (
            [b.onset_s - a.offset_s for a, b in zip(r.intro[:-1], r.intro[1:], strict=True)]
            for r in (before, after))
        assert new == pytest.approx([1.5 * g for g in gaps], abs=0.012)
        durations = [n.duration_s for n in before.intro]
        assert [n.duration_s for n in after.intro] == pytest.approx(durations, abs=0.01)
        assert after.count == before.count
        # unchanged values give the song back, sample for sample
        same = resing(s, SongVariation((count, count), (1.0, 1.0)), rng)
        assert np.array_equal(same, s.samples.astype(np.float64))


def test_a_song_without_notes_or_too_long_a_trill_is_left_or_kept_in_bounds(songs):
    rng = np.random.default_rng(0)
    bare = dataclasses.replace(songs[0], parts=(), n_intro=0)
    assert np.array_equal(resing(bare, SongVariation((20, 20), (2.0, 2.0)), rng),
                          bare.samples.astype(np.float64))
    s = songs[0]
    count = len(s.parts) - s.n_intro
    long = resing(s, SongVariation((count + 30,) * 2, (1.0, 1.0)), rng,
                  max_samples=s.samples.size)  # too long for the clip: its own count
    assert long.size == s.samples.size


def test_synthesize_sings_the_train_copies_again_and_keeps_val_and_test(songs):
    from songnet.surrogates.synthesize import synthesize
    from songnet.surrogates.synthesize_params import SynthesizeParams
    from songnet.surrogates.themes import load_catalog

    theme = load_catalog()[0]
    mine = tuple(dataclasses.replace(s, theme=theme.name) for s in songs[:6])
    mine = mine[:4] + tuple(dataclasses.replace(s, split="val") for s in mine[4:])
    material = RealMaterial(mine, (), (), ())
    params = SynthesizeParams(train_birds=1, train_songs_per_bird=1, val_birds=1,
                              val_songs_per_bird=1, test_birds=1, test_songs_per_bird=1,
                              stress_birds=1, stress_songs_per_bird=1, no_song_factor=1.0,
                              unknown_factor=0.0, real_copies=4, clip_s=3.0, workers=1)
    length = {f"{Path(s.recording).name}@{s.start_s:.2f}": s.samples.size / SR for s in mine}

    def spans(p):
        out = {"train": [], "val": []}
        for c in synthesize([theme], params=p, real=material):
            r = c.row
            if r["real_recording"]:
                sung = r["offset_s"] - r["onset_s"] + 0.2 / r["pitch_factor"]
                out[r["split"]].append(sung * r["pitch_factor"] - length[r["real_recording"]])
        return out

    kept = spans(dataclasses.replace(params, real_resing=False))
    assert len(kept["train"]) == 16 and len(kept["val"]) == 2
    assert np.abs(kept["train"] + kept["val"]).max() < 0.002  # as recorded, resampled only
    again = spans(params)
    assert np.abs(again["val"]).max() < 0.002  # val and test: as recorded
    assert np.abs(again["train"]).max() > 0.05  # train copies: other gaps and trill lengths
