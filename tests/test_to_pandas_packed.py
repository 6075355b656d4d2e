"""to_pandas without plugins reads flows in C into packed columns; it must equal the flow path.

The flow path (used with plugins) builds each column from NFlow.values(). Both must give the
same frame: same columns, dtypes and values.
"""
import warnings
from pathlib import Path

import pandas as pd
import pytest

import nfstream._export as export
from nfstream import NFStreamer
from pcapgen import truncate_file

SAMPLE = Path(__file__).resolve().parents[1] / "examples" / "sample.pcap"
CORPUS = Path(__file__).resolve().parents[1].parent / "shared" / "conformance" / "nfstream"


class FlowPath:
    """A streamer without _columns(), so to_pandas takes the NFlow path."""

    def __init__(self, streamer):
        self._streamer = streamer

    def __iter__(self):
        return iter(self._streamer)

    def _core_columns(self):
        return self._streamer._core_columns()


def both_frames(source, **options):
    packed = NFStreamer(source=str(source), **options).to_pandas()
    flows = export.to_pandas(FlowPath(NFStreamer(source=str(source), **options)))
    return packed, flows


OPTIONS = [
    {},
    {"n_dissections": 0},
    {"statistical_analysis": True, "splt_analysis": 4},
    {"nanosecond_times": True, "decode_tunnels": False},
    {"accounting_mode": 3, "idle_timeout": 0},
]


@pytest.mark.parametrize("options", OPTIONS, ids=lambda options: ",".join(options) or "default")
def test_packed_frame_equals_flow_frame(options):
    packed, flows = both_frames(SAMPLE, **options)

    assert len(packed) > 0
    pd.testing.assert_frame_equal(packed, flows)


@pytest.mark.skipif(not CORPUS.is_dir(), reason="conformance corpus not found beside the repository")
@pytest.mark.parametrize("name", ["1kxun.pcap", "443-chrome.pcap", "6in6tunnel.pcap"])
def test_packed_frame_equals_flow_frame_on_corpus(name):
    capture = CORPUS / "pcaps" / name
    if not capture.exists():
        pytest.skip(f"{name} is not in the corpus")

    packed, flows = both_frames(capture, statistical_analysis=True, splt_analysis=3)

    pd.testing.assert_frame_equal(packed, flows)


def test_packed_frame_is_writable():
    frame = NFStreamer(source=str(SAMPLE)).to_pandas()

    frame.loc[0, "bidirectional_packets"] = 99

    assert frame.loc[0, "bidirectional_packets"] == 99


def test_packed_frame_keeps_max_nflows():
    frame = NFStreamer(source=str(SAMPLE), max_nflows=2).to_pandas()

    assert frame["id"].tolist() == [0, 1]


def test_packed_frame_anonymizes_numbers_and_strings():
    frame = NFStreamer(source=str(SAMPLE)).to_pandas(
        columns_to_anonymize=("src_ip", "dst_port"), anonymize_key=b"k" * 32
    )

    assert all(len(value) == 128 for value in frame["src_ip"])
    assert all(len(value) == 128 for value in frame["dst_port"])
    assert frame["src_port"].dtype == "int64"


def test_packed_frame_warns_on_truncated_capture(tmp_path):
    path = tmp_path / "cut.pcap"
    path.write_bytes(SAMPLE.read_bytes())
    truncate_file(path, -3)

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        frame = NFStreamer(source=str(path)).to_pandas()

    assert len(frame) > 0
    assert any("cut.pcap" in str(warning.message) for warning in caught)
