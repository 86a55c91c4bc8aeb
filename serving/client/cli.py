"""`python -m serving.client predict|read-number`: send image files or folders to a running server."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

from serving.client.config import DEFAULT_TARGET, ClientConfig
from serving.client.errors import DigitsClientError, ServiceUnavailableError
from serving.client.files import answer_files, find_images
from serving.client.report import PREDICT, READ_NUMBER, Printer
from serving.client.sync import DigitsClient

EXIT_OK = 0
EXIT_IMAGE_FAILED = 1  # the call worked, but at least one image has an error
EXIT_USAGE = 2  # argparse's own code for bad flags
EXIT_UNREACHABLE = 3  # the server could not be reached (or is shutting down)
EXIT_CALL_FAILED = 4  # the server refused or failed the call (deadline, limits...)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("paths", nargs="+", type=Path, metavar="PATH",
                        help="image files, or folders searched recursively for images")
    common.add_argument("--server", default=DEFAULT_TARGET, metavar="TARGET",
                        help="HOST:PORT of one server, or replicas: dns:///NAME:PORT (every "
                             "address of NAME), dns://DNS_IP:53/NAME:PORT, ipv4:H1:P1,H2:P2; "
                             "calls go round robin to the SERVING ones")
    common.add_argument("--json", action="store_true",
                        help="one JSON object per line instead of a table")
    common.add_argument("--timeout", type=float, default=ClientConfig.timeout_s,
                        help="deadline of each call, retries included, seconds")
    common.add_argument("--retries", type=int, default=ClientConfig.retries,
                        help="retries when the server is unavailable, 0 to 4")
    parser = argparse.ArgumentParser(prog="python -m serving.client",
                                     description="Client of the Digits gRPC service.")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("predict", parents=[common],
                        help="classify image files (one digit each) or folders of them")
    commands.add_parser("read-number", parents=[common],
                        help="read the whole number (e.g. 0417) written in each image file")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None, out: TextIO | None = None,
         err: TextIO | None = None) -> int:
    args = parse_args(argv)
    out, err = out or sys.stdout, err or sys.stderr
    logging.basicConfig(level=logging.WARNING, stream=err)
    paths = list(find_images(args.paths))
    predict = args.command == "predict"
    printer = Printer(PREDICT if predict else READ_NUMBER, paths, out, args.json)
    failed = False
    try:
        config = ClientConfig(timeout_s=args.timeout, retries=args.retries)
        with DigitsClient(args.server, config) as client:
            ask = client.classify if predict else client.read_number
            for row in answer_files(paths, ask, config.chunk_images):
                failed |= row.failed
                printer.write(row)
    except ServiceUnavailableError as error:
        err.write(f"error: {error}\n")
        return EXIT_UNREACHABLE
    except (DigitsClientError, ValueError) as error:
        err.write(f"error: {error}\n")
        return EXIT_CALL_FAILED
    return EXIT_IMAGE_FAILED if failed else EXIT_OK
