"""Running out of memory for a flow costs its packet, not the run.

A preloaded shim (tests/c/fail_calloc.c) makes chosen flow allocations of the
extension fail. The engine must count each packet it could not meter, keep
going, report the count in stats() and warn at the end.
"""
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from pcapgen import Record, ethernet, udp_packet, write_pcap

TESTS = Path(__file__).resolve().parent
ROOT = TESTS.parent
COMPILER = shutil.which("cc") or shutil.which("gcc")

RUN = """
import json, sys, warnings
from nfstream import NFStreamer
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    streamer = NFStreamer(source=sys.argv[1], n_dissections=0)
    ports = [flow.src_port for flow in streamer]
print(json.dumps({"ports": ports, "stats": streamer.stats(),
                  "warnings": [str(warning.message) for warning in caught]}))
"""


@pytest.fixture(scope="module")
def shim(tmp_path_factory):
    if COMPILER is None:
        pytest.skip("no C compiler to build the allocation shim")
    if "asan" in os.environ.get("LD_PRELOAD", ""):
        pytest.skip("AddressSanitizer replaces calloc, so the shim cannot fail allocations")
    folder = tmp_path_factory.mktemp("shim")
    library = folder / "fail_calloc.so"
    probe = folder / "flow_size"
    subprocess.run(
        [COMPILER, "-shared", "-fPIC", "-O1", "-o", library, TESTS / "c" / "fail_calloc.c", "-ldl"],
        check=True,
    )
    subprocess.run(
        [COMPILER, "-I", ROOT / "csrc" / "engine", "-o", probe, TESTS / "c" / "flow_size.c"],
        check=True,
    )
    flow_size = int(subprocess.run([probe], check=True, capture_output=True, text=True).stdout)
    return library, flow_size


def run_failing(shim, capture, first, count):
    library, flow_size = shim
    environment = dict(
        os.environ,
        LD_PRELOAD=str(library),
        NF_TEST_FAIL_SIZE=str(flow_size),
        NF_TEST_FAIL_FROM=str(first),
        NF_TEST_FAIL_COUNT=str(count),
        PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
    )
    result = subprocess.run(
        [sys.executable, "-c", RUN, str(capture)],
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def write_one_packet_flows(path, count=10):
    records = [
        Record(1_700_000_000_000_000_000 + index * 1_000_000,
               ethernet(udp_packet("192.0.2.1", "192.0.2.2", 1000 + index, 53, b"x")))
        for index in range(count)
    ]
    write_pcap(path, records)


def test_failed_flows_are_counted_and_skipped(shim, tmp_path):
    capture = tmp_path / "flows.pcap"
    write_one_packet_flows(capture)

    result = run_failing(shim, capture, first=3, count=2)

    assert result["ports"] == [1000, 1001, 1004, 1005, 1006, 1007, 1008, 1009]
    assert result["stats"]["flow_allocation_failures"] == 2
    assert result["stats"]["flows_created"] == 8
    assert any("2 packets were not metered" in text for text in result["warnings"])


def test_no_failure_no_warning(shim, tmp_path):
    capture = tmp_path / "flows.pcap"
    write_one_packet_flows(capture)

    result = run_failing(shim, capture, first=1000, count=1)

    assert len(result["ports"]) == 10
    assert result["stats"]["flow_allocation_failures"] == 0
    assert result["warnings"] == []


def test_every_flow_failing_still_ends(shim, tmp_path):
    capture = tmp_path / "flows.pcap"
    write_one_packet_flows(capture)

    result = run_failing(shim, capture, first=1, count=100)

    assert result["ports"] == []
    assert result["stats"]["flow_allocation_failures"] == 10
