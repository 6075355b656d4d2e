"""Packet decoding checked through NFStreamer: link types, tags, IP options, tunnels, files.

Every test writes its own capture with pcapgen and compares the flow fields with values worked
out from the bytes it wrote. The basic datagram is IPv4 192.0.2.1:40000 -> 192.0.2.2:53 with a
10-byte UDP payload: IP 20 + UDP 8 + 10 = 38 bytes.
"""

import pcapgen
import pytest
from pcapgen import (
    CLIENT_MAC,
    SERVER_MAC,
    Record,
    make_records,
    udp_packet,
    write_pcap,
)

from nfstream import NFStreamer

START_NS = 1_700_000_000_000_000_000
START_MS = START_NS // 1_000_000
ZERO_MAC = "00:00:00:00:00:00"
PAYLOAD = b"0123456789"
IP4 = udp_packet("192.0.2.1", "192.0.2.2", 40000, 53, PAYLOAD)
IP6 = udp_packet("2001:db8::1", "2001:db8::2", 40000, 53, PAYLOAD)


def run(tmp_path, frames, linktype=pcapgen.LINKTYPE_ETHERNET, **params):
    """Write `frames` 1 ms apart, meter them, and return (flows, streamer)."""
    path = tmp_path / "capture.pcap"
    write_pcap(path, make_records(frames, START_NS), linktype=linktype)
    params.setdefault("n_dissections", 0)
    streamer = NFStreamer(source=str(path), **params)
    return list(streamer), streamer


def only_flow(tmp_path, frames, **kwargs):
    flows, _ = run(tmp_path, frames, **kwargs)
    assert len(flows) == 1
    return flows[0]


def ethernet(packet, **kwargs):
    kwargs.setdefault("ethertype", pcapgen.common.ethertype_of(packet))
    return pcapgen.ethernet(packet, **kwargs)


# --------------------------------------------------------------------------------------------
# Link types
# --------------------------------------------------------------------------------------------

LINK_CASES = [
    # (case id, linktype, frame, src_mac, dst_mac)
    ("ethernet", pcapgen.LINKTYPE_ETHERNET, ethernet(IP4), CLIENT_MAC, SERVER_MAC),
    (
        "8023_snap",
        pcapgen.LINKTYPE_ETHERNET,
        pcapgen.ethernet_8023(pcapgen.llc_snap(IP4), dst=SERVER_MAC),
        CLIENT_MAC,
        SERVER_MAC,
    ),
    ("linux_sll", pcapgen.LINKTYPE_LINUX_SLL, pcapgen.linux_sll(IP4), ZERO_MAC, ZERO_MAC),
    ("raw", pcapgen.LINKTYPE_RAW, IP4, ZERO_MAC, ZERO_MAC),
    ("ipv4", pcapgen.LINKTYPE_IPV4, IP4, ZERO_MAC, ZERO_MAC),
    ("null_big_endian", pcapgen.LINKTYPE_NULL, pcapgen.dlt_null(IP4, 2, "big"), ZERO_MAC, ZERO_MAC),
    (
        "null_little_endian",
        pcapgen.LINKTYPE_NULL,
        pcapgen.dlt_null(IP4, 2, "little"),
        ZERO_MAC,
        ZERO_MAC,
    ),
    ("ppp", pcapgen.LINKTYPE_PPP, pcapgen.ppp(IP4), ZERO_MAC, ZERO_MAC),
    ("ppp_cisco_hdlc", pcapgen.LINKTYPE_PPP, pcapgen.cisco_hdlc(IP4), ZERO_MAC, ZERO_MAC),
    ("c_hdlc", pcapgen.LINKTYPE_C_HDLC, pcapgen.cisco_hdlc(IP4), ZERO_MAC, ZERO_MAC),
    (
        "c_hdlc_broadcast",
        pcapgen.LINKTYPE_C_HDLC,
        pcapgen.cisco_hdlc(IP4, address=0x8F),
        ZERO_MAC,
        ZERO_MAC,
    ),
    ("ppp_serial", pcapgen.LINKTYPE_PPP_HDLC, pcapgen.ppp_serial(IP4), ZERO_MAC, ZERO_MAC),
    (
        "radiotap",
        pcapgen.LINKTYPE_IEEE802_11_RADIOTAP,
        pcapgen.radiotap_wifi(IP4),
        CLIENT_MAC,
        SERVER_MAC,
    ),
]


@pytest.mark.parametrize(
    "linktype, frame, src_mac, dst_mac",
    [case[1:] for case in LINK_CASES],
    ids=[case[0] for case in LINK_CASES],
)
def test_link_type_ipv4_fields(tmp_path, linktype, frame, src_mac, dst_mac):
    flow = only_flow(tmp_path, [frame], linktype=linktype)

    assert flow.src_ip == "192.0.2.1"
    assert flow.dst_ip == "192.0.2.2"
    assert flow.src_port == 40000
    assert flow.dst_port == 53
    assert flow.protocol == 17
    assert flow.ip_version == 4
    assert flow.src_mac == src_mac
    assert flow.dst_mac == dst_mac
    assert flow.src_oui == src_mac[:8]
    assert flow.dst_oui == dst_mac[:8]
    assert flow.vlan_id == 0
    assert flow.tunnel_id == 0
    assert flow.bidirectional_packets == 1
    assert flow.bidirectional_bytes == len(frame)


LINK_CASES_V6 = [
    ("ethernet", pcapgen.LINKTYPE_ETHERNET, ethernet(IP6)),
    ("linux_sll", pcapgen.LINKTYPE_LINUX_SLL, pcapgen.linux_sll(IP6, protocol=0x86DD)),
    ("raw", pcapgen.LINKTYPE_RAW, IP6),
    ("ipv6", pcapgen.LINKTYPE_IPV6, IP6),
    ("null_little_endian_af_inet6", pcapgen.LINKTYPE_NULL, pcapgen.dlt_null(IP6, 30, "little")),
    ("null_big_endian_af_inet6", pcapgen.LINKTYPE_NULL, pcapgen.dlt_null(IP6, 10, "big")),
    ("ppp", pcapgen.LINKTYPE_PPP, pcapgen.ppp(IP6, pcapgen.PPP_IPV6)),
    ("ppp_serial", pcapgen.LINKTYPE_PPP_HDLC, pcapgen.ppp_serial(IP6, pcapgen.PPP_IPV6)),
    ("c_hdlc", pcapgen.LINKTYPE_C_HDLC, pcapgen.cisco_hdlc(IP6, 0x86DD)),
    ("radiotap", pcapgen.LINKTYPE_IEEE802_11_RADIOTAP, pcapgen.radiotap_wifi(IP6)),
]


@pytest.mark.parametrize(
    "linktype, frame", [case[1:] for case in LINK_CASES_V6], ids=[case[0] for case in LINK_CASES_V6]
)
def test_link_type_ipv6_fields(tmp_path, linktype, frame):
    flow = only_flow(tmp_path, [frame], linktype=linktype)

    assert flow.src_ip == "2001:db8::1"
    assert flow.dst_ip == "2001:db8::2"
    assert flow.src_port == 40000
    assert flow.dst_port == 53
    assert flow.protocol == 17
    assert flow.ip_version == 6
    assert flow.bidirectional_bytes == len(frame)


def test_ipv6_link_type_version_nibble_decides(tmp_path):
    # LINKTYPE_IPV6 always announces IPv6, but the version nibble decides.
    flow = only_flow(tmp_path, [IP4], linktype=pcapgen.LINKTYPE_IPV6)

    assert flow.ip_version == 4
    assert flow.src_ip == "192.0.2.1"


def test_mac_strings_lowercase_zero_padded(tmp_path):
    frame = ethernet(IP4, src="0A:1B:2C:03:04:05", dst="F0:0D:00:00:0E:01")
    flow = only_flow(tmp_path, [frame])

    assert flow.src_mac == "0a:1b:2c:03:04:05"
    assert flow.dst_mac == "f0:0d:00:00:0e:01"
    assert flow.src_oui == "0a:1b:2c"
    assert flow.dst_oui == "f0:0d:00"


def test_spanning_tree_llc_ignored(tmp_path):
    frames = [pcapgen.ethernet_8023(pcapgen.stp_bpdu(), pad_to=60), ethernet(IP4)]
    flows, streamer = run(tmp_path, frames)

    assert len(flows) == 1
    assert streamer.stats()["ignored_by_reason"]["spanning tree frame"] == 1


def test_radiotap_bad_fcs_ignored(tmp_path):
    # Flags 0x50: the frame carries an FCS (0x10) that is marked bad (0x40).
    frames = [pcapgen.radiotap_wifi(IP4, flags=0x50), pcapgen.radiotap_wifi(IP4, flags=0x10)]
    flows, _ = run(tmp_path, frames, linktype=pcapgen.LINKTYPE_IEEE802_11_RADIOTAP)

    assert len(flows) == 1
    assert flows[0].bidirectional_packets == 1


def test_radiotap_non_data_frame_ignored(tmp_path):
    data = pcapgen.ieee80211_data(
        pcapgen.llc_snap(IP4), "02:00:00:00:00:aa", CLIENT_MAC, SERVER_MAC
    )
    management = bytes([0x80, 0x00]) + data[2:]  # frame control type 0 (management), beacon
    flows, _ = run(
        tmp_path,
        [pcapgen.radiotap(management)],
        linktype=pcapgen.LINKTYPE_IEEE802_11_RADIOTAP,
    )

    assert flows == []


# --------------------------------------------------------------------------------------------
# Tags: VLAN, MPLS, PPPoE
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "vlans, expected",
    [
        ([100], 100),
        ([100, 200], 200),
        ([10, 20, 30], 30),
        ([(0x8100, 0xE000 | 42)], 42),  # priority bits are not part of the VLAN id
        ([(0x8100, 0x1FFF)], 0xFFF),  # DEI bit set too
    ],
)
def test_vlan_innermost_tag_wins(tmp_path, vlans, expected):
    flow = only_flow(tmp_path, [ethernet(IP4, vlans=vlans)])

    assert flow.vlan_id == expected
    assert flow.src_ip == "192.0.2.1"
    assert flow.dst_port == 53


def test_vlan_separates_flows(tmp_path):
    frames = [ethernet(IP4, vlans=[5]), ethernet(IP4, vlans=[6]), ethernet(IP4, vlans=[5])]
    flows, _ = run(tmp_path, frames)

    assert [flow.vlan_id for flow in flows] == [5, 6]
    assert [flow.bidirectional_packets for flow in flows] == [2, 1]


def test_qinq_outer_tag_not_recognised(tmp_path):
    frame = ethernet(IP4, vlans=[(pcapgen.ETHERTYPE_QINQ, 7), 100])
    flows, _ = run(tmp_path, [frame])

    assert flows == []


@pytest.mark.parametrize("labels", [[16], [16, 17, 18]])
@pytest.mark.parametrize("inner", [IP4, IP6], ids=["ipv4", "ipv6"])
def test_mpls_label_stack_skipped(tmp_path, labels, inner):
    frame = pcapgen.ethernet(pcapgen.mpls(inner, labels), ethertype=pcapgen.ETHERTYPE_MPLS)
    flow = only_flow(tmp_path, [frame])

    assert flow.ip_version == inner[0] >> 4
    assert flow.src_port == 40000
    assert flow.dst_port == 53
    assert flow.bidirectional_bytes == len(frame)


def test_pppoe_session(tmp_path):
    frame = pcapgen.ethernet(pcapgen.pppoe_session(IP4), ethertype=pcapgen.ETHERTYPE_PPPOE_SESSION)
    flow = only_flow(tmp_path, [frame])

    assert flow.src_ip == "192.0.2.1"
    assert flow.dst_ip == "192.0.2.2"
    assert flow.dst_port == 53
    assert flow.src_mac == CLIENT_MAC


def test_vlan_then_mpls(tmp_path):
    frame = pcapgen.ethernet(pcapgen.mpls(IP4, [16]), ethertype=pcapgen.ETHERTYPE_MPLS, vlans=[300])
    flow = only_flow(tmp_path, [frame])

    assert flow.vlan_id == 300
    assert flow.dst_port == 53


# --------------------------------------------------------------------------------------------
# IP layer
# --------------------------------------------------------------------------------------------


def test_ipv4_options_skipped(tmp_path):
    segment = pcapgen.udp(PAYLOAD, 40000, 53, "192.0.2.1", "192.0.2.2")
    options = b"\x01\x01\x01\x01\x01\x01\x01\x00"  # NOPs and end of list: IHL 7
    packet = pcapgen.ipv4(segment, "192.0.2.1", "192.0.2.2", 17, options=options)
    flow = only_flow(tmp_path, [ethernet(packet)], accounting_mode=1)

    assert flow.src_port == 40000
    assert flow.dst_port == 53
    assert flow.bidirectional_bytes == 28 + 8 + 10


@pytest.mark.parametrize(
    "headers",
    [
        [pcapgen.hop_by_hop()],
        [pcapgen.destination_options(b"\x01\x04\x00\x00\x00\x00")],
        [pcapgen.routing_header(["2001:db8::99"])],
        [
            pcapgen.hop_by_hop(),
            pcapgen.routing_header(["2001:db8::99"]),
            pcapgen.destination_options(),
        ],
        [pcapgen.fragment_header(offset=0, more=True)],
    ],
    ids=["hop_by_hop", "destination", "routing", "chain", "first_fragment"],
)
def test_ipv6_extension_headers_walked(tmp_path, headers):
    segment = pcapgen.udp(PAYLOAD, 40000, 53, "2001:db8::1", "2001:db8::2")
    packet = pcapgen.ipv6(segment, "2001:db8::1", "2001:db8::2", 17, extension_headers=headers)
    extension_bytes = sum(1 + len(header.body) for header in headers)
    flow = only_flow(tmp_path, [ethernet(packet)], accounting_mode=2)

    assert flow.protocol == 17
    assert flow.src_port == 40000
    assert flow.dst_port == 53
    assert flow.bidirectional_bytes == 18  # transport size: UDP header + payload
    assert len(packet) == 40 + extension_bytes + 18


def test_ipv6_size_includes_extension_headers(tmp_path):
    segment = pcapgen.udp(PAYLOAD, 40000, 53, "2001:db8::1", "2001:db8::2")
    packet = pcapgen.ipv6(
        segment, "2001:db8::1", "2001:db8::2", 17, extension_headers=[pcapgen.hop_by_hop()]
    )
    flow = only_flow(tmp_path, [ethernet(packet)], accounting_mode=1)

    # The payload length: 8-byte hop-by-hop + 18-byte datagram, without the fixed header.
    assert flow.bidirectional_bytes == 26


@pytest.mark.parametrize(
    "headers, next_header",
    [
        ([pcapgen.fragment_header(offset=8)], 17),
        ([pcapgen.hop_by_hop(), pcapgen.fragment_header(offset=16, more=True)], 17),
        ([], pcapgen.IPPROTO_NONE),
    ],
    ids=["non_first_fragment", "non_first_fragment_after_hop_by_hop", "no_next_header"],
)
def test_ipv6_packets_ignored(tmp_path, headers, next_header):
    packet = pcapgen.ipv6(
        b"x" * 16, "2001:db8::1", "2001:db8::2", next_header, extension_headers=headers
    )
    flows, streamer = run(tmp_path, [ethernet(packet), ethernet(IP4)])

    assert len(flows) == 1
    assert flows[0].ip_version == 4
    assert streamer.stats()["ignored_by_reason"]["invalid IPv6 extension header or fragment"] == 1


def test_ipv6_truncated_by_capture_ignored(tmp_path):
    frame = ethernet(IP6)
    records = [
        Record(START_NS, frame[:-1], wirelen=len(frame)),
        Record(START_NS + 1, ethernet(IP4)),
    ]
    path = tmp_path / "capture.pcap"
    write_pcap(path, records)
    flows = list(NFStreamer(source=str(path), n_dissections=0))

    assert [flow.ip_version for flow in flows] == [4]


def test_ipv4_truncated_keeps_header_sizes(tmp_path):
    payload = b"z" * 200
    packet = udp_packet("192.0.2.1", "192.0.2.2", 40000, 53, payload)
    frame = ethernet(packet)
    records = [Record(START_NS, frame[:80], wirelen=len(frame))]
    path = tmp_path / "capture.pcap"
    write_pcap(path, records)
    flows = list(NFStreamer(source=str(path), n_dissections=0, accounting_mode=3))

    assert len(flows) == 1
    assert flows[0].bidirectional_bytes == 200


def ipv4_fragment(offset, more):
    return pcapgen.ipv4(
        pcapgen.udp(b"f" * 16, 40000, 53),
        "192.0.2.1",
        "192.0.2.2",
        17,
        ident=7,
        flags=pcapgen.IP_MF if more else 0,
        fragment_offset=offset,
    )


def test_ipv4_first_fragment_kept_others_dropped(tmp_path):
    frames = [
        ethernet(ipv4_fragment(0, True)),
        ethernet(ipv4_fragment(24, True)),
        ethernet(ipv4_fragment(48, False)),
    ]
    flows, streamer = run(tmp_path, frames, accounting_mode=1)

    assert len(flows) == 1
    assert flows[0].bidirectional_packets == 1
    assert flows[0].dst_port == 53
    assert flows[0].bidirectional_bytes == 20 + 24
    assert streamer.stats()["ignored_by_reason"]["IPv4 fragment"] == 2


@pytest.mark.parametrize(
    "linktype, wrap",
    [
        (pcapgen.LINKTYPE_ETHERNET, lambda packet: pcapgen.ethernet_8023(pcapgen.llc_snap(packet))),
        (pcapgen.LINKTYPE_NULL, lambda packet: pcapgen.dlt_null(packet, 2, "little")),
        (pcapgen.LINKTYPE_PPP, pcapgen.ppp),
        (pcapgen.LINKTYPE_PPP_HDLC, pcapgen.ppp_serial),
    ],
    ids=["snap", "null_little_endian", "ppp", "ppp_serial"],
)
def test_fragment_filter_off_without_ipv4_ethertype(tmp_path, linktype, wrap):
    # These link layers announce a type other than 0x0800, so non-first fragments pass.
    frames = [wrap(ipv4_fragment(0, True)), wrap(ipv4_fragment(24, False))]
    flows, streamer = run(tmp_path, frames, linktype=linktype)

    assert sum(flow.bidirectional_packets for flow in flows) == 2
    assert streamer.stats()["packets_ignored"] == 0


@pytest.mark.parametrize(
    "linktype, wrap",
    [
        (pcapgen.LINKTYPE_NULL, lambda packet: pcapgen.dlt_null(packet, 2, "big")),
        (pcapgen.LINKTYPE_RAW, lambda packet: packet),
        (pcapgen.LINKTYPE_LINUX_SLL, pcapgen.linux_sll),
        (pcapgen.LINKTYPE_C_HDLC, pcapgen.cisco_hdlc),
    ],
    ids=["null_big_endian", "raw", "linux_sll", "c_hdlc"],
)
def test_fragment_filter_on_with_ipv4_type(tmp_path, linktype, wrap):
    frames = [wrap(ipv4_fragment(0, True)), wrap(ipv4_fragment(24, False))]
    flows, streamer = run(tmp_path, frames, linktype=linktype)

    assert sum(flow.bidirectional_packets for flow in flows) == 1
    assert streamer.stats()["ignored_by_reason"]["IPv4 fragment"] == 1


def test_ipv4_total_length_zero_ignored(tmp_path):
    segment = pcapgen.udp(PAYLOAD, 40000, 53, "192.0.2.1", "192.0.2.2")
    packet = pcapgen.ipv4(segment, "192.0.2.1", "192.0.2.2", 17, total_length=0)
    flows, streamer = run(tmp_path, [ethernet(packet)])

    assert flows == []
    assert streamer.stats()["ignored_by_reason"]["invalid IPv4 length"] == 1


@pytest.mark.parametrize(
    "address, expected",
    [
        ("2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"),
        ("1:0:0:1:0:0:0:1", "1:0:0:1::1"),
        ("::ffff:1.2.3.4", "::ffff:1.2.3.4"),
        ("::1.2.3.4", "::1.2.3.4"),
        ("::2", "::2"),
        ("2001:0DB8:00AB:0000:0000:0000:0000:0001", "2001:db8:ab::1"),
        ("fe80::1:2:3:4", "fe80::1:2:3:4"),
        ("1:2:3:4:5:6:7:8", "1:2:3:4:5:6:7:8"),
    ],
)
def test_ipv6_address_text_like_glibc(tmp_path, address, expected):
    packet = udp_packet(address, "2001:db8::2", 40000, 53, PAYLOAD)
    flow = only_flow(tmp_path, [packet], linktype=pcapgen.LINKTYPE_RAW)

    assert flow.src_ip == expected
    assert flow.dst_ip == "2001:db8::2"


@pytest.mark.parametrize(
    "packet, protocol",
    [
        (pcapgen.icmp_echo_packet("192.0.2.1", "192.0.2.2"), 1),
        (pcapgen.icmp_echo_packet("2001:db8::1", "2001:db8::2"), 58),
        (pcapgen.ipv4(b"g" * 24, "192.0.2.1", "192.0.2.2", 47), 47),
        (pcapgen.ipv4(b"\x00" * 6, "192.0.2.1", "192.0.2.2", 6), 6),  # TCP header too short
    ],
    ids=["icmp", "icmpv6", "gre", "short_tcp"],
)
def test_portless_protocols_have_port_zero(tmp_path, packet, protocol):
    flow = only_flow(tmp_path, [ethernet(packet)])

    assert flow.protocol == protocol
    assert flow.src_port == 0
    assert flow.dst_port == 0


def test_same_host_direction_by_port(tmp_path):
    frames = [
        ethernet(udp_packet("192.0.2.1", "192.0.2.1", 1000, 2000, PAYLOAD)),
        ethernet(udp_packet("192.0.2.1", "192.0.2.1", 2000, 1000, PAYLOAD)),
    ]
    flow = only_flow(tmp_path, frames)

    assert flow.src_port == 1000
    assert flow.dst_port == 2000
    assert flow.src2dst_packets == 1
    assert flow.dst2src_packets == 1


def test_icmp_messages_share_one_flow(tmp_path):
    frames = [
        ethernet(pcapgen.icmp_echo_packet("192.0.2.1", "192.0.2.2", ident=1)),
        ethernet(pcapgen.icmp_echo_packet("192.0.2.1", "192.0.2.2", ident=2, sequence=9)),
        ethernet(pcapgen.icmp_echo_packet("192.0.2.2", "192.0.2.1", ident=2, reply=True)),
    ]
    flow = only_flow(tmp_path, frames)

    assert flow.bidirectional_packets == 3
    assert flow.src2dst_packets == 2
    assert flow.dst2src_packets == 1


# --------------------------------------------------------------------------------------------
# IP in IP
# --------------------------------------------------------------------------------------------

INNER4 = udp_packet("10.1.1.1", "10.2.2.2", 1111, 2222, PAYLOAD)
INNER6 = udp_packet("fd00::1", "fd00::2", 1111, 2222, PAYLOAD)


@pytest.mark.parametrize(
    "outer_src, outer_dst, inner, inner_src, inner_dst",
    [
        ("192.0.2.100", "192.0.2.200", INNER4, "10.1.1.1", "10.2.2.2"),
        ("192.0.2.100", "192.0.2.200", INNER6, "fd00::1", "fd00::2"),
        ("2001:db8::100", "2001:db8::200", INNER4, "10.1.1.1", "10.2.2.2"),
        ("2001:db8::100", "2001:db8::200", INNER6, "fd00::1", "fd00::2"),
    ],
    ids=["4in4", "6in4", "4in6", "6in6"],
)
@pytest.mark.parametrize("decode_tunnels", [True, False])
def test_ip_in_ip_always_decapsulated(
    tmp_path, outer_src, outer_dst, inner, inner_src, inner_dst, decode_tunnels
):
    frame = ethernet(pcapgen.ip_in_ip(inner, outer_src, outer_dst))
    flow = only_flow(tmp_path, [frame], decode_tunnels=decode_tunnels)

    assert flow.src_ip == inner_src
    assert flow.dst_ip == inner_dst
    assert flow.src_port == 1111
    assert flow.dst_port == 2222
    assert flow.ip_version == inner[0] >> 4
    assert flow.protocol == 17
    assert flow.bidirectional_bytes == len(frame)
    if decode_tunnels:
        assert flow.tunnel_id == 0
    else:
        assert "tunnel_id" not in flow.keys()


# --------------------------------------------------------------------------------------------
# UDP tunnels: GTP-U, TZSP, CAPWAP
# --------------------------------------------------------------------------------------------

INNER_MAC_SRC = "0a:00:00:00:00:01"
INNER_MAC_DST = "0a:00:00:00:00:02"


def outer_udp(payload, port):
    return ethernet(udp_packet("198.51.100.1", "198.51.100.2", port, port, payload))


TUNNEL_CASES = [
    # (id, frame, tunnel_id, port, src_mac, dst_mac)
    ("gtp", outer_udp(pcapgen.gtp_u(INNER4), 2152), 1, 2152, CLIENT_MAC, SERVER_MAC),
    (
        "gtp_sequence",
        outer_udp(pcapgen.gtp_u(INNER4, sequence=5), 2152),
        1,
        2152,
        CLIENT_MAC,
        SERVER_MAC,
    ),
    (
        "gtp_extension",
        outer_udp(pcapgen.gtp_u(INNER4, extension=(0x85, b"\x00\x01")), 2152),
        1,
        2152,
        CLIENT_MAC,
        SERVER_MAC,
    ),
    (
        "tzsp",
        outer_udp(
            pcapgen.tzsp(pcapgen.ethernet(INNER4, src=INNER_MAC_SRC, dst=INNER_MAC_DST), tags=()),
            37008,
        ),
        3,
        37008,
        INNER_MAC_SRC,
        INNER_MAC_DST,
    ),
    (
        "capwap",
        outer_udp(pcapgen.capwap_wifi(INNER4, src=INNER_MAC_SRC, dst=INNER_MAC_DST), 5247),
        2,
        5247,
        INNER_MAC_SRC,
        INNER_MAC_DST,
    ),
]


@pytest.mark.parametrize(
    "frame, tunnel_id, port, src_mac, dst_mac",
    [case[1:] for case in TUNNEL_CASES],
    ids=[case[0] for case in TUNNEL_CASES],
)
def test_tunnel_decoded(tmp_path, frame, tunnel_id, port, src_mac, dst_mac):
    flow = only_flow(tmp_path, [frame], decode_tunnels=True)

    assert flow.tunnel_id == tunnel_id
    assert flow.src_ip == "10.1.1.1"
    assert flow.dst_ip == "10.2.2.2"
    assert flow.src_port == 1111
    assert flow.dst_port == 2222
    assert flow.protocol == 17
    assert flow.src_mac == src_mac
    assert flow.dst_mac == dst_mac
    assert flow.bidirectional_bytes == len(frame)


@pytest.mark.parametrize(
    "frame, tunnel_id, port, src_mac, dst_mac",
    [case[1:] for case in TUNNEL_CASES],
    ids=[case[0] for case in TUNNEL_CASES],
)
def test_tunnel_not_decoded(tmp_path, frame, tunnel_id, port, src_mac, dst_mac):
    flow = only_flow(tmp_path, [frame], decode_tunnels=False)

    assert flow.src_ip == "198.51.100.1"
    assert flow.dst_ip == "198.51.100.2"
    assert flow.src_port == port
    assert flow.dst_port == port
    assert flow.protocol == 17
    assert flow.src_mac == CLIENT_MAC
    assert "tunnel_id" not in flow.keys()
    with pytest.raises(AttributeError):
        _ = flow.tunnel_id


def test_gtp_inner_ipv6(tmp_path):
    frame = outer_udp(pcapgen.gtp_u(INNER6), 2152)
    flow = only_flow(tmp_path, [frame])

    assert flow.tunnel_id == 1
    assert flow.ip_version == 6
    assert flow.src_ip == "fd00::1"


def test_gtp_non_tpdu_stays_udp(tmp_path):
    message = bytearray(pcapgen.gtp_u(INNER4))
    message[1] = 0x01  # echo request, not a T-PDU
    flow = only_flow(tmp_path, [outer_udp(bytes(message), 2152)])

    assert flow.tunnel_id == 0
    assert flow.src_ip == "198.51.100.1"
    assert flow.dst_port == 2152


def test_tunnel_flows_separate_from_plain(tmp_path):
    frames = [outer_udp(pcapgen.gtp_u(INNER4), 2152), ethernet(INNER4)]
    flows, _ = run(tmp_path, frames)

    assert [flow.tunnel_id for flow in flows] == [1, 0]
    assert [flow.src_ip for flow in flows] == ["10.1.1.1", "10.1.1.1"]


def test_tzsp_tag_length_quirk(tmp_path):
    # A tag other than PAD/END is skipped by its length byte alone, without its 2-byte header,
    # so the inner Ethernet frame is read 3 bytes early and its IP version nibble is 0.
    inner = pcapgen.ethernet(INNER4, src=INNER_MAC_SRC, dst=INNER_MAC_DST)
    frame = outer_udp(pcapgen.tzsp(inner, tags=((10, b"\xd8"),)), 37008)
    flows, streamer = run(tmp_path, [frame])

    assert flows == []
    assert streamer.stats()["ignored_by_reason"]["IP version not 4 or 6"] == 1


def test_tunnel_over_ipv6_outer_not_decoded(tmp_path):
    # The UDP header behind an IPv6 outer header is looked for at the wrong offset.
    outer = udp_packet("2001:db8::a", "2001:db8::b", 2152, 2152, pcapgen.gtp_u(INNER4))
    flow = only_flow(tmp_path, [ethernet(outer)])

    assert flow.tunnel_id == 0
    assert flow.src_ip == "2001:db8::a"


# --------------------------------------------------------------------------------------------
# File formats and sources
# --------------------------------------------------------------------------------------------

# 1.567891234 s after START: milliseconds truncate to 1567 (rounding would give 1568).
ODD_TIME_NS = START_NS + 1_567_891_234


def two_packet_records():
    return [Record(START_NS + 999_999, ethernet(IP4)), Record(ODD_TIME_NS, ethernet(IP4))]


@pytest.mark.parametrize(
    "writer",
    [
        lambda path, records: write_pcap(path, records, resolution="us"),
        lambda path, records: write_pcap(path, records, resolution="ns"),
        lambda path, records: write_pcap(path, records, byteorder="big"),
        lambda path, records: write_pcap(path, records, byteorder="big", resolution="ns"),
        lambda path, records: pcapgen.write_pcapng(path, records, resolution="us"),
        lambda path, records: pcapgen.write_pcapng(path, records, resolution="ns"),
        lambda path, records: pcapgen.write_pcapng(path, records, byteorder="big"),
    ],
    ids=[
        "pcap_us",
        "pcap_ns",
        "pcap_big_endian",
        "pcap_big_endian_ns",
        "pcapng_us",
        "pcapng_ns",
        "pcapng_big_endian",
    ],
)
def test_file_formats_same_flow(tmp_path, writer):
    path = tmp_path / "capture.cap"
    writer(path, two_packet_records())
    flows = list(NFStreamer(source=str(path), n_dissections=0))

    assert len(flows) == 1
    assert flows[0].bidirectional_packets == 2
    assert flows[0].bidirectional_first_seen_ms == START_MS
    assert flows[0].bidirectional_last_seen_ms == START_MS + 1567
    assert flows[0].bidirectional_duration_ms == 1567
    assert flows[0].src_ip == "192.0.2.1"


def test_pcapng_two_sections(tmp_path):
    reply = udp_packet("192.0.2.2", "192.0.2.1", 53, 40000, PAYLOAD)
    first = pcapgen.pcapng_section([Record(START_NS, ethernet(IP4))])
    second = pcapgen.pcapng_section(
        [Record(START_NS + 2_000_000, ethernet(reply))],
        (pcapgen.Interface(resolution="ns"),),
    )
    path = tmp_path / "capture.pcapng"
    path.write_bytes(first + second)
    flows = list(NFStreamer(source=str(path), n_dissections=0))

    assert len(flows) == 1
    assert flows[0].bidirectional_packets == 2
    assert flows[0].dst2src_packets == 1
    assert flows[0].bidirectional_duration_ms == 2


def test_several_files_one_source(tmp_path):
    reply = udp_packet("192.0.2.2", "192.0.2.1", 53, 40000, PAYLOAD * 2)
    other = udp_packet("192.0.2.1", "192.0.2.3", 40001, 53, PAYLOAD)
    first = tmp_path / "first.pcap"
    second = tmp_path / "second.pcap"
    write_pcap(
        first, [Record(START_NS, ethernet(IP4)), Record(START_NS + 1_000_000, ethernet(other))]
    )
    write_pcap(
        second,
        [Record(START_NS + 5_000_000, ethernet(reply, src=SERVER_MAC, dst=CLIENT_MAC))],
        resolution="ns",
    )
    flows = list(NFStreamer(source=[str(first), str(second)], n_dissections=0))

    assert [flow.id for flow in flows] == [0, 1]
    spanning = flows[0]
    assert spanning.dst_ip == "192.0.2.2"
    assert spanning.bidirectional_packets == 2
    assert spanning.src2dst_packets == 1
    assert spanning.dst2src_packets == 1
    assert spanning.dst2src_first_seen_ms == START_MS + 5
    assert spanning.bidirectional_duration_ms == 5
    assert flows[1].dst_ip == "192.0.2.3"


def test_several_files_different_link_types(tmp_path):
    first = tmp_path / "ethernet.pcap"
    second = tmp_path / "raw.pcap"
    write_pcap(first, [Record(START_NS, ethernet(IP4))])
    write_pcap(second, [Record(START_NS + 1_000_000, IP4)], linktype=pcapgen.LINKTYPE_RAW)
    flows = list(NFStreamer(source=[first, second], n_dissections=0))

    assert len(flows) == 1
    assert flows[0].bidirectional_packets == 2
    assert flows[0].src_mac == CLIENT_MAC


@pytest.mark.parametrize(
    "bpf_filter, expected_ports",
    [
        (None, [53, 80]),
        ("udp port 53", [53]),
        ("tcp", [80]),
        ("host 192.0.2.9", []),
    ],
)
def test_bpf_filter(tmp_path, bpf_filter, expected_ports):
    tcp = pcapgen.tcp_packet("192.0.2.1", "192.0.2.2", 40001, 80, flags="S")
    flows, _ = run(tmp_path, [ethernet(IP4), ethernet(tcp)], bpf_filter=bpf_filter)

    assert [flow.dst_port for flow in flows] == expected_ports
