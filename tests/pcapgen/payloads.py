"""Application payloads: DNS, mDNS, HTTP/1.1, TLS 1.2 hellos and DHCP."""

from __future__ import annotations

import socket
import struct
from collections.abc import Sequence

from .common import CLIENT_MAC, mac_bytes, pad_frame


def dns_name(name: str) -> bytes:
    """Encode a domain name as DNS labels (no compression)."""
    labels = [label for label in name.rstrip(".").split(".") if label]
    return b"".join(bytes([len(label)]) + label.encode("ascii") for label in labels) + b"\x00"


def dns_query(name: str, ident: int = 0x1234, qtype: int = 1) -> bytes:
    """Build a DNS query with recursion desired for ``name`` (type A by default)."""
    return (
        struct.pack("!HHHHHH", ident, 0x0100, 1, 0, 0, 0)
        + dns_name(name)
        + struct.pack("!HH", qtype, 1)
    )


def dns_response(name: str, addresses: Sequence[str], ident: int = 0x1234, ttl: int = 300) -> bytes:
    """Build a DNS response to an A query with one A record per address."""
    header = struct.pack("!HHHHHH", ident, 0x8180, 1, len(addresses), 0, 0)
    question = dns_name(name) + struct.pack("!HH", 1, 1)
    answers = b"".join(
        struct.pack("!HHHIH", 0xC00C, 1, 1, ttl, 4) + socket.inet_pton(socket.AF_INET, address)
        for address in addresses
    )
    return header + question + answers


def mdns_ptr_response(records: Sequence[tuple[str, str]], ttl: int = 4500) -> bytes:
    """Build an mDNS response (id 0, QR and AA set) with one PTR record per (name, target)."""
    header = struct.pack("!HHHHHH", 0, 0x8400, 0, len(records), 0, 0)
    answers = b""
    for name, target in records:
        rdata = dns_name(target)
        answers += dns_name(name) + struct.pack("!HHIH", 12, 1, ttl, len(rdata)) + rdata
    return header + answers


def http_get(host: str, path: str = "/", user_agent: str = "pcapgen/1.0") -> bytes:
    """Build an HTTP/1.1 GET request with Host, User-Agent and Accept headers."""
    return (
        f"GET {path} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: {user_agent}\r\nAccept: */*\r\n\r\n"
    ).encode("ascii")


def http_response(
    body: bytes = b"<html><body>ok</body></html>\n",
    content_type: str = "text/html",
    status: str = "200 OK",
) -> bytes:
    """Build an HTTP/1.1 response with Content-Type and Content-Length headers."""
    head = (
        f"HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {len(body)}\r\n\r\n"
    ).encode("ascii")
    return head + body


def _u16_prefixed(data: bytes) -> bytes:
    return struct.pack("!H", len(data)) + data


def _tls_extension(kind: int, data: bytes) -> bytes:
    return struct.pack("!H", kind) + _u16_prefixed(data)


def _tls_handshake_record(handshake_type: int, body: bytes, version: int = 0x0301) -> bytes:
    # Clients commonly send the first record as TLS 1.0 (0x0301) for compatibility.
    handshake = bytes([handshake_type]) + len(body).to_bytes(3, "big") + body
    return struct.pack("!BH", 22, version) + _u16_prefixed(handshake)


def _alpn_extension(protocols: Sequence[str]) -> bytes:
    names = b"".join(bytes([len(p)]) + p.encode("ascii") for p in protocols)
    return _tls_extension(16, _u16_prefixed(names))


def tls_client_hello(
    server_name: str, random: bytes = bytes(range(32)), alpn: Sequence[str] = ("h2", "http/1.1")
) -> bytes:
    """Build a TLS 1.2 ClientHello record with SNI, groups, point formats, signatures, ALPN."""
    ciphers = [0xC02B, 0xC02F, 0xC02C, 0xC030, 0xCCA9, 0xCCA8, 0xC013, 0xC014, 0x009C, 0x002F]
    name = server_name.encode("ascii")
    signature_schemes = [0x0403, 0x0804, 0x0401, 0x0503, 0x0805, 0x0501, 0x0806, 0x0601]
    extensions = (
        _tls_extension(0, _u16_prefixed(b"\x00" + _u16_prefixed(name)))
        + _tls_extension(23, b"")  # extended_master_secret
        + _tls_extension(0xFF01, b"\x00")  # renegotiation_info
        + _tls_extension(10, _u16_prefixed(struct.pack("!3H", 0x001D, 0x0017, 0x0018)))
        + _tls_extension(11, b"\x01\x00")
        + _tls_extension(
            13, _u16_prefixed(struct.pack(f"!{len(signature_schemes)}H", *signature_schemes))
        )
        + _alpn_extension(alpn)
    )
    body = (
        b"\x03\x03"
        + random
        + b"\x00"
        + _u16_prefixed(struct.pack(f"!{len(ciphers)}H", *ciphers))
        + b"\x01\x00"
        + _u16_prefixed(extensions)
    )
    return _tls_handshake_record(1, body)


def tls_server_hello(
    random: bytes = bytes(range(32, 64)), cipher_suite: int = 0xC02F, alpn: str | None = "http/1.1"
) -> bytes:
    """Build a TLS 1.2 ServerHello record followed by a ServerHelloDone record."""
    extensions = _tls_extension(0xFF01, b"\x00") + _tls_extension(11, b"\x01\x00")
    if alpn:
        extensions += _alpn_extension([alpn])
    body = (
        b"\x03\x03"
        + random
        + b"\x00"
        + struct.pack("!HB", cipher_suite, 0)
        + _u16_prefixed(extensions)
    )
    return _tls_handshake_record(2, body, 0x0303) + _tls_handshake_record(14, b"", 0x0303)


def dhcp_message(
    message_type: int,
    client_mac: str | bytes = CLIENT_MAC,
    xid: int = 0x3903F326,
    hostname: str = "pcapgen-host",
    requested_ip: str = "192.0.2.77",
) -> bytes:
    """Build a BOOTP/DHCP client message with options 53, 55, 12, 50, padded to 300 bytes.

    ``message_type`` is 1 for DISCOVER and 3 for REQUEST.
    """
    chaddr = mac_bytes(client_mac) + b"\x00" * 10
    fixed = struct.pack(
        "!BBBBIHH4s4s4s4s16s64s128s",
        1,
        1,
        6,
        0,
        xid,
        0,
        0x8000,
        b"\x00" * 4,
        b"\x00" * 4,
        b"\x00" * 4,
        b"\x00" * 4,
        chaddr,
        b"",
        b"",
    )
    name = hostname.encode("ascii")
    options = (
        b"\x63\x82\x53\x63"
        + bytes([53, 1, message_type])
        + bytes([55, 6, 1, 3, 6, 15, 28, 51])
        + bytes([12, len(name)])
        + name
        + bytes([50, 4])
        + socket.inet_pton(socket.AF_INET, requested_ip)
        + b"\xff"
    )
    return pad_frame(fixed + options, 300)


def dhcp_discover(**options) -> bytes:
    """Build a DHCPDISCOVER; ``options`` are those of ``dhcp_message``."""
    return dhcp_message(1, **options)


def dhcp_request(**options) -> bytes:
    """Build a DHCPREQUEST; ``options`` are those of ``dhcp_message``."""
    return dhcp_message(3, **options)
