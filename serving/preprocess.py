"""Turns user images (encoded files, raw MNIST bytes, arrays) into MNIST-like 28×28 uint8 digits."""

from __future__ import annotations

import enum
import math
from collections.abc import Callable, Collection
from dataclasses import dataclass, field

import numpy as np

from serving.colour import ColourConfig, colour_contrast
from serving.components import ComponentConfig, choose_digit, digit_likeness
from serving.decode import (
    DEFAULT_LIMITS,
    ImageLimits,
    array_to_unit,
    composite,
    decode_colour,
    decode_gray,
    resize,
)
from serving.errors import InvalidImageError
from serving.imageops import mask_box, max_filter
from serving.ink import (
    InkConfig,
    InkMap,
    dark_marks_in_middle,
    digit_ink,
    find_ink,
    input_box,
    polarities,
)
from serving.lines import FrameConfig, LineConfig, remove_lines, without_frame
from serving.number_line import CrossingLine, NumberLineConfig, crossing_line
from serving.render import MNIST_SIDE, RenderConfig, render_digit
from serving.rings import RingConfig, inside_ring
from serving.segment import SegmentConfig, central_pieces

RAW_BYTES = MNIST_SIDE * MNIST_SIDE  # bytes of one raw MNIST-convention image


@dataclass(frozen=True)
class ZoomConfig:
    """When a digit found small in a reduced image is looked at again, finer."""

    small_digit: float = 0.08  # the digit's ink box's longer side under this fraction of the
    # image's longer side is small
    factor: int = 2  # the second look's longer side: this × work_side (at most the image's own)
    min_gain: float = 1.5  # ...and only when that is at least this × the first look's

    def __post_init__(self) -> None:
        if not 0 < self.small_digit <= 1 or self.factor < 1 or self.min_gain < 1:
            raise ValueError("small_digit must be in (0, 1], factor and min_gain ≥ 1")


@dataclass(frozen=True)
class PreprocessConfig:
    """How the digit is found and normalised; the geometry follows how MNIST itself was made."""

    work_side: int = 192  # longer side images are reduced to before analysis, px: the pipeline's
    # cost grows with its pixels (512: 15–30 ms per image); tuning split, 300 per style: 512 →
    # 99.18 %, 256 → 99.34 %, 192 → 99.34 %, 160 → 99.29 %
    ink: InkConfig = field(default_factory=InkConfig)
    lines: LineConfig | None = field(default_factory=LineConfig)  # None: lines are kept
    components: ComponentConfig = field(default_factory=ComponentConfig)
    render: RenderConfig = field(default_factory=RenderConfig)
    pieces: SegmentConfig | None = field(default_factory=SegmentConfig)  # how strokes running
    # into a side edge are cut to offer the central piece as an alternative; None: never
    ring: RingConfig | None = field(default_factory=RingConfig)  # what a ring drawn around the
    # digit is, whose inside is offered as the frame reading where no frame is; None: never
    frame: FrameConfig | None = field(default_factory=FrameConfig)  # what a frame around the
    # digit is, whose removal is offered as an alternative; None: never
    dark_guess: bool = True  # an image read as light ink also offers its dark-ink reading
    crossing: NumberLineConfig | None = field(default_factory=NumberLineConfig)  # the line
    # image of strokes running into both side edges, for the number reader to read the digit in
    # the middle (serving.neighbour_reading); None: never
    zoom: ZoomConfig | None = field(default_factory=ZoomConfig)  # a digit small in a
    # large image is looked at again at a finer resolution; None: never
    colour: ColourConfig | None = field(default_factory=ColourConfig)  # a colour image whose
    # brightness shows no ink is tried again on its colours (serving.colour); None: never
    raw_ink_level: int = 64  # a raw pixel at or above this uint8 value is ink
    raw_min_ink_pixels: int = 5  # fewer ink pixels make a raw image blank (MNIST minimum: 26)

    def __post_init__(self) -> None:
        if not MNIST_SIDE <= self.ink.min_work_side <= self.work_side:
            raise ValueError(f"ink.min_work_side must be in [{MNIST_SIDE}, work_side], got "
                             f"{self.ink.min_work_side}")
        if not 0 <= self.raw_ink_level <= 255 or self.raw_min_ink_pixels < 1:
            raise ValueError("raw_ink_level must be in [0, 255] and raw_min_ink_pixels >= 1")

    @classmethod
    def first_version(cls) -> PreprocessConfig:
        """The service's first, plain MNIST-style pipeline (kept as the benchmarks' baseline):
        no line removal, the largest stroke group is the digit, the paper's light estimated
        over half the image."""
        return cls(ink=InkConfig(background_window=0.5), lines=None,
                   components=ComponentConfig(drop_border_fragments=False, centre_weight=0.0,
                                              join_gap=0.25, dark_surround_way=0.75,
                                              join_large_background=True),
                   pieces=None, frame=None, ring=None, dark_guess=False, crossing=None,
                   zoom=None, colour=None)


DEFAULT_CONFIG = PreprocessConfig()


GUESS_NOT_DIGIT = 0.5  # the max_not_digit of the guesses among the alternatives (the dark
# reading of a light image, the digit inside a frame): taken only when the model finds them more
# likely a digit than not. Tuning non-digits (2000) answered a digit: 56 without the guesses; with
# them, 83 under the model's threshold (0.925) and 67 under 0.5, tuning digits unchanged. Middle
# pieces keep the model's threshold: under 0.5, neighbour crops lost 1.3 points.


class Reading(enum.Enum):
    """What an Alternative reads of an image (serving.predictions decides when each answers)."""

    PIECE = "piece"  # the middle piece of strokes that a neighbour touching the digit carried
    # to the image's edge (segment.central_pieces)
    FRAME = "frame"  # the digit inside a frame: a form box's sides that line removal kept
    RING = "ring"  # the digit inside a ring drawn around it, where there is no frame
    DARK = "dark"  # the dark-ink reading of an image read as light ink (a note on a dark desk)


ALL_READINGS = tuple(Reading)


@dataclass(frozen=True)
class Alternative:
    """Another reading of an image's digit: its pixels as the model takes them, and its box."""

    pixels: np.ndarray  # uint8 [28, 28], light ink on dark
    ink_box: tuple[int, int, int, int]  # (left, top, right, bottom) px of the input
    reading: Reading
    max_not_digit: float = 1.0  # the reading is a digit only below this not-a-digit probability
    # (as well as below the model's threshold)

    def threshold(self, model_threshold: float) -> float:
        """The not-a-digit threshold this reading is judged by."""
        return min(model_threshold, self.max_not_digit)


@dataclass(frozen=True)
class PreparedImage:
    """One image ready for the model, or the finding that it holds no digit."""

    pixels: np.ndarray | None  # uint8 [28, 28], light ink on dark (0 = background); None if blank
    blank: bool  # True: no ink found (blank page); report it as blank, don't guess
    ink_box: tuple[int, int, int, int] | None = None  # (left, top, right, bottom) px of the input
    inverted: bool = False  # True: the input had dark ink on light paper
    others: OtherReadings | None = None  # what the image's other readings are made from, to try
    # when the model finds no digit in `pixels` or an unsure one (OtherReadings.render); None:
    # there are none
    crossing: CrossingLine | None = None  # set when strokes run into both side edges

    def __post_init__(self) -> None:
        if self.blank != (self.pixels is None):
            raise ValueError("pixels must be None exactly when the image is blank")
        if self.pixels is not None and (
            self.pixels.shape != (MNIST_SIDE, MNIST_SIDE) or self.pixels.dtype != np.uint8
        ):
            raise ValueError(f"pixels must be uint8 [28, 28], got {self.pixels.dtype} "
                             f"{self.pixels.shape}")

    def alternatives(self) -> tuple[Alternative, ...]:
        """Every other reading, rendered now (the engine renders them only for an image whose
        main reading is open to them)."""
        return () if self.others is None else self.others.render()


BLANK = PreparedImage(pixels=None, blank=True)


def prepare_raw(pixels: bytes, config: PreprocessConfig = DEFAULT_CONFIG) -> PreparedImage:
    """Use 784 bytes already in MNIST convention unchanged; blank when they hold no ink."""
    if len(pixels) != RAW_BYTES:
        raise InvalidImageError(
            f"raw image has {len(pixels)} bytes, expected {RAW_BYTES} (28×28 uint8, row-major, "
            f"0 = background); send other sizes as an encoded image"
        )
    image = np.frombuffer(pixels, dtype=np.uint8).reshape(MNIST_SIDE, MNIST_SIDE).copy()
    if np.count_nonzero(image >= config.raw_ink_level) < config.raw_min_ink_pixels:
        return BLANK
    image.flags.writeable = False
    return PreparedImage(pixels=image, blank=False)


def prepare_encoded(
    data: bytes, limits: ImageLimits = DEFAULT_LIMITS, config: PreprocessConfig = DEFAULT_CONFIG
) -> PreparedImage:
    """Decode one PNG/JPEG/BMP/GIF/WebP/TIFF file and prepare its digit.

    Raises InvalidImageError for empty or undecodable data, ImageTooLargeError beyond `limits`.
    """
    return prepare_decoded_file(data, decode_gray(data, limits, config.work_side), limits, config)


def prepare_decoded_file(data: bytes, decoded: tuple[np.ndarray, float], limits: ImageLimits,
                         config: PreprocessConfig) -> PreparedImage:
    """prepare_encoded of `data` once decode_gray has given `decoded`: the pipeline on its grey
    image, again finer when the digit it finds is small in a large image (ZoomConfig), and when
    it finds no ink in a colour image, on its colour contrast (serving.colour: ink as bright as
    the paper)."""
    prepared = prepare_decoded(*decoded, config)
    if not prepared.blank:
        return _second_look(prepared, decoded, lambda side: decode_gray(data, limits, side), config)
    if config.colour is None:
        return prepared
    coloured = decode_colour(data, limits, config.work_side)
    if coloured is None:
        return prepared
    return _prepare_colour(*coloured, config.colour, config) or prepared


def _second_look(prepared: PreparedImage, decoded: tuple[np.ndarray, float],
                 decode_at: Callable[[int], tuple[np.ndarray, float]],
                 config: PreprocessConfig) -> PreparedImage:
    """`prepared` (of `decoded`), or when its digit is small in an image that was reduced, the
    pipeline on the image decoded finer (decode_at(longer side)) if that finds a digit too."""
    closer = _closer_side(prepared, decoded, config)
    if closer is None:
        return prepared
    second = prepare_decoded(*decode_at(closer), config)
    return prepared if second.blank else second


def _closer_side(prepared: PreparedImage, decoded: tuple[np.ndarray, float],
                 config: PreprocessConfig) -> int | None:
    """The longer side to analyse the image at again when its digit is small in it and the
    image had more pixels than were analysed; None when one look is enough."""
    zoom = config.zoom
    if zoom is None or prepared.ink_box is None:
        return None
    gray, to_input = decoded
    original_side = to_input * max(gray.shape)
    left, top, right, bottom = prepared.ink_box
    if max(right - left, bottom - top) >= zoom.small_digit * original_side:
        return None
    closer = min(round(original_side), zoom.factor * config.work_side)
    return closer if closer >= zoom.min_gain * max(gray.shape) else None


def _prepare_colour(rgb: np.ndarray, to_input: float, colour: ColourConfig,
                    config: PreprocessConfig) -> PreparedImage | None:
    """The pipeline on the colour contrast of float RGB [H, W, 3]; None when colour adds nothing."""
    gray = colour_contrast(rgb, colour)
    return None if gray is None else prepare_decoded(gray, to_input, config)


def prepare_array(image: np.ndarray, config: PreprocessConfig = DEFAULT_CONFIG) -> PreparedImage:
    """Prepare a decoded image: [H, W] gray or [H, W, 1–4] gray/gray+alpha/RGB/RGBA, any size.

    uint8 and other integers are 0–255, uint16 is 0–65535, floats are 0–1, bool is 0/1.
    """
    values = array_to_unit(np.asarray(image))
    if values.ndim == 3:
        channels = values.shape[2]
        luma = values[..., 0] if channels <= 2 else values[..., :3] @ np.float32([.299, .587, .114])
        gray = composite(luma, values[..., -1]) if channels in (2, 4) else luma
    else:
        gray = values
    original_side = max(gray.shape)

    def reduced(side: int) -> tuple[np.ndarray, float]:
        analysed = resize(gray, side / original_side)
        return analysed, original_side / max(analysed.shape)

    decoded = reduced(config.work_side)
    prepared = prepare_decoded(*decoded, config)
    if not prepared.blank:
        return _second_look(prepared, decoded, reduced, config)
    if config.colour is not None and values.ndim == 3 and values.shape[2] == 3:
        factor = config.work_side / original_side
        rgb = np.stack([resize(values[..., c], factor) for c in range(3)], axis=-1)
        return _prepare_colour(rgb, decoded[1], config.colour, config) or prepared
    return prepared


# --- finding the digit ------------------------------------------------------------------------


@dataclass(frozen=True)
class DigitInk:
    """What rendering a digit reads of an image's ink: the ink itself and the lines removed."""

    ink: np.ndarray  # float32 [H, W]: InkMap.ink
    noise: float  # InkMap.noise
    lines: np.ndarray  # bool [H, W]: removed line pixels
    to_input: float  # input px per px here (InkMap.to_input)

    def pixels(self, strokes: np.ndarray, render: RenderConfig) -> np.ndarray:
        """uint8 [28, 28] of the digit whose mask pixels are `strokes` (ink without lines)."""
        box = box_of(strokes)  # callers pass a digit's strokes, never an empty mask
        top, bottom, left, right = box
        window = digit_window(box)
        near = strokes[window]
        values = self.near(near, window)
        y0, x0 = window[0].start, window[1].start
        return render_digit(values, near, (top - y0, bottom - y0, left - x0, right - x0), render)

    def near(self, strokes: np.ndarray, window: tuple[slice, slice]) -> np.ndarray:
        """float [window]: the ink (0–1) near `strokes` (ink without lines, within `window`),
        with the removed lines' pixels beside them dropped."""
        values = digit_ink(self.ink[window], self.noise, strokes)
        lines = self.lines[window]
        if lines.any():
            values = values * ~(max_filter(lines, 3) & ~strokes)
        return values

    def cropped(self, window: tuple[slice, slice]) -> DigitInk:
        """The same within `window` alone (copies: the whole image's arrays can be freed)."""
        return DigitInk(self.ink[window].copy(), self.noise, self.lines[window].copy(),
                        self.to_input)


@dataclass(frozen=True)
class CleanInk:
    """The ink of an image with its lines removed: what digits are looked for in."""

    ink: InkMap
    strokes: np.ndarray  # bool [H, W]: ink mask without lines
    lines: np.ndarray  # bool [H, W]: removed line pixels

    @property
    def rendering(self) -> DigitInk:
        return DigitInk(self.ink.ink, self.ink.noise, self.lines, self.ink.to_input)

    def digit_pixels(self, strokes: np.ndarray, render: RenderConfig) -> np.ndarray:
        """uint8 [28, 28] of the digit whose mask pixels are `strokes` (a subset of self.strokes)."""
        return self.rendering.pixels(strokes, render)

    def ink_near(self, strokes: np.ndarray, window: tuple[slice, slice]) -> np.ndarray:
        """float [window]: the ink (0–1) near `strokes` (self.strokes within `window`), with the
        removed lines' pixels beside them dropped."""
        return self.rendering.near(strokes, window)


def clean_ink(gray: np.ndarray, to_input: float, config: PreprocessConfig,
              dark: bool | None = None) -> CleanInk | None:
    """Find the ink of a grey analysed image (`dark` ink, or the likely polarity) and remove its
    lines; None for a blank page."""
    ink = find_ink(gray, to_input, config.ink, dark)
    if ink is None:
        return None
    if config.lines is None:
        return CleanInk(ink, ink.mask, np.zeros_like(ink.mask))
    strokes, lines = remove_lines(ink.mask, config.lines)
    return CleanInk(ink, strokes, lines)


def digit_window(box: tuple[int, int, int, int]) -> tuple[slice, slice]:
    """The surroundings of a digit's box (top, bottom, left, right) that its rendering reads:
    render_digit reaches at most ~0.14 × the box beyond it (its margin and stroke widening), so
    a wider window gives the same pixels. A part of the digit has a window inside the digit's."""
    top, bottom, left, right = box
    margin = math.ceil(0.15 * max(bottom - top, right - left)) + 4
    return (slice(max(0, top - margin), bottom + margin),
            slice(max(0, left - margin), right + margin))


@dataclass(frozen=True)
class OtherReadings:
    """What an image's other readings (its Alternatives) are made from, kept until the model has
    read the main one: the model is sure of most images' main reading, and rendering the others
    cost ~0.3 of ~2.8 ms per scene photo, and a model run each."""

    ink: DigitInk  # the main reading's, cropped to `region`
    region: tuple[slice, slice]  # of the analysed image: the digit_window of `strokes`
    strokes: np.ndarray  # bool [H, W]: the main reading's digit strokes, the whole image
    config: PreprocessConfig
    light: np.ndarray | None = None  # the grey analysed image when its ink was read as light:
    # its dark-ink reading is offered too where dark marks lie in its middle
    to_input: float = 1.0  # input px per px of `light`
    dark: tuple[CleanInk | None, np.ndarray | None] | None = None  # the dark-ink reading's ink
    # and strokes, when they were found already (an image of either polarity)

    def render(self, readings: Collection[Reading] = ALL_READINGS) -> tuple[Alternative, ...]:
        """Those of the other readings asked for that the image has: the middle pieces of strokes
        that a neighbour touching the digit carried to the image's edge; the digit inside a
        frame; the dark-ink reading."""
        config = self.config

        def rendered(strokes: np.ndarray) -> tuple[np.ndarray, tuple[int, int, int, int]]:
            return _rendered(self.ink, strokes, config, self.region)

        found = [] if config.pieces is None or Reading.PIECE not in readings else [
            Alternative(*rendered(piece), Reading.PIECE)
            for piece in central_pieces(self.strokes, config.pieces)]
        # A form's box whose sides line removal kept (too thick or too short for a line); where
        # there is none, a ring drawn around the digit.
        unframed = (None if config.frame is None or not {Reading.FRAME, Reading.RING} & set(readings)
                    else without_frame(self.strokes, config.frame))
        if unframed is not None and Reading.FRAME in readings:
            found.append(Alternative(*rendered(unframed), Reading.FRAME, GUESS_NOT_DIGIT))
        ringed = (None if unframed is not None or config.ring is None
                  or Reading.RING not in readings else inside_ring(self.strokes, config.ring))
        if ringed is not None:
            found.append(Alternative(*rendered(ringed), Reading.RING, GUESS_NOT_DIGIT))
        if (self.light is not None and Reading.DARK in readings
                and dark_marks_in_middle(self.light, config.ink)):
            # Light ink may be a light sheet on a dark desk (a sticky note), its dark digit a
            # hole: the dark-ink reading is offered too, for when the model finds no digit in
            # the light one.
            dark_clean, dark = (self.dark if self.dark is not None
                                else _digit_strokes(self.light, self.to_input, config, True))
            if dark_clean is not None and dark is not None:
                found.append(Alternative(*_rendered(dark_clean.rendering, dark, config),
                                         Reading.DARK, GUESS_NOT_DIGIT))
        return tuple(found)


def prepare_decoded(gray: np.ndarray, to_input: float,
                    config: PreprocessConfig = DEFAULT_CONFIG) -> PreparedImage:
    """The pipeline after decoding: find the ink, remove lines, choose the digit, render it.

    `gray` is serving.decode.decode_gray's float32 [0, 1] image (longer side at most
    config.work_side) and `to_input` its input px per px; prepare_encoded is the two in turn.
    """
    found = {dark: _digit_strokes(gray, to_input, config, dark) for dark in polarities(gray)}
    # The likely polarity first: it wins ties (max calls its key even for one polarity).
    chosen = next(iter(found)) if len(found) == 1 else max(
        found, key=lambda dark: digit_likeness(found[dark][1], config.components))
    clean, strokes = found[chosen]
    if clean is None or strokes is None:
        return BLANK
    pixels, box = _rendered(clean.rendering, strokes, config)
    light = gray if config.dark_guess and not chosen else None
    others = None
    if (config.pieces is not None or config.frame is not None or config.ring is not None
            or light is not None):
        region = digit_window(box_of(strokes))
        others = OtherReadings(clean.rendering.cropped(region), region, strokes, config, light,
                               to_input, None if light is None else found.get(True))
    crossing = None if config.crossing is None else crossing_line(clean, config.crossing)
    return PreparedImage(pixels=pixels, blank=False, ink_box=box, inverted=clean.ink.inverted,
                         others=others, crossing=crossing)


def _digit_strokes(gray: np.ndarray, to_input: float, config: PreprocessConfig,
                   dark: bool) -> tuple[CleanInk | None, np.ndarray | None]:
    """(the ink of one polarity without its lines, the digit's strokes in it); Nones when blank."""
    clean = clean_ink(gray, to_input, config, dark)
    if clean is None:
        return None, None
    return clean, choose_digit(clean.strokes, config.components, clean.ink.shade)


def _rendered(ink: DigitInk, strokes: np.ndarray, config: PreprocessConfig,
              region: tuple[slice, slice] = (slice(None), slice(None)),
              ) -> tuple[np.ndarray, tuple[int, int, int, int]]:
    """(read-only model pixels, box in input px) of the digit whose mask pixels are `strokes`;
    `ink` may be cropped to `region` of them (which holds the digit's digit_window)."""
    pixels = ink.pixels(strokes[region], config.render)
    pixels.flags.writeable = False
    return pixels, input_box(box_of(strokes), ink.to_input)


def box_of(strokes: np.ndarray) -> tuple[int, int, int, int]:
    """(top, bottom, left, right) of a digit's strokes, never empty."""
    box = mask_box(strokes)
    assert box is not None  # a digit has strokes
    return box
