"""`python -m demo` starts the service when none answers, serves the page, stops both on SIGINT."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import urllib.request

from benchmarks.loopback import free_address
from demo.launcher import ensure_service, service_answers
from serving.model import REPO_ROOT


def test_demo_starts_the_service_serves_the_page_and_stops_both() -> None:
    unused_address = free_address()
    demo = subprocess.Popen(
        [sys.executable, "-m", "demo", "--web-address", "127.0.0.1:0", "--target", unused_address],
        cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        line = demo.stdout.readline()  # printed once the service is healthy and the page is up
        assert line.startswith("Digits demo: open http://127.0.0.1:"), line
        url = line.split("open ", 1)[1].split()[0]
        with urllib.request.urlopen(url + "api/health", timeout=10) as response:
            assert json.loads(response.read())["target"] == unused_address
        assert service_answers(unused_address)
        demo.send_signal(signal.SIGINT)
        assert demo.wait(timeout=30) == 0
        assert not service_answers(unused_address), "the service the demo started is stopped"
    finally:
        if demo.poll() is None:
            demo.kill()
            demo.wait()


def test_a_service_that_already_answers_is_used_not_started(service: str) -> None:
    handle = ensure_service(service)
    assert not handle.started_here
    handle.stop()  # nothing to stop: the running service stays up
    assert service_answers(service)


def test_unusable_address_exits_with_code_2() -> None:
    completed = subprocess.run([sys.executable, "-m", "demo", "--target", "nonsense"],
                               cwd=REPO_ROOT, capture_output=True, text=True, timeout=60)
    assert completed.returncode == 2 and "target must be HOST:PORT" in completed.stderr


def test_the_web_process_holds_no_model() -> None:
    code = ("import sys, demo.__main__, demo.app, demo.api\n"
            "print(','.join(sorted(m for m in sys.modules if m.split('.')[0] in "
            "('onnxruntime', 'torch', 'training'))))")
    completed = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                               cwd=REPO_ROOT, timeout=60, check=True)
    assert completed.stdout.strip() == "", f"the demo imported {completed.stdout.strip()}"
