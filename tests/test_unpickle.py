"""The restricted unpickler: NumPy arrays come back, any other global is refused unexecuted."""

from __future__ import annotations

import io
import os
import pickle

import numpy as np
import pytest
from numpy.lib import format as npy_format

from audiostyle.errors import AudioStyleError
from audiostyle.weights.unpickle import load_npy


def npy_bytes(obj: object, protocol: int) -> bytes:
    """An ``.npy`` file holding ``obj`` pickled as a 0-d object array (what ``np.save`` of a
    dict writes), with a chosen pickle protocol."""
    array = np.empty((), dtype=object)
    array[()] = obj
    stream = io.BytesIO()
    npy_format.write_array_header_1_0(stream, npy_format.header_data_from_array_1_0(array))
    pickle.dump(array, stream, protocol=protocol)
    return stream.getvalue()


class RunsCommand:
    """Unpickling this calls ``os.system`` (pickled as ``posix.system``)."""

    def __init__(self, command: str) -> None:
        self.command = command

    def __reduce__(self):
        return (os.system, (self.command,))


@pytest.mark.parametrize("protocol", [2, 3, 5])
def test_dict_of_arrays_round_trips(protocol):
    rng = np.random.default_rng(0)
    weights = {"conv1": {"weights": rng.standard_normal((4, 1, 2, 3)).astype(np.float32),
                         "biases": np.arange(3, dtype=np.float64)}}
    loaded = load_npy(io.BytesIO(npy_bytes(weights, protocol)), source="w.npy").item()
    assert loaded.keys() == weights.keys()
    for key, value in weights["conv1"].items():
        np.testing.assert_array_equal(loaded["conv1"][key], value)
        assert loaded["conv1"][key].dtype == value.dtype


def test_np_save_output_is_readable(tmp_path):
    path = tmp_path / "w.npy"
    np.save(path, {"a": np.ones((2, 2), np.float32)}, allow_pickle=True)
    with open(path, "rb") as handle:
        loaded = load_npy(handle, source=str(path)).item()
    np.testing.assert_array_equal(loaded["a"], np.ones((2, 2)))


def test_plain_array_needs_no_pickle(tmp_path):
    path = tmp_path / "plain.npy"
    data = np.arange(12, dtype=np.float32).reshape(3, 4)
    np.save(path, np.asfortranarray(data))
    with open(path, "rb") as handle:
        np.testing.assert_array_equal(load_npy(handle, source="plain.npy"), data)


@pytest.mark.parametrize("protocol", [2, 4])
def test_os_system_is_refused_and_never_run(tmp_path, protocol):
    marker = tmp_path / "pwned"
    payload = {"conv1": {"weights": RunsCommand(f"touch {marker}")}}
    with pytest.raises(AudioStyleError, match=r"refusing to unpickle the global posix\.system"):
        load_npy(io.BytesIO(npy_bytes(payload, protocol)), source="evil.npy")
    assert not marker.exists()


def test_builtins_are_refused():
    class Evaluates:
        def __reduce__(self):
            return (eval, ("1 + 1",))

    with pytest.raises(AudioStyleError, match=r"__builtin__\.eval"):
        load_npy(io.BytesIO(npy_bytes(Evaluates(), 2)), source="evil.npy")


def test_not_an_npy_file_and_damaged_pickle():
    with pytest.raises(AudioStyleError, match=r"not a NumPy \.npy file"):
        load_npy(io.BytesIO(b"PK\x03\x04 a zip file"), source="x.npy")
    data = npy_bytes({"a": np.ones(3)}, 2)
    with pytest.raises(AudioStyleError, match="damaged"):
        load_npy(io.BytesIO(data[: len(data) - 20]), source="cut.npy")
