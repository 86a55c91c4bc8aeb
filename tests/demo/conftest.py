"""Fixtures of the demo tests: a real gRPC service with the exported model and the web server."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from demo.app import DemoServer
from tests.demo.stack import start_service, start_web


@pytest.fixture(scope="module")
def service() -> Iterator[str]:
    """Target of a running Digits service with the exported model."""
    server, target = start_service()
    yield target
    server.stop(grace_s=1.0)


@pytest.fixture(scope="module")
def web(service: str) -> Iterator[DemoServer]:
    """The demo's web server on a free loopback port, calling `service`."""
    server = start_web(service)
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="session")
def shots_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where screenshots go: $DEMO_SHOTS_DIR if set, else a pytest temporary folder."""
    folder = Path(os.environ.get("DEMO_SHOTS_DIR") or tmp_path_factory.mktemp("screenshots"))
    folder.mkdir(parents=True, exist_ok=True)
    return folder
