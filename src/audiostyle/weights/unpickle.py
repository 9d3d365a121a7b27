"""Reading pickled ``.npy`` files without running pickled code.

Some original weights are NumPy ``.npy`` files holding a pickled Python object (``np.save``
of a dict). A pickle can name any importable callable and call it while loading, so
``np.load(allow_pickle=True)`` on a downloaded file may run arbitrary code. Here the pickle is
read by an unpickler that resolves only the few globals NumPy needs to rebuild arrays
(:data:`ALLOWED`); any other global is refused before anything is called.
"""

from __future__ import annotations

import pickle
from collections.abc import Callable
from typing import IO

import numpy as np
from numpy.lib import format as npy_format

from ..errors import AudioStyleError


def _multiarray_reconstruct() -> Callable:
    try:  # NumPy ≥ 2 (``numpy.core`` is a deprecated alias there)
        from numpy._core.multiarray import _reconstruct
    except ImportError:  # NumPy 1.x
        from numpy.core.multiarray import _reconstruct
    return _reconstruct


def _numeric_frombuffer() -> Callable:
    try:
        from numpy._core.numeric import _frombuffer
    except ImportError:
        from numpy.core.numeric import _frombuffer
    return _frombuffer


def _codecs_encode() -> Callable:
    # Python 3 writes ``bytes`` in protocol-2 pickles as _codecs.encode(text, "latin1").
    import _codecs

    return _codecs.encode


#: The only globals a pickle may name: array and dtype reconstruction (under NumPy 1 and 2
#: module names; ``_frombuffer`` is what protocol 5 uses) and the latin-1 bytes helper of
#: Python 3 protocol-2 pickles.
ALLOWED: dict[tuple[str, str], Callable[[], object]] = {
    ("numpy.core.multiarray", "_reconstruct"): _multiarray_reconstruct,
    ("numpy._core.multiarray", "_reconstruct"): _multiarray_reconstruct,
    ("numpy.core.numeric", "_frombuffer"): _numeric_frombuffer,
    ("numpy._core.numeric", "_frombuffer"): _numeric_frombuffer,
    ("numpy", "ndarray"): lambda: np.ndarray,
    ("numpy", "dtype"): lambda: np.dtype,
    ("_codecs", "encode"): _codecs_encode,
}


class _ArraysOnly(pickle.Unpickler):
    """An unpickler that builds NumPy arrays and plain containers, and nothing else."""

    def __init__(self, stream: IO[bytes], source: str) -> None:
        super().__init__(stream, encoding="latin1")
        self.source = source

    def find_class(self, module: str, name: str) -> object:
        if (module, name) in ALLOWED:
            return ALLOWED[(module, name)]()
        raise AudioStyleError(
            f"{self.source}: refusing to unpickle the global {module}.{name} (only NumPy "
            "arrays are allowed): this is not a plain weights file; get the original file"
        )

    def persistent_load(self, pid: object) -> object:
        raise AudioStyleError(f"{self.source}: refusing a pickle with persistent ids")


def load_npy(stream: IO[bytes], *, source: str) -> np.ndarray:
    """Read an ``.npy`` file; its pickled object arrays are read with the restricted unpickler.

    Args:
        stream: the file, opened in binary mode, positioned at its start.
        source: the file's name, for error messages.

    Returns:
        The array (for ``np.save`` of a dict: a 0-d object array; ``.item()`` is the dict).

    Raises:
        AudioStyleError: not an ``.npy`` file, or the pickle names a global outside
            :data:`ALLOWED`, or it is damaged.
    """
    try:
        version = npy_format.read_magic(stream)
        header = (npy_format.read_array_header_1_0 if version == (1, 0)
                  else npy_format.read_array_header_2_0)
        shape, fortran_order, dtype = header(stream)
    except ValueError as exc:
        raise AudioStyleError(f"{source}: not a NumPy .npy file ({exc})") from None
    if not dtype.hasobject:
        data = np.frombuffer(stream.read(), dtype=dtype, count=int(np.prod(shape)))
        return data.reshape(shape, order="F" if fortran_order else "C")
    try:
        array = _ArraysOnly(stream, source).load()
    except AudioStyleError:
        raise
    except Exception as exc:  # a damaged pickle can fail in many ways
        raise AudioStyleError(f"{source}: the pickled data is damaged ({exc})") from None
    if not isinstance(array, np.ndarray):
        raise AudioStyleError(f"{source}: the pickle holds a {type(array).__name__}, "
                              "not a NumPy array")
    return array
