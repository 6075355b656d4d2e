"""Write seed corpora for the fuzz targets.

Usage: PYTHONPATH=tests python fuzz/make_seeds.py OUTPUT_DIR

Writes OUTPUT_DIR/decode_meter/ (the header bytes and length-prefixed frames that
fuzz_decode_meter.c reads) and OUTPUT_DIR/capture_file/ (whole pcap and pcapng files).
Frames come from examples/sample.pcap and from pcapgen builders for every link type and
tunnel the decoder handles.
"""

from __future__ import annotations

import struct
import sys
from pathlib import Path

import pcapgen
from pcapgen import ip as ipgen
from pcapgen import link, payloads, tunnels

REPO_ROOT = Path(__file__).resolve().parents[1]
SAMPLE = REPO_ROOT / "examples" / "sample.pcap"

# Index of each link type in LINKTYPES of fuzz_decode_meter.c.
LINKTYPE_INDEX = {0: 0, 1: 1, 9: 2, 12: 3, 14: 4, 50: 5, 101: 6, 104: 7, 113: 8, 127: 9, 228: 10,
                  229: 11, 108: 12, 276: 13}
EXTENDED_DECODING = 0x10  # bit 4 of the first byte


def read_pcap_frames(path: Path) -> list[bytes]:
    """Return the frames of a little-endian classic pcap file."""
    data = path.read_bytes()
    frames, offset = [], 24
    while offset + 16 <= len(data):
        caplen = struct.unpack_from("<I", data, offset + 8)[0]
        frames.append(data[offset + 16 : offset + 16 + caplen])
        offset += 16 + caplen
    return frames


def ip_samples() -> list[bytes]:
    """Return IP packets of several protocols, both versions, with and without options."""
    dns = payloads.dns_query("www.example.com")
    tls = payloads.tls_client_hello("www.example.com")
    http = payloads.http_get("www.example.com")
    return [
        pcapgen.udp_packet("192.0.2.1", "198.51.100.53", 40000, 53, dns),
        pcapgen.udp_packet("2001:db8::1", "2001:db8::53", 40001, 53, dns),
        ipgen.tcp_packet("192.0.2.1", "203.0.113.43", 40002, 443, tls),
        ipgen.tcp_packet("2001:db8::1", "2001:db8::43", 40003, 80, http, flags="S"),
        ipgen.icmp_echo_packet("192.0.2.1", "192.0.2.2"),
        ipgen.ip_packet(
            ipgen.udp(dns, 40004, 53, "2001:db8::1", "2001:db8::53"),
            "2001:db8::1",
            "2001:db8::53",
            pcapgen.IPPROTO_UDP,
            extension_headers=[ipgen.hop_by_hop(), ipgen.fragment_header()],
        ),
    ]


def tunnel_samples(inner: bytes) -> list[bytes]:
    """Return UDP packets carrying ``inner`` in GTP-U, TZSP and CAPWAP."""
    gtp = tunnels.gtp_u(inner, sequence=1, extension=(0x85, b"\x00\x01"))
    tzsp = tunnels.tzsp(link.ethernet(inner))
    samples = [
        pcapgen.udp_packet("10.0.0.1", "10.0.0.2", 2152, 2152, gtp),
        pcapgen.udp_packet("10.0.0.1", "10.0.0.2", 37008, 37008, tzsp),
    ]
    capwap = tunnels.capwap_wifi(inner)
    samples.append(pcapgen.udp_packet("10.0.0.1", "10.0.0.2", 5247, 5247, capwap))
    return samples


def extended_tunnel_samples(inner: bytes) -> list[bytes]:
    """Return packets carrying ``inner`` in the tunnels that only extended decoding reads."""
    inner_ethernet = link.ethernet(inner)
    inner6 = pcapgen.udp_packet("2001:db8::1", "2001:db8::2", 40000, 53, b"teredo")
    gre = pcapgen.IPPROTO_GRE
    return [
        ipgen.ip_packet(tunnels.gre(inner, 0x0800, key=7), "10.0.0.1", "10.0.0.2", gre),
        ipgen.ip_packet(tunnels.gre(inner_ethernet, 0x6558), "10.0.0.1", "10.0.0.2", gre),
        ipgen.ip_packet(
            tunnels.gre(tunnels.erspan_ii(inner_ethernet), 0x88BE, sequence=1),
            "10.0.0.1",
            "10.0.0.2",
            gre,
        ),
        ipgen.ip_packet(
            tunnels.gre(tunnels.erspan_iii(inner_ethernet, platform=bytes(8)), 0x22EB),
            "10.0.0.1",
            "10.0.0.2",
            gre,
        ),
        pcapgen.udp_packet("10.0.0.1", "10.0.0.2", 40000, 4789, tunnels.vxlan(inner_ethernet)),
        pcapgen.udp_packet(
            "10.0.0.1", "10.0.0.2", 3544, 3544, tunnels.teredo(inner6, origin=(3544, "1.2.3.4"))
        ),
    ]


def link_frames(packet: bytes) -> dict[int, bytes]:
    """Return ``packet`` wrapped for each link type, keyed by DLT number."""
    v6 = packet[0] >> 4 == 6
    ethertype = pcapgen.ETHERTYPE_IPV6 if v6 else pcapgen.ETHERTYPE_IPV4
    ppp_protocol = pcapgen.PPP_IPV6 if v6 else pcapgen.PPP_IPV4
    return {
        0: link.dlt_null(packet, family=30 if v6 else 2, byteorder="big"),
        1: link.ethernet(packet, ethertype=ethertype, vlans=(10,)),
        9: link.ppp(packet, ppp_protocol),
        12: packet,
        50: link.ppp_serial(packet, ppp_protocol),
        104: link.cisco_hdlc(packet, ethertype),
        113: link.linux_sll(packet, ethertype),
        127: link.radiotap_wifi(packet),
        228 if not v6 else 229: packet,
        108: link.dlt_null(packet, family=30 if v6 else 2, byteorder="big"),
        276: link.linux_sll2(packet, ethertype),
    }


def decode_meter_input(
    linktype: int, options: int, timeouts: int, frames: list[bytes], extended: bool = False
) -> bytes:
    """Encode one fuzz_decode_meter input: 3 header bytes, then framed records 10 ms apart."""
    first = LINKTYPE_INDEX[linktype] | (EXTENDED_DECODING if extended else 0)
    parts = [bytes([first, options, timeouts])]
    for frame in frames:
        parts.append(struct.pack(">HhB", len(frame), 10, 0) + frame)
    return b"".join(parts)


def write_decode_meter(folder: Path) -> int:
    folder.mkdir(parents=True, exist_ok=True)
    count = 0
    sample_frames = read_pcap_frames(SAMPLE) if SAMPLE.exists() else []
    # Option bytes: tunnels on, no dissection / 1 / 20, two accounting modes, hooks.
    for options in (0x01, 0x03, 0x05, 0x0D, 0x21, 0xC5):
        data = decode_meter_input(1, options, 0x97, sample_frames)
        (folder / f"sample-{options:02x}").write_bytes(data)
        count += 1
    packets = ip_samples()
    packets += tunnel_samples(packets[0])
    for index, packet in enumerate(packets):
        for linktype, frame in link_frames(packet).items():
            data = decode_meter_input(linktype, 0x05, 0x97, [frame, frame], extended=index % 2)
            (folder / f"link{linktype}-{index}").write_bytes(data)
            count += 1
    for index, packet in enumerate(extended_tunnel_samples(packets[0])):
        frame = link.ethernet(packet)
        data = decode_meter_input(1, 0x05, 0x97, [frame, frame], extended=True)
        (folder / f"extended-tunnel-{index}").write_bytes(data)
        count += 1
    return count


def write_capture_file(folder: Path) -> int:
    folder.mkdir(parents=True, exist_ok=True)
    records = pcapgen.sample.sample_records()
    (folder / "sample.pcap").write_bytes(pcapgen.pcap_bytes(records))
    (folder / "sample-ns-big.pcap").write_bytes(
        pcapgen.pcap_bytes(records, byteorder="big", resolution="ns")
    )
    (folder / "sample.pcapng").write_bytes(pcapgen.pcapng_section(records))
    interfaces = (pcapgen.Interface(), pcapgen.Interface(linktype=12, resolution="ns"))
    raw = [pcapgen.Record(r.time_ns, r.data[14:], interface=1) for r in records[:4]]
    (folder / "two-interfaces.pcapng").write_bytes(
        pcapgen.pcapng_section(records[:4] + raw, interfaces)
    )
    count = 4
    packets = ip_samples()
    packets += tunnel_samples(packets[0])
    frames = [link.ethernet(packet) for packet in extended_tunnel_samples(packets[0])]
    (folder / "extended-tunnels.pcap").write_bytes(pcapgen.pcap_bytes(pcapgen.make_records(frames)))
    count += 1
    for linktype in (0, 9, 12, 50, 104, 108, 113, 127, 228, 276):
        frames = [link_frames(packet).get(linktype) for packet in packets]
        frames = [frame for frame in frames if frame is not None]
        data = pcapgen.pcap_bytes(pcapgen.make_records(frames), linktype=linktype)
        (folder / f"link{linktype}.pcap").write_bytes(data)
        count += 1
    return count


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: make_seeds.py OUTPUT_DIR", file=sys.stderr)
        return 2
    output = Path(argv[1])
    frames = write_decode_meter(output / "decode_meter")
    files = write_capture_file(output / "capture_file")
    print(f"wrote {frames} decode_meter seeds and {files} capture_file seeds to {output}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
