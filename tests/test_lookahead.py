"""Frames that wait behind later ones give the flows of frames metered at once.

Without dissection and plugins, a meter reading files lets each decoded frame wait behind a
few later ones while the slot of its flow loads from memory (nf_meter_start_lookahead in
csrc/engine/meter.c). A plugin without hooks turns that off, so comparing both runs checks
that waiting changes neither the flows, nor their order, nor any field, including at idle
scans, active timeouts and the end of the capture.
"""

from __future__ import annotations

from pathlib import Path

import pytest

import pcapgen
from nfstream import NFPlugin, NFStreamer
from test_dissection_thread import many_flow_records
from test_leaks import many_flows_capture

CORPUS = Path(__file__).resolve().parents[1].parent / "shared" / "conformance" / "nfstream"
CAPTURES = sorted((CORPUS / "pcaps").glob("*")) if CORPUS.is_dir() else []


class NoHooks(NFPlugin):
    """A plugin without hooks: its only effect is to meter each frame at once."""


def flow_rows(streamer) -> list[dict]:
    return [{name: getattr(flow, name) for name in flow.keys() if name != "udps"}
            for flow in streamer]


def assert_same_flows(options: dict) -> int:
    waiting = flow_rows(NFStreamer(**options))
    at_once = flow_rows(NFStreamer(**options, udps=NoHooks()))

    assert len(waiting) == len(at_once)
    assert waiting == at_once
    return len(waiting)


@pytest.fixture(scope="module")
def conversations_capture(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("lookahead") / "conversations.pcap"
    pcapgen.write_pcap(path, many_flow_records())
    return path


@pytest.mark.parametrize(
    ("idle_timeout", "active_timeout"),
    [(120, 1800), (1, 1800), (1, 1), (0, 0)],
    ids=["defaults", "short-idle", "short-both", "zero"],
)
def test_conversations_equal_with_lookahead(conversations_capture, idle_timeout, active_timeout):
    count = assert_same_flows({
        "source": str(conversations_capture), "n_dissections": 0, "idle_timeout": idle_timeout,
        "active_timeout": active_timeout, "statistical_analysis": True, "splt_analysis": 4,
    })

    assert count >= 300 * 3


def test_idle_scans_equal_with_lookahead(tmp_path):
    # The late flows come 10 ms apart, so each one is followed by an idle scan.
    capture = many_flows_capture(tmp_path / "scans.pcap", 5000, late_flows=300)

    count = assert_same_flows({"source": str(capture), "n_dissections": 0, "idle_timeout": 5})

    assert count == 5300


def test_early_break_with_waiting_frames(tmp_path):
    capture = many_flows_capture(tmp_path / "break.pcap", 2000)
    for limit in (1, 7, 1999):
        flows = []
        for flow in NFStreamer(source=str(capture), n_dissections=0, idle_timeout=0):
            flows.append(flow.src_port)
            if len(flows) == limit:
                break
        assert flows == list(range(limit))


@pytest.mark.skipif(not CAPTURES, reason="conformance corpus not found beside the repository")
def test_corpus_equal_with_lookahead():
    total = 0
    for capture in CAPTURES:
        total += assert_same_flows({"source": str(capture), "n_dissections": 0,
                                    "statistical_analysis": True})

    assert total > 1000
