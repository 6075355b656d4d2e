"""nfstream's own published values for google_ssl.pcap, which its users check against.

nfstream's test suite reads google_ssl.pcap with statistical_analysis=True and
accounting_mode=1 (IP sizes) and publishes the first flow's statistics; the same
values must come out here, to the last digit shown.
"""
from pathlib import Path

import pytest

from nfstream import NFStreamer

CAPTURE = (
    Path(__file__).resolve().parents[1].parent
    / "shared" / "conformance" / "nfstream" / "pcaps" / "google_ssl.pcap"
)

pytestmark = pytest.mark.skipif(not CAPTURE.exists(), reason="google_ssl.pcap not found")


def first_flow(**options):
    return next(iter(NFStreamer(source=str(CAPTURE), **options)))


def test_google_ssl_statistics():
    flow = first_flow(statistical_analysis=True, accounting_mode=1)

    assert flow.bidirectional_packets == 28
    assert flow.bidirectional_bytes == 8696
    assert flow.bidirectional_mean_ps == pytest.approx(310.571428, abs=1e-6)
    assert flow.bidirectional_stddev_ps == pytest.approx(500.546177, abs=1e-6)
    assert flow.bidirectional_mean_piat_ms == pytest.approx(6670 / 27, abs=1e-9)
    assert flow.bidirectional_stddev_piat_ms == pytest.approx(324.045994, abs=1e-6)
    assert flow.src2dst_stddev_piat_ms == pytest.approx(397.603295, abs=1e-6)


def test_google_ssl_splt():
    flow = first_flow(splt_analysis=5)

    assert flow.splt_direction == [0, 1, 0, 0, 1]
    assert flow.splt_ps == [58, 60, 54, 180, 60]
    assert flow.splt_piat_ms == [0, 34, 134, 144, 35]
