"""IDX parsing: valid files, gzip, and clear errors for truncated or wrong-magic data."""

import gzip

import numpy as np
import pytest

from training.idx import IdxFormatError, parse_idx, read_idx


def idx_bytes(array: np.ndarray) -> bytes:
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(d.to_bytes(4, "big") for d in array.shape)
    return header + array.astype(np.uint8).tobytes()


def test_parses_shape_and_values():
    array = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    np.testing.assert_array_equal(parse_idx(idx_bytes(array)), array)


def test_reads_plain_and_gzip_files_alike(tmp_path):
    array = np.arange(10, dtype=np.uint8)
    (tmp_path / "a").write_bytes(idx_bytes(array))
    (tmp_path / "a.gz").write_bytes(gzip.compress(idx_bytes(array)))
    np.testing.assert_array_equal(read_idx(tmp_path / "a"), read_idx(tmp_path / "a.gz"))


def test_big_endian_int32_values():
    header = bytes([0, 0, 0x0C, 1]) + (2).to_bytes(4, "big")
    data = header + (7).to_bytes(4, "big") + (-3).to_bytes(4, "big", signed=True)
    assert parse_idx(data).tolist() == [7, -3]


def test_truncated_file_is_reported():
    data = idx_bytes(np.zeros((5, 28, 28), np.uint8))[:-10]
    with pytest.raises(IdxFormatError, match="truncated"):
        parse_idx(data, "x.idx")


def test_trailing_bytes_are_reported():
    with pytest.raises(IdxFormatError, match="trailing"):
        parse_idx(idx_bytes(np.zeros(3, np.uint8)) + b"\0")


@pytest.mark.parametrize("magic", [b"\x01\x00\x08\x01", b"\x00\x00\x42\x01", b"\x00\x00\x08\x00"])
def test_wrong_magic_is_reported(magic):
    with pytest.raises(IdxFormatError, match="magic"):
        parse_idx(magic + b"\0\0\0\1" + b"\0")


def test_truncated_header_is_reported():
    with pytest.raises(IdxFormatError, match="header"):
        parse_idx(bytes([0, 0, 8, 3, 0, 0]))


def test_corrupt_gzip_is_reported(tmp_path):
    path = tmp_path / "bad.gz"
    path.write_bytes(gzip.compress(idx_bytes(np.zeros(100, np.uint8)))[:-8] + b"garbage!")
    with pytest.raises(IdxFormatError):
        read_idx(path)
