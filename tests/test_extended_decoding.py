"""Decoding beyond nfstream (extended_decoding=True), checked through NFStreamer.

Each encapsulation gets one capture written with pcapgen. The expected flows are worked out by
hand from the bytes written. Every frame size is spelled out as a sum of header lengths and
checked against the built frame, so a builder change cannot silently change the expectation.
With the default extended_decoding=False the same capture must give the outer flows nfstream
gives, or a CaptureError for the link types nfstream rejects.

Inner packets used throughout:

* REQUEST: IPv4 UDP 10.1.0.1:5000 -> 10.1.0.2:53, 10-byte payload: 20 + 8 + 10 = 38 bytes
* REPLY: IPv4 UDP 10.1.0.2:53 -> 10.1.0.1:5000, 16-byte payload: 20 + 8 + 16 = 44 bytes
* OTHER: IPv4 UDP 10.9.0.1:6000 -> 10.9.0.2:6001, 3-byte payload: 20 + 8 + 3 = 31 bytes
* REQUEST6: IPv6 UDP fd00::1:7000 -> fd00::2:7001, no payload: 40 + 8 = 48 bytes
"""

from pathlib import Path

import pcapgen
import pytest
from pcapgen import CLIENT_MAC, SERVER_MAC, make_records, udp_packet, write_pcap

from nfstream import NFStreamer
from nfstream._engine import CaptureError

START_NS = 1_700_000_000_000_000_000
ZERO_MAC = "00:00:00:00:00:00"
INNER_MAC_A = "0a:00:00:00:00:01"
INNER_MAC_B = "0a:00:00:00:00:02"

TUNNEL_NONE, TUNNEL_VXLAN, TUNNEL_GRE, TUNNEL_ERSPAN, TUNNEL_TEREDO = 0, 5, 6, 7, 8

REQUEST = udp_packet("10.1.0.1", "10.1.0.2", 5000, 53, b"0123456789")
REPLY = udp_packet("10.1.0.2", "10.1.0.1", 53, 5000, b"abcdefghijklmnop")
OTHER = udp_packet("10.9.0.1", "10.9.0.2", 6000, 6001, b"xyz")
REQUEST6 = udp_packet("fd00::1", "fd00::2", 7000, 7001)

# (src_ip, src_port, dst_ip, dst_port) of the flows these packets start.
REQUEST_ENDS = ("10.1.0.1", 5000, "10.1.0.2", 53)
OTHER_ENDS = ("10.9.0.1", 6000, "10.9.0.2", 6001)
REQUEST6_ENDS = ("fd00::1", 7000, "fd00::2", 7001)

FIELDS = (
    "src_ip",
    "src_port",
    "dst_ip",
    "dst_port",
    "protocol",
    "ip_version",
    "vlan_id",
    "tunnel_id",
    "bidirectional_packets",
    "bidirectional_bytes",
)


def flow_row(ends, protocol, ip_version, tunnel_id, packets, size, vlan_id=0):
    """Expected values of FIELDS for one flow; `size` is the sum of its frames' wire lengths."""
    return (*ends[:2], *ends[2:], protocol, ip_version, vlan_id, tunnel_id, packets, size)


def check_sizes(frames, sizes):
    """Assert the hand-computed frame sizes, so the expected byte counts rest on them."""
    assert [len(frame) for frame in frames] == sizes


def write(tmp_path, frames, linktype=pcapgen.LINKTYPE_ETHERNET):
    path = tmp_path / "capture.pcap"
    write_pcap(path, make_records(frames, START_NS), linktype=linktype)
    return path


def meter(path, **params):
    """Return (rows of FIELDS sorted, flows, streamer) for a capture.

    A column the configuration leaves out (tunnel_id without decode_tunnels) reads as None.
    """
    params.setdefault("n_dissections", 0)
    streamer = NFStreamer(source=str(path), **params)
    flows = list(streamer)
    rows = sorted(tuple(getattr(flow, name, None) for name in FIELDS) for flow in flows)
    return rows, flows, streamer


def inner_ethernet(packet, src=INNER_MAC_A, dst=INNER_MAC_B):
    return pcapgen.ethernet(packet, src=src, dst=dst, ethertype=pcapgen.common.ethertype_of(packet))


def outer_ethernet(packet):
    return pcapgen.ethernet(packet, ethertype=pcapgen.common.ethertype_of(packet))


def gre_packet(payload, src, dst):
    return pcapgen.ip_packet(payload, src, dst, pcapgen.IPPROTO_GRE)


def flow_by_ends(flows, ends):
    (flow,) = [f for f in flows if (f.src_ip, f.src_port, f.dst_ip, f.dst_port) == ends]
    return flow


# --------------------------------------------------------------------------------------------
# 802.1ad and 0x9100 VLAN tags
# --------------------------------------------------------------------------------------------


def qinq_frames():
    frames = [
        pcapgen.ethernet(REQUEST, vlans=[(0x88A8, 100), 200]),
        pcapgen.ethernet(REPLY, vlans=[(0x88A8, 100), 200]),
        pcapgen.ethernet(OTHER, vlans=[(0x9100, 300)]),
        pcapgen.ethernet(REQUEST, vlans=[(0x88A8, 100), 201]),
    ]
    check_sizes(frames, [14 + 8 + 38, 14 + 8 + 44, 14 + 4 + 31, 14 + 8 + 38])
    return frames


def test_qinq_innermost_vlan(tmp_path):
    rows, _, _ = meter(write(tmp_path, qinq_frames()), extended_decoding=True)

    assert rows == sorted(
        [
            flow_row(REQUEST_ENDS, 17, 4, TUNNEL_NONE, 2, 60 + 66, vlan_id=200),
            flow_row(OTHER_ENDS, 17, 4, TUNNEL_NONE, 1, 49, vlan_id=300),
            flow_row(REQUEST_ENDS, 17, 4, TUNNEL_NONE, 1, 60, vlan_id=201),
        ]
    )


def test_qinq_default_ignored(tmp_path):
    # nfstream reads IP at the 802.1ad tag, whose TCI has version nibble 0.
    rows, _, streamer = meter(write(tmp_path, qinq_frames()))

    assert rows == []
    assert streamer.stats()["packets_ignored"] == 4
    assert streamer.stats()["ignored_by_reason"]["IP version not 4 or 6"] == 4


# --------------------------------------------------------------------------------------------
# Linux SLL2 and DLT_LOOP
# --------------------------------------------------------------------------------------------


def sll2_capture(tmp_path):
    frames = [
        pcapgen.linux_sll2(REQUEST),
        pcapgen.linux_sll2(REPLY, packet_type=4),
        pcapgen.linux_sll2(REQUEST6, protocol=pcapgen.ETHERTYPE_IPV6),
    ]
    check_sizes(frames, [20 + 38, 20 + 44, 20 + 48])
    return write(tmp_path, frames, linktype=pcapgen.LINKTYPE_LINUX_SLL2)


def test_linux_sll2_decoded(tmp_path):
    rows, flows, _ = meter(sll2_capture(tmp_path), extended_decoding=True)

    assert rows == sorted(
        [
            flow_row(REQUEST_ENDS, 17, 4, TUNNEL_NONE, 2, 58 + 64),
            flow_row(REQUEST6_ENDS, 17, 6, TUNNEL_NONE, 1, 68),
        ]
    )
    for flow in flows:
        assert flow.src_mac == ZERO_MAC
        assert flow.dst_mac == ZERO_MAC


def loop_capture(tmp_path):
    frames = [
        pcapgen.dlt_loop(REQUEST),
        pcapgen.dlt_loop(REPLY),
        pcapgen.dlt_loop(REQUEST6, family=24),
        pcapgen.dlt_loop(REQUEST6, family=28),
        pcapgen.dlt_loop(REQUEST6, family=30),
        pcapgen.dlt_loop(REQUEST, family=17),  # not AF_INET or AF_INET6: ignored
    ]
    check_sizes(frames, [4 + 38, 4 + 44, 4 + 48, 4 + 48, 4 + 48, 4 + 38])
    return write(tmp_path, frames, linktype=pcapgen.LINKTYPE_LOOP)


def test_loop_decoded(tmp_path):
    rows, _, streamer = meter(loop_capture(tmp_path), extended_decoding=True)

    assert rows == sorted(
        [
            flow_row(REQUEST_ENDS, 17, 4, TUNNEL_NONE, 2, 42 + 48),
            flow_row(REQUEST6_ENDS, 17, 6, TUNNEL_NONE, 3, 3 * 52),
        ]
    )
    assert streamer.stats()["packets_ignored"] == 1


@pytest.mark.parametrize(
    "capture, name, number",
    [(sll2_capture, "LINUX_SLL2", "276"), (loop_capture, "LOOP", "108")],
    ids=["sll2", "loop"],
)
def test_link_type_default_rejected(tmp_path, capture, name, number):
    path = capture(tmp_path)

    with pytest.raises(CaptureError) as excinfo:
        NFStreamer(source=str(path))

    message = str(excinfo.value)
    assert name in message
    assert number in message
    assert "extended_decoding=True" in message


def test_link_type_setter_checks_source(tmp_path):
    path = sll2_capture(tmp_path)
    streamer = NFStreamer(source=str(path), extended_decoding=True)

    with pytest.raises(CaptureError, match="LINUX_SLL2"):
        streamer.extended_decoding = False

    assert streamer.extended_decoding is True


def test_link_type_source_after_flag(tmp_path):
    good = tmp_path / "good.pcap"
    write_pcap(good, make_records([outer_ethernet(REQUEST)], START_NS))
    streamer = NFStreamer(source=str(good))
    streamer.extended_decoding = True
    streamer.source = str(sll2_capture(tmp_path))

    assert len(list(streamer)) == 2


# --------------------------------------------------------------------------------------------
# GRE
# --------------------------------------------------------------------------------------------


def gre_frames():
    frames = [
        outer_ethernet(gre_packet(pcapgen.gre(REQUEST, 0x0800), "172.16.0.1", "172.16.0.2")),
        outer_ethernet(
            gre_packet(pcapgen.gre(REPLY, 0x0800, checksum=True), "172.16.0.2", "172.16.0.1")
        ),
        outer_ethernet(
            gre_packet(
                pcapgen.gre(inner_ethernet(OTHER), 0x6558, key=7, sequence=1),
                "172.16.0.1",
                "172.16.0.2",
            )
        ),
        outer_ethernet(
            gre_packet(pcapgen.gre(REQUEST6, 0x86DD), "2001:db8:ffff::1", "2001:db8:ffff::2")
        ),
    ]
    check_sizes(
        frames,
        [
            14 + 20 + 4 + 38,
            14 + 20 + 8 + 44,  # checksum and reserved field: 4 more bytes
            14 + 20 + 12 + 14 + 31,  # key and sequence number: 8 more bytes
            14 + 40 + 4 + 48,
        ],
    )
    return frames


def test_gre_inner_flows(tmp_path):
    rows, flows, _ = meter(write(tmp_path, gre_frames()), extended_decoding=True)

    assert rows == sorted(
        [
            flow_row(REQUEST_ENDS, 17, 4, TUNNEL_GRE, 2, 76 + 86),
            flow_row(OTHER_ENDS, 17, 4, TUNNEL_GRE, 1, 91),
            flow_row(REQUEST6_ENDS, 17, 6, TUNNEL_GRE, 1, 106),
        ]
    )
    request = flow_by_ends(flows, REQUEST_ENDS)
    assert (request.src2dst_packets, request.dst2src_packets) == (1, 1)
    assert (request.src_mac, request.dst_mac) == (CLIENT_MAC, SERVER_MAC)
    bridged = flow_by_ends(flows, OTHER_ENDS)
    assert (bridged.src_mac, bridged.dst_mac) == (INNER_MAC_A, INNER_MAC_B)


def test_gre_default_outer_flows(tmp_path):
    rows, _, _ = meter(write(tmp_path, gre_frames()))

    assert rows == sorted(
        [
            flow_row(("172.16.0.1", 0, "172.16.0.2", 0), 47, 4, TUNNEL_NONE, 3, 76 + 86 + 91),
            flow_row(("2001:db8:ffff::1", 0, "2001:db8:ffff::2", 0), 47, 6, TUNNEL_NONE, 1, 106),
        ]
    )


def test_gre_needs_decode_tunnels(tmp_path):
    rows, flows, _ = meter(
        write(tmp_path, gre_frames()), extended_decoding=True, decode_tunnels=False
    )

    assert rows == sorted(
        [
            flow_row(("172.16.0.1", 0, "172.16.0.2", 0), 47, 4, None, 3, 76 + 86 + 91),
            flow_row(("2001:db8:ffff::1", 0, "2001:db8:ffff::2", 0), 47, 6, None, 1, 106),
        ]
    )
    assert "tunnel_id" not in flows[0].keys()


# --------------------------------------------------------------------------------------------
# ERSPAN
# --------------------------------------------------------------------------------------------


def erspan_frames():
    def mirrored(gre_payload):
        return outer_ethernet(gre_packet(gre_payload, "172.16.1.1", "172.16.1.2"))

    type_ii = pcapgen.gre(pcapgen.erspan_ii(inner_ethernet(REQUEST)), 0x88BE, sequence=1)
    type_iii_platform = pcapgen.gre(
        pcapgen.erspan_iii(inner_ethernet(REPLY, INNER_MAC_B, INNER_MAC_A), platform=bytes(8)),
        0x22EB,
        sequence=2,
    )
    type_iii = pcapgen.gre(pcapgen.erspan_iii(inner_ethernet(REQUEST)), 0x22EB, sequence=3)
    frames = [mirrored(type_ii), mirrored(type_iii_platform), mirrored(type_iii)]
    check_sizes(
        frames,
        [
            14 + 20 + 8 + 8 + 14 + 38,
            14 + 20 + 8 + 12 + 8 + 14 + 44,
            14 + 20 + 8 + 12 + 14 + 38,
        ],
    )
    return frames


def test_erspan_inner_flow(tmp_path):
    rows, flows, _ = meter(write(tmp_path, erspan_frames()), extended_decoding=True)

    assert rows == [flow_row(REQUEST_ENDS, 17, 4, TUNNEL_ERSPAN, 3, 102 + 120 + 106)]
    assert (flows[0].src2dst_packets, flows[0].dst2src_packets) == (2, 1)
    assert (flows[0].src_mac, flows[0].dst_mac) == (INNER_MAC_A, INNER_MAC_B)


def test_erspan_default_outer_flow(tmp_path):
    rows, _, _ = meter(write(tmp_path, erspan_frames()))

    assert rows == [
        flow_row(("172.16.1.1", 0, "172.16.1.2", 0), 47, 4, TUNNEL_NONE, 3, 102 + 120 + 106)
    ]


# --------------------------------------------------------------------------------------------
# VXLAN
# --------------------------------------------------------------------------------------------


def vxlan_frames():
    frames = [
        outer_ethernet(
            udp_packet(
                "172.16.2.1", "172.16.2.2", 49152, 4789, pcapgen.vxlan(inner_ethernet(REQUEST), 100)
            )
        ),
        outer_ethernet(
            udp_packet(
                "172.16.2.2",
                "172.16.2.1",
                49153,
                4789,
                pcapgen.vxlan(inner_ethernet(REPLY, INNER_MAC_B, INNER_MAC_A), 100),
            )
        ),
        outer_ethernet(
            udp_packet(
                "2001:db8:ffff::1",
                "2001:db8:ffff::2",
                49154,
                4789,
                pcapgen.vxlan(inner_ethernet(OTHER), 200),
            )
        ),
    ]
    check_sizes(
        frames,
        [14 + 20 + 8 + 8 + 14 + 38, 14 + 20 + 8 + 8 + 14 + 44, 14 + 40 + 8 + 8 + 14 + 31],
    )
    return frames


def test_vxlan_inner_flows(tmp_path):
    rows, flows, _ = meter(write(tmp_path, vxlan_frames()), extended_decoding=True)

    assert rows == sorted(
        [
            flow_row(REQUEST_ENDS, 17, 4, TUNNEL_VXLAN, 2, 102 + 108),
            flow_row(OTHER_ENDS, 17, 4, TUNNEL_VXLAN, 1, 115),
        ]
    )
    request = flow_by_ends(flows, REQUEST_ENDS)
    assert (request.src_mac, request.dst_mac) == (INNER_MAC_A, INNER_MAC_B)


def test_vxlan_default_outer_flows(tmp_path):
    rows, _, _ = meter(write(tmp_path, vxlan_frames()))

    assert rows == sorted(
        [
            flow_row(("172.16.2.1", 49152, "172.16.2.2", 4789), 17, 4, TUNNEL_NONE, 1, 102),
            flow_row(("172.16.2.2", 49153, "172.16.2.1", 4789), 17, 4, TUNNEL_NONE, 1, 108),
            flow_row(
                ("2001:db8:ffff::1", 49154, "2001:db8:ffff::2", 4789), 17, 6, TUNNEL_NONE, 1, 115
            ),
        ]
    )


# --------------------------------------------------------------------------------------------
# Teredo
# --------------------------------------------------------------------------------------------

TEREDO_CLIENT = "2001:0:c633:6407::10"
TEREDO_PEER = "2001:db8::80"
TEREDO_REQUEST = udp_packet(TEREDO_CLIENT, TEREDO_PEER, 6000, 7000, b"hello")
TEREDO_REPLY = udp_packet(TEREDO_PEER, TEREDO_CLIENT, 7000, 6000, b"hi")


def teredo_frames():
    def client_to_relay(payload):
        return outer_ethernet(udp_packet("192.0.2.10", "198.51.100.7", 40000, 3544, payload))

    frames = [
        client_to_relay(pcapgen.teredo(TEREDO_REQUEST)),
        outer_ethernet(
            udp_packet(
                "198.51.100.7",
                "192.0.2.10",
                3544,
                40000,
                pcapgen.teredo(TEREDO_REPLY, origin=(7000, "198.51.100.7")),
            )
        ),
        client_to_relay(pcapgen.teredo(TEREDO_REQUEST, authentication=(b"", b""))),
        client_to_relay(b"\x45" * 30),  # on the Teredo port but not IPv6
    ]
    check_sizes(
        frames,
        [
            14 + 20 + 8 + 40 + 8 + 5,
            14 + 20 + 8 + 8 + 40 + 8 + 2,  # origin indication: 8 bytes
            14 + 20 + 8 + 13 + 40 + 8 + 5,  # authentication without id or value: 13 bytes
            14 + 20 + 8 + 30,
        ],
    )
    return frames


def test_teredo_inner_flow(tmp_path):
    rows, _, _ = meter(write(tmp_path, teredo_frames()), extended_decoding=True)

    assert rows == sorted(
        [
            flow_row(
                (TEREDO_CLIENT, 6000, TEREDO_PEER, 7000), 17, 6, TUNNEL_TEREDO, 3, 95 + 100 + 108
            ),
            flow_row(("192.0.2.10", 40000, "198.51.100.7", 3544), 17, 4, TUNNEL_NONE, 1, 72),
        ]
    )


def test_teredo_default_outer_flow(tmp_path):
    rows, _, _ = meter(write(tmp_path, teredo_frames()))

    assert rows == [
        flow_row(
            ("192.0.2.10", 40000, "198.51.100.7", 3544), 17, 4, TUNNEL_NONE, 4, 95 + 100 + 108 + 72
        )
    ]


# --------------------------------------------------------------------------------------------
# Flow key and parameter
# --------------------------------------------------------------------------------------------


def test_tunnel_id_separates_flows(tmp_path):
    frames = [
        outer_ethernet(gre_packet(pcapgen.gre(REQUEST, 0x0800), "172.16.0.1", "172.16.0.2")),
        outer_ethernet(
            udp_packet(
                "172.16.2.1", "172.16.2.2", 49152, 4789, pcapgen.vxlan(inner_ethernet(REQUEST))
            )
        ),
        outer_ethernet(REQUEST),
    ]
    check_sizes(frames, [14 + 20 + 4 + 38, 14 + 20 + 8 + 8 + 14 + 38, 14 + 38])
    rows, _, _ = meter(write(tmp_path, frames), extended_decoding=True)

    assert rows == sorted(
        [
            flow_row(REQUEST_ENDS, 17, 4, TUNNEL_GRE, 1, 76),
            flow_row(REQUEST_ENDS, 17, 4, TUNNEL_VXLAN, 1, 102),
            flow_row(REQUEST_ENDS, 17, 4, TUNNEL_NONE, 1, 52),
        ]
    )


def test_extended_decoding_parameter(tmp_path):
    path = write(tmp_path, [outer_ethernet(REQUEST)])

    assert NFStreamer(source=str(path)).extended_decoding is False
    with pytest.raises(TypeError, match="extended_decoding must be True or False, got 1"):
        NFStreamer(source=str(path), extended_decoding=1)
    streamer = NFStreamer(source=str(path))
    streamer.extended_decoding = True
    assert streamer.extended_decoding is True


def test_extended_decoding_keyword_only(tmp_path):
    path = write(tmp_path, [outer_ethernet(REQUEST)])
    positional = [str(path), True, None, True, 1536, 120, 1800, 0, None, 20, False, 0, 0, 0, 0]
    positional += [0, 100, 0, None]

    with pytest.raises(TypeError):
        NFStreamer(*positional, False)


# --------------------------------------------------------------------------------------------
# Conformance corpus
# --------------------------------------------------------------------------------------------

CORPUS = Path(__file__).resolve().parents[1].parent / "shared" / "conformance" / "nfstream"
CAPTURES = sorted((CORPUS / "pcaps").glob("*")) if CORPUS.is_dir() else []
# The only corpus capture with an encapsulation that extended decoding adds.
TEREDO_CAPTURE = "teredo.pcap"


def corpus_rows(path, **params):
    try:
        rows, _, _ = meter(path, **params)
    except CaptureError as error:
        return str(error)
    return rows


@pytest.mark.skipif(not CAPTURES, reason="conformance corpus not found beside the repository")
def test_corpus_changes_only_teredo():
    changed = []
    for capture in CAPTURES:
        if corpus_rows(capture) != corpus_rows(capture, extended_decoding=True):
            changed.append(capture.name)

    assert changed == [TEREDO_CAPTURE]


@pytest.mark.skipif(not CAPTURES, reason="conformance corpus not found beside the repository")
def test_corpus_teredo_inner_flows():
    capture = CORPUS / "pcaps" / TEREDO_CAPTURE
    outer = corpus_rows(capture)
    inner = corpus_rows(capture, extended_decoding=True)

    assert [row[7] for row in inner] == [TUNNEL_TEREDO] * 5
    assert {row[5] for row in inner} == {6}
    # Same packets and bytes, regrouped by inner IPv6 endpoints (checked with tshark).
    assert sum(row[8] for row in inner) == sum(row[8] for row in outer) == 24
    assert sum(row[9] for row in inner) == sum(row[9] for row in outer)
