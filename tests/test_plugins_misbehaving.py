"""Plugins that misbehave: each case is either supported or rejected with a clear exception.

The tests raise exceptions (BaseException subclasses too) from every hook of both plugin
APIs, write and delete built-in columns, and keep references to packets and flows. Others store
huge values, force expiry on the first packet, re-enter the streamer from a hook, use malformed
plugin classes, and measure memory over repeated runs. Cases that could crash or hang the
interpreter run in a subprocess with a timeout, so a crash fails one test instead of ending
pytest.

The default capture is one UDP flow 192.0.2.1:40000 <-> 192.0.2.2:53 on Ethernet: a query at
0 ms (frame 52 bytes), a reply at 4 ms (62 bytes) and a query at 10 ms.
"""

import gc
import json
import os
import subprocess
import sys
import textwrap
import types
import weakref
from pathlib import Path

import pcapgen
import pytest
from pcapgen import CLIENT_MAC, SERVER_MAC, Record, write_pcap

from nfstream import NFPlugin, NFStreamer

TESTS_DIR = Path(__file__).resolve().parent
REPO_ROOT = TESTS_DIR.parent

START_NS = 1_700_000_000_000_000_000
START_MS = START_NS // 1_000_000

QUERY_IP = pcapgen.udp_packet("192.0.2.1", "192.0.2.2", 40000, 53, b"q" * 10)
REPLY_IP = pcapgen.udp_packet("192.0.2.2", "192.0.2.1", 53, 40000, b"r" * 20)
QUERY = pcapgen.ethernet(QUERY_IP, src=CLIENT_MAC, dst=SERVER_MAC)
REPLY = pcapgen.ethernet(REPLY_IP, src=SERVER_MAC, dst=CLIENT_MAC)

UNDER_ASAN = "libasan" in os.environ.get("LD_PRELOAD", "")
skip_under_asan = pytest.mark.skipif(
    UNDER_ASAN, reason="AddressSanitizer's quarantine keeps freed memory resident"
)


def port_flow_ip(port):
    """IP bytes of a one-packet UDP flow 192.0.2.1:<port> -> 192.0.2.3:53."""
    return pcapgen.udp_packet("192.0.2.1", "192.0.2.3", port, 53, b"o" * 4)


def write(path, timed_frames):
    """Write (offset_ms, frame) pairs to `path` and return it as a string."""
    write_pcap(path, [Record(START_NS + ms * 1_000_000, frame) for ms, frame in timed_frames])
    return str(path)


def streamer_for(path, **params):
    params.setdefault("n_dissections", 0)
    return NFStreamer(source=path, **params)


def run(path, **params):
    return list(streamer_for(path, **params))


@pytest.fixture
def exchange(tmp_path):
    return write(tmp_path / "exchange.pcap", [(0, QUERY), (4, REPLY), (10, QUERY)])


@pytest.fixture
def four_flows(tmp_path):
    """Four one-packet UDP flows from ports 1000..1003, 1 ms apart."""
    frames = [(i, pcapgen.ethernet(port_flow_ip(1000 + i))) for i in range(4)]
    return write(tmp_path / "four.pcap", frames)


def resident_bytes():
    """Return this process's resident set size from /proc/self/statm."""
    with open("/proc/self/statm") as statm:
        resident_pages = int(statm.read().split()[1])
    return resident_pages * os.sysconf("SC_PAGE_SIZE")


def run_isolated(body, paths, timeout=30):
    """Run `body` in a new interpreter and return the `results` dict it fills, via JSON.

    The script gets `EXCHANGE` and `OTHER` (the two `paths`) and `results`. A crash or a
    hang fails the calling test.
    """
    script = textwrap.dedent(
        """
        import json, sys
        from nfstream import NFPlugin, NFStreamer
        EXCHANGE, OTHER = sys.argv[1], sys.argv[2]
        results = {}
        """
    )
    script += textwrap.dedent(body) + "\nprint(json.dumps(results))\n"
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(REPO_ROOT), str(TESTS_DIR)]))
    try:
        completed = subprocess.run(
            [sys.executable, "-c", script, *paths],
            capture_output=True,
            text=True,
            timeout=timeout,
            env=env,
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"the script did not finish within {timeout} s (deadlock?)")
    assert completed.returncode == 0, (
        f"the script exited with code {completed.returncode}:\n{completed.stderr}"
    )
    return json.loads(completed.stdout.strip().splitlines()[-1])


@pytest.fixture
def isolated(exchange, tmp_path):
    """run_isolated with EXCHANGE and OTHER (two flows from 10.0.0.1) as capture paths."""
    other_frames = [
        (0, pcapgen.ethernet(pcapgen.udp_packet("10.0.0.1", "10.0.0.2", 1, 2, b"x"))),
        (1, pcapgen.ethernet(pcapgen.udp_packet("10.0.0.1", "10.0.0.3", 1, 2, b"x"))),
    ]
    paths = [exchange, write(tmp_path / "other.pcap", other_frames)]
    return lambda body: run_isolated(body, paths)


# --------------------------------------------------------------------------------------------
# Exceptions raised in hooks
# --------------------------------------------------------------------------------------------


class HookError(Exception):
    pass


class Faulty(NFPlugin):
    """Overrides every hook; the hook named by `failing` raises `error(f"{hook} failed")`."""

    def on_init(self, packet, flow):
        self.fail_in("on_init")

    def on_update(self, packet, flow):
        self.fail_in("on_update")

    def on_expire(self, flow):
        self.fail_in("on_expire")

    def process(self, packet, flow):
        self.fail_in("process")

    def giveup(self, flow):
        self.fail_in("giveup")

    def cleanup(self):
        self.cleanups += 1
        self.fail_in("cleanup")

    def initial_value(self, packet):
        self.fail_in("init_function")
        return 0

    def fail_in(self, hook):
        if self.failing == hook:
            raise self.error(f"{hook} failed")


def faulty_plugin(api, failing, error=HookError):
    plugin = Faulty(name="faulty", failing=failing, error=error, cleanups=0)
    if api == "plugins":
        plugin.init_function = plugin.initial_value
    return plugin


HOOKS_BY_API = [
    ("udps", hook) for hook in ["on_init", "on_update", "on_expire", "process", "giveup", "cleanup"]
] + [
    ("plugins", hook)
    for hook in [
        "on_init",
        "on_update",
        "on_expire",
        "process",
        "giveup",
        "cleanup",
        "init_function",
    ]
]


@pytest.mark.parametrize("api, hook", HOOKS_BY_API)
def test_hook_error_reaches_caller(exchange, api, hook):
    plugin = faulty_plugin(api, hook)
    streamer = streamer_for(exchange, **{api: plugin})
    iterator = iter(streamer)

    with pytest.raises(HookError) as excinfo:
        for _flow in iterator:
            pass

    assert str(excinfo.value) == f"{hook} failed"
    assert excinfo.traceback[-1].name == "fail_in"
    assert Path(excinfo.traceback[-1].path) == Path(__file__)
    assert "raise self.error" in str(excinfo.traceback[-1].statement)
    hook_function = "initial_value" if hook == "init_function" else hook
    assert excinfo.traceback[-2].name == hook_function
    assert plugin.cleanups == 1


@pytest.mark.parametrize("api, hook", HOOKS_BY_API)
def test_iterator_finished_after_hook_error(exchange, api, hook):
    plugin = faulty_plugin(api, hook)
    streamer = streamer_for(exchange, **{api: plugin})
    iterator = iter(streamer)
    with pytest.raises(HookError):
        list(iterator)

    with pytest.raises(StopIteration):
        next(iterator)
    assert plugin.cleanups == 1

    # The same streamer and plugin run again normally once the plugin is fixed.
    plugin.failing = None
    flows = list(streamer)
    assert [flow.bidirectional_packets for flow in flows] == [3]
    assert [flow.id for flow in flows] == [0]
    assert plugin.cleanups == 2


@pytest.mark.parametrize("error", [KeyboardInterrupt, SystemExit])
@pytest.mark.parametrize(
    "api, hook",
    [
        ("udps", "on_init"),
        ("udps", "on_update"),
        ("udps", "on_expire"),
        ("udps", "cleanup"),
        ("plugins", "init_function"),
        ("plugins", "giveup"),
    ],
)
def test_base_exception_from_hook_propagates(exchange, api, hook, error):
    plugin = faulty_plugin(api, hook, error=error)
    iterator = iter(streamer_for(exchange, **{api: plugin}))

    with pytest.raises(error) as excinfo:
        list(iterator)

    assert excinfo.value.args == (f"{hook} failed",)
    assert plugin.cleanups == 1
    with pytest.raises(StopIteration):
        next(iterator)


def test_cleanup_error_after_hook_error(exchange, monkeypatch):
    """The hook's exception is raised; the cleanup() error goes to sys.unraisablehook."""

    class FailsTwice(NFPlugin):
        def on_update(self, packet, flow):
            raise HookError("on_update failed")

        def cleanup(self):
            raise ValueError("cleanup failed")

    unraisable = []
    monkeypatch.setattr(sys, "unraisablehook", unraisable.append)

    with pytest.raises(HookError, match="on_update failed") as excinfo:
        run(exchange, udps=FailsTwice())

    assert excinfo.value.__context__ is None
    assert len(unraisable) == 1
    assert isinstance(unraisable[0].exc_value, ValueError)
    assert str(unraisable[0].exc_value) == "cleanup failed"


def test_every_cleanup_runs_when_one_fails(exchange, monkeypatch):
    first = faulty_plugin("udps", "cleanup")
    second = faulty_plugin("udps", "cleanup", error=KeyError)
    third = faulty_plugin("udps", None)
    unraisable = []
    monkeypatch.setattr(sys, "unraisablehook", unraisable.append)

    with pytest.raises(HookError, match="cleanup failed"):
        run(exchange, udps=[first, second, third])

    assert [plugin.cleanups for plugin in (first, second, third)] == [1, 1, 1]
    assert [type(report.exc_value) for report in unraisable] == [KeyError]


def test_cleanup_error_after_all_flows(exchange):
    plugin = faulty_plugin("udps", "cleanup")
    iterator = iter(streamer_for(exchange, udps=plugin))

    # Every flow is returned first, then the next call raises cleanup()'s exception.
    assert next(iterator).bidirectional_packets == 3
    with pytest.raises(HookError, match="cleanup failed"):
        next(iterator)
    with pytest.raises(StopIteration):
        next(iterator)
    assert plugin.cleanups == 1


# --------------------------------------------------------------------------------------------
# Built-in columns written or deleted by plugins
# --------------------------------------------------------------------------------------------


def test_delete_builtin_column_in_hook(exchange):
    class Deleter(NFPlugin):
        def on_init(self, packet, flow):
            del flow.src_ip

        def cleanup(self):
            self.cleanups += 1

    plugin = Deleter(cleanups=0)
    with pytest.raises(AttributeError, match="cannot delete the built-in NFlow column 'src_ip'"):
        run(exchange, udps=plugin)

    assert plugin.cleanups == 1


def test_overwritten_counter_is_refreshed(exchange):
    class Overwriter(NFPlugin):
        def on_update(self, packet, flow):
            self.seen.append(flow.bidirectional_packets)
            if flow.bidirectional_packets == 2:
                flow.bidirectional_packets = 5
                self.seen.append(flow.bidirectional_packets)

        def on_expire(self, flow):
            self.seen.append(flow.bidirectional_packets)

    plugin = Overwriter(seen=[])
    streamer = streamer_for(exchange, udps=plugin)
    flow = list(streamer)[0]
    columns = dict(zip(flow.keys(), flow.values()))

    # As in nfstream, the C counters replace a written value before the next packet's hooks
    # and before on_expire, so the written 5 lives only until then.
    assert plugin.seen == [2, 5, 3, 3]
    assert flow.bidirectional_packets == 3
    assert flow.packets == 3
    assert columns["bidirectional_packets"] == 3
    assert "bidirectional_packets=3" in repr(flow)
    assert columns["src2dst_packets"] == 2
    assert columns["dst2src_packets"] == 1
    assert columns["bidirectional_bytes"] == 52 + 62 + 52
    assert columns["bidirectional_last_seen_ms"] == START_MS + 10

    frame = streamer.to_pandas()
    assert frame["bidirectional_packets"].tolist() == [3]
    assert frame["src2dst_packets"].tolist() == [2]


def test_counter_written_in_on_expire_is_exported(exchange):
    class Overwriter(NFPlugin):
        def on_expire(self, flow):
            flow.bidirectional_packets = 7

    flow = list(streamer_for(exchange, udps=Overwriter()))[0]

    assert flow.bidirectional_packets == 7
    assert dict(zip(flow.keys(), flow.values()))["bidirectional_packets"] == 7


def test_overwritten_identity_column_is_exported(exchange):
    class Relabel(NFPlugin):
        def on_init(self, packet, flow):
            flow.src_ip = "hidden"

    flow = run(exchange, udps=Relabel())[0]

    assert flow.src_ip == "hidden"
    assert dict(zip(flow.keys(), flow.values()))["src_ip"] == "hidden"
    assert flow.bidirectional_packets == 3


def test_written_flow_id_replaced_on_emission(exchange, tmp_path):
    class Renumber(NFPlugin):
        def on_init(self, packet, flow):
            flow.id = 99
            self.seen.append(flow.id)

        def on_expire(self, flow):
            self.seen.append(flow.id)

    path = write(tmp_path / "two.pcap", [(0, QUERY), (1, pcapgen.ethernet(port_flow_ip(7)))])
    plugin = Renumber(seen=[])
    streamer = streamer_for(path, udps=plugin)
    flows = list(streamer)

    # As in nfstream, the write is visible inside hooks, and emission numbers the flow.
    assert plugin.seen == [99, 99, 99, 99]
    assert [flow.id for flow in flows] == [0, 1]
    assert [flow.values()[0] for flow in flows] == [0, 1]
    assert streamer.to_pandas()["id"].tolist() == [0, 1]


@pytest.mark.parametrize("value", ["x", 1.5, None, 2**31, -(2**31) - 1, 2**70, [1]])
def test_invalid_expiration_id_rejected(exchange, value):
    class SetExpiration(NFPlugin):
        def on_init(self, packet, flow):
            flow.expiration_id = value

    expected = (
        "expiration_id must be an integer in the 32-bit signed range (-1 forces expiry), "
        f"got {value!r}"
    )
    with pytest.raises(ValueError) as excinfo:
        run(exchange, udps=SetExpiration())

    assert str(excinfo.value) == expected
    assert excinfo.traceback[-1].name == "on_init"


@pytest.mark.parametrize(
    "value, expected", [(2**31 - 1, 2**31 - 1), (-(2**31), -(2**31)), (True, 1), (7, 7)]
)
def test_expiration_id_range_limits_kept(exchange, value, expected):
    class SetExpiration(NFPlugin):
        def on_expire(self, flow):
            flow.expiration_id = value

    flows = run(exchange, udps=SetExpiration())

    assert [flow.expiration_id for flow in flows] == [expected]
    assert [flow.bidirectional_packets for flow in flows] == [3]


def test_udps_replaced_by_object_with_dict(exchange):
    class Replace(NFPlugin):
        def on_init(self, packet, flow):
            flow.udps = types.SimpleNamespace(first=1)

        def on_update(self, packet, flow):
            flow.udps.later = packet.raw_size

    streamer = streamer_for(exchange, udps=Replace())
    flow = list(streamer)[0]

    assert flow.keys()[-2:] == ["udps.first", "udps.later"]
    assert flow.values()[-2:] == [1, 52]
    assert streamer.to_pandas()[["udps.first", "udps.later"]].values.tolist() == [[1, 52]]


@pytest.mark.parametrize("value", [{"a": 1}, 5, None, (1, 2)])
def test_udps_replaced_by_object_without_dict(exchange, value):
    class Replace(NFPlugin):
        def on_init(self, packet, flow):
            flow.udps = value

    streamer = streamer_for(exchange, udps=Replace())
    flow = list(streamer)[0]

    # Like nfstream, an object without a __dict__ contributes no udps columns.
    assert flow.udps == value
    assert not any(key.startswith("udps.") for key in flow.keys())
    assert len(flow.values()) == len(flow.keys())
    assert not any(column.startswith("udps.") for column in streamer.to_pandas().columns)


def test_udps_cannot_be_deleted(exchange):
    class Delete(NFPlugin):
        def on_init(self, packet, flow):
            del flow.udps

    with pytest.raises(AttributeError, match="cannot delete NFlow.udps"):
        run(exchange, udps=Delete())


def test_udps_deleted_before_expiry_leaves_frame(tmp_path):
    frames = [(0, QUERY), (1, pcapgen.ethernet(port_flow_ip(7))), (5, QUERY)]
    path = write(tmp_path / "two.pcap", frames)

    class Scratch(NFPlugin):
        def on_init(self, packet, flow):
            flow.udps.scratch = 1
            flow.udps.port = packet.src_port

        def on_update(self, packet, flow):
            del flow.udps.scratch

    streamer = streamer_for(path, udps=Scratch())
    flows = list(streamer)
    frame = streamer.to_pandas()

    assert [flow.bidirectional_packets for flow in flows] == [2, 1]
    assert [key for key in flows[0].keys() if key.startswith("udps.")] == ["udps.port"]
    assert [key for key in flows[1].keys() if key.startswith("udps.")] == [
        "udps.scratch",
        "udps.port",
    ]
    # The frame has the union of the columns; the flow that deleted scratch has no value.
    assert frame["udps.port"].tolist() == [40000, 7]
    assert frame["udps.scratch"].isna().tolist() == [True, False]


@pytest.mark.parametrize(
    "action, message",
    [
        ("set_new", "'nfstream._engine.NFPacket' object has no attribute 'note'"),
        (
            "set_field",
            "attribute 'raw_size' of 'nfstream._engine.NFPacket' objects is not writable",
        ),
        (
            "delete_field",
            "attribute 'raw_size' of 'nfstream._engine.NFPacket' objects is not writable",
        ),
    ],
)
def test_packet_attributes_read_only(exchange, action, message):
    class Mutate(NFPlugin):
        def on_init(self, packet, flow):
            if action == "set_new":
                packet.note = 1
            elif action == "set_field":
                packet.raw_size = 1
            else:
                del packet.raw_size

    with pytest.raises(AttributeError) as excinfo:
        run(exchange, udps=Mutate())

    assert str(excinfo.value) == message


# --------------------------------------------------------------------------------------------
# References kept after the hook, the iteration and the streamer
# --------------------------------------------------------------------------------------------


class Hoarder(NFPlugin):
    """Keeps every packet and flow object it is given, in call order."""

    def on_init(self, packet, flow):
        self.packets.append(packet)
        self.flows.append(flow)

    def on_update(self, packet, flow):
        self.packets.append(packet)
        self.flows.append(flow)

    def on_expire(self, flow):
        self.flows.append(flow)


def test_kept_packets_and_flows_outlive_streamer(tmp_path):
    frames = [(0, QUERY), (1, pcapgen.ethernet(port_flow_ip(7))), (4, REPLY), (10, QUERY)]
    path = write(tmp_path / "capture.pcap", frames)
    hoarder = Hoarder(packets=[], flows=[])
    streamer = streamer_for(path, udps=hoarder, statistical_analysis=True, splt_analysis=4)
    emitted = list(streamer)
    snapshot = [repr(flow.values()) for flow in emitted]

    del streamer, emitted
    gc.collect()

    assert [packet.ip_packet for packet in hoarder.packets] == [
        QUERY_IP,
        port_flow_ip(7),
        REPLY_IP,
        QUERY_IP,
    ]
    assert [packet.time - START_MS for packet in hoarder.packets] == [0, 1, 4, 10]
    assert [packet.direction for packet in hoarder.packets] == [0, 0, 1, 0]
    assert [packet.src_port for packet in hoarder.packets] == [40000, 7, 53, 40000]
    assert all(repr(packet).startswith("NFPacket(time=") for packet in hoarder.packets)
    # Kept NFlow objects are the emitted ones: on_init, on_init, update, update, 2 expiries.
    flows = hoarder.flows
    assert [flow.src_port for flow in flows] == [40000, 7, 40000, 40000, 40000, 7]
    assert flows[0] is flows[2] is flows[3] is flows[4]
    assert [repr(flow.values()) for flow in (flows[4], flows[5])] == snapshot
    assert flows[4].splt_ps == [52, 62, 52, -1]
    assert flows[4].bidirectional_max_ps == 62


def test_kept_unemitted_flows_after_break(tmp_path):
    # Flow 1000 goes idle before flow 1001 starts at 2 s, so it is emitted while 1001 is cached.
    frames = [
        (0, pcapgen.ethernet(port_flow_ip(1000))),
        (2000, pcapgen.ethernet(port_flow_ip(1001))),
    ]
    path = write(tmp_path / "two.pcap", frames)
    hoarder = Hoarder(packets=[], flows=[])

    for _flow in streamer_for(path, udps=hoarder, idle_timeout=1):
        break
    gc.collect()

    # Hooks seen: on_init 1000, on_init 1001, then the idle scan's on_expire 1000. Flow 1001
    # was dropped with the iterator, unexpired, and keeps the id -1 of a flow in the cache.
    assert [flow.src_port for flow in hoarder.flows] == [1000, 1001, 1000]
    assert [flow.id for flow in hoarder.flows] == [0, -1, 0]
    assert [flow.bidirectional_packets for flow in hoarder.flows] == [1, 1, 1]
    assert hoarder.flows[1].bidirectional_first_seen_ms == START_MS + 2000
    assert [packet.ip_packet for packet in hoarder.packets] == [
        port_flow_ip(1000),
        port_flow_ip(1001),
    ]


def test_plugin_references_across_two_runs(exchange):
    hoarder = Hoarder(packets=[], flows=[])
    streamer = streamer_for(exchange, udps=hoarder)

    first = list(streamer)
    first_snapshot = repr(first[0].values())
    second = list(streamer)

    assert len(hoarder.packets) == 6
    assert len(hoarder.flows) == 8
    assert hoarder.flows[0] is first[0]
    assert hoarder.flows[4] is second[0]
    assert first[0] is not second[0]
    assert repr(first[0].values()) == first_snapshot
    assert repr(second[0].values()) == first_snapshot
    assert [packet.ip_packet for packet in hoarder.packets] == [QUERY_IP, REPLY_IP, QUERY_IP] * 2


# --------------------------------------------------------------------------------------------
# Huge values
# --------------------------------------------------------------------------------------------

BLOB_BYTES = 50 * 1024 * 1024
DEEP_LIST_LEVELS = 100_000


class Marker:
    """An object that a weak reference can follow."""


def deep_list(levels):
    nested = []
    for _ in range(levels):
        nested = [nested]
    return nested


class Heavy(NFPlugin):
    """Stores a 50 MiB bytes object, a deeply nested list and a Marker per flow."""

    def on_init(self, packet, flow):
        # Non-zero bytes, so the pages are really written and count in RSS.
        flow.udps.blob = b"\x01" * BLOB_BYTES
        flow.udps.deep = deep_list(DEEP_LIST_LEVELS)
        flow.udps.marker = Marker()
        self.markers.append(weakref.ref(flow.udps.marker))


@skip_under_asan
def test_huge_values_freed_with_flows(four_flows):
    plugin = Heavy(markers=[])
    streamer = streamer_for(four_flows, udps=plugin)
    streamer.to_pandas()  # import pandas and warm up before measuring
    plugin.markers.clear()
    gc.collect()
    rss_before = resident_bytes()

    flows = list(streamer)
    rss_with_flows = resident_bytes()
    assert [len(flow.udps.blob) for flow in flows] == [BLOB_BYTES] * 4
    assert all(marker() is not None for marker in plugin.markers)
    del flows
    gc.collect()
    rss_after = resident_bytes()

    # 4 x 50 MiB were resident while the flows lived.
    assert rss_with_flows - rss_before > 3 * BLOB_BYTES
    assert [marker() for marker in plugin.markers] == [None] * 4
    # The tolerance (16 MiB) is an estimate well below one blob and above allocator noise.
    assert rss_after - rss_before < 16 * 1024 * 1024


@skip_under_asan
def test_huge_values_freed_after_frame(four_flows):
    plugin = Heavy(markers=[])
    streamer = streamer_for(four_flows, udps=plugin)
    streamer.to_pandas()
    plugin.markers.clear()
    gc.collect()
    rss_before = resident_bytes()

    frame = streamer.to_pandas()
    assert frame["udps.blob"].map(len).tolist() == [BLOB_BYTES] * 4
    del frame
    gc.collect()

    assert [marker() for marker in plugin.markers] == [None] * 4
    assert resident_bytes() - rss_before < 16 * 1024 * 1024


def test_huge_values_freed_after_hook_error(four_flows):
    class HeavyThenFail(Heavy):
        def on_expire(self, flow):
            raise HookError("on_expire failed")

    plugin = HeavyThenFail(markers=[])
    with pytest.raises(HookError):
        run(four_flows, udps=plugin)
    gc.collect()

    # The failing flow and the three still cached are all freed with the engine.
    assert len(plugin.markers) == 4
    assert [marker() for marker in plugin.markers] == [None] * 4


# --------------------------------------------------------------------------------------------
# Forced expiry
# --------------------------------------------------------------------------------------------


class CountHooks(NFPlugin):
    """Counts on_update and on_expire calls."""

    def on_update(self, packet, flow):
        self.updates += 1

    def on_expire(self, flow):
        self.expiries += 1


def test_expiry_on_first_packet_everywhere(exchange):
    class ExpireAtInit(NFPlugin):
        def on_init(self, packet, flow):
            flow.expiration_id = -1

    counter = CountHooks(updates=0, expiries=0)
    streamer = streamer_for(
        exchange, udps=[ExpireAtInit(), counter], statistical_analysis=True, splt_analysis=2
    )
    flows = list(streamer)
    stats = streamer.stats()

    assert [flow.id for flow in flows] == [0, 1, 2]
    assert [flow.bidirectional_packets for flow in flows] == [1, 1, 1]
    assert [flow.bidirectional_bytes for flow in flows] == [52, 62, 52]
    assert [flow.bidirectional_duration_ms for flow in flows] == [0, 0, 0]
    assert [flow.bidirectional_stddev_ps for flow in flows] == [0.0, 0.0, 0.0]
    assert [flow.splt_ps for flow in flows] == [[52, -1], [62, -1], [52, -1]]
    assert (counter.updates, counter.expiries) == (0, 3)
    assert stats["flows_created"] == 3
    assert stats["flows_expired"] == 3
    assert stats["flows_active"] == 0


def test_expiry_in_on_expire_keeps_timing(tmp_path):
    # Flow A at 0 and 1 ms, flow B at 2 ms, then A again after the 1 s idle timeout.
    frames = [(0, QUERY), (1, QUERY), (2, pcapgen.ethernet(port_flow_ip(7))), (3000, QUERY)]
    path = write(tmp_path / "idle.pcap", frames)

    class ExpireLate(NFPlugin):
        def on_expire(self, flow):
            flow.expiration_id = -1

    def timing(flows):
        return [
            (
                flow.id,
                flow.src_port,
                flow.bidirectional_packets,
                flow.bidirectional_first_seen_ms,
                flow.bidirectional_last_seen_ms,
            )
            for flow in flows
        ]

    plain = run(path, idle_timeout=1)
    forced = run(path, idle_timeout=1, udps=ExpireLate())

    assert timing(forced) == timing(plain)
    assert [flow.expiration_id for flow in plain] == [0, 0, 0]
    assert [flow.expiration_id for flow in forced] == [-1, -1, -1]


def test_expiry_in_process_gives_one_packet_flows(exchange):
    class ExpireInProcess(NFPlugin):
        def process(self, packet, flow):
            flow.expiration_id = -1
            flow.expire_calls += 1

    flows = run(exchange, plugins=[ExpireInProcess(name="expire_calls")])

    # process runs with on_init for the first packet, so every flow ends there.
    assert [flow.id for flow in flows] == [0, 1, 2]
    assert [flow.bidirectional_packets for flow in flows] == [1, 1, 1]
    assert [flow.expiration_id for flow in flows] == [-1, -1, -1]
    assert [flow.src_port for flow in flows] == [40000, 53, 40000]
    assert [flow.expire_calls for flow in flows] == [1, 1, 1]


def test_expiry_in_giveup_kept_as_value(exchange):
    class ExpireInGiveup(NFPlugin):
        def giveup(self, flow):
            flow.expiration_id = -1

    flows = run(exchange, plugins=[ExpireInGiveup(name="late")])

    assert [(flow.bidirectional_packets, flow.expiration_id) for flow in flows] == [(3, -1)]


def test_expiry_cancelled_by_later_plugin(exchange):
    class ExpireAtInit(NFPlugin):
        def on_init(self, packet, flow):
            flow.expiration_id = -1

    class Cancel(NFPlugin):
        def on_init(self, packet, flow):
            flow.expiration_id = 0

    flows = run(exchange, udps=[ExpireAtInit(), Cancel()])

    # The meter checks expiration_id after every plugin ran, as nfstream does.
    assert [(flow.bidirectional_packets, flow.expiration_id) for flow in flows] == [(3, 0)]


# --------------------------------------------------------------------------------------------
# Re-entering the streamer from a hook (each in its own interpreter)
# --------------------------------------------------------------------------------------------


def test_same_streamer_iterated_in_on_init(isolated):
    results = isolated(
        """
        class Nested(NFPlugin):
            def on_init(self, packet, flow):
                if self.depth == 0:
                    self.depth += 1
                    self.inner.append([
                        [f.id, f.src_port, f.bidirectional_packets] for f in self.streamer
                    ])
                    self.depth -= 1

            def cleanup(self):
                self.cleanups += 1

        plugin = Nested(depth=0, inner=[], cleanups=0)
        streamer = NFStreamer(source=EXCHANGE, udps=plugin, n_dissections=0)
        plugin.streamer = streamer
        results["outer"] = [[f.id, f.src_port, f.bidirectional_packets] for f in streamer]
        results["inner"] = plugin.inner
        results["cleanups"] = plugin.cleanups
        """
    )

    assert results["outer"] == [[0, 40000, 3]]
    assert results["inner"] == [[[0, 40000, 3]]]
    assert results["cleanups"] == 2


def test_other_streamer_iterated_in_on_expire(isolated):
    results = isolated(
        """
        class Nested(NFPlugin):
            def on_expire(self, flow):
                inner = NFStreamer(source=OTHER, n_dissections=0)
                self.inner.append([[f.id, f.dst_ip] for f in inner])

        plugin = Nested(inner=[])
        flows = list(NFStreamer(source=EXCHANGE, udps=plugin, n_dissections=0))
        results["outer"] = [[f.id, f.bidirectional_packets] for f in flows]
        results["inner"] = plugin.inner
        """
    )

    assert results["outer"] == [[0, 3]]
    assert results["inner"] == [[[0, "10.0.0.2"], [1, "10.0.0.3"]]]


def test_to_pandas_in_hook_with_guard(isolated):
    results = isolated(
        """
        class Nested(NFPlugin):
            def on_update(self, packet, flow):
                if not self.busy:
                    self.busy = True
                    frame = self.streamer.to_pandas()
                    self.inner.append(frame["bidirectional_packets"].tolist())
                    self.busy = False

        plugin = Nested(busy=False, inner=[])
        streamer = NFStreamer(source=EXCHANGE, udps=plugin, n_dissections=0)
        plugin.streamer = streamer
        results["outer"] = [f.bidirectional_packets for f in streamer]
        results["inner"] = plugin.inner
        """
    )

    assert results["outer"] == [3]
    # One nested run per on_update of the outer run; nested runs skip their own nesting.
    assert results["inner"] == [[3], [3]]


def test_unbounded_nesting_raises_recursion_error(isolated):
    results = isolated(
        """
        class Nested(NFPlugin):
            def on_init(self, packet, flow):
                self.streamer.to_pandas()

        plugin = Nested()
        streamer = NFStreamer(source=EXCHANGE, udps=plugin, n_dissections=0)
        plugin.streamer = streamer
        try:
            list(streamer)
        except RecursionError as error:
            results["error"] = type(error).__name__
        results["again"] = len(list(NFStreamer(source=EXCHANGE, n_dissections=0)))
        """
    )

    assert results == {"error": "RecursionError", "again": 1}


def test_own_iterator_advanced_in_hook(isolated):
    results = isolated(
        """
        class Advance(NFPlugin):
            def on_update(self, packet, flow):
                next(self.iterator)

        plugin = Advance()
        iterator = iter(NFStreamer(source=EXCHANGE, udps=plugin, n_dissections=0))
        plugin.iterator = iterator
        try:
            list(iterator)
        except RuntimeError as error:
            results["error"] = str(error)
        try:
            next(iterator)
        except StopIteration:
            results["finished"] = True
        """
    )

    assert results["error"] == (
        "NFStreamer iterator is already running: next() was called from another thread "
        "or from a plugin hook of this iteration"
    )
    assert results["finished"] is True


# --------------------------------------------------------------------------------------------
# Malformed plugin classes
# --------------------------------------------------------------------------------------------


class Quiet(NFPlugin):
    """Counts cleanup() calls and overrides nothing else."""

    def cleanup(self):
        self.cleanups = getattr(self, "cleanups", 0) + 1


class UpdateFive(Quiet):
    on_update = 5


@pytest.mark.parametrize(
    "make_plugin, message",
    [
        (lambda: UpdateFive(), "plugin hook UpdateFive.on_update must be callable, got 5"),
        (lambda: Quiet(on_expire=5), "plugin hook Quiet.on_expire must be callable, got 5"),
        (lambda: Quiet(on_init=None), "plugin hook Quiet.on_init must be callable, got None"),
    ],
    ids=["class attribute", "instance attribute", "None"],
)
def test_non_callable_hook_rejected(exchange, make_plugin, message):
    plugin = make_plugin()
    streamer = streamer_for(exchange, udps=plugin)

    with pytest.raises(TypeError) as excinfo:
        iter(streamer)

    assert str(excinfo.value) == message
    # Rejected before the run started, so no cleanup() is due.
    assert getattr(plugin, "cleanups", 0) == 0


def test_non_callable_init_function_rejected(exchange):
    streamer = streamer_for(exchange, plugins=[Quiet(name="start", init_function=5)])

    with pytest.raises(TypeError) as excinfo:
        iter(streamer)

    assert str(excinfo.value) == "init_function of plugin start must be callable or None, got 5"


def test_wrong_hook_signature_reported(exchange):
    class NoArguments(NFPlugin):
        def on_expire(self):
            pass

    with pytest.raises(TypeError, match=r"on_expire\(\) takes 1 positional argument"):
        run(exchange, udps=NoArguments())


class LabelWithoutBaseInit(NFPlugin):
    def __init__(self, label):
        self.label = label

    def on_init(self, packet, flow):
        flow.udps.label = self.label


class CountWithoutBaseInit(NFPlugin):
    def __init__(self):
        pass

    def process(self, packet, flow):
        flow.CountWithoutBaseInit += 1


def test_plugin_without_base_init(exchange):
    labeller = LabelWithoutBaseInit("x")
    counter = CountWithoutBaseInit()
    udps_flow = run(exchange, udps=labeller)[0]
    classic_flow = run(exchange, plugins=counter)[0]

    assert udps_flow.udps.label == "x"
    # The classic options default to name = class name, no init_function, not volatile.
    assert classic_flow.CountWithoutBaseInit == 3
    assert classic_flow.keys()[-1] == "CountWithoutBaseInit"
    # The options NFPlugin.__init__ sets are missing from the plugin itself.
    with pytest.raises(AttributeError, match="name"):
        _ = counter.name


def test_plugin_with_slots(exchange):
    class Slotted(NFPlugin):
        __slots__ = ("count",)

        def on_init(self, packet, flow):
            self.count += 1
            flow.udps.count = self.count

    plugin = Slotted(count=10, label="kept")
    flows = run(exchange, udps=plugin)

    assert [flow.udps.count for flow in flows] == [11]
    # NFPlugin instances keep a __dict__, so other keywords still become attributes.
    assert plugin.label == "kept"


def test_plugin_getattr_not_used_for_hooks(exchange):
    class Dynamic(NFPlugin):
        def __getattr__(self, name):
            self.__dict__.setdefault("asked", []).append(name)
            raise RuntimeError(f"no attribute {name}")

    plugin = Dynamic()
    udps_flows = run(exchange, udps=plugin)
    classic_flows = run(exchange, plugins=plugin)

    # Hooks resolve through the class, so __getattr__ is never consulted for them.
    assert [flow.bidirectional_packets for flow in udps_flows] == [3]
    assert classic_flows[0].Dynamic == 0
    assert "asked" not in vars(plugin)


def test_plugin_getattribute_error_reported(exchange):
    class Hostile(NFPlugin):
        def __getattribute__(self, name):
            if name == "on_update":
                raise RuntimeError("on_update lookup failed")
            return super().__getattribute__(name)

    with pytest.raises(RuntimeError, match="on_update lookup failed"):
        iter(streamer_for(exchange, udps=Hostile()))


# --------------------------------------------------------------------------------------------
# Reference counts over repeated runs
# --------------------------------------------------------------------------------------------

LEAK_RUNS = 50
LEAK_WARMUP_RUNS = 5
# Estimates: well above the noise of CPython 3.11 on Linux x86-64, well below one leaked
# flow (about 10 objects with its packets and udps) or engine per run over 50 runs.
OBJECT_TOLERANCE = 150
RSS_TOLERANCE_BYTES = 4 * 1024 * 1024


class Churn(NFPlugin):
    """Keeps packets and flows while a run lasts, makes cycles, and drops it all at cleanup()."""

    def on_init(self, packet, flow):
        self.kept.append(packet)
        flow.udps.self_cycle = flow
        flow.udps.payload = bytearray(packet.ip_packet)

    def on_update(self, packet, flow):
        self.kept.append((packet, flow))

    def on_expire(self, flow):
        del flow.udps.self_cycle

    def cleanup(self):
        self.kept.clear()


class ChurnThenFail(Churn):
    def on_update(self, packet, flow):
        super().on_update(packet, flow)
        raise HookError("on_update failed")


def object_count():
    gc.collect()
    return len(gc.get_objects())


@skip_under_asan
@pytest.mark.parametrize("plugin_type", [Churn, ChurnThenFail])
def test_repeated_misbehaving_runs_flat(tmp_path, plugin_type):
    frames = [(0, QUERY), (1, pcapgen.ethernet(port_flow_ip(7))), (4, REPLY), (10, QUERY)]
    streamer = streamer_for(write(tmp_path / "capture.pcap", frames), udps=plugin_type(kept=[]))

    def run_once():
        try:
            flows = list(streamer)
        except HookError:
            return
        assert len(flows) == 2

    for _ in range(LEAK_WARMUP_RUNS):
        run_once()
    objects_before = object_count()
    rss_before = resident_bytes()
    for _ in range(LEAK_RUNS):
        run_once()
    object_growth = object_count() - objects_before
    rss_growth = resident_bytes() - rss_before

    assert object_growth < OBJECT_TOLERANCE, f"{object_growth} more objects after {LEAK_RUNS} runs"
    assert rss_growth < RSS_TOLERANCE_BYTES, f"RSS grew by {rss_growth} bytes"
