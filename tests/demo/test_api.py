"""The demo's HTTP API against a real Digits service: predictions, preview, errors in words."""

from __future__ import annotations

import base64
import io
import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from PIL import Image

from demo import api
from demo.app import DemoServer, create_web_server, serve_in_thread
from demo.config import DemoConfig
from serving.client import Classification, ResultStatus
from serving.preprocess import prepare_encoded
from tests.demo.stack import start_web
from tests.demo.strokes import render_png, strokes

DIGIT_INDICES = {0: 3, 1: 2, 2: 1, 3: 18, 4: 4, 5: 8, 6: 11, 7: 0, 8: 61, 9: 7}  # MNIST test


def call(url: str, data: bytes | None = None) -> tuple[int, dict]:
    request = urllib.request.Request(url, data=data, method="POST" if data is not None else "GET")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


def white_png(side: int = 280) -> bytes:
    buffer = io.BytesIO()
    Image.new("L", (side, side), 255).save(buffer, format="PNG")
    return buffer.getvalue()


@pytest.fixture()
def down_web(unused_address: str) -> Iterator[DemoServer]:
    """A demo web server whose service address refuses connections."""
    server = start_web(unused_address)
    yield server
    server.shutdown()
    server.server_close()


def test_drawn_mnist_digit_is_classified_with_preview(web: DemoServer, mnist) -> None:
    data = render_png(strokes(mnist.test_images[DIGIT_INDICES[3]]))
    status, body = call(web.url + "api/classify", data)
    assert status == 200
    assert body["status"] == "digit" and body["digit"] == 3 and body["sure"] is True
    # confidence is joint (a digit, and this one); probabilities are given that it is a digit
    assert body["confidence"] == pytest.approx(
        max(body["probabilities"]) * (1 - body["not_digit_probability"]), rel=1e-4)
    assert sum(body["probabilities"]) == pytest.approx(1, abs=1e-4)
    png = base64.b64decode(body["preview"].removeprefix("data:image/png;base64,"))
    preview = np.asarray(Image.open(io.BytesIO(png)))
    np.testing.assert_array_equal(preview, prepare_encoded(data).pixels)
    left, top, right, bottom = prepare_encoded(data).ink_box
    assert body["box"] == {"left": left, "top": top, "right": right, "bottom": bottom}
    assert 0 <= body["not_digit_probability"] < 0.5  # a clear digit


def test_every_digit_drawn_from_mnist_strokes_is_read(web: DemoServer, mnist) -> None:
    for digit, index in DIGIT_INDICES.items():
        _, body = call(web.url + "api/classify", render_png(strokes(mnist.test_images[index])))
        assert body["digit"] == digit, f"MNIST test image {index}"


def test_blank_canvas_is_blank_and_not_sure(web: DemoServer) -> None:
    status, body = call(web.url + "api/classify", white_png())
    assert status == 200
    assert body["status"] == "blank" and body["sure"] is False and body["preview"] is None
    assert body["box"] is None and body["digit"] is None


BAR_BOX = (40, 130, 240, 150)  # left, top, right, bottom of bar_png()'s ink


def bar_png() -> bytes:
    """A horizontal bar on white: a "−"."""
    left, top, right, bottom = BAR_BOX
    page = np.full((280, 280), 255, np.uint8)
    page[top:bottom, left:right] = 30
    buffer = io.BytesIO()
    Image.fromarray(page).save(buffer, format="PNG")
    return buffer.getvalue()


class NotADigitClient:
    """A DigitsClient stand-in that finds every image not a digit, the ink at BAR_BOX."""

    target = "127.0.0.1:1"

    def classify_one(self, data: bytes) -> Classification:
        return Classification(index=0, id="", status=ResultStatus.NOT_A_DIGIT, digit=None,
                              confidence=0.0, probabilities=(0.1,) * 10, error="", batch_size=1,
                              not_digit_probability=0.9, box=BAR_BOX)


def test_not_a_digit_passes_status_probability_box_and_preview_through() -> None:
    with ThreadPoolExecutor(1) as pool:
        reply = api.classify(NotADigitClient(), bar_png(), 0.6, pool)  # type: ignore[arg-type]
    body = reply.body
    assert reply.status == 200
    assert body["status"] == "not_a_digit" and body["digit"] is None and body["sure"] is False
    assert body["not_digit_probability"] == 0.9 and len(body["probabilities"]) == 10
    assert body["box"] == {"left": 40, "top": 130, "right": 240, "bottom": 150}
    assert body["preview"].startswith("data:image/png;base64,")  # what the model was shown


@pytest.mark.parametrize("data", [b"this is not an image", b""])
def test_non_image_is_a_400_with_a_message(web: DemoServer, data: bytes) -> None:
    status, body = call(web.url + "api/classify", data)
    assert status == 400 and body["kind"] == "bad_image"
    assert "image" in body["error"]


def test_too_large_upload_is_refused_before_reading(service: str) -> None:
    server = create_web_server(DemoConfig(web_address="127.0.0.1:0", target=service,
                                          max_upload_bytes=1000))
    serve_in_thread(server)
    try:
        status, body = call(server.url + "api/classify", b"x" * 5000)
    finally:
        server.shutdown()
        server.server_close()
    assert status == 413 and "limit is 1000" in body["error"]


def test_health_names_the_served_model(web: DemoServer, service: str) -> None:
    status, body = call(web.url + "api/health")
    assert status == 200
    assert body["status"] == "SERVING" and body["target"] == service
    assert body["model"]["name"] and 0 < body["model"]["test_accuracy"] <= 1


def test_service_down_is_a_503_in_words(down_web: DemoServer) -> None:
    for path, data in (("api/classify", white_png()), ("api/health", None)):
        status, body = call(down_web.url + path, data)
        assert status == 503 and body["kind"] == "service_unavailable"
        assert "not answering" in body["error"]


def test_page_and_assets_are_served_and_unknown_paths_are_404(web: DemoServer) -> None:
    with urllib.request.urlopen(web.url, timeout=10) as response:
        page = response.read().decode()
        assert response.headers["Content-Type"].startswith("text/html")
    assert '<canvas id="pad"' in page
    assert "http" not in page.replace(web.url, ""), "nothing is fetched from elsewhere"
    for asset, kind in (("app.js", "text/javascript"), ("style.css", "text/css")):
        with urllib.request.urlopen(web.url + asset, timeout=10) as response:
            assert response.headers["Content-Type"].startswith(kind)
    status, _body = call(web.url + "../serving/server.py")
    assert status == 404


@pytest.mark.parametrize("field, value", [("web_address", "localhost"), ("target", "x:99999"),
                                          ("sure_confidence", 1.0), ("timeout_s", 0),
                                          ("retries", -1), ("max_upload_bytes", 0)])
def test_config_rejects_bad_values(field: str, value: object) -> None:
    with pytest.raises(ValueError, match=field):
        DemoConfig(**{field: value})
