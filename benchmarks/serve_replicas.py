"""Replica rows of bench-serve: one server; two behind the client's round_robin; two behind an L7
proxy (Debian's haproxy, standing in for Envoy or ingress-nginx). Loopback only: the replicas
listen on one port at 127.0.0.1 and 127.0.0.2, as two pods behind a Service do."""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import asdict
from pathlib import Path

import numpy as np

from benchmarks.loopback import free_port, free_shared_port
from benchmarks.serve_load import LoadPlan, LoadResult, launched_server, run_load, wait_serving
from serving.client import ClientConfig
from serving.generated.digits.v1 import digits_pb2 as pb

log = logging.getLogger(__name__)

HOSTS = ("127.0.0.1", "127.0.0.2")
ONE, ROUND_ROBIN, PROXY = ("one replica", "two replicas, client round_robin",
                           "two replicas behind haproxy (L7)")
# HTTP mode balances each call (HTTP/2 stream), not each connection; `proto h2` is cleartext
# HTTP/2 on both sides, which gRPC without TLS needs.
HAPROXY_CONFIG = """\
global
    maxconn 4096
defaults
    mode http
    timeout connect 5s
    timeout client 60s
    timeout server 60s
frontend grpc
    bind {listen} proto h2
    default_backend replicas
backend replicas
    balance roundrobin
{servers}
"""


def haproxy_binary() -> str | None:
    """Debian installs haproxy in /usr/sbin, which a user's PATH may lack."""
    return shutil.which("haproxy", path=os.pathsep.join(
        [os.environ.get("PATH", ""), "/usr/sbin", "/usr/local/sbin"]))


def haproxy_config(listen: str, backends: Sequence[str]) -> str:
    servers = "\n".join(f"    server r{n} {address} proto h2"
                        for n, address in enumerate(backends, 1))
    return HAPROXY_CONFIG.format(listen=listen, servers=servers)


@contextlib.contextmanager
def haproxy(binary: str, backends: Sequence[str],
            timeout_s: float) -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    """haproxy in the foreground balancing gRPC calls over `backends`; yields (process,
    its listening address) once a health check through it answers SERVING."""
    listen = f"127.0.0.1:{free_port()}"
    with tempfile.TemporaryDirectory(prefix="digits-haproxy-") as folder:
        config = Path(folder) / "haproxy.cfg"
        config.write_text(haproxy_config(listen, backends))
        process = subprocess.Popen([binary, "-f", str(config), "-db"],
                                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:
            wait_serving(listen, timeout_s)
            yield process, listen
        finally:
            process.terminate()
            _, err = process.communicate(timeout=30)
            if process.returncode not in (0, -15, 143):
                log.warning("haproxy exited with %s: %s", process.returncode, err.decode()[-500:])


def replica_rows(model: Path, flags: Sequence[str], requests: list[pb.ClassifyRequest],
                 plan: LoadPlan, startup_timeout_s: float,
                 repeats: int) -> dict[str, list[LoadResult]]:
    """Each row measured `repeats` times, the rows taking turns (so that a burst of other work on
    the machine hits every row alike), against the same two servers and proxy. The client uses
    the client library's channel settings (ClientConfig: round_robin, retries, health checks);
    the one-replica row targets the first server alone while the second idles."""
    options = ClientConfig().channel_options()
    port = free_shared_port(HOSTS)
    addresses = [f"{host}:{port}" for host in HOSTS]
    with contextlib.ExitStack() as stack:
        pids = [stack.enter_context(launched_server(model, address, flags,
                                                    startup_timeout_s))[0].pid
                for address in addresses]
        targets = {ONE: (addresses[0], pids[:1]),
                   ROUND_ROBIN: ("ipv4:" + ",".join(addresses), pids)}
        binary = haproxy_binary()
        if binary is None:
            log.warning("haproxy not found: its row is left out (`make proxy` installs it)")
        else:
            proxy, listen = stack.enter_context(haproxy(binary, addresses, startup_timeout_s))
            targets[PROXY] = (listen, [*pids, proxy.pid])
        rows: dict[str, list[LoadResult]] = {name: [] for name in targets}
        for _ in range(repeats):
            for name, (target, row_pids) in targets.items():
                rows[name].append(run_load(target, row_pids, requests, plan, options))
    return rows


def summary(runs: list[LoadResult]) -> dict[str, object]:
    """Medians over the runs of a row, the throughput range, and every run."""
    return {
        **{key: float(np.median([getattr(run, key) for run in runs]))
           for key in ("images_per_s", "p50_ms", "p99_ms", "mean_batch", "server_cpu_ms",
                       "client_cpu_ms")},
        "images_per_s_range": [min(r.images_per_s for r in runs),
                               max(r.images_per_s for r in runs)],
        "runs": [asdict(run) for run in runs],
    }
