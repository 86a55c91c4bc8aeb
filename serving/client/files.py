"""Image files for the command line: found under folders, sent chunk by chunk, answered in order."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Generic, TypeVar

from serving.client.results import Classification, NumberReading

IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff"})

Answer = TypeVar("Answer", Classification, NumberReading)


@dataclass(frozen=True)
class FileAnswer(Generic[Answer]):
    """The server's answer for one file, or why the file has none."""

    path: str
    answer: Answer | None = None  # None when the file could not be read
    error: str = ""  # why the file could not be read; "" when it was sent

    @property
    def failed(self) -> bool:
        """Unreadable, or answered with status ERROR (both status enums spell it "error")."""
        return self.answer is None or self.answer.status == "error"

    @property
    def message(self) -> str:
        """Why the file failed; "" unless `failed`."""
        if self.answer is None:
            return self.error
        return self.answer.error if self.failed else ""


def find_images(paths: Sequence[Path]) -> Iterator[Path]:
    """The given files, and the image files under the given folders (sorted, recursive)."""
    for path in paths:
        if path.is_dir():
            yield from sorted(p for p in path.rglob("*")
                              if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
        else:
            yield path


def answer_files(paths: Sequence[Path], ask: Callable[[list[bytes]], list[Answer]],
                 step: int) -> Iterator[FileAnswer[Answer]]:
    """A FileAnswer per file in input order; `ask` (DigitsClient.classify or read_number) gets
    `step` files at a time, so that large folders are never all in memory."""
    for start in range(0, len(paths), step):
        chunk = paths[start:start + step]
        data: dict[int, bytes] = {}
        unreadable: dict[int, str] = {}
        for i, path in enumerate(chunk):
            try:
                data[i] = path.read_bytes()
            except OSError as err:
                unreadable[i] = f"cannot read file: {err.strerror}"
        answers = dict(zip(data, ask(list(data.values())), strict=True)) if data else {}
        for i, path in enumerate(chunk):
            yield FileAnswer(str(path), answers.get(i), unreadable.get(i, ""))
