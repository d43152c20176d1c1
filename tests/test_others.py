"""The world around a chingolo: other species' sounds, song fragments, the user's negatives."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import soundfile as sf

from songnet.cli import main
from songnet.core.errors import SongnetError
from songnet.surrogates import others
from songnet.surrogates.plan import _fragment
from songnet.surrogates.synthesize import load_negatives, synthesize
from songnet.surrogates.synthesize_params import SynthesizeParams
from songnet.surrogates.themes import load_catalog
from songnet.synth import SR

NEGATIVES = Path(__file__).resolve().parents[2] / "shared" / "data" / "real-negatives"
SMALL = SynthesizeParams(train_birds=1, train_songs_per_bird=2, val_birds=1,
                         val_songs_per_bird=1, test_birds=1, test_songs_per_bird=1,
                         stress_birds=1, stress_songs_per_bird=1, no_song_factor=6.0,
                         fragment_prob=0.3, unknown_factor=0.0, clip_s=3.0)


@pytest.mark.parametrize("kind", sorted(others.KINDS))
def test_every_kind_is_a_finite_unit_rms_sound_of_its_own(kind):
    a = others.KINDS[kind](SR, rng=np.random.default_rng(0))
    b = others.KINDS[kind](SR, rng=np.random.default_rng(1))
    assert a.shape == (SR,) and np.all(np.isfinite(a))
    assert np.sqrt(np.mean(a ** 2)) == pytest.approx(1.0, rel=1e-6)
    assert not np.allclose(a, b)  # the generator draws it


def test_other_birds_sing_where_birds_sing_and_human_noise_sits_low():
    spec = lambda y: np.abs(np.fft.rfft(y)) ** 2  # noqa: E731
    f = np.fft.rfftfreq(SR, 1 / SR)
    for kind, band in (("tonal_calls", (1000, 11000)), ("human_noise", (0, 3000))):
        p = sum(spec(others.KINDS[kind](SR, rng=np.random.default_rng(s))) for s in range(5))
        assert p[(f >= band[0]) & (f <= band[1])].sum() > 0.9 * p.sum(), kind


def test_no_song_clips_hold_other_sounds_and_song_fragments():
    clips = list(synthesize(load_catalog()[:2], params=SMALL))
    rows = pd.DataFrame([c.row for c in clips])
    bg = rows[rows.theme == "no_song"]
    assert (bg.world != "").mean() > 0.4  # world_prob 0.8, fragments alone
    kinds = {k for w in bg.world for k in w.split("+") if k}
    assert kinds <= set(others.KINDS) and len(kinds) >= 4
    fragments = bg[bg.onset_s.notna()]  # a piece of a song, labelled no_song
    assert len(fragments) >= 2 and (fragments.offset_s - fragments.onset_s < 2.5).all()
    assert (rows[rows.theme != "no_song"].onset_s.notna()).all()


def test_a_fragment_is_never_a_whole_song_and_trills_come_alone_at_every_length():
    rng = np.random.default_rng(0)
    seen = {"intro": 0, "note": 0, "trill": 0}
    trill_counts = []
    for theme in load_catalog():
        for _ in range(60):
            frag = _fragment(theme, rng)
            if not frag.notes:  # the trill alone: no introduction at all
                seen["trill"] += 1
                trill_counts.append(frag.trill.count / theme.trill.count)
                assert 2 <= frag.trill.count <= max(5, round(1.5 * theme.trill.count))
            elif frag.notes == theme.notes:  # the whole introduction, at most one syllable
                seen["intro"] += 1
                assert frag.trill.count == 1
            else:  # one introductory note, its trill syllable all but silent
                seen["note"] += 1
                assert len(frag.notes) == 1 and frag.notes[0] in theme.notes
                assert frag.trill.count == 1 and max(frag.trill.loudness) <= 0.05
    assert min(seen.values()) > 100
    # short pieces and trills as long as a whole song's (and longer) are both drawn
    assert min(trill_counts) < 0.3 and max(trill_counts) > 1.2


@pytest.mark.skipif(not NEGATIVES.is_dir(), reason=f"no real negatives in {NEGATIVES}")
def test_the_users_negatives_are_mixed_in_and_the_cli_takes_them(tmp_path):
    neg = load_negatives(NEGATIVES)
    assert len(neg) == 5 and all(y.dtype == np.float32 for y in neg)
    clips = list(synthesize(load_catalog()[:2], params=SMALL, negatives=neg))
    rows = pd.DataFrame([c.row for c in clips])
    used = rows[rows.negative != ""]
    assert len(used) >= 3 and set(used.negative.astype(int)) <= set(range(5))
    again = list(synthesize(load_catalog()[:2], params=SMALL, negatives=neg))
    assert all(np.array_equal(a.samples, b.samples) for a, b in zip(clips, again, strict=True))
    params = tmp_path / "params.yaml"
    import yaml

    from songnet.core.params import params_to_dict
    params.write_text(yaml.safe_dump({"synthesize": params_to_dict(SMALL)}))
    out = tmp_path / "surr"
    assert main(["synthesize", "--params", str(params), "--negatives", str(NEGATIVES),
                 "-o", str(out), "-q"]) == 0
    manifest = pd.read_csv(out / "manifest.csv", keep_default_na=False)
    assert (manifest.negative != "").sum() >= 3


def test_bad_negatives_folders_are_one_line_errors(tmp_path, capsys):
    with pytest.raises(SongnetError, match="not found"):
        load_negatives(tmp_path / "nope")
    (tmp_path / "empty").mkdir()
    with pytest.raises(SongnetError, match="no audio files"):
        load_negatives(tmp_path / "empty")
    (tmp_path / "short").mkdir()
    sf.write(tmp_path / "short" / "a.wav", np.zeros(100, dtype=np.float32), SR)
    with pytest.raises(SongnetError, match=r"shorter than 0\.1 s or silent"):
        load_negatives(tmp_path / "short")
    assert main(["synthesize", "--negatives", str(tmp_path / "nope"),
                 "-o", str(tmp_path / "out"), "-q"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "nope" in err and not (tmp_path / "out").exists()
