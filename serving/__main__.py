"""`python -m serving`: run the Digits gRPC service until SIGTERM or SIGINT."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from pathlib import Path

from serving.batcher import BatcherConfig
from serving.engine import EngineConfig
from serving.errors import DigitsError
from serving.model import DEFAULT_MODEL_PATH, RuntimeConfig
from serving.preprocess import ImageLimits, PreprocessConfig
from serving.server import ServerConfig, create_server
from serving.servicer import RequestLimits

log = logging.getLogger("serving")

EXIT_STARTUP_FAILED = 2
PREPROCESSING = {"default": PreprocessConfig, "first-version": PreprocessConfig.first_version}


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    d_server, d_batch = ServerConfig(), BatcherConfig()
    d_limits, d_image = RequestLimits(), ImageLimits()
    parser = argparse.ArgumentParser(
        prog="python -m serving", description="Serve handwritten-digit recognition over gRPC.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    add = parser.add_argument
    add("--address", default=d_server.address,
        help="HOST:PORT to listen on; loopback only by default, --address 0.0.0.0:50051 serves "
             "all interfaces; port 0 picks a free port (logged)")
    add("--host", default=None,
        help="replaces the host of --address: 0.0.0.0 (every IPv4 interface, as a container "
             "needs), :: (every interface), or one address")
    add("--port", type=int, default=None, help="replaces the port of --address")
    add("--model", type=Path, default=None,
        help="model.onnx (with model.json beside it) or the folder holding them; default: "
             "exported/model.onnx of this repository, wherever it is run from")
    add("--max-batch-size", type=int, default=d_batch.max_batch_size,
        help="most images per model run; 1 turns dynamic batching off")
    add("--max-queue-delay-ms", type=float, default=d_batch.max_queue_delay_ms,
        help="how long the oldest queued image waits for others to join its batch, ms")
    add("--max-queue-size", type=int, default=d_batch.max_queue_size,
        help="most images waiting; beyond it requests get RESOURCE_EXHAUSTED")
    add("--threads", type=int, default=0,
        help="onnxruntime intra-op threads; 0 = one per CPU core")
    add("--max-concurrent-rpcs", type=int, default=d_server.max_concurrent_rpcs,
        help="RPCs handled at once; more get RESOURCE_EXHAUSTED")
    add("--max-images-per-request", type=int, default=d_limits.max_images_per_request,
        help="most images in one request (more: INVALID_ARGUMENT)")
    add("--max-message-bytes", type=int, default=d_limits.max_message_bytes,
        help="largest request message, bytes")
    add("--max-encoded-image-bytes", type=int, default=d_image.max_encoded_bytes,
        help="largest encoded image file, bytes")
    add("--max-decoded-pixels", type=int, default=d_image.max_pixels,
        help="largest decoded image, width × height pixels")
    add("--preprocessing", choices=tuple(PREPROCESSING), default="default",
        help="how digits are found in image files: 'first-version' is the service's first, "
             "plain MNIST-style pipeline (no line removal, the largest stroke group is the "
             "digit), kept as the benchmarks' baseline")
    add("--drain-s", type=float, default=d_server.drain_s,
        help="on SIGTERM/SIGINT, health turns NOT_SERVING first and the server keeps answering "
             "this long, so clients and load balancers stop sending, seconds")
    add("--grace-s", type=float, default=d_server.grace_s,
        help="after the drain, how long in-flight requests may finish, seconds")
    add("--max-connection-age", type=float, default=d_server.max_connection_age_s,
        metavar="S",
        help="close each client connection after about S seconds (GOAWAY; clients reconnect "
             "and re-resolve DNS, so they find replicas added later); default: never")
    add("--max-connection-age-grace", type=float, default=d_server.max_connection_age_grace_s,
        metavar="S", help="how long calls on a connection closed for its age may finish, "
                          "seconds")
    add("--log-level", default="INFO", choices=["DEBUG", "INFO", "WARNING", "ERROR"])
    return parser.parse_args(argv)


def listen_address(address: str, host: str | None, port: int | None) -> str:
    """`address` (HOST:PORT) with its host and/or port replaced; an IPv6 host gets brackets."""
    old_host, _, old_port = address.rpartition(":")
    if host is not None and ":" in host and not host.startswith("["):
        host = f"[{host}]"
    return f"{old_host if host is None else host}:{old_port if port is None else port}"


def config_from_args(args: argparse.Namespace) -> ServerConfig:
    engine = EngineConfig(
        batcher=BatcherConfig(args.max_batch_size, args.max_queue_delay_ms, args.max_queue_size),
        runtime=RuntimeConfig(intra_op_threads=args.threads),
        image_limits=ImageLimits(max_encoded_bytes=args.max_encoded_image_bytes,
                                 max_pixels=args.max_decoded_pixels),
        preprocess=PREPROCESSING[args.preprocessing](),
    )
    return ServerConfig(
        address=listen_address(args.address, args.host, args.port),
        model_path=args.model or DEFAULT_MODEL_PATH, engine=engine,
        limits=RequestLimits(args.max_images_per_request, args.max_message_bytes),
        max_concurrent_rpcs=args.max_concurrent_rpcs, grace_s=args.grace_s,
        drain_s=args.drain_s, max_connection_age_s=args.max_connection_age,
        max_connection_age_grace_s=args.max_connection_age_grace)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=args.log_level, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        config = config_from_args(args)
        server, port = create_server(config)
    except (DigitsError, ValueError, OSError) as err:
        log.error("cannot start: %s", err)
        return EXIT_STARTUP_FAILED
    received: list[signal.Signals] = []
    stop = threading.Event()

    def on_signal(signum: int, frame: object) -> None:
        received.append(signal.Signals(signum))
        stop.set()

    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, on_signal)
    server.start()
    host = config.address.rpartition(":")[0]
    age = (f"{config.max_connection_age_s:g} s" if config.max_connection_age_s is not None
           else "unlimited")
    log.info("serving %s on %s:%d (health SERVING; connection age %s)",
             server.engine.metadata.name, host, port, age)
    stop.wait()
    log.info("shutting down on %s: drain %.1f s, then in-flight requests finish (up to %.1f s)",
             received[0].name, config.drain_s, config.grace_s)
    server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
