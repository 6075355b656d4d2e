"""A damaged record ends reading, but the flows before it still come out.

libpcap rejects a record whose captured length is above 262,144 bytes. The engine then
treats the error like the end of the files: it meters every frame read before it, expires
the cached flows and hands them out, and raises CaptureError after the last one. Every mode
must do so: one meter with frames waiting for their slots, a plugin, the dissection thread
and parallel meters.
"""

from __future__ import annotations

import struct
from pathlib import Path

import pytest

from nfstream import CaptureError, NFPlugin, NFStreamer
from pcapgen.ip import ipv4, udp
from pcapgen.link import ethernet

FLOWS = 12


def damaged_capture(path: Path) -> Path:
    """FLOWS one-packet UDP flows 20 ms apart, then the header of a 300,000-byte record."""
    parts = [struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1)]
    for index in range(FLOWS):
        source = f"10.0.0.{index + 1}"
        frame = ethernet(ipv4(udp(b"x" * 18, 1000 + index, 53, source, "10.9.0.1"), source,
                              "10.9.0.1", 17))
        parts.append(struct.pack("<IIII", 1_600_000_000, index * 20_000, len(frame), len(frame)))
        parts.append(frame)
    parts.append(struct.pack("<IIII", 1_600_000_000, 300_000, 300_000, 300_000))
    path.write_bytes(b"".join(parts))
    return path


@pytest.mark.parametrize(
    "options",
    [
        {"n_dissections": 0},
        {"n_dissections": 0, "udps": NFPlugin()},
        {"n_dissections": 20},
        {"n_dissections": 0, "n_meters": 2},
        {"n_dissections": 20, "n_meters": 2},
    ],
    ids=["lookahead", "plugin", "dissection", "two-meters", "two-meters-dissection"],
)
@pytest.mark.parametrize("idle_timeout", [0, 120], ids=["expired-early", "cached"])
def test_flows_before_damaged_record_come_out(tmp_path, options, idle_timeout):
    capture = damaged_capture(tmp_path / "damaged.pcap")
    streamer = NFStreamer(source=str(capture), idle_timeout=idle_timeout, **options)
    ports = []

    with pytest.raises(CaptureError, match="after 12 packets"):
        for flow in streamer:
            ports.append(flow.src_port)

    assert sorted(ports) == [1000 + index for index in range(FLOWS)]
    stats = streamer.stats()
    assert stats["packets_read"] == FLOWS
    assert stats["packets_processed"] == FLOWS
    assert stats["flows_active"] == 0
