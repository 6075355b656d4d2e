"""Tunnel headers: GTP-U, TZSP, CAPWAP data, VXLAN and Teredo over UDP; GRE and ERSPAN."""

from __future__ import annotations

import socket
import struct
from collections.abc import Sequence

from .common import CLIENT_MAC, SERVER_MAC, ethertype_of
from .ip import internet_checksum
from .link import ieee80211_data, llc_snap

GTP_U_PORT = 2152
TZSP_PORT = 37008
CAPWAP_DATA_PORT = 5247
VXLAN_PORT = 4789
TEREDO_PORT = 3544

IPPROTO_GRE = 47
GRE_TRANSPARENT_ETHERNET = 0x6558
GRE_ERSPAN_II = 0x88BE
GRE_ERSPAN_III = 0x22EB


def gtp_u(
    inner: bytes,
    teid: int = 1,
    sequence: int | None = None,
    npdu: int | None = None,
    extension: tuple[int, bytes] | None = None,
) -> bytes:
    """Build a GTPv1-U T-PDU header (3GPP TS 29.281) around ``inner``.

    Any of ``sequence``, ``npdu`` or ``extension`` sets its flag (S, PN, E) and adds the
    4 optional bytes. ``extension`` is ``(type, content)``, e.g. ``(0x85, b"\\x00\\x01")``
    for a PDU session container; the content is padded so the header is a multiple of 4.
    """
    flags = 0x30  # version 1, protocol type GTP
    optional = b""
    extensions = b""
    if sequence is not None or npdu is not None or extension is not None:
        if sequence is not None:
            flags |= 0x02
        if npdu is not None:
            flags |= 0x01
        next_type = 0
        if extension is not None:
            flags |= 0x04
            next_type, content = extension
            content += b"\x00" * (-(len(content) + 2) % 4)
            extensions = bytes([(len(content) + 2) // 4]) + content + b"\x00"
        optional = struct.pack("!HBB", sequence or 0, npdu or 0, next_type)
    body = optional + extensions + inner
    return struct.pack("!BBHI", flags, 0xFF, len(body), teid) + body


def tzsp(
    frame: bytes,
    tags: Sequence[tuple[int, bytes]] = ((10, b"\xd8"),),
    version: int = 1,
    packet_type: int = 0,
    encapsulation: int = 1,
) -> bytes:
    """Build a TZSP header, ``tags`` as (type, value) pairs, the END tag, then ``frame``.

    The default tag is RSSI (type 10). Pass ``tags=()`` for only the 1-byte END tag.
    ``encapsulation`` 1 is Ethernet.
    """
    encoded = b"".join(bytes([kind, len(value)]) + value for kind, value in tags)
    return struct.pack("!BBH", version, packet_type, encapsulation) + encoded + b"\x01" + frame


def capwap_data(
    frame: bytes, radio_id: int = 1, wireless_binding: int = 1, native: bool = True
) -> bytes:
    """Build an 8-byte CAPWAP data header (RFC 5415, HLEN 2) followed by ``frame``.

    ``native`` sets the T bit: the payload is a native 802.11 frame.
    """
    bits = (2 << 19) | (radio_id << 14) | (wireless_binding << 9) | ((1 if native else 0) << 8)
    return b"\x00" + bits.to_bytes(3, "big") + struct.pack("!HH", 0, 0) + frame


def capwap_wifi(
    ip_packet_bytes: bytes,
    src: str | bytes = CLIENT_MAC,
    dst: str | bytes = SERVER_MAC,
    bssid: str | bytes = "02:00:00:00:00:aa",
) -> bytes:
    """Build CAPWAP + 24-byte 802.11 data header (no QoS) + LLC/SNAP + an IP packet."""
    wifi = ieee80211_data(
        llc_snap(ip_packet_bytes, ethertype_of(ip_packet_bytes)), bssid, src, dst, qos=False
    )
    return capwap_data(wifi)


def gre(
    payload: bytes,
    protocol_type: int,
    checksum: bool = False,
    key: int | None = None,
    sequence: int | None = None,
    version: int = 0,
) -> bytes:
    """Build a GRE header (RFC 2784, key and sequence number from RFC 2890) before ``payload``.

    ``protocol_type`` is an ethertype: 0x0800, 0x86DD, 0x6558 (Ethernet), 0x88BE or 0x22EB
    (ERSPAN). ``checksum`` adds the C field, computed over the GRE header and payload.
    """
    flags = version
    optional = b""
    if checksum:
        flags |= 0x8000
    if key is not None:
        flags |= 0x2000
        optional += struct.pack("!I", key)
    if sequence is not None:
        flags |= 0x1000
        optional += struct.pack("!I", sequence)
    if not checksum:
        return struct.pack("!HH", flags, protocol_type) + optional + payload
    unsummed = struct.pack("!HHHH", flags, protocol_type, 0, 0) + optional + payload
    return unsummed[:4] + struct.pack("!H", internet_checksum(unsummed)) + unsummed[6:]


def erspan_ii(frame: bytes, session: int = 1, vlan: int = 0, index: int = 0) -> bytes:
    """Build an 8-byte ERSPAN type II header (version 1) before an Ethernet ``frame``.

    Send it in ``gre(..., GRE_ERSPAN_II, sequence=n)``: type II always has a sequence number.
    """
    return struct.pack("!HHI", (1 << 12) | vlan, session & 0x3FF, index & 0xFFFFF) + frame


def erspan_iii(
    frame: bytes, session: int = 1, timestamp: int = 0, platform: bytes | None = None
) -> bytes:
    """Build a 12-byte ERSPAN type III header (version 2, frame type 0 = Ethernet).

    ``platform`` (8 bytes) adds the platform-specific subheader and sets the O bit.
    """
    last_byte = 0x01 if platform is not None else 0x00
    header = struct.pack("!HHIHBB", 2 << 12, session & 0x3FF, timestamp, 0, 0, last_byte)
    if platform is not None:
        if len(platform) != 8:
            raise ValueError(f"platform subheader must be 8 bytes, got {len(platform)}")
        header += platform
    return header + frame


def vxlan(frame: bytes, vni: int = 1) -> bytes:
    """Build an 8-byte VXLAN header (RFC 7348, I flag set) before an Ethernet ``frame``."""
    return struct.pack("!II", 0x08000000, vni << 8) + frame


def teredo(
    ipv6_packet: bytes,
    origin: tuple[int, str] | None = None,
    authentication: tuple[bytes, bytes] | None = None,
) -> bytes:
    """Prefix Teredo's optional headers (RFC 4380) to an IPv6 packet.

    ``authentication`` is ``(client_id, value)``: indicator 0x0001, their lengths, both
    fields, an 8-byte nonce and a confirmation byte. ``origin`` is ``(port, IPv4 address)``:
    indicator 0x0000 then both, obfuscated by inverting every bit as the RFC requires.
    """
    headers = b""
    if authentication is not None:
        client_id, value = authentication
        headers += struct.pack("!HBB", 1, len(client_id), len(value)) + client_id + value
        headers += b"\x00" * 8 + b"\x00"
    if origin is not None:
        port, address = origin
        packed = bytes(255 - byte for byte in socket.inet_pton(socket.AF_INET, address))
        headers += struct.pack("!HH", 0, port ^ 0xFFFF) + packed
    return headers + ipv6_packet
