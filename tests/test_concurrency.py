"""Several streamers at once give the same flows as one after another.

Covers streamers in threads (the engine releases the GIL while it reads without plugins),
in processes started with the spawn method, and two iterations interleaved in one thread.
Flows are compared through repr(flow.values()), which includes every column and the ids.
"""

from __future__ import annotations

import multiprocessing
import threading
from concurrent.futures import ThreadPoolExecutor
from itertools import zip_longest
from pathlib import Path

import pytest

from nfstream import NFPlugin, NFStreamer

REPO_ROOT = Path(__file__).resolve().parents[1]
SAMPLE = REPO_ROOT / "examples" / "sample.pcap"
CONFORMANCE_PCAPS = REPO_ROOT.parent / "shared" / "conformance" / "nfstream" / "pcaps"
CONFORMANCE_NAMES = ("ethereum.pcap", "dnscrypt-v2-doh.pcap", "bittorrent.pcap", "quic.pcap")
THREADS = 4
PROCESS_TIMEOUT_SECONDS = 120


class PacketCounter(NFPlugin):
    """Plugin that counts packets per flow, so runs with plugins hold the GIL in hooks."""

    def on_init(self, packet, flow):
        flow.udps.counted = 1

    def on_update(self, packet, flow):
        flow.udps.counted += 1


def captures() -> list[str]:
    """Return a few conformance captures when present, always with the sample capture."""
    paths = [CONFORMANCE_PCAPS / name for name in CONFORMANCE_NAMES]
    return [str(SAMPLE)] + [str(path) for path in paths if path.is_file()]


def flow_records(path: str, with_plugin: bool = False) -> list[str]:
    """Return the flows of one run over ``path`` as comparable strings."""
    options = {"udps": PacketCounter()} if with_plugin else {}
    return [repr(flow.values()) for flow in NFStreamer(source=path, splt_analysis=4, **options)]


def sequential_records(paths: list[str], with_plugin: bool = False) -> list[list[str]]:
    return [flow_records(path, with_plugin) for path in paths]


@pytest.mark.parametrize("with_plugin", [False, True], ids=["engine", "plugin"])
def test_threads_match_sequential(with_plugin):
    paths = captures() * 2
    expected = sequential_records(paths, with_plugin)

    with ThreadPoolExecutor(max_workers=THREADS) as pool:
        results = list(pool.map(lambda path: flow_records(path, with_plugin), paths))

    for path, result, reference in zip(paths, results, expected):
        assert result == reference, f"threaded run over {path} differs"


def test_threads_share_one_streamer():
    streamer = NFStreamer(source=str(SAMPLE))
    expected = [repr(flow.values()) for flow in streamer]
    results = [None] * THREADS
    start = threading.Barrier(THREADS)

    def run(index):
        start.wait()
        results[index] = [repr(flow.values()) for flow in streamer]

    threads = [threading.Thread(target=run, args=(index,)) for index in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    for result in results:
        assert result == expected


def test_spawned_processes_match_sequential():
    paths = captures()
    expected = sequential_records(paths)
    context = multiprocessing.get_context("spawn")

    with context.Pool(processes=2) as pool:
        pending = pool.map_async(flow_records, paths)
        results = pending.get(timeout=PROCESS_TIMEOUT_SECONDS)

    for path, result, reference in zip(paths, results, expected):
        assert result == reference, f"run in a spawned process over {path} differs"


def test_interleaved_streamers_one_thread():
    paths = captures()
    first_path, second_path = paths[0], paths[-1]
    expected_first = flow_records(first_path, with_plugin=True)
    expected_second = flow_records(second_path)
    first = NFStreamer(source=first_path, splt_analysis=4, udps=PacketCounter())
    second = NFStreamer(source=second_path, splt_analysis=4)

    got_first, got_second = [], []
    for flow_a, flow_b in zip_longest(first, second):
        if flow_a is not None:
            got_first.append(repr(flow_a.values()))
        if flow_b is not None:
            got_second.append(repr(flow_b.values()))

    assert got_first == expected_first
    assert got_second == expected_second


def test_interleaved_iterators_one_streamer():
    streamer = NFStreamer(source=captures()[-1], udps=PacketCounter())
    expected = [repr(flow.values()) for flow in streamer]

    first, second = iter(streamer), iter(streamer)
    got_first, got_second = [], []
    for flow_a, flow_b in zip_longest(first, second):
        if flow_a is not None:
            got_first.append(repr(flow_a.values()))
        if flow_b is not None:
            got_second.append(repr(flow_b.values()))

    assert got_first == expected
    assert got_second == expected
