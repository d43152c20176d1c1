"""Resynthesis of generated recordings and sketches: the model sings the wanted pitch."""

from __future__ import annotations

import csv
import time

import numpy as np
import pytest
import soundfile as sf

from songnet.cli import main
from songnet.core.errors import SongnetError
from songnet.core.sound import Sound
from songnet.resynth.resynthesize import (
    ResynthesizeParams,
    resynthesize_recording,
    resynthesize_sketch,
)
from songnet.resynth.sketch import parse_sketch
from songnet.song.track import cents, pitch_error_cents, track_pitch
from songnet.synth import SR, harmonic_level_db

SKETCH = """# id: s1
# theme: T01
onset_s,offset_s,start_hz,end_hz,mid_hz
0.00,0.12,4500,4500,
0.18,0.40,5000,3600,
0.46,0.48,6000,4000,
"""


def chirp(f0, f1, dur_s, *, lead_s=0.03, sr=SR):
    """A recording: silence, a glide f0 -> f1 (Hz), silence, with faint noise."""
    t = np.arange(int(dur_s * sr)) / sr
    f = f0 * (f1 / f0) ** (t / dur_s)
    note = 0.4 * np.sin(2 * np.pi * np.cumsum(f) / sr) * np.hanning(t.size) ** 0.1
    gap = np.zeros(int(lead_s * sr))
    y = np.concatenate([gap, note, gap])
    y += 1e-4 * np.random.default_rng(0).standard_normal(y.size)
    return Sound(y.astype(np.float32), sr, "chirp")


def test_recording_resynthesis_follows_a_glide():
    rec = chirp(5000.0, 3600.0, 0.2)
    res = resynthesize_recording(rec)
    assert len(res.sound) == len(rec)
    assert len(res.notes) == 1
    err = pitch_error_cents(track_pitch(rec), track_pitch(res.sound))
    assert np.median(err) < 5.0
    assert res.notes[0].median_abs_cents < 5.0
    assert res.notes[0].f0_start_hz == pytest.approx(5000.0, rel=0.02)
    # the silences stay silent
    lead = res.sound.samples[: int(0.02 * SR)]
    assert np.abs(lead).max() < 1e-3 * np.abs(res.sound.samples).max()


def test_refinement_improves_on_calibration_only():
    rec = chirp(6500.0, 3800.0, 0.06)  # a fast trill-like sweep
    raw = resynthesize_recording(rec, params=ResynthesizeParams(n_refine=0))
    fit = resynthesize_recording(rec, params=ResynthesizeParams(n_refine=3))
    assert fit.median_abs_cents <= raw.median_abs_cents


def test_resampled_input():
    rec = chirp(4200.0, 4200.0, 0.15, sr=22050)
    res = resynthesize_recording(rec)
    assert res.sound.sr == SR
    sung = track_pitch(res.sound)
    assert abs(cents(np.nanmedian(sung.f0_hz), 4200.0)) < 5


def test_sketch_resynthesis_sings_drawn_notes():
    sk = parse_sketch(SKETCH, source="s1.csv")
    params = ResynthesizeParams()
    res = resynthesize_sketch(sk, params=params)
    assert len(res.notes) == 3
    assert [round(n.onset_s - params.sketch_lead_s, 2) for n in res.notes] == [0.0, 0.18, 0.46]
    assert res.notes[0].median_abs_cents < 5 and res.notes[1].median_abs_cents < 5
    assert np.abs(res.sound.samples).max() == pytest.approx(params.peak, rel=1e-3)
    sung = track_pitch(res.sound)
    at = np.searchsorted(sung.times_s, params.sketch_lead_s + 0.06)
    assert abs(cents(sung.f0_hz[at], 4500.0)) < 5


def test_unreachable_and_silent_inputs():
    low = "onset_s,offset_s,start_hz,end_hz\n0,0.3,700,2000\n"
    with pytest.raises(SongnetError, match=r"low\.csv: pitch 7\d\d Hz cannot be sung as a pure"):
        resynthesize_sketch(parse_sketch(low, source="low.csv"))
    silent = Sound(np.zeros(SR // 10, dtype=np.float32), SR, "silent.wav")
    with pytest.raises(SongnetError, match=r"silent\.wav: no note found"):
        resynthesize_recording(silent)


def test_params_are_checked():
    with pytest.raises(ValueError, match="fmax_hz"):
        ResynthesizeParams(fmin_hz=5000.0, fmax_hz=3000.0)


def test_cli_file_and_folder(tmp_path, repo_root, capsys):
    params = repo_root / "params.yaml"
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "s1.csv").write_text(SKETCH)
    sf.write(tmp_path / "in" / "rec.wav", chirp(4000.0, 5000.0, 0.1).samples, SR)
    (tmp_path / "in" / "labels.csv").write_text("file,theme\nrec.wav,T07\n")
    assert main(["resynthesize", str(tmp_path / "in" / "s1.csv"), "-o",
                 str(tmp_path / "one.wav"), "--params", str(params)]) == 0
    assert "median pitch error" in capsys.readouterr().out
    y, sr = sf.read(tmp_path / "one.wav")
    assert sr == SR and y.size > SR // 4
    time.sleep(1.1)  # a header time stamp (as float WAV's PEAK chunk has) would now differ
    assert main(["resynthesize", str(tmp_path / "in" / "s1.csv"), "-o",
                 str(tmp_path / "again.wav"), "--params", str(params), "-q"]) == 0
    # same input, same bytes (no time-stamped header chunk), so DVC sees no change on rerun
    assert (tmp_path / "again.wav").read_bytes() == (tmp_path / "one.wav").read_bytes()
    assert main(["resynthesize", str(tmp_path / "in"), "-o", str(tmp_path / "out"), "-q",
                 "--params", str(params)]) == 0
    rows = list(csv.DictReader((tmp_path / "out" / "manifest.csv").open()))
    assert [(r["id"], r["kind"], r["theme"]) for r in rows] == [
        ("rec", "recording", "T07"), ("s1", "sketch", "T01")]
    assert all((tmp_path / "out" / r["path"]).is_file() for r in rows)
    notes = list(csv.DictReader((tmp_path / "out" / "notes.csv").open()))
    assert len(notes) == 1 + 3


def test_cli_bad_sketch_is_one_line_error(tmp_path, repo_root, capsys):
    bad = tmp_path / "bad.csv"
    bad.write_text("onset_s,offset_s,start_hz\n0,0.1,4000\n")
    code = main(["resynthesize", str(bad), "-o", str(tmp_path / "x.wav"),
                 "--params", str(repo_root / "params.yaml")])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1
    assert "bad.csv" in err[0] and "missing column 'end_hz'" in err[0]
    assert not (tmp_path / "x.wav").exists()


def test_real_syllables_beat_the_peer(real_syllables):
    from songnet.core.audio import load

    ours, peer = [], []
    for clip in real_syllables:
        orig = load(clip, sr=SR)
        ref = track_pitch(orig)
        ours.append(pitch_error_cents(ref, track_pitch(resynthesize_recording(orig).sound)))
        other = load(clip.with_name(clip.stem + ".peer-resynth.wav"), sr=SR)
        peer.append(pitch_error_cents(ref, track_pitch(other)))
    ours_med = np.median(np.concatenate(ours))
    assert ours_med < 5.0
    assert ours_med < np.median(np.concatenate(peer))


def _wide_sweep(f_from: float, f_to: float, seconds: float = 0.3) -> Sound:
    """A model-made pure-tone sweep (the model's own timbre), 50 ms of silence around it."""
    from songnet.synth import gestures_from_contour, render_gesture

    n = round(seconds * SR)
    t = np.concatenate([[0.0], 0.05 + np.arange(n) / SR, [seconds + 0.1]])
    f = np.concatenate([[np.nan], f_from * (f_to / f_from) ** (np.arange(n) / (n - 1)),
                        [np.nan]])
    y = render_gesture(gestures_from_contour(t, f, np.isfinite(f) * 1.0))
    return Sound((0.5 * y / np.abs(y).max()).astype(np.float32), SR, "sweep.wav")


@pytest.mark.parametrize(("f_from", "f_to"), [(2500.0, 7500.0), (7500.0, 2500.0)])
def test_a_threefold_sweep_resynthesizes(f_from, f_to):
    res = resynthesize_recording(_wide_sweep(f_from, f_to))
    voiced = res.target.f0_hz[res.target.voiced]
    assert voiced.max() / voiced.min() > 2.9
    assert res.median_abs_cents < 10
    assert res.gamma_t is not None and res.gamma_t.max() / res.gamma_t.min() > 1.5
    assert -52 < harmonic_level_db(res.sound.samples) < -42


def test_a_wide_sketched_note_resynthesizes():
    wide = "onset_s,offset_s,start_hz,end_hz\n0,0.4,7500,2500\n"
    res = resynthesize_sketch(parse_sketch(wide, source="wide.csv"))
    assert res.median_abs_cents < 15 and res.gamma_t is not None


def test_the_wide_real_downsweep_resynthesizes(real_syllables):
    from songnet.core.audio import load

    clip = next(p for p in real_syllables if p.name == "XC391056-syllable-2.wav")
    res = resynthesize_recording(load(clip, sr=SR))
    voiced = res.target.f0_hz[res.target.voiced]
    assert voiced.max() > 6000 and voiced.min() < 3600  # 6.6 -> 3.4 kHz
    assert res.median_abs_cents < 5
    assert -50 < harmonic_level_db(res.sound.samples) < -42
