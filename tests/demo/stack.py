"""The demo's test stack: the exported model served on a free port, and a web server calling it."""

from __future__ import annotations

import pytest

from demo.app import DemoServer, create_web_server, serve_in_thread
from demo.config import DemoConfig
from serving.model import DEFAULT_MODEL_PATH
from serving.server import DigitsServer, ServerConfig, create_server


def start_service() -> tuple[DigitsServer, str]:
    """The exported model served on a free loopback port; returns (server, target)."""
    if not DEFAULT_MODEL_PATH.is_file():
        pytest.fail(f"{DEFAULT_MODEL_PATH} is missing: run `make export` first")
    server, port = create_server(ServerConfig(address="127.0.0.1:0", grace_s=1.0))
    server.start()
    return server, f"127.0.0.1:{port}"


def start_web(target: str) -> DemoServer:
    web = create_web_server(DemoConfig(web_address="127.0.0.1:0", target=target, retries=0))
    serve_in_thread(web)
    return web
