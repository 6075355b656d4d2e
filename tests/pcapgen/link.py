"""Link-layer builders: Ethernet and its tags, Linux SLL, loopback, PPP/HDLC, radiotap + 802.11."""

from __future__ import annotations

import struct
import zlib
from collections.abc import Sequence

from .common import (
    CLIENT_MAC,
    ETHERTYPE_IPV4,
    ETHERTYPE_VLAN,
    PPP_IPV4,
    SERVER_MAC,
    ethertype_of,
    mac_bytes,
    pad_frame,
)


def ethernet(
    payload: bytes,
    src: str | bytes = CLIENT_MAC,
    dst: str | bytes = SERVER_MAC,
    ethertype: int = ETHERTYPE_IPV4,
    vlans: Sequence[int | tuple[int, int]] = (),
    pad_to: int = 0,
) -> bytes:
    """Build an Ethernet II frame (no FCS).

    ``vlans`` lists tags from outermost to innermost: a VLAN id (TPID 0x8100) or a
    ``(tpid, tci)`` pair for 802.1ad or priority bits. ``pad_to=60`` pads like a real NIC.
    """
    header = mac_bytes(dst) + mac_bytes(src)
    for tag in vlans:
        tpid, tci = tag if isinstance(tag, tuple) else (ETHERTYPE_VLAN, tag)
        header += struct.pack("!HH", tpid, tci)
    return pad_frame(header + struct.pack("!H", ethertype) + payload, pad_to)


def mpls(payload: bytes, labels: Sequence[int], ttl: int = 64) -> bytes:
    """Prefix an MPLS label stack (outermost first); the last label gets bottom-of-stack."""
    stack = b""
    for index, label in enumerate(labels):
        bottom = 1 if index == len(labels) - 1 else 0
        stack += struct.pack("!I", (label << 12) | (bottom << 8) | ttl)
    return stack + payload


def pppoe_session(payload: bytes, session_id: int = 1, ppp_protocol: int = PPP_IPV4) -> bytes:
    """Build a PPPoE session header (RFC 2516) and PPP protocol field; use ethertype 0x8864."""
    ppp_payload = struct.pack("!H", ppp_protocol) + payload
    return struct.pack("!BBHH", 0x11, 0x00, session_id, len(ppp_payload)) + ppp_payload


def llc_snap(payload: bytes, ethertype: int = ETHERTYPE_IPV4, oui: int = 0) -> bytes:
    """Prefix an 802.2 LLC header (AA AA 03) and SNAP header with ``oui`` and ``ethertype``."""
    return b"\xaa\xaa\x03" + oui.to_bytes(3, "big") + struct.pack("!H", ethertype) + payload


def stp_bpdu() -> bytes:
    """Build an LLC header (42 42 03) with a 35-byte STP configuration BPDU."""
    bridge = b"\x80\x00" + mac_bytes(SERVER_MAC)
    bpdu = struct.pack("!HBBB", 0, 0, 0, 0) + bridge + struct.pack("!I", 0) + bridge
    bpdu += struct.pack("!HHHHH", 0x8001, 0, 20 * 256, 2 * 256, 15 * 256)
    return b"\x42\x42\x03" + bpdu


def ethernet_8023(
    llc_payload: bytes,
    src: str | bytes = CLIENT_MAC,
    dst: str | bytes = "01:80:c2:00:00:00",
    pad_to: int = 0,
) -> bytes:
    """Build an IEEE 802.3 frame whose type field is the LLC payload length."""
    header = mac_bytes(dst) + mac_bytes(src) + struct.pack("!H", len(llc_payload))
    return pad_frame(header + llc_payload, pad_to)


def linux_sll(
    payload: bytes,
    protocol: int = ETHERTYPE_IPV4,
    packet_type: int = 0,
    address: str | bytes = CLIENT_MAC,
    arphrd_type: int = 1,
) -> bytes:
    """Build a 16-byte Linux cooked-capture (SLL) header followed by ``payload``."""
    address_field = mac_bytes(address) + b"\x00\x00"
    return (
        struct.pack("!HHH", packet_type, arphrd_type, 6)
        + address_field
        + struct.pack("!H", protocol)
        + payload
    )


def dlt_null(payload: bytes, family: int = 2, byteorder: str = "little") -> bytes:
    """Prefix the 4-byte BSD loopback family, written in the capturing host's ``byteorder``.

    AF_INET is 2 everywhere, but AF_INET6 depends on the writer's OS (24, 28 or 30 on BSDs
    and macOS, 10 on Linux), so pass the value the tested reader expects.
    """
    return family.to_bytes(4, byteorder) + payload


LINKTYPE_LOOP = 108
LINKTYPE_LINUX_SLL2 = 276


def linux_sll2(
    payload: bytes,
    protocol: int = ETHERTYPE_IPV4,
    interface_index: int = 1,
    arphrd_type: int = 1,
    packet_type: int = 0,
    address: str | bytes = CLIENT_MAC,
) -> bytes:
    """Build a 20-byte Linux cooked-capture v2 (SLL2) header followed by ``payload``.

    Layout: protocol, reserved, interface index, ARPHRD type, packet type, address length,
    and an 8-byte address field (the 6-byte MAC padded with zeros).
    """
    header = struct.pack("!HHIHBB", protocol, 0, interface_index, arphrd_type, packet_type, 6)
    return header + mac_bytes(address) + b"\x00\x00" + payload


def dlt_loop(payload: bytes, family: int = 2) -> bytes:
    """Prefix the 4-byte address family of OpenBSD's DLT_LOOP, always in network byte order.

    AF_INET is 2; AF_INET6 is 24 (NetBSD, OpenBSD), 28 (FreeBSD) or 30 (macOS).
    """
    return family.to_bytes(4, "big") + payload


def ppp(payload: bytes, protocol: int = PPP_IPV4) -> bytes:
    """Prefix a bare 2-byte PPP protocol field (LINKTYPE_PPP without address/control)."""
    return struct.pack("!H", protocol) + payload


def ppp_serial(payload: bytes, protocol: int = PPP_IPV4) -> bytes:
    """Prefix the HDLC-like FF 03 address/control and the PPP protocol (LINKTYPE_PPP_HDLC)."""
    return b"\xff\x03" + struct.pack("!H", protocol) + payload


def cisco_hdlc(payload: bytes, protocol: int = ETHERTYPE_IPV4, address: int = 0x0F) -> bytes:
    """Prefix a Cisco HDLC header: address (0x0F unicast, 0x8F broadcast), 0x00, ethertype."""
    return struct.pack("!BBH", address, 0, protocol) + payload


def ieee80211_data(
    payload: bytes,
    addr1: str | bytes,
    addr2: str | bytes,
    addr3: str | bytes,
    to_ds: bool = True,
    from_ds: bool = False,
    qos: bool = True,
    sequence: int = 0,
) -> bytes:
    """Build an 802.11 data frame header (QoS data when ``qos``) followed by ``payload``.

    With ToDS only, addr1 is the BSSID, addr2 the source and addr3 the destination. With
    both DS bits the header also carries addr4 (set to addr2).
    """
    subtype = 8 if qos else 0
    ds_bits = 0
    if to_ds:
        ds_bits |= 0x01
    if from_ds:
        ds_bits |= 0x02
    frame_control = bytes([(subtype << 4) | (2 << 2), ds_bits])  # type 2 is data
    header = (
        frame_control
        + struct.pack("<H", 0)
        + mac_bytes(addr1)
        + mac_bytes(addr2)
        + mac_bytes(addr3)
        + struct.pack("<H", sequence << 4)
    )
    if to_ds and from_ds:
        header += mac_bytes(addr2)
    if qos:
        header += struct.pack("<H", 0)
    return header + payload


def radiotap(
    frame: bytes,
    flags: int = 0,
    rate: int = 2,
    channel_mhz: int = 2437,
    signal_dbm: int = -40,
    tsft: int = 0,
) -> bytes:
    """Prefix a radiotap header with TSFT, Flags, Rate, Channel and dBm antenna signal.

    The Flags byte is at offset 16 because TSFT comes first. With flags bit 0x10 (FCS at
    end) the little-endian CRC-32 of ``frame`` is appended; OR 0x40 to mark it bad.
    """
    present = 0b101111  # TSFT, Flags, Rate, Channel, dBm antenna signal
    fields = struct.pack("<QBBHHb", tsft, flags, rate, channel_mhz, 0x00A0, signal_dbm)
    header = struct.pack("<BBHI", 0, 0, 8 + len(fields), present) + fields
    if flags & 0x10:
        frame += struct.pack("<I", zlib.crc32(frame) & 0xFFFFFFFF)
    return header + frame


def radiotap_wifi(
    ip_packet: bytes,
    src: str | bytes = CLIENT_MAC,
    dst: str | bytes = SERVER_MAC,
    bssid: str | bytes = "02:00:00:00:00:aa",
    ethertype: int | None = None,
    flags: int = 0,
) -> bytes:
    """Build radiotap + 802.11 QoS data (ToDS) + LLC/SNAP + ``ip_packet``."""
    if ethertype is None:
        ethertype = ethertype_of(ip_packet)
    data = ieee80211_data(llc_snap(ip_packet, ethertype), bssid, src, dst)
    return radiotap(data, flags=flags)
