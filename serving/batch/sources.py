"""Finding a job's inputs: folders, globs and files of images, and Parquet datasets, on any pyarrow
filesystem (local paths, file://, s3://, gs://, hdfs://...), and cutting them into work batches."""

from __future__ import annotations

import fnmatch
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.fs as pafs
import pyarrow.parquet as pq

from serving.batch.config import InputColumns
from serving.batch.errors import InputError, JobFailedError
from serving.batch.work import files_table, parquet_to_work

# The suffixes a folder is searched for; a file named explicitly is read whatever its suffix.
IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff"})
PARQUET_SUFFIXES = frozenset({".parquet", ".pq"})


@dataclass(frozen=True)
class Location:
    """A user's input or output spelling resolved to a filesystem and a path on it."""

    filesystem: pafs.FileSystem
    fs_path: str  # on the filesystem; for a glob, the folder above its first wildcard
    shown: str  # how fs_path is spelt to the user (their own spelling, URI scheme included)
    pattern: tuple[str, ...] = ()  # glob components below fs_path; () unless a glob

    def show(self, fs_path: str) -> str:
        """How a path on the filesystem under fs_path is reported."""
        return self.shown + fs_path[len(self.fs_path):]


def _is_uri(location: str) -> bool:
    return "://" in location


def _glob_start(parts: Sequence[str], uri: bool) -> int | None:
    """Index of the first path component with a wildcard (`?` too, except in URIs, where it
    starts a query), or None."""
    marks = "*[" if uri else "*?["
    return next((i for i, part in enumerate(parts) if any(m in part for m in marks)), None)


def locate(location: str) -> Location:
    """Resolve a local path or a URI (file://, s3://...), splitting off a glob pattern if any."""
    if not location:
        raise InputError("an empty path was given")
    uri = _is_uri(location)
    path_part, query = location.split("?", 1) if uri and "?" in location else (location, "")
    parts = path_part.split("/")
    start = _glob_start(parts, uri)
    base = ("/".join(parts[:start]) or ("/" if path_part.startswith("/") else "")
            if start is not None else path_part)
    pattern = tuple(parts[start:]) if start is not None else ()
    if uri:
        try:
            filesystem, fs_path = pafs.FileSystem.from_uri(base + (f"?{query}" if query else ""))
        except (pa.ArrowException, OSError, ValueError) as err:
            raise InputError(f"{location}: cannot open this location: {err}") from err
        return Location(filesystem, fs_path.rstrip("/") or "/", base.rstrip("/"), pattern)
    base = base or "."
    fs_path = os.path.abspath(os.path.expanduser(base))
    return Location(pafs.LocalFileSystem(), fs_path, base.rstrip("/") or "/", pattern)


def _matches(parts: Sequence[str], pattern: Sequence[str]) -> bool:
    """Whether path components match glob components (`**` matches any number of them)."""
    if not pattern:
        return not parts
    if pattern[0] == "**":
        return any(_matches(parts[i:], pattern[1:]) for i in range(len(parts) + 1))
    return (bool(parts) and fnmatch.fnmatchcase(parts[0], pattern[0])
            and _matches(parts[1:], pattern[1:]))


def _suffix(path: str) -> str:
    name = path.rsplit("/", 1)[-1]
    return "." + name.rsplit(".", 1)[-1].lower() if "." in name else ""


def _info(location: Location, original: str) -> pafs.FileInfo:
    try:
        return location.filesystem.get_file_info(location.fs_path)
    except OSError as err:
        raise InputError(f"{original}: cannot read this location: {err}") from err


def _list(location: Location, original: str) -> list[str]:
    """Every file under the location's folder, sorted; those matching its glob, if it has one."""
    info = _info(location, original)
    if info.type != pafs.FileType.Directory:
        raise InputError(f"{original}: no such folder" + (" (the part before the wildcard)"
                                                          if location.pattern else ""))
    selector = pafs.FileSelector(location.fs_path, recursive=True)
    try:
        infos = location.filesystem.get_file_info(selector)
    except OSError as err:
        raise InputError(f"{original}: cannot list this folder: {err}") from err
    files = sorted(i.path for i in infos if i.type == pafs.FileType.File)
    if not location.pattern:
        return files
    cut = len(location.fs_path.rstrip("/")) + 1
    return [f for f in files if _matches(f[cut:].split("/"), location.pattern)]


@dataclass(frozen=True)
class ImageFiles:
    """Image files of one input, to be read where they are classified."""

    source: int  # index into InputPlan.filesystems
    fs_paths: tuple[str, ...]
    names: tuple[str, ...]  # as reported in the output


@dataclass(frozen=True)
class ParquetFiles:
    """Parquet files of one input, each holding a path and an image-bytes column."""

    source: int  # index into InputPlan.filesystems
    fs_paths: tuple[str, ...]
    rows: int  # images in all of them, from their footers
    columns: tuple[str, ...]  # the columns read: path, image and, if every file has it, error
    row_groups: tuple[int, ...]  # row groups of each file


@dataclass(frozen=True)
class InputPlan:
    """Everything a job will classify."""

    filesystems: tuple[pafs.FileSystem, ...]
    images: tuple[ImageFiles, ...]
    parquet: tuple[ParquetFiles, ...]
    columns: InputColumns

    @property
    def total(self) -> int:
        """Images in the job."""
        return sum(len(f.fs_paths) for f in self.images) + sum(p.rows for p in self.parquet)


def _parquet_footer(filesystem: pafs.FileSystem, fs_path: str, shown: str,
                    columns: InputColumns) -> tuple[int, int, bool]:
    """(rows, row groups, whether it has the error column) of one Parquet file, checked for its
    columns."""
    try:
        with filesystem.open_input_file(fs_path) as stream:
            metadata = pq.ParquetFile(stream).metadata
    except (pa.ArrowException, OSError) as err:
        raise InputError(f"{shown}: not a readable Parquet file: {err}") from err
    names = metadata.schema.to_arrow_schema().names
    missing = [c for c in (columns.path, columns.image) if c not in names]
    if missing:
        raise InputError(f"{shown}: the Parquet file lacks the column(s) {missing} (it has "
                         f"{names}); name them with --path-column / --image-column")
    return metadata.num_rows, metadata.num_row_groups, columns.error in names


def plan_inputs(inputs: Sequence[str], columns: InputColumns | None = None) -> InputPlan:
    """Find every image file and Parquet file the inputs name. A folder is searched recursively
    for image files and Parquet files (by suffix); a glob keeps the files it matches; a file is
    Parquet by its suffix, else an image. InputError when an input names nothing."""
    columns = columns or InputColumns()
    filesystems: list[pafs.FileSystem] = []
    images: list[ImageFiles] = []
    parquet: list[ParquetFiles] = []
    for original in inputs:
        location = locate(original)
        source = next((i for i, fs in enumerate(filesystems) if fs.equals(location.filesystem)),
                      len(filesystems))
        if source == len(filesystems):
            filesystems.append(location.filesystem)
        info = None if location.pattern else _info(location, original)
        if info is not None and info.type == pafs.FileType.File:
            found, explicit = [location.fs_path], True
        elif info is not None and info.type == pafs.FileType.NotFound:
            raise InputError(f"{original}: no such file or folder")
        else:
            found, explicit = _list(location, original), bool(location.pattern)
        tables = [f for f in found if _suffix(f) in PARQUET_SUFFIXES]
        pictures = [f for f in found if _suffix(f) not in PARQUET_SUFFIXES
                    and (explicit or _suffix(f) in IMAGE_SUFFIXES)]
        if not tables and not pictures:
            what = "matches no file" if location.pattern else "holds no image or Parquet files"
            raise InputError(f"{original}: {what} (images: {', '.join(sorted(IMAGE_SUFFIXES))}; "
                             f"Parquet: {', '.join(sorted(PARQUET_SUFFIXES))})")
        if pictures:
            images.append(ImageFiles(source, tuple(pictures),
                                     tuple(location.show(f) for f in pictures)))
        if tables:
            footers = [_parquet_footer(location.filesystem, f, location.show(f), columns)
                       for f in tables]
            read = (columns.path, columns.image) + ((columns.error,) if all(
                has_error for _, _, has_error in footers) else ())
            parquet.append(ParquetFiles(source, tuple(tables), sum(n for n, _, _ in footers),
                                        read, tuple(groups for _, groups, _ in footers)))
    return InputPlan(tuple(filesystems), tuple(images), tuple(parquet), columns)


def work_batches(plan: InputPlan, batch_size: int) -> Iterator[pa.Table]:
    """The whole job as work tables (work.WORK_SCHEMA) of at most batch_size rows, read lazily:
    a Parquet dataset is streamed batch by batch, never loaded whole."""
    for files in plan.images:
        for start in range(0, len(files.fs_paths), batch_size):
            end = start + batch_size
            yield files_table(files.names[start:end], files.fs_paths[start:end], files.source)
    for dataset in plan.parquet:
        for fs_path in dataset.fs_paths:
            yield from read_parquet(plan.filesystems[dataset.source], fs_path, dataset.columns,
                                    plan.columns, batch_size)


def read_parquet(filesystem: pafs.FileSystem, fs_path: str, read: Sequence[str],
                 columns: InputColumns, batch_size: int,
                 row_groups: Sequence[int] | None = None) -> Iterator[pa.Table]:
    """Work tables of at most batch_size rows from the `read` columns of one Parquet file
    (only the given row groups, if any), streamed; JobFailedError if it cannot be read."""
    try:
        with filesystem.open_input_file(fs_path) as stream:
            parquet_file = pq.ParquetFile(stream)
            for batch in parquet_file.iter_batches(batch_size, row_groups=row_groups,
                                                   columns=list(read)):
                yield parquet_to_work(batch, columns)
    except (pa.ArrowException, OSError) as err:
        raise JobFailedError(f"{fs_path}: cannot read this Parquet file: {err}") from err
