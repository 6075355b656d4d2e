"""Broken captures end in flows or a clear exception, never a crash or a hang.

Every case runs in a child Python process with a timeout, so a segmentation fault or a
sanitizer abort fails the test instead of killing pytest. The child reads a list of files
and prints one line when it starts a file and one when it ends it, so the test names the
file that crashed or hung. Accepted outcomes are a list of flows (a RuntimeWarning about a
truncated file is allowed) or CaptureError / ValueError. Any other exception fails.

Damaged copies of the conformance captures are sampled with fixed seeds: every capture
truncated once and 30 captures with random bytes flipped. The synthetic cases (caplen above
the wire length, zero-length records, huge caplen, timestamps going backwards or jumping
years ahead, a pcapng with several sections and link types) are built with pcapgen.
"""

from __future__ import annotations

import json
import os
import random
import struct
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import nfstream
import pcapgen
from pcapgen import Interface, Record, link, pcap_bytes, pcapng_section

CONFORMANCE_PCAPS = (
    Path(__file__).resolve().parents[1].parent / "shared" / "conformance" / "nfstream" / "pcaps"
)
# The child imports the same nfstream as this process, such as a sanitized build elsewhere.
PACKAGE_PARENT = Path(nfstream.__file__).resolve().parents[1]
SEED = 20240611
FLIPPED_CAPTURES = 30
FLIPS_PER_CAPTURE = 16
CHILD_TIMEOUT_SECONDS = 240
PCAP_GLOBAL_HEADER = 24

# Reads every file named on the command line with the options in NF_BROKEN_OPTIONS. It prints
# a START line per file, then an END line with the outcome as JSON.
CHILD_SCRIPT = textwrap.dedent(
    """
    import json, os, sys, warnings
    from nfstream import CaptureError, NFStreamer

    options = json.loads(os.environ.get("NF_BROKEN_OPTIONS", "{}"))
    for path in sys.argv[1:]:
        print("START", path, flush=True)
        outcome = {"path": path, "warnings": []}
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                flows = []
                for flow in NFStreamer(source=path, **options):
                    flow.values()
                    flows.append(flow)
                outcome["flows"] = len(flows)
                outcome["durations"] = [flow.bidirectional_duration_ms for flow in flows]
                outcome["packets"] = sum(flow.bidirectional_packets for flow in flows)
            except (CaptureError, ValueError) as error:
                outcome["error"] = type(error).__name__
                outcome["message"] = str(error)
            except BaseException as error:
                outcome["unexpected"] = f"{type(error).__name__}: {error}"
        outcome["warnings"] = [w.category.__name__ for w in caught]
        print("END", json.dumps(outcome), flush=True)
    """
)


def run_child(paths: list[Path], **options) -> dict[str, dict]:
    """Read ``paths`` in a child process and return each file's outcome by path.

    Fails the test, naming the file in progress, when the child dies or times out.
    """
    env = dict(os.environ, NF_BROKEN_OPTIONS=json.dumps(options))
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(PACKAGE_PARENT), env.get("PYTHONPATH")]))
    command = [sys.executable, "-c", CHILD_SCRIPT, *map(str, paths)]
    try:
        result = subprocess.run(
            command, capture_output=True, text=True, env=env, timeout=CHILD_TIMEOUT_SECONDS
        )
        stdout, stderr, returncode = result.stdout, result.stderr, result.returncode
    except subprocess.TimeoutExpired as expired:
        stdout = expired.stdout.decode() if isinstance(expired.stdout, bytes) else expired.stdout
        stderr = expired.stderr.decode() if isinstance(expired.stderr, bytes) else expired.stderr
        returncode = None
    outcomes, current = {}, None
    for line in (stdout or "").splitlines():
        if line.startswith("START "):
            current = line[len("START ") :]
        elif line.startswith("END "):
            outcome = json.loads(line[len("END ") :])
            outcomes[outcome["path"]] = outcome
            current = None
    if returncode != 0 or current is not None:
        reason = "timed out" if returncode is None else f"exited with status {returncode}"
        pytest.fail(
            f"child reading broken captures {reason} while reading {current}\n"
            f"stderr (last 3000 characters):\n{(stderr or '')[-3000:]}"
        )
    return outcomes


def assert_clean_outcomes(outcomes: dict[str, dict]) -> None:
    """Check that each outcome is flows or an accepted exception, with only RuntimeWarnings."""
    for path, outcome in outcomes.items():
        assert "unexpected" not in outcome, f"{path}: {outcome['unexpected']}"
        assert set(outcome["warnings"]) <= {"RuntimeWarning"}, f"{path}: {outcome['warnings']}"
        if "error" in outcome:
            assert outcome["message"], f"{path}: {outcome['error']} without a message"
        else:
            assert all(d >= 0 for d in outcome["durations"]), f"{path}: negative duration"


@pytest.fixture(scope="module")
def conformance_captures() -> list[Path]:
    if not CONFORMANCE_PCAPS.is_dir():
        pytest.skip(f"conformance captures not found at {CONFORMANCE_PCAPS}")
    captures = sorted(path for path in CONFORMANCE_PCAPS.iterdir() if path.is_file())
    if not captures:
        pytest.skip(f"no captures in {CONFORMANCE_PCAPS}")
    return captures


def test_truncated_captures(conformance_captures, tmp_path):
    rng = random.Random(SEED)
    copies = []
    for capture in conformance_captures:
        data = capture.read_bytes()
        offset = rng.randrange(0, len(data))
        copy = tmp_path / f"{capture.stem}-cut{offset}{capture.suffix}"
        copy.write_bytes(data[:offset])
        copies.append(copy)

    outcomes = run_child(copies)

    assert len(outcomes) == len(copies)
    assert_clean_outcomes(outcomes)
    flows = [outcome for outcome in outcomes.values() if "flows" in outcome]
    # Most cuts land after the file header, so most copies still give flows.
    assert len(flows) > len(copies) // 2


def test_flipped_bytes(conformance_captures, tmp_path):
    rng = random.Random(SEED + 1)
    chosen = rng.sample(conformance_captures, min(FLIPPED_CAPTURES, len(conformance_captures)))
    copies = []
    for index, capture in enumerate(chosen):
        data = bytearray(capture.read_bytes())
        # The first copy also gets its file header damaged; the others keep it readable.
        start = 0 if index == 0 else PCAP_GLOBAL_HEADER
        for _ in range(FLIPS_PER_CAPTURE):
            position = rng.randrange(start, len(data))
            data[position] ^= 1 << rng.randrange(8)
        copy = tmp_path / f"{capture.stem}-flipped{capture.suffix}"
        copy.write_bytes(bytes(data))
        copies.append(copy)

    for options in ({}, {"n_dissections": 0, "splt_analysis": 4, "statistical_analysis": True}):
        outcomes = run_child(copies, **options)

        assert len(outcomes) == len(copies)
        assert_clean_outcomes(outcomes)


def udp_frames(count: int, sport: int = 40000) -> list[bytes]:
    """Return ``count`` Ethernet frames of one UDP conversation."""
    return [
        link.ethernet(
            pcapgen.udp_packet("192.0.2.1", "198.51.100.2", sport, 5000, bytes([i]) * 20)
        )
        for i in range(count)
    ]


BASE_NS = 1_700_000_000_000_000_000


def synthetic_cases() -> dict[str, bytes]:
    """Return broken captures built with pcapgen, by case name."""
    frames = udp_frames(6)
    cases = {}

    cases["caplen_above_wirelen"] = pcap_bytes(
        [Record(BASE_NS + i * 1_000_000, f, wirelen=len(f) // 2) for i, f in enumerate(frames)]
    )
    cases["zero_length_records"] = pcap_bytes(
        [Record(BASE_NS + i * 1_000_000, b"" if i % 2 else f) for i, f in enumerate(frames)]
    )
    cases["zero_wirelen"] = pcap_bytes(
        [Record(BASE_NS + i * 1_000_000, f, wirelen=0) for i, f in enumerate(frames)]
    )
    cases["huge_caplen"] = pcap_bytes(
        [Record(BASE_NS, frames[0]), Record(BASE_NS + 1, frames[1], caplen=0xFFFFFFF0)]
    )
    cases["caplen_above_snaplen"] = pcap_bytes(
        [Record(BASE_NS + i, f) for i, f in enumerate(frames)], snaplen=40
    )

    backwards = [BASE_NS, BASE_NS + 5_000_000_000, BASE_NS - 3_600_000_000_000, BASE_NS + 1, 0, 5]
    cases["time_backwards"] = pcap_bytes(
        [Record(t, f) for t, f in zip(backwards, frames)], resolution="ns"
    )
    year_ns = 365 * 24 * 3600 * 1_000_000_000
    jumps = [BASE_NS, BASE_NS + 30 * year_ns, BASE_NS + 1, (2**32 - 1) * 1_000_000_000]
    cases["time_jumps_years"] = pcap_bytes([Record(t, f) for t, f in zip(jumps, frames)])

    cases["pcapng_sections"] = multi_section_pcapng()
    cases["pcapng_linktypes"] = mixed_linktype_pcapng()
    little = pcapng_section([Record(BASE_NS, frames[0])])
    big = pcapng_section([Record(BASE_NS + 1_000, frames[1])], byteorder="big")
    cases["pcapng_byte_orders"] = little + big
    return cases


def multi_section_pcapng() -> bytes:
    """Return a pcapng with three Ethernet sections whose interfaces differ in resolution.

    The six records belong to one UDP conversation, given in time order across sections.
    """
    frames = udp_frames(6)
    first = pcapng_section(
        [Record(BASE_NS, frames[0], interface=0), Record(BASE_NS + 1_000, frames[1], interface=1)],
        (Interface(), Interface(resolution="ns")),
    )
    second = pcapng_section(
        [
            Record(BASE_NS + 2_000_000, frames[2], interface=1),
            Record(BASE_NS + 3_000_000, frames[3], interface=0),
        ],
        (Interface(write_tsresol=False), Interface(resolution="ns")),
    )
    third = pcapng_section(
        [Record(BASE_NS + 4_000_000, f, interface=0) for f in frames[4:]],
        (Interface(resolution="ns"),),
    )
    return first + second + third


def mixed_linktype_pcapng() -> bytes:
    """Return a pcapng with three sections whose interfaces differ in link type and resolution."""
    packet = pcapgen.udp_packet("192.0.2.1", "198.51.100.2", 40000, 5000, b"x" * 20)
    packet6 = pcapgen.udp_packet("2001:db8::1", "2001:db8::2", 40001, 5000, b"y" * 20)
    first = pcapng_section(
        [
            Record(BASE_NS, link.ethernet(packet), interface=0),
            Record(BASE_NS + 1_000, packet, interface=1),
            Record(BASE_NS + 2_000, link.linux_sll(packet), interface=2),
        ],
        (Interface(), Interface(linktype=101, resolution="ns"), Interface(linktype=113)),
    )
    second = pcapng_section(
        [
            Record(BASE_NS + 3_000, packet6, interface=0),
            Record(BASE_NS - 10_000_000_000, link.ethernet(packet), interface=1),
        ],
        (Interface(linktype=101, resolution="ns"), Interface(write_tsresol=False)),
        byteorder="big",
    )
    third = pcapng_section(
        [Record(BASE_NS + 4_000, link.ppp(packet), interface=0)], (Interface(linktype=9),)
    )
    return first + second + third


def test_synthetic_broken_captures(tmp_path):
    paths = []
    for name, data in synthetic_cases().items():
        suffix = ".pcapng" if name.startswith("pcapng") else ".pcap"
        path = tmp_path / f"{name}{suffix}"
        path.write_bytes(data)
        paths.append(path)

    outcomes = run_child(paths)

    assert len(outcomes) == len(paths)
    assert_clean_outcomes(outcomes)
    by_name = {Path(path).stem: outcome for path, outcome in outcomes.items()}
    # Records the reader accepts still make flows: six packets of one UDP conversation.
    assert by_name["caplen_above_wirelen"].get("flows") == 1
    assert by_name["time_backwards"].get("packets") == 6
    assert by_name["time_jumps_years"].get("flows", 0) >= 1
    assert by_name["pcapng_sections"].get("packets") == 6
    # libpcap 1.10 reads one link type per file, so interfaces that differ are an error.
    assert by_name["pcapng_linktypes"].get("error") == "CaptureError"
    # libpcap 1.10 keeps the first section's byte order, so it reads a big-endian section
    # after a little-endian one as a huge block and fails after the first packet.
    assert by_name["pcapng_byte_orders"].get("error") == "CaptureError"


def test_huge_caplen_is_clear(tmp_path):
    path = tmp_path / "huge_caplen.pcap"
    path.write_bytes(synthetic_cases()["huge_caplen"])

    outcome = run_child([path])[str(path)]

    assert "unexpected" not in outcome
    # libpcap rejects the record; the engine either stops with an error or keeps the flow
    # of the first packet and warns.
    assert "error" in outcome or outcome["packets"] == 1


def test_bpf_filter_on_broken_captures(conformance_captures, tmp_path):
    rng = random.Random(SEED + 2)
    copies = []
    for capture in rng.sample(conformance_captures, min(10, len(conformance_captures))):
        data = bytearray(capture.read_bytes())
        cut = rng.randrange(PCAP_GLOBAL_HEADER, len(data))
        data[cut - 8 : cut] = struct.pack("<II", rng.getrandbits(32), rng.getrandbits(32))
        copy = tmp_path / f"{capture.stem}-filtered{capture.suffix}"
        copy.write_bytes(bytes(data[:cut]))
        copies.append(copy)

    outcomes = run_child(copies, bpf_filter="tcp or udp", decode_tunnels=False)

    assert_clean_outcomes(outcomes)
