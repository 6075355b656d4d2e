"""Find the UDP payload in the bytes a plugin gets as ``packet.ip_packet``.

``ip_packet`` starts at the innermost IP header and runs to the end of the captured data, so it
may be cut short by the snapshot length or carry link-layer padding after the IP datagram. The
functions here never raise on malformed input: they return None when the bytes are not a UDP
datagram they can read.
"""

from __future__ import annotations

import struct

IPPROTO_UDP = 17
UDP_HEADER_LENGTH = 8

# IPv6 extension headers that may precede the UDP header, with how to size each one.
_IPV6_FRAGMENT = 44
_IPV6_AUTHENTICATION = 51
_IPV6_EIGHT_OCTET_HEADERS = frozenset((0, 43, 60))  # hop-by-hop, routing, destination options
_IPV6_MAX_EXTENSION_HEADERS = 8


def udp_payload(ip_packet: bytes) -> bytes | None:
    """Return the UDP payload of an IPv4 or IPv6 packet, or None when there is none."""
    if not ip_packet:
        return None
    version = ip_packet[0] >> 4
    if version == 4:
        return ipv4_udp_payload(ip_packet)
    if version == 6:
        return ipv6_udp_payload(ip_packet)
    return None


def ipv4_udp_payload(ip_packet: bytes) -> bytes | None:
    """Return the UDP payload of an IPv4 packet, or None when it is not a readable UDP datagram.

    Non-first fragments return None because they carry no UDP header. The datagram is trimmed
    to the IPv4 total length, which drops Ethernet padding.
    """
    if len(ip_packet) < 20 or ip_packet[0] >> 4 != 4:
        return None

    header_length = (ip_packet[0] & 0x0F) * 4
    total_length = struct.unpack_from("!H", ip_packet, 2)[0]
    flags_and_offset = struct.unpack_from("!H", ip_packet, 6)[0]
    if header_length < 20 or len(ip_packet) < header_length:
        return None
    if ip_packet[9] != IPPROTO_UDP or flags_and_offset & 0x1FFF:
        return None

    # A total length of 0 means the NIC did segmentation offload, so keep what was captured.
    if total_length:
        if total_length < header_length:
            return None
        ip_packet = ip_packet[:total_length]
    return _datagram_payload(ip_packet[header_length:])


def ipv6_udp_payload(ip_packet: bytes) -> bytes | None:
    """Return the UDP payload of an IPv6 packet, or None when it is not a readable UDP datagram.

    Up to eight extension headers are skipped. A non-first fragment returns None.
    """
    if len(ip_packet) < 40 or ip_packet[0] >> 4 != 6:
        return None

    payload_length = struct.unpack_from("!H", ip_packet, 4)[0]
    if payload_length:
        ip_packet = ip_packet[:40 + payload_length]
    next_header = ip_packet[6]
    offset = 40

    for _ in range(_IPV6_MAX_EXTENSION_HEADERS):
        if next_header == IPPROTO_UDP:
            return _datagram_payload(ip_packet[offset:])
        if len(ip_packet) < offset + 8:
            return None
        if next_header == _IPV6_FRAGMENT:
            if struct.unpack_from("!H", ip_packet, offset + 2)[0] & 0xFFF8:
                return None
            length = 8
        elif next_header == _IPV6_AUTHENTICATION:
            length = (ip_packet[offset + 1] + 2) * 4
        elif next_header in _IPV6_EIGHT_OCTET_HEADERS:
            length = (ip_packet[offset + 1] + 1) * 8
        else:
            return None
        next_header = ip_packet[offset]
        offset += length
    return None


def _datagram_payload(datagram: bytes) -> bytes | None:
    """Return the payload of a UDP datagram, trimmed to the UDP length when that is plausible.

    A length field larger than the captured bytes (a truncated capture) keeps what exists.
    """
    if len(datagram) < UDP_HEADER_LENGTH:
        return None
    length = struct.unpack_from("!H", datagram, 4)[0]
    if UDP_HEADER_LENGTH <= length <= len(datagram):
        datagram = datagram[:length]
    return datagram[UDP_HEADER_LENGTH:]
