"""Themes learned back from songs with a known answer (``songnet themes learn``).

Every default theme is sung by several birds (each with its own transposition, tempo,
per-note pitch and length, trill rate, γ and trachea, and a jittered rendition), put in a
field recording (coloured noise at 10–25 dB SNR, a competing non-chingolo call from the
recording conditions before or after the song), found and learned back, one song at a
time. Each song's known answer is its own rendition of the theme (the bird's factors
applied), so the errors are the learner's, not the birds'. Reported: per-note pitch error
(median |cents| between the true and the learned contour, trill syllable included), timing
error (|Δ duration| and |Δ gap| of the introductory notes, ms; a trill syllable's pitch
where it sounds, above half its peak), trill interval error (%),
and the share of songs whose learned theme, sung by a new bird, the shipped classifier
assigns to the original theme.

    .venv/bin/python benchmarks/learn.py [--birds 4] [--seed 0]

Targets (issue 12): pitch ≤ 30 cents, timing ≤ 10 ms, trill interval ≤ 5 %, same theme ≥ 0.95.
"""

from __future__ import annotations

import argparse
import dataclasses
import time

import librosa
import numpy as np

from songnet.core.sound import Sound
from songnet.features.images import images
from songnet.model.checkpoint import load_checkpoint, predict_proba
from songnet.resynth.learn import learn_song
from songnet.resynth.songs import find_songs
from songnet.surrogates import conditions as cond
from songnet.surrogates.birds import draw_bird, sing
from songnet.surrogates.synthesize_params import SynthesizeParams
from songnet.surrogates.themes import Note, Theme, contour, load_catalog
from songnet.synth import SR, gestures_from_contour, note_contour, render_batch


def rendition(theme: Theme, rng: np.random.Generator) -> tuple[np.ndarray, Theme]:
    """One bird's song of ``theme`` and its known answer (the theme as this bird sang it)."""
    p = SynthesizeParams()
    bird = draw_bird(theme, bird_id="b", rng=rng, params=p)
    k = len(theme.notes)
    sd = p.rendition_sd
    note_pitch = np.array(bird.note_pitch) * (1 + np.clip(rng.normal(0, sd, k), -2.5 * sd,
                                                          2.5 * sd))
    note_time = np.array(bird.note_time) * (1 + np.clip(rng.normal(0, 2 * sd, k), -5 * sd,
                                                        5 * sd))
    tempo = bird.tempo
    count = theme.trill.count + int(rng.integers(-1, 2))
    t, f0, amp = contour(theme, pitch=bird.pitch, tempo=tempo, note_pitch=note_pitch,
                         note_time=note_time, note_amp=rng.uniform(0.7, 1.0, k),
                         trill_interval=bird.trill_interval, trill_count=count, rng=rng)
    g = gestures_from_contour(t, f0, amp, gamma_scale=bird.gamma_factor)
    y = render_batch(g.alpha[None], g.beta[None], g.envelope[None], gamma=g.gamma_t[None],
                     tracts=[bird.tract])[0]
    notes = tuple(Note(n.shape, tuple(np.array(n.pitch_hz) * bird.pitch * note_pitch[i]),
                       n.duration_s * note_time[i] / tempo, n.gap_s / tempo)
                  for i, n in enumerate(theme.notes))
    scale = bird.trill_interval / tempo
    tr = theme.trill
    trill = dataclasses.replace(tr, pitch_hz=tuple(np.array(tr.pitch_hz) * bird.pitch),
                                note_s=tr.note_s * scale, interval_s=tr.interval_s * scale,
                                count=count)
    return y / np.abs(y).max(), dataclasses.replace(theme, notes=notes, trill=trill)


def field_recording(song: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """The song in noise at 10–25 dB SNR, another species' call before or after it."""
    lead = round(0.8 * SR)
    n = song.size + 2 * lead
    y = np.zeros(n)
    y[lead:lead + song.size] = song
    call = cond.clutter_calls(round(0.4 * SR), count=1, rng=rng)
    at = round(0.1 * SR) if rng.uniform() < 0.5 else lead + song.size + round(0.3 * SR)
    y[at:at + call.size] += rng.uniform(0.5, 1.2) * call[: n - at] / np.abs(call).max()
    noise = cond.coloured_noise(n, exponent=float(rng.uniform(0.5, 1.5)), rng=rng)
    snr = float(rng.uniform(10, 25))
    y = cond.mix_at_snr(y, noise, snr_db=snr, signal_rms=cond.rms(song[np.abs(song) > 0.05]))
    return (0.8 * y / np.abs(y).max()).astype(np.float32)


def contour_cents(a: Note | object, b: Note | object, shape_a: str, shape_b: str, *,
                  audible: bool = False) -> float:
    """Median |cents| between two notes' contours on 200 points; ``audible``: only where a
    trill syllable sounds above half its peak (phases 0.3–0.95), its quiet start being
    unobservable in a field recording."""
    sl = slice(60, 190) if audible else slice(None)
    ca = note_contour(shape_a, np.array(a.pitch_hz), 200)[sl]
    cb = note_contour(shape_b, np.array(b.pitch_hz), 200)[sl]
    return float(np.median(np.abs(1200 * np.log2(cb / ca))))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--birds", type=int, default=4, help="birds (songs) per theme")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    themes = load_catalog()
    ckpt = load_checkpoint(None)
    fp = ckpt.features()
    pitch, timing, interval, learned_songs, truth_names = [], [], [], [], []
    missed = 0
    t_start = time.perf_counter()
    print("theme  songs  pitch_cents  timing_ms  trill_interval_pct  (medians)")
    for ti, theme in enumerate(themes):
        row_p, row_t, row_i = [], [], []
        for b in range(args.birds):
            rng = np.random.default_rng([args.seed, ti, b])
            song, truth = rendition(theme, rng)
            rec = field_recording(song, rng)
            found, _ = find_songs(Sound(rec, SR, f"{theme.name}-b{b}"))
            if len(found) != 1 or len(found[0].intro) != len(theme.notes):
                missed += 1
                print(f"  {theme.name} bird {b}: found {len(found)} song(s)"
                      + (f" with {len(found[0].intro)} notes" if found else ""))
                continue
            got = learn_song(found[0], name=theme.name).theme
            for a, c in zip(truth.notes, got.notes, strict=True):
                row_p.append(contour_cents(a, c, a.shape, c.shape))
                row_t += [1000 * abs(a.duration_s - c.duration_s), 1000 * abs(a.gap_s - c.gap_s)]
            row_p.append(contour_cents(truth.trill, got.trill, truth.trill.shape,
                                       got.trill.shape, audible=True))
            row_i.append(100 * abs(got.trill.interval_s / truth.trill.interval_s - 1))
            learned_songs.append(got)
            truth_names.append(theme.name)
        pitch += row_p
        timing += row_t
        interval += row_i
        print(f"{theme.name:5s}  {len(row_i):5d}  {np.median(row_p):11.1f}  "
              f"{np.median(row_t):9.1f}  {np.median(row_i):18.2f}")
    # the learned themes sung by new birds, through the shipped classifier
    clips = []
    for i, theme in enumerate(learned_songs):
        y = sing(theme, rng=np.random.default_rng([args.seed, 99, i]))
        clips.append(librosa.resample(y, orig_sr=SR, target_sr=fp.sr))
    n = fp.n_samples
    batch = np.stack([np.pad(c, (0, max(0, n - c.size)))[:n] for c in clips])
    proba = predict_proba(ckpt, images(batch, params=fp, device="cpu"), batch_size=32)
    said = [ckpt.classes[k] for k in np.argmax(proba, axis=1)]
    same = float(np.mean([s == t for s, t in zip(said, truth_names, strict=True)]))
    wrong = [(t, s) for s, t in zip(said, truth_names, strict=True) if s != t]
    print(f"{len(learned_songs)} songs learned ({missed} not found whole) in "
          f"{time.perf_counter() - t_start:.0f} s; classifier on the learned themes: "
          f"{same:.3f} same theme" + (f", confused: {wrong}" if wrong else ""))
    print(f"pitch: median {np.median(pitch):.1f} cents (90th pct {np.percentile(pitch, 90):.1f});"
          f" timing: median {np.median(timing):.1f} ms (90th pct "
          f"{np.percentile(timing, 90):.1f}); trill interval: median {np.median(interval):.2f} %"
          f" (90th pct {np.percentile(interval, 90):.2f})")
    print(f"pitch_cents={np.median(pitch):.1f} timing_ms={np.median(timing):.1f} "
          f"trill_interval_pct={np.median(interval):.2f} same_theme={same:.3f}")


if __name__ == "__main__":
    main()
