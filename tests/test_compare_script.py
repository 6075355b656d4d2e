"""Tests of benchmarks/compare_nfstream.py, the field-by-field comparison with PyPI nfstream.

The comparison logic runs on two hand-written flow dumps. The end-to-end run on
examples/sample.pcap needs a virtual environment with PyPI nfstream (created by
`compare_nfstream.py --setup` or by benchmarks/run.py) and is skipped without one.
"""

import importlib.util
import math
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
SCRIPT = REPO_ROOT / "benchmarks" / "compare_nfstream.py"

NDPI_OURS = "4.2.0"
NDPI_PEER = "4.7.0-1-4bb8513"


def load_script():
    """Import the script as a module without running its main()."""
    spec = importlib.util.spec_from_file_location("compare_nfstream", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    # dataclasses look the module up in sys.modules while the class bodies run.
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


compare = load_script()


def make_flow(flow_id, **changes):
    """Return a flow dict with a few columns of each kind, then apply changes."""
    flow = {
        "id": flow_id,
        "src_ip": "10.0.0.1",
        "src_port": 40000 + flow_id,
        "dst_ip": "10.0.0.2",
        "dst_port": 443,
        "protocol": 6,
        "vlan_id": 0,
        "bidirectional_packets": 10,
        "bidirectional_bytes": 1500,
        "bidirectional_mean_ps": 150.0,
        "splt_ps": [60, 1500, -1],
        "application_name": "TLS",
        "application_confidence": 4,
    }
    flow.update(changes)
    return flow


@pytest.fixture(scope="module")
def fake_result():
    ulp_above = math.nextafter(150.0, math.inf)
    ours = [
        make_flow(0),
        make_flow(1, bidirectional_bytes=1400),
        make_flow(2, bidirectional_mean_ps=ulp_above),
        make_flow(3, application_name="TLS.Google", extra_ours=1),
        make_flow(4, bidirectional_packets=10.0),
    ]
    theirs = [
        make_flow(0, application_confidence=6),
        make_flow(1, application_confidence=6),
        make_flow(2, application_confidence=6),
        make_flow(3, application_name="TLS.YouTube", application_confidence=1),
        make_flow(4, application_confidence=6),
        make_flow(5, application_confidence=6),
    ]
    return compare.compare_capture("fake.pcap", ours, theirs, 3, NDPI_OURS, NDPI_PEER)


def test_flow_counts_and_unpaired_ids(fake_result):
    assert fake_result.flows_ours == 5
    assert fake_result.flows_theirs == 6
    assert fake_result.ids_only_ours == []
    assert fake_result.ids_only_theirs == [5]


def test_columns_on_one_side(fake_result):
    assert fake_result.columns_only_ours == ["extra_ours"]
    assert fake_result.columns_only_theirs == []
    assert "extra_ours" not in fake_result.fields


def test_counter_difference_is_real(fake_result):
    field = fake_result.fields["bidirectional_bytes"]
    assert field.category == compare.REAL
    assert field.flows == 1
    example = field.examples[0]
    assert (example.flow_id, example.ours, example.theirs) == (1, 1400, 1500)


def test_int_against_float_is_real(fake_result):
    field = fake_result.fields["bidirectional_packets"]
    assert field.category == compare.REAL
    assert field.flows == 1


def test_last_ulp_float_kept_apart(fake_result):
    field = fake_result.fields["bidirectional_mean_ps"]
    assert field.category == compare.FLOAT_ULP
    assert field.flows == 1


def test_dissection_fields_classified(fake_result):
    name = fake_result.fields["application_name"]
    confidence = fake_result.fields["application_confidence"]
    assert name.category == compare.DISSECTION
    assert name.flows == 1
    assert confidence.category == compare.DISSECTION
    assert confidence.flows == 5
    # 4 (nDPI 4.2) and 6 (nDPI 4.7) both mean DPI; flow 3 has 4 against 1 (match by port).
    assert confidence.same_confidence_name == 4


def test_equal_columns_not_reported(fake_result):
    for field in ("src_ip", "splt_ps", "protocol"):
        assert field not in fake_result.fields
    assert fake_result.id_pairing == 0


def test_real_difference_decides_status(fake_result):
    assert fake_result.has_real_difference()
    only_dissection = compare.compare_capture(
        "same.pcap", [make_flow(0)], [make_flow(0, application_name="HTTP")]
    )
    assert not only_dissection.has_real_difference()


def test_strict_floats_make_ulp_real():
    ulp_above = math.nextafter(150.0, math.inf)
    result = compare.compare_capture(
        "ulp.pcap", [make_flow(0, bidirectional_mean_ps=ulp_above)], [make_flow(0)]
    )
    assert not result.has_real_difference()
    assert result.has_real_difference(strict_floats=True)


def test_larger_float_gap_is_real():
    result = compare.compare_capture(
        "gap.pcap", [make_flow(0, bidirectional_mean_ps=150.5)], [make_flow(0)]
    )
    assert result.fields["bidirectional_mean_ps"].category == compare.REAL


def test_shifted_ids_counted_as_pairing_problem():
    result = compare.compare_capture(
        "shift.pcap", [make_flow(0, src_ip="10.0.0.9")], [make_flow(0)]
    )
    assert result.id_pairing == 1


def test_report_lists_classes_apart(fake_result):
    report = compare.render_report(
        [fake_result],
        {"nfstream": "ours", "ndpi": NDPI_OURS},
        {"nfstream": "6.5.4", "ndpi": NDPI_PEER},
        {"n_meters": 1},
        "compare",
        False,
        "all",
    )
    real_section = report.split("### Real differences")[1].split("###")[0]
    assert "| bidirectional_bytes | 1 | 1 |" in real_section
    assert "application_name" not in real_section
    assert "### Dissection (nDPI version) differences" in report
    assert "columns only in ours: 1 captures (fake.pcap)" in report


def test_dump_with_child_killed_mid_capture(tmp_path):
    lines = [
        '{"meta": {"nfstream": "6.5.4", "ndpi": "4.7.0"}}',
        '{"start": "a.pcap"}',
        '{"flow": {"id": 0}}',
        '{"end": "a.pcap"}',
        '{"start": "b.pcap"}',
        '{"flow": {"id": 0}}',
        '{"flow": {"id"',
    ]
    output = tmp_path / "flows.jsonl"
    output.write_text("\n".join(lines))
    dump = compare.Dump(meta={}, flows={}, errors={})

    finished, unfinished = compare.read_dump(output, dump)

    assert finished == {"a.pcap"}
    assert unfinished == "b.pcap"
    assert dump.meta["nfstream"] == "6.5.4"
    assert dump.flows["a.pcap"] == [{"id": 0}]
    assert dump.flows["b.pcap"] == [{"id": 0}]


def find_peer():
    python = compare.find_peer_python(None)
    if python is None:
        return None
    probe = subprocess.run([str(python), "-I", "-c", "import nfstream"], capture_output=True)
    return python if probe.returncode == 0 else None


@pytest.mark.skipif(find_peer() is None, reason="no virtual environment with PyPI nfstream")
def test_sample_capture_against_peer():
    command = [
        sys.executable,
        str(SCRIPT),
        str(REPO_ROOT / "examples"),
        "--captures",
        "sample.pcap",
        "--statistical",
        "--splt",
        "5",
    ]
    run = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "flows ours: 6, flows peer: 6" in run.stdout
    assert "captures with real differences: 0" in run.stdout
