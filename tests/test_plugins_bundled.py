"""Tests of the plugins in nfstream.plugins: SPLT, FlowSlicer, DHCP and MDNS.

Each test writes a small capture with pcapgen and checks values worked out by hand from the
frames it built. Frame sizes used below: Ethernet 14 + IPv4 20 + TCP 20 bytes, plus 12 bytes
of options on SYN segments (MSS 4, SACK-permitted 2, NOP + window scale 4, NOP padding 2).
"""

import socket
import struct

import pytest

import pcapgen
from nfstream import NFPlugin, NFStreamer
from nfstream.plugins import DHCP, MDNS, SPLT, FlowSlicer, MsgType
from nfstream.plugins._dns import ptr_targets, read_name
from nfstream.plugins.dhcp import parse_dhcp

CLIENT = pcapgen.Endpoint("192.0.2.1", 40000, pcapgen.CLIENT_MAC)
SERVER = pcapgen.Endpoint("192.0.2.2", 443, pcapgen.SERVER_MAC)
START_NS = 1_700_000_000_000_000_000


def write(tmp_path, records, name="capture.pcap"):
    path = tmp_path / name
    pcapgen.write_pcap(path, records)
    return str(path)


def run(path, plugins, **options):
    return list(NFStreamer(source=path, udps=plugins, n_dissections=0, **options))


def udp_frame(src, dst, sport, dport, payload, offset_ms, src_mac=pcapgen.CLIENT_MAC,
              dst_mac=pcapgen.SERVER_MAC):
    packet = pcapgen.udp_packet(src, dst, sport, dport, payload)
    ethertype = pcapgen.ETHERTYPE_IPV6 if pcapgen.is_ipv6(src) else pcapgen.ETHERTYPE_IPV4
    frame = pcapgen.ethernet(packet, src=src_mac, dst=dst_mac, ethertype=ethertype)
    return pcapgen.Record(START_NS + offset_ms * 1_000_000, frame)


# --------------------------------------------------------------------------------------------
# SPLT
# --------------------------------------------------------------------------------------------

def tcp_exchange(tmp_path):
    """Write a 6-packet TCP flow: handshake at 0/5/10 ms, 100 bytes out, 200 back, an ACK.

    Frame sizes: SYN 66, SYN-ACK 66, ACK 54, data 154 and 254, ACK 54.
    """
    steps = [*pcapgen.tcp_handshake(0.0, 0.010),
             (">", b"x" * 100, "PA", 0.020),
             ("<", b"y" * 200, "PA", 0.050),
             (">", b"", "A", 0.060)]
    return write(tmp_path, pcapgen.conversation(CLIENT, SERVER, steps, start_ns=START_NS))


@pytest.mark.parametrize("mode, sizes", [
    (0, [66, 66, 54, 154, 254]),
    (1, [52, 52, 40, 140, 240]),
    (2, [32, 32, 20, 120, 220]),
    (3, [0, 0, 0, 100, 200]),
])
def test_splt_first_five_packets(tmp_path, mode, sizes):
    path = tcp_exchange(tmp_path)

    [flow] = run(path, SPLT(sequence_length=5, accounting_mode=mode))

    assert flow.bidirectional_packets == 6
    assert flow.udps.splt_direction == [0, 1, 0, 0, 1]
    assert flow.udps.splt_ps == sizes
    assert flow.udps.splt_piat_ms == [0, 5, 5, 10, 30]


def test_splt_flow_shorter_than_sequence(tmp_path):
    path = tcp_exchange(tmp_path)

    [flow] = run(path, SPLT(sequence_length=8))

    assert flow.udps.splt_direction == [0, 1, 0, 0, 1, 0, -1, -1]
    assert flow.udps.splt_ps == [66, 66, 54, 154, 254, 54, -1, -1]
    assert flow.udps.splt_piat_ms == [0, 5, 5, 10, 30, 10, -1, -1]


def test_splt_single_packet_flow(tmp_path):
    path = write(tmp_path, [udp_frame("192.0.2.1", "192.0.2.2", 5000, 6000, b"abc", 0)])

    [flow] = run(path, SPLT(sequence_length=3, accounting_mode=3))

    assert flow.udps.splt_direction == [0, -1, -1]
    assert flow.udps.splt_ps == [3, -1, -1]
    assert flow.udps.splt_piat_ms == [0, -1, -1]


@pytest.mark.parametrize("mode", [0, 1, 2, 3])
@pytest.mark.parametrize("length", [1, 4, 6, 10])
def test_splt_matches_native_analysis(tmp_path, mode, length):
    path = tcp_exchange(tmp_path)

    [flow] = run(path, SPLT(sequence_length=length, accounting_mode=mode),
                 splt_analysis=length, accounting_mode=mode)

    assert flow.udps.splt_direction == flow.splt_direction
    assert flow.udps.splt_ps == flow.splt_ps
    assert flow.udps.splt_piat_ms == flow.splt_piat_ms


def test_splt_columns_in_creation_order(tmp_path):
    path = tcp_exchange(tmp_path)

    [flow] = run(path, SPLT())

    udps_keys = [key for key in flow.keys() if key.startswith("udps.")]
    assert udps_keys == ["udps.splt_direction", "udps.splt_ps", "udps.splt_piat_ms"]


@pytest.mark.parametrize("options", [
    {"sequence_length": 0},
    {"sequence_length": -3},
    {"sequence_length": 2.5},
    {"sequence_length": "5"},
    {"accounting_mode": 4},
    {"accounting_mode": -1},
])
def test_splt_rejects_invalid_parameters(options):
    value = next(iter(options.values()))

    with pytest.raises(ValueError, match=repr(value).replace(".", r"\.")):
        SPLT(**options)


# --------------------------------------------------------------------------------------------
# FlowSlicer
# --------------------------------------------------------------------------------------------

def udp_flow_of(tmp_path, packets):
    """Write one UDP flow of ``packets`` datagrams, alternating direction, 1 ms apart."""
    steps = [(">" if index % 2 == 0 else "<", b"datagram %02d" % index, "", index * 0.001)
             for index in range(packets)]
    records = pcapgen.conversation(CLIENT, pcapgen.Endpoint("192.0.2.2", 9000), steps,
                                   protocol="udp", start_ns=START_NS)
    return write(tmp_path, records)


@pytest.mark.parametrize("limit, sizes", [
    (4, [4] * 7),
    (5, [5, 5, 5, 5, 5, 3]),
    (1, [1] * 28),
    (28, [28]),
    (40, [28]),
])
def test_flow_slicer_cuts_28_packets(tmp_path, limit, sizes):
    path = udp_flow_of(tmp_path, 28)

    flows = run(path, FlowSlicer(limit=limit))

    assert [flow.bidirectional_packets for flow in flows] == sizes
    assert [flow.id for flow in flows] == list(range(len(sizes)))
    # A piece that starts with a reply has the server as its source, so compare endpoint sets.
    endpoints = {frozenset([(flow.src_ip, flow.src_port), (flow.dst_ip, flow.dst_port)])
                 for flow in flows}
    assert endpoints == {frozenset([("192.0.2.1", 40000), ("192.0.2.2", 9000)])}


def test_flow_slicer_positional_limit(tmp_path):
    path = udp_flow_of(tmp_path, 6)

    flows = run(path, FlowSlicer(3))

    assert [flow.bidirectional_packets for flow in flows] == [3, 3]


@pytest.mark.parametrize("limit", [0, -1, 2.5, "4", True, None])
def test_flow_slicer_rejects_invalid_limit(limit):
    with pytest.raises(ValueError, match=repr(limit).replace(".", r"\.")):
        FlowSlicer(limit=limit)


# --------------------------------------------------------------------------------------------
# DHCP
# --------------------------------------------------------------------------------------------

def dhcp_payload(options, ciaddr="0.0.0.0", chaddr=pcapgen.CLIENT_MAC, hlen=6,
                 cookie=0x63825363):
    """Build a BOOTP client message whose options area is ``options`` followed by END."""
    hardware = pcapgen.mac_bytes(chaddr) + b"\x00" * 10
    fixed = struct.pack("!BBBBIHH4s4s4s4s16s64s128sI", 1, 1, hlen, 0, 0x11223344, 0, 0,
                        socket.inet_aton(ciaddr), bytes(4), bytes(4), bytes(4), hardware,
                        b"", b"", cookie)
    return fixed + options + b"\xff"


def option(code, value):
    return bytes([code, len(value)]) + value


def message_type_option(kind):
    return option(53, bytes([kind]))


def dhcp_frame(payload, offset_ms, src="0.0.0.0", dst="255.255.255.255", sport=68, dport=67):
    return udp_frame(src, dst, sport, dport, payload, offset_ms, dst_mac="ff:ff:ff:ff:ff:ff")


DHCP_DEFAULTS = {
    "dhcp_12": None, "dhcp_50": None, "dhcp_55": None, "dhcp_57": None, "dhcp_60": None,
    "dhcp_77": None, "dhcp_options": [], "dhcp_addr": None, "dhcp_msg_type": None,
    "dhcp_oui": None,
}


def dhcp_columns(flow):
    return {name: getattr(flow.udps, name) for name in DHCP_DEFAULTS}


def test_dhcp_columns_in_order(tmp_path):
    path = write(tmp_path, [dhcp_frame(pcapgen.dhcp_discover(), 0)])

    [flow] = run(path, DHCP())

    udps_keys = [key for key in flow.keys() if key.startswith("udps.")]
    assert udps_keys == [f"udps.{name}" for name in DHCP_DEFAULTS]


def test_dhcp_broadcast_transaction(tmp_path):
    # DISCOVER and REQUEST come from 0.0.0.0, so each is a one-packet flow. The server's OFFER
    # and ACK go to port 68, so their flow is not read and keeps the defaults.
    server = {"src": "192.0.2.254", "dst": "255.255.255.255", "sport": 67, "dport": 68}
    records = [
        dhcp_frame(pcapgen.dhcp_discover(), 0),
        dhcp_frame(dhcp_payload(message_type_option(2)), 10, **server),
        dhcp_frame(pcapgen.dhcp_request(), 20),
        dhcp_frame(dhcp_payload(message_type_option(5)), 30, **server),
    ]
    path = write(tmp_path, records)

    discover, request, server_flow = run(path, DHCP())

    assert discover.bidirectional_packets == 1
    assert dhcp_columns(discover) == {
        **DHCP_DEFAULTS, "dhcp_12": "pcapgen-host", "dhcp_msg_type": MsgType.DISCOVER}
    assert request.bidirectional_packets == 1
    assert dhcp_columns(request) == {
        **DHCP_DEFAULTS, "dhcp_12": "pcapgen-host", "dhcp_50": "192.0.2.77",
        "dhcp_55": "1,3,6,15,28,51", "dhcp_options": [53, 55, 12, 50],
        "dhcp_msg_type": MsgType.REQUEST, "dhcp_oui": "02:00:00"}
    assert server_flow.bidirectional_packets == 2
    assert server_flow.src_port == 67
    assert dhcp_columns(server_flow) == DHCP_DEFAULTS


def test_dhcp_renewal_expires_on_ack(tmp_path):
    # A bound client renews by unicast from its own address, so the server's ACK arrives in
    # the same flow (destination port 67) and ends it. The next REQUEST starts a new flow.
    renewal = dhcp_payload(message_type_option(3) + option(57, b"\x05\xdc"), ciaddr="192.0.2.77")
    ack = dhcp_payload(message_type_option(5) + option(12, b"server-side-name"))
    client = {"src": "192.0.2.77", "dst": "192.0.2.254"}
    server = {"src": "192.0.2.254", "dst": "192.0.2.77", "sport": 67, "dport": 68}
    records = [dhcp_frame(renewal, 0, **client), dhcp_frame(ack, 5, **server),
               dhcp_frame(renewal, 60, **client)]
    path = write(tmp_path, records)

    first, second = run(path, DHCP())

    assert first.bidirectional_packets == 2
    assert dhcp_columns(first) == {
        **DHCP_DEFAULTS, "dhcp_12": "server-side-name", "dhcp_57": 1500,
        "dhcp_options": [53, 57], "dhcp_addr": "192.0.2.77", "dhcp_msg_type": MsgType.REQUEST,
        "dhcp_oui": "02:00:00"}
    assert second.bidirectional_packets == 1
    assert second.udps.dhcp_addr == "192.0.2.77"


@pytest.mark.parametrize("kind, packets_per_flow", [
    (1, [3]), (2, [3]), (3, [3]), (4, [1, 2]), (5, [1, 2]), (6, [1, 2]), (7, [3]), (8, [1, 2]),
    (0, [3]), (42, [3]), (255, [3]),
])
def test_dhcp_message_type_expiry(tmp_path, kind, packets_per_flow):
    first = dhcp_payload(message_type_option(kind), ciaddr="192.0.2.77")
    request = dhcp_payload(message_type_option(3), ciaddr="192.0.2.77")
    client = {"src": "192.0.2.77", "dst": "192.0.2.254"}
    records = [dhcp_frame(first, 0, **client), dhcp_frame(request, 1, **client),
               dhcp_frame(request, 2, **client)]
    path = write(tmp_path, records)

    flows = run(path, DHCP())

    assert [flow.bidirectional_packets for flow in flows] == packets_per_flow
    assert flows[0].udps.dhcp_msg_type == kind


def test_dhcp_unknown_message_type_kept_as_int(tmp_path):
    payload = dhcp_payload(message_type_option(42), ciaddr="192.0.2.77")
    path = write(tmp_path, [dhcp_frame(payload, 0, src="192.0.2.77", dst="192.0.2.254"),
                            dhcp_frame(payload, 1)])

    # The message from 0.0.0.0 expires at once; the other flow ends with the capture.
    from_zero, unknown = run(path, DHCP())

    assert unknown.udps.dhcp_msg_type == 42
    assert not isinstance(unknown.udps.dhcp_msg_type, MsgType)
    assert unknown.udps.dhcp_options == []
    assert from_zero.bidirectional_packets == 1
    assert from_zero.udps.dhcp_msg_type == 42


def test_dhcp_missing_message_type_is_zero(tmp_path):
    payload = dhcp_payload(option(12, b"nameless"), ciaddr="192.0.2.77")
    path = write(tmp_path, [dhcp_frame(payload, 0, src="192.0.2.77", dst="192.0.2.254")])

    [flow] = run(path, DHCP())

    assert flow.udps.dhcp_msg_type == 0
    assert flow.udps.dhcp_12 == "nameless"


def test_dhcp_msg_type_text():
    assert str(MsgType.REQUEST) == "MsgType.REQUEST"
    assert f"{MsgType.ACK}" == "MsgType.ACK"
    assert MsgType.INFORM == 8


def test_dhcp_text_options_replace_invalid_utf8(tmp_path):
    options = (message_type_option(1) + option(12, b"host\xffname") + option(60, b"MSFT\xc3")
               + option(77, b"") + option(57, b"\x02\x40"))
    path = write(tmp_path, [dhcp_frame(dhcp_payload(options), 0)])

    [flow] = run(path, DHCP())

    assert flow.udps.dhcp_12 == "host\ufffdname"
    assert flow.udps.dhcp_60 == "MSFT\ufffd"
    assert flow.udps.dhcp_77 == ""
    assert flow.udps.dhcp_57 == 576


def test_dhcp_empty_hostname_ignored(tmp_path):
    options = message_type_option(1) + option(12, b"")
    path = write(tmp_path, [dhcp_frame(dhcp_payload(options), 0)])

    [flow] = run(path, DHCP())

    assert flow.udps.dhcp_12 is None


def test_dhcp_request_with_odd_fields(tmp_path):
    # A 16-byte option 50 is not an IPv4 address, and a 2-byte hardware address has no OUI.
    options = message_type_option(3) + option(50, bytes(16)) + option(55, b"")
    path = write(tmp_path, [dhcp_frame(dhcp_payload(options, hlen=2), 0)])

    [flow] = run(path, DHCP())

    assert flow.udps.dhcp_50 is None
    assert flow.udps.dhcp_55 == ""
    assert flow.udps.dhcp_oui is None
    assert flow.udps.dhcp_options == [53, 50, 55]


MALFORMED_DHCP = {
    "short": dhcp_payload(message_type_option(5))[:200],
    "no_cookie": dhcp_payload(message_type_option(5), cookie=0x01020304),
    "option_past_end": dhcp_payload(message_type_option(5))[:-1] + b"\x0c\x10abc",
    "length_byte_missing": dhcp_payload(message_type_option(5))[:-1] + b"\x0c",
    "empty": b"",
}


@pytest.mark.parametrize("payload", MALFORMED_DHCP.values(), ids=MALFORMED_DHCP.keys())
def test_dhcp_malformed_packet_skipped(tmp_path, payload):
    # Skipped packets neither set columns nor expire the flow, even from 0.0.0.0.
    path = write(tmp_path, [dhcp_frame(payload, 0), dhcp_frame(payload, 1)])

    [flow] = run(path, DHCP())

    assert flow.bidirectional_packets == 2
    assert dhcp_columns(flow) == DHCP_DEFAULTS


def test_dhcp_parser_never_raises_on_cut_messages():
    message = dhcp_payload(message_type_option(3) + option(12, b"host") + option(55, b"\x01"))

    parsed = [parse_dhcp(message[:length]) for length in range(len(message) + 1)]

    assert parsed[-1] is not None
    assert parsed[-1].options == [(53, b"\x03"), (12, b"host"), (55, b"\x01")]
    # Without the END option the options area may stop after any complete option.
    complete = {240, 243, 249, 252}
    assert [length for length, value in enumerate(parsed) if value is not None] == \
        sorted(complete | {len(message)})


def test_dhcp_other_port_not_read(tmp_path):
    payload = dhcp_payload(message_type_option(5))
    path = write(tmp_path, [dhcp_frame(payload, 0, dport=6767)])

    [flow] = run(path, DHCP())

    assert dhcp_columns(flow) == DHCP_DEFAULTS


# --------------------------------------------------------------------------------------------
# MDNS
# --------------------------------------------------------------------------------------------

MDNS_V4 = ("192.0.2.5", "224.0.0.251")


def mdns_frame(payload, offset_ms, addresses=MDNS_V4, dport=5353):
    return udp_frame(addresses[0], addresses[1], 5353, dport, payload, offset_ms,
                     dst_mac="01:00:5e:00:00:fb")


def compressed_response():
    """Build an mDNS response whose names use compression pointers.

    Byte offsets, worked out by hand:

    * 0-11: header.
    * 12-41: answer 1 owner "_services._dns-sd._udp.local", whose "local" label is at 35.
    * 42-51: answer 1 type, class, TTL and data length.
    * 52-64: answer 1 data, "_http" "_tcp" then a pointer to 35, so "_http._tcp.local".
    * 65-66: answer 2 owner, a pointer to 52.
    * 77-85: answer 2 data, "Office" then a pointer to 52, so "Office._http._tcp.local".
    * 86: answer 3, an A record owned by a pointer to 77, which must be ignored.
    """
    header = struct.pack("!HHHHHH", 0, 0x8400, 0, 3, 0, 0)
    owner = pcapgen.dns_name("_services._dns-sd._udp.local")
    first_data = b"\x05_http\x04_tcp\xc0\x23"
    first = owner + struct.pack("!HHIH", 12, 1, 4500, len(first_data)) + first_data
    second_data = b"\x06Office\xc0\x34"
    second = b"\xc0\x34" + struct.pack("!HHIH", 12, 1, 4500, len(second_data)) + second_data
    third = b"\xc0\x4d" + struct.pack("!HHIH", 1, 1, 120, 4) + socket.inet_aton("192.0.2.5")
    return header + first + second + third


def test_mdns_compressed_names():
    message = compressed_response()

    assert read_name(message, 12) == ("_services._dns-sd._udp.local", 42)
    assert read_name(message, 52) == ("_http._tcp.local", 65)
    assert read_name(message, 77) == ("Office._http._tcp.local", 86)
    assert read_name(message, 86) == ("Office._http._tcp.local", 88)
    assert ptr_targets(message) == ["_http._tcp.local", "Office._http._tcp.local"]


def test_mdns_ptr_list_unique_in_order(tmp_path):
    first = pcapgen.mdns_ptr_response([
        ("_ipp._tcp.local", "Printer, 2nd floor._ipp._tcp.local"),
        ("_http._tcp.local", "Office._http._tcp.local"),
    ])
    records = [mdns_frame(first, 0), mdns_frame(compressed_response(), 10),
               mdns_frame(first, 20)]
    path = write(tmp_path, records)

    [flow] = run(path, MDNS())

    assert flow.bidirectional_packets == 3
    assert flow.udps.mdns_ptr == ["Printer  2nd floor._ipp._tcp.local",
                                  "Office._http._tcp.local", "_http._tcp.local"]


def test_mdns_query_known_answers(tmp_path):
    # A query lists the answers it already has (known-answer suppression, RFC 6762 section
    # 7.1), so the question section must be skipped first.
    question = pcapgen.dns_name("_airplay._tcp.local") + struct.pack("!HH", 12, 1)
    target = pcapgen.dns_name("Living Room._airplay._tcp.local")
    answer = b"\xc0\x0c" + struct.pack("!HHIH", 12, 1, 4500, len(target)) + target
    query = struct.pack("!HHHHHH", 0, 0, 1, 1, 0, 0) + question + answer
    path = write(tmp_path, [mdns_frame(query, 0)])

    [flow] = run(path, MDNS())

    assert flow.udps.mdns_ptr == ["Living Room._airplay._tcp.local"]


def test_mdns_ipv6(tmp_path):
    response = pcapgen.mdns_ptr_response([("_ssh._tcp.local", "host._ssh._tcp.local")])
    path = write(tmp_path, [mdns_frame(response, 0, addresses=("fe80::5", "ff02::fb"))])

    [flow] = run(path, MDNS())

    assert flow.ip_version == 6
    assert flow.udps.mdns_ptr == ["host._ssh._tcp.local"]


def test_mdns_other_port_not_read(tmp_path):
    response = pcapgen.mdns_ptr_response([("_ssh._tcp.local", "host._ssh._tcp.local")])
    path = write(tmp_path, [mdns_frame(response, 0, dport=53)])

    [flow] = run(path, MDNS())

    assert flow.udps.mdns_ptr == []


def pointer_loop_message(pointer):
    """Build a response whose only PTR target is label "a" followed by ``pointer``."""
    data = b"\x01a" + pointer
    return struct.pack("!HHHHHH", 0, 0x8400, 0, 1, 0, 0) + b"\x00" + \
        struct.pack("!HHIH", 12, 1, 4500, len(data)) + data


MALFORMED_DNS = {
    "pointer_to_itself": pointer_loop_message(b"\xc0\x19"),
    "pointer_back_into_label": pointer_loop_message(b"\xc0\x17"),
    "pointer_forward": pointer_loop_message(b"\xc0\x30"),
    "pointer_cut": pointer_loop_message(b"\xc0"),
    "reserved_label_type": pointer_loop_message(b"\x40"),
    "label_past_end": pointer_loop_message(b"\x3f"),
    "name_too_long": struct.pack("!HHHHHH", 0, 0x8400, 0, 1, 0, 0)
    + b"\x3f" + b"a" * 63 + b"\x3f" + b"b" * 63 + b"\x3f" + b"c" * 63 + b"\x3f" + b"d" * 63
    + b"\x00" + struct.pack("!HHIH", 12, 1, 1, 0),
    "record_cut": pcapgen.mdns_ptr_response([("_a._tcp.local", "b._a._tcp.local")])[:-3],
    "header_only": b"\x00" * 11,
}


@pytest.mark.parametrize("message", MALFORMED_DNS.values(), ids=MALFORMED_DNS.keys())
def test_mdns_malformed_packet_skipped(tmp_path, message):
    assert ptr_targets(message) is None
    path = write(tmp_path, [mdns_frame(message, 0)])

    [flow] = run(path, MDNS())

    assert flow.udps.mdns_ptr == []


def test_mdns_invalid_utf8_label_replaced():
    message = pointer_loop_message(b"\x00").replace(b"\x01a", b"\x01\xff")

    assert ptr_targets(message) == ["\ufffd"]


# --------------------------------------------------------------------------------------------
# Captures recorded with nfstream
# --------------------------------------------------------------------------------------------

def test_dhcp_plugin_on_dhcp_pcap(conformance_dir):
    # Both client messages come from 0.0.0.0, so the DISCOVER and the REQUEST are one-packet
    # flows. The server's OFFER and ACK (port 67 to 68) make the third flow, which is not read.
    flows = run(str(conformance_dir / "pcaps" / "dhcp.pcap"), DHCP())

    assert [flow.bidirectional_packets for flow in flows] == [1, 1, 2]
    discover, request, server = flows
    assert discover.udps.dhcp_msg_type == MsgType.DISCOVER
    assert discover.udps.dhcp_55 is None
    assert request.udps.dhcp_msg_type == MsgType.REQUEST
    assert str(request.udps.dhcp_msg_type) == "MsgType.REQUEST"
    assert request.udps.dhcp_55 == "1,3,6,42"
    assert request.udps.dhcp_50 == "192.168.0.10"
    assert request.udps.dhcp_options == [53, 61, 50, 54, 55]
    assert request.udps.dhcp_oui == "00:0b:82"
    assert request.udps.dhcp_addr is None
    assert server.src_ip == "192.168.0.1"
    assert server.udps.dhcp_msg_type is None


def test_splt_plugin_on_google_ssl(conformance_dir):
    flows = run(str(conformance_dir / "pcaps" / "google_ssl.pcap"), SPLT(5, 0),
                splt_analysis=5)

    first = flows[0]
    assert first.udps.splt_direction == [0, 1, 0, 0, 1]
    assert first.udps.splt_ps == [58, 60, 54, 180, 60]
    assert first.udps.splt_piat_ms == [0, 34, 134, 144, 35]
    for flow in flows:
        assert flow.udps.splt_ps == flow.splt_ps
        assert flow.udps.splt_piat_ms == flow.splt_piat_ms
        assert flow.udps.splt_direction == flow.splt_direction


class DpktPtrReference(NFPlugin):
    """PTR targets read with dpkt, the way nfstream 6.x reads them, as a cross-check.

    dpkt rejects whole messages for reasons unrelated to PTR records (for example an NSEC
    record in the additional section). ``udps.reference_complete`` marks the flows where
    dpkt read every packet, and only those are compared.
    """

    def on_init(self, packet, flow):
        flow.udps.reference_ptr = []
        flow.udps.reference_complete = True
        self.on_update(packet, flow)

    def on_update(self, packet, flow):
        import dpkt

        if flow.dst_port != 5353 or packet.ip_version != 4:
            return
        try:
            message = dpkt.dns.DNS(dpkt.ip.IP(packet.ip_packet).data.data)
        except (dpkt.NeedData, dpkt.UnpackError):
            flow.udps.reference_complete = False
            return
        for answer in message.an:
            name = answer.ptrname.replace(",", " ") if answer.type == 12 else None
            if name is not None and name not in flow.udps.reference_ptr:
                flow.udps.reference_ptr.append(name)


def test_mdns_plugin_on_mdns_pcap_matches_dpkt(conformance_dir):
    pytest.importorskip("dpkt")

    flows = run(str(conformance_dir / "pcaps" / "mdns.pcap"), [MDNS(), DpktPtrReference()])

    compared = [flow for flow in flows
                if flow.ip_version == 4 and flow.udps.reference_complete]
    assert sum(1 for flow in compared if flow.udps.mdns_ptr) >= 3
    for flow in compared:
        assert flow.udps.mdns_ptr == flow.udps.reference_ptr
    assert any(flow.udps.mdns_ptr for flow in flows if flow.ip_version == 6)
