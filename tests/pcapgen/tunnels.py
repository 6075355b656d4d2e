"""Tunnel headers carried over UDP: GTP-U, TZSP and CAPWAP data."""

from __future__ import annotations

import struct
from collections.abc import Sequence

from .common import CLIENT_MAC, SERVER_MAC, ethertype_of
from .link import ieee80211_data, llc_snap

GTP_U_PORT = 2152
TZSP_PORT = 37008
CAPWAP_DATA_PORT = 5247


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
