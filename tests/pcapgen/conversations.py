"""Frames of a two-endpoint TCP or UDP exchange, with TCP sequence numbers kept consistent."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Callable, NamedTuple

from .capture import Record
from .common import CLIENT_MAC, TCP_ACK, TCP_FIN, TCP_SYN, ethertype_of
from .ip import tcp_flags, tcp_options, tcp_packet, udp_packet
from .link import ethernet


@dataclass(frozen=True)
class Endpoint:
    """One side of a conversation."""

    ip: str
    port: int
    mac: str | bytes = CLIENT_MAC


class Step(NamedTuple):
    """One packet: ``direction`` ">" (client to server) or "<"; ``offset`` in seconds."""

    direction: str
    payload: bytes = b""
    flags: int | str = ""
    offset: float | None = None


def tcp_handshake(offset: float = 0.0, rtt: float = 0.001) -> list[Step]:
    """Return the SYN, SYN-ACK and ACK steps of a TCP three-way handshake."""
    return [
        Step(">", b"", "S", offset),
        Step("<", b"", "SA", offset + rtt / 2),
        Step(">", b"", "A", offset + rtt),
    ]


def tcp_teardown(offset: float, rtt: float = 0.001, initiator: str = ">") -> list[Step]:
    """Return FIN-ACK / ACK / FIN-ACK / ACK steps, first FIN sent by ``initiator``."""
    other = "<" if initiator == ">" else ">"
    return [
        Step(initiator, b"", "FA", offset),
        Step(other, b"", "A", offset + rtt / 2),
        Step(other, b"", "FA", offset + rtt / 2),
        Step(initiator, b"", "A", offset + rtt),
    ]


def _default_link(client: Endpoint, server: Endpoint) -> Callable[[bytes, bool], bytes]:
    def frame(packet: bytes, from_client: bool) -> bytes:
        source, target = (client, server) if from_client else (server, client)
        return ethernet(packet, src=source.mac, dst=target.mac, ethertype=ethertype_of(packet))

    return frame


def conversation(
    client: Endpoint,
    server: Endpoint,
    steps: Iterable[Step | tuple],
    protocol: str = "tcp",
    start_ns: int = 1_700_000_000_000_000_000,
    client_isn: int = 1000,
    server_isn: int = 5000,
    link: Callable[[bytes, bool], bytes] | None = None,
    ip_options: dict | None = None,
) -> list[Record]:
    """Build the records of a TCP or UDP exchange between two endpoints.

    For TCP each side's sequence number starts at its ISN and grows by the payload length,
    plus 1 for SYN and for FIN. When the A flag is set, the ACK field is the other side's
    next sequence number, so a handshake and a teardown are consistent. A step without an offset
    comes 1 ms after the previous one. ``link(ip_packet, from_client)`` builds the frame
    (default Ethernet with the endpoints' MACs). ``ip_options`` go to the IP builder.
    """
    if protocol not in ("tcp", "udp"):
        raise ValueError(f"protocol must be 'tcp' or 'udp', got {protocol!r}")
    link = link or _default_link(client, server)
    next_seq = {">": client_isn, "<": server_isn}
    records: list[Record] = []
    offset = 0.0
    for raw_step in steps:
        step = Step(*raw_step)
        if step.direction not in next_seq:
            raise ValueError(f"step direction must be '>' or '<', got {step.direction!r}")
        offset = step.offset if step.offset is not None else offset + 0.001
        source, target = (client, server) if step.direction == ">" else (server, client)
        if protocol == "udp":
            packet = udp_packet(
                source.ip, target.ip, source.port, target.port, step.payload, **(ip_options or {})
            )
        else:
            packet = _conversation_segment(step, source, target, next_seq, ip_options or {})
        records.append(Record(start_ns + round(offset * 1e9), link(packet, step.direction == ">")))
    return records


def _conversation_segment(
    step: Step, source: Endpoint, target: Endpoint, next_seq: dict[str, int], ip_options: dict
) -> bytes:
    flags = tcp_flags(step.flags)
    other = "<" if step.direction == ">" else ">"
    ack = next_seq[other] if flags & TCP_ACK else 0
    options = tcp_options() if flags & TCP_SYN else b""
    # tcp_options() offers window scale 7, so later segments advertise 502 << 7 = 64256 bytes.
    window = 64240 if flags & TCP_SYN else 502
    packet = tcp_packet(
        source.ip,
        target.ip,
        source.port,
        target.port,
        step.payload,
        flags,
        seq=next_seq[step.direction],
        ack=ack,
        options=options,
        window=window,
        **ip_options,
    )
    # SYN and FIN each take one sequence number.
    next_seq[step.direction] += len(step.payload)
    if flags & TCP_SYN:
        next_seq[step.direction] += 1
    if flags & TCP_FIN:
        next_seq[step.direction] += 1
    return packet
