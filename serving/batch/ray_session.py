"""Starting Ray as a good citizen (embedded, loopback only, no dashboard, no usage statistics,
an ephemeral auth token) or joining a cluster; `ray` is imported here, lazily, and nowhere in
serving outside serving.batch."""

from __future__ import annotations

import contextlib
import logging
import os
import secrets
import shutil
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from types import ModuleType

from serving.batch.config import RayEngineConfig, available_cpus
from serving.batch.errors import EngineUnavailableError

INSTALL_HINT = "--engine ray needs Ray Data: pip install 'digits[ray]' (or '.[ray]' in a checkout)"
LOOPBACK = "127.0.0.1"
# Read by Ray when it is imported or started, so set before either (Ray 2.60 source):
# Digits never phones home; and a Ray call after shutdown (a job stopped at its time limit)
# must fail, not silently start a new default cluster (ray._private.auto_init_hook).
ALWAYS = {"RAY_USAGE_STATS_ENABLED": "0", "RAY_ENABLE_AUTO_CONNECT": "0"}
# ray._private.services.get_node_ip_address returns the loopback address only when this is 0;
# otherwise ray.init(_node_ip_address="127.0.0.1") is "resolved" back to the machine's interface
# address (services.resolve_ip_for_localhost) and every Ray server listens on all interfaces
# (seen with `ss -tlnp` on this machine: *:PORT and 192.0.2.2 without it, 127.0.0.1 with it).
LOOPBACK_ONLY = {"RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0"}
# A new local cluster uses token authentication by default and, unless a token is already
# found, writes one to ~/.ray/auth_token (ray._private.authentication.authentication_token_setup);
# a token in the environment is found first, so nothing is written and it dies with the process.
AUTH_MODE, AUTH_TOKEN = "RAY_AUTH_MODE", "RAY_AUTH_TOKEN"


def _environment(embedded: bool) -> None:
    """Set Ray's environment variables in this process (Ray only reads them there; its processes
    inherit them). The token is made once per process: Ray caches it."""
    os.environ.update(ALWAYS)
    if embedded:
        os.environ.update(LOOPBACK_ONLY)
        os.environ[AUTH_MODE] = "token"
        os.environ.setdefault(AUTH_TOKEN, secrets.token_hex(32))


def import_ray(embedded: bool) -> ModuleType:
    """`ray` (with ray.data), its environment set first; EngineUnavailableError if missing, or
    if an embedded Ray is wanted but Ray was imported before it could be kept on loopback."""
    if embedded and sys.modules.get("ray") is not None:
        from ray._private import ray_constants

        if ray_constants.ENABLE_RAY_CLUSTER:
            raise EngineUnavailableError(
                "Ray was imported before Digits could keep it on loopback: set "
                "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0 in the environment, or import "
                "serving.batch.ray_session first")
    _environment(embedded)
    try:
        import ray
        import ray.data
    except ImportError as err:
        raise EngineUnavailableError(f"{INSTALL_HINT} ({err})") from err
    return ray


@dataclass(frozen=True)
class RaySession:
    """The Ray this job runs on."""

    ray: ModuleType
    workers: int  # predictor actors to start
    embedded: bool  # an embedded Ray started (and stopped) by this job
    owned: bool  # this job connected, so it disconnects (and stops an embedded Ray) at the end


def cluster_address(config: RayEngineConfig) -> str | None:
    """The cluster to join: --address, else $RAY_ADDRESS; None: start an embedded Ray."""
    return config.address or os.environ.get("RAY_ADDRESS") or None


def embedded_cpus(config: RayEngineConfig) -> int:
    """Logical CPUs of an embedded Ray: the actors' plus those reserved for reads and writes."""
    actors = config.workers or available_cpus()
    return config.embedded_cpus or actors * config.cpus_per_actor + config.reserved_cpus


def start_embedded(config: RayEngineConfig) -> str:
    """Start Ray on this machine, loopback only; returns its temporary folder (under the system's
    temp folder, never the home folder), which `stop_embedded` removes."""
    ray = import_ray(embedded=True)
    temp_dir = tempfile.mkdtemp(prefix="digits-ray-")
    try:
        ray.init(num_cpus=embedded_cpus(config), include_dashboard=False,
                 _node_ip_address=LOOPBACK, _temp_dir=temp_dir,
                 object_store_memory=config.object_store_mb * 1024 * 1024,
                 log_to_driver=False,  # actor logs stay in temp_dir: stderr is the progress bar's
                 logging_level=logging.WARNING, namespace="digits")
    except Exception as err:  # Ray raises many kinds here; all mean it did not start
        shutil.rmtree(temp_dir, ignore_errors=True)
        raise EngineUnavailableError(f"cannot start an embedded Ray: {err}") from err
    return temp_dir


def stop_embedded(temp_dir: str) -> None:
    import ray

    ray.shutdown()
    shutil.rmtree(temp_dir, ignore_errors=True)


def _join(ray: ModuleType, address: str) -> None:
    try:
        ray.init(address=address, log_to_driver=False, logging_level=logging.WARNING,
                 namespace="digits")
    except Exception as err:  # ConnectionError, TimeoutError, AuthenticationError...
        raise EngineUnavailableError(
            f"cannot join the Ray cluster at {address}: {err} (start one with `ray start "
            f"--head`, or give its token in RAY_AUTH_TOKEN)") from err


def _workers(ray: ModuleType, config: RayEngineConfig) -> int:
    cpus = int(ray.cluster_resources().get("CPU", 0))
    return config.workers or max(1, (cpus - config.reserved_cpus) // config.cpus_per_actor)


@contextlib.contextmanager
def ray_session(config: RayEngineConfig) -> Iterator[RaySession]:
    """The Ray to run on: the one this process is already connected to (left running), else the
    cluster at cluster_address(), else an embedded Ray; a Ray started here is stopped after."""
    address = cluster_address(config)
    ray = import_ray(embedded=address is None)
    if ray.is_initialized():
        yield RaySession(ray, _workers(ray, config), embedded=False, owned=False)
        return
    if address is not None:
        _join(ray, address)
        try:
            yield RaySession(ray, _workers(ray, config), embedded=False, owned=True)
        finally:
            ray.shutdown()
        return
    temp_dir = start_embedded(config)
    try:
        yield RaySession(ray, _workers(ray, config), embedded=True, owned=True)
    finally:
        stop_embedded(temp_dir)
