"""`make bench-real`: how Digits reads real paper, beside its first preprocessing, in one table.

Two real servers run on loopback in this process, one with today's preprocessing ("Digits") and
one with the service's first, plain MNIST-style pipeline (`--preprocessing first-version`, the
baseline), both with the same exported model. Every image travels the served path: DigitsClient
→ gRPC → preprocessing → onnxruntime. Per set (benchmarks.real_sets, generated from seeds with no
model in the loop): accuracy per scene kind and of continental forms (BLANK and NOT_A_DIGIT
count as wrong), numbers read exactly (read_number), non-digit AUROC against every digit image
and the share of non-digits answered DIGIT with confidence ≥ 0.9, scikit-learn's digits as an
outside check, MNIST test through Classify (raw bytes), and preprocessing CPU ms per image
(in-process, one thread, on the same files: prepare_encoded, and the other readings' rendering
where the model is unsure of the main one, as the service does; benchmarks.served_preprocessing).

Protocol: the reported sets use MNIST test digits, test writers and held-out fonts; `--split
tune` (or `--tune`) measures their twins (training digits, training writers and fonts, other
seeds), and `--split heldout` the same with the training digits that training holds out for
validation, which the model never learnt from (it reads like the test set; "tune" reads 2–5
points better on notes, forms and neighbour crops). Only the twins are tuned on. Outside checks
and MNIST test are not run for them, so they stay out of tuning. Results (with versions and
hardware) go to benchmarks/results/real.json (real-tune.json, real-heldout.json).

Result (2026-11-27, commit 67ccae8, 2-core AMD EPYC, model 1.0.0+large-tune.e2, number reader
1.0.0+large.e19, full default sizes; README "Real paper" has the table and the history):
Digits / baseline — ruled 98.8 / 97.0 %, forms 97.7 / 62.9 %, notes 98.6 / 73.4 %, pencil 98.3 /
98.1 %, phone 98.7 / 41.7 %, low resolution 98.8 / 99.3 %, neighbour crops 98.3 / 80.6 %,
whiteboard 98.9 / 98.6 %, continental 100 / 100 %, numbers 96.0 / 84.6 %, non-digit AUROC 0.9983
/ 0.947 and 0.80 / 0.10 % answered a digit ≥ 0.9 (1.11 / 0.24 % with the 80 lone strokes),
MNIST test 99.70 %, 1.57 / 1.43 CPU ms per scene photo (at a94165f), of which decoding the file
0.55 / 0.61 ms.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import platform
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path

import grpc
import numpy as np
import onnxruntime as ort
import PIL

from benchmarks.real_scores import (
    PipelineResult,
    Timing,
    preprocessing_ms,
    score_digits,
    score_non_digits,
    score_numbers,
    timing_of,
)
from benchmarks.real_sets import REAL_SPLITS, RealSets, SetSizes, build_sets
from benchmarks.real_table import Goals, table
from benchmarks.scenes import SCENE_KINDS
from benchmarks.served_preprocessing import MainReader
from serving.client import ClientConfig, DigitsClient, ModelInfo
from serving.engine import EngineConfig
from serving.model import DEFAULT_MODEL_PATH, REPO_ROOT
from serving.preprocess import PreprocessConfig
from serving.server import DigitsServer, ServerConfig, create_server
from training.mnist import MnistArrays, MnistSource, add_data_dir_argument, load_mnist
from training.provenance import cpu_name, git_sha, utc_now

log = logging.getLogger("bench_real")

RESULTS_DIR = REPO_ROOT / "benchmarks" / "results"
DEFAULT_MNIST = REPO_ROOT.parent / "shared" / "data" / "mnist"
PIPELINES: dict[str, EngineConfig] = {  # column name → how its server finds and reads digits
    # the service's first version: plain preprocessing, numbers cut into digits alone
    "baseline": EngineConfig(preprocess=PreprocessConfig.first_version(), number_reader=False),
    "Digits": EngineConfig(),
}
FASHION_MNIST = "not available offline (no copy on this machine; nothing is downloaded)"


@dataclass(frozen=True)
class BenchConfig:
    """What one run measures."""

    split: str = "test"  # "test" (reported), or a twin to tune on: "tune" or "heldout"
    sizes: SetSizes = field(default_factory=SetSizes)
    mnist_test: int = 10_000  # MNIST test images sent raw through Classify, 1–10,000
    # Encoded images cost milliseconds each in the server: small calls with long deadlines keep
    # a busy machine from failing the run.
    client: ClientConfig = field(default_factory=lambda: ClientConfig(timeout_s=600,
                                                                      chunk_images=32))

    def __post_init__(self) -> None:
        if self.split not in REAL_SPLITS:
            raise ValueError(f"split must be one of {', '.join(REAL_SPLITS)}, got {self.split!r}")
        if not 1 <= self.mnist_test <= 10_000:
            raise ValueError(f"mnist_test must be in 1–10,000, got {self.mnist_test}")


@dataclass(frozen=True)
class Report:
    config: BenchConfig
    model: ModelInfo
    results: dict[str, PipelineResult]  # per PIPELINES name


@contextlib.contextmanager
def loopback_servers(model: Path, pipelines: dict[str, EngineConfig]) -> Iterator[dict[str, str]]:
    """One started server per pipeline on 127.0.0.1 (free ports); yields name → address."""
    servers: list[DigitsServer] = []
    addresses = {}
    try:
        for name, engine in pipelines.items():
            server, port = create_server(ServerConfig(
                address="127.0.0.1:0", model_path=model, engine=engine,
                grace_s=1.0))
            servers.append(server)
            server.start()
            addresses[name] = f"127.0.0.1:{port}"
        yield addresses
    finally:
        for server in servers:
            server.stop()


def time_pipelines(sets: RealSets, pipelines: dict[str, EngineConfig], model: Path,
                   ) -> dict[str, dict[str, Timing]]:
    """Per pipeline: preprocessing CPU time per image set, and of all scene photos together
    ("photos"); `model` decides which images' other readings are rendered."""
    groups = {**sets.digits, "non_digits": sets.negatives, **sets.outside}
    reader = MainReader.load(model)
    ms = {name: preprocessing_ms([item.data for item in items],
                                 [p.preprocess for p in pipelines.values()], reader)
          for name, items in groups.items()}
    timing = {}
    for p, pipeline in enumerate(pipelines):
        timing[pipeline] = {name: timing_of(totals[p], decoding[p])
                            for name, (totals, decoding) in ms.items()}
        timing[pipeline]["photos"] = timing_of(
            *(np.concatenate([ms[kind][part][p] for kind in SCENE_KINDS]) for part in (0, 1)))
    return timing


def measure(client: DigitsClient, sets: RealSets, mnist: tuple[np.ndarray, np.ndarray] | None,
            timing: dict[str, Timing]) -> PipelineResult:
    """Send every set through one server and score its answers."""
    answers = {name: client.classify([item.data for item in items])
               for name, items in sets.digits.items()}
    digits = {name: score_digits(answers[name], [item.label for item in items])
              for name, items in sets.digits.items()}
    every_digit = [answer for group in answers.values() for answer in group]
    non_digits = score_non_digits(client.classify([item.data for item in sets.negatives]),
                                  every_digit)
    lone_strokes = (score_non_digits(client.classify([item.data for item in sets.lone_strokes]),
                                     every_digit) if sets.lone_strokes else None)
    numbers = score_numbers(client.read_number([item.scene.data for item in sets.numbers]),
                            [item.text for item in sets.numbers])
    outside = {name: score_digits(client.classify([item.data for item in items]),
                                  [item.label for item in items])
               for name, items in sets.outside.items()}
    mnist_score = None
    if mnist is not None:
        mnist_score = score_digits(client.classify(list(mnist[0])), mnist[1].tolist())
    return PipelineResult(digits, numbers, non_digits, outside, mnist_score, timing, lone_strokes)


def run(model: Path, mnist: MnistArrays, config: BenchConfig) -> Report:
    split = REAL_SPLITS[config.split]
    log.info("generating the %s sets", split.name)
    sets = build_sets(mnist, split, config.sizes)
    log.info("timing preprocessing in-process")
    # Timed before the servers start, so that their threads cannot take the CPU meanwhile.
    timing = time_pipelines(sets, PIPELINES, model)
    raw = None
    if split.name == "test":
        raw = (mnist.test_images[: config.mnist_test], mnist.test_labels[: config.mnist_test])
    results = {}
    with loopback_servers(model, PIPELINES) as addresses:
        for name, address in addresses.items():
            log.info("measuring %s through %s", name, address)
            with DigitsClient(address, config.client) as client:
                info = client.model_info()
                results[name] = measure(client, sets, raw, timing[name])
    return Report(config, info, results)


def headline(result: PipelineResult) -> dict[str, float | None]:
    """The figures the table judges, by name (accuracies and shares in [0, 1])."""
    figures: dict[str, float | None] = {name: score.accuracy for name, score in result.digits.items()}
    figures.update({
        "numbers_exact": result.numbers.accuracy, "non_digit_auroc": result.non_digits.auroc,
        "non_digit_confident_share": result.non_digits.confident_share,
        "lone_stroke_confident_share": (result.lone_strokes.confident_share
                                        if result.lone_strokes else None),
        "mnist_test": result.mnist_test.accuracy if result.mnist_test else None,
        "photo_ms_mean": result.timing["photos"].ms_mean,
        "photo_decode_ms_mean": result.timing["photos"].decode_ms_mean,
        **{name: score.accuracy for name, score in result.outside.items()},
    })
    return figures


def report_json(report: Report) -> dict[str, object]:
    """The report as JSON-ready data, with the machine and library versions."""
    return {
        "date": utc_now(), "git_sha": git_sha(REPO_ROOT), "config": asdict(report.config),
        "model": asdict(report.model), "goals": asdict(Goals()), "fashion_mnist": FASHION_MNIST,
        "headline": {name: headline(result) for name, result in report.results.items()},
        "results": {name: asdict(result) for name, result in report.results.items()},
        "environment": {
            "python": platform.python_version(), "numpy": np.__version__,
            "pillow": PIL.__version__, "onnxruntime": ort.__version__, "grpcio": grpc.__version__,
            "cpu": cpu_name(), "cpus": len(os.sched_getaffinity(0)),
            "load_average": round(os.getloadavg()[0], 2),
        },
    }


def main(argv: list[str] | None = None) -> int:
    d = SetSizes()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-kind", type=int, default=d.per_kind, help="images per scene kind")
    parser.add_argument("--continental", type=int, default=d.continental,
                        help="continental form photos (forms take turns)")
    parser.add_argument("--numbers", type=int, default=d.numbers,
                        help="written numbers, 2–8 digits (lengths take turns)")
    parser.add_argument("--negatives", type=int, default=d.negatives, help="non-digit images")
    parser.add_argument("--sklearn", type=int, default=d.sklearn,
                        help="scikit-learn digits sent (outside check), at most 1797")
    parser.add_argument("--mnist-test", type=int, default=BenchConfig.mnist_test,
                        help="MNIST test images sent raw through Classify")
    parser.add_argument("--split", choices=tuple(REAL_SPLITS), default="test",
                        help="test: the reported sets; tune: their twins of training digits; "
                             "heldout: twins of the digits training holds out (tune on the twins "
                             "only)")
    parser.add_argument("--tune", action="store_true", help="the same as --split tune")
    parser.add_argument("--model", type=Path, default=DEFAULT_MODEL_PATH)
    parser.add_argument("--out", type=Path, default=None,
                        help="results JSON (default: benchmarks/results/real.json, or "
                             "real-<split>.json for a twin)")
    add_data_dir_argument(parser)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    logging.getLogger("serving").setLevel(logging.WARNING)  # not a log line per request
    config = BenchConfig(
        split="tune" if args.tune else args.split, mnist_test=args.mnist_test,
        sizes=SetSizes(args.per_kind, args.continental, args.numbers, args.negatives, args.sklearn))
    data_dir = args.data_dir or (None if os.environ.get("MNIST_DIR") else DEFAULT_MNIST)
    report = run(args.model, load_mnist(MnistSource.from_env(data_dir)), config)
    suffix = "" if config.split == "test" else f"-{config.split}"
    out = args.out or RESULTS_DIR / f"real{suffix}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report_json(report), indent=2) + "\n")
    print(table(report.results, report.model, config.split))
    print(f"\nresults: {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
