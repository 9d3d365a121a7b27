"""The loader against junk, through the CLI: random bytes under audio names, a WAV and a FLAC
cut at every offset of their headers and at some in their data, headers whose sizes and
fields lie, odd file names.

The rule for each: no traceback, the input's bytes unchanged, and either refused (exit 2, the
last line on stderr the error naming the file, every line naming it, no output) or read as
what its header says (exit 0, an output as long as what the file decodes to). Which one is
decided by what libsndfile reads: a WAV cut in its data gives the whole samples before the cut
(with a warning) and a long enough cut is used; a WAV cut in its header and a FLAC cut anywhere
are refused. Random bytes are never a sound.

Most cases run ``audiostyle.cli.main`` in this process (fast); a few run the command in a
process of its own (tests/helpers/cli_harness.py), where a crash would show as its exit status.
"""

from __future__ import annotations

import contextlib
import io
import os
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from hypothesis import given, settings
from hypothesis import strategies as st

from audiostyle.cli import main
from conftest import SR

#: The smallest transfer: what follows a file that was read is not what is tested here.
TINY = ["--iterations", "1", "--refine", "0", "--gl-iterations", "1", "-e", "shallow", "-q"]
SUFFIXES = (".wav", ".flac", ".mp3", ".ogg")
#: Odd stems: spaces, other scripts, a leading dash, bytes that are not UTF-8, a long name
#: (as an absolute path, so that a leading dash is no option).
NAMES = st.sampled_from(["with  spaces", "ünïcødé 日本語", "-leading-dash", "--two",
                         os.fsdecode(b"bad\xff\xfename"), "a" * 200, "x"]) | st.text(
    st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters="/"),
    min_size=1, max_size=30).filter(lambda name: name.strip(".") != "")
#: Where a file format's magic lets a parser go further than its first bytes.
MAGIC = st.sampled_from([b"", b"RIFF\x24\x00\x00\x00WAVEfmt ", b"fLaC", b"OggS\x00\x02",
                         b"ID3\x03\x00", b"\xff\xfb\x90\x64"])


@pytest.fixture(scope="module")
def folder(tmp_path_factory, melody, bongos) -> Path:
    """style.wav (1 s of bongos), content.wav and content.flac (1 s of melody), out/."""
    base = tmp_path_factory.mktemp("junk")
    sf.write(base / "style.wav", bongos[:SR], SR)
    for suffix in (".wav", ".flac"):
        sf.write(base / f"content{suffix}", melody[:SR], SR)
    (base / "out").mkdir()
    return base


def _transfer(folder: Path, content: Path) -> tuple[int, str]:
    """``audiostyle transfer CONTENT style.wav -o out/r.wav`` here: (status, stderr)."""
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        status = main(["transfer", str(content), str(folder / "style.wav"), "-o",
                       str(folder / "out" / "r.wav"), *TINY])
    return status, err.getvalue()


def _check(folder: Path, name: str, data: bytes) -> int:
    """Write ``data`` as ``name``, transfer it, check the rule (module docstring); the status."""
    path = folder / name
    path.write_bytes(data)
    try:
        status, err = _transfer(folder, path)
        assert "Traceback" not in err and path.read_bytes() == data, err
        lines = err.strip().splitlines()
        assert all(f"{path}: " in line for line in lines), err
        out = folder / "out" / "r.wav"
        if status == 2:
            assert lines[-1].startswith(f"audiostyle: error: {path}: "), err
            assert not any((folder / "out").iterdir()), err
        else:
            assert status == 0, err
            assert [p.name for p in (folder / "out").iterdir()] == ["r.wav"]
            assert sf.info(out).frames == sf.info(os.fsencode(path)).frames
            out.unlink()
        return status
    finally:
        path.unlink()


@settings(max_examples=60, deadline=None, derandomize=True)
@given(stem=NAMES, suffix=st.sampled_from(SUFFIXES), magic=MAGIC,
       noise=st.binary(min_size=0, max_size=3000))
def test_random_bytes_under_an_audio_name_are_refused(folder, stem, suffix, magic, noise):
    data = magic + noise
    if data:  # (an empty file is refused too, with its own message)
        assert _check(folder, stem + suffix, data) == 2


@pytest.mark.parametrize("suffix", [".wav", ".flac"])
def test_a_file_cut_in_its_header_is_refused(folder, suffix):
    data = (folder / f"content{suffix}").read_bytes()
    for end in range(1, 65):
        assert _check(folder, f"cut at {end}{suffix}", data[:end]) == 2, end


def test_a_wav_cut_in_its_data_uses_the_whole_samples_before_the_cut(folder):
    data = (folder / "content.wav").read_bytes()
    header = len(data) - 2 * sf.info(folder / "content.wav").frames  # 16-bit mono samples
    shortest = header + 2 * 5120  # the shallow extractor's shortest input, 0.232 s
    for end in (header + 1, header + 2, shortest - 1, shortest + 1, len(data) - 1):
        status = _check(folder, f"cut at {end}.wav", data[:end])
        assert status == (0 if end >= shortest else 2), end


def test_a_flac_cut_in_its_data_is_refused(folder):
    data = (folder / "content.flac").read_bytes()
    for end in (len(data) // 4, len(data) // 2, len(data) - 1):
        assert _check(folder, f"cut at {end}.flac", data[:end]) == 2, end


#: The fields of a 44-byte PCM WAV header: (offset, bytes).
WAV_FIELDS = {"RIFF size": (4, 4), "fmt size": (16, 4), "format": (20, 2), "channels": (22, 2),
              "rate": (24, 4), "byte rate": (28, 4), "block align": (32, 2), "bits": (34, 2),
              "data size": (40, 4)}


@settings(max_examples=40, deadline=None, derandomize=True)
@given(field=st.sampled_from(sorted(WAV_FIELDS)), data=st.data())
def test_a_wav_header_that_lies_is_refused_or_read_as_it_says(folder, field, data):
    offset, size = WAV_FIELDS[field]
    value = data.draw(st.integers(0, 256**size - 1) | st.sampled_from([0, 1, 2, 8, 44100]))
    clean = (folder / "content.wav").read_bytes()
    lying = clean[:offset] + value.to_bytes(size, "little") + clean[offset + size:]
    _check(folder, f"{field}.wav", lying)


NOISE = np.random.default_rng(0).bytes(4000)


@pytest.mark.parametrize("name,make", [
    ("noise.wav", lambda clean: NOISE),
    ("noise.mp3", lambda clean: b"\xff\xfb\x90\x64" + NOISE),
    ("cut header.wav", lambda clean: clean[:30]),
    ("-ünï cødé.wav", lambda clean: clean[:100]),
], ids=["random wav", "random mp3", "cut header", "odd name"])
def test_junk_in_a_process_of_its_own_exits_2_without_a_traceback(cli, folder, name, make):
    path = folder / name
    data = make((folder / "content.wav").read_bytes())
    path.write_bytes(data)
    run = cli.run(["transfer", path, folder / "style.wav", "-o", folder / "out" / "r.wav",
                   *TINY], folder)
    assert run.status == 2 and "Traceback" not in run.stderr, run.stderr
    assert run.stderr.splitlines()[-1].startswith(f"audiostyle: error: {path}: "), run.stderr
    assert path.read_bytes() == data and not any((folder / "out").iterdir())


@pytest.mark.parametrize("role", ["content", "output"])
def test_a_name_too_long_for_the_file_system_is_refused(folder, role):
    long = folder / ("a" * 300 + ".wav")  # one part of a path holds at most 255 bytes
    paths = {"content": folder / "content.wav", "output": folder / "out" / "r.wav", role: long}
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        status = main(["transfer", str(paths["content"]), str(folder / "style.wav"), "-o",
                       str(paths["output"]), *TINY])
    problem = "cannot be read" if role == "content" else "cannot be written"
    assert (status, err.getvalue()) == (2, f"audiostyle: error: {long}: {problem} (File name "
                                           "too long)\n")
    assert not any((folder / "out").iterdir())
