"""Flow expiry, emission order and ids, checked on captures with chosen packet times.

Timeouts are given in seconds and compared in milliseconds: a flow expires on a packet when
(packet time - last seen) >= idle_timeout * 1000, or (packet time - first seen) >=
active_timeout * 1000. The idle scan runs at most once per 10 ms of packet time and walks the
flows in creation order, stopping at the first one that is not idle.
"""

import pcapgen
import pytest
from pcapgen import Record, write_pcap

from nfstream import NFStreamer

START_NS = 1_700_000_000_000_000_000
START_MS = START_NS // 1_000_000


def datagram(sport, dport=53, reply=False):
    """Ethernet frame of a UDP datagram 192.0.2.1:sport -> 192.0.2.2:dport (or the reply)."""
    if reply:
        packet = pcapgen.udp_packet("192.0.2.2", "192.0.2.1", dport, sport, b"reply")
    else:
        packet = pcapgen.udp_packet("192.0.2.1", "192.0.2.2", sport, dport, b"query")
    return pcapgen.ethernet(packet)


def run(tmp_path, timed_frames, **params):
    """Write (offset_ms, frame) pairs in the order given and return the flows."""
    records = [Record(START_NS + offset_ms * 1_000_000, frame) for offset_ms, frame in timed_frames]
    path = tmp_path / "capture.pcap"
    write_pcap(path, records)
    params.setdefault("n_dissections", 0)
    return list(NFStreamer(source=str(path), **params))


# --------------------------------------------------------------------------------------------
# Idle and active timeouts
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "gap_ms, expected_packets",
    [
        (999, [2]),
        (1000, [1, 1]),  # exactly idle_timeout: expired (>= rule)
        (1001, [1, 1]),
    ],
)
def test_idle_timeout_boundary(tmp_path, gap_ms, expected_packets):
    flows = run(tmp_path, [(0, datagram(40000)), (gap_ms, datagram(40000))], idle_timeout=1)

    assert [flow.bidirectional_packets for flow in flows] == expected_packets
    assert [flow.id for flow in flows] == list(range(len(expected_packets)))
    assert all(flow.expiration_id == 0 for flow in flows)


def test_idle_timeout_split_fields(tmp_path):
    frames = [(0, datagram(40000)), (5, datagram(40000, reply=True)), (2005, datagram(40000))]
    flows = run(tmp_path, frames, idle_timeout=2)

    assert len(flows) == 2
    first, second = flows
    assert first.bidirectional_packets == 2
    assert first.bidirectional_last_seen_ms == START_MS + 5
    assert first.expiration_id == 0
    assert second.bidirectional_packets == 1
    assert second.bidirectional_first_seen_ms == START_MS + 2005
    # The new flow is oriented by its own first packet.
    assert second.src_port == 40000
    assert second.dst2src_packets == 0


def test_idle_timeout_packet_from_other_side_restarts_orientation(tmp_path):
    frames = [(0, datagram(40000)), (3000, datagram(40000, reply=True))]
    flows = run(tmp_path, frames, idle_timeout=1)

    assert [flow.src_ip for flow in flows] == ["192.0.2.1", "192.0.2.2"]
    assert [flow.src_port for flow in flows] == [40000, 53]
    assert [flow.src2dst_packets for flow in flows] == [1, 1]


def test_active_timeout(tmp_path):
    offsets = [0, 400, 800, 1000, 1200, 1999, 2000]
    flows = run(tmp_path, [(offset, datagram(40000)) for offset in offsets], active_timeout=1)

    assert [flow.bidirectional_packets for flow in flows] == [3, 3, 1]
    assert [flow.expiration_id for flow in flows] == [1, 1, 0]
    assert [flow.bidirectional_first_seen_ms - START_MS for flow in flows] == [0, 1000, 2000]
    assert [flow.bidirectional_last_seen_ms - START_MS for flow in flows] == [800, 1999, 2000]
    assert [flow.id for flow in flows] == [0, 1, 2]


def test_idle_checked_before_active(tmp_path):
    # The gap exceeds both timeouts; the idle rule wins, so expiration_id is 0.
    flows = run(
        tmp_path, [(0, datagram(40000)), (5000, datagram(40000))], idle_timeout=2, active_timeout=1
    )

    assert [flow.expiration_id for flow in flows] == [0, 0]


def test_idle_timeout_zero_one_flow_per_packet(tmp_path):
    offsets = [0, 0, 1, 2, 50]
    flows = run(tmp_path, [(offset, datagram(40000)) for offset in offsets], idle_timeout=0)

    assert len(flows) == 5
    assert all(flow.bidirectional_packets == 1 for flow in flows)
    assert all(flow.expiration_id == 0 for flow in flows)
    assert [flow.id for flow in flows] == [0, 1, 2, 3, 4]
    assert [flow.bidirectional_first_seen_ms - START_MS for flow in flows] == offsets


def test_active_timeout_zero_one_flow_per_packet(tmp_path):
    offsets = [0, 1, 2, 3]
    flows = run(tmp_path, [(offset, datagram(40000)) for offset in offsets], active_timeout=0)

    assert [flow.bidirectional_packets for flow in flows] == [1, 1, 1, 1]
    assert [flow.expiration_id for flow in flows] == [1, 1, 1, 0]


# --------------------------------------------------------------------------------------------
# Emission order
# --------------------------------------------------------------------------------------------


def test_idle_flow_waits_behind_older_active_flow(tmp_path):
    # Flow A (port 1) is created first and stays active; flow B (port 2) is idle from 1010 ms
    # but the scan stops at A, so B is only emitted at the end, after A.
    frames = [
        (0, datagram(1)),
        (10, datagram(2)),
        (600, datagram(1)),
        (1200, datagram(1)),
        (1800, datagram(1)),
        (1900, datagram(3)),
    ]
    flows = run(tmp_path, frames, idle_timeout=1)

    assert [flow.src_port for flow in flows] == [1, 2, 3]
    assert [flow.id for flow in flows] == [0, 1, 2]
    assert [flow.bidirectional_packets for flow in flows] == [4, 1, 1]


def test_idle_scan_emits_oldest_flow_first(tmp_path):
    # B (port 2) is created first and goes idle; the scan at 1200 ms emits it before A.
    frames = [
        (0, datagram(2)),
        (10, datagram(1)),
        (600, datagram(1)),
        (1200, datagram(1)),
        (1300, datagram(3)),
    ]
    flows = run(tmp_path, frames, idle_timeout=1)

    assert [flow.src_port for flow in flows] == [2, 1, 3]
    assert [flow.id for flow in flows] == [0, 1, 2]


def test_idle_scan_emits_before_later_flows(tmp_path):
    # At 1500 ms the scan emits A (port 1) while B (port 2), created later, is still active.
    frames = [(0, datagram(1)), (5, datagram(2)), (1000, datagram(2)), (1500, datagram(2))]
    flows = run(tmp_path, frames, idle_timeout=1)

    assert [flow.src_port for flow in flows] == [1, 2]
    assert [flow.bidirectional_packets for flow in flows] == [1, 3]


def test_idle_scan_at_most_every_10_ms(tmp_path):
    # The scan at 999 ms finds A (port 1) not yet idle. The packets at 1005 and 1008 ms come
    # less than 10 ms later, so they trigger no scan, and B (port 2) expires on its own packet
    # first. A is emitted by the next scan, at 1010 ms.
    frames = [
        (0, datagram(1)),
        (2, datagram(2)),
        (999, datagram(3)),
        (1005, datagram(4)),
        (1008, datagram(2)),
        (1010, datagram(5)),
    ]
    flows = run(tmp_path, frames, idle_timeout=1)

    assert [flow.src_port for flow in flows] == [2, 1, 3, 4, 2, 5]
    assert [flow.bidirectional_first_seen_ms - START_MS for flow in flows] == [
        2,
        0,
        999,
        1005,
        1008,
        1010,
    ]


def test_end_of_capture_flush_in_creation_order(tmp_path):
    # Updates do not move a flow: X, created first and updated last, is still flushed first.
    frames = [(0, datagram(10)), (1, datagram(20)), (2, datagram(30)), (3, datagram(10))]
    flows = run(tmp_path, frames)

    assert [flow.src_port for flow in flows] == [10, 20, 30]
    assert [flow.id for flow in flows] == [0, 1, 2]
    assert [flow.expiration_id for flow in flows] == [0, 0, 0]
    assert [flow.bidirectional_packets for flow in flows] == [2, 1, 1]


def test_ids_follow_emission_order(tmp_path):
    frames = [(0, datagram(1)), (10, datagram(2)), (2000, datagram(1)), (2010, datagram(4))]
    flows = run(tmp_path, frames, idle_timeout=1)

    # At 2000 ms: flow 1 expires on its own packet (id 0), then the scan emits flow 2 (id 1).
    assert [(flow.id, flow.src_port) for flow in flows] == [(0, 1), (1, 2), (2, 1), (3, 4)]
    assert [flow.bidirectional_first_seen_ms - START_MS for flow in flows] == [0, 10, 2000, 2010]


# --------------------------------------------------------------------------------------------
# max_nflows
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("max_nflows, expected", [(0, 5), (1, 1), (3, 3), (5, 5), (9, 5)])
def test_max_nflows_exact_count(tmp_path, max_nflows, expected):
    frames = [(index, datagram(100 + index)) for index in range(5)]
    flows = run(tmp_path, frames, max_nflows=max_nflows)

    assert len(flows) == expected
    assert [flow.id for flow in flows] == list(range(expected))
    assert [flow.src_port for flow in flows] == [100 + index for index in range(expected)]


def test_max_nflows_iterator_stops(tmp_path):
    frames = [(index, datagram(100 + index)) for index in range(5)]
    write_pcap(
        tmp_path / "capture.pcap",
        [Record(START_NS + offset * 1_000_000, frame) for offset, frame in frames],
    )
    iterator = iter(NFStreamer(source=str(tmp_path / "capture.pcap"), max_nflows=2))

    assert next(iterator).id == 0
    assert next(iterator).id == 1
    with pytest.raises(StopIteration):
        next(iterator)
    with pytest.raises(StopIteration):
        next(iterator)


# --------------------------------------------------------------------------------------------
# Time order
# --------------------------------------------------------------------------------------------


def test_out_of_order_packet_gets_latest_time(tmp_path):
    frames = [(0, datagram(40000)), (10, datagram(40000)), (5, datagram(40000, reply=True))]
    flows = run(tmp_path, frames, statistical_analysis=True)

    assert len(flows) == 1
    flow = flows[0]
    assert flow.bidirectional_first_seen_ms == START_MS
    assert flow.bidirectional_last_seen_ms == START_MS + 10
    assert flow.bidirectional_duration_ms == 10
    assert flow.dst2src_first_seen_ms == START_MS + 10
    assert flow.dst2src_last_seen_ms == START_MS + 10
    assert flow.bidirectional_min_piat_ms == 0
    assert flow.bidirectional_max_piat_ms == 10
    assert flow.bidirectional_mean_piat_ms == 5.0


def test_out_of_order_packet_starting_flow(tmp_path):
    # Flow B's only packet is stamped 15 ms but arrives after a 20 ms packet of flow A.
    frames = [(0, datagram(1)), (20, datagram(1)), (15, datagram(2))]
    flows = run(tmp_path, frames)

    assert [flow.src_port for flow in flows] == [1, 2]
    assert flows[1].bidirectional_first_seen_ms == START_MS + 20
    assert flows[1].bidirectional_last_seen_ms == START_MS + 20


def test_out_of_order_time_does_not_trigger_idle_expiry(tmp_path):
    # With ordered times the gap is 0 ms, so the third packet stays in the flow.
    frames = [(0, datagram(1)), (5000, datagram(2)), (10, datagram(1))]
    flows = run(tmp_path, frames, idle_timeout=1)

    assert [flow.src_port for flow in flows] == [1, 2, 1]
    assert [flow.bidirectional_first_seen_ms - START_MS for flow in flows] == [0, 5000, 5000]


def test_milliseconds_truncated_not_rounded(tmp_path):
    records = [
        Record(START_NS + 999_999, datagram(1)),
        Record(START_NS + 1_999_999, datagram(1)),
    ]
    write_pcap(tmp_path / "capture.pcap", records, resolution="ns")
    flows = list(NFStreamer(source=str(tmp_path / "capture.pcap"), n_dissections=0))

    assert flows[0].bidirectional_first_seen_ms == START_MS
    assert flows[0].bidirectional_last_seen_ms == START_MS + 1


def test_stats_count_packets_and_flows(tmp_path):
    frames = [(0, datagram(1)), (1, datagram(2)), (2, datagram(1, reply=True)), (3000, datagram(1))]
    records = [Record(START_NS + ms * 1_000_000, frame) for ms, frame in frames]
    write_pcap(tmp_path / "capture.pcap", records)
    streamer = NFStreamer(source=str(tmp_path / "capture.pcap"), idle_timeout=1)
    flows = list(streamer)
    stats = streamer.stats()

    assert len(flows) == 3
    assert stats["packets_read"] == 4
    assert stats["packets_processed"] == 4
    assert stats["packets_ignored"] == 0
    assert stats["flows_created"] == 3
    assert stats["flows_expired"] == 3
    assert stats["flows_active"] == 0
