"""`python -m serving.client predict`: classify image files or folders with a running server."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from serving.client.config import DEFAULT_TARGET, ClientConfig
from serving.client.errors import DigitsClientError, ServiceUnavailableError
from serving.client.results import Classification, ResultStatus
from serving.client.sync import DigitsClient

IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff"})
EXIT_OK = 0
EXIT_IMAGE_FAILED = 1  # the call worked, but at least one image has an error
EXIT_USAGE = 2  # argparse's own code for bad flags
EXIT_UNREACHABLE = 3  # the server could not be reached (or is shutting down)
EXIT_CALL_FAILED = 4  # the server refused or failed the call (deadline, limits...)


@dataclass(frozen=True)
class Row:
    """One line of output: a file's classification, or why it has none."""

    path: str
    result: Classification | None = None
    error: str = ""  # set when the file could not be read or classified

    def as_json(self) -> dict[str, object]:
        if self.result is None or self.result.status is ResultStatus.ERROR:
            return {"path": self.path, "status": "error",
                    "error": self.error or (self.result.error if self.result else "")}
        r = self.result
        return {"path": self.path, "status": r.status.value, "digit": r.digit,
                "confidence": round(r.confidence, 6),
                "probabilities": [round(p, 6) for p in r.probabilities]}

    @property
    def failed(self) -> bool:
        return self.result is None or self.result.status is ResultStatus.ERROR


def find_images(paths: Sequence[Path]) -> Iterator[Path]:
    """The given files, and the image files under the given folders (sorted, recursive)."""
    for path in paths:
        if path.is_dir():
            yield from sorted(p for p in path.rglob("*")
                              if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
        else:
            yield path


def classify_files(client: DigitsClient, paths: Sequence[Path]) -> Iterator[Row]:
    """A Row per file in input order, chunk by chunk so that large folders are never all in memory."""
    step = client.config.chunk_images
    for start in range(0, len(paths), step):
        chunk = paths[start:start + step]
        data: dict[int, bytes] = {}
        unreadable: dict[int, str] = {}
        for i, path in enumerate(chunk):
            try:
                data[i] = path.read_bytes()
            except OSError as err:
                unreadable[i] = f"cannot read file: {err.strerror}"
        results = dict(zip(data, client.classify(list(data.values())), strict=True)) if data else {}
        for i, path in enumerate(chunk):
            yield Row(str(path), results.get(i), unreadable.get(i, ""))


class TableWriter:
    """Aligned columns: path, status, digit, confidence (and the error of a failed image)."""

    HEADER = ("path", "status", "digit", "confidence")

    def __init__(self, paths: Sequence[Path], out: TextIO) -> None:
        self._width = max([len(self.HEADER[0]), *(len(str(p)) for p in paths)])
        self._out = out
        self._header_written = False

    def _line(self, path: str, status: str, digit: str, confidence: str, message: str = "") -> None:
        line = f"{path:<{self._width}}  {status:<6}  {digit:>5}  {confidence:>10}"
        self._out.write((f"{line}  {message}" if message else line) + "\n")

    def write(self, row: Row) -> None:
        if not self._header_written:  # only once a result exists: no header above an error line
            self._line(*self.HEADER)
            self._header_written = True
        r = row.result
        if row.failed:
            self._line(row.path, "error", "-", "-", row.error or (r.error if r else ""))
        elif r is not None and r.status is ResultStatus.BLANK:
            self._line(row.path, "blank", "-", "-")
        elif r is not None:
            self._line(row.path, "digit", str(r.digit), f"{r.confidence:.3f}")


def write_json(row: Row, out: TextIO) -> None:
    out.write(json.dumps(row.as_json()) + "\n")


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m serving.client",
                                     description="Client of the Digits gRPC service.")
    commands = parser.add_subparsers(dest="command", required=True)
    predict = commands.add_parser("predict", help="classify image files or folders of them")
    predict.add_argument("paths", nargs="+", type=Path, metavar="PATH",
                         help="image files, or folders searched recursively for images")
    predict.add_argument("--server", default=DEFAULT_TARGET, help="HOST:PORT of the server")
    predict.add_argument("--json", action="store_true",
                         help="one JSON object per line instead of a table")
    predict.add_argument("--timeout", type=float, default=ClientConfig.timeout_s,
                         help="deadline of each call, seconds")
    predict.add_argument("--retries", type=int, default=ClientConfig.retries,
                         help="retries when the server is unavailable")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None, out: TextIO | None = None,
         err: TextIO | None = None) -> int:
    args = parse_args(argv)
    out, err = out or sys.stdout, err or sys.stderr
    logging.basicConfig(level=logging.WARNING, stream=err)
    paths = list(find_images(args.paths))
    table = TableWriter(paths, out)
    failed = False
    try:
        config = ClientConfig(timeout_s=args.timeout, retries=args.retries)
        with DigitsClient(args.server, config) as client:
            for row in classify_files(client, paths):
                failed |= row.failed
                if args.json:
                    write_json(row, out)
                else:
                    table.write(row)
    except ServiceUnavailableError as error:
        err.write(f"error: {error}\n")
        return EXIT_UNREACHABLE
    except (DigitsClientError, ValueError) as error:
        err.write(f"error: {error}\n")
        return EXIT_CALL_FAILED
    return EXIT_IMAGE_FAILED if failed else EXIT_OK
