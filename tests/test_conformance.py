"""Flow boundaries, ids, packet and byte counts against nfstream's recorded results.

Each capture of the conformance corpus comes with the flows nfstream 6.5
produced for it (n_dissections=20, one meter). Ids, packets and bytes depend
only on decoding, flow keys, timeouts and emission order, so they must match
exactly. The corpus lives outside the repository; these tests skip without it.
"""
import csv
from pathlib import Path

import pytest

from nfstream import NFStreamer

CORPUS = Path(__file__).resolve().parents[1].parent / "shared" / "conformance" / "nfstream"
CAPTURES = sorted((CORPUS / "pcaps").glob("*")) if CORPUS.is_dir() else []


def read_expected(capture):
    path = CORPUS / "results" / (capture.name + ".csv")
    with open(path, newline="") as handle:
        return [
            (int(row["id"]), int(row["bidirectional_packets"]), int(row["bidirectional_bytes"]))
            for row in csv.DictReader(handle)
        ]


@pytest.mark.skipif(not CAPTURES, reason="conformance corpus not found beside the repository")
@pytest.mark.parametrize("capture", CAPTURES, ids=lambda path: path.name)
def test_counts_match_nfstream(capture):
    expected = read_expected(capture)

    flows = [
        (flow.id, flow.bidirectional_packets, flow.bidirectional_bytes)
        for flow in NFStreamer(source=str(capture), n_dissections=20)
    ]

    assert len(flows) == len(expected)
    for got, want in zip(flows, expected):
        assert got == want
