"""The block reader of classic pcap files gives exactly libpcap's records.

csrc/engine/savefile.c reads pcap files in 1 MiB blocks and hands every record it does not
take back to libpcap. fuzz/fuzz_savefile.c reads a file both through the engine's capture
reader and through a bare pcap_next_ex loop, and aborts at the first difference in a
record's time, lengths or bytes, or in how the file ends. These tests run it (built with
AddressSanitizer and UBSan) over files large enough to cross many block boundaries, cut at
many places, and damaged in the ways libpcap treats specially.
"""

from __future__ import annotations

import random
import struct
import subprocess
from pathlib import Path

import pytest

from fuzz_replay import replay_environment

MAGIC_MICRO = 0xA1B2C3D4
MAGIC_NANO = 0xA1B23C4D
BLOCK = 1 << 20


def file_header(order="<", magic=MAGIC_MICRO, version=(2, 4), snaplen=262144, linktype=1):
    return struct.pack(order + "IHHiIII", magic, version[0], version[1], 0, 0, snaplen, linktype)


def record(order, seconds, fraction, data, caplen=None, wirelen=None):
    caplen = len(data) if caplen is None else caplen
    wirelen = len(data) + 4 if wirelen is None else wirelen
    return struct.pack(order + "IIII", seconds, fraction, caplen, wirelen) + data


def random_frame(rng: random.Random, size: int) -> bytes:
    """An Ethernet frame carrying UDP or TCP over IPv4 or IPv6, padded with random bytes."""
    if rng.random() < 0.5:
        header = bytes(12) + b"\x08\x00" + bytes([0x45, 0, 0, 60, 0, 0, 0, 0, 64])
        header += bytes([rng.choice((6, 17))]) + bytes(10)
    else:
        header = bytes(12) + b"\x86\xdd" + bytes([0x60, 0, 0, 0, 0, 40, rng.choice((6, 17)), 64])
        header += bytes(32)
    body = rng.randbytes(max(0, size - len(header)))
    return (header + body)[:size]


def capture_bytes(rng: random.Random, total: int, order="<", magic=MAGIC_MICRO, **header):
    """A capture of about `total` bytes with record sizes from 0 to jumbo frames."""
    parts = [file_header(order, magic, **header)]
    size = len(parts[0])
    seconds = 1_600_000_000
    while size < total:
        length = rng.choice((0, 14, 60, 64, 590, 1514, 9000, rng.randrange(0, 2000)))
        fraction = rng.randrange(0, 1_000_000 if magic == MAGIC_MICRO else 1_000_000_000)
        seconds += rng.randrange(0, 3)
        part = record(order, seconds, fraction, random_frame(rng, length))
        parts.append(part)
        size += len(part)
    return b"".join(parts)


def replay(binary: Path, files: list[Path]) -> None:
    result = subprocess.run(
        [str(binary), *map(str, files)],
        capture_output=True,
        text=True,
        env=replay_environment(),
        timeout=600,
    )
    assert result.returncode == 0, f"block reader differs from libpcap:\n{result.stderr[-4000:]}"
    assert f"replayed {len(files)} inputs" in result.stdout


@pytest.fixture(scope="module")
def savefile_binary(fuzz_replay_binaries) -> Path:
    return fuzz_replay_binaries["savefile"]


@pytest.mark.parametrize(
    "order, magic",
    [("<", MAGIC_MICRO), ("<", MAGIC_NANO), (">", MAGIC_MICRO), (">", MAGIC_NANO)],
    ids=["us-little", "ns-little", "us-big", "ns-big"],
)
def test_large_capture_matches_libpcap_across_blocks(savefile_binary, tmp_path, order, magic):
    rng = random.Random(f"{order}{magic}")
    path = tmp_path / "large.pcap"
    path.write_bytes(capture_bytes(rng, 3 * BLOCK + 12345, order, magic))
    replay(savefile_binary, [path])


def test_files_cut_anywhere_end_like_libpcap(savefile_binary, tmp_path):
    rng = random.Random(7)
    data = capture_bytes(rng, BLOCK + 40000)
    # Cuts near the first block boundary, inside the file header and at random places.
    cuts = [BLOCK + delta for delta in range(-40, 41, 3)] + list(range(0, 60, 5))
    cuts += [rng.randrange(24, len(data)) for _ in range(20)]
    files = []
    for cut in sorted(set(cuts)):
        path = tmp_path / f"cut-{cut}.pcap"
        path.write_bytes(data[:cut])
        files.append(path)
    replay(savefile_binary, files)


def test_records_longer_than_the_snapshot_match_libpcap(savefile_binary, tmp_path):
    """libpcap cuts a record longer than the snapshot length and skips the rest.

    The block reader hands the first such record to libpcap, which reads the rest of the
    file, so the records one byte too long start after the first block and come before
    the much longer ones.
    """
    rng = random.Random(11)
    parts = [file_header(snaplen=200)]
    for index in range(12000):
        sizes = (60, 199, 200) if index < 6000 else (60, 200, 201) if index < 9000 else (60, 1514)
        frame = random_frame(rng, rng.choice(sizes))
        parts.append(record("<", 1_700_000_000 + index, index, frame))
    path = tmp_path / "snaplen.pcap"
    path.write_bytes(b"".join(parts))
    replay(savefile_binary, [path])


def test_damaged_records_after_the_first_block_match_libpcap(savefile_binary, tmp_path):
    rng = random.Random(13)
    base = capture_bytes(rng, BLOCK + 5000)
    cases = {
        # Larger than libpcap accepts for Ethernet: a read error.
        "caplen-too-large": record("<", 1, 2, b"", caplen=262145),
        # Time fields with the top bit set, which libpcap extends differently by byte order.
        "negative-times": record("<", 0xFFFFFFFF, 0xFFFFFFFF, random_frame(rng, 60)),
        "after-2038": record("<", 0x93ACF100, 5, random_frame(rng, 60)),
        "huge-fraction": record("<", 0x7FFFFFFF, 0x7FFFFFFF, random_frame(rng, 60)),
        "caplen-over-wirelen": record("<", 5, 6, random_frame(rng, 100), wirelen=10),
        "zero-length": record("<", 5, 6, b"", wirelen=0),
        "header-only": struct.pack("<IIII", 1, 2, 100, 100),
    }
    files = []
    for name, tail in cases.items():
        path = tmp_path / f"{name}.pcap"
        path.write_bytes(base + tail + record("<", 9, 9, random_frame(rng, 70)))
        files.append(path)
    replay(savefile_binary, files)


@pytest.mark.parametrize(
    "header",
    [
        {"version": (2, 3)},
        {"version": (2, 2)},
        {"order": ">", "linktype": 113},
        {"order": ">", "linktype": 276},
        {"linktype": 101},
        {"linktype": 0},
    ],
    ids=["version-2.3", "version-2.2", "swapped-sll", "swapped-sll2", "raw", "null"],
)
def test_file_variants_match_libpcap(savefile_binary, tmp_path, header):
    rng = random.Random(str(header))
    order = header.pop("order", "<")
    version = header.get("version", (2, 4))
    parts = [file_header(order, **header)]
    for index in range(3000):
        frame = random_frame(rng, rng.choice((40, 60, 300)))
        # Versions before 2.3 store the lengths the other way round.
        if version < (2, 3):
            parts.append(record(order, index, index, frame, caplen=len(frame) + 4, wirelen=len(frame)))
        else:
            parts.append(record(order, index, index, frame))
    path = tmp_path / "variant.pcap"
    path.write_bytes(b"".join(parts))
    replay(savefile_binary, [path])
