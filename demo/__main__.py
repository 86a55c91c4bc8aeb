"""`python -m demo`: start the service if needed, serve the browser demo, print its URL."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from pathlib import Path

from demo.app import create_web_server, serve_in_thread
from demo.config import DemoConfig
from demo.launcher import ServiceStartError, ensure_service

log = logging.getLogger("demo")

EXIT_STARTUP_FAILED = 2


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    defaults = DemoConfig()
    parser = argparse.ArgumentParser(
        prog="python -m demo", description="Draw digits in the browser; Digits classifies them.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--web-address", default=defaults.web_address,
                        help="HOST:PORT of the web page (port 0 picks a free port)")
    parser.add_argument("--target", default=defaults.target,
                        help="HOST:PORT of the Digits gRPC service; started there unless one "
                             "already answers")
    parser.add_argument("--model", type=Path, default=None,
                        help="model for a service the demo starts (default: exported/model.onnx)")
    parser.add_argument("--log-level", default="INFO", choices=["DEBUG", "INFO", "WARNING", "ERROR"])
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=args.log_level, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        config = DemoConfig(web_address=args.web_address, target=args.target)
        service = ensure_service(config.target, args.model)
    except (ValueError, ServiceStartError) as err:
        log.error("cannot start: %s", err)
        return EXIT_STARTUP_FAILED
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda signum, frame: stop.set())
    try:
        web = create_web_server(config)
    except OSError as err:
        log.error("cannot listen on %s: %s (port in use? try --web-address 127.0.0.1:0)",
                  config.web_address, err)
        service.stop()
        return EXIT_STARTUP_FAILED
    serve_in_thread(web)
    print(f"Digits demo: open {web.url} in your browser (Ctrl-C stops it)", flush=True)
    stop.wait()
    log.info("stopping the demo%s", " and the service it started" if service.started_here else "")
    web.shutdown()
    web.server_close()
    service.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
