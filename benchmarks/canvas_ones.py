"""How often a 1 drawn on the demo's canvas reads as a 1, through the service, per way of drawing it.

Usage: python -m benchmarks.canvas_ones [--per-style 40] [--seed 11] [--model exported/model.onnx ...]

A person draws a 1 on a 280 px canvas with one stroke: perfectly straight with square ends (a
ruler tool, a line drawn in code), straight with round ends (a mouse or a finger: the demo's pen
is round), a little curved, or with a flag. Each style gets `per-style` drawings at random
widths, slants and lengths (seeded), on a white canvas or a transparent one (the demo's), sent as
PNGs through DigitsClient → gRPC → preprocessing → onnxruntime, one loopback server per model.
Prints, per style and model, the share answered DIGIT 1 and the share answered NOT_A_DIGIT.
"""

from __future__ import annotations

import argparse
import io
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from benchmarks.bench_real import PIPELINES, loopback_servers
from serving.client import DigitsClient, ResultStatus
from serving.model import DEFAULT_MODEL_PATH

CANVAS_PX = 280  # the demo's drawing pad
SEED = 11
Rng = np.random.Generator


def _ends(rng: Rng) -> tuple[tuple[float, float], tuple[float, float], float]:
    """Top and bottom of an upright-ish stroke, and its width, px."""
    length = rng.uniform(150, 240)
    lean = rng.uniform(-0.35, 0.35) * length  # horizontal run over the stroke's height
    top = (CANVAS_PX / 2 + lean / 2 + rng.uniform(-30, 30), (CANVAS_PX - length) / 2)
    bottom = (top[0] - lean, top[1] + length)
    return top, bottom, rng.uniform(8, 30)


def _round_line(draw: ImageDraw.ImageDraw, points: Sequence[tuple[float, float]], width: float,
                ink: int | tuple[int, ...]) -> None:
    draw.line(list(points), fill=ink, width=round(width), joint="curve")
    for x, y in (points[0], points[-1]):
        draw.ellipse([x - width / 2, y - width / 2, x + width / 2, y + width / 2], fill=ink)


def square_ends(draw: ImageDraw.ImageDraw, rng: Rng, ink) -> None:
    top, bottom, width = _ends(rng)
    draw.line([top, bottom], fill=ink, width=round(width))


def round_ends(draw: ImageDraw.ImageDraw, rng: Rng, ink) -> None:
    top, bottom, width = _ends(rng)
    _round_line(draw, [top, bottom], width, ink)


def curved(draw: ImageDraw.ImageDraw, rng: Rng, ink) -> None:
    top, bottom, width = _ends(rng)
    bow = rng.uniform(4, 12) * rng.choice([-1, 1])
    steps = np.linspace(0, 1, 24)
    points = [(top[0] + (bottom[0] - top[0]) * t + bow * 4 * t * (1 - t),
               top[1] + (bottom[1] - top[1]) * t) for t in steps]
    _round_line(draw, points, width, ink)


def flagged(draw: ImageDraw.ImageDraw, rng: Rng, ink) -> None:
    top, bottom, width = _ends(rng)
    length = bottom[1] - top[1]
    flag = (top[0] - rng.uniform(0.2, 0.35) * length, top[1] + rng.uniform(0.15, 0.3) * length)
    _round_line(draw, [flag, top, bottom], width, ink)


STYLES: dict[str, Callable[[ImageDraw.ImageDraw, Rng, object], None]] = {
    "straight, square ends": square_ends,
    "straight, round ends": round_ends,
    "a little curved": curved,
    "with a flag": flagged,
}


def drawings(style: str, count: int, seed: int = SEED) -> list[bytes]:
    """`count` PNGs of 1s in `style`, alternately on white and on a transparent canvas."""
    out = []
    for i in range(count):
        rng = np.random.default_rng([seed, list(STYLES).index(style), i])
        transparent = i % 2 == 1
        image = (Image.new("RGBA", (CANVAS_PX,) * 2, (0, 0, 0, 0)) if transparent
                 else Image.new("L", (CANVAS_PX,) * 2, 255))
        STYLES[style](ImageDraw.Draw(image), rng, (20, 20, 20, 255) if transparent else 0)
        buffer = io.BytesIO()
        image.save(buffer, format="PNG")
        out.append(buffer.getvalue())
    return out


def measure(model: Path, per_style: int, seed: int = SEED) -> dict[str, tuple[float, float]]:
    """Per style: (share answered 1, share answered NOT_A_DIGIT) through a served `model`."""
    shares = {}
    with loopback_servers(model, {"Digits": PIPELINES["Digits"]}) as addresses, \
            DigitsClient(addresses["Digits"]) as client:
        for style in STYLES:
            answers = client.classify(drawings(style, per_style, seed))
            ones = sum(a.status == ResultStatus.DIGIT and a.digit == 1 for a in answers)
            refused = sum(a.status == ResultStatus.NOT_A_DIGIT for a in answers)
            shares[style] = (ones / len(answers), refused / len(answers))
    return shares


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.canvas_ones", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--per-style", type=int, default=40, help="drawings per style")
    parser.add_argument("--seed", type=int, default=SEED,
                        help=f"seeds the drawings (default {SEED}, the one the model was chosen on)")
    parser.add_argument("--model", type=Path, action="append",
                        help="a model to serve (repeat to compare; default: the exported one)")
    args = parser.parse_args(argv)
    if args.per_style < 1:
        parser.error("--per-style must be ≥ 1")
    for model in args.model or [DEFAULT_MODEL_PATH]:
        print(f"{model}:")
        for style, (ones, refused) in measure(model, args.per_style, args.seed).items():
            print(f"  {style:24s} read as 1 {ones:6.1%}   not a digit {refused:6.1%}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
