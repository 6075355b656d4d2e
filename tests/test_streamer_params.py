"""NFStreamer parameters: defaults, validation errors, attribute access and their effect."""

import pathlib

import pcapgen
import pytest
from pcapgen import Record, write_pcap

from nfstream import NFPlugin, NFStreamer

START_NS = 1_700_000_000_000_000_000

DEFAULTS = {
    "decode_tunnels": True,
    "bpf_filter": None,
    "promiscuous_mode": True,
    "snapshot_length": 1536,
    "idle_timeout": 120,
    "active_timeout": 1800,
    "accounting_mode": 0,
    "udps": None,
    "n_dissections": 20,
    "statistical_analysis": False,
    "splt_analysis": 0,
    "n_meters": 0,
    "max_nflows": 0,
    "performance_report": 0,
    "system_visibility_mode": 0,
    "system_visibility_poll_ms": 100,
    "socket_buffer_size": 0,
    "nanosecond_times": False,
}


@pytest.fixture
def capture(tmp_path):
    """One UDP datagram 192.0.2.1:40000 -> 192.0.2.2:53 with a 10-byte payload (frame 52)."""
    path = tmp_path / "capture.pcap"
    packet = pcapgen.udp_packet("192.0.2.1", "192.0.2.2", 40000, 53, b"p" * 10)
    write_pcap(path, [Record(START_NS, pcapgen.ethernet(packet))])
    return str(path)


@pytest.mark.parametrize("name, value", list(DEFAULTS.items()))
def test_parameter_default(capture, name, value):
    streamer = NFStreamer(source=capture)

    assert getattr(streamer, name) == value
    assert type(getattr(streamer, name)) is type(value)


def test_source_read_back(capture):
    assert NFStreamer(source=capture).source == capture


def test_source_pathlike(capture):
    flows = list(NFStreamer(source=pathlib.Path(capture), n_dissections=0))

    assert len(flows) == 1


def test_source_list_read_back(capture):
    streamer = NFStreamer(source=[pathlib.Path(capture), capture])

    assert streamer.source == [capture, capture]


def test_source_positional(capture):
    assert len(list(NFStreamer(capture))) == 1


# (parameter, bad value, accepted exception types, text the message must contain)
BAD_VALUES = [
    ("decode_tunnels", 1, TypeError, "1"),
    ("decode_tunnels", "yes", TypeError, "'yes'"),
    ("decode_tunnels", None, TypeError, "None"),
    ("bpf_filter", 5, TypeError, "5"),
    ("bpf_filter", b"udp", TypeError, "b'udp'"),
    ("promiscuous_mode", 0, TypeError, "0"),
    ("snapshot_length", 0, ValueError, "0"),
    ("snapshot_length", -1, ValueError, "-1"),
    ("snapshot_length", 2**31, ValueError, str(2**31)),
    ("snapshot_length", "1536", TypeError, "'1536'"),
    ("snapshot_length", 1.5, TypeError, "1.5"),
    ("idle_timeout", -1, ValueError, "-1"),
    ("idle_timeout", 18446744073709552, ValueError, "18446744073709552"),
    ("idle_timeout", 2**70, ValueError, str(2**70)),
    ("idle_timeout", 1.0, TypeError, "1.0"),
    ("idle_timeout", None, TypeError, "None"),
    ("active_timeout", -5, ValueError, "-5"),
    ("active_timeout", "10", TypeError, "'10'"),
    ("accounting_mode", 4, ValueError, "4"),
    ("accounting_mode", -1, ValueError, "-1"),
    ("accounting_mode", "0", TypeError, "'0'"),
    ("udps", "abc", TypeError, "'a'"),
    ("udps", 5, TypeError, "5"),
    ("udps", [NFPlugin(), None], TypeError, "None"),
    ("n_dissections", 256, ValueError, "256"),
    ("n_dissections", -1, ValueError, "-1"),
    ("statistical_analysis", 1, TypeError, "1"),
    ("statistical_analysis", "True", TypeError, "'True'"),
    ("splt_analysis", 65536, ValueError, "65536"),
    ("splt_analysis", -1, ValueError, "-1"),
    ("n_meters", -1, ValueError, "-1"),
    ("n_meters", 2.0, TypeError, "2.0"),
    ("max_nflows", -1, ValueError, "-1"),
    ("max_nflows", "3", TypeError, "'3'"),
    ("performance_report", -1, ValueError, "-1"),
    ("system_visibility_mode", 2, ValueError, "2"),
    ("system_visibility_mode", -1, ValueError, "-1"),
    ("system_visibility_poll_ms", -1, ValueError, "-1"),
    ("socket_buffer_size", -1, ValueError, "-1"),
    ("socket_buffer_size", 2**31, ValueError, str(2**31)),
    ("plugins", [object], TypeError, "object"),
    ("nanosecond_times", 1, TypeError, "1"),
]


@pytest.mark.parametrize(
    "name, value, error, text",
    BAD_VALUES,
    ids=[f"{case[0]}={case[1]!r}" for case in BAD_VALUES],
)
def test_bad_value_in_constructor(capture, name, value, error, text):
    with pytest.raises(error) as excinfo:
        NFStreamer(source=capture, **{name: value})

    message = str(excinfo.value)
    assert name in message
    assert text in message
    # nfstream raised ValueError for every invalid parameter; type errors are both.
    assert isinstance(excinfo.value, ValueError)


@pytest.mark.parametrize(
    "name, value, error, text",
    BAD_VALUES,
    ids=[f"{case[0]}={case[1]!r}" for case in BAD_VALUES],
)
def test_bad_value_in_setter_keeps_old_value(capture, name, value, error, text):
    streamer = NFStreamer(source=capture)
    before = getattr(streamer, name)

    with pytest.raises(error, match=name):
        setattr(streamer, name, value)

    assert getattr(streamer, name) == before


def test_first_invalid_parameter_in_nfstream_order_raises(capture):
    # accounting_mode is validated before n_dissections.
    with pytest.raises(ValueError, match="accounting_mode"):
        NFStreamer(source=capture, n_dissections=999, accounting_mode=9)


@pytest.mark.parametrize(
    "name, value",
    [
        ("snapshot_length", True),
        ("idle_timeout", True),
        ("active_timeout", False),
        ("accounting_mode", True),
        ("n_dissections", False),
        ("splt_analysis", True),
        ("n_meters", True),
        ("max_nflows", True),
        ("system_visibility_poll_ms", False),
        ("socket_buffer_size", True),
    ],
)
def test_bool_accepted_as_int(capture, name, value):
    streamer = NFStreamer(source=capture, **{name: value})

    assert getattr(streamer, name) == int(value)


def test_bool_accounting_mode_counts_ip_size(capture):
    flows = list(NFStreamer(source=capture, accounting_mode=True, n_dissections=0))

    assert flows[0].bidirectional_bytes == 38


def test_bool_n_dissections_false_drops_columns(capture):
    flow = next(iter(NFStreamer(source=capture, n_dissections=False)))

    assert "application_name" not in flow.keys()


@pytest.mark.parametrize(
    "name, value",
    [
        ("decode_tunnels", False),
        ("bpf_filter", "udp"),
        ("promiscuous_mode", False),
        ("snapshot_length", 65535),
        ("idle_timeout", 0),
        ("idle_timeout", 18446744073709551),
        ("active_timeout", 5),
        ("accounting_mode", 3),
        ("n_dissections", 255),
        ("statistical_analysis", True),
        ("splt_analysis", 65535),
        ("n_meters", 1),
        ("max_nflows", 10),
        ("performance_report", 3),
        ("system_visibility_poll_ms", 0),
        ("socket_buffer_size", 2**31 - 1),
    ],
)
def test_setter_stores_valid_value(capture, name, value):
    streamer = NFStreamer(source=capture)
    setattr(streamer, name, value)

    assert getattr(streamer, name) == value


def test_setter_changes_next_iteration(capture):
    streamer = NFStreamer(source=capture, n_dissections=0)
    assert next(iter(streamer)).bidirectional_bytes == 52

    streamer.accounting_mode = 3
    assert next(iter(streamer)).bidirectional_bytes == 10

    streamer.decode_tunnels = False
    assert "tunnel_id" not in next(iter(streamer)).keys()


def test_setter_source(capture, tmp_path):
    other = tmp_path / "other.pcap"
    packet = pcapgen.udp_packet("192.0.2.7", "192.0.2.8", 1, 2, b"x")
    write_pcap(other, [Record(START_NS, pcapgen.ethernet(packet))])
    streamer = NFStreamer(source=capture, n_dissections=0)
    streamer.source = str(other)

    assert streamer.source == str(other)
    assert [flow.src_ip for flow in streamer] == ["192.0.2.7"]
    with pytest.raises(ValueError, match="missing.pcap"):
        streamer.source = str(tmp_path / "missing.pcap")
    assert streamer.source == str(other)


def test_parameter_cannot_be_deleted(capture):
    streamer = NFStreamer(source=capture)

    with pytest.raises(AttributeError, match="idle_timeout"):
        del streamer.idle_timeout


def test_system_visibility_mode_one_falls_back(capture):
    with pytest.warns(UserWarning, match="system_visibility_mode"):
        streamer = NFStreamer(source=capture, system_visibility_mode=1)

    assert streamer.system_visibility_mode == 0


def test_unknown_keyword_rejected(capture):
    with pytest.raises(TypeError, match="not_a_parameter"):
        NFStreamer(source=capture, not_a_parameter=1)


class Count(NFPlugin):
    def on_init(self, packet, flow):
        self.calls += 1


def test_udps_single_plugin(capture):
    plugin = Count(calls=0)
    streamer = NFStreamer(source=capture, udps=plugin, n_dissections=0)
    list(streamer)

    assert plugin.calls == 1
    assert list(streamer.udps) == [plugin]


@pytest.mark.parametrize("container", [list, tuple])
def test_udps_list_of_plugins(capture, container):
    first, second = Count(calls=0), Count(calls=0)
    streamer = NFStreamer(source=capture, udps=container([first, second]), n_dissections=0)
    list(streamer)

    assert (first.calls, second.calls) == (1, 1)
    assert list(streamer.udps) == [first, second]


def test_udps_generator_accepted(capture):
    plugin = Count(calls=0)
    list(NFStreamer(source=capture, udps=(p for p in [plugin]), n_dissections=0))

    assert plugin.calls == 1


def test_udps_empty_list_reads_none(capture):
    assert NFStreamer(source=capture, udps=[]).udps is None


def test_max_nflows_read_back_unchanged(capture):
    # nfstream stored max_nflows - 1 internally; the attribute reads what was given.
    assert NFStreamer(source=capture, max_nflows=4).max_nflows == 4


def test_n_meters_above_one_still_meters(capture):
    flows = list(NFStreamer(source=capture, n_meters=3, n_dissections=0))

    assert [flow.id for flow in flows] == [0]


def test_loopback_interface_accepted_as_live_source():
    # The interface is opened only when iteration starts (tests/test_live.py captures).
    assert NFStreamer(source="lo").source == "lo"
