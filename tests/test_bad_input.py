"""Sources that are missing, empty, broken, truncated or of an unsupported link type."""

import warnings

import pandas
import pcapgen
import pytest
from pcapgen import Record, truncate_file, write_pcap

from nfstream import CaptureError, NFStreamer

START_NS = 1_700_000_000_000_000_000
PCAP_FILE_HEADER = 24
PCAP_RECORD_HEADER = 16


def datagram(sport):
    """Ethernet frame of UDP 192.0.2.1:sport -> 192.0.2.2:53 with 10 payload bytes (52 bytes)."""
    packet = pcapgen.udp_packet("192.0.2.1", "192.0.2.2", sport, 53, b"d" * 10)
    return pcapgen.ethernet(packet)


def three_flows(path):
    """Write three one-packet flows (source ports 100, 101, 102) 1 ms apart."""
    records = [Record(START_NS + index * 1_000_000, datagram(100 + index)) for index in range(3)]
    write_pcap(path, records)
    return records


def test_missing_file(tmp_path):
    path = tmp_path / "missing.pcap"

    with pytest.raises(ValueError, match="missing.pcap"):
        NFStreamer(source=str(path))


def test_directory(tmp_path):
    with pytest.raises(ValueError, match=str(tmp_path)) as raised:
        NFStreamer(source=str(tmp_path))
    assert "is a directory, not a capture file" in str(raised.value)


@pytest.mark.parametrize("as_list", [False, True], ids=["path", "list"])
def test_named_pipe_is_rejected_by_kind(tmp_path, as_list):
    import os

    pipe = tmp_path / "stream.pcap"
    os.mkfifo(pipe)
    source = [str(pipe)] if as_list else str(pipe)

    with pytest.raises(ValueError, match="stream.pcap") as raised:
        NFStreamer(source=source)
    assert "is a pipe, not a capture file" in str(raised.value)
    assert "save a stream to a file first" in str(raised.value)


def test_empty_file(tmp_path):
    path = tmp_path / "empty.pcap"
    path.write_bytes(b"")

    with pytest.raises(CaptureError, match="empty.pcap"):
        NFStreamer(source=str(path))


def test_text_file(tmp_path):
    path = tmp_path / "notes.txt"
    path.write_text("this is a text file, not a packet capture\n" * 4)

    with pytest.raises(CaptureError, match="notes.txt"):
        NFStreamer(source=str(path))


def test_capture_error_is_value_error():
    # nfstream raised ValueError for capture problems; CaptureError keeps that contract.
    assert issubclass(CaptureError, ValueError)


def test_file_header_cut_short(tmp_path):
    path = tmp_path / "short.pcap"
    three_flows(path)
    truncate_file(path, 10)

    with pytest.raises(CaptureError, match="short.pcap"):
        NFStreamer(source=str(path))


def test_truncated_last_record_keeps_earlier_flows(tmp_path):
    path = tmp_path / "cut.pcap"
    three_flows(path)
    truncate_file(path, -5)
    streamer = NFStreamer(source=str(path), n_dissections=0)

    with pytest.warns(RuntimeWarning, match="cut.pcap") as record:
        flows = list(streamer)

    assert [flow.src_port for flow in flows] == [100, 101]
    assert [flow.id for flow in flows] == [0, 1]
    assert "truncated" in str(record[0].message)


def test_truncated_inside_record_header(tmp_path):
    path = tmp_path / "cut.pcap"
    records = three_flows(path)
    truncate_file(path, PCAP_FILE_HEADER + PCAP_RECORD_HEADER + len(records[0].data) + 8)

    with pytest.warns(RuntimeWarning, match="cut.pcap"):
        flows = list(NFStreamer(source=str(path), n_dissections=0))

    assert [flow.src_port for flow in flows] == [100]


def test_truncated_counted_in_stats(tmp_path):
    path = tmp_path / "cut.pcap"
    three_flows(path)
    truncate_file(path, -5)
    streamer = NFStreamer(source=str(path), n_dissections=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        list(streamer)

    assert streamer.stats()["packets_read"] == 2
    assert streamer.stats()["files_truncated"] == 1


def test_intact_file_no_warning(tmp_path):
    path = tmp_path / "ok.pcap"
    three_flows(path)

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        flows = list(NFStreamer(source=str(path), n_dissections=0))

    assert len(flows) == 3


@pytest.mark.parametrize(
    "linktype, name",
    [(147, "147"), (276, "LINUX_SLL2"), (105, "IEEE802_11"), (239, "NFLOG"), (108, "LOOP")],
)
def test_unsupported_link_type(tmp_path, linktype, name):
    path = tmp_path / "other.pcap"
    write_pcap(path, [Record(START_NS, datagram(100))], linktype=linktype)

    with pytest.raises(CaptureError) as excinfo:
        NFStreamer(source=str(path))

    assert name in str(excinfo.value)
    assert str(linktype) in str(excinfo.value)
    assert "other.pcap" in str(excinfo.value)


def test_unsupported_link_type_in_second_file(tmp_path):
    good = tmp_path / "good.pcap"
    bad = tmp_path / "bad.pcap"
    three_flows(good)
    write_pcap(bad, [Record(START_NS, datagram(100))], linktype=276)

    with pytest.raises(CaptureError, match="bad.pcap"):
        NFStreamer(source=[str(good), str(bad)])


def test_empty_source_list(tmp_path):
    with pytest.raises(ValueError, match="non-empty"):
        NFStreamer(source=[])


def test_source_list_with_one_bad_path(tmp_path):
    good = tmp_path / "good.pcap"
    three_flows(good)
    missing = tmp_path / "missing.pcap"

    with pytest.raises(ValueError) as excinfo:
        NFStreamer(source=[str(good), str(missing)])

    assert "1" in str(excinfo.value)
    assert "missing.pcap" in str(excinfo.value)


def test_source_list_with_non_path_item(tmp_path):
    good = tmp_path / "good.pcap"
    three_flows(good)

    with pytest.raises(TypeError, match="source"):
        NFStreamer(source=[str(good), 42])


@pytest.mark.parametrize("bpf_filter", ["not a filter((", "port 99999999", "udp and"])
def test_invalid_bpf_filter(tmp_path, bpf_filter):
    path = tmp_path / "capture.pcap"
    three_flows(path)

    with pytest.raises(CaptureError) as excinfo:
        NFStreamer(source=str(path), bpf_filter=bpf_filter)

    assert bpf_filter in str(excinfo.value)


def test_invalid_bpf_filter_set_later(tmp_path):
    path = tmp_path / "capture.pcap"
    three_flows(path)
    streamer = NFStreamer(source=str(path))

    with pytest.raises(CaptureError, match="udp and"):
        streamer.bpf_filter = "udp and"
    assert streamer.bpf_filter is None


def test_zero_length_records_ignored(tmp_path):
    path = tmp_path / "capture.pcap"
    records = [
        Record(START_NS, b""),
        Record(START_NS + 1_000_000, datagram(100)),
        Record(START_NS + 2_000_000, b"", wirelen=60),
        Record(START_NS + 3_000_000, datagram(100)),
    ]
    write_pcap(path, records)
    streamer = NFStreamer(source=str(path), n_dissections=0)
    flows = list(streamer)

    assert len(flows) == 1
    assert flows[0].bidirectional_packets == 2
    assert streamer.stats()["packets_read"] == 4
    assert streamer.stats()["packets_ignored"] == 2
    assert streamer.stats()["ignored_by_reason"]["frame too short"] == 2


@pytest.mark.parametrize(
    "caplen, reason",
    [
        (27, "frame too short"),  # fewer than 28 bytes in the whole frame
        (33, "truncated IP header"),  # fewer than 20 bytes at the IP offset
        (41, "invalid tunnel header"),  # no room for a UDP header while decoding tunnels
    ],
)
def test_short_frames_ignored(tmp_path, caplen, reason):
    path = tmp_path / "capture.pcap"
    frame = datagram(100)
    records = [
        Record(START_NS, frame[:caplen], wirelen=len(frame)),
        Record(START_NS + 1_000_000, frame),
    ]
    write_pcap(path, records)
    streamer = NFStreamer(source=str(path), n_dissections=0)
    flows = list(streamer)

    assert [flow.bidirectional_packets for flow in flows] == [1]
    assert streamer.stats()["ignored_by_reason"][reason] == 1
    assert streamer.stats()["packets_ignored"] == 1


def test_short_udp_frame_kept_without_tunnel_decoding(tmp_path):
    path = tmp_path / "capture.pcap"
    frame = datagram(100)
    write_pcap(path, [Record(START_NS, frame[:41], wirelen=len(frame))])
    flows = list(NFStreamer(source=str(path), n_dissections=0, decode_tunnels=False))

    assert len(flows) == 1
    assert flows[0].src_port == 100
    assert flows[0].bidirectional_bytes == len(frame)


def test_caplen_larger_than_wire_length(tmp_path):
    path = tmp_path / "capture.pcap"
    frame = datagram(100)
    write_pcap(path, [Record(START_NS, frame, wirelen=len(frame) - 10)])
    flows = list(NFStreamer(source=str(path), n_dissections=0))

    assert len(flows) == 1
    assert flows[0].bidirectional_bytes == len(frame) - 10
    assert flows[0].dst_port == 53


def test_empty_capture_no_flows(tmp_path):
    path = tmp_path / "empty.pcap"
    write_pcap(path, [])
    streamer = NFStreamer(source=str(path))

    assert list(streamer) == []
    assert streamer.stats()["packets_read"] == 0


def test_empty_capture_to_pandas(tmp_path):
    path = tmp_path / "empty.pcap"
    write_pcap(path, [])
    streamer = NFStreamer(source=str(path))
    frame = streamer.to_pandas()

    assert isinstance(frame, pandas.DataFrame)
    assert len(frame) == 0
    assert list(frame.columns) == streamer._core_columns()
    assert len(frame.columns) == 38


def test_only_ignored_packets_no_flows(tmp_path):
    path = tmp_path / "capture.pcap"
    write_pcap(path, [Record(START_NS, pcapgen.ethernet_8023(pcapgen.stp_bpdu(), pad_to=60))])
    streamer = NFStreamer(source=str(path))

    assert list(streamer) == []
    assert streamer.stats()["packets_ignored"] == 1


def test_iteration_after_file_removed(tmp_path):
    path = tmp_path / "capture.pcap"
    three_flows(path)
    streamer = NFStreamer(source=str(path))
    path.unlink()

    with pytest.raises(CaptureError, match="capture.pcap"):
        list(streamer)
