#!/usr/bin/env python3
"""Write a capture in which a large number of short flows are active at the same time.

Flow i is one request from 10.0.0.0 + i (source port 1024 + i % 60000) to 198.18.0.1 and one
reply back. Three flows in four are UDP to port 5000 with a 16-byte payload. Every fourth is
TCP to port 80: a SYN and a SYN-ACK, each with an MSS option. So every frame is 58 bytes, and
the records are laid out as one numpy array. All requests come first, then all
replies, so every flow is still active when the last request is read. Packets are
INTERVAL_US microseconds apart, so an idle_timeout shorter than the request phase lets early
flows expire before the replies arrive.

Output is a little-endian, microsecond, Ethernet pcap. Writing two million packets takes a
few seconds. Source addresses are unique up to 2**24 flows.

    make_flows_pcap.py OUT [--flows 1000000]
"""

import argparse
import sys

import numpy as np

FRAME_SIZE = 58
RECORD_SIZE = 16 + FRAME_SIZE
INTERVAL_US = 10
CLIENT_BASE = 0x0A000000  # 10.0.0.0
SERVER_ADDRESS = 0xC6120001  # 198.18.0.1, a benchmarking address (RFC 2544)
CLIENT_MAC = bytes.fromhex("020000000001")
SERVER_MAC = bytes.fromhex("020000000002")


def pcap_file_header():
    """Return the 24-byte pcap global header (version 2.4, snaplen 65535, Ethernet)."""
    magic = np.array([0xA1B2C3D4], dtype="<u4").tobytes()
    versions = np.array([2, 4], dtype="<u2").tobytes()
    rest = np.array([0, 0, 65535, 1], dtype="<u4").tobytes()
    return magic + versions + rest


def put_u16(records, offset, values):
    """Store big-endian 16-bit values at a byte offset of every record."""
    values = np.asarray(values, dtype=np.uint32)
    records[:, offset] = (values >> 8) & 0xFF
    records[:, offset + 1] = values & 0xFF


def put_u32(records, offset, values):
    """Store big-endian 32-bit values at a byte offset of every record."""
    values = np.asarray(values, dtype=np.uint64)
    for index in range(4):
        records[:, offset + index] = (values >> (24 - 8 * index)) & 0xFF


def fill_ipv4_checksum(records, ip_offset):
    """Compute the IPv4 header checksum (RFC 791) of every record in place."""
    header = records[:, ip_offset : ip_offset + 20].astype(np.uint32)
    words = (header[:, 0::2] << 8) | header[:, 1::2]
    total = words.sum(axis=1)
    total = (total & 0xFFFF) + (total >> 16)
    total = (total & 0xFFFF) + (total >> 16)
    put_u16(records, ip_offset + 10, (~total) & 0xFFFF)


def build_records(start, count, flows, reply):
    """Return a (count, RECORD_SIZE) uint8 array with the request or reply of flows start.."""
    records = np.zeros((count, RECORD_SIZE), dtype=np.uint8)
    index = np.arange(start, start + count, dtype=np.uint64)
    is_tcp = (index % 4) == 3
    timestamp_us = (index + (flows if reply else 0)) * INTERVAL_US
    record_header = np.stack(
        [
            timestamp_us // 1_000_000,
            timestamp_us % 1_000_000,
            np.full(count, FRAME_SIZE, dtype=np.uint64),
            np.full(count, FRAME_SIZE, dtype=np.uint64),
        ],
        axis=1,
    ).astype("<u4")
    records[:, 0:16] = record_header.view(np.uint8).reshape(count, 16)

    ethernet = 16
    destination_mac, source_mac = (CLIENT_MAC, SERVER_MAC) if reply else (SERVER_MAC, CLIENT_MAC)
    records[:, ethernet : ethernet + 6] = np.frombuffer(destination_mac, np.uint8)
    records[:, ethernet + 6 : ethernet + 12] = np.frombuffer(source_mac, np.uint8)
    put_u16(records, ethernet + 12, 0x0800)

    ip = ethernet + 14
    client = CLIENT_BASE + index
    source, destination = (SERVER_ADDRESS, client) if reply else (client, SERVER_ADDRESS)
    records[:, ip] = 0x45
    put_u16(records, ip + 2, FRAME_SIZE - 14)
    put_u16(records, ip + 4, index & 0xFFFF)
    records[:, ip + 8] = 64
    records[:, ip + 9] = np.where(is_tcp, 6, 17)
    put_u32(records, ip + 12, np.broadcast_to(source, (count,)))
    put_u32(records, ip + 16, np.broadcast_to(destination, (count,)))
    fill_ipv4_checksum(records, ip)

    transport = ip + 20
    client_port = 1024 + index % 60000
    server_port = np.where(is_tcp, 80, 5000)
    source_port, destination_port = (
        (server_port, client_port) if reply else (client_port, server_port)
    )
    put_u16(records, transport, source_port)
    put_u16(records, transport + 2, destination_port)
    fill_transport(records, transport, is_tcp, index, reply)
    return records


def fill_transport(records, offset, is_tcp, index, reply):
    """Write the UDP length or the TCP SYN / SYN-ACK fields; checksums stay zero."""
    udp_rows = ~is_tcp
    records[udp_rows, offset + 4] = 0
    records[udp_rows, offset + 5] = FRAME_SIZE - 14 - 20
    records[udp_rows, offset + 8 :] = 0x61  # 16 payload bytes of "a"

    tcp = records[is_tcp]
    put_u32(tcp, offset + 4, (index[is_tcp] * 7919) & 0xFFFFFFFF)
    if reply:
        put_u32(tcp, offset + 8, ((index[is_tcp] * 7919) + 1) & 0xFFFFFFFF)
    tcp[:, offset + 12] = 6 << 4  # data offset: 24 bytes with the MSS option
    tcp[:, offset + 13] = 0x12 if reply else 0x02
    put_u16(tcp, offset + 14, 64240)
    tcp[:, offset + 20] = 2  # MSS option, length 4, value 1460
    tcp[:, offset + 21] = 4
    put_u16(tcp, offset + 22, 1460)
    tcp[:, offset + 24 :] = 0
    records[is_tcp] = tcp


def write_capture(path, flows, chunk=250_000):
    """Write the capture in chunks of flows so memory stays near chunk * RECORD_SIZE * 8 bytes."""
    with open(path, "wb") as handle:
        handle.write(pcap_file_header())
        for reply in (False, True):
            for start in range(0, flows, chunk):
                count = min(chunk, flows - start)
                records = build_records(start, count, flows, reply)
                handle.write(records.tobytes())
    return 2 * flows


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("output", help="path of the pcap file to write")
    parser.add_argument(
        "--flows", type=int, default=1_000_000, help="number of two-packet flows (default 1000000)"
    )
    arguments = parser.parse_args(argv)
    if not 1 <= arguments.flows <= 1 << 24:
        parser.error(f"--flows {arguments.flows} is invalid: use 1 to {1 << 24}")
    packets = write_capture(arguments.output, arguments.flows)
    print(f"wrote {packets} packets ({arguments.flows} flows) to {arguments.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
