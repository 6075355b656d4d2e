"""The plugin API: classic plugins= (process/giveup) and udps= (on_init/on_update/on_expire).

Tests record what each hook sees on small captures and compare with the packets they wrote.
The default flow is UDP 192.0.2.1:40000 <-> 192.0.2.2:53 on Ethernet; a query has a
10-byte payload (frame 52 bytes), a reply a 20-byte payload (frame 62 bytes).
"""

import gc
import pickle

import pcapgen
import pytest
from pcapgen import CLIENT_MAC, SERVER_MAC, Record, write_pcap

from nfstream import NFPacket, NFPlugin, NFStreamer

START_NS = 1_700_000_000_000_000_000
START_MS = START_NS // 1_000_000

QUERY_IP = pcapgen.udp_packet("192.0.2.1", "192.0.2.2", 40000, 53, b"q" * 10)
REPLY_IP = pcapgen.udp_packet("192.0.2.2", "192.0.2.1", 53, 40000, b"r" * 20)
QUERY = pcapgen.ethernet(QUERY_IP, src=CLIENT_MAC, dst=SERVER_MAC)
REPLY = pcapgen.ethernet(REPLY_IP, src=SERVER_MAC, dst=CLIENT_MAC)


def other_flow(sport):
    return pcapgen.ethernet(pcapgen.udp_packet("192.0.2.1", "192.0.2.3", sport, 53, b"o"))


def write(tmp_path, timed_frames):
    """Write (offset_ms, frame) pairs and return the path as a string."""
    path = tmp_path / "capture.pcap"
    write_pcap(path, [Record(START_NS + ms * 1_000_000, frame) for ms, frame in timed_frames])
    return str(path)


def run(path, **params):
    params.setdefault("n_dissections", 0)
    return list(NFStreamer(source=path, **params))


@pytest.fixture
def exchange(tmp_path):
    """Query at 0 ms, reply at 4 ms, query at 10 ms: one flow of three packets."""
    return write(tmp_path, [(0, QUERY), (4, REPLY), (10, QUERY)])


class Recorder(NFPlugin):
    """Appends (hook, flow src_port, bidirectional_packets) to self.events."""

    def on_init(self, packet, flow):
        self.events.append(("on_init", packet.src_port, flow.bidirectional_packets))

    def on_update(self, packet, flow):
        self.events.append(("on_update", packet.src_port, flow.bidirectional_packets))

    def on_expire(self, flow):
        self.events.append(("on_expire", flow.src_port, flow.bidirectional_packets))

    def cleanup(self):
        self.events.append(("cleanup", None, None))


# --------------------------------------------------------------------------------------------
# Classic API: plugins=
# --------------------------------------------------------------------------------------------


class Counter(NFPlugin):
    """Classic plugin: adds 1 to flow.<name> per packet and records giveup."""

    def process(self, packet, flow):
        setattr(flow, self.name, getattr(flow, self.name) + 1)

    def giveup(self, flow):
        self.given_up.append(getattr(flow, self.name))


def test_classic_plugin_counts_every_packet(exchange):
    counter = Counter(name="seen", given_up=[])
    flows = run(exchange, plugins=[counter])

    assert len(flows) == 1
    # Starts at 0 (no init_function); process runs on all three packets, the first included.
    assert flows[0].seen == 3
    assert counter.given_up == [3]


def test_classic_init_function_gets_first_packet(exchange):
    counter = Counter(name="seen", init_function=lambda packet: packet.raw_size, given_up=[])
    flows = run(exchange, plugins=[counter])

    assert flows[0].seen == 52 + 3


def test_classic_column_after_builtin_columns(exchange):
    counter = Counter(name="seen", given_up=[])
    flow = run(exchange, plugins=[counter])[0]

    assert flow.keys()[-1] == "seen"
    assert flow.values()[-1] == 3
    assert flow.keys()[:-1] == NFStreamer(source=exchange, n_dissections=0)._core_columns()


def test_classic_volatile_attribute_removed(exchange):
    class Helper(NFPlugin):
        def giveup(self, flow):
            flow.kept = flow.scratch * 10

    helper = Helper(name="scratch", volatile=True, init_function=lambda packet: 7)
    keeper = Counter(name="kept", given_up=[])
    flow = run(exchange, plugins=[helper, keeper])[0]

    assert not hasattr(flow, "scratch")
    assert "scratch" not in flow.keys()
    assert flow.kept == 70
    assert flow.keys()[-1] == "kept"


def test_classic_default_name_is_class_name(exchange):
    class Marker(NFPlugin):
        pass

    flow = run(exchange, plugins=[Marker()])[0]

    assert flow.Marker == 0
    assert flow.keys()[-1] == "Marker"


def test_classic_duplicate_names_rejected(exchange):
    with pytest.raises(ValueError, match="seen"):
        NFStreamer(source=exchange, plugins=[Counter(name="seen"), Counter(name="seen")])


@pytest.mark.parametrize("name", ["src_ip", "bidirectional_packets", "udps", "packets"])
def test_classic_name_of_builtin_rejected(exchange, name):
    with pytest.raises(ValueError, match=name):
        NFStreamer(source=exchange, plugins=[Counter(name=name)])


@pytest.mark.parametrize("parameter", ["plugins", "udps"])
@pytest.mark.parametrize("value", [[object()], [Recorder(events=[]), 5], "abc", 5])
def test_non_plugin_rejected(exchange, parameter, value):
    with pytest.raises(TypeError, match=parameter) as excinfo:
        NFStreamer(source=exchange, **{parameter: value})

    assert isinstance(excinfo.value, ValueError)


def test_packet_length_alias_follows_accounting_mode(exchange):
    class Lengths(NFPlugin):
        def process(self, packet, flow):
            self.seen.append((packet.length, packet.ip_size, flow.packets))

    plugin = Lengths(name="lengths", seen=[])
    run(exchange, plugins=[plugin], accounting_mode=1)

    assert plugin.seen == [(38, 38, 1), (48, 48, 2), (38, 38, 3)]


def test_classic_and_udps_together(exchange):
    recorder = Recorder(events=[])
    counter = Counter(name="seen", given_up=[])
    flow = run(exchange, udps=recorder, plugins=[counter])[0]

    assert flow.seen == 3
    assert [event[0] for event in recorder.events] == [
        "on_init",
        "on_update",
        "on_update",
        "on_expire",
        "cleanup",
    ]


# --------------------------------------------------------------------------------------------
# Current API: udps=
# --------------------------------------------------------------------------------------------


def test_hook_calls_and_order(tmp_path):
    path = write(tmp_path, [(0, QUERY), (1, other_flow(7)), (4, REPLY), (10, QUERY)])
    recorder = Recorder(events=[])
    run(path, udps=recorder)

    assert recorder.events == [
        ("on_init", 40000, 1),
        ("on_init", 7, 1),
        ("on_update", 53, 2),
        ("on_update", 40000, 3),
        ("on_expire", 40000, 3),
        ("on_expire", 7, 1),
        ("cleanup", None, None),
    ]


def test_expire_of_old_flow_before_init_of_new(tmp_path):
    path = write(tmp_path, [(0, QUERY), (5000, QUERY)])
    recorder = Recorder(events=[])
    run(path, udps=recorder, idle_timeout=1)

    assert recorder.events == [
        ("on_init", 40000, 1),
        ("on_expire", 40000, 1),
        ("on_init", 40000, 1),
        ("on_expire", 40000, 1),
        ("cleanup", None, None),
    ]


def test_plugins_called_in_list_order(exchange):
    events = []
    first = Recorder(events=events)
    second = Recorder(events=events)
    run(exchange, udps=[first, second])

    hooks = [event[0] for event in events]
    assert hooks[:2] == ["on_init", "on_init"]
    assert hooks.count("on_update") == 4
    assert hooks.count("on_expire") == 2
    assert hooks.count("cleanup") == 2


def test_udps_columns_in_creation_order(exchange):
    class Columns(NFPlugin):
        def on_init(self, packet, flow):
            flow.udps.zeta = packet.raw_size
            flow.udps.alpha = [packet.direction]

        def on_update(self, packet, flow):
            flow.udps.alpha.append(packet.direction)

        def on_expire(self, flow):
            flow.udps.middle = "done"

    flow = run(exchange, udps=Columns())[0]

    assert flow.keys()[-3:] == ["udps.zeta", "udps.alpha", "udps.middle"]
    assert flow.values()[-3:] == [52, [0, 1, 0], "done"]
    assert flow.udps.alpha == [0, 1, 0]


def test_udps_deleted_attribute_not_exported(exchange):
    class Temporary(NFPlugin):
        def on_init(self, packet, flow):
            flow.udps.scratch = 1
            flow.udps.result = 2

        def on_expire(self, flow):
            del flow.udps.scratch

    flow = run(exchange, udps=Temporary())[0]

    assert [key for key in flow.keys() if key.startswith("udps.")] == ["udps.result"]


def test_no_udps_columns_without_attributes(exchange):
    flow = run(exchange, udps=NFPlugin())[0]

    assert not any(key.startswith("udps.") for key in flow.keys())
    assert flow.bidirectional_packets == 3


def test_constructor_keywords_become_attributes():
    plugin = Recorder(events=[], threshold=5, label="x")

    assert plugin.threshold == 5
    assert plugin.label == "x"
    assert plugin.events == []


def test_base_plugin_keywords_in_vars():
    plugin = NFPlugin(threshold=5)

    assert plugin.threshold == 5
    assert vars(plugin)["threshold"] == 5


def test_flow_id_minus_one_inside_hooks(exchange):
    class Ids(NFPlugin):
        def on_init(self, packet, flow):
            self.ids.append(flow.id)

        def on_update(self, packet, flow):
            self.ids.append(flow.id)

        def on_expire(self, flow):
            self.ids.append(flow.id)

    plugin = Ids(ids=[])
    flows = run(exchange, udps=plugin)

    assert plugin.ids == [-1, -1, -1, -1]
    assert flows[0].id == 0


def test_flow_counters_updated_before_hooks(exchange):
    class Snapshot(NFPlugin):
        def on_init(self, packet, flow):
            self.rows.append(
                (flow.bidirectional_packets, flow.bidirectional_bytes, flow.dst2src_packets)
            )

        def on_update(self, packet, flow):
            self.rows.append(
                (flow.bidirectional_packets, flow.bidirectional_bytes, flow.dst2src_packets)
            )

    plugin = Snapshot(rows=[])
    run(exchange, udps=plugin)

    assert plugin.rows == [(1, 52, 0), (2, 114, 1), (3, 166, 1)]


# --------------------------------------------------------------------------------------------
# Forced expiry and cleanup
# --------------------------------------------------------------------------------------------


def test_expire_in_on_init_gives_one_packet_flows(exchange):
    class Single(NFPlugin):
        def on_init(self, packet, flow):
            flow.expiration_id = -1

    recorder = Recorder(events=[])
    flows = run(exchange, udps=[Single(), recorder])

    assert [flow.bidirectional_packets for flow in flows] == [1, 1, 1]
    assert [flow.expiration_id for flow in flows] == [-1, -1, -1]
    assert [flow.id for flow in flows] == [0, 1, 2]
    # The reply starts its own flow, so it is that flow's source.
    assert [flow.src_port for flow in flows] == [40000, 53, 40000]
    assert [event[0] for event in recorder.events].count("on_update") == 0


def test_expire_in_on_update_includes_packet(tmp_path):
    path = write(tmp_path, [(ms, QUERY) for ms in (0, 1, 2, 3, 4)])

    class Pairs(NFPlugin):
        def on_update(self, packet, flow):
            if flow.bidirectional_packets == 2:
                flow.expiration_id = -1

    flows = run(path, udps=Pairs())

    assert [flow.bidirectional_packets for flow in flows] == [2, 2, 1]
    assert [flow.expiration_id for flow in flows] == [-1, -1, 0]
    assert [flow.bidirectional_first_seen_ms - START_MS for flow in flows] == [0, 2, 4]
    assert [flow.bidirectional_last_seen_ms - START_MS for flow in flows] == [1, 3, 4]


def test_expire_in_on_init_after_idle_recreation(tmp_path):
    path = write(tmp_path, [(0, QUERY), (1, QUERY), (5000, QUERY), (5001, QUERY)])

    class LateSingle(NFPlugin):
        def on_init(self, packet, flow):
            if packet.time == START_MS + 5000:
                flow.expiration_id = -1

    flows = run(path, udps=LateSingle(), idle_timeout=1)

    # The flow re-created at 5000 ms is emitted at once, so 5001 ms starts another one.
    assert [flow.bidirectional_packets for flow in flows] == [2, 1, 1]
    assert [flow.expiration_id for flow in flows] == [0, -1, 0]
    assert [flow.bidirectional_first_seen_ms - START_MS for flow in flows] == [0, 5000, 5001]


def test_other_expiration_id_kept(exchange):
    class Tag(NFPlugin):
        def on_expire(self, flow):
            flow.expiration_id = 42

    flows = run(exchange, udps=Tag())

    assert [flow.expiration_id for flow in flows] == [42]
    assert flows[0].bidirectional_packets == 3


def test_cleanup_once_after_full_iteration(exchange):
    recorder = Recorder(events=[])
    streamer = NFStreamer(source=exchange, udps=recorder, n_dissections=0)
    list(streamer)

    assert recorder.events.count(("cleanup", None, None)) == 1
    list(streamer)
    assert recorder.events.count(("cleanup", None, None)) == 2


def test_cleanup_once_after_break(tmp_path):
    path = write(tmp_path, [(0, QUERY), (1, other_flow(7)), (2, other_flow(8))])
    recorder = Recorder(events=[])
    for _flow in NFStreamer(source=path, udps=recorder, n_dissections=0):
        break
    gc.collect()

    assert recorder.events.count(("cleanup", None, None)) == 1
    assert recorder.events[-1] == ("cleanup", None, None)


def test_cleanup_once_after_max_nflows(tmp_path):
    path = write(tmp_path, [(0, QUERY), (1, other_flow(7)), (2, other_flow(8))])
    recorder = Recorder(events=[])
    flows = list(NFStreamer(source=path, udps=recorder, n_dissections=0, max_nflows=2))
    gc.collect()

    assert len(flows) == 2
    assert recorder.events.count(("cleanup", None, None)) == 1


class HookError(Exception):
    pass


@pytest.mark.parametrize("hook", ["on_init", "on_update", "on_expire", "process", "giveup"])
def test_hook_exception_propagates(exchange, hook):
    def fail(*args):
        raise HookError(hook)

    class Failing(NFPlugin):
        def cleanup(self):
            self.cleanups += 1

    plugin = Failing(cleanups=0)
    setattr(plugin, hook, fail)
    parameter = "plugins" if hook in ("process", "giveup") else "udps"

    with pytest.raises(HookError, match=hook) as excinfo:
        list(NFStreamer(source=exchange, n_dissections=0, **{parameter: [plugin]}))

    assert any(entry.name == "fail" for entry in excinfo.traceback)
    assert plugin.cleanups == 1


def test_hook_exception_from_method_keeps_traceback(exchange):
    class Broken(NFPlugin):
        def on_update(self, packet, flow):
            raise KeyError("broken on_update")

    with pytest.raises(KeyError, match="broken on_update") as excinfo:
        list(NFStreamer(source=exchange, udps=Broken(), n_dissections=0))

    assert excinfo.traceback[-1].name == "on_update"


def test_init_function_exception_propagates(exchange):
    def broken_init(packet):
        raise HookError("init_function")

    with pytest.raises(HookError, match="init_function"):
        list(NFStreamer(source=exchange, plugins=[Counter(name="n", init_function=broken_init)]))


def test_flow_kept_from_hook_matches_emitted(exchange):
    class Grab(NFPlugin):
        def on_init(self, packet, flow):
            self.flows.append(flow)

    grab = Grab(flows=[])
    emitted = run(exchange, udps=grab)
    gc.collect()

    assert grab.flows[0] is emitted[0]
    assert grab.flows[0].bidirectional_packets == 3


def test_flow_kept_from_hook_after_error_readable(tmp_path):
    path = write(tmp_path, [(0, QUERY), (1, other_flow(7)), (2, other_flow(8))])

    class GrabThenFail(NFPlugin):
        def on_init(self, packet, flow):
            self.flows.append(flow)
            if len(self.flows) == 3:
                raise HookError("third flow")

    grab = GrabThenFail(flows=[])
    with pytest.raises(HookError):
        run(path, udps=grab)
    gc.collect()

    assert [flow.src_port for flow in grab.flows] == [40000, 7, 8]
    assert [flow.bidirectional_packets for flow in grab.flows] == [1, 1, 1]
    assert all(flow.id == -1 for flow in grab.flows)


def test_cleanup_exception_propagates(exchange):
    class BadCleanup(NFPlugin):
        def cleanup(self):
            raise HookError("cleanup")

    with pytest.raises(HookError, match="cleanup"):
        list(NFStreamer(source=exchange, udps=BadCleanup(), n_dissections=0))


# --------------------------------------------------------------------------------------------
# NFPacket
# --------------------------------------------------------------------------------------------


class Keeper(NFPlugin):
    """Keeps every packet it is given."""

    def on_init(self, packet, flow):
        self.packets.append(packet)

    def on_update(self, packet, flow):
        self.packets.append(packet)


@pytest.fixture
def kept_packets(exchange):
    keeper = Keeper(packets=[])
    run(exchange, udps=keeper, accounting_mode=0)
    return keeper.packets


def test_packet_type(kept_packets):
    assert all(isinstance(packet, NFPacket) for packet in kept_packets)
    assert len(kept_packets) == 3


@pytest.mark.parametrize(
    "field, expected",
    [
        ("time", [START_MS, START_MS + 4, START_MS + 10]),
        ("delta_time", [0, 4, 6]),
        ("direction", [0, 1, 0]),
        ("raw_size", [52, 62, 52]),
        ("ip_size", [38, 48, 38]),
        ("transport_size", [18, 28, 18]),
        ("payload_size", [10, 20, 10]),
        ("src_ip", ["192.0.2.1", "192.0.2.2", "192.0.2.1"]),
        ("dst_ip", ["192.0.2.2", "192.0.2.1", "192.0.2.2"]),
        ("src_mac", [CLIENT_MAC, SERVER_MAC, CLIENT_MAC]),
        ("dst_mac", [SERVER_MAC, CLIENT_MAC, SERVER_MAC]),
        ("src_oui", ["02:00:00"] * 3),
        ("src_port", [40000, 53, 40000]),
        ("dst_port", [53, 40000, 53]),
        ("protocol", [17, 17, 17]),
        ("vlan_id", [0, 0, 0]),
        ("ip_version", [4, 4, 4]),
        ("tunnel_id", [0, 0, 0]),
        ("syn", [0, 0, 0]),
        ("length", [52, 62, 52]),
    ],
)
def test_packet_fields(kept_packets, field, expected):
    assert [getattr(packet, field) for packet in kept_packets] == expected


def test_packet_ip_bytes_kept_after_hook(kept_packets):
    assert [packet.ip_packet for packet in kept_packets] == [QUERY_IP, REPLY_IP, QUERY_IP]


def test_packet_ip_bytes_read_inside_hook(exchange):
    class Reader(NFPlugin):
        def on_init(self, packet, flow):
            self.seen.append(packet.ip_packet)

        def on_update(self, packet, flow):
            self.seen.append(packet.ip_packet)

    plugin = Reader(seen=[])
    run(exchange, udps=plugin)

    assert plugin.seen == [QUERY_IP, REPLY_IP, QUERY_IP]


def test_packet_ip_bytes_include_ethernet_padding(tmp_path):
    frame = pcapgen.ethernet(pcapgen.udp_packet("192.0.2.1", "192.0.2.2", 1, 2), pad_to=60)
    keeper = Keeper(packets=[])
    run(write(tmp_path, [(0, frame)]), udps=keeper)

    assert keeper.packets[0].ip_packet == frame[14:]
    assert len(keeper.packets[0].ip_packet) == 46


def test_packet_tcp_flags(tmp_path):
    client = pcapgen.Endpoint("192.0.2.1", 40000, CLIENT_MAC)
    server = pcapgen.Endpoint("192.0.2.2", 80, SERVER_MAC)
    records = pcapgen.conversation(
        client,
        server,
        [*pcapgen.tcp_handshake(0.0), (">", b"x", "PAUEC", 0.01), ("<", b"", "FR", 0.02)],
        start_ns=START_NS,
    )
    path = tmp_path / "tcp.pcap"
    write_pcap(path, records)
    keeper = Keeper(packets=[])
    run(str(path), udps=keeper)
    flags = ["syn", "cwr", "ece", "urg", "ack", "psh", "rst", "fin"]
    rows = [[getattr(packet, flag) for flag in flags] for packet in keeper.packets]

    assert rows == [
        [1, 0, 0, 0, 0, 0, 0, 0],
        [1, 0, 0, 0, 1, 0, 0, 0],
        [0, 0, 0, 0, 1, 0, 0, 0],
        [0, 1, 1, 1, 1, 1, 0, 0],
        [0, 0, 0, 0, 0, 0, 1, 1],
    ]


def test_packet_vlan_and_tunnel(tmp_path):
    inner = pcapgen.udp_packet("10.0.0.1", "10.0.0.2", 1111, 2222, b"in")
    outer = pcapgen.udp_packet("198.51.100.1", "198.51.100.2", 2152, 2152, pcapgen.gtp_u(inner))
    frame = pcapgen.ethernet(outer, vlans=[12])
    keeper = Keeper(packets=[])
    run(write(tmp_path, [(0, frame)]), udps=keeper)
    packet = keeper.packets[0]

    assert packet.vlan_id == 12
    assert packet.tunnel_id == 1
    assert packet.src_ip == "10.0.0.1"
    assert packet.ip_packet == inner


def test_packet_repr_lists_fields(kept_packets):
    text = repr(kept_packets[0])

    assert text.startswith("NFPacket(time=1700000000000, delta_time=0, direction=0, raw_size=52")
    assert "src_ip='192.0.2.1'" in text
    assert text.endswith("tunnel_id=0)")


def test_flow_udps_survives_pickle(exchange):
    class Tagger(NFPlugin):
        def on_init(self, packet, flow):
            flow.udps.tag = "a"

    flow = run(exchange, udps=Tagger())[0]
    copy = pickle.loads(pickle.dumps(flow))

    assert copy.udps.tag == "a"
    assert copy.keys() == flow.keys()
