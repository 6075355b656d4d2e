"""Build packets and write pcap / pcapng captures for the tests (standard library only).

The module has four parts, in this order:

* capture writers: classic pcap (either byte order, microsecond or nanosecond magic, any link
  type, per-record caplen/wirelen override) and pcapng (SHB, IDB with if_tsresol, EPB; several
  sections by concatenating the bytes of several ``pcapng_section`` calls);
* frame builders: link layers, IPv4/IPv6 with extension headers, UDP/TCP/ICMP, tunnels;
* application payloads: DNS, HTTP, TLS, DHCP, mDNS;
* conversations: frames of a two-endpoint exchange with TCP sequence numbers kept for you.

Addresses are strings ("192.0.2.1", "2001:db8::1"). MAC addresses are strings
("02:00:00:00:00:01") or 6 bytes. Every builder returns ``bytes``. Transport checksums are
computed when the caller passes the IP addresses (``src``/``dst``), because they cover a
pseudo-header. The IPv6 pseudo-header uses ``dst`` as given, so with a routing header the
caller must pass the final destination.

Regenerate the sample capture with::

    python tests/pcapgen.py sample examples/sample.pcap
"""

from __future__ import annotations

import socket
import struct
import sys
import zlib
from dataclasses import dataclass
from typing import Callable, Iterable, NamedTuple, Sequence

# Link types (LINKTYPE_* values from the tcpdump.org list).
LINKTYPE_NULL = 0
LINKTYPE_ETHERNET = 1
LINKTYPE_PPP = 9
LINKTYPE_RAW = 101
LINKTYPE_PPP_HDLC = 50
LINKTYPE_C_HDLC = 104
LINKTYPE_LINUX_SLL = 113
LINKTYPE_IEEE802_11_RADIOTAP = 127
LINKTYPE_IPV4 = 228
LINKTYPE_IPV6 = 229

ETHERTYPE_IPV4 = 0x0800
ETHERTYPE_IPV6 = 0x86DD
ETHERTYPE_VLAN = 0x8100
ETHERTYPE_QINQ = 0x88A8
ETHERTYPE_MPLS = 0x8847
ETHERTYPE_PPPOE_SESSION = 0x8864

PPP_IPV4 = 0x0021
PPP_IPV6 = 0x0057

IPPROTO_HOPOPTS = 0
IPPROTO_ICMP = 1
IPPROTO_IPIP = 4
IPPROTO_TCP = 6
IPPROTO_UDP = 17
IPPROTO_IPV6 = 41
IPPROTO_ROUTING = 43
IPPROTO_FRAGMENT = 44
IPPROTO_ICMPV6 = 58
IPPROTO_NONE = 59
IPPROTO_DSTOPTS = 60

# IPv4 flags field values (the three bits above the fragment offset).
IP_DF = 0x2
IP_MF = 0x1

TCP_FIN, TCP_SYN, TCP_RST, TCP_PSH = 0x01, 0x02, 0x04, 0x08
TCP_ACK, TCP_URG, TCP_ECE, TCP_CWR = 0x10, 0x20, 0x40, 0x80
_TCP_FLAG_LETTERS = {"F": TCP_FIN, "S": TCP_SYN, "R": TCP_RST, "P": TCP_PSH,
                     "A": TCP_ACK, "U": TCP_URG, "E": TCP_ECE, "C": TCP_CWR}

CLIENT_MAC = "02:00:00:00:00:01"
SERVER_MAC = "02:00:00:00:00:02"

_PCAP_MAGIC_MICRO = 0xA1B2C3D4
_PCAP_MAGIC_NANO = 0xA1B23C4D
_PCAPNG_SHB = 0x0A0D0D0A
_PCAPNG_IDB = 0x00000001
_PCAPNG_EPB = 0x00000006
_PCAPNG_BYTE_ORDER_MAGIC = 0x1A2B3C4D
_PCAPNG_OPT_IF_TSRESOL = 9


# --------------------------------------------------------------------------------------------
# Capture writers
# --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Record:
    """One captured packet.

    ``caplen`` and ``wirelen`` override the header fields. The record always writes ``data``
    whole, so ``caplen != len(data)`` produces a record whose header lies about its size
    (a classic pcap reader then loses sync). ``interface`` is the pcapng interface index.
    """

    time_ns: int
    data: bytes
    wirelen: int | None = None
    caplen: int | None = None
    interface: int = 0


@dataclass(frozen=True)
class Interface:
    """A pcapng interface description; ``resolution`` is "us" or "ns"."""

    linktype: int = LINKTYPE_ETHERNET
    resolution: str = "us"
    snaplen: int = 262144
    write_tsresol: bool = True


def make_records(frames: Iterable[bytes], start_ns: int = 1_700_000_000_000_000_000,
                 step_ns: int = 1_000_000) -> list[Record]:
    """Wrap frames into records spaced ``step_ns`` apart from ``start_ns``."""
    return [Record(start_ns + i * step_ns, frame) for i, frame in enumerate(frames)]


def _order(byteorder: str) -> str:
    if byteorder not in ("little", "big"):
        raise ValueError(f"byteorder must be 'little' or 'big', got {byteorder!r}")
    return "<" if byteorder == "little" else ">"


def _units_per_second(resolution: str) -> int:
    if resolution not in ("us", "ns"):
        raise ValueError(f"resolution must be 'us' or 'ns', got {resolution!r}")
    return 1_000_000 if resolution == "us" else 1_000_000_000


def pcap_bytes(records: Iterable[Record], linktype: int = LINKTYPE_ETHERNET,
               byteorder: str = "little", resolution: str = "us",
               snaplen: int = 262144) -> bytes:
    """Serialise records as a classic pcap file (version 2.4).

    Microsecond timestamps are truncated from ``time_ns``, as libpcap does when it reads a
    nanosecond file at microsecond precision.
    """
    order = _order(byteorder)
    magic = _PCAP_MAGIC_NANO if resolution == "ns" else _PCAP_MAGIC_MICRO
    divisor = 1_000_000_000 // _units_per_second(resolution)
    parts = [struct.pack(order + "IHHiIII", magic, 2, 4, 0, 0, snaplen, linktype)]
    for record in records:
        seconds, fraction = divmod(record.time_ns, 1_000_000_000)
        caplen = len(record.data) if record.caplen is None else record.caplen
        wirelen = len(record.data) if record.wirelen is None else record.wirelen
        parts.append(struct.pack(order + "IIII", seconds, fraction // divisor, caplen, wirelen))
        parts.append(record.data)
    return b"".join(parts)


def write_pcap(path, records: Iterable[Record], **options) -> None:
    """Write a classic pcap file; ``options`` are those of ``pcap_bytes``."""
    with open(path, "wb") as handle:
        handle.write(pcap_bytes(records, **options))


def _pad4(data: bytes) -> bytes:
    return data + b"\x00" * (-len(data) % 4)


def _pcapng_block(order: str, block_type: int, body: bytes) -> bytes:
    body = _pad4(body)
    total = len(body) + 12
    return struct.pack(order + "II", block_type, total) + body + struct.pack(order + "I", total)


def _pcapng_interface_block(order: str, interface: Interface) -> bytes:
    body = struct.pack(order + "HHI", interface.linktype, 0, interface.snaplen)
    if interface.write_tsresol:
        exponent = 6 if _units_per_second(interface.resolution) == 1_000_000 else 9
        body += struct.pack(order + "HH", _PCAPNG_OPT_IF_TSRESOL, 1) + _pad4(bytes([exponent]))
        body += struct.pack(order + "HH", 0, 0)  # opt_endofopt
    return _pcapng_block(order, _PCAPNG_IDB, body)


def _pcapng_packet_block(order: str, record: Record, interface: Interface) -> bytes:
    ticks = record.time_ns * _units_per_second(interface.resolution) // 1_000_000_000
    caplen = len(record.data) if record.caplen is None else record.caplen
    wirelen = len(record.data) if record.wirelen is None else record.wirelen
    header = struct.pack(order + "IIIII", record.interface, ticks >> 32, ticks & 0xFFFFFFFF,
                         caplen, wirelen)
    return _pcapng_block(order, _PCAPNG_EPB, header + record.data)


def pcapng_section(records: Iterable[Record], interfaces: Sequence[Interface] = (Interface(),),
                   byteorder: str = "little") -> bytes:
    """Serialise one pcapng section: SHB, one IDB per interface, one EPB per record.

    Concatenate the results of several calls to get a file with several sections.
    """
    order = _order(byteorder)
    shb_body = struct.pack(order + "IHHq", _PCAPNG_BYTE_ORDER_MAGIC, 1, 0, -1)
    parts = [_pcapng_block(order, _PCAPNG_SHB, shb_body)]
    parts += [_pcapng_interface_block(order, interface) for interface in interfaces]
    for record in records:
        if not 0 <= record.interface < len(interfaces):
            raise ValueError(f"record interface {record.interface} is not defined "
                             f"(section has {len(interfaces)} interfaces)")
        parts.append(_pcapng_packet_block(order, record, interfaces[record.interface]))
    return b"".join(parts)


def write_pcapng(path, records: Iterable[Record], linktype: int = LINKTYPE_ETHERNET,
                 resolution: str = "us", byteorder: str = "little") -> None:
    """Write a pcapng file with one section and one interface."""
    interface = Interface(linktype=linktype, resolution=resolution)
    with open(path, "wb") as handle:
        handle.write(pcapng_section(records, (interface,), byteorder))


def truncate_file(path, nbytes: int) -> None:
    """Cut a file to its first ``nbytes`` bytes; a negative value removes that many from the end."""
    with open(path, "r+b") as handle:
        if nbytes < 0:
            handle.seek(0, 2)
            nbytes = max(0, handle.tell() + nbytes)
        handle.truncate(nbytes)


# --------------------------------------------------------------------------------------------
# Link layer
# --------------------------------------------------------------------------------------------

def mac_bytes(mac: str | bytes) -> bytes:
    """Convert "aa:bb:cc:dd:ee:ff" (or 6 bytes) to 6 bytes."""
    if isinstance(mac, bytes):
        if len(mac) != 6:
            raise ValueError(f"a MAC address has 6 bytes, got {len(mac)}")
        return mac
    return bytes(int(part, 16) for part in mac.split(":"))


def _pad_frame(frame: bytes, pad_to: int) -> bytes:
    return frame + b"\x00" * max(0, pad_to - len(frame))


def ethernet(payload: bytes, src: str | bytes = CLIENT_MAC, dst: str | bytes = SERVER_MAC,
             ethertype: int = ETHERTYPE_IPV4, vlans: Sequence[int | tuple[int, int]] = (),
             pad_to: int = 0) -> bytes:
    """Build an Ethernet II frame (no FCS).

    ``vlans`` lists tags from outermost to innermost: a VLAN id (TPID 0x8100) or a
    ``(tpid, tci)`` pair for 802.1ad or priority bits. ``pad_to=60`` pads like a real NIC.
    """
    header = mac_bytes(dst) + mac_bytes(src)
    for tag in vlans:
        tpid, tci = tag if isinstance(tag, tuple) else (ETHERTYPE_VLAN, tag)
        header += struct.pack("!HH", tpid, tci)
    return _pad_frame(header + struct.pack("!H", ethertype) + payload, pad_to)


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


def ethernet_8023(llc_payload: bytes, src: str | bytes = CLIENT_MAC,
                  dst: str | bytes = "01:80:c2:00:00:00", pad_to: int = 0) -> bytes:
    """Build an IEEE 802.3 frame whose type field is the LLC payload length."""
    header = mac_bytes(dst) + mac_bytes(src) + struct.pack("!H", len(llc_payload))
    return _pad_frame(header + llc_payload, pad_to)


def linux_sll(payload: bytes, protocol: int = ETHERTYPE_IPV4, packet_type: int = 0,
              address: str | bytes = CLIENT_MAC, arphrd_type: int = 1) -> bytes:
    """Build a 16-byte Linux cooked-capture (SLL) header followed by ``payload``."""
    address_field = mac_bytes(address) + b"\x00\x00"
    return struct.pack("!HHH", packet_type, arphrd_type, 6) + address_field + \
        struct.pack("!H", protocol) + payload


def dlt_null(payload: bytes, family: int = socket.AF_INET, byteorder: str = "little") -> bytes:
    """Prefix the 4-byte BSD loopback family, written in the capturing host's ``byteorder``."""
    return family.to_bytes(4, byteorder) + payload


def ppp(payload: bytes, protocol: int = PPP_IPV4) -> bytes:
    """Prefix a bare 2-byte PPP protocol field (LINKTYPE_PPP without address/control)."""
    return struct.pack("!H", protocol) + payload


def ppp_serial(payload: bytes, protocol: int = PPP_IPV4) -> bytes:
    """Prefix the HDLC-like FF 03 address/control and the PPP protocol (LINKTYPE_PPP_HDLC)."""
    return b"\xff\x03" + struct.pack("!H", protocol) + payload


def cisco_hdlc(payload: bytes, protocol: int = ETHERTYPE_IPV4, address: int = 0x0F) -> bytes:
    """Prefix a Cisco HDLC header: address (0x0F unicast, 0x8F broadcast), 0x00, ethertype."""
    return struct.pack("!BBH", address, 0, protocol) + payload


def ieee80211_data(payload: bytes, addr1: str | bytes, addr2: str | bytes,
                   addr3: str | bytes, to_ds: bool = True, from_ds: bool = False,
                   qos: bool = True, sequence: int = 0) -> bytes:
    """Build an 802.11 data frame header (QoS data when ``qos``) followed by ``payload``.

    With ToDS only, addr1 is the BSSID, addr2 the source and addr3 the destination. With
    both DS bits the header also carries addr4 (set to addr2).
    """
    subtype = 8 if qos else 0
    frame_control = bytes([(subtype << 4) | (2 << 2), (1 if to_ds else 0) | (2 if from_ds else 0)])
    header = frame_control + struct.pack("<H", 0) + mac_bytes(addr1) + mac_bytes(addr2) + \
        mac_bytes(addr3) + struct.pack("<H", sequence << 4)
    if to_ds and from_ds:
        header += mac_bytes(addr2)
    if qos:
        header += struct.pack("<H", 0)
    return header + payload


def radiotap(frame: bytes, flags: int = 0, rate: int = 2, channel_mhz: int = 2437,
             signal_dbm: int = -40, tsft: int = 0) -> bytes:
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


def radiotap_wifi(ip_packet: bytes, src: str | bytes = CLIENT_MAC,
                  dst: str | bytes = SERVER_MAC, bssid: str | bytes = "02:00:00:00:00:aa",
                  ethertype: int | None = None, flags: int = 0) -> bytes:
    """Build radiotap + 802.11 QoS data (ToDS) + LLC/SNAP + ``ip_packet``."""
    if ethertype is None:
        ethertype = _ethertype_of(ip_packet)
    data = ieee80211_data(llc_snap(ip_packet, ethertype), bssid, src, dst)
    return radiotap(data, flags=flags)


def _ethertype_of(ip_packet: bytes) -> int:
    return ETHERTYPE_IPV6 if ip_packet[0] >> 4 == 6 else ETHERTYPE_IPV4


# --------------------------------------------------------------------------------------------
# IP layer
# --------------------------------------------------------------------------------------------

def is_ipv6(address: str) -> bool:
    return ":" in address


def internet_checksum(data: bytes) -> int:
    """Return the RFC 1071 ones' complement checksum of ``data``."""
    if len(data) % 2:
        data += b"\x00"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def ipv4(payload: bytes, src: str, dst: str, proto: int, ttl: int = 64, ident: int = 0,
         flags: int = 0, fragment_offset: int = 0, options: bytes = b"", tos: int = 0,
         total_length: int | None = None, checksum: int | None = None) -> bytes:
    """Build an IPv4 header (with a correct checksum unless given) followed by ``payload``.

    ``flags`` is IP_DF/IP_MF, ``fragment_offset`` is in bytes (a multiple of 8), ``options``
    is padded to a multiple of 4 bytes and sets the IHL. ``total_length`` overrides the
    header field only; the payload is written whole.
    """
    if fragment_offset % 8:
        raise ValueError(f"fragment_offset must be a multiple of 8 bytes, got {fragment_offset}")
    options = _pad4(options)
    header_length = 20 + len(options)
    if total_length is None:
        total_length = header_length + len(payload)
    header = struct.pack("!BBHHHBBH4s4s", 0x40 | header_length // 4, tos, total_length, ident,
                         (flags << 13) | (fragment_offset // 8), ttl, proto, 0,
                         socket.inet_pton(socket.AF_INET, src),
                         socket.inet_pton(socket.AF_INET, dst)) + options
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


def routing_header(addresses: Sequence[str] = (), routing_type: int = 0,
                   segments_left: int = 0) -> ExtensionHeader:
    """Routing header listing ``addresses`` (type 0 layout: 4 reserved bytes, then addresses)."""
    packed = b"".join(socket.inet_pton(socket.AF_INET6, a) for a in addresses)
    body = bytes([2 * len(addresses), routing_type, segments_left]) + b"\x00" * 4 + packed
    return ExtensionHeader(IPPROTO_ROUTING, body)


def fragment_header(offset: int = 0, more: bool = False, ident: int = 1) -> ExtensionHeader:
    """Fragment header; ``offset`` is in bytes (a multiple of 8)."""
    if offset % 8:
        raise ValueError(f"fragment offset must be a multiple of 8 bytes, got {offset}")
    return ExtensionHeader(IPPROTO_FRAGMENT,
                           struct.pack("!BHI", 0, offset | (1 if more else 0), ident))


def ipv6(payload: bytes, src: str, dst: str, next_header: int, hop_limit: int = 64,
         extension_headers: Sequence[ExtensionHeader] = (), traffic_class: int = 0,
         flow_label: int = 0, payload_length: int | None = None) -> bytes:
    """Build an IPv6 header, the extension-header chain in order, then ``payload``.

    ``next_header`` is the protocol of ``payload``; the chain's next-header fields are
    filled in. ``payload_length`` overrides the header field only.
    """
    kinds = [header.kind for header in extension_headers] + [next_header]
    chain = b"".join(bytes([kinds[i + 1]]) + header.body
                     for i, header in enumerate(extension_headers))
    body = chain + payload
    if payload_length is None:
        payload_length = len(body)
    first_word = (6 << 28) | (traffic_class << 20) | flow_label
    return struct.pack("!IHBB", first_word, payload_length, kinds[0], hop_limit) + \
        socket.inet_pton(socket.AF_INET6, src) + socket.inet_pton(socket.AF_INET6, dst) + body


def ip_packet(payload: bytes, src: str, dst: str, proto: int, **options) -> bytes:
    """Build IPv4 or IPv6 according to the address family; ``options`` go to that builder."""
    if is_ipv6(src):
        return ipv6(payload, src, dst, proto, **options)
    return ipv4(payload, src, dst, proto, **options)


def ip_in_ip(inner: bytes, src: str, dst: str, **options) -> bytes:
    """Wrap an IPv4 or IPv6 packet in an outer IPv4/IPv6 header (protocol 4 or 41)."""
    proto = IPPROTO_IPV6 if inner[0] >> 4 == 6 else IPPROTO_IPIP
    return ip_packet(inner, src, dst, proto, **options)


# --------------------------------------------------------------------------------------------
# Transport layer
# --------------------------------------------------------------------------------------------

def _pseudo_header(src: str, dst: str, proto: int, length: int) -> bytes:
    if is_ipv6(src):
        return socket.inet_pton(socket.AF_INET6, src) + socket.inet_pton(socket.AF_INET6, dst) + \
            struct.pack("!IxxxB", length, proto)
    return socket.inet_pton(socket.AF_INET, src) + socket.inet_pton(socket.AF_INET, dst) + \
        struct.pack("!xBH", proto, length)


def _with_checksum(segment: bytes, offset: int, src: str | None, dst: str | None,
                   proto: int, zero_means_none: bool = False) -> bytes:
    if src is None or dst is None:
        return segment
    checksum = internet_checksum(_pseudo_header(src, dst, proto, len(segment)) + segment)
    if zero_means_none and checksum == 0:
        checksum = 0xFFFF  # RFC 768: a computed zero is sent as all ones
    return segment[:offset] + struct.pack("!H", checksum) + segment[offset + 2:]


def udp(payload: bytes, sport: int, dport: int, src: str | None = None,
        dst: str | None = None, length: int | None = None) -> bytes:
    """Build a UDP header and payload; the checksum is 0 unless ``src`` and ``dst`` are given."""
    if length is None:
        length = 8 + len(payload)
    segment = struct.pack("!HHHH", sport, dport, length, 0) + payload
    return _with_checksum(segment, 6, src, dst, IPPROTO_UDP, zero_means_none=True)


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


def tcp_options(mss: int | None = 1460, window_scale: int | None = 7,
                sack_permitted: bool = True,
                timestamps: tuple[int, int] | None = None) -> bytes:
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


def tcp(payload: bytes, sport: int, dport: int, src: str | None = None,
        dst: str | None = None, seq: int = 0, ack: int = 0, flags: int | str = "S",
        window: int = 64240, options: bytes = b"", urgent: int = 0) -> bytes:
    """Build a TCP header and payload; the checksum is 0 unless ``src`` and ``dst`` are given."""
    options = options + b"\x00" * (-len(options) % 4)
    data_offset = (20 + len(options)) // 4
    segment = struct.pack("!HHIIBBHHH", sport, dport, seq & 0xFFFFFFFF, ack & 0xFFFFFFFF,
                          data_offset << 4, tcp_flags(flags), window, 0, urgent)
    return _with_checksum(segment + options + payload, 16, src, dst, IPPROTO_TCP)


def icmp_echo(ident: int = 1, sequence: int = 1, payload: bytes = b"abcdefgh" * 4,
              reply: bool = False) -> bytes:
    """Build an ICMPv4 echo request (type 8) or reply (type 0) with its checksum."""
    message = struct.pack("!BBHHH", 0 if reply else 8, 0, 0, ident, sequence) + payload
    return message[:2] + struct.pack("!H", internet_checksum(message)) + message[4:]


def icmpv6_echo(src: str, dst: str, ident: int = 1, sequence: int = 1,
                payload: bytes = b"abcdefgh" * 4, reply: bool = False) -> bytes:
    """Build an ICMPv6 echo request (128) or reply (129); the checksum covers the pseudo-header."""
    message = struct.pack("!BBHHH", 129 if reply else 128, 0, 0, ident, sequence) + payload
    return _with_checksum(message, 2, src, dst, IPPROTO_ICMPV6)


def udp_packet(src: str, dst: str, sport: int, dport: int, payload: bytes = b"",
               **ip_options) -> bytes:
    """Build an IPv4/IPv6 packet carrying a checksummed UDP datagram."""
    return ip_packet(udp(payload, sport, dport, src, dst), src, dst, IPPROTO_UDP, **ip_options)


def tcp_packet(src: str, dst: str, sport: int, dport: int, payload: bytes = b"",
               flags: int | str = "PA", seq: int = 0, ack: int = 0, options: bytes = b"",
               window: int = 64240, **ip_options) -> bytes:
    """Build an IPv4/IPv6 packet carrying a checksummed TCP segment."""
    segment = tcp(payload, sport, dport, src, dst, seq=seq, ack=ack, flags=flags,
                  window=window, options=options)
    return ip_packet(segment, src, dst, IPPROTO_TCP, **ip_options)


def icmp_echo_packet(src: str, dst: str, ident: int = 1, sequence: int = 1,
                     reply: bool = False, payload: bytes = b"abcdefgh" * 4) -> bytes:
    """Build an IPv4 ICMP or IPv6 ICMPv6 echo packet according to the address family."""
    if is_ipv6(src):
        message = icmpv6_echo(src, dst, ident, sequence, payload, reply)
        return ipv6(message, src, dst, IPPROTO_ICMPV6)
    return ipv4(icmp_echo(ident, sequence, payload, reply), src, dst, IPPROTO_ICMP)


# --------------------------------------------------------------------------------------------
# Tunnels carried over UDP
# --------------------------------------------------------------------------------------------

GTP_U_PORT = 2152
TZSP_PORT = 37008
CAPWAP_DATA_PORT = 5247


def gtp_u(inner: bytes, teid: int = 1, sequence: int | None = None,
          npdu: int | None = None, extension: tuple[int, bytes] | None = None) -> bytes:
    """Build a GTPv1-U T-PDU header (3GPP TS 29.281) around ``inner``.

    Any of ``sequence``, ``npdu`` or ``extension`` sets its flag (S, PN, E) and adds the
    4 optional bytes. ``extension`` is ``(type, content)``, e.g. ``(0x85, b"\\x00\\x01")``
    for a PDU session container; the content is padded so the header is a multiple of 4.
    """
    flags = 0x30  # version 1, protocol type GTP
    optional = b""
    extensions = b""
    if sequence is not None or npdu is not None or extension is not None:
        flags |= (0x02 if sequence is not None else 0) | (0x01 if npdu is not None else 0)
        next_type = 0
        if extension is not None:
            flags |= 0x04
            next_type, content = extension
            content += b"\x00" * (-(len(content) + 2) % 4)
            extensions = bytes([(len(content) + 2) // 4]) + content + b"\x00"
        optional = struct.pack("!HBB", sequence or 0, npdu or 0, next_type)
    body = optional + extensions + inner
    return struct.pack("!BBHI", flags, 0xFF, len(body), teid) + body


def tzsp(frame: bytes, tags: Sequence[tuple[int, bytes]] = ((10, b"\xd8"),),
         version: int = 1, packet_type: int = 0, encapsulation: int = 1) -> bytes:
    """Build a TZSP header, ``tags`` as (type, value) pairs, the END tag, then ``frame``.

    The default tag is RSSI (type 10). Pass ``tags=()`` for only the 1-byte END tag.
    ``encapsulation`` 1 is Ethernet.
    """
    encoded = b"".join(bytes([kind, len(value)]) + value for kind, value in tags)
    return struct.pack("!BBH", version, packet_type, encapsulation) + encoded + b"\x01" + frame


def capwap_data(frame: bytes, radio_id: int = 1, wireless_binding: int = 1,
                native: bool = True) -> bytes:
    """Build an 8-byte CAPWAP data header (RFC 5415, HLEN 2) followed by ``frame``.

    ``native`` sets the T bit: the payload is a native 802.11 frame.
    """
    bits = (2 << 19) | (radio_id << 14) | (wireless_binding << 9) | ((1 if native else 0) << 8)
    return b"\x00" + bits.to_bytes(3, "big") + struct.pack("!HH", 0, 0) + frame


def capwap_wifi(ip_packet_bytes: bytes, src: str | bytes = CLIENT_MAC,
                dst: str | bytes = SERVER_MAC,
                bssid: str | bytes = "02:00:00:00:00:aa") -> bytes:
    """Build CAPWAP + 24-byte 802.11 data header (no QoS) + LLC/SNAP + an IP packet."""
    wifi = ieee80211_data(llc_snap(ip_packet_bytes, _ethertype_of(ip_packet_bytes)),
                          bssid, src, dst, qos=False)
    return capwap_data(wifi)


# --------------------------------------------------------------------------------------------
# Application payloads
# --------------------------------------------------------------------------------------------

def dns_name(name: str) -> bytes:
    """Encode a domain name as DNS labels (no compression)."""
    labels = [label for label in name.rstrip(".").split(".") if label]
    return b"".join(bytes([len(label)]) + label.encode("ascii") for label in labels) + b"\x00"


def dns_query(name: str, ident: int = 0x1234, qtype: int = 1) -> bytes:
    """Build a DNS query with recursion desired for ``name`` (type A by default)."""
    return struct.pack("!HHHHHH", ident, 0x0100, 1, 0, 0, 0) + dns_name(name) + \
        struct.pack("!HH", qtype, 1)


def dns_response(name: str, addresses: Sequence[str], ident: int = 0x1234,
                 ttl: int = 300) -> bytes:
    """Build a DNS response to an A query with one A record per address."""
    header = struct.pack("!HHHHHH", ident, 0x8180, 1, len(addresses), 0, 0)
    question = dns_name(name) + struct.pack("!HH", 1, 1)
    answers = b"".join(struct.pack("!HHHIH", 0xC00C, 1, 1, ttl, 4) +
                       socket.inet_pton(socket.AF_INET, address) for address in addresses)
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
    return (f"GET {path} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: {user_agent}\r\n"
            f"Accept: */*\r\n\r\n").encode("ascii")


def http_response(body: bytes = b"<html><body>ok</body></html>\n",
                  content_type: str = "text/html", status: str = "200 OK") -> bytes:
    """Build an HTTP/1.1 response with Content-Type and Content-Length headers."""
    head = (f"HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\n"
            f"Content-Length: {len(body)}\r\n\r\n").encode("ascii")
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


def tls_client_hello(server_name: str, random: bytes = bytes(range(32)),
                     alpn: Sequence[str] = ("h2", "http/1.1")) -> bytes:
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
        + _tls_extension(13, _u16_prefixed(struct.pack(f"!{len(signature_schemes)}H",
                                                       *signature_schemes)))
        + _alpn_extension(alpn)
    )
    body = b"\x03\x03" + random + b"\x00" + \
        _u16_prefixed(struct.pack(f"!{len(ciphers)}H", *ciphers)) + b"\x01\x00" + \
        _u16_prefixed(extensions)
    return _tls_handshake_record(1, body)


def tls_server_hello(random: bytes = bytes(range(32, 64)), cipher_suite: int = 0xC02F,
                     alpn: str | None = "http/1.1") -> bytes:
    """Build a TLS 1.2 ServerHello record followed by a ServerHelloDone record."""
    extensions = _tls_extension(0xFF01, b"\x00") + _tls_extension(11, b"\x01\x00")
    if alpn:
        extensions += _alpn_extension([alpn])
    body = b"\x03\x03" + random + b"\x00" + struct.pack("!HB", cipher_suite, 0) + \
        _u16_prefixed(extensions)
    return _tls_handshake_record(2, body, 0x0303) + _tls_handshake_record(14, b"", 0x0303)


def dhcp_message(message_type: int, client_mac: str | bytes = CLIENT_MAC,
                 xid: int = 0x3903F326, hostname: str = "pcapgen-host",
                 requested_ip: str = "192.0.2.77") -> bytes:
    """Build a BOOTP/DHCP client message with options 53, 55, 12, 50, padded to 300 bytes.

    ``message_type`` is 1 for DISCOVER and 3 for REQUEST.
    """
    chaddr = mac_bytes(client_mac) + b"\x00" * 10
    fixed = struct.pack("!BBBBIHH4s4s4s4s16s64s128s", 1, 1, 6, 0, xid, 0, 0x8000,
                        b"\x00" * 4, b"\x00" * 4, b"\x00" * 4, b"\x00" * 4, chaddr,
                        b"", b"")
    name = hostname.encode("ascii")
    options = (b"\x63\x82\x53\x63"
               + bytes([53, 1, message_type])
               + bytes([55, 6, 1, 3, 6, 15, 28, 51])
               + bytes([12, len(name)]) + name
               + bytes([50, 4]) + socket.inet_pton(socket.AF_INET, requested_ip)
               + b"\xff")
    return _pad_frame(fixed + options, 300)


def dhcp_discover(**options) -> bytes:
    """Build a DHCPDISCOVER; ``options`` are those of ``dhcp_message``."""
    return dhcp_message(1, **options)


def dhcp_request(**options) -> bytes:
    """Build a DHCPREQUEST; ``options`` are those of ``dhcp_message``."""
    return dhcp_message(3, **options)


# --------------------------------------------------------------------------------------------
# Conversations
# --------------------------------------------------------------------------------------------

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
    return [Step(">", b"", "S", offset), Step("<", b"", "SA", offset + rtt / 2),
            Step(">", b"", "A", offset + rtt)]


def tcp_teardown(offset: float, rtt: float = 0.001, initiator: str = ">") -> list[Step]:
    """Return FIN-ACK / ACK / FIN-ACK / ACK steps, first FIN sent by ``initiator``."""
    other = "<" if initiator == ">" else ">"
    return [Step(initiator, b"", "FA", offset), Step(other, b"", "A", offset + rtt / 2),
            Step(other, b"", "FA", offset + rtt / 2), Step(initiator, b"", "A", offset + rtt)]


def _default_link(client: Endpoint, server: Endpoint) -> Callable[[bytes, bool], bytes]:
    def frame(packet: bytes, from_client: bool) -> bytes:
        source, target = (client, server) if from_client else (server, client)
        return ethernet(packet, src=source.mac, dst=target.mac, ethertype=_ethertype_of(packet))
    return frame


def conversation(client: Endpoint, server: Endpoint, steps: Iterable[Step | tuple],
                 protocol: str = "tcp", start_ns: int = 1_700_000_000_000_000_000,
                 client_isn: int = 1000, server_isn: int = 5000,
                 link: Callable[[bytes, bool], bytes] | None = None,
                 ip_options: dict | None = None) -> list[Record]:
    """Build the records of a TCP or UDP exchange between two endpoints.

    For TCP each side's sequence number starts at its ISN and grows by the payload length,
    plus 1 for SYN and FIN; the ACK field (when the A flag is set) is the other side's next
    sequence number, so a handshake and teardown are consistent. A step without an offset
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
            packet = udp_packet(source.ip, target.ip, source.port, target.port, step.payload,
                                **(ip_options or {}))
        else:
            packet = _conversation_segment(step, source, target, next_seq, ip_options or {})
        records.append(Record(start_ns + round(offset * 1e9), link(packet, step.direction == ">")))
    return records


def _conversation_segment(step: Step, source: Endpoint, target: Endpoint,
                          next_seq: dict[str, int], ip_options: dict) -> bytes:
    flags = tcp_flags(step.flags)
    other = "<" if step.direction == ">" else ">"
    ack = next_seq[other] if flags & TCP_ACK else 0
    options = tcp_options() if flags & TCP_SYN else b""
    # tcp_options() offers window scale 7, so later segments advertise 502 << 7 = 64256 bytes.
    window = 64240 if flags & TCP_SYN else 502
    packet = tcp_packet(source.ip, target.ip, source.port, target.port, step.payload, flags,
                        seq=next_seq[step.direction], ack=ack, options=options, window=window,
                        **ip_options)
    next_seq[step.direction] += len(step.payload) + (1 if flags & TCP_SYN else 0) + \
        (1 if flags & TCP_FIN else 0)
    return packet


# --------------------------------------------------------------------------------------------
# Sample capture
# --------------------------------------------------------------------------------------------

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

    records = conversation(client, dns_server, [
        Step(">", dns_query("www.example.com"), "", 0.0),
        Step("<", dns_response("www.example.com", ["203.0.113.80"]), "", 0.012),
    ], protocol="udp", start_ns=SAMPLE_START_NS)
    records += conversation(Endpoint(client.ip, 50001, client.mac), web_server, [
        *tcp_handshake(0.020, 0.010),
        Step(">", http_get("www.example.com", "/index.html"), "PA", 0.031),
        Step("<", http_response(), "PA", 0.045),
        Step(">", b"", "A", 0.046),
        *tcp_teardown(0.050, 0.010),
    ], start_ns=SAMPLE_START_NS)
    records += conversation(Endpoint(client.ip, 50002, client.mac), tls_server, [
        *tcp_handshake(0.100, 0.010),
        Step(">", tls_client_hello("www.example.com"), "PA", 0.111),
        Step("<", tls_server_hello(), "PA", 0.125),
        Step(">", b"", "A", 0.126),
    ], start_ns=SAMPLE_START_NS)
    records += conversation(client, udp_server, [
        Step(">", b"sample datagram %d" % i, "", 0.200 + 0.005 * i) for i in range(3)
    ] + [Step("<", b"sample reply", "", 0.220)], protocol="udp", start_ns=SAMPLE_START_NS)
    records += conversation(client6, udp_server6, [
        Step(">", b"sample datagram v6", "", 0.230),
    ], protocol="udp", start_ns=SAMPLE_START_NS)
    for index, reply in enumerate((False, True)):
        source, target = ("192.0.2.10", "203.0.113.1") if not reply else \
            ("203.0.113.1", "192.0.2.10")
        packet = icmp_echo_packet(source, target, ident=0x77, sequence=1, reply=reply)
        macs = (CLIENT_MAC, SERVER_MAC) if not reply else (SERVER_MAC, CLIENT_MAC)
        records.append(Record(SAMPLE_START_NS + 300_000_000 + index * 2_000_000,
                              ethernet(packet, src=macs[0], dst=macs[1])))
    return sorted(records, key=lambda record: record.time_ns)


def write_sample(path) -> None:
    """Write the sample capture (classic pcap, little-endian, microseconds, Ethernet)."""
    write_pcap(path, sample_records())


def main(argv: Sequence[str]) -> int:
    if len(argv) != 3 or argv[1] != "sample":
        print("usage: python tests/pcapgen.py sample OUTPUT.pcap", file=sys.stderr)
        return 2
    write_sample(argv[2])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
