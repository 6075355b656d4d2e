"""Turn the measurements of run.py into Markdown tables with ratios and target results.

Ratios are speed-ups: a peer's wall time divided by ours on the same capture (for libpcap,
our packets/s divided by its packets/s). A target passes when its ratio reaches the
threshold; a row whose peer failed or was skipped shows n/a.
"""

import os
import platform
import subprocess
import time

# Our row key -> the nfstream row measured in the same configuration (None: not measured).
NFSTREAM_PEER = {
    "ours_dpi0": "nfs_dpi0",
    "ours_dpi20": "nfs_dpi20",
    "ours_dpi20_one_core": "nfs_dpi20",
    "ours_stats": None,
    "ours_splt": None,
    "ours_process": "nfs_on_update",
    "ours_on_update": "nfs_on_update",
    "ours_pandas": "nfs_pandas",
    "ours_meters2": "nfs_dpi20",
}

# Row key -> [(target text, peer row key, threshold)], a ratio of wall times on one capture.
TARGETS = {
    "ours_dpi0": [(">= 0.5x libpcap", "libpcap", 0.5), (">= 20x nfstream", "nfs_dpi0", 20)],
    "ours_dpi20": [(">= 2x ndpiReader", "ndpi", 2), (">= 20x nfstream", "nfs_dpi20", 20)],
    "ours_process": [(">= 10x nfstream", "nfs_on_update", 10)],
    "ours_on_update": [(">= 10x nfstream", "nfs_on_update", 10)],
    "ours_pandas": [(">= 10x nfstream", "nfs_pandas", 10)],
    "ours_meters2": [(">= 1.7x one meter", "ours_dpi20", 1.7)],
}
MEMORY_TARGET_BYTES = 1024

PEER_ROWS = [("libpcap", "libpcap pcap_next_ex loop (limit)"), ("ndpi", "ndpiReader -U 20 -T 20")]


def speedup(results, row_key, peer_key):
    """Return how many times faster row_key is than peer_key, or None if either failed."""
    row, peer = results.get(row_key, {}), results.get(peer_key, {})
    if "error" in row or "error" in peer or not row.get("seconds") or not peer.get("seconds"):
        return None
    return peer["seconds"] / row["seconds"]


def format_ratio(ratio):
    return "n/a" if ratio is None else f"{ratio:.2f}x"


def format_number(value, digits=0):
    if value is None:
        return "—"
    return f"{value:,.{digits}f}"


def row_cells(results, key, label):
    """Return the measured cells (label, packets/s, flows/s, wall, RSS) of one row."""
    result = results[key]
    if "error" in result:
        return [label, "unavailable: " + result["error"].replace("|", "/"), "", "", ""]
    seconds = result["seconds"]
    flows = result.get("flows")
    return [
        label,
        format_number(result["packets"] / seconds),
        format_number(None if flows is None else flows / seconds),
        f"{seconds:.3f}",
        format_number(result["peak_rss_kib"] / 1024, 1),
    ]


def target_cells(results, key):
    """Return (target text, PASS/FAIL text) for a row, empty when it has no target."""
    texts, verdicts = [], []
    for text, peer, threshold in TARGETS.get(key, []):
        ratio = speedup(results, key, peer)
        texts.append(f"{text} ({format_ratio(ratio)})")
        if ratio is None:
            verdicts.append("n/a")
        elif ratio >= threshold:
            verdicts.append("PASS")
        else:
            verdicts.append("FAIL")
    return "; ".join(texts), " / ".join(verdicts)


def render_capture(name, packets, results, our_configurations, nfstream_configurations):
    """Return the Markdown table of one capture."""
    flows = next((r["flows"] for r in results.values() if r.get("flows")), None)
    lines = [
        f"### {name}: {packets:,} packets, {format_number(flows)} flows",
        "",
        "| configuration | packets/s | flows/s | wall s | peak RSS MiB | vs libpcap "
        "| vs ndpiReader | vs nfstream | target (ratio) | result |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---|---|",
    ]
    peer_rows = PEER_ROWS + [(key, label) for key, label, *_ in nfstream_configurations]
    for key, label in peer_rows:
        lines.append("| " + " | ".join(row_cells(results, key, label) + ["—"] * 5) + " |")
    for key, label, *_ in our_configurations:
        # On one capture, the loop's wall time over ours equals our packets/s over its packets/s.
        vs_libpcap = speedup(results, key, "libpcap")
        nfstream_key = NFSTREAM_PEER.get(key)
        cells = row_cells(results, key, label) + [
            format_ratio(vs_libpcap),
            format_ratio(speedup(results, key, "ndpi")),
            format_ratio(speedup(results, key, nfstream_key) if nfstream_key else None),
            *target_cells(results, key),
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def render_memory(rows):
    """Return the Markdown table of RSS per active flow, or '' without memory rows."""
    if not rows:
        return ""
    lines = [
        "### Memory on the flows capture (ours, one meter)",
        "",
        "| configuration | idle_timeout s | flows | RSS before MiB | peak RSS MiB "
        "| RSS after MiB | bytes per active flow | target | result |",
        "|---|---:|---:|---:|---:|---:|---:|---|---|",
    ]
    for row in rows:
        if "error" in row:
            lines.append(
                f"| {row['label']} | {row['idle_timeout']} | unavailable: "
                f"{row['error']} | | | | | | |"
            )
            continue
        long_timeout = row["idle_timeout"] > 60
        own_peak = row["peak_rss_kib"] - row["children_peak_rss_kib"]
        per_flow = (own_peak - row["rss_before_kib"]) * 1024 / row["flows"] if row["flows"] else 0
        target, verdict = "—", "—"
        if long_timeout and row["label"] == "n_dissections=0":
            target = "< 1 KiB per flow"
            verdict = "PASS" if per_flow < MEMORY_TARGET_BYTES else "FAIL"
        lines.append(
            f"| {row['label']} | {row['idle_timeout']} | {row['flows']:,} "
            f"| {row['rss_before_kib'] / 1024:.1f} | {own_peak / 1024:.1f} "
            f"| {row['rss_after_kib'] / 1024:.1f} "
            f"| {f'{per_flow:,.0f}' if long_timeout else '— (flows expire)'} "
            f"| {target} | {verdict} |"
        )
    lines += [
        "",
        "Bytes per active flow = (peak RSS - RSS after imports) / flows, with an idle_timeout "
        "that keeps every flow active until the capture ends. The short idle_timeout row shows "
        "the peak when flows expire during the capture.",
    ]
    return "\n".join(lines)


def describe_machine(nfstream_version=None, commit="unknown"):
    """Return a dict describing the machine, Python and the peers' versions."""
    cpu = "unknown"
    with open("/proc/cpuinfo") as cpuinfo:
        for line in cpuinfo:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    with open("/proc/meminfo") as meminfo:
        memory_kib = int(meminfo.readline().split()[1])
    return {
        "date": time.strftime("%Y-%m-%d %H:%M %Z"),
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gib": memory_kib / 1024 / 1024,
        "python": platform.python_version(),
        "ndpi": ndpi_version(),
        "nfstream": nfstream_version or "not run",
        "load": os.getloadavg()[0],
        "commit": commit,
    }


def ndpi_version():
    """Return the installed libndpi-bin version from dpkg, or 'unknown'."""
    try:
        result = subprocess.run(
            ["dpkg-query", "-W", "-f=${Version}", "libndpi-bin"], capture_output=True, text=True
        )
    except FileNotFoundError:
        return "unknown"
    return result.stdout.strip() or "unknown"


def render(machine, tables, memory_rows, our_configurations, nfstream_configurations):
    """Return the whole report: machine line, one table per capture, the memory table."""
    parts = [
        f"Run {machine['date']} of commit {machine['commit']} "
        f"on {machine['cores']} cores ({machine['cpu']}), "
        f"{machine['memory_gib']:.0f} GiB RAM, Python {machine['python']}, "
        f"nDPI (libndpi-bin) {machine['ndpi']}, nfstream from PyPI {machine['nfstream']}; "
        f"1-minute load average {machine['load']:.2f} when the run ended.",
    ]
    for name, packets, results in tables:
        parts.append(
            render_capture(name, packets, results, our_configurations, nfstream_configurations)
        )
    memory = render_memory(memory_rows)
    if memory:
        parts.append(memory)
    return "\n\n".join(parts) + "\n"


def write_results(text, results_file, readme_file, start_marker, end_marker):
    """Write text to results_file and between the markers of readme_file, if it has them."""
    results_file.write_text("# Benchmark results\n\n" + text)
    if not readme_file.exists():
        return
    readme = readme_file.read_text()
    start, end = readme.find(start_marker), readme.find(end_marker)
    if start < 0 or end < start:
        return
    readme = readme[: start + len(start_marker)] + "\n" + text + readme[end:]
    readme_file.write_text(readme)
