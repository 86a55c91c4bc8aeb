"""The number reader through onnxruntime: a number's line image in, its digits out (CTC).

The reader (trained by training/train_numbers.py) scores each frame of 2 line columns: blank
("no new digit here") or one of the digits. A digit is read where its class is the frame's best,
once per run of such frames; its confidence is its highest probability in that run.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnxruntime as ort

from serving.errors import ModelLoadError
from serving.model import RuntimeConfig, inference_session, metadata_path_for

log = logging.getLogger(__name__)

READER_INPUT = "line"
READER_OUTPUT = "frame_probabilities"
READER_METADATA_VERSION = 1
READER_METADATA_FILE = "number_reader.json"  # beside the classifier's model.json
BLANK = 0  # class 0 is CTC's blank; digit d is class d + 1


@dataclass(frozen=True)
class ReaderMetadata:
    """What serving relies on in number_reader.json."""

    version: str
    onnx_file: str
    height: int  # px of the line image
    frame_stride: int  # line columns per frame

    @classmethod
    def from_file(cls, path: Path) -> ReaderMetadata:
        try:
            raw = json.loads(path.read_text())
            if raw.get("metadata_version") != READER_METADATA_VERSION:
                raise ValueError(f"metadata_version {raw.get('metadata_version')!r}, expected "
                                 f"{READER_METADATA_VERSION}")
            return cls(version=str(raw["version"]), onnx_file=str(raw["onnx_file"]),
                       height=int(raw["input"]["shape"][2]), frame_stride=int(raw["frame_stride"]))
        except (OSError, ValueError, KeyError, IndexError, TypeError) as err:
            raise ModelLoadError(f"cannot read the number reader's metadata {path}: {err}") from err


class ReaderRuntime:
    """An onnxruntime session of the reader: float32 [N, 1, H, W] → [N, 11, W // stride]."""

    def __init__(self, session: ort.InferenceSession) -> None:
        self._session = session

    @classmethod
    def from_file(cls, onnx_path: Path, config: RuntimeConfig | None = None) -> ReaderRuntime:
        return cls(inference_session(onnx_path, config or RuntimeConfig()))

    def run(self, lines: np.ndarray) -> np.ndarray:
        (probabilities,) = self._session.run([READER_OUTPUT], {READER_INPUT: lines})
        return probabilities


@dataclass(frozen=True)
class FrameDigit:
    """One digit the reader emitted."""

    digit: int
    confidence: float  # its highest probability over its frames
    frames: tuple[int, int]  # [first, last + 1) frames where it was the best class


def frame_digits(probabilities: np.ndarray) -> list[FrameDigit]:
    """The digits of one line's frame probabilities [11, T] (greedy CTC decoding)."""
    best = probabilities.argmax(axis=0)
    digits: list[FrameDigit] = []
    frame = 0
    while frame < best.size:
        cls = int(best[frame])
        stop = frame + 1
        while stop < best.size and best[stop] == cls:
            stop += 1
        if cls != BLANK:
            digits.append(FrameDigit(cls - 1, float(probabilities[cls, frame:stop].max()),
                                     (frame, stop)))
        frame = stop
    return digits


class NumberReaderModel:
    """The exported reader: line images in, their digits out."""

    def __init__(self, metadata: ReaderMetadata, runtime: ReaderRuntime) -> None:
        self.metadata = metadata
        self._runtime = runtime

    @classmethod
    def load(cls, metadata_path: Path, config: RuntimeConfig | None = None) -> NumberReaderModel:
        metadata = ReaderMetadata.from_file(metadata_path)
        runtime = ReaderRuntime.from_file(metadata_path.parent / metadata.onnx_file, config)
        return cls(metadata, runtime)

    @classmethod
    def beside(cls, model_path: Path, config: RuntimeConfig | None = None,
               ) -> NumberReaderModel | None:
        """The reader exported beside the classifier at model_path (its .onnx or .json); None,
        with a warning, when there is none."""
        path = metadata_path_for(Path(model_path)).parent / READER_METADATA_FILE
        if not path.is_file():
            log.warning("no number reader at %s: numbers are cut into digits and crops among "
                        "neighbours read by the classifier alone", path)
            return None
        return cls.load(path, config)

    def probabilities(self, lines: list[np.ndarray]) -> list[np.ndarray]:
        """Frame probabilities [11, W_i // frame_stride] of each line image (float [height,
        W_i]), run as one zero-padded batch."""
        if not lines:
            return []
        height = self.metadata.height
        if any(line.ndim != 2 or line.shape[0] != height for line in lines):
            raise ValueError(f"line images must be [{height}, W]")
        stride = self.metadata.frame_stride
        widest = max(max(line.shape[1] for line in lines), 4 * stride)
        batch = np.zeros((len(lines), 1, height, widest), np.float32)
        for row, line in enumerate(lines):
            batch[row, 0, :, :line.shape[1]] = line
        frames = self._runtime.run(batch)
        return [p[:, :max(1, line.shape[1] // stride)] for p, line in zip(frames, lines, strict=True)]


def frames_or_none(reader: NumberReaderModel | None, lines: list[np.ndarray],
                   fallback: str) -> list[np.ndarray] | None:
    """The reader's frame probabilities of `lines`; None without a reader or lines, and when the
    reader fails (logged, saying which `fallback` answers instead)."""
    if reader is None or not lines:
        return None
    try:
        return reader.probabilities(lines)
    except Exception:  # onnxruntime raises its own untyped exceptions
        log.exception("the number reader failed; %s", fallback)
        return None
