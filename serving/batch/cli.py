"""The `digits` command: `digits batch` classifies image files or Parquet datasets offline,
`digits pack` packs image files into Parquet shards."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

from serving.batch.config import (
    ENGINES,
    PREPROCESSING,
    InputColumns,
    JobConfig,
    LocalEngineConfig,
    OutputFormat,
    PredictorConfig,
    RayEngineConfig,
)
from serving.batch.errors import (
    EngineUnavailableError,
    InputError,
    JobFailedError,
)
from serving.batch.job import run_batch
from serving.batch.pack import PackConfig, pack_images
from serving.decode import ImageLimits
from serving.errors import ModelLoadError
from serving.model import DEFAULT_MODEL_PATH

EXIT_OK = 0
EXIT_IMAGE_FAILED = 1  # the job ran, but at least one image is an error row
EXIT_USAGE = 2  # bad flags, inputs or output not usable, model missing (argparse's own code)
EXIT_ENGINE_UNAVAILABLE = 3  # Ray not installed, or its cluster not reachable
EXIT_JOB_FAILED = 4  # the job stopped: time limit, a worker died, a corrupt dataset file
EXIT_INTERRUPTED = 130  # Ctrl-C: workers stopped, nothing written (the shells' 128 + SIGINT)


def _batch_parser(commands: argparse._SubParsersAction) -> None:
    limits, columns = ImageLimits(), InputColumns()
    parser = commands.add_parser(
        "batch", help="classify image files or Parquet datasets into a Parquet or JSONL file",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
        description="Classify every image of the inputs offline, with the service's own "
                    "preprocessing and model; a bad image becomes a row with an error.")
    add = parser.add_argument
    add("inputs", nargs="+", metavar="INPUT",
        help="folders (searched recursively for images and .parquet files), globs ('**' spans "
             "folders) or files; local paths or URIs (file://, s3://, gs://, hdfs://...)")
    add("--output", required=True, help="the predictions file (local path or URI)")
    add("--format", choices=[f.value for f in OutputFormat], default=None,
        help="default: jsonl for a .jsonl/.json/.ndjson output, else parquet")
    add("--engine", choices=ENGINES, default="local",
        help="local: worker processes here; ray: Ray Data actors, embedded or on a cluster")
    add("--address", default=None, metavar="HOST:PORT|auto",
        help="--engine ray: join this Ray cluster (default: $RAY_ADDRESS, else start an "
             "embedded Ray on loopback)")
    add("--workers", type=int, default=0,
        help="worker processes or Ray actors; 0: one per CPU core (ray: the cluster's CPUs "
             "less one)")
    add("--batch-size", type=int, default=JobConfig.batch_size, help="images per model run")
    add("--timeout-s", type=float, default=None,
        help="stop the whole job (start-up included) after this many seconds, exit status 4")
    add("--model", type=Path, default=DEFAULT_MODEL_PATH,
        help="model.onnx (model.json beside it) or its folder")
    add("--preprocessing", choices=tuple(PREPROCESSING), default="default",
        help="how digits are found in images, as the service's flag of the same name")
    add("--max-encoded-image-bytes", type=int, default=limits.max_encoded_bytes,
        help="larger image files are error rows, bytes")
    add("--max-decoded-pixels", type=int, default=limits.max_pixels,
        help="larger images are error rows, width × height pixels")
    add("--path-column", default=columns.path, help="Parquet input: the path column")
    add("--image-column", default=columns.image, help="Parquet input: the image-bytes column")
    add("--record-node", action="store_true",
        help="--engine ray: add a node_id column, the Ray node that classified each row")
    add("--no-progress", action="store_true", help="no progress bar on stderr")


def _pack_parser(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "pack", help="pack image files into Parquet shards for `digits batch`",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
        description="Write image files into Parquet shards (path, image bytes, error): the way "
                    "into `digits batch` for millions of small images.")
    parser.add_argument("images", nargs="+", metavar="IMAGES_DIR",
                        help="folders, globs or files of images; local paths or URIs")
    parser.add_argument("--output", required=True, metavar="SHARDS_DIR",
                        help="a new or empty folder for part-NNNNN.parquet")
    parser.add_argument("--rows-per-file", type=int, default=PackConfig.rows_per_file,
                        help="images per shard")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="digits",
                                     description="Digits: handwritten-digit recognition, offline.")
    commands = parser.add_subparsers(dest="command", required=True)
    _batch_parser(commands)
    _pack_parser(commands)
    return parser.parse_args(argv)


def job_config(args: argparse.Namespace) -> JobConfig:
    """The JobConfig of `digits batch` flags; ValueError for inconsistent values."""
    predictor = PredictorConfig(
        model_path=args.model, preprocess=PREPROCESSING[args.preprocessing](),
        image_limits=ImageLimits(args.max_encoded_image_bytes, args.max_decoded_pixels))
    if args.address is not None and args.engine != "ray":
        raise ValueError("--address needs --engine ray")
    return JobConfig(
        inputs=tuple(args.inputs), output=args.output,
        output_format=OutputFormat(args.format) if args.format else None,
        engine=args.engine, batch_size=args.batch_size, timeout_s=args.timeout_s,
        columns=InputColumns(path=args.path_column, image=args.image_column),
        predictor=predictor, local=LocalEngineConfig(workers=args.workers),
        ray=RayEngineConfig(address=args.address, workers=args.workers,
                            record_node=args.record_node))


def _batch(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    try:
        config = job_config(args)
    except ValueError as error:
        err.write(f"error: {error}\n")
        return EXIT_USAGE
    summary = run_batch(config, progress=None if args.no_progress else err)
    out.write(summary.text() + "\n")
    return EXIT_IMAGE_FAILED if summary.errors else EXIT_OK


def _pack(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    try:
        config = PackConfig(rows_per_file=args.rows_per_file)
    except ValueError as error:
        err.write(f"error: {error}\n")
        return EXIT_USAGE
    summary = pack_images(args.images, args.output, config,
                          progress=None if args.no_progress else err)
    out.write(summary.text() + "\n")
    return EXIT_IMAGE_FAILED if summary.unreadable else EXIT_OK


def main(argv: Sequence[str] | None = None, out: TextIO | None = None,
         err: TextIO | None = None) -> int:
    """Run one command; returns the exit status (see EXIT_*)."""
    args = parse_args(argv)
    out, err = out or sys.stdout, err or sys.stderr
    logging.basicConfig(level=logging.WARNING, stream=err)
    try:
        return _batch(args, out, err) if args.command == "batch" else _pack(args, out, err)
    except (InputError, ModelLoadError) as error:
        err.write(f"error: {error}\n")
        return EXIT_USAGE
    except EngineUnavailableError as error:
        err.write(f"error: {error}\n")
        return EXIT_ENGINE_UNAVAILABLE
    except JobFailedError as error:
        err.write(f"error: {error}\n")
        return EXIT_JOB_FAILED
    except KeyboardInterrupt:
        err.write("\ninterrupted: the output being written was removed\n")
        return EXIT_INTERRUPTED
