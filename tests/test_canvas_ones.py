"""A 1 drawn on the demo's canvas as one stroke reads as a 1 through the service."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from benchmarks.canvas_ones import STYLES, drawings, main, measure
from serving.model import DEFAULT_MODEL_PATH


def test_drawings_are_seeded_pngs_on_white_and_on_transparent_canvases():
    for style in STYLES:
        made = drawings(style, 4)
        assert made == drawings(style, 4) and len(set(made)) == 4
        modes = [Image.open(io.BytesIO(data)).mode for data in made]
        assert modes == ["L", "RGBA", "L", "RGBA"]
        ink = np.asarray(Image.open(io.BytesIO(made[0])))
        assert (ink < 128).mean() > 0.01  # a stroke was drawn


def test_ones_drawn_with_the_demos_round_pen_read_as_ones_through_the_service():
    shares = measure(DEFAULT_MODEL_PATH, 16)
    for style, (ones, refused) in shares.items():
        # A thick upright bar with square ends is still "not a digit" one time in four or so
        # (README, "Real-time demo"); 1.0.0+large.e20 read 1 in 20 of them.
        least = 0.5 if style == "straight, square ends" else 0.9
        assert ones >= least, f"{style}: {ones:.0%} read as 1, {refused:.0%} not a digit"


def test_the_command_line_prints_a_row_per_style(capsys: pytest.CaptureFixture[str]):
    assert main(["--per-style", "2"]) == 0
    out = capsys.readouterr().out
    for style in STYLES:
        assert style in out and "read as 1" in out
