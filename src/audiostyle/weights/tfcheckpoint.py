"""Reading TensorFlow checkpoints (the V2 "tensor bundle" format) without TensorFlow.

A checkpoint with prefix ``P`` is two kinds of file:

- ``P.index``: a table (LevelDB's SSTable format, uncompressed) whose keys are tensor names
  and whose values are ``BundleEntryProto`` messages: dtype, shape, shard, byte offset and size
  of the tensor in its data file, and the masked CRC-32C of those bytes. The empty key holds
  a ``BundleHeaderProto`` (number of shards, byte order).
- ``P.data-SSSSS-of-NNNNN``: the raw little-endian tensor bytes, one file per shard.

The table is read as LevelDB lays it out: a 48-byte footer at the end (handles of the
meta-index and index blocks, then a magic number) → the index block (last key of each data
block → that block's handle) → the data blocks. A block is a run of prefix-compressed entries
(``shared``, ``unshared``, ``value length`` varints, then the unshared key bytes and the
value), an array of restart offsets and their count; every block is followed by a one-byte
compression type and the masked CRC-32C of block and type. Every CRC is checked.
Only the protobuf fields this needs are decoded; partitioned (sliced) variables are refused.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import AudioStyleError

#: Last eight bytes of every LevelDB table.
TABLE_MAGIC = 0xDB4775248B80FB57
FOOTER_BYTES = 48
#: TensorFlow ``DataType`` enum values → NumPy dtypes (little-endian).
DTYPES = {1: "<f4", 2: "<f8", 3: "<i4", 4: "u1", 5: "<i2", 6: "i1", 9: "<i8", 10: "?",
          17: "<u2", 19: "<f2", 22: "<u4", 23: "<u8"}


def _crc_table() -> list[int]:
    table = []
    for byte in range(256):
        crc = byte
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 if crc & 1 else 0)
        table.append(crc)
    return table


_CRC_TABLE = _crc_table()


def crc32c(data: bytes) -> int:
    """CRC-32C (Castagnoli) of ``data``, as used by LevelDB and TensorFlow."""
    crc = 0xFFFFFFFF
    table = _CRC_TABLE
    for byte in data:
        crc = table[(crc ^ byte) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


def mask_crc(crc: int) -> int:
    """LevelDB's masked CRC: rotate right by 15 bits and add a constant (mod 2³²)."""
    return (((crc >> 15) | (crc << 17)) + 0xA282EAD8) & 0xFFFFFFFF


def _varint(data: bytes, pos: int) -> tuple[int, int]:
    """Decode a base-128 varint at ``pos``; returns (value, position after it)."""
    value = shift = 0
    while True:
        if pos >= len(data) or shift > 63:
            raise ValueError("truncated or overlong varint")
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            return value, pos


def _fields(message: bytes) -> Iterator[tuple[int, int | bytes]]:
    """(field number, value) pairs of a protobuf message: ints for varint and fixed fields,
    bytes for length-delimited ones."""
    pos = 0
    while pos < len(message):
        key, pos = _varint(message, pos)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = _varint(message, pos)
        elif wire == 1:
            value, pos = struct.unpack_from("<Q", message, pos)[0], pos + 8
        elif wire == 5:
            value, pos = struct.unpack_from("<I", message, pos)[0], pos + 4
        elif wire == 2:
            length, pos = _varint(message, pos)
            value, pos = message[pos : pos + length], pos + length
        else:
            raise ValueError(f"unsupported protobuf wire type {wire}")
        yield number, value


@dataclass(frozen=True)
class TensorEntry:
    """Where one tensor lives: ``BundleEntryProto`` decoded."""

    dtype: int
    shape: tuple[int, ...]
    shard: int
    offset: int
    size: int
    crc32c: int
    sliced: bool


def _entry(message: bytes) -> TensorEntry:
    found: dict[int, object] = {3: 0, 4: 0, 5: 0, 6: 0}
    shape: list[int] = []
    sliced = False
    for number, value in _fields(message):
        if number == 2:
            for dim_field, dim in _fields(value):
                if dim_field == 2:
                    shape.append(next((v for n, v in _fields(dim) if n == 1), 0))
        elif number == 7:
            sliced = True
        else:
            found[number] = value
    return TensorEntry(dtype=int(found.get(1, 0)), shape=tuple(shape), shard=int(found[3]),
                       offset=int(found[4]), size=int(found[5]), crc32c=int(found[6]),
                       sliced=sliced)


def _block(table: bytes, offset: int, size: int) -> list[tuple[bytes, bytes]]:
    """The (key, value) entries of the table block at ``offset`` (``size`` bytes + trailer)."""
    end = offset + size
    if end + 5 > len(table):
        raise ValueError("block handle points past the end of the index file")
    contents, kind = table[offset:end], table[end]
    stored = struct.unpack_from("<I", table, end + 1)[0]
    if mask_crc(crc32c(table[offset : end + 1])) != stored:
        raise ValueError("index block checksum mismatch")
    if kind != 0:
        raise ValueError(f"compressed index block (type {kind}) is not supported")
    restarts = struct.unpack_from("<I", contents, size - 4)[0]
    limit = size - 4 - 4 * restarts
    entries, key, pos = [], b"", 0
    while pos < limit:
        shared, pos = _varint(contents, pos)
        unshared, pos = _varint(contents, pos)
        length, pos = _varint(contents, pos)
        key = key[:shared] + contents[pos : pos + unshared]
        pos += unshared
        entries.append((key, contents[pos : pos + length]))
        pos += length
    return entries


class TFCheckpoint:
    """A TensorFlow V2 checkpoint in memory: its index and the bytes of its data shards.

    Args:
        index: contents of ``PREFIX.index``.
        shards: contents of ``PREFIX.data-00000-of-0000N`` … in shard order.

    Raises:
        ValueError: the bytes are not a valid checkpoint (bad magic, checksum, handle).
    """

    def __init__(self, index: bytes, shards: Sequence[bytes]) -> None:
        if len(index) < FOOTER_BYTES or struct.unpack_from("<Q", index, len(index) - 8)[0] \
                != TABLE_MAGIC:
            raise ValueError("not a TensorFlow checkpoint index (no table magic number)")
        footer = index[len(index) - FOOTER_BYTES :]
        pos = 0
        for _ in range(2):  # skip the meta-index block handle (offset, size)
            _, pos = _varint(footer, pos)
        index_offset, pos = _varint(footer, pos)
        index_size, _ = _varint(footer, pos)
        self.entries: dict[str, TensorEntry] = {}
        header = b""
        for _, handle in _block(index, index_offset, index_size):
            offset, pos = _varint(handle, 0)
            size, _ = _varint(handle, pos)
            for key, value in _block(index, offset, size):
                if key == b"":
                    header = value
                else:
                    self.entries[key.decode("utf-8")] = _entry(value)
        header_fields = dict(_fields(header))
        if header_fields.get(2, 0) != 0:
            raise ValueError("big-endian checkpoints are not supported")
        if header_fields.get(1, 1) != len(shards):
            raise ValueError(f"checkpoint has {header_fields.get(1, 1)} data shards, "
                             f"{len(shards)} given")
        self.shards = list(shards)

    @classmethod
    def from_prefix(cls, prefix: str | Path) -> TFCheckpoint:
        """Read ``PREFIX.index`` and its ``PREFIX.data-*`` files (raises AudioStyleError)."""
        index_path = Path(f"{prefix}.index")
        try:
            index = index_path.read_bytes()
            stem = index_path.name.removesuffix(".index")
            shards = sorted(index_path.parent.glob(f"{stem}.data-*-of-*"))
            return cls(index, [path.read_bytes() for path in shards])
        except (OSError, ValueError) as exc:
            raise AudioStyleError(f"cannot read TensorFlow checkpoint {prefix}: {exc}") from None

    def tensor(self, name: str) -> np.ndarray:
        """Tensor ``name`` as a NumPy array of its stored shape (CRC-checked)."""
        if name not in self.entries:
            raise KeyError(f"no tensor {name!r} in the checkpoint")
        entry = self.entries[name]
        if entry.sliced:
            raise ValueError(f"tensor {name!r} is partitioned; sliced variables are not supported")
        if entry.dtype not in DTYPES:
            raise ValueError(f"tensor {name!r} has unsupported dtype code {entry.dtype}")
        dtype = np.dtype(DTYPES[entry.dtype])
        count = int(np.prod(entry.shape, dtype=np.int64))
        if entry.size != count * dtype.itemsize or entry.shard >= len(self.shards):
            raise ValueError(f"tensor {name!r}: size {entry.size} does not match its shape "
                             f"{entry.shape} and dtype {dtype}")
        raw = self.shards[entry.shard][entry.offset : entry.offset + entry.size]
        if len(raw) != entry.size or mask_crc(crc32c(raw)) != entry.crc32c:
            raise ValueError(f"tensor {name!r}: checksum mismatch (damaged data file)")
        return np.frombuffer(raw, dtype=dtype).reshape(entry.shape).copy()
