"""The sample capture shipped as examples/sample.pcap, and the command line that writes it."""

from __future__ import annotations

import sys
from collections.abc import Sequence

from .capture import Record, write_pcap
from .common import CLIENT_MAC, SERVER_MAC
from .conversations import Endpoint, Step, conversation, tcp_handshake, tcp_teardown
from .ip import icmp_echo_packet
from .link import ethernet
from .payloads import (
    dns_query,
    dns_response,
    http_get,
    http_response,
    tls_client_hello,
    tls_server_hello,
)

SAMPLE_START_NS = 1_700_000_000_000_000_000  # 2023-11-14T22:13:20Z


def sample_records() -> list[Record]:
    """Return the records of examples/sample.pcap in time order.

    DNS over UDP, HTTP over TCP 80, TLS over TCP 443 with SNI www.example.com, UDP to
    port 5000 (IPv4 and IPv6) and an ICMP echo exchange, all on documentation addresses.
    """
    client = Endpoint("192.0.2.10", 50000, CLIENT_MAC)
    client6 = Endpoint("2001:db8::10", 50003, CLIENT_MAC)
    dns_server = Endpoint("198.51.100.53", 53, SERVER_MAC)
    web_server = Endpoint("203.0.113.80", 80, SERVER_MAC)
    tls_server = Endpoint("203.0.113.43", 443, SERVER_MAC)
    udp_server = Endpoint("198.51.100.7", 5000, SERVER_MAC)
    udp_server6 = Endpoint("2001:db8::7", 5000, SERVER_MAC)

    records = conversation(
        client,
        dns_server,
        [
            Step(">", dns_query("www.example.com"), "", 0.0),
            Step("<", dns_response("www.example.com", ["203.0.113.80"]), "", 0.012),
        ],
        protocol="udp",
        start_ns=SAMPLE_START_NS,
    )
    records += conversation(
        Endpoint(client.ip, 50001, client.mac),
        web_server,
        [
            *tcp_handshake(0.020, 0.010),
            Step(">", http_get("www.example.com", "/index.html"), "PA", 0.031),
            Step("<", http_response(), "PA", 0.045),
            Step(">", b"", "A", 0.046),
            *tcp_teardown(0.050, 0.010),
        ],
        start_ns=SAMPLE_START_NS,
    )
    records += conversation(
        Endpoint(client.ip, 50002, client.mac),
        tls_server,
        [
            *tcp_handshake(0.100, 0.010),
            Step(">", tls_client_hello("www.example.com"), "PA", 0.111),
            Step("<", tls_server_hello(), "PA", 0.125),
            Step(">", b"", "A", 0.126),
        ],
        start_ns=SAMPLE_START_NS,
    )
    records += conversation(
        client,
        udp_server,
        [Step(">", b"sample datagram %d" % i, "", 0.200 + 0.005 * i) for i in range(3)]
        + [Step("<", b"sample reply", "", 0.220)],
        protocol="udp",
        start_ns=SAMPLE_START_NS,
    )
    records += conversation(
        client6,
        udp_server6,
        [
            Step(">", b"sample datagram v6", "", 0.230),
        ],
        protocol="udp",
        start_ns=SAMPLE_START_NS,
    )
    for index, reply in enumerate((False, True)):
        source, target = (
            ("192.0.2.10", "203.0.113.1") if not reply else ("203.0.113.1", "192.0.2.10")
        )
        packet = icmp_echo_packet(source, target, ident=0x77, sequence=1, reply=reply)
        macs = (CLIENT_MAC, SERVER_MAC) if not reply else (SERVER_MAC, CLIENT_MAC)
        records.append(
            Record(
                SAMPLE_START_NS + 300_000_000 + index * 2_000_000,
                ethernet(packet, src=macs[0], dst=macs[1]),
            )
        )
    return sorted(records, key=lambda record: record.time_ns)


def write_sample(path) -> None:
    """Write the sample capture (classic pcap, little-endian, microseconds, Ethernet)."""
    write_pcap(path, sample_records())


def main(argv: Sequence[str]) -> int:
    if len(argv) != 3 or argv[1] != "sample":
        print("usage: python -m pcapgen sample OUTPUT.pcap", file=sys.stderr)
        return 2
    write_sample(argv[2])
    return 0
