"""Writing the output rows as they come: one Parquet file, or JSON lines, on any pyarrow filesystem."""

from __future__ import annotations

import json
from types import TracebackType

import pyarrow as pa
import pyarrow.fs as pafs
import pyarrow.parquet as pq

from serving.batch.config import OutputFormat
from serving.batch.errors import InputError
from serving.batch.sources import Location, locate

JSON_DECIMALS = 6  # probabilities in JSON, as `python -m serving.client predict --json`: float32
# carries about 7 significant digits
PARTIAL_SUFFIX = ".partial"  # the output is written under this name, renamed when complete
ROW_GROUP_ROWS = 16_384  # rows per Parquet row group: a few MB, written as soon as they are ready


def _rounded(value: object) -> object:
    if isinstance(value, float):
        return round(value, JSON_DECIMALS)
    if isinstance(value, list):
        return [_rounded(v) for v in value]
    return value


def json_lines(table: pa.Table) -> str:
    """One JSON object per row, keys in the schema's order, floats to JSON_DECIMALS decimals."""
    return "".join(json.dumps({k: _rounded(v) for k, v in row.items()}) + "\n"
                   for row in table.to_pylist())


class RowWriter:
    """Appends output tables to `location` (a local path or URI) in `fmt`, writing under a
    .partial name that is renamed when the writer closes without error, and removed otherwise."""

    def __init__(self, location: str, fmt: OutputFormat, schema: pa.Schema) -> None:
        self._location = _output_location(location)
        self._fmt = fmt
        self._schema = schema
        self._partial = self._location.fs_path + PARTIAL_SUFFIX
        try:
            self._stream = self._location.filesystem.open_output_stream(self._partial)
        except OSError as err:
            raise InputError(f"--output {location}: cannot write there: {err}") from err
        self._parquet = pq.ParquetWriter(self._stream, schema) if fmt is OutputFormat.PARQUET \
            else None
        self._pending: list[pa.Table] = []
        self._pending_rows = 0
        self.rows = 0  # rows written so far

    @property
    def shown(self) -> str:
        return self._location.shown

    def write(self, table: pa.Table) -> None:
        if table.schema != self._schema:
            table = table.select(self._schema.names).cast(self._schema)
        self.rows += table.num_rows
        if self._parquet is None:
            self._stream.write(json_lines(table).encode())
            return
        self._pending.append(table)
        self._pending_rows += table.num_rows
        if self._pending_rows >= ROW_GROUP_ROWS:
            self._flush()

    def _flush(self) -> None:
        if self._pending and self._parquet is not None:
            self._parquet.write_table(pa.concat_tables(self._pending), ROW_GROUP_ROWS)
        self._pending, self._pending_rows = [], 0

    def close(self) -> None:
        """Finish the file and give it its name."""
        self._flush()
        if self._parquet is not None:
            self._parquet.close()
        self._stream.close()
        self._location.filesystem.move(self._partial, self._location.fs_path)

    def abort(self) -> None:
        """Drop what was written."""
        try:
            if self._parquet is not None:
                self._parquet.close()
            self._stream.close()
        finally:
            self._location.filesystem.delete_file(self._partial)

    def __enter__(self) -> RowWriter:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 traceback: TracebackType | None) -> None:
        if kind is None:
            self.close()
        else:
            self.abort()


def _output_location(location: str) -> Location:
    """Where the output goes; its folder is made if missing. InputError for a glob or a folder."""
    resolved = locate(location)
    if resolved.pattern:
        raise InputError(f"--output {location}: an output path cannot hold wildcards")
    filesystem = resolved.filesystem
    try:
        if filesystem.get_file_info(resolved.fs_path).type == pafs.FileType.Directory:
            raise InputError(f"--output {location} is a folder; name a file, e.g. "
                             f"{location.rstrip('/')}/predictions.parquet")
        parent = resolved.fs_path.rsplit("/", 1)[0]
        if parent:
            filesystem.create_dir(parent, recursive=True)
    except OSError as err:
        raise InputError(f"--output {location}: cannot write there: {err}") from err
    return resolved
