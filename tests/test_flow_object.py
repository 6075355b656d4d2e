"""NFlow as an object: column order, repr, lifetime, pickling, and the dissection fields.

The expected column lists are written out here in nfstream's NFlow order, so that a change
in the engine's field table shows up as a failure. Dissection values for examples/sample.pcap
are those `ndpiReader -i examples/sample.pcap -v 2` of the installed nDPI 4.2 reports.
"""

import gc
import pickle
from pathlib import Path

import pcapgen
import pytest
from pcapgen import Record, write_pcap

from nfstream import NFlow, NFStreamer

SAMPLE = str(Path(__file__).resolve().parent.parent / "examples" / "sample.pcap")
START_NS = 1_700_000_000_000_000_000

IDENTITY = [
    "id",
    "expiration_id",
    "src_ip",
    "src_mac",
    "src_oui",
    "src_port",
    "dst_ip",
    "dst_mac",
    "dst_oui",
    "dst_port",
    "protocol",
    "ip_version",
    "vlan_id",
]
COUNTERS = [
    f"{scope}_{name}"
    for scope in ("bidirectional", "src2dst", "dst2src")
    for name in ("first_seen_ms", "last_seen_ms", "duration_ms", "packets", "bytes")
]
STATISTICS = (
    [
        f"{scope}_{name}_ps"
        for scope in ("bidirectional", "src2dst", "dst2src")
        for name in ("min", "mean", "stddev", "max")
    ]
    + [
        f"{scope}_{name}_piat_ms"
        for scope in ("bidirectional", "src2dst", "dst2src")
        for name in ("min", "mean", "stddev", "max")
    ]
    + [
        f"{scope}_{flag}_packets"
        for scope in ("bidirectional", "src2dst", "dst2src")
        for flag in ("syn", "cwr", "ece", "urg", "ack", "psh", "rst", "fin")
    ]
)
SPLT = ["splt_direction", "splt_ps", "splt_piat_ms"]
DISSECTION = [
    "application_name",
    "application_category_name",
    "application_is_guessed",
    "application_confidence",
    "requested_server_name",
    "client_fingerprint",
    "server_fingerprint",
    "user_agent",
    "content_type",
]


@pytest.fixture
def capture(tmp_path):
    """A query at 0 ms and a reply at 3 ms of UDP 192.0.2.1:40000 <-> 192.0.2.2:53."""
    query = pcapgen.udp_packet("192.0.2.1", "192.0.2.2", 40000, 53, b"q" * 10)
    reply = pcapgen.udp_packet("192.0.2.2", "192.0.2.1", 53, 40000, b"r" * 20)
    path = tmp_path / "capture.pcap"
    write_pcap(
        path,
        [
            Record(
                START_NS, pcapgen.ethernet(query, src=pcapgen.CLIENT_MAC, dst=pcapgen.SERVER_MAC)
            ),
            Record(
                START_NS + 3_000_000,
                pcapgen.ethernet(reply, src=pcapgen.SERVER_MAC, dst=pcapgen.CLIENT_MAC),
            ),
        ],
    )
    return str(path)


@pytest.mark.parametrize(
    "params, expected",
    [
        ({}, IDENTITY + ["tunnel_id"] + COUNTERS + DISSECTION),
        ({"decode_tunnels": False}, IDENTITY + COUNTERS + DISSECTION),
        (
            {"statistical_analysis": True},
            IDENTITY + ["tunnel_id"] + COUNTERS + STATISTICS + DISSECTION,
        ),
        ({"splt_analysis": 4}, IDENTITY + ["tunnel_id"] + COUNTERS + SPLT + DISSECTION),
        ({"n_dissections": 0}, IDENTITY + ["tunnel_id"] + COUNTERS),
        (
            {
                "decode_tunnels": False,
                "statistical_analysis": True,
                "splt_analysis": 1,
                "n_dissections": 0,
            },
            IDENTITY + COUNTERS + STATISTICS + SPLT,
        ),
    ],
    ids=["default", "tunnels_off", "statistics", "splt", "no_dissection", "all_switched"],
)
def test_column_order(capture, params, expected):
    streamer = NFStreamer(source=capture, **params)
    flow = next(iter(streamer))

    assert flow.keys() == expected
    assert streamer._core_columns() == expected
    assert len(flow.values()) == len(expected)


def test_column_counts(capture):
    assert len(next(iter(NFStreamer(source=capture))).keys()) == 38
    assert len(next(iter(NFStreamer(source=capture, statistical_analysis=True))).keys()) == 86


def test_values_match_attributes(capture):
    flow = next(iter(NFStreamer(source=capture, statistical_analysis=True, splt_analysis=3)))

    for key, value in zip(flow.keys(), flow.values()):
        assert getattr(flow, key) == value, key


def test_values_of_two_packet_flow(capture):
    flow = next(iter(NFStreamer(source=capture, n_dissections=0)))
    start_ms = START_NS // 1_000_000

    assert flow.values() == [
        0,
        0,
        "192.0.2.1",
        "02:00:00:00:00:01",
        "02:00:00",
        40000,
        "192.0.2.2",
        "02:00:00:00:00:02",
        "02:00:00",
        53,
        17,
        4,
        0,
        0,
        start_ms,
        start_ms + 3,
        3,
        2,
        52 + 62,
        start_ms,
        start_ms,
        0,
        1,
        52,
        start_ms + 3,
        start_ms + 3,
        0,
        1,
        62,
    ]


def test_repr_format(capture):
    flow = next(iter(NFStreamer(source=capture, n_dissections=0)))
    text = repr(flow)
    lines = text.split("\n")

    assert lines[0] == "NFlow(id=0,"
    assert lines[1] == "      expiration_id=0,"
    assert lines[2] == "      src_ip=192.0.2.1,"
    assert lines[-1] == "      dst2src_bytes=62)"
    assert len(lines) == len(flow.keys())


def test_repr_shows_udps(capture):
    from nfstream import NFPlugin

    class Tag(NFPlugin):
        def on_init(self, packet, flow):
            flow.udps.tag = "x"

    flow = next(iter(NFStreamer(source=capture, n_dissections=0, udps=Tag())))

    assert repr(flow).endswith("      udps.tag=x)")


def test_flows_readable_after_iteration(capture, tmp_path):
    streamer = NFStreamer(source=capture, splt_analysis=2)
    flows = list(streamer)
    expected = [flow.values() for flow in flows]
    del streamer
    gc.collect()

    assert [flow.values() for flow in flows] == expected
    assert flows[0].splt_ps == [52, 62]
    assert flows[0].src_ip == "192.0.2.1"


def test_flows_of_two_iterations_independent(capture):
    streamer = NFStreamer(source=capture, n_dissections=0)
    first = list(streamer)
    second = list(streamer)

    assert [flow.id for flow in first] == [0]
    assert [flow.id for flow in second] == [0]
    assert first[0].values() == second[0].values()
    assert first[0] is not second[0]


def test_flow_after_early_break_readable(tmp_path):
    frames = [
        Record(
            START_NS + index * 1_000_000,
            pcapgen.ethernet(pcapgen.udp_packet("192.0.2.1", "192.0.2.2", 100 + index, 53, b"x")),
        )
        for index in range(3)
    ]
    write_pcap(tmp_path / "capture.pcap", frames)
    kept = None
    for flow in NFStreamer(source=str(tmp_path / "capture.pcap"), n_dissections=0):
        kept = flow
        break
    gc.collect()

    assert kept.src_port == 100
    assert kept.bidirectional_packets == 1


@pytest.mark.parametrize(
    "params",
    [{}, {"statistical_analysis": True, "splt_analysis": 3}, {"n_dissections": 0}],
    ids=["default", "statistics_splt", "no_dissection"],
)
def test_pickle_round_trip(capture, params):
    flow = next(iter(NFStreamer(source=capture, **params)))
    copy = pickle.loads(pickle.dumps(flow))

    assert isinstance(copy, NFlow)
    assert copy.keys() == flow.keys()
    assert copy.values() == flow.values()
    assert copy.src_ip == "192.0.2.1"
    assert copy.bidirectional_bytes == 114
    assert repr(copy) == repr(flow)


def test_pickle_keeps_classic_plugin_attribute(capture):
    from nfstream import NFPlugin

    class Count(NFPlugin):
        def process(self, packet, flow):
            flow.count += 1

    flow = next(iter(NFStreamer(source=capture, plugins=[Count(name="count")])))
    copy = pickle.loads(pickle.dumps(flow))

    assert copy.count == 2
    assert copy.keys()[-1] == "count"


def test_unknown_attribute_raises(capture):
    flow = next(iter(NFStreamer(source=capture, n_dissections=0)))

    with pytest.raises(AttributeError):
        _ = flow.application_name
    with pytest.raises(AttributeError):
        _ = flow.not_a_column


def test_builtin_column_cannot_be_deleted(capture):
    flow = next(iter(NFStreamer(source=capture)))

    with pytest.raises(AttributeError, match="src_ip"):
        del flow.src_ip


def test_packets_alias(capture):
    flow = next(iter(NFStreamer(source=capture)))

    assert flow.packets == 2
    assert "packets" not in flow.keys()


def test_nflow_not_instantiable():
    with pytest.raises(TypeError):
        NFlow()


# --------------------------------------------------------------------------------------------
# Dissection on examples/sample.pcap
# --------------------------------------------------------------------------------------------

# Flow order in sample.pcap: DNS, HTTP, TLS, UDP 5000 (IPv4), UDP 5000 (IPv6), ICMP.
SAMPLE_DISSECTION = [
    # (application_name, category, confidence, requested_server_name, client_fingerprint,
    #  server_fingerprint, user_agent, content_type)
    ("DNS", "Network", 4, "www.example.com", "", "", "", ""),
    ("HTTP", "Web", 4, "www.example.com", "", "", "pcapgen/1.0", ""),
    (
        "TLS",
        "Web",
        4,
        "www.example.com",
        "1e0ebb71c10036fe24a01ee4e9fc586c",
        "1089ea6f0461a29006cc96dfe7a11d80",
        "",
        "",
    ),
    ("Unknown", "Unspecified", 0, "", "", "", "", ""),
    ("Unknown", "Unspecified", 0, "", "", "", "", ""),
    ("ICMP", "Network", 4, "", "", "", "", ""),
]


@pytest.fixture(scope="module")
def sample_flows():
    return list(NFStreamer(source=SAMPLE))


def test_sample_flow_identities(sample_flows):
    assert [(flow.src_ip, flow.dst_ip, flow.dst_port) for flow in sample_flows] == [
        ("192.0.2.10", "198.51.100.53", 53),
        ("192.0.2.10", "203.0.113.80", 80),
        ("192.0.2.10", "203.0.113.43", 443),
        ("192.0.2.10", "198.51.100.7", 5000),
        ("2001:db8::10", "2001:db8::7", 5000),
        ("192.0.2.10", "203.0.113.1", 0),
    ]
    assert [flow.bidirectional_packets for flow in sample_flows] == [2, 10, 6, 4, 1, 2]


@pytest.mark.parametrize(
    "index, expected",
    list(enumerate(SAMPLE_DISSECTION)),
    ids=[row[0] + str(i) for i, row in enumerate(SAMPLE_DISSECTION)],
)
def test_sample_dissection_fields(sample_flows, index, expected):
    flow = sample_flows[index]
    (name, category, confidence, server_name, client_fp, server_fp, user_agent, content_type) = (
        expected
    )

    assert flow.application_name == name
    assert flow.application_category_name == category
    assert flow.application_is_guessed == 0
    assert flow.application_confidence == confidence
    assert flow.requested_server_name == server_name
    assert flow.client_fingerprint == client_fp
    assert flow.server_fingerprint == server_fp
    assert flow.user_agent == user_agent
    assert flow.content_type == content_type


def test_dissection_fields_in_hooks_follow_packets(tmp_path):
    from nfstream import NFPlugin

    class Names(NFPlugin):
        def on_init(self, packet, flow):
            self.names.append(flow.application_name)

        def on_update(self, packet, flow):
            self.names.append(flow.application_name)

    plugin = Names(names=[])
    list(NFStreamer(source=SAMPLE, udps=plugin, max_nflows=1))

    # The DNS query classifies the flow on its first packet.
    assert plugin.names[0] == "DNS"
