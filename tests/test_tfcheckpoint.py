"""The TensorFlow checkpoint reader, on a checkpoint whose bytes this test writes itself.

The writer below follows the documented formats independently of the reader: LevelDB's table
(prefix-compressed entries with restart points, block trailers with masked CRC-32C, an index
block, an empty meta-index block, the 48-byte footer) and the protobuf messages of TensorFlow's
tensor bundle (``BundleHeaderProto``, ``BundleEntryProto``, ``TensorShapeProto``). Its CRC is a
bit-by-bit implementation, not the reader's table.
"""

from __future__ import annotations

import struct

import numpy as np
import pytest

from audiostyle.weights.tfcheckpoint import TFCheckpoint, crc32c, mask_crc

# --- an independent writer --------------------------------------------------------------------


def bitwise_crc32c(data: bytes) -> int:
    crc = 0xFFFFFFFF
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 * (crc & 1))
    return crc ^ 0xFFFFFFFF


def masked(data: bytes) -> int:
    crc = bitwise_crc32c(data)
    return (((crc >> 15) | (crc << 17)) + 0xA282EAD8) % 2**32


def varint(value: int) -> bytes:
    out = bytearray()
    while True:
        low, value = value & 0x7F, value >> 7
        out.append(low | (0x80 if value else 0))
        if not value:
            return bytes(out)


def field_varint(number: int, value: int) -> bytes:
    return varint(number << 3) + varint(value)


def field_bytes(number: int, value: bytes) -> bytes:
    return varint(number << 3 | 2) + varint(len(value)) + value


def field_fixed32(number: int, value: int) -> bytes:
    return varint(number << 3 | 5) + struct.pack("<I", value)


DTYPE_CODES = {np.dtype("<f4"): 1, np.dtype("<f8"): 2, np.dtype("<i4"): 3, np.dtype("<i8"): 9,
               np.dtype("<f2"): 19}


def entry_proto(array: np.ndarray, offset: int, crc: int) -> bytes:
    shape = b"".join(field_bytes(2, field_varint(1, dim)) for dim in array.shape)
    return (field_varint(1, DTYPE_CODES[array.dtype]) + field_bytes(2, shape)
            + (field_varint(4, offset) if offset else b"") + field_varint(5, array.nbytes)
            + field_fixed32(6, crc))


def block(entries: list[tuple[bytes, bytes]], restart_interval: int) -> bytes:
    """A table block: prefix-compressed entries, restart offsets, their count."""
    out, restarts, previous = bytearray(), [], b""
    for i, (key, value) in enumerate(entries):
        if i % restart_interval == 0:
            restarts.append(len(out))
            shared = 0
        else:
            shared = next((n for n in range(min(len(key), len(previous)))
                           if key[n] != previous[n]), min(len(key), len(previous)))
        out += varint(shared) + varint(len(key) - shared) + varint(len(value))
        out += key[shared:] + value
        previous = key
    for offset in restarts:
        out += struct.pack("<I", offset)
    return bytes(out + struct.pack("<I", len(restarts)))


def write_checkpoint(tensors: dict[str, np.ndarray], per_block: int = 2) -> tuple[bytes, bytes]:
    """(index bytes, data bytes) of a one-shard checkpoint holding ``tensors``."""
    data, entries = bytearray(), []
    for name in sorted(tensors):
        raw = tensors[name].tobytes()
        entries.append((name.encode(), entry_proto(tensors[name], len(data), masked(raw))))
        data += raw + b"\0" * 3  # unaligned padding between tensors: offsets must be used
    header = field_varint(1, 1) + field_bytes(3, field_varint(1, 1))  # 1 shard, version 1
    entries.insert(0, (b"", header))

    table, index_entries = bytearray(), []

    def append_block(contents: bytes) -> bytes:
        handle = varint(len(table)) + varint(len(contents))
        table.extend(contents + b"\0" + struct.pack("<I", masked(contents + b"\0")))
        return handle

    for start in range(0, len(entries), per_block):
        chunk = entries[start : start + per_block]
        index_entries.append((chunk[-1][0], append_block(block(chunk, restart_interval=2))))
    meta_handle = append_block(block([], 1))
    index_handle = append_block(block(index_entries, 1))
    footer = (meta_handle + index_handle).ljust(40, b"\0") + struct.pack("<Q", 0xDB4775248B80FB57)
    return bytes(table + footer), bytes(data)


@pytest.fixture
def tensors() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(0)
    return {
        "1CNN/kernel": rng.standard_normal((3, 3, 1, 4)).astype("<f4"),
        "1CNN/kernel/Adam": rng.standard_normal((3, 3, 1, 4)).astype("<f4"),
        "1CNN/bias": np.arange(4, dtype="<f4"),
        "batch_normalization/moving_variance": np.array([1.5, 2.5], dtype="<f8"),
        "global_step": np.array(12345678901, dtype="<i8"),
        "counts": np.arange(-3, 3, dtype="<i4").reshape(2, 3),
        "half": np.array([0.5, -2.0, 65504.0], dtype="<f2"),
    }


# --- tests ------------------------------------------------------------------------------------


def test_crc32c_known_answers_and_mask():
    assert crc32c(b"123456789") == 0xE3069283  # the standard CRC-32C check value
    assert crc32c(b"") == 0
    payload = np.random.default_rng(1).bytes(1000)
    assert crc32c(payload) == bitwise_crc32c(payload)
    assert mask_crc(crc32c(payload)) == masked(payload)


def test_reads_every_tensor_back_exactly(tensors):
    index, data = write_checkpoint(tensors)
    checkpoint = TFCheckpoint(index, [data])
    assert set(checkpoint.entries) == set(tensors)
    for name, expected in tensors.items():
        got = checkpoint.tensor(name)
        assert got.dtype == expected.dtype and got.shape == expected.shape, name
        np.testing.assert_array_equal(got, expected)
    assert checkpoint.entries["1CNN/kernel"].shape == (3, 3, 1, 4)


def test_block_layout_does_not_matter(tensors):
    index, data = write_checkpoint(tensors, per_block=100)
    one_block = TFCheckpoint(index, [data])
    index, data = write_checkpoint(tensors, per_block=1)
    many_blocks = TFCheckpoint(index, [data])
    assert one_block.entries == many_blocks.entries
    np.testing.assert_array_equal(many_blocks.tensor("half"), tensors["half"])


def test_reads_from_files_with_a_prefix(tmp_path, tensors):
    index, data = write_checkpoint(tensors)
    (tmp_path / "model.index").write_bytes(index)
    (tmp_path / "model.data-00000-of-00001").write_bytes(data)
    checkpoint = TFCheckpoint.from_prefix(tmp_path / "model")
    np.testing.assert_array_equal(checkpoint.tensor("counts"), tensors["counts"])


def test_damage_is_detected(tensors):
    index, data = write_checkpoint(tensors)
    offset = TFCheckpoint(index, [data]).entries["1CNN/bias"].offset
    damaged = bytearray(data)
    damaged[offset + 5] ^= 0x01
    with pytest.raises(ValueError, match="checksum mismatch"):
        TFCheckpoint(index, [bytes(damaged)]).tensor("1CNN/bias")
    bad_index = bytearray(index)
    bad_index[10] ^= 0x01
    with pytest.raises(ValueError, match="checksum mismatch"):
        TFCheckpoint(bytes(bad_index), [data])
    with pytest.raises(ValueError, match="no table magic"):
        TFCheckpoint(index[:-1] + b"\0", [data])
    with pytest.raises(ValueError, match="1 data shards, 0 given"):
        TFCheckpoint(index, [])
    with pytest.raises(KeyError):
        TFCheckpoint(index, [data]).tensor("missing")
