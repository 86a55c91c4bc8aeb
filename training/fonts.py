"""The fonts of the non-digit images: found on this machine at run time, split by file name into
the fonts training may see and the held-out ones the benchmarks use."""

from __future__ import annotations

import functools
import zlib
from pathlib import Path

from PIL import ImageFont

SPLITS = ("train", "heldout")
FONT_DIR = Path("/usr/share/fonts/truetype")  # searched recursively for fonts at run time
HELDOUT_SHARE = 4  # a font is held out when crc32(file name) % HELDOUT_SHARE == 0: about 1 in 4
FONT_PX = 144  # glyph size in object space, px

# The lookups below are memoised: fonts on disk do not change during a run, and loading a face
# takes about 1 ms (measured here), half the time budget of a whole image.


@functools.cache
def font_files() -> tuple[Path, ...]:
    """Every TrueType/OpenType file under FONT_DIR, sorted; empty when there are none."""
    return tuple(sorted(p for p in FONT_DIR.rglob("*") if p.suffix.lower() in (".ttf", ".otf")))


def fonts_for(split: str) -> tuple[Path, ...]:
    """The fonts of split "train" or "heldout", disjoint so held-out images use unseen faces.

    "heldout" gets the files whose name hashes into HELDOUT_SHARE, "train" all others. Empty means
    PIL's default font (used when no font is installed; then both splits share it).
    """
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}; choose from {', '.join(SPLITS)}")
    held = split == "heldout"
    return tuple(p for p in font_files() if (zlib.crc32(p.name.encode()) % HELDOUT_SHARE == 0) == held)


@functools.cache
def load_font(path: Path | None) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    return ImageFont.load_default(FONT_PX) if path is None else ImageFont.truetype(str(path), FONT_PX)


@functools.cache
def glyphs(path: Path | None, chars: str) -> str:
    """The chars the font draws: a missing glyph renders like a private-use code point (tofu)."""
    font = load_font(path)
    tofu = font.getmask("\ue000")
    drawn = []
    for char in chars:
        mask = font.getmask(char)
        if mask.getbbox() and (mask.size != tofu.size or bytes(mask) != bytes(tofu)):
            drawn.append(char)
    return "".join(drawn)
