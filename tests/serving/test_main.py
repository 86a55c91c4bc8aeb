"""`python -m serving`: its flags, startup failures, and graceful shutdown on SIGTERM."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest

from serving.__main__ import EXIT_STARTUP_FAILED, config_from_args, parse_args
from serving.generated.digits.v1 import digits_pb2 as pb
from serving.generated.digits.v1 import digits_pb2_grpc as pb_grpc
from serving.model import DEFAULT_MODEL_PATH, REPO_ROOT
from serving.preprocess import PreprocessConfig
from tests.serving.fakes import digit_images, reference_probabilities

TIMEOUT_S = 30.0


def test_help_lists_every_flag(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        parse_args(["--help"])
    assert exited.value.code == 0
    text = capsys.readouterr().out
    for flag in ("--address", "--model", "--max-batch-size", "--max-queue-delay-ms", "--threads",
                 "--max-images-per-request", "--max-message-bytes", "--max-encoded-image-bytes",
                 "--max-decoded-pixels", "--preprocessing", "--grace-s", "0.0.0.0:50051",
                 "--host", "--port", "--drain-s", "--max-connection-age",
                 "--max-connection-age-grace"):
        assert flag in text


def test_flags_become_a_validated_config() -> None:
    config = config_from_args(parse_args(["--max-batch-size", "1", "--max-queue-delay-ms", "0",
                                          "--max-images-per-request", "8"]))
    assert config.address == "127.0.0.1:50051"
    assert config.model_path == DEFAULT_MODEL_PATH == REPO_ROOT / "exported" / "model.onnx"
    assert config.engine.batcher.max_batch_size == 1
    assert config.limits.max_images_per_request == 8
    with pytest.raises(ValueError, match="max_batch_size must be ≥ 1"):
        config_from_args(parse_args(["--max-batch-size", "0"]))


def test_replica_flags_listen_on_every_interface_and_limit_connection_age() -> None:
    config = config_from_args(parse_args(["--host", "0.0.0.0", "--max-connection-age", "30",
                                          "--max-connection-age-grace", "5", "--drain-s", "3"]))
    assert config.address == "0.0.0.0:50051"
    assert (config.max_connection_age_s, config.max_connection_age_grace_s) == (30, 5)
    assert config.drain_s == 3
    assert config_from_args(parse_args([])).max_connection_age_s is None


@pytest.mark.parametrize(("flags", "address"), [
    (["--port", "6000"], "127.0.0.1:6000"),
    (["--host", "::"], "[::]:50051"),
    (["--host", "[::1]", "--port", "0"], "[::1]:0"),
    (["--address", "10.0.0.5:7000", "--host", "0.0.0.0"], "0.0.0.0:7000"),
])
def test_host_and_port_replace_parts_of_the_address(flags: list[str], address: str) -> None:
    assert config_from_args(parse_args(flags)).address == address


def test_preprocessing_flag_picks_the_first_version_as_baseline() -> None:
    assert config_from_args(parse_args([])).engine.preprocess == PreprocessConfig()
    first = config_from_args(parse_args(["--preprocessing", "first-version"])).engine.preprocess
    assert first == PreprocessConfig.first_version()


def launch(*flags: str) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "serving", *flags], cwd=REPO_ROOT,
                            stderr=subprocess.PIPE, text=True)


def lines_until(process: subprocess.Popen[str], pattern: str) -> Iterator[re.Match[str]]:
    """Read the server's log until a line matches `pattern`; yield that match."""
    assert process.stderr is not None
    for line in process.stderr:
        if match := re.search(pattern, line):
            yield match
            return
    raise AssertionError(f"the server exited (code {process.wait()}) before logging {pattern!r}")


def test_missing_model_fails_startup_with_a_clear_message(tmp_path: Path) -> None:
    process = launch("--address", "127.0.0.1:0", "--model", str(tmp_path / "model.onnx"))
    _, err = process.communicate(timeout=TIMEOUT_S)
    assert process.returncode == EXIT_STARTUP_FAILED
    assert "cannot start: cannot read model metadata" in err and "Traceback" not in err


def test_sigterm_lets_the_request_in_flight_finish_then_exits_0(fake_model: Path) -> None:
    # A 2 s queue delay holds the request in the batcher while SIGTERM arrives.
    process = launch("--address", "127.0.0.1:0", "--model", str(fake_model),
                     "--max-queue-delay-ms", "2000", "--log-level", "DEBUG")
    try:
        port = int(next(lines_until(process, r"serving .* on 127\.0\.0\.1:(\d+)")).group(1))
        images = digit_images(2)
        with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
            stub = pb_grpc.DigitClassifierStub(channel)
            pending = stub.Classify.future(
                pb.ClassifyRequest(images=[pb.Image(raw=i.tobytes()) for i in images]),
                timeout=TIMEOUT_S)
            next(lines_until(process, r"Classify received 2 images"))
            assert not pending.done()
            process.send_signal(signal.SIGTERM)
            next(lines_until(process, r"shutting down"))
            response = pending.result(TIMEOUT_S)
        assert [r.digit for r in response.results] == \
            reference_probabilities(images).argmax(axis=1).tolist()
        assert process.wait(TIMEOUT_S) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        assert process.stderr is not None
        process.stderr.close()
