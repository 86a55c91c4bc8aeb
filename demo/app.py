"""The demo's web server: static page and JSON endpoints over http.server, loopback by default."""

from __future__ import annotations

import json
import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from demo import api
from demo.config import DemoConfig
from serving.client import ClientConfig, DigitsClient

log = logging.getLogger(__name__)

STATIC_DIR = Path(__file__).resolve().parent / "static"
CONTENT_TYPES = {".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8",
                 ".css": "text/css; charset=utf-8", ".svg": "image/svg+xml"}
ROUTES = {"/": "index.html", "/index.html": "index.html", "/app.js": "app.js",
          "/style.css": "style.css", "/favicon.svg": "favicon.svg"}


class DemoServer(ThreadingHTTPServer):
    """The HTTP server with what its handlers need: config, one shared gRPC client, a pool."""

    daemon_threads = True

    def __init__(self, config: DemoConfig, client: DigitsClient) -> None:
        host, _, port = config.web_address.rpartition(":")
        super().__init__((host, int(port)), DemoHandler)
        self.config = config
        self.client = client
        self.pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="demo-preview")

    def server_close(self) -> None:
        """Release the socket, the preview threads and the gRPC channel."""
        super().server_close()
        self.pool.shutdown(wait=True, cancel_futures=True)
        self.client.close()

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host}:{port}/"


class DemoHandler(BaseHTTPRequestHandler):
    """GET / and its static files, GET /api/health, POST /api/classify (body: image bytes)."""

    server: DemoServer
    protocol_version = "HTTP/1.1"  # keep-alive: the page sends many small requests
    # TCP_NODELAY: headers and body go out as two writes; with Nagle's algorithm the body waited
    # for the browser's delayed ACK of the headers, 40 ms on Linux, on most answers.
    disable_nagle_algorithm = True

    def do_GET(self) -> None:
        path = self.path.split("?", 1)[0]
        if path == "/api/health":
            self._reply(api.health(self.server.client))
        elif path in ROUTES:
            self._static(STATIC_DIR / ROUTES[path])
        else:
            self._json(HTTPStatus.NOT_FOUND, {"error": f"No page at {path}."})

    def do_POST(self) -> None:
        if self.path.split("?", 1)[0] != "/api/classify":
            self._json(HTTPStatus.NOT_FOUND, {"error": f"No endpoint at {self.path}."})
            return
        length = int(self.headers.get("Content-Length") or 0)
        limit = self.server.config.max_upload_bytes
        if length > limit:
            self.close_connection = True  # the unread body must not be parsed as a request
            self._json(HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
                       {"error": f"The file has {length} bytes; the limit is {limit}.",
                        "kind": "bad_image"})
            return
        data = self.rfile.read(length)
        self._reply(api.classify(self.server.client, data, self.server.config.sure_confidence,
                                 self.server.pool))

    def _reply(self, reply: api.Reply) -> None:
        self._json(reply.status, reply.body)

    def _json(self, status: int, body: dict) -> None:
        self._send(status, json.dumps(body).encode(), "application/json")

    def _static(self, file: Path) -> None:
        self._send(HTTPStatus.OK, file.read_bytes(), CONTENT_TYPES[file.suffix],
                   cache="no-cache")

    def _send(self, status: int, payload: bytes, content_type: str, cache: str = "no-store") -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(payload)))
        self.send_header("Cache-Control", cache)
        self.send_header("X-Content-Type-Options", "nosniff")
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, format: str, *args: object) -> None:
        log.debug("%s " + format, self.address_string(), *args)


def client_for(config: DemoConfig) -> DigitsClient:
    """The gRPC client the demo uses: short deadline and few retries, so errors show quickly."""
    return DigitsClient(config.target, ClientConfig(timeout_s=config.timeout_s,
                                                    retries=config.retries))


def create_web_server(config: DemoConfig) -> DemoServer:
    """A bound web server with its own client (closed by server_close()); port 0: a free port."""
    return DemoServer(config, client_for(config))


def serve_in_thread(server: DemoServer) -> threading.Thread:
    """Start answering requests on a daemon thread; stop with server.shutdown()."""
    thread = threading.Thread(target=server.serve_forever, name="demo-web", daemon=True)
    thread.start()
    return thread

