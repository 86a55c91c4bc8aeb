"""A replica stopped with SIGTERM while clients call it (a rolling update, a scale-down) costs no
call: health NOT_SERVING first, then a drain, then a graceful stop."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable

import pytest

from serving.client import ClientConfig, DigitsClient, DigitsClientError
from serving.model import REPO_ROOT
from tests.serving.fakes import digit_images
from tests.serving.replicas.conftest import SPARE_HOST, Replica
from tests.serving.replicas.dns import LoopbackDns

TIMEOUT_S = 60.0
CALLERS = 4
SHUTDOWN_STEPS = ("shutting down on SIGTERM", "health NOT_SERVING", "refusing new RPCs",
                  "server stopped after")


class ServerProcess:
    """`python -m serving` with its log read by a thread (so the pipe never fills)."""

    def __init__(self, *flags: str) -> None:
        self.lines: list[str] = []
        self._changed = threading.Condition()
        self.process = subprocess.Popen([sys.executable, "-m", "serving", *flags], cwd=REPO_ROOT,
                                        stderr=subprocess.PIPE, text=True)
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            with self._changed:
                self.lines.append(line)
                self._changed.notify_all()

    def wait_for_line(self, pattern: str) -> None:
        """Block until a log line matches `pattern`; fail if the process exits first."""
        def seen() -> bool:
            return any(re.search(pattern, line) for line in self.lines)

        with self._changed:
            if not self._changed.wait_for(lambda: seen() or self.process.poll() is not None,
                                          TIMEOUT_S) or not seen():
                raise AssertionError(f"no log line {pattern!r}; log:\n{''.join(self.lines)}")

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(TIMEOUT_S)
        self._reader.join(TIMEOUT_S)


class Load:
    """CALLERS threads calling classify_one through one client until stopped."""

    def __init__(self, client: DigitsClient) -> None:
        self.successes = 0
        self.failures: list[DigitsClientError] = []
        self._client = client
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._call, args=(i,)) for i in range(CALLERS)]

    def _call(self, seed: int) -> None:
        image = digit_images(1, seed)[0]
        while not self._stop.is_set():
            try:
                self._client.classify_one(image)
            except DigitsClientError as err:
                with self._lock:
                    self.failures.append(err)
            else:
                with self._lock:
                    self.successes += 1

    def wait_until(self, condition: Callable[[], bool]) -> None:
        """Let the load run until `condition` holds (checked every 10 ms)."""
        deadline = time.monotonic() + TIMEOUT_S
        while not condition():
            assert time.monotonic() < deadline and not self.failures, self.failures[:3]
            self._stop.wait(0.01)

    def __enter__(self) -> Load:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(TIMEOUT_S)


@pytest.mark.slow
def test_a_replica_sigtermed_under_load_fails_no_call(replicas: tuple[Replica, ...]) -> None:
    stays = replicas[0]
    leaving = ServerProcess("--host", SPARE_HOST, "--port", str(stays.port), "--threads", "1",
                            "--drain-s", "1", "--grace-s", "5", "--max-connection-age", "2")
    try:
        leaving.wait_for_line(rf"serving .* on {re.escape(SPARE_HOST)}:{stays.port}")
        with LoopbackDns("digits.test", (stays.host, SPARE_HOST)) as dns, \
                DigitsClient(dns.target(stays.port), ClientConfig(timeout_s=10)) as client, \
                Load(client) as load:
            before = stays.images()
            load.wait_until(lambda: load.successes - (stays.images() - before) >= 50)
            leaving.process.send_signal(signal.SIGTERM)
            assert leaving.process.wait(TIMEOUT_S) == 0
            after_exit = load.successes
            load.wait_until(lambda: load.successes >= after_exit + 100)
    finally:
        leaving.close()
    assert load.failures == []
    log = "".join(leaving.lines)
    positions = [log.find(step) for step in SHUTDOWN_STEPS]
    assert -1 not in positions and positions == sorted(positions), log
    served = int(re.search(r"server stopped after \d+ model runs on (\d+) images", log).group(1))
    assert served >= 50
