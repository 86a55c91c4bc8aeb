"""`digits pack`: many small image files into a few Parquet shards (path, image bytes), the fast
way into `digits batch` for millions of images."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TextIO

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.fs as pafs
import pyarrow.parquet as pq

from serving.batch.errors import InputError
from serving.batch.output import PARTIAL_SUFFIX
from serving.batch.progress import Progress
from serving.batch.sources import ImageFiles, locate, plan_inputs
from serving.batch.work import read_file

# What `digits batch` reads from a Parquet input by default (serving.batch.config.InputColumns).
PACK_SCHEMA = pa.schema([
    pa.field("path", pa.string(), nullable=False),  # the file as `digits batch` would report it
    pa.field("image", pa.binary()),  # the file's bytes, unchanged; null if it could not be read
    pa.field("error", pa.string()),  # why it could not be read; null if it was
])
SHARD_NAME = "part-{:05d}.parquet"


@dataclass(frozen=True)
class PackConfig:
    """How images are packed."""

    rows_per_file: int = 100_000  # images per Parquet shard (28×28 PNGs: about 27 MB)
    row_group_rows: int = 8192  # images per row group: the unit readers stream
    row_group_bytes: int = 64 * 1024 * 1024  # a row group ends sooner past this many image bytes
    read_threads: int = 8  # files read at once (a remote filesystem waits on the network)

    def __post_init__(self) -> None:
        if min(self.rows_per_file, self.row_group_rows, self.row_group_bytes,
               self.read_threads) < 1:
            raise ValueError("rows_per_file, row_group_rows, row_group_bytes and read_threads "
                             "must be ≥ 1")


@dataclass(frozen=True)
class PackSummary:
    output: str  # the shards' folder, as given
    shards: int
    images: int  # rows written, unreadable files included
    unreadable: int  # rows with an error instead of image bytes
    image_bytes: int

    def text(self) -> str:
        return (f"packed {self.images:,} images ({self.image_bytes / 1e6:,.1f} MB, "
                f"{self.unreadable:,} unreadable) into {self.shards} Parquet files in {self.output}")


def _read(filesystem: pafs.FileSystem, fs_path: str) -> tuple[bytes | None, str | None]:
    try:
        return read_file(filesystem, fs_path), None
    except OSError as err:
        return None, f"cannot read the file: {err}"


def _row_groups(files: ImageFiles, filesystem: pafs.FileSystem, config: PackConfig,
                start: int, end: int, pool: ThreadPoolExecutor) -> Iterator[pa.Table]:
    """Rows start..end of `files` as tables of at most row_group_rows rows / row_group_bytes."""
    names: list[str] = []
    data: list[bytes | None] = []
    errors: list[str | None] = []
    size = 0
    read = pool.map(lambda p: _read(filesystem, p), files.fs_paths[start:end])
    for name, (content, error) in zip(files.names[start:end], read, strict=True):
        names.append(name)
        data.append(content)
        errors.append(error)
        size += len(content or b"")
        if len(names) == config.row_group_rows or size >= config.row_group_bytes:
            yield pa.table([names, data, errors], schema=PACK_SCHEMA)
            names, data, errors, size = [], [], [], 0
    if names:
        yield pa.table([names, data, errors], schema=PACK_SCHEMA)


def _output_folder(location: str) -> tuple[pafs.FileSystem, str]:
    resolved = locate(location)
    filesystem = resolved.filesystem
    if resolved.pattern:
        raise InputError(f"--output {location}: an output folder cannot hold wildcards")
    info = filesystem.get_file_info(resolved.fs_path)
    if info.type == pafs.FileType.File:
        raise InputError(f"--output {location} is a file; name a folder for the shards")
    if info.type == pafs.FileType.Directory and any(
            i.base_name.endswith(".parquet") for i in filesystem.get_file_info(
                pafs.FileSelector(resolved.fs_path))):
        raise InputError(f"--output {location} already holds Parquet files; pack into an empty "
                         f"or new folder")
    filesystem.create_dir(resolved.fs_path, recursive=True)
    return filesystem, resolved.fs_path


def _write_shard(filesystem: pafs.FileSystem, path: str, tables: Iterable[pa.Table],
                 bar: Progress | None) -> tuple[int, int, int]:
    """Write one shard (under a .partial name until complete, removed on failure); its
    (rows, unreadable rows, image bytes)."""
    rows = unreadable = image_bytes = 0
    try:
        with filesystem.open_output_stream(path + PARTIAL_SUFFIX) as stream, \
                pq.ParquetWriter(stream, PACK_SCHEMA) as writer:
            for table in tables:
                writer.write_table(table)
                rows += table.num_rows
                unreadable += table.num_rows - table.column("error").null_count
                image_bytes += pc.sum(pc.binary_length(table["image"])).as_py() or 0
                if bar is not None:
                    bar.add(table.num_rows)
    except BaseException:  # no half-written shard is left behind
        filesystem.delete_file(path + PARTIAL_SUFFIX)
        raise
    filesystem.move(path + PARTIAL_SUFFIX, path)
    return rows, unreadable, image_bytes


def pack_images(images: Sequence[str], output: str, config: PackConfig | None = None,
                progress: TextIO | None = None) -> PackSummary:
    """Write every image file under `images` (folders, globs, files; local or URIs) into Parquet
    shards `part-NNNNN.parquet` in the folder `output`, in sorted path order. An unreadable
    file becomes a row with an error. InputError if nothing is found or `output` is not free."""
    config = config or PackConfig()
    plan = plan_inputs(images)
    if not plan.images:
        raise InputError(f"{', '.join(images)}: no image files to pack")
    out_fs, out_path = _output_folder(output)
    bar = Progress(plan.total, progress) if progress is not None else None
    shards, totals = 0, [0, 0, 0]  # rows, unreadable, image bytes
    with ThreadPoolExecutor(config.read_threads) as pool:
        for files in plan.images:
            filesystem = plan.filesystems[files.source]
            for start in range(0, len(files.fs_paths), config.rows_per_file):
                tables = _row_groups(files, filesystem, config, start,
                                     start + config.rows_per_file, pool)
                counts = _write_shard(out_fs, f"{out_path}/{SHARD_NAME.format(shards)}", tables,
                                      bar)
                totals = [t + c for t, c in zip(totals, counts, strict=True)]
                shards += 1
    if bar is not None:
        bar.close()
    return PackSummary(output, shards, *totals)
