"""Smoke test of benchmarks/run.py: the quick run completes and prints every row.

Timings are not checked, because the benchmark makes no pass/fail claims about speed. The run
skips nfstream from PyPI (it would need a download) and uses small captures, so it finishes
in a few seconds.
"""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
RUN_SCRIPT = REPO_ROOT / "benchmarks" / "run.py"

EXPECTED_ROWS = [
    "libpcap pcap_next_ex loop (limit)",
    "ndpiReader -U 20 -T 20",
    "nfstream n_dissections=0",
    "nfstream n_dissections=20",
    "nfstream udps=on_update",
    "nfstream to_pandas()",
    "ours n_dissections=0",
    "ours n_dissections=20",
    "ours statistical_analysis",
    "ours splt_analysis=20",
    "ours plugins=[process]",
    "ours udps=on_update",
    "ours to_pandas()",
    "ours n_meters=2, n_dissections=20",
]


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory):
    corpus = tmp_path_factory.mktemp("benchmark-corpus")
    command = [
        sys.executable,
        str(RUN_SCRIPT),
        "--quick",
        "--skip-nfstream",
        "--corpus",
        str(corpus),
    ]
    if shutil.which("ndpiReader") is None:
        command.append("--skip-ndpi")
    return subprocess.run(command, capture_output=True, text=True, timeout=120, cwd=REPO_ROOT)


def table_rows(output, heading_prefix):
    """Return {configuration: cells} of the table under the heading starting with prefix."""
    rows, inside = {}, False
    for line in output.splitlines():
        if line.startswith("### "):
            inside = line.startswith("### " + heading_prefix)
            continue
        if inside and line.startswith("| ") and not line.startswith("| configuration"):
            cells = [cell.strip() for cell in line.strip("|").split("|")]
            rows.setdefault(cells[0], cells)  # the first row wins when labels repeat
    return rows


def test_quick_run_exits_zero(quick_run):
    assert quick_run.returncode == 0, quick_run.stderr


def test_flows_table_has_every_row(quick_run):
    rows = table_rows(quick_run.stdout, "flows20000")
    for label in EXPECTED_ROWS:
        assert label in rows, f"row {label!r} missing from:\n{quick_run.stdout}"


def test_our_rows_report_rates(quick_run):
    rows = table_rows(quick_run.stdout, "flows20000")
    for label in ("ours n_dissections=0", "ours n_dissections=20", "ours to_pandas()"):
        packets_per_second = rows[label][1]
        assert packets_per_second.replace(",", "").isdigit(), rows[label]


def test_skipped_nfstream_is_marked(quick_run):
    rows = table_rows(quick_run.stdout, "flows20000")
    assert rows["nfstream n_dissections=0"][1].startswith("unavailable: skipped")


def test_memory_table_reports_bytes_per_flow(quick_run):
    rows = table_rows(quick_run.stdout, "Memory")
    assert "n_dissections=0" in rows, quick_run.stdout
    bytes_per_flow = rows["n_dissections=0"][6]
    assert bytes_per_flow.replace(",", "").isdigit(), rows["n_dissections=0"]


@pytest.mark.skipif(shutil.which("gcc") is None, reason="gcc is needed for the libpcap loop")
def test_targets_report_pass_or_fail(quick_run):
    rows = table_rows(quick_run.stdout, "flows20000")
    verdict = rows["ours n_dissections=0"][-1]
    assert verdict.split(" / ")[0] in ("PASS", "FAIL"), rows["ours n_dissections=0"]
