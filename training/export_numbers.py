"""Export the number reader's best checkpoint as ONNX with metadata, verified against PyTorch.

    python -m training.export_numbers --checkpoint runs/numbers/default/best.pt --out-dir exported
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import torch
from torch import nn

from serving.number_line import NumberLineConfig
from serving.number_reader import (
    READER_INPUT,
    READER_METADATA_VERSION,
    READER_OUTPUT,
    ReaderRuntime,
)
from training.checkpoint import load_checkpoint
from training.number_data import NumberLines
from training.number_model import FRAME_STRIDE, greedy_decode
from training.onnx_model import ONNX_OPSET
from training.train_numbers import make_batch, reader_of

PARITY_TOLERANCE = 1e-4  # largest allowed difference of any frame probability
PARITY_LINES = 256  # validation lines compared frame by frame


class ExportedReader(nn.Module):
    """The reader with the served contract: float ink [N, 1, H, W] in, frame probabilities out."""

    def __init__(self, net: nn.Module) -> None:
        super().__init__()
        self.net = net

    def forward(self, line: torch.Tensor) -> torch.Tensor:
        return torch.softmax(self.net(line), dim=1)


def export_reader(checkpoint: Path, out_dir: Path) -> dict:
    """Write number_reader.onnx and number_reader.json into out_dir (atomically, after checks)."""
    state = load_checkpoint(checkpoint)
    model = reader_of(state)
    run_dir = checkpoint.parent
    val = NumberLines.load(run_dir / "lines-val.npz")
    height = val.pixels[0].shape[0]
    wrapper = ExportedReader(model).eval()
    batch, width = torch.export.Dim("batch", min=1, max=4096), torch.export.Dim("width", min=8,
                                                                                 max=8192)
    onnx_tmp = out_dir / ".number_reader.onnx.tmp"
    json_tmp = out_dir / ".number_reader.json.tmp"
    out_dir.mkdir(parents=True, exist_ok=True)
    try:
        program = torch.onnx.export(wrapper, (torch.zeros(2, 1, height, 64),), dynamo=True,
                                    input_names=[READER_INPUT], output_names=[READER_OUTPUT],
                                    dynamic_shapes={"line": {0: batch, 3: width}},
                                    opset_version=ONNX_OPSET, optimize=True, verbose=False)
        program.save(str(onnx_tmp))
        runtime = ReaderRuntime.from_file(onnx_tmp)
        order = np.argsort([p.shape[1] for p in val.pixels])
        worst, torch_right, onnx_right = 0.0, 0, 0
        for start in range(0, order.size, 128):
            lines = make_batch(val, order[start:start + 128])
            with torch.no_grad():
                expected = wrapper(lines.images)
            got = runtime.run(lines.images.numpy())
            if start < PARITY_LINES:
                worst = max(worst, float(np.abs(got - expected.numpy()).max()))
            read_torch = greedy_decode(expected, lines.frames)
            read_onnx = greedy_decode(torch.from_numpy(got), lines.frames)
            torch_right += sum(r == t for r, t in zip(read_torch, lines.texts, strict=True))
            onnx_right += sum(r == t for r, t in zip(read_onnx, lines.texts, strict=True))
        if worst >= PARITY_TOLERANCE or onnx_right != torch_right:
            raise RuntimeError(f"ONNX and PyTorch disagree: max probability difference "
                               f"{worst:.1e}, exact reads {onnx_right} vs {torch_right}")
        line = NumberLineConfig(height=height)
        metadata = {
            "metadata_version": READER_METADATA_VERSION,
            "name": "digits-number-reader",
            "version": f"1.0.0+{run_dir.name}.e{state['epoch'] + 1}",
            "created": datetime.now(UTC).isoformat(timespec="seconds"),
            "onnx_file": "number_reader.onnx",
            "opset": ONNX_OPSET,
            "input": {"name": READER_INPUT, "dtype": "float32", "shape": ["batch", 1, height,
                                                                           "width"],
                      "description": "a number's ink 0–1 on 0, scaled to the line's height "
                                     "(serving.number_line)", "pad": line.pad},
            "output": {"name": READER_OUTPUT, "dtype": "float32",
                       "shape": ["batch", 11, f"width // {FRAME_STRIDE}"],
                       "description": f"per frame of {FRAME_STRIDE} columns: softmax over "
                                      f"blank (CTC) and the digits 0..9"},
            "frame_stride": FRAME_STRIDE,
            "validation": {"numbers": len(val.texts), "exact": onnx_right / len(val.texts),
                           "chosen_on": "numbers written with the classifier's validation "
                                        "digits"},
            "parity": {"max_abs_probability_diff": worst, "lines": min(PARITY_LINES,
                                                                       len(val.texts))},
            "history": state["history"],
        }
        json_tmp.write_text(json.dumps(metadata, indent=2) + "\n")
        os.replace(onnx_tmp, out_dir / "number_reader.onnx")
        os.replace(json_tmp, out_dir / "number_reader.json")
    finally:
        onnx_tmp.unlink(missing_ok=True)
        json_tmp.unlink(missing_ok=True)
    return metadata


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", type=Path, default=Path("runs/numbers/default/best.pt"))
    parser.add_argument("--out-dir", type=Path, default=Path("exported"))
    args = parser.parse_args(argv)
    metadata = export_reader(args.checkpoint, args.out_dir)
    print(f"exported the number reader {metadata['version']} to {args.out_dir}: validation "
          f"numbers read exactly {metadata['validation']['exact']:.2%}, max probability "
          f"difference {metadata['parity']['max_abs_probability_diff']:.1e}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
