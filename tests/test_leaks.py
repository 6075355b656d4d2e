"""Repeated runs keep memory flat, early exits free the engine, retained flows stay valid.

Resident memory comes from /proc/self/statm and the Python object count from
gc.get_objects(). Both are measured after warm-up runs, because the first runs fill
allocator pools, interned strings and nDPI's one-time tables. The tolerances are estimates
chosen well above the noise seen on Linux x86-64 with CPython 3.11 and well below what a
leak of one flow or one engine per run would add over 100 runs.

The memory checks are skipped when AddressSanitizer is preloaded, because its quarantine
keeps freed memory resident on purpose.
"""

from __future__ import annotations

import gc
import os
import pickle
from pathlib import Path

import pytest

from nfstream import NFPlugin, NFStreamer

REPO_ROOT = Path(__file__).resolve().parents[1]
SAMPLE = REPO_ROOT / "examples" / "sample.pcap"
CONFORMANCE_PCAPS = REPO_ROOT.parent / "shared" / "conformance" / "nfstream" / "pcaps"
# A capture of about 250 kB with 74 flows, if the conformance set is present.
LARGER_CAPTURE = CONFORMANCE_PCAPS / "ethereum.pcap"

RUNS = 100
WARMUP_RUNS = 10
RSS_TOLERANCE_BYTES = 4 * 1024 * 1024
OBJECT_TOLERANCE = 200

UNDER_ASAN = "libasan" in os.environ.get("LD_PRELOAD", "")
skip_under_asan = pytest.mark.skipif(
    UNDER_ASAN, reason="AddressSanitizer's quarantine keeps freed memory resident"
)


def trimmed_resident_bytes() -> int:
    """Return the resident set size after handing freed heap pages back (glibc only).

    Earlier tests leave freed memory in the process, which a new run would reuse without
    growing, so memory-return tests start from a trimmed heap.
    """
    import ctypes

    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pytest.skip("malloc_trim needs glibc")
    return resident_bytes()


def resident_bytes() -> int:
    """Return this process's resident set size from /proc/self/statm."""
    with open("/proc/self/statm") as statm:
        resident_pages = int(statm.read().split()[1])
    return resident_pages * os.sysconf("SC_PAGE_SIZE")


def object_count() -> int:
    gc.collect()
    return len(gc.get_objects())


def capture_path() -> Path:
    return LARGER_CAPTURE if LARGER_CAPTURE.is_file() else SAMPLE


class CleanupCounter(NFPlugin):
    """Plugin that counts cleanup() calls and touches every packet."""

    cleanups = 0

    def on_init(self, packet, flow):
        flow.udps.seen = 1

    def on_update(self, packet, flow):
        flow.udps.seen += 1

    def cleanup(self):
        CleanupCounter.cleanups += 1


def measure(run) -> tuple[int, int]:
    """Run ``run`` WARMUP_RUNS, then RUNS times, and return the growth in RSS and object count."""
    for _ in range(WARMUP_RUNS):
        run()
    objects_before = object_count()
    rss_before = resident_bytes()
    for _ in range(RUNS):
        run()
    objects_after = object_count()
    rss_after = resident_bytes()
    return rss_after - rss_before, objects_after - objects_before


@skip_under_asan
@pytest.mark.parametrize(
    "options",
    [
        {},
        {"n_dissections": 0, "statistical_analysis": True, "splt_analysis": 10},
        {"udps": CleanupCounter(), "splt_analysis": 5},
    ],
    ids=["default", "statistics", "plugin"],
)
def test_repeated_runs_memory_flat(options):
    streamer = NFStreamer(source=str(capture_path()), **options)

    def run():
        flows = list(streamer)
        assert flows

    rss_growth, object_growth = measure(run)

    assert rss_growth < RSS_TOLERANCE_BYTES, f"RSS grew by {rss_growth} bytes over {RUNS} runs"
    assert object_growth < OBJECT_TOLERANCE, f"{object_growth} more objects after {RUNS} runs"


def test_early_break_runs_cleanup():
    CleanupCounter.cleanups = 0
    streamer = NFStreamer(source=str(capture_path()), udps=CleanupCounter())

    for _ in range(RUNS):
        for _flow in streamer:
            break

    # Dropping the iterator frees the engine at once, without waiting for the collector.
    assert CleanupCounter.cleanups == RUNS


def test_dropped_iterator_runs_cleanup():
    CleanupCounter.cleanups = 0
    streamer = NFStreamer(source=str(capture_path()), udps=CleanupCounter())

    iterator = iter(streamer)
    next(iterator)
    assert CleanupCounter.cleanups == 0
    del iterator

    assert CleanupCounter.cleanups == 1


@skip_under_asan
def test_early_break_memory_flat():
    streamer = NFStreamer(source=str(capture_path()), udps=CleanupCounter())

    def run():
        for _flow in streamer:
            break

    rss_growth, object_growth = measure(run)

    assert rss_growth < RSS_TOLERANCE_BYTES, f"RSS grew by {rss_growth} bytes over {RUNS} breaks"
    assert object_growth < OBJECT_TOLERANCE, f"{object_growth} more objects after {RUNS} breaks"


def test_kept_flows_stay_valid():
    streamer = NFStreamer(source=str(capture_path()), udps=CleanupCounter(), splt_analysis=5)
    retained_flows = list(streamer)
    snapshot = [repr(flow.values()) for flow in retained_flows]

    # Later runs and a collection must not touch the flows of an earlier run.
    for _ in range(3):
        list(streamer)
    gc.collect()

    assert [repr(flow.values()) for flow in retained_flows] == snapshot
    assert [flow.keys() for flow in retained_flows] == [flow.keys() for flow in list(streamer)]


def test_flows_of_broken_run_stay_valid():
    streamer = NFStreamer(source=str(capture_path()), udps=CleanupCounter())
    iterator = iter(streamer)
    retained_flows = [next(iterator) for _ in range(2)]
    snapshot = [repr(flow.values()) for flow in retained_flows]
    del iterator
    gc.collect()

    assert [repr(flow.values()) for flow in retained_flows] == snapshot


def test_pickled_flows_stay_valid():
    retained_flows = list(NFStreamer(source=str(capture_path()), splt_analysis=5))
    snapshot = [repr(flow.values()) for flow in retained_flows]

    restored = pickle.loads(pickle.dumps(retained_flows))
    del retained_flows
    gc.collect()

    assert [repr(flow.values()) for flow in restored] == snapshot
    assert pickle.loads(pickle.dumps(restored[0])).keys() == restored[0].keys()


def many_flows_capture(path: Path, flows: int, late_flows: int = 0) -> Path:
    """Write one UDP packet per flow (distinct source ports and addresses), 10 us apart.

    The `late_flows` come 20 s later, 10 ms apart, so each one is followed by an idle scan
    that expires up to 1000 of the earlier flows while the run goes on.
    """
    import struct

    import pcapgen
    from pcapgen.ip import ipv4, udp
    from pcapgen.link import ethernet

    template = ethernet(ipv4(udp(b"x" * 18, 1000, 53, "10.0.0.1", "10.9.0.1"), "10.0.0.1",
                             "10.9.0.1", 17))
    parts = [pcapgen.pcap_bytes([])]
    times_us = [index * 10 for index in range(flows)]
    times_us += [20_000_000 + index * 10_000 for index in range(late_flows)]
    for index, time_us in enumerate(times_us):
        frame = bytearray(template)
        frame[28:30] = struct.pack(">H", index >> 16)  # source address, third and fourth bytes
        frame[34:36] = struct.pack(">H", index & 0xFFFF)  # UDP source port
        frame[40:42] = b"\x00\x00"  # no UDP checksum, since the port changed
        seconds, microseconds = divmod(time_us, 1_000_000)
        parts.append(struct.pack("<IIII", 1_700_000_000 + seconds, microseconds,
                                 len(frame), len(frame)))
        parts.append(bytes(frame))
    path.write_bytes(b"".join(parts))
    return path


@skip_under_asan
def test_memory_returns_after_many_flows_expire(tmp_path):
    capture = many_flows_capture(tmp_path / "many.pcap", 150_000)
    streamer = NFStreamer(source=str(capture), n_dissections=0, idle_timeout=3600)
    baseline = trimmed_resident_bytes()
    flows = iter(streamer)
    count = 0
    peak = baseline
    for _flow in flows:
        count += 1
        if count == 1:
            # The first flow comes out only at the end of the capture, with the cache full.
            peak = resident_bytes()
    after = resident_bytes()

    assert count == 150_000
    assert peak - baseline > 20 * 1024 * 1024
    # The iterator (and its engine) is still alive, so only trimming frees the flows' memory.
    assert after - baseline < (peak - baseline) / 4
    del flows


@skip_under_asan
@pytest.mark.parametrize("n_dissections", [0, 20])
def test_memory_returns_while_the_run_goes_on(tmp_path, n_dissections):
    """With n_dissections=20 and two cores the nDPI states live in the dissection thread."""
    flows = 120_000
    capture = many_flows_capture(tmp_path / "shrink.pcap", flows, late_flows=200)
    streamer = NFStreamer(source=str(capture), n_dissections=n_dissections, idle_timeout=5)
    baseline = trimmed_resident_bytes()
    count = 0
    for _flow in streamer:
        count += 1
        if count == 1:
            peak = resident_bytes()
        if count == flows:
            # Every early flow has expired and the late ones keep the run going.
            middle = resident_bytes()

    assert count == flows + 200
    assert peak - baseline > 20 * 1024 * 1024
    assert middle - baseline < (peak - baseline) / 2
