"""A DNS server on loopback answering one name with a changeable list of IPv4 addresses: what a
Kubernetes headless Service looks like to a client (one A record per ready pod)."""

from __future__ import annotations

import logging
import threading

from dnslib import QTYPE, RCODE, RR, A, DNSRecord
from dnslib.server import BaseResolver, DNSHandler, DNSLogger, DNSServer

log = logging.getLogger(__name__)


class _Records(BaseResolver):
    """A records of one name; other names are NXDOMAIN, other types of the name are empty."""

    def __init__(self, name: str, addresses: tuple[str, ...]) -> None:
        self.name = name.rstrip(".").lower()
        self.addresses = addresses  # replaced whole, never mutated: read from server threads
        self.a_queries = 0
        self._lock = threading.Lock()

    def resolve(self, request: DNSRecord, handler: DNSHandler) -> DNSRecord:
        reply = request.reply()
        question = request.q
        if str(question.qname).rstrip(".").lower() != self.name:
            reply.header.rcode = RCODE.NXDOMAIN
        elif question.qtype == QTYPE.A:
            with self._lock:
                self.a_queries += 1
            for address in self.addresses:
                reply.add_answer(RR(question.qname, QTYPE.A, rdata=A(address), ttl=1))
        return reply


class LoopbackDns:
    """`with LoopbackDns("digits.test", ("127.0.0.1",)) as dns:` serves UDP on 127.0.0.1:dns.port;
    gRPC targets it as `dns://127.0.0.1:PORT/digits.test:SERVICE_PORT`. Answers are tiny, so
    resolvers never fall back to TCP."""

    def __init__(self, name: str, addresses: tuple[str, ...]) -> None:
        self._records = _Records(name, addresses)
        self._server = DNSServer(self._records, address="127.0.0.1", port=0,
                                 logger=DNSLogger(logf=log.debug))
        self.port: int = self._server.server.server_address[1]

    @property
    def a_queries(self) -> int:
        """How many A queries were answered so far (each is one resolution by a client)."""
        return self._records.a_queries

    def set_addresses(self, addresses: tuple[str, ...]) -> None:
        self._records.addresses = addresses

    def target(self, port: int) -> str:
        return f"dns://127.0.0.1:{self.port}/{self._records.name}:{port}"

    def __enter__(self) -> LoopbackDns:
        self._server.start_thread()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.stop()
        self._server.server.server_close()
