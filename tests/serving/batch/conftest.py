"""Fixtures of the batch tests: MNIST test digits as PNG files beside a few bad ones, their
in-process predictions, and one embedded Ray for the whole session."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest
from PIL import Image

from serving.batch.config import PredictorConfig, RayEngineConfig
from serving.batch.predictor import BatchPredictor
from serving.batch.sources import plan_inputs, work_batches
from serving.decode import ImageLimits
from serving.model import DEFAULT_MODEL_PATH
from training.mnist import MnistArrays

DIGITS = 2000  # MNIST test digits written as PNG files
MAX_PIXELS = 1_000_000  # the tests' image limit, so that one bad file is simply "too large"
BAD_FILES = {  # name → status its row must have
    "bad/garbage.png": "error", "bad/empty.png": "error", "bad/truncated.png": "error",
    "bad/too_large.png": "error", "bad/blank.png": "blank",
}


def png(pixels: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG")
    return buffer.getvalue()


@pytest.fixture(scope="session")
def predictor_config() -> PredictorConfig:
    if not DEFAULT_MODEL_PATH.is_file():
        pytest.fail(f"{DEFAULT_MODEL_PATH} is missing: run `make export` first")
    return PredictorConfig(image_limits=ImageLimits(max_pixels=MAX_PIXELS))


@pytest.fixture(scope="session")
def image_dir(tmp_path_factory: pytest.TempPathFactory, mnist: MnistArrays) -> Path:
    """DIGITS MNIST test digits as digits/NNNNN.png, and the BAD_FILES under bad/."""
    folder = tmp_path_factory.mktemp("images")
    (folder / "digits").mkdir()
    (folder / "bad").mkdir()
    for i, pixels in enumerate(mnist.test_images[:DIGITS]):
        (folder / "digits" / f"{i:05d}.png").write_bytes(png(pixels))
    good = png(mnist.test_images[0])
    (folder / "bad/garbage.png").write_bytes(b"this is not an image")
    (folder / "bad/empty.png").write_bytes(b"")
    (folder / "bad/truncated.png").write_bytes(good[:len(good) // 2])
    (folder / "bad/too_large.png").write_bytes(png(np.zeros((1001, 1000), np.uint8)))
    (folder / "bad/blank.png").write_bytes(png(np.zeros((28, 28), np.uint8)))
    return folder


def sorted_rows(table: pa.Table) -> pa.Table:
    return table.sort_by("path")


@pytest.fixture(scope="session")
def reference(image_dir: Path, predictor_config: PredictorConfig) -> pa.Table:
    """The in-process predictions of every file under image_dir (one predictor, batches of 500,
    not the engines' 256), sorted by path."""
    plan = plan_inputs([str(image_dir)])
    predictor = BatchPredictor.load(predictor_config, plan.filesystems)
    return sorted_rows(pa.concat_tables([predictor(w) for w in work_batches(plan, 500)]))


@pytest.fixture(scope="session")
def embedded_ray() -> Iterator[None]:
    """One embedded Ray (2 actors' CPUs + 1 for reads) for every Ray test of the session."""
    from serving.batch.ray_session import start_embedded, stop_embedded

    temp_dir = start_embedded(RayEngineConfig(workers=2))
    yield
    stop_embedded(temp_dir)


@pytest.fixture(scope="session")
def shards(image_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Every file of image_dir packed by `digits pack` into shards of 700 rows."""
    from serving.batch.pack import PackConfig, pack_images

    folder = tmp_path_factory.mktemp("shards")
    pack_images([str(image_dir)], str(folder), PackConfig(rows_per_file=700, row_group_rows=300))
    return folder
