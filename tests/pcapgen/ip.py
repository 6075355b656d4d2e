"""IPv4 and IPv6 (with extension headers), IP-in-IP, and the UDP/TCP/ICMP/ICMPv6 builders."""

from __future__ import annotations

import socket
import struct
from collections.abc import Sequence
from typing import NamedTuple

from .common import (
    IPPROTO_DSTOPTS,
    IPPROTO_FRAGMENT,
    IPPROTO_HOPOPTS,
    IPPROTO_ICMP,
    IPPROTO_ICMPV6,
    IPPROTO_IPIP,
    IPPROTO_IPV6,
    IPPROTO_ROUTING,
    IPPROTO_TCP,
    IPPROTO_UDP,
    TCP_ACK,
    TCP_CWR,
    TCP_ECE,
    TCP_FIN,
    TCP_PSH,
    TCP_RST,
    TCP_SYN,
    TCP_URG,
    is_ipv6,
    pad4,
)


def internet_checksum(data: bytes) -> int:
    """Return the RFC 1071 ones' complement checksum of ``data``."""
    if len(data) % 2:
        data += b"\x00"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def ipv4(
    payload: bytes,
    src: str,
    dst: str,
    proto: int,
    ttl: int = 64,
    ident: int = 0,
    flags: int = 0,
    fragment_offset: int = 0,
    options: bytes = b"",
    tos: int = 0,
    total_length: int | None = None,
    checksum: int | None = None,
) -> bytes:
    """Build an IPv4 header (with a correct checksum unless given) followed by ``payload``.

    ``flags`` is IP_DF/IP_MF, ``fragment_offset`` is in bytes (a multiple of 8), ``options``
    is padded to a multiple of 4 bytes and sets the IHL. ``total_length`` overrides the
    header field only; the payload is written whole.
    """
    if fragment_offset % 8:
        raise ValueError(f"fragment_offset must be a multiple of 8 bytes, got {fragment_offset}")
    options = pad4(options)
    header_length = 20 + len(options)
    if total_length is None:
        total_length = header_length + len(payload)
    header = (
        struct.pack(
            "!BBHHHBBH4s4s",
            0x40 | header_length // 4,
            tos,
            total_length,
            ident,
            (flags << 13) | (fragment_offset // 8),
            ttl,
            proto,
            0,
            socket.inet_pton(socket.AF_INET, src),
            socket.inet_pton(socket.AF_INET, dst),
        )
        + options
    )
    if checksum is None:
        checksum = internet_checksum(header)
    return header[:10] + struct.pack("!H", checksum) + header[12:] + payload


class ExtensionHeader(NamedTuple):
    """An IPv6 extension header: its protocol number and its bytes after the next-header byte."""

    kind: int
    body: bytes


def _options_extension(kind: int, options: bytes) -> ExtensionHeader:
    # The header is 2 + len(options) bytes and must be a multiple of 8, so pad with PadN.
    padding = -(2 + len(options)) % 8
    if padding == 1:
        options += b"\x00"  # Pad1
    elif padding:
        options += bytes([1, padding - 2]) + b"\x00" * (padding - 2)
    return ExtensionHeader(kind, bytes([(2 + len(options)) // 8 - 1]) + options)


def hop_by_hop(options: bytes = b"") -> ExtensionHeader:
    """Hop-by-hop options header, padded with Pad1/PadN to 8 bytes."""
    return _options_extension(IPPROTO_HOPOPTS, options)


def destination_options(options: bytes = b"") -> ExtensionHeader:
    """Destination options header, padded with Pad1/PadN to 8 bytes."""
    return _options_extension(IPPROTO_DSTOPTS, options)


def routing_header(
    addresses: Sequence[str] = (), routing_type: int = 0, segments_left: int = 0
) -> ExtensionHeader:
    """Routing header listing ``addresses`` (type 0 layout: 4 reserved bytes, then addresses)."""
    packed = b"".join(socket.inet_pton(socket.AF_INET6, a) for a in addresses)
    body = bytes([2 * len(addresses), routing_type, segments_left]) + b"\x00" * 4 + packed
    return ExtensionHeader(IPPROTO_ROUTING, body)


def fragment_header(offset: int = 0, more: bool = False, ident: int = 1) -> ExtensionHeader:
    """Fragment header; ``offset`` is in bytes (a multiple of 8)."""
    if offset % 8:
        raise ValueError(f"fragment offset must be a multiple of 8 bytes, got {offset}")
    return ExtensionHeader(
        IPPROTO_FRAGMENT, struct.pack("!BHI", 0, offset | (1 if more else 0), ident)
    )


def ipv6(
    payload: bytes,
    src: str,
    dst: str,
    next_header: int,
    hop_limit: int = 64,
    extension_headers: Sequence[ExtensionHeader] = (),
    traffic_class: int = 0,
    flow_label: int = 0,
    payload_length: int | None = None,
) -> bytes:
    """Build an IPv6 header, the extension-header chain in order, then ``payload``.

    ``next_header`` is the protocol of ``payload``; the chain's next-header fields are
    filled in. ``payload_length`` overrides the header field only.
    """
    kinds = [header.kind for header in extension_headers] + [next_header]
    chain = b"".join(
        bytes([kinds[i + 1]]) + header.body for i, header in enumerate(extension_headers)
    )
    body = chain + payload
    if payload_length is None:
        payload_length = len(body)
    first_word = (6 << 28) | (traffic_class << 20) | flow_label
    return (
        struct.pack("!IHBB", first_word, payload_length, kinds[0], hop_limit)
        + socket.inet_pton(socket.AF_INET6, src)
        + socket.inet_pton(socket.AF_INET6, dst)
        + body
    )


def ip_packet(payload: bytes, src: str, dst: str, proto: int, **options) -> bytes:
    """Build IPv4 or IPv6 according to the address family; ``options`` go to that builder."""
    if is_ipv6(src):
        return ipv6(payload, src, dst, proto, **options)
    return ipv4(payload, src, dst, proto, **options)


def ip_in_ip(inner: bytes, src: str, dst: str, **options) -> bytes:
    """Wrap an IPv4 or IPv6 packet in an outer IPv4/IPv6 header (protocol 4 or 41)."""
    proto = IPPROTO_IPV6 if inner[0] >> 4 == 6 else IPPROTO_IPIP
    return ip_packet(inner, src, dst, proto, **options)


def _pseudo_header(src: str, dst: str, proto: int, length: int) -> bytes:
    if is_ipv6(src):
        return (
            socket.inet_pton(socket.AF_INET6, src)
            + socket.inet_pton(socket.AF_INET6, dst)
            + struct.pack("!IxxxB", length, proto)
        )
    return (
        socket.inet_pton(socket.AF_INET, src)
        + socket.inet_pton(socket.AF_INET, dst)
        + struct.pack("!xBH", proto, length)
    )


def _with_checksum(
    segment: bytes,
    offset: int,
    src: str | None,
    dst: str | None,
    proto: int,
    zero_means_none: bool = False,
) -> bytes:
    if src is None or dst is None:
        return segment
    checksum = internet_checksum(_pseudo_header(src, dst, proto, len(segment)) + segment)
    if zero_means_none and checksum == 0:
        checksum = 0xFFFF  # RFC 768: a computed zero is sent as all ones
    return segment[:offset] + struct.pack("!H", checksum) + segment[offset + 2 :]


def udp(
    payload: bytes,
    sport: int,
    dport: int,
    src: str | None = None,
    dst: str | None = None,
    length: int | None = None,
) -> bytes:
    """Build a UDP header and payload; the checksum is 0 unless ``src`` and ``dst`` are given."""
    if length is None:
        length = 8 + len(payload)
    segment = struct.pack("!HHHH", sport, dport, length, 0) + payload
    return _with_checksum(segment, 6, src, dst, IPPROTO_UDP, zero_means_none=True)


_TCP_FLAG_LETTERS = {
    "F": TCP_FIN,
    "S": TCP_SYN,
    "R": TCP_RST,
    "P": TCP_PSH,
    "A": TCP_ACK,
    "U": TCP_URG,
    "E": TCP_ECE,
    "C": TCP_CWR,
}


def tcp_flags(flags: int | str) -> int:
    """Convert flag letters ("SA", "FA", "PA"; F S R P A U E C) or an int to the flag bits."""
    if isinstance(flags, int):
        return flags
    value = 0
    for letter in flags.upper():
        if letter not in _TCP_FLAG_LETTERS:
            raise ValueError(f"unknown TCP flag letter {letter!r} in {flags!r}")
        value |= _TCP_FLAG_LETTERS[letter]
    return value


def tcp_options(
    mss: int | None = 1460,
    window_scale: int | None = 7,
    sack_permitted: bool = True,
    timestamps: tuple[int, int] | None = None,
) -> bytes:
    """Build SYN-style TCP options, padded with NOPs to a multiple of 4 bytes."""
    options = b""
    if mss is not None:
        options += struct.pack("!BBH", 2, 4, mss)
    if sack_permitted:
        options += b"\x04\x02"
    if timestamps is not None:
        options += struct.pack("!BBII", 8, 10, *timestamps)
    if window_scale is not None:
        options += b"\x01" + struct.pack("!BBB", 3, 3, window_scale)
    return options + b"\x01" * (-len(options) % 4)


def tcp(
    payload: bytes,
    sport: int,
    dport: int,
    src: str | None = None,
    dst: str | None = None,
    seq: int = 0,
    ack: int = 0,
    flags: int | str = "S",
    window: int = 64240,
    options: bytes = b"",
    urgent: int = 0,
) -> bytes:
    """Build a TCP header and payload; the checksum is 0 unless ``src`` and ``dst`` are given."""
    options = options + b"\x00" * (-len(options) % 4)
    data_offset = (20 + len(options)) // 4
    segment = struct.pack(
        "!HHIIBBHHH",
        sport,
        dport,
        seq & 0xFFFFFFFF,
        ack & 0xFFFFFFFF,
        data_offset << 4,
        tcp_flags(flags),
        window,
        0,
        urgent,
    )
    return _with_checksum(segment + options + payload, 16, src, dst, IPPROTO_TCP)


def icmp_echo(
    ident: int = 1, sequence: int = 1, payload: bytes = b"abcdefgh" * 4, reply: bool = False
) -> bytes:
    """Build an ICMPv4 echo request (type 8) or reply (type 0) with its checksum."""
    message = struct.pack("!BBHHH", 0 if reply else 8, 0, 0, ident, sequence) + payload
    return message[:2] + struct.pack("!H", internet_checksum(message)) + message[4:]


def icmpv6_echo(
    src: str,
    dst: str,
    ident: int = 1,
    sequence: int = 1,
    payload: bytes = b"abcdefgh" * 4,
    reply: bool = False,
) -> bytes:
    """Build an ICMPv6 echo request (128) or reply (129); the checksum covers the pseudo-header."""
    message = struct.pack("!BBHHH", 129 if reply else 128, 0, 0, ident, sequence) + payload
    return _with_checksum(message, 2, src, dst, IPPROTO_ICMPV6)


def udp_packet(
    src: str, dst: str, sport: int, dport: int, payload: bytes = b"", **ip_options
) -> bytes:
    """Build an IPv4/IPv6 packet carrying a checksummed UDP datagram."""
    return ip_packet(udp(payload, sport, dport, src, dst), src, dst, IPPROTO_UDP, **ip_options)


def tcp_packet(
    src: str,
    dst: str,
    sport: int,
    dport: int,
    payload: bytes = b"",
    flags: int | str = "PA",
    seq: int = 0,
    ack: int = 0,
    options: bytes = b"",
    window: int = 64240,
    **ip_options,
) -> bytes:
    """Build an IPv4/IPv6 packet carrying a checksummed TCP segment."""
    segment = tcp(
        payload,
        sport,
        dport,
        src,
        dst,
        seq=seq,
        ack=ack,
        flags=flags,
        window=window,
        options=options,
    )
    return ip_packet(segment, src, dst, IPPROTO_TCP, **ip_options)


def icmp_echo_packet(
    src: str,
    dst: str,
    ident: int = 1,
    sequence: int = 1,
    reply: bool = False,
    payload: bytes = b"abcdefgh" * 4,
) -> bytes:
    """Build an IPv4 ICMP or IPv6 ICMPv6 echo packet according to the address family."""
    if is_ipv6(src):
        message = icmpv6_echo(src, dst, ident, sequence, payload, reply)
        return ipv6(message, src, dst, IPPROTO_ICMPV6)
    return ipv4(icmp_echo(ident, sequence, payload, reply), src, dst, IPPROTO_ICMP)
