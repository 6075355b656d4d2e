"""Byte accounting modes, time fields, statistics and SPLT, with sizes worked out by hand.

accounting_mode picks the per-packet size: 0 the wire length of the frame, 1 the IP size
(IPv4 total length; IPv6 payload length, without the fixed header), 2 the whole transport segment, 3 the transport
payload. Frame sizes below: Ethernet 14, IPv4 20, IPv6 40, UDP 8, TCP 20 (+ 12 bytes of SYN
options: MSS 4, SACK-permitted 2, NOP + window scale 4, NOP padding 2), ICMP echo 8 + 32.
"""

import math
import statistics

import pcapgen
import pytest
from pcapgen import Record, write_pcap

from nfstream import NFStreamer

START_NS = 1_700_000_000_000_000_000
START_MS = START_NS // 1_000_000


def ethernet(packet, **kwargs):
    kwargs.setdefault("ethertype", pcapgen.common.ethertype_of(packet))
    return pcapgen.ethernet(packet, **kwargs)


def run(tmp_path, records, **params):
    path = tmp_path / "capture.pcap"
    write_pcap(path, records)
    params.setdefault("n_dissections", 0)
    return list(NFStreamer(source=str(path), **params))


def at(offset_ms, frame, **kwargs):
    return Record(START_NS + offset_ms * 1_000_000, frame, **kwargs)


def tcp_records():
    """SYN with options (frame 66) then a 100-byte data segment without options (frame 154)."""
    syn = pcapgen.tcp_packet(
        "192.0.2.1", "192.0.2.2", 40000, 80, flags="S", options=pcapgen.tcp_options()
    )
    data = pcapgen.tcp_packet("192.0.2.1", "192.0.2.2", 40000, 80, b"d" * 100, flags="PA")
    return [at(0, ethernet(syn)), at(1, ethernet(data))]


def single(payload_packet):
    return [at(0, ethernet(payload_packet))]


ACCOUNTING_CASES = [
    # (id, records, sizes for modes 0, 1, 2, 3)
    ("tcp_with_options", tcp_records(), (66 + 154, 52 + 140, 32 + 120, 0 + 100)),
    (
        "udp",
        single(pcapgen.udp_packet("192.0.2.1", "192.0.2.2", 40000, 53, b"u" * 10)),
        (52, 38, 18, 10),
    ),
    (
        "udp_empty_padded",
        [at(0, ethernet(pcapgen.udp_packet("192.0.2.1", "192.0.2.2", 40000, 53), pad_to=60))],
        (60, 28, 8, 0),
    ),
    ("icmp", single(pcapgen.icmp_echo_packet("192.0.2.1", "192.0.2.2")), (74, 60, 40, 32)),
    (
        "udp_ipv6",
        single(pcapgen.udp_packet("2001:db8::1", "2001:db8::2", 40000, 53, b"u" * 10)),
        (72, 18, 18, 10),
    ),
    (
        "tcp_ipv6",
        single(pcapgen.tcp_packet("2001:db8::1", "2001:db8::2", 40000, 80, b"t" * 30)),
        (104, 50, 50, 30),
    ),
    ("icmpv6", single(pcapgen.icmp_echo_packet("2001:db8::1", "2001:db8::2")), (94, 40, 40, 32)),
    (
        "gre_no_transport",
        single(pcapgen.ipv4(b"g" * 24, "192.0.2.1", "192.0.2.2", 47)),
        (58, 44, 0, 0),
    ),
    (
        "udp_one_byte_payload",
        single(pcapgen.udp_packet("192.0.2.1", "192.0.2.2", 40000, 53, b"u")),
        (43, 29, 9, 1),
    ),
]


@pytest.mark.parametrize(
    "records, sizes",
    [case[1:] for case in ACCOUNTING_CASES],
    ids=[case[0] for case in ACCOUNTING_CASES],
)
@pytest.mark.parametrize("mode", [0, 1, 2, 3])
def test_accounting_mode_bytes(tmp_path, records, sizes, mode):
    flows = run(tmp_path, records, accounting_mode=mode)

    assert len(flows) == 1
    assert flows[0].bidirectional_bytes == sizes[mode]
    assert flows[0].src2dst_bytes == sizes[mode]
    assert flows[0].dst2src_bytes == 0


def test_raw_size_is_wire_length(tmp_path):
    frame = ethernet(pcapgen.udp_packet("192.0.2.1", "192.0.2.2", 40000, 53, b"u" * 10))
    flows = run(tmp_path, [at(0, frame, wirelen=1500)], accounting_mode=0)

    assert flows[0].bidirectional_bytes == 1500


def test_raw_size_wraps_at_16_bits(tmp_path):
    frame = ethernet(pcapgen.udp_packet("192.0.2.1", "192.0.2.2", 40000, 53, b"u" * 10))
    flows = run(tmp_path, [at(0, frame, wirelen=70000)], accounting_mode=0)

    assert flows[0].bidirectional_bytes == 70000 - 65536


def test_directional_bytes_split(tmp_path):
    query = pcapgen.udp_packet("192.0.2.1", "192.0.2.2", 40000, 53, b"q" * 10)
    reply = pcapgen.udp_packet("192.0.2.2", "192.0.2.1", 53, 40000, b"r" * 30)
    flows = run(tmp_path, [at(0, ethernet(query)), at(4, ethernet(reply))], accounting_mode=3)

    assert flows[0].bidirectional_bytes == 40
    assert flows[0].src2dst_bytes == 10
    assert flows[0].dst2src_bytes == 30


# --------------------------------------------------------------------------------------------
# Time fields and counters
# --------------------------------------------------------------------------------------------


def test_time_fields_without_reply(tmp_path):
    packet = pcapgen.udp_packet("192.0.2.1", "192.0.2.2", 40000, 53, b"u")
    flows = run(tmp_path, [at(0, ethernet(packet)), at(7, ethernet(packet))])
    flow = flows[0]

    assert flow.bidirectional_first_seen_ms == START_MS
    assert flow.bidirectional_last_seen_ms == START_MS + 7
    assert flow.bidirectional_duration_ms == 7
    assert flow.bidirectional_packets == 2
    assert flow.src2dst_first_seen_ms == START_MS
    assert flow.src2dst_last_seen_ms == START_MS + 7
    assert flow.src2dst_duration_ms == 7
    assert flow.src2dst_packets == 2
    assert flow.dst2src_first_seen_ms == 0
    assert flow.dst2src_last_seen_ms == 0
    assert flow.dst2src_duration_ms == 0
    assert flow.dst2src_packets == 0
    assert flow.dst2src_bytes == 0


def test_time_fields_with_reply(tmp_path):
    query = pcapgen.udp_packet("192.0.2.1", "192.0.2.2", 40000, 53, b"q")
    reply = pcapgen.udp_packet("192.0.2.2", "192.0.2.1", 53, 40000, b"r")
    records = [
        at(0, ethernet(query)),
        at(3, ethernet(reply)),
        at(9, ethernet(reply)),
        at(20, ethernet(query)),
    ]
    flow = run(tmp_path, records)[0]

    assert flow.bidirectional_duration_ms == 20
    assert flow.src2dst_first_seen_ms == START_MS
    assert flow.src2dst_last_seen_ms == START_MS + 20
    assert flow.dst2src_first_seen_ms == START_MS + 3
    assert flow.dst2src_last_seen_ms == START_MS + 9
    assert flow.dst2src_duration_ms == 6
    assert flow.src2dst_packets == 2
    assert flow.dst2src_packets == 2


def test_single_packet_duration_zero(tmp_path):
    packet = pcapgen.udp_packet("192.0.2.1", "192.0.2.2", 40000, 53, b"u")
    flow = run(tmp_path, [at(0, ethernet(packet))])[0]

    assert flow.bidirectional_duration_ms == 0
    assert flow.src2dst_duration_ms == 0


def test_same_endpoint_both_sides_direction_zero(tmp_path):
    packet = pcapgen.udp_packet("192.0.2.1", "192.0.2.1", 5000, 5000, b"self")
    flow = run(tmp_path, [at(0, ethernet(packet)), at(1, ethernet(packet))])[0]

    assert flow.src2dst_packets == 2
    assert flow.dst2src_packets == 0


# --------------------------------------------------------------------------------------------
# Statistics
# --------------------------------------------------------------------------------------------

# A UDP flow of four packets: (offset ms, direction, payload length). Frames are 42 + payload.
SMALL_FLOW = [(0, ">", 10), (10, "<", 20), (30, ">", 30), (35, ">", 40)]


def small_flow_records():
    records = []
    for offset, direction, length in SMALL_FLOW:
        if direction == ">":
            packet = pcapgen.udp_packet("192.0.2.1", "192.0.2.2", 40000, 9000, b"x" * length)
        else:
            packet = pcapgen.udp_packet("192.0.2.2", "192.0.2.1", 9000, 40000, b"x" * length)
        records.append(at(offset, ethernet(packet)))
    return records


@pytest.fixture
def small_flow(tmp_path):
    flows = run(tmp_path, small_flow_records(), statistical_analysis=True)
    assert len(flows) == 1
    return flows[0]


@pytest.mark.parametrize(
    "scope, sizes",
    [
        ("bidirectional", [52, 62, 72, 82]),
        ("src2dst", [52, 72, 82]),
        ("dst2src", [62]),
    ],
)
def test_packet_size_statistics(small_flow, scope, sizes):
    expected_stddev = statistics.stdev(sizes) if len(sizes) > 1 else 0.0

    assert getattr(small_flow, f"{scope}_min_ps") == min(sizes)
    assert getattr(small_flow, f"{scope}_max_ps") == max(sizes)
    assert getattr(small_flow, f"{scope}_mean_ps") == pytest.approx(sum(sizes) / len(sizes))
    assert getattr(small_flow, f"{scope}_stddev_ps") == pytest.approx(expected_stddev, rel=1e-12)


def test_bidirectional_stddev_value(small_flow):
    # Sample standard deviation of 52, 62, 72, 82: sqrt(500 / 3).
    assert small_flow.bidirectional_stddev_ps == pytest.approx(math.sqrt(500 / 3), rel=1e-12)
    assert small_flow.bidirectional_mean_ps == 67.0


@pytest.mark.parametrize(
    "scope, piats",
    [
        ("bidirectional", [10, 20, 5]),
        ("src2dst", [30, 5]),
    ],
)
def test_piat_statistics(small_flow, scope, piats):
    expected_stddev = statistics.stdev(piats) if len(piats) > 1 else 0.0

    assert getattr(small_flow, f"{scope}_min_piat_ms") == min(piats)
    assert getattr(small_flow, f"{scope}_max_piat_ms") == max(piats)
    assert getattr(small_flow, f"{scope}_mean_piat_ms") == pytest.approx(sum(piats) / len(piats))
    assert getattr(small_flow, f"{scope}_stddev_piat_ms") == pytest.approx(
        expected_stddev, rel=1e-12
    )


def test_piat_two_intervals_stddev(small_flow):
    # src2dst intervals 30 and 5: sample stddev 25 / sqrt(2).
    assert small_flow.src2dst_stddev_piat_ms == pytest.approx(25 / math.sqrt(2), rel=1e-12)


def test_piat_scope_with_one_packet(small_flow):
    assert small_flow.dst2src_min_piat_ms == 0
    assert small_flow.dst2src_max_piat_ms == 0
    assert small_flow.dst2src_mean_piat_ms == 0.0
    assert small_flow.dst2src_stddev_piat_ms == 0.0


def test_statistics_types(small_flow):
    assert type(small_flow.bidirectional_min_ps) is int
    assert type(small_flow.bidirectional_max_ps) is int
    assert type(small_flow.bidirectional_mean_ps) is float
    assert type(small_flow.bidirectional_stddev_ps) is float
    assert type(small_flow.bidirectional_min_piat_ms) is int
    assert type(small_flow.bidirectional_mean_piat_ms) is float


def test_statistics_empty_scope(tmp_path):
    packet = pcapgen.udp_packet("192.0.2.1", "192.0.2.2", 40000, 53, b"u")
    flow = run(tmp_path, [at(0, ethernet(packet))], statistical_analysis=True)[0]

    assert flow.dst2src_min_ps == 0
    assert flow.dst2src_max_ps == 0
    assert flow.dst2src_mean_ps == 0.0
    assert flow.dst2src_stddev_ps == 0.0
    assert flow.bidirectional_stddev_ps == 0.0
    assert flow.bidirectional_min_piat_ms == 0
    assert flow.bidirectional_mean_piat_ms == 0.0


def test_statistics_follow_accounting_mode(tmp_path):
    flow = run(tmp_path, small_flow_records(), statistical_analysis=True, accounting_mode=3)[0]

    assert flow.bidirectional_min_ps == 10
    assert flow.bidirectional_max_ps == 40
    assert flow.bidirectional_mean_ps == 25.0
    assert flow.src2dst_mean_ps == pytest.approx(80 / 3)


def tcp_session_records():
    client = pcapgen.Endpoint("192.0.2.1", 40000, pcapgen.CLIENT_MAC)
    server = pcapgen.Endpoint("192.0.2.2", 80, pcapgen.SERVER_MAC)
    steps = [
        *pcapgen.tcp_handshake(0.0, 0.002),
        pcapgen.Step(">", b"GET", "PA", 0.003),
        pcapgen.Step("<", b"OK", "PAU", 0.004),
        pcapgen.Step(">", b"", "AEC", 0.005),
        pcapgen.Step("<", b"", "R", 0.006),
        *pcapgen.tcp_teardown(0.007, 0.002),
    ]
    return pcapgen.conversation(client, server, steps, start_ns=START_NS)


@pytest.mark.parametrize(
    "flag, bidirectional, src2dst, dst2src",
    [
        ("syn", 2, 1, 1),
        ("ack", 9, 5, 4),
        ("psh", 2, 1, 1),
        ("fin", 2, 1, 1),
        ("rst", 1, 0, 1),
        ("urg", 1, 0, 1),
        ("ece", 1, 1, 0),
        ("cwr", 1, 1, 0),
    ],
)
def test_tcp_flag_counters(tmp_path, flag, bidirectional, src2dst, dst2src):
    flow = run(tmp_path, tcp_session_records(), statistical_analysis=True)[0]

    assert flow.bidirectional_packets == 11
    assert getattr(flow, f"bidirectional_{flag}_packets") == bidirectional
    assert getattr(flow, f"src2dst_{flag}_packets") == src2dst
    assert getattr(flow, f"dst2src_{flag}_packets") == dst2src


# --------------------------------------------------------------------------------------------
# SPLT
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "length, mode, direction, sizes, piats",
    [
        (6, 0, [0, 1, 0, 0, -1, -1], [52, 62, 72, 82, -1, -1], [0, 10, 20, 5, -1, -1]),
        (4, 0, [0, 1, 0, 0], [52, 62, 72, 82], [0, 10, 20, 5]),
        (2, 0, [0, 1], [52, 62], [0, 10]),
        (1, 3, [0], [10], [0]),
        (5, 3, [0, 1, 0, 0, -1], [10, 20, 30, 40, -1], [0, 10, 20, 5, -1]),
        (5, 1, [0, 1, 0, 0, -1], [38, 48, 58, 68, -1], [0, 10, 20, 5, -1]),
    ],
)
def test_splt_lists(tmp_path, length, mode, direction, sizes, piats):
    flow = run(tmp_path, small_flow_records(), splt_analysis=length, accounting_mode=mode)[0]

    assert flow.splt_direction == direction
    assert flow.splt_ps == sizes
    assert flow.splt_piat_ms == piats


def test_splt_single_packet_padding(tmp_path):
    packet = pcapgen.udp_packet("192.0.2.1", "192.0.2.2", 40000, 53, b"u")
    flow = run(tmp_path, [at(0, ethernet(packet))], splt_analysis=3)[0]

    assert flow.splt_direction == [0, -1, -1]
    assert flow.splt_ps == [43, -1, -1]
    assert flow.splt_piat_ms == [0, -1, -1]


def test_splt_off_no_columns(tmp_path):
    flow = run(tmp_path, small_flow_records())[0]

    assert "splt_ps" not in flow.keys()
    with pytest.raises(AttributeError):
        _ = flow.splt_ps
