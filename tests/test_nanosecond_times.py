"""Opt-in nanosecond time columns beside nfstream's millisecond ones."""
import struct

import pytest

from nfstream import NFStreamer
from pcapgen import Record, ethernet, udp_packet, write_pcap, write_pcapng

START_NS = 1_700_000_000_123_456_789
CLIENT = ("192.0.2.1", 40000)
SERVER = ("192.0.2.2", 53)


def write_exchange(path, writer, resolution):
    """Write two requests and one reply 1.5 ms and 2.25 ms apart."""
    request = ethernet(udp_packet(CLIENT[0], SERVER[0], CLIENT[1], SERVER[1], b"q"))
    reply = ethernet(udp_packet(SERVER[0], CLIENT[0], SERVER[1], CLIENT[1], b"r"))
    records = [
        Record(START_NS, request),
        Record(START_NS + 1_500_000, reply),
        Record(START_NS + 3_750_001, request),
    ]
    writer(path, records, resolution=resolution)


@pytest.mark.parametrize("writer", [write_pcap, write_pcapng], ids=["pcap", "pcapng"])
def test_nanosecond_columns_exact(tmp_path, writer):
    path = tmp_path / "exchange.cap"
    write_exchange(path, writer, "ns")

    (flow,) = NFStreamer(source=str(path), nanosecond_times=True, n_dissections=0)

    assert flow.bidirectional_first_seen_ns == START_NS
    assert flow.bidirectional_last_seen_ns == START_NS + 3_750_001
    assert flow.bidirectional_duration_ns == 3_750_001
    assert flow.src2dst_first_seen_ns == START_NS
    assert flow.src2dst_last_seen_ns == START_NS + 3_750_001
    assert flow.dst2src_first_seen_ns == START_NS + 1_500_000
    assert flow.dst2src_last_seen_ns == START_NS + 1_500_000
    assert flow.dst2src_duration_ns == 0
    assert flow.bidirectional_first_seen_ms == START_NS // 1_000_000
    # Milliseconds are truncated before subtracting: 127 - 123, not 3.75 ms.
    assert flow.bidirectional_duration_ms == 4


def test_microsecond_file_gives_microsecond_steps(tmp_path):
    path = tmp_path / "exchange.pcap"
    write_exchange(path, write_pcap, "us")

    (flow,) = NFStreamer(source=str(path), nanosecond_times=True, n_dissections=0)

    assert flow.bidirectional_first_seen_ns == START_NS // 1000 * 1000
    assert flow.bidirectional_last_seen_ns == (START_NS + 3_750_001) // 1000 * 1000


def test_nanosecond_columns_follow_counters(tmp_path):
    path = tmp_path / "exchange.pcap"
    write_exchange(path, write_pcap, "ns")

    (flow,) = NFStreamer(source=str(path), nanosecond_times=True, n_dissections=0)
    keys = flow.keys()

    start = keys.index("dst2src_bytes") + 1
    assert keys[start : start + 3] == [
        "bidirectional_first_seen_ns",
        "bidirectional_last_seen_ns",
        "bidirectional_duration_ns",
    ]
    assert keys[-1] == "dst2src_duration_ns"


def test_nanosecond_columns_off_by_default(tmp_path):
    path = tmp_path / "exchange.pcap"
    write_exchange(path, write_pcap, "ns")

    (flow,) = NFStreamer(source=str(path), n_dissections=0)

    assert not any(key.endswith("_ns") for key in flow.keys())
    with pytest.raises(AttributeError):
        flow.bidirectional_first_seen_ns


def test_nanosecond_times_rejects_non_bool(tmp_path):
    path = tmp_path / "exchange.pcap"
    write_exchange(path, write_pcap, "ns")

    with pytest.raises(ValueError, match="nanosecond_times"):
        NFStreamer(source=str(path), nanosecond_times="yes")


def test_negative_subsecond_truncates_toward_zero(tmp_path):
    """A damaged record whose microsecond field reads as negative: nfstream's C division."""
    frame = ethernet(udp_packet(CLIENT[0], SERVER[0], CLIENT[1], SERVER[1], b"q"))
    header = struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1)
    # 4293562680 as a signed 32-bit microsecond count is -1404616.
    record = struct.pack("<IIII", 1_953_632_560, 4_293_562_680, len(frame), len(frame))
    path = tmp_path / "negative.pcap"
    path.write_bytes(header + record + frame)

    (flow,) = NFStreamer(source=str(path), n_dissections=0)

    assert flow.bidirectional_first_seen_ms == 1_953_632_560_000 - 1404
