"""songnet.core.audio: formats, mixing, resampling, streaming and the named errors."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf

from songnet.core.audio import Block, load, stream
from songnet.core.decode import AudioError, info
from songnet.core.errors import SongnetError

SR = 22050


def tone(freq: float, seconds: float, sr: int, amp: float = 0.5) -> np.ndarray:
    t = np.arange(round(seconds * sr)) / sr
    return (amp * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def peak_hz(y: np.ndarray, sr: int) -> float:
    spec = np.abs(np.fft.rfft(y * np.hanning(len(y))))
    return float(np.fft.rfftfreq(len(y), 1 / sr)[np.argmax(spec)])


@pytest.mark.parametrize("subtype", ["PCM_16", "PCM_24", "PCM_32", "FLOAT"])
def test_wav_subtypes_read_back_the_samples(tmp_path, subtype):
    y = tone(3000, 0.5, SR)
    path = tmp_path / f"t_{subtype}.wav"
    sf.write(path, y, SR, subtype=subtype)
    sound = load(path, sr=SR)
    assert sound.sr == SR and sound.samples.dtype == np.float32
    assert np.max(np.abs(sound.samples - y)) < 1e-3  # 16-bit quantisation at most
    assert info(path).subtype == subtype


@pytest.mark.parametrize(("fmt", "subtype", "suffix"),
                         [("WAV", "PCM_16", "wav"), ("WAV", "PCM_24", "wav"),
                          ("WAV", "PCM_32", "wav"), ("FLAC", "PCM_16", "flac"),
                          ("FLAC", "PCM_24", "flac"), ("AIFF", "PCM_16", "aiff")])
def test_integer_files_give_libsndfiles_own_float_samples(tmp_path, fmt, subtype, suffix):
    """Integers are read as integers and scaled (faster), bit for bit libsndfile's floats."""
    rng = np.random.default_rng(0)
    y = np.clip(rng.standard_normal((SR, 2)) * 0.4, -1, 1).astype(np.float32)
    y[:4] = [[-1.0, -1.0], [0.999, 0.5], [0.0, -0.0], [1 / 32768, -1 / 32768]]
    path = tmp_path / f"t.{suffix}"
    sf.write(path, y, SR, format=fmt, subtype=subtype)
    want = sf.read(path, dtype="float32", always_2d=True)[0].mean(axis=1, dtype=np.float32)
    assert np.array_equal(load(path, sr=SR).samples, want)
    got = np.concatenate([b.samples for b in stream(path, sr=SR, block_s=0.3, overlap_s=0.0)])
    assert np.array_equal(got, want)


@pytest.mark.parametrize(("fmt", "suffix"), [("FLAC", "flac"), ("OGG", "ogg"), ("MP3", "mp3")])
def test_compressed_formats_keep_pitch_and_length(tmp_path, fmt, suffix):
    y = tone(4000, 1.0, 44100)
    path = tmp_path / f"t.{suffix}"
    sf.write(path, y, 44100, format=fmt)
    sound = load(path, sr=SR)
    assert abs(len(sound) - SR) <= SR * 0.06  # MP3 adds encoder padding
    assert peak_hz(sound.samples, SR) == pytest.approx(4000, abs=10)


def test_stereo_is_mixed_to_mono(tmp_path):
    left, right = tone(2000, 0.5, SR), tone(5000, 0.5, SR, amp=0.2)
    path = tmp_path / "stereo.wav"
    sf.write(path, np.stack([left, right], axis=1), SR, subtype="FLOAT")
    sound = load(path, sr=SR)
    assert sound.samples.shape == (len(left),)
    assert np.allclose(sound.samples, (left + right) / 2, atol=1e-6)
    assert info(path).channels == 2


@pytest.mark.parametrize("native", [8000, 44100, 96000])
def test_any_rate_comes_out_at_the_pipeline_rate(tmp_path, native):
    freq = 3000.0  # below the 4 kHz Nyquist of 8 kHz audio
    path = tmp_path / f"r{native}.wav"
    sf.write(path, tone(freq, 1.0, native), native, subtype="PCM_16")
    sound = load(path, sr=SR)
    assert sound.sr == SR and len(sound) == SR
    assert peak_hz(sound.samples, SR) == pytest.approx(freq, abs=3)
    assert info(path).sr == native and info(path).duration == pytest.approx(1.0)


def test_truncated_wav_is_a_named_error(tmp_path):
    path = tmp_path / "cut.wav"
    sf.write(path, tone(1000, 1.0, SR), SR, subtype="PCM_16")
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(AudioError, match=r"cut\.wav: truncated WAV"):
        load(path, sr=SR)
    with pytest.raises(AudioError, match=r"cut\.wav"):
        list(stream(path, sr=SR))


def test_text_file_named_wav_is_a_named_error(tmp_path):
    path = tmp_path / "notes.wav"
    path.write_text("this is a field note, not audio\n")
    with pytest.raises(AudioError, match=r"notes\.wav: not a readable audio file"):
        load(path, sr=SR)


def test_missing_and_empty_files_are_named_errors(tmp_path):
    with pytest.raises(AudioError, match=r"nowhere\.wav: audio file not found"):
        load(tmp_path / "nowhere.wav", sr=SR)
    path = tmp_path / "empty.wav"
    sf.write(path, np.zeros(0, dtype=np.float32), SR)
    with pytest.raises(AudioError, match=r"empty\.wav: holds no audio"):
        load(path, sr=SR)
    with pytest.raises(AudioError, match=r"empty\.wav: holds no audio"):
        list(stream(path, sr=SR))


def test_nan_samples_are_a_named_error_with_their_time(tmp_path):
    y = tone(1000, 1.0, SR)
    y[SR // 2:] = np.nan
    path = tmp_path / "nan.wav"
    sf.write(path, y, SR, subtype="FLOAT")
    with pytest.raises(AudioError, match=r"nan\.wav: samples contain NaN or inf \(first at "
                                         r"0\.500 s\)"):
        load(path, sr=SR)
    with pytest.raises(AudioError, match=r"nan\.wav.*0\.500 s"):
        list(stream(path, sr=SR, block_s=0.2, overlap_s=0.05))


@pytest.mark.parametrize("native", [SR, 44100])
def test_stream_blocks_overlap_and_join_to_the_whole_file(tmp_path, native):
    rng = np.random.default_rng(3)
    y = (0.1 * rng.standard_normal(native * 7)).astype(np.float32)  # 7 s
    path = tmp_path / "long.wav"
    sf.write(path, y, native, subtype="FLOAT")
    whole = load(path, sr=SR).samples
    blocks = list(stream(path, sr=SR, block_s=2.0, overlap_s=0.5))
    assert all(isinstance(b, Block) and b.sr == SR for b in blocks)
    assert [b.start_s for b in blocks] == pytest.approx([0.0, 1.5, 3.0, 4.5, 6.0])
    assert all(len(b.samples) == 2 * SR for b in blocks[:-1])
    assert blocks[-1].end_s == pytest.approx(7.0, abs=1e-3)
    for b in blocks:  # every block equals the same stretch of the whole file
        start = round(b.start_s * SR)
        ref = whole[start:start + len(b.samples)]
        assert len(ref) == len(b.samples)
        assert np.max(np.abs(b.samples - ref)) < 1e-4


def test_stream_of_a_short_file_is_one_block(tmp_path):
    path = tmp_path / "short.wav"
    sf.write(path, tone(1000, 0.3, SR), SR)
    blocks = list(stream(path, sr=SR, block_s=60.0, overlap_s=3.0))
    assert len(blocks) == 1 and blocks[0].start_s == 0 and len(blocks[0].samples) == 0.3 * SR


def test_stream_refuses_bad_block_settings(tmp_path):
    path = tmp_path / "a.wav"
    sf.write(path, tone(1000, 0.3, SR), SR)
    with pytest.raises(SongnetError, match="overlap_s=2"):
        list(stream(path, sr=SR, block_s=1.0, overlap_s=2.0))
    with pytest.raises(SongnetError, match="block_s=0"):
        list(stream(path, sr=SR, block_s=0.0, overlap_s=0.0))
    with pytest.raises(SongnetError, match="sr=0"):
        load(path, sr=0)


def test_real_syllables_load(real_syllables):
    for path in real_syllables:
        sound = load(path, sr=SR)
        assert sound.sr == SR and len(sound) > 0
        assert 0 < np.max(np.abs(sound.samples)) <= 1.5
        assert info(path).sr == 44100
