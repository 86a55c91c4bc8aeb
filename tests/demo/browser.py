"""Driving the demo page in Debian's Chromium with Playwright: launch, draw strokes, wait."""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import Browser, Page, Playwright

from tests.demo.strokes import Stroke, to_canvas

CHROMIUM = "/usr/bin/chromium"  # Debian's package; Playwright's own browser download is not used
# Without the networking flags Chromium keeps trying to reach Google's services.
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
VIEWPORT = {"width": 1100, "height": 860}
SETTLED = "document.body.dataset.settled === 'true'"


def launch(playwright: Playwright) -> Browser:
    return playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)


def open_demo(browser: Browser, url: str) -> Page:
    """A fresh page on the demo, once its service check has finished."""
    page = browser.new_page(viewport=VIEWPORT)
    page.goto(url)
    page.wait_for_function("document.getElementById('service').dataset.state !== 'unknown'")
    return page


def wait_settled(page: Page, timeout_ms: float = 10_000) -> None:
    """Wait until the prediction on screen belongs to what is on the pad and nothing is queued."""
    page.wait_for_function(SETTLED, timeout=timeout_ms)


def draw(page: Page, paths: list[Stroke]) -> None:
    """Draw 28×28-unit strokes on the pad with the mouse (pointer events), one press per path."""
    box = page.locator("#pad").bounding_box()
    assert box is not None, "the drawing pad is not visible"
    for path in to_canvas(paths, box["width"]):
        x, y = path[0]
        page.mouse.move(box["x"] + x, box["y"] + y)
        page.mouse.down()
        for x, y in path[1:]:
            page.mouse.move(box["x"] + x, box["y"] + y)
        page.mouse.up()


def shown(page: Page) -> dict:
    """What the page shows: result state, digit text, headline, error text, preview visible,
    ink box outlined."""
    return page.evaluate("""() => ({
        state: document.getElementById('result').dataset.state,
        digit: document.getElementById('digit').textContent,
        headline: document.getElementById('headline').textContent,
        error: document.getElementById('error').hidden ? '' : document.getElementById('error').textContent,
        preview: !document.getElementById('preview').hidden,
        service: document.getElementById('service').textContent,
        box: !document.getElementById('ink-box').hidden,
    })""")


def screenshot(page: Page, path: Path) -> None:
    """The page as it looks once its transitions have finished (Playwright fast-forwards them)."""
    page.screenshot(path=path, animations="disabled")
