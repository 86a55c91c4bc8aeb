"""Client-side load balancing over replicas: targets with many addresses, an even split, and a
replica added to DNS found through the servers' max connection age."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from PIL import Image

from serving.client import DigitsClient
from serving.client.cli import EXIT_OK
from serving.client.cli import main as client_main
from tests.serving.fakes import digit_images
from tests.serving.replicas.conftest import AGE_S, Replica
from tests.serving.replicas.dns import LoopbackDns

CALLS = 200


def dns_or_ipv4(kind: str, dns: LoopbackDns, replicas: tuple[Replica, ...]) -> str:
    port = replicas[0].port
    if kind == "dns":
        return dns.target(port)
    return "ipv4:" + ",".join(f"{r.host}:{port}" for r in replicas)


@pytest.mark.parametrize("kind", ["dns", "ipv4"])
def test_calls_split_evenly_over_two_replicas(replicas: tuple[Replica, ...], kind: str) -> None:
    images = digit_images(CALLS)
    with LoopbackDns("digits.test", tuple(r.host for r in replicas)) as dns, \
            DigitsClient(dns_or_ipv4(kind, dns, replicas)) as client:
        before = [r.images() for r in replicas]
        for image in images:
            client.classify_one(image)
        shares = [(r.images() - b) / CALLS for r, b in zip(replicas, before, strict=True)]
    assert sum(shares) == 1
    assert all(0.45 <= share <= 0.55 for share in shares), shares


def test_a_replica_added_to_dns_gets_calls_within_max_connection_age_plus_2_s(
        replicas: tuple[Replica, ...]) -> None:
    first, added = replicas
    images = digit_images(20)
    with LoopbackDns("digits.test", (first.host,)) as dns, \
            DigitsClient(dns.target(first.port)) as client:
        before = added.images()
        for image in images:
            client.classify_one(image)
        assert added.images() == before  # not in DNS yet
        dns.set_addresses((first.host, added.host))
        start = time.monotonic()
        while added.images() == before and time.monotonic() - start < AGE_S + 5:
            client.classify_one(images[0])
        found_after_s = time.monotonic() - start
    assert added.images() > before, "the added replica never got a call"
    assert found_after_s <= AGE_S + 2
    assert dns.a_queries >= 2  # resolved again after the first connection reached its age


@pytest.mark.parametrize("kind", ["dns", "ipv4"])
def test_the_cli_reads_files_through_a_replica_target(
        replicas: tuple[Replica, ...], kind: str, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    for n, image in enumerate(digit_images(3)):
        Image.fromarray(255 - image).save(tmp_path / f"{n}.png")
    with LoopbackDns("digits.test", tuple(r.host for r in replicas)) as dns:
        code = client_main(["predict", "--json", "--server", dns_or_ipv4(kind, dns, replicas),
                            str(tmp_path)])
    assert code == EXIT_OK
    assert len(capsys.readouterr().out.splitlines()) == 3
