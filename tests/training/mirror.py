"""A loopback HTTP server that serves a folder, counts requests, and can be told to fail."""

from __future__ import annotations

import functools
import http.server
import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from benchmarks.loopback import free_address


class _Handler(http.server.SimpleHTTPRequestHandler):
    def __init__(self, *args, requests: Counter, **kwargs):
        self._requests = requests
        super().__init__(*args, **kwargs)

    def do_GET(self):
        self._requests[self.path.rsplit("/", 1)[-1]] += 1
        super().do_GET()

    def log_message(self, *args):  # keep test output quiet
        pass


@contextmanager
def serve_folder(folder: Path) -> Iterator[tuple[str, Counter]]:
    """Serve `folder` on 127.0.0.1 (free port); yield its base URL and a per-file request counter."""
    requests: Counter = Counter()
    handler = functools.partial(_Handler, directory=str(folder), requests=requests)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/", requests
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def closed_port_url() -> str:
    """A loopback URL where nothing listens (the port was bound, then released)."""
    return f"http://{free_address()}/"
