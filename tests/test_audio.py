"""Audio I/O: formats, checks, resampling, safe writing."""

from __future__ import annotations

import os

import numpy as np
import pytest
import soundfile as sf

from audiostyle.audio import (
    PEAK_CEILING_DB,
    Audio,
    as_audio,
    limit_peak,
    load_audio,
    resample,
    save_audio,
    to_mono,
)
from audiostyle.errors import AudioStyleError
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
    (lambda p: p.write_text("this is not audio" * 20), "not a readable audio file"),
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
