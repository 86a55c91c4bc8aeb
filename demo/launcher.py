"""Starts the Digits gRPC service as a child process unless one already answers at the target."""

from __future__ import annotations

import logging
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from serving.client import ClientConfig, DigitsClient, DigitsClientError, ServiceUnavailableError

log = logging.getLogger(__name__)

# One quick health call, no retries; health checking off, so that a server that is not SERVING
# (shutting down) still answers with its status instead of looking absent.
PROBE = ClientConfig(timeout_s=1.0, retries=0, health_checking=False)


class ServiceStartError(RuntimeError):
    """The service child process exited or did not become healthy in time."""


@dataclass
class ServiceHandle:
    """The service the demo uses; `process` is None when it was already running."""

    target: str
    process: subprocess.Popen | None

    @property
    def started_here(self) -> bool:
        return self.process is not None

    def stop(self, timeout_s: float = 15.0) -> None:
        """Stop the child (SIGTERM: graceful shutdown) if this demo started it; idempotent."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout_s)
        except subprocess.TimeoutExpired:
            log.warning("the service did not stop within %.0f s; killing it", timeout_s)
            self.process.kill()
            self.process.wait()


def service_answers(target: str) -> bool:
    """True when a Digits service at `target` answers a health check (whatever its status)."""
    with DigitsClient(target, PROBE) as client:
        try:
            client.health()
        except ServiceUnavailableError:
            return False
        except DigitsClientError as err:
            log.warning("something answers at %s, but not as a Digits service: %s", target, err)
            return True
    return True


def wait_healthy(target: str, process: subprocess.Popen, timeout_s: float) -> None:
    """Return once the service reports SERVING; raise ServiceStartError if the child exits first."""
    deadline = time.monotonic() + timeout_s
    with DigitsClient(target, PROBE) as client:
        while time.monotonic() < deadline:
            try:
                if client.health() == "SERVING":
                    return
            except DigitsClientError:
                pass  # not listening yet: the model is still loading
            try:
                code = process.wait(timeout=0.1)  # doubles as the poll interval
            except subprocess.TimeoutExpired:
                continue
            raise ServiceStartError(f"the Digits service exited with code {code} while starting; "
                                    f"see its log above")
    raise ServiceStartError(f"the Digits service at {target} was not healthy after {timeout_s} s")


def ensure_service(target: str, model: Path | None = None,
                   timeout_s: float = 60.0) -> ServiceHandle:
    """Use the service at `target` if one answers, else start `python -m serving` there."""
    if service_answers(target):
        log.info("using the Digits service already running at %s", target)
        return ServiceHandle(target, None)
    command = [sys.executable, "-m", "serving", "--address", target]
    if model is not None:
        command += ["--model", str(model)]
    log.info("starting the Digits service: %s", " ".join(command))
    process = subprocess.Popen(command)  # its log goes to our stderr
    handle = ServiceHandle(target, process)
    try:
        wait_healthy(target, process, timeout_s)
    except BaseException:
        handle.stop()
        raise
    return handle
