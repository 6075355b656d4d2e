"""Dissection in a second thread gives the flows of inline dissection.

Without plugins, a single meter on a machine with two or more cores runs nDPI in a second
thread (csrc/engine/dissection_thread.c). tests/c/dissection_thread_check.c meters each
capture both ways and compares every flow's order, counters and application fields. It is
built with ThreadSanitizer, so a data race between the two threads fails the test as well.
The Python tests compare the same two paths through NFStreamer: a plugin keeps dissection
inline.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

import pcapgen
from fuzz_replay import REPO_ROOT, clean_environment, library_flags
from nfstream import NFPlugin, NFStreamer
from pcapgen.conversations import Endpoint, Step, conversation, tcp_handshake, tcp_teardown
from pcapgen.payloads import dns_query, dns_response, http_get, http_response, tls_client_hello

START_NS = 1_700_000_000_000_000_000
TSAN_TIMEOUT_SECONDS = 900
UNKNOWN_FLOWS = 400
UNKNOWN_PACKETS = 20


def many_flow_records() -> list[pcapgen.Record]:
    """HTTP, TLS and DNS conversations plus UDP flows nDPI cannot name, over about 2 s.

    The unnamed flows send all 20 of their 1400-byte packets to nDPI, about 11 MB in total,
    so the dissection thread's 8 MiB ring wraps around.
    """
    records = []
    for index in range(300):
        client = Endpoint(f"10.1.{index // 250}.{index % 250 + 1}", 40000 + index)
        offset = index * 0.005
        records += conversation(
            client,
            Endpoint("203.0.113.80", 80),
            [
                *tcp_handshake(offset, 0.002),
                Step(">", http_get(f"host{index}.example.com", "/"), "PA", offset + 0.005),
                Step("<", http_response(), "PA", offset + 0.007),
                *tcp_teardown(offset + 0.008, 0.002),
            ],
            start_ns=START_NS,
        )
        records += conversation(
            Endpoint(client.ip, 50000 + index),
            Endpoint("203.0.113.43", 443),
            [
                *tcp_handshake(offset, 0.002),
                Step(">", tls_client_hello(f"tls{index}.example.org"), "PA", offset + 0.005),
            ],
            start_ns=START_NS,
        )
        records += conversation(
            Endpoint(client.ip, 30000 + index),
            Endpoint("198.51.100.53", 53),
            [
                Step(">", dns_query(f"name{index}.example.net"), "", offset),
                Step("<", dns_response(f"name{index}.example.net", ["192.0.2.1"]), "", offset + 0.001),
            ],
            protocol="udp",
            start_ns=START_NS,
        )
    for index in range(UNKNOWN_FLOWS):
        payload = bytes((index + step) % 251 for step in range(1400))
        steps = [Step(">" if step % 2 == 0 else "<", payload, "", index * 0.004 + step * 0.0001)
                 for step in range(UNKNOWN_PACKETS)]
        records += conversation(
            Endpoint(f"10.2.{index // 250}.{index % 250 + 1}", 20000 + index),
            Endpoint("198.51.100.9", 7000 + index),
            steps,
            protocol="udp",
            start_ns=START_NS,
        )
    records.sort(key=lambda record: record.time_ns)
    return records


@pytest.fixture(scope="module")
def many_flows_capture(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("dissection-thread") / "many_flows.pcap"
    pcapgen.write_pcap(path, many_flow_records())
    return path


@pytest.fixture(scope="module")
def check_binary(tmp_path_factory) -> Path:
    compiler = shutil.which("clang")
    if compiler is None:
        pytest.skip("clang not found; the ThreadSanitizer build needs it")
    flags = library_flags()
    binary = tmp_path_factory.mktemp("tsan") / "dissection_thread_check"
    engine_sources = sorted(str(path) for path in (REPO_ROOT / "csrc" / "engine").glob("*.c"))
    command = [
        compiler, "-std=gnu11", "-g", "-O1", "-fsanitize=thread",
        f"-I{REPO_ROOT / 'csrc' / 'engine'}", "-o", str(binary),
        str(REPO_ROOT / "tests" / "c" / "dissection_thread_check.c"), *engine_sources, *flags,
    ]  # fmt: skip
    result = subprocess.run(command, capture_output=True, text=True, env=clean_environment())
    assert result.returncode == 0, f"building the check failed:\n{result.stderr}"
    return binary


def run_check(binary: Path, n_dissections: int, idle_ms: int, files: list[Path]) -> str:
    env = clean_environment()
    env["TSAN_OPTIONS"] = "halt_on_error=1 exitcode=66"
    result = subprocess.run(
        [str(binary), str(n_dissections), str(idle_ms), *map(str, files)],
        capture_output=True,
        text=True,
        env=env,
        timeout=TSAN_TIMEOUT_SECONDS,
    )
    assert result.returncode == 0, f"threaded and inline dissection differ:\n{result.stderr[-4000:]}"
    return result.stdout


@pytest.mark.skipif(len(os.sched_getaffinity(0)) < 2, reason="the thread needs two cores")
@pytest.mark.parametrize("n_dissections", [1, 20])
@pytest.mark.parametrize("idle_ms", [20, 120000], ids=["idle-20ms", "idle-120s"])
def test_threaded_dissection_matches_inline(check_binary, many_flows_capture, n_dissections, idle_ms):
    output = run_check(check_binary, n_dissections, idle_ms, [many_flows_capture])
    compared = int(output.split()[1])
    # A short idle timeout can split a flow, never merge two.
    assert compared >= 300 * 3 + UNKNOWN_FLOWS


@pytest.mark.skipif(len(os.sched_getaffinity(0)) < 2, reason="the thread needs two cores")
def test_threaded_dissection_matches_inline_on_corpus(check_binary, conformance_dir):
    captures = sorted((conformance_dir / "pcaps").glob("*"))
    output = run_check(check_binary, 20, 120000, captures)
    # The corpus contains a few thousand flows.
    assert int(output.split()[1]) > 1000


class NoHooks(NFPlugin):
    """A plugin without hooks: its only effect is to keep dissection inline."""


def flow_rows(streamer) -> list[dict]:
    rows = []
    for flow in streamer:
        row = {name: getattr(flow, name) for name in flow.keys() if name != "udps"}
        rows.append(row)
    return rows


@pytest.mark.parametrize("n_dissections", [1, 5, 20])
def test_streamer_flows_equal_with_and_without_plugin(many_flows_capture, n_dissections):
    options = {"source": str(many_flows_capture), "n_dissections": n_dissections, "idle_timeout": 1}
    threaded = flow_rows(NFStreamer(**options))
    inline = flow_rows(NFStreamer(**options, udps=NoHooks()))

    assert len(threaded) == len(inline)
    assert threaded == inline
    names = {row["application_name"] for row in threaded}
    assert {"HTTP", "TLS", "DNS", "Unknown"} <= names


def test_breaking_out_early_frees_flows_in_dissection(many_flows_capture):
    for limit in (1, 50, 500):
        streamer = NFStreamer(source=str(many_flows_capture), n_dissections=20)
        for count, _flow in enumerate(streamer, start=1):
            if count == limit:
                break


# AddressSanitizer's allocator is not fork-safe: a lock held by a parent's thread at the fork
# stays held in the child, whose own threads then wait for it forever.
UNDER_ASAN = "libasan" in os.environ.get("LD_PRELOAD", "")


@pytest.mark.skipif(UNDER_ASAN, reason="AddressSanitizer's allocator deadlocks in forked children")
@pytest.mark.parametrize(
    "options",
    [{"n_dissections": 20}, {"n_dissections": 0, "n_meters": 2}],
    ids=["dissection-thread", "two-meters"],
)
def test_forked_child_cannot_continue_a_threaded_run(many_flows_capture, options):
    if "n_meters" not in options and len(os.sched_getaffinity(0)) < 2:
        pytest.skip("the dissection thread needs two cores")
    expected = sum(1 for _ in NFStreamer(source=str(many_flows_capture), **options))
    flows = iter(NFStreamer(source=str(many_flows_capture), **options))
    next(flows)
    read_end, write_end = os.pipe()
    child = os.fork()
    if child == 0:
        # The child reports in one line, then exits without running the parent's cleanup.
        os.close(read_end)
        try:
            next(flows)
            report = "continued"
        except RuntimeError as error:
            report = "fork" if "os.fork()" in str(error) else f"other: {error}"
        fresh = sum(1 for _ in NFStreamer(source=str(many_flows_capture), **options))
        os.write(write_end, f"{report} {fresh}".encode())
        os._exit(0)
    os.close(write_end)
    _pid, status = os.waitpid(child, 0)
    with os.fdopen(read_end) as pipe:
        report = pipe.read()

    assert os.waitstatus_to_exitcode(status) == 0
    assert report == f"fork {expected}"
    assert 1 + sum(1 for _ in flows) == expected
