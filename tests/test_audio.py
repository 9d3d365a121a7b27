"""Audio I/O: formats, checks, resampling, safe writing."""

from __future__ import annotations

import os
import resource

import numpy as np
import pytest
import soundfile as sf
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from audiostyle.errors import AudioStyleError, WriteError
from audiostyle.io.audio import (
    PEAK_CEILING_DB,
    Audio,
    as_audio,
    check_output_path,
    limit_peak,
    load_audio,
    resample,
    save_audio,
    to_mono,
)
from conftest import SR, tone


@pytest.mark.parametrize("ext,tolerance", [(".wav", 1e-4), (".flac", 1e-5), (".ogg", 0.05),
                                           (".mp3", 0.05)])
def test_round_trip_each_output_format(tmp_path, ext, tolerance):
    x = np.stack([tone(440.0, 0.5), tone(660.0, 0.5)])
    path = save_audio(tmp_path / f"out{ext}", Audio(x, SR))
    back = load_audio(path)
    assert back.sr == SR and back.channels == 2
    n = min(back.samples.shape[1], x.shape[1])
    if ext in (".wav", ".flac"):
        np.testing.assert_allclose(back.samples[:, :n], x[:, :n], atol=tolerance)
    else:  # lossy codecs add delay; compare levels
        assert np.sqrt(np.mean(back.samples**2)) == pytest.approx(np.sqrt(np.mean(x**2)),
                                                                  rel=tolerance * 4)


def test_loud_output_is_scaled_not_clipped(tmp_path):
    x = 3.0 * tone(100.0, 0.2)[None]
    path = save_audio(tmp_path / "loud.wav", Audio(x, SR))
    back = load_audio(path).samples
    ceiling = 10 ** (PEAK_CEILING_DB / 20)
    assert np.abs(back).max() == pytest.approx(ceiling, abs=1e-3)
    np.testing.assert_allclose(back, x * ceiling / np.abs(x).max(), atol=1e-3)  # same shape
    quiet, gain = limit_peak(0.1 * x)
    assert gain == 1.0 and np.array_equal(quiet, 0.1 * x)


def test_write_is_atomic_and_refuses_to_overwrite_inputs(tmp_path):
    source = tmp_path / "in.wav"
    sf.write(source, tone(440.0, 0.1), SR)
    before = source.read_bytes()
    with pytest.raises(AudioStyleError, match="overwrite an input"):
        save_audio(source, Audio(np.zeros((1, 100), np.float32), SR), inputs=(source,))
    assert source.read_bytes() == before
    save_audio(tmp_path / "sub" / "out.wav", Audio(np.zeros((1, 100), np.float32), SR))
    assert sorted(os.listdir(tmp_path / "sub")) == ["out.wav"]  # no temporary left behind


@pytest.mark.parametrize("make,message", [
    (lambda p: None, "no such file"),
    (lambda p: p.mkdir(), "is a directory"),
    (lambda p: p.write_bytes(b""), "file is empty"),
    (lambda p: p.write_text("this is not audio" * 20), "not an audio file"),
])
def test_bad_files_give_one_line_errors_naming_the_file(tmp_path, make, message):
    path = tmp_path / "input.wav"
    make(path)
    with pytest.raises(AudioStyleError, match=message) as info:
        load_audio(path)
    assert str(path) in str(info.value) and "\n" not in str(info.value)


def test_nan_samples_are_refused(tmp_path):
    path = tmp_path / "nan.wav"
    x = tone(440.0, 0.1)
    x[10] = np.nan
    sf.write(path, x, SR, subtype="FLOAT")
    with pytest.raises(AudioStyleError, match="NaN"):
        load_audio(path)


def test_resample_and_downmix():
    audio = as_audio(np.stack([tone(440.0, 1.0), -tone(440.0, 1.0)]), SR)
    assert np.allclose(to_mono(audio).samples, 0)
    down = resample(as_audio(tone(440.0, 1.0), SR), 16000)
    assert down.samples.shape == (1, 16000)
    spectrum = np.abs(np.fft.rfft(down.samples[0]))
    assert int(spectrum.argmax()) == 440  # 1 s at 16 kHz: bin = Hz


def test_arrays_need_a_rate():
    with pytest.raises(AudioStyleError, match="sample rate"):
        as_audio(np.zeros(10))


# --- rates, exact lengths, the loader on any file, output limits, failed writes -------------

LOADABLE = st.tuples(
    st.integers(8000, 192000),  # rate
    st.integers(1, 8),  # channels
    st.integers(1, 3000),  # samples
    st.sampled_from([("WAV", "PCM_16"), ("WAV", "PCM_24"), ("WAV", "FLOAT"), ("FLAC", "PCM_16"),
                     ("FLAC", "PCM_24")]),
)


@settings(max_examples=60, deadline=None)
@given(spec=LOADABLE, seed=st.integers(0, 2**16))
def test_loader_reads_any_rate_channels_and_length(tmp_path_factory, spec, seed):
    sr, channels, samples, (fmt, subtype) = spec
    assume(fmt != "FLAC" or sr <= 65535 or sr % 10 == 0)  # FLAC cannot hold other rates
    x = (0.9 * np.random.default_rng(seed).uniform(-1, 1, (samples, channels))).astype(np.float32)
    path = tmp_path_factory.mktemp("load") / f"x.{fmt.lower()}"
    sf.write(path, x, sr, format=fmt, subtype=subtype)
    audio = load_audio(path)
    assert audio.sr == sr and audio.samples.shape == (channels, samples)
    assert audio.samples.dtype == np.float32 and np.all(np.isfinite(audio.samples))
    np.testing.assert_allclose(audio.samples, x.T, atol=1e-4)


@settings(max_examples=60, deadline=None)
@given(samples=st.integers(1, 20000), sr=st.integers(8000, 192000),
       working=st.sampled_from([16000, 22050, 44100]))
def test_resampling_there_and_back_keeps_the_length_exactly(samples, sr, working):
    audio = Audio(np.ones((2, samples), np.float32) * 0.1, sr)
    there = resample(audio, working)
    assert there.samples.shape == (2, max(1, round(samples * working / sr)))
    back = resample(there, sr, samples)
    assert back.samples.shape == (2, samples) and np.all(np.isfinite(back.samples))


@pytest.mark.parametrize("sr", [4000, 7999, 192001, 384000])
def test_rates_outside_the_supported_range_are_refused(sr):
    with pytest.raises(AudioStyleError, match=f"sample rate {sr} Hz is not supported"):
        as_audio(np.zeros(1000), sr)


@pytest.mark.parametrize("name,channels,sr,message", [
    ("o.mp3", 3, 22050, "MP3 holds at most 2 channels, the result has 3"),
    ("o.mp3", 2, 96000, "MP3 cannot be written at 96000 Hz"),
    ("o.flac", 9, 22050, "FLAC holds at most 8 channels"),
    ("o.flac", 1, 65536, "FLAC cannot store 65536 Hz"),
    ("o.wav", 1, 200000, "output rate: sample rate 200000 Hz is not supported"),
])
def test_output_formats_are_checked_for_channels_and_rate(tmp_path, name, channels, sr, message):
    with pytest.raises(AudioStyleError, match=message):
        check_output_path(tmp_path / name, channels=channels, sr=sr)
    check_output_path(tmp_path / "o.wav", channels=channels, sr=min(sr, 192000))  # WAV holds it


@pytest.mark.parametrize("ext", [".wav", ".flac", ".ogg", ".mp3"])
def test_a_write_that_fails_leaves_nothing(tmp_path, ext):
    """A full disk (simulated by the file size limit; Python ignores SIGXFSZ): a one-line
    error, no file, no temporary. Ogg and MP3 would otherwise be truncated without a word."""
    x = np.random.default_rng(0).uniform(-0.5, 0.5, (2, 3 * SR)).astype(np.float32)
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    resource.setrlimit(resource.RLIMIT_FSIZE, (8192, hard))
    try:
        with pytest.raises(WriteError, match=r"could not write the result \(File too large\)"):
            save_audio(tmp_path / f"out{ext}", Audio(x, SR))
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
    assert os.listdir(tmp_path) == []


def test_partial_writes_can_be_discarded_at_once(tmp_path, monkeypatch):
    """What the second Ctrl-C does while a file is being written."""
    from audiostyle import _util
    from audiostyle.io import audio

    def interrupted_write(*args, **kwargs):
        assert len(audio._WRITING) == 1
        _util.discard_partial_writes()
        raise KeyboardInterrupt

    monkeypatch.setattr(audio.sf, "write", interrupted_write)
    with pytest.raises(KeyboardInterrupt):
        save_audio(tmp_path / "out.wav", Audio(np.zeros((1, 100), np.float32), SR))
    assert os.listdir(tmp_path) == [] and not audio._WRITING


def test_written_files_get_the_usual_permissions(tmp_path):
    path = save_audio(tmp_path / "out.wav", Audio(np.zeros((1, 100), np.float32), SR))
    assert path.stat().st_mode & 0o777 == 0o666 & ~_umask()


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
