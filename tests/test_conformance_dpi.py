"""Application names against ndpiReader of the installed nDPI.

nfstream's recorded application names come from a newer nDPI than Debian's
4.2, so the oracle for names is ndpiReader (package libndpi-bin) run on the
same capture with the same number of dissected packets (-T 20 -U 20).

Flows are paired by protocol and unordered endpoints. ndpiReader and
nfstream split a conversation into flows differently (ndpiReader has no
active timeout and its own idle handling), so for each key present on
both sides the first flow of the key is compared: both start at the
same packet, and their names must match. Some captures have no key in
common: ndpiReader without -t leaves GTP and TZSP undecoded, and it reads
IP-in-IP, fragments and damaged packets differently from nfstream, so
their flows carry other keys. The corpus-wide count below keeps the
comparison from passing vacuously.
"""
import collections
import csv
import shutil
import subprocess
from pathlib import Path

import pytest

from nfstream import NFStreamer

CORPUS = Path(__file__).resolve().parents[1].parent / "shared" / "conformance" / "nfstream"
CAPTURES = sorted((CORPUS / "pcaps").glob("*")) if CORPUS.is_dir() else []
NDPI_READER = shutil.which("ndpiReader")


def flow_key(protocol, src, dst):
    return protocol, frozenset((src, dst))


def ndpi_reader_names(capture, output):
    subprocess.run(
        [NDPI_READER, "-i", str(capture), "-C", str(output), "-T", "20", "-U", "20", "-v", "0"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        check=True,
        timeout=120,
    )
    names = collections.defaultdict(list)
    with open(output, newline="") as handle:
        rows = csv.reader(handle)
        header = [name.lstrip("#") for name in next(rows)]
        column = {name: index for index, name in enumerate(header)}
        for row in rows:
            key = flow_key(
                int(row[column["protocol"]]),
                (row[column["src_ip"]], int(row[column["src_port"]])),
                (row[column["dst_ip"]], int(row[column["dst_port"]])),
            )
            names[key].append(row[column["ndpi_proto"]])
    return names


def our_names(capture):
    names = collections.defaultdict(list)
    for flow in NFStreamer(source=str(capture), n_dissections=20):
        key = flow_key(flow.protocol, (flow.src_ip, flow.src_port), (flow.dst_ip, flow.dst_port))
        names[key].append(flow.application_name)
    return names


@pytest.mark.skipif(not CAPTURES, reason="conformance corpus not found beside the repository")
@pytest.mark.skipif(NDPI_READER is None, reason="ndpiReader (libndpi-bin) is not installed")
@pytest.mark.parametrize("capture", CAPTURES, ids=lambda path: path.name)
def test_application_names_match_ndpi_reader(capture, tmp_path):
    reference = ndpi_reader_names(capture, tmp_path / "ndpi.csv")
    ours = our_names(capture)

    compared = [key for key in ours if reference.get(key)]
    for key in compared:
        assert ours[key][0] == reference[key][0], f"flow {sorted(key[1])} protocol {key[0]}"
    PAIRED.append(len(compared))


PAIRED = []


@pytest.mark.skipif(not CAPTURES, reason="conformance corpus not found beside the repository")
@pytest.mark.skipif(NDPI_READER is None, reason="ndpiReader (libndpi-bin) is not installed")
def test_most_flows_were_paired():
    if len(PAIRED) != len(CAPTURES):
        pytest.skip("runs only after every capture was compared in this session")
    # About 2,600 keys pair up on the corpus with nDPI 4.2. Far fewer means the pairing broke.
    assert sum(PAIRED) > 2000
