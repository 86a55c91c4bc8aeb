"""The work schema every engine hands the predictor, and reading the image bytes it points to."""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.fs as pafs

from serving.batch.config import InputColumns

# One row per image: either its bytes (`image`, from a Parquet dataset) or where to read them
# (`source`, an index into the job's filesystems, and `fs_path` on it); `error` set means the
# image is already known to be unusable.
WORK_SCHEMA = pa.schema([
    pa.field("path", pa.string(), nullable=False),  # as reported in the output
    pa.field("image", pa.binary()),  # encoded image file; null: read it from fs_path, or none
    pa.field("source", pa.int32()),  # which of the job's filesystems holds fs_path
    pa.field("fs_path", pa.string()),  # the file's path on that filesystem
    pa.field("error", pa.string()),  # why there is no image; null if there is one
])
REMOTE_READ_THREADS = 8  # concurrent reads from a remote filesystem (each waits on the network)


@dataclass(frozen=True)
class LoadedImages:
    """A work batch with every image's bytes read, or why they could not be."""

    paths: list[str]
    data: list[bytes | None]  # None exactly where errors has a message
    errors: list[str | None]


def files_table(names: Sequence[str], fs_paths: Sequence[str], source: int) -> pa.Table:
    """Work rows for image files still to be read from filesystem number `source`."""
    count = len(names)
    return pa.table([pa.array(names, pa.string()), pa.nulls(count, pa.binary()),
                     pa.array([source] * count, pa.int32()), pa.array(fs_paths, pa.string()),
                     pa.nulls(count, pa.string())], schema=WORK_SCHEMA)


def parquet_to_work(table: pa.Table | pa.RecordBatch, columns: InputColumns) -> pa.Table:
    """Work rows from rows of an input dataset (path, image and, optionally, error columns)."""
    names = table.schema.names
    missing = [name for name in (columns.path, columns.image) if name not in names]
    if missing:
        raise ValueError(f"the Parquet input lacks the column(s) {missing} (it has {names}); "
                         f"name them with --path-column / --image-column")
    count = table.num_rows
    image = table.column(columns.image)
    if not pa.types.is_binary(image.type):
        image = image.cast(pa.binary())
    error = (table.column(columns.error).cast(pa.string()) if columns.error in names
             else pa.nulls(count, pa.string()))
    return pa.table([table.column(columns.path).cast(pa.string()), image,
                     pa.nulls(count, pa.int32()), pa.nulls(count, pa.string()), error],
                    schema=WORK_SCHEMA)


def read_file(filesystem: pafs.FileSystem, path: str) -> bytes:
    """All bytes of one file (never decompressed: a .gz is an undecodable image, not its content)."""
    with filesystem.open_input_file(path) as stream:
        return stream.readall()


def _read_or_error(filesystem: pafs.FileSystem, path: str) -> tuple[bytes | None, str | None]:
    try:
        return read_file(filesystem, path), None
    except OSError as err:  # FileNotFoundError, PermissionError, a network failure...
        return None, f"cannot read the file: {err}"


def load_images(work: pa.Table, filesystems: Sequence[pafs.FileSystem]) -> LoadedImages:
    """The bytes of every row: from its `image`, or read from its file; an unreadable file or
    a row without an image gets an error instead."""
    rows = work.select(["path", "image", "source", "fs_path", "error"]).to_pydict()
    data: list[bytes | None] = list(rows["image"])
    errors: list[str | None] = list(rows["error"])
    to_read = [i for i, (image, source, error) in
               enumerate(zip(data, rows["source"], errors, strict=True))
               if image is None and error is None and source is not None]
    remote = any(filesystems[rows["source"][i]].type_name != "local" for i in to_read)
    if remote and len(to_read) > 1:
        with ThreadPoolExecutor(REMOTE_READ_THREADS) as pool:
            read = list(pool.map(lambda i: _read_or_error(filesystems[rows["source"][i]],
                                                          rows["fs_path"][i]), to_read))
    else:
        read = [_read_or_error(filesystems[rows["source"][i]], rows["fs_path"][i])
                for i in to_read]
    for i, (content, error) in zip(to_read, read, strict=True):
        data[i], errors[i] = content, error
    for i, (content, error) in enumerate(zip(data, errors, strict=True)):
        if content is None and error is None:
            errors[i] = "the dataset holds no image bytes for this row"
        elif error is not None:
            data[i] = None
    return LoadedImages(list(rows["path"]), data, errors)
