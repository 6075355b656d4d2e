"""Classic pcap and pcapng writers, with per-record length overrides for broken files."""

from __future__ import annotations

import struct
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from .common import LINKTYPE_ETHERNET, pad4

_PCAP_MAGIC_MICRO = 0xA1B2C3D4
_PCAP_MAGIC_NANO = 0xA1B23C4D
_PCAPNG_SHB = 0x0A0D0D0A
_PCAPNG_IDB = 0x00000001
_PCAPNG_EPB = 0x00000006
_PCAPNG_BYTE_ORDER_MAGIC = 0x1A2B3C4D
_PCAPNG_OPT_IF_TSRESOL = 9


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


def make_records(
    frames: Iterable[bytes], start_ns: int = 1_700_000_000_000_000_000, step_ns: int = 1_000_000
) -> list[Record]:
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


def pcap_bytes(
    records: Iterable[Record],
    linktype: int = LINKTYPE_ETHERNET,
    byteorder: str = "little",
    resolution: str = "us",
    snaplen: int = 262144,
) -> bytes:
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


def _pcapng_block(order: str, block_type: int, body: bytes) -> bytes:
    body = pad4(body)
    total = len(body) + 12
    return struct.pack(order + "II", block_type, total) + body + struct.pack(order + "I", total)


def _pcapng_interface_block(order: str, interface: Interface) -> bytes:
    body = struct.pack(order + "HHI", interface.linktype, 0, interface.snaplen)
    if interface.write_tsresol:
        exponent = 6 if _units_per_second(interface.resolution) == 1_000_000 else 9
        body += struct.pack(order + "HH", _PCAPNG_OPT_IF_TSRESOL, 1) + pad4(bytes([exponent]))
        body += struct.pack(order + "HH", 0, 0)  # opt_endofopt
    return _pcapng_block(order, _PCAPNG_IDB, body)


def _pcapng_packet_block(order: str, record: Record, interface: Interface) -> bytes:
    ticks = record.time_ns * _units_per_second(interface.resolution) // 1_000_000_000
    caplen = len(record.data) if record.caplen is None else record.caplen
    wirelen = len(record.data) if record.wirelen is None else record.wirelen
    header = struct.pack(
        order + "IIIII", record.interface, ticks >> 32, ticks & 0xFFFFFFFF, caplen, wirelen
    )
    return _pcapng_block(order, _PCAPNG_EPB, header + record.data)


def pcapng_section(
    records: Iterable[Record],
    interfaces: Sequence[Interface] = (Interface(),),
    byteorder: str = "little",
) -> bytes:
    """Serialise one pcapng section: SHB, one IDB per interface, one EPB per record.

    Concatenate the results of several calls to get a file with several sections.
    """
    order = _order(byteorder)
    shb_body = struct.pack(order + "IHHq", _PCAPNG_BYTE_ORDER_MAGIC, 1, 0, -1)
    parts = [_pcapng_block(order, _PCAPNG_SHB, shb_body)]
    parts += [_pcapng_interface_block(order, interface) for interface in interfaces]
    for record in records:
        if not 0 <= record.interface < len(interfaces):
            raise ValueError(
                f"record interface {record.interface} is not defined "
                f"(section has {len(interfaces)} interfaces)"
            )
        parts.append(_pcapng_packet_block(order, record, interfaces[record.interface]))
    return b"".join(parts)


def write_pcapng(
    path,
    records: Iterable[Record],
    linktype: int = LINKTYPE_ETHERNET,
    resolution: str = "us",
    byteorder: str = "little",
) -> None:
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
