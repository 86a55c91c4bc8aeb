"""The demo's API without HTTP: classify one image through the client, answer as JSON-ready dicts."""

from __future__ import annotations

import base64
import io
import logging
from concurrent.futures import Executor
from dataclasses import dataclass
from typing import Any

from PIL import Image

from serving.client import (
    DigitsClient,
    DigitsClientError,
    RequestRejectedError,
    ResultStatus,
    ServiceUnavailableError,
)
from serving.client.results import box_json
from serving.errors import DigitsError
from serving.preprocess import prepare_encoded

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Reply:
    """One API answer: HTTP status code and JSON body."""

    status: int
    body: dict[str, Any]


def _service_down(target: str) -> Reply:
    return Reply(503, {"error": f"The Digits service at {target} is not answering. Start it with "
                                f"`make serve` (or restart `make demo`), then try again.",
                       "kind": "service_unavailable"})


def preview_png(data: bytes) -> str | None:
    """The 28×28 image the model sees for `data`, as a data: URL of a PNG; None when blank.

    It runs serving.preprocess.prepare_encoded, the very function the service applies, so the
    preview is what the model was given.
    """
    prepared = prepare_encoded(data)
    if prepared.pixels is None:
        return None
    buffer = io.BytesIO()
    Image.fromarray(prepared.pixels).save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def classify(client: DigitsClient, data: bytes, sure_confidence: float,
             pool: Executor) -> Reply:
    """Classify one encoded image; 200 with the prediction, 400 for a non-image, 503 when down.

    The answer passes the service's status (digit, not_a_digit or blank), not_digit_probability
    and the ink's box (image pixels) through. The preview is prepared on `pool` while the service
    classifies, so it adds no latency when a core is free; it is shown for what the model ran on
    (a digit or not a digit) and dropped for a blank page.
    """
    if not data:
        return Reply(400, {"error": "The request held no image.", "kind": "bad_image"})
    preview = pool.submit(preview_png, data)
    try:
        result = client.classify_one(data)
    except ServiceUnavailableError:
        return _service_down(client.target)
    except RequestRejectedError as err:
        return Reply(400, {"error": f"The service refused the image: {err}", "kind": "bad_image"})
    except DigitsClientError as err:
        log.warning("classification failed: %s", err)
        return Reply(502, {"error": f"The Digits service failed: {err}", "kind": "service_error"})
    if result.status is ResultStatus.ERROR:
        return Reply(400, {"error": f"That file is not a usable image: {result.error}",
                           "kind": "bad_image"})
    body: dict[str, Any] = {"status": str(result.status), "digit": result.digit,
                            "confidence": result.confidence,
                            "not_digit_probability": result.not_digit_probability,
                            "probabilities": list(result.probabilities),
                            "box": box_json(result.box), "preview": None,
                            "sure": (result.status is ResultStatus.DIGIT
                                     and result.confidence >= sure_confidence)}
    if result.status in (ResultStatus.DIGIT, ResultStatus.NOT_A_DIGIT):
        try:
            body["preview"] = preview.result()
        except DigitsError as err:  # the service decoded it, so this would be a local mismatch
            log.warning("preview failed although the service classified the image: %s", err)
    return Reply(200, body)


def health(client: DigitsClient) -> Reply:
    """200 with the served model when the service is SERVING, else 503 with the reason."""
    try:
        status = client.health()
        info = client.model_info()
    except ServiceUnavailableError:
        return _service_down(client.target)
    except DigitsClientError as err:
        return Reply(503, {"error": f"The Digits service failed: {err}", "kind": "service_error"})
    if status != "SERVING":
        return Reply(503, {"error": f"The Digits service at {client.target} is {status}.",
                           "kind": "service_unavailable"})
    return Reply(200, {"status": status, "target": client.target,
                       "model": {"name": info.name, "version": info.version,
                                 "test_accuracy": info.test_accuracy}})
