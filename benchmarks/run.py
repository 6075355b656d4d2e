#!/usr/bin/env python3
"""Measure the nfstream engine against libpcap, ndpiReader and nfstream from PyPI.

Every measurement runs in a fresh process on the same capture in the same run, so ratios
compare like with like and peak RSS belongs to one configuration. The script prints a
Markdown table of packets/s, flows/s, wall seconds, peak RSS, the ratio to each peer and a
PASS/FAIL per target, and with --write-results also writes it to benchmarks/RESULTS.md and
into benchmarks/README.md. Targets are reported, never asserted.

    python benchmarks/run.py                  # full corpus, several minutes
    python benchmarks/run.py --quick --skip-nfstream

Captures:
  replicas   make_bench_pcap.py over the conformance captures (20 interleaved replicas, or 2
             with --quick), built only when the conformance folder exists.
  flows      make_flows_pcap.py: 1,000,000 concurrent two-packet flows (20,000 with --quick).
Peers:
  libpcap    pcap_loop.c, a bare pcap_next_ex loop compiled with gcc -O2 (the upper bound).
  ndpiReader Debian's libndpi-bin, with -U 20 -T 20 so it dissects as many packets as
             n_dissections=20.
  nfstream   the PyPI package in its own virtual environment benchmarks/.venv-nfstream, with
             n_meters=1. It is never installed into the environment that runs our package.

Limits: wall time of Python rows is measured inside the worker after imports; wall time of
the C tools includes their start-up (a few milliseconds). nfstream meters in a child process,
so its peak RSS is the sum of the parent's and the largest child's peak, an upper bound.
"""

import argparse
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
REPO_ROOT = BENCH_DIR.parent
SHARED_DIR = REPO_ROOT.parent / "shared"
DEFAULT_CONFORMANCE_PCAPS = SHARED_DIR / "conformance" / "nfstream" / "pcaps"
MAKE_BENCH_PCAP = SHARED_DIR / "tools" / "make_bench_pcap.py"
NFSTREAM_VENV = BENCH_DIR / ".venv-nfstream"
WORKER = BENCH_DIR / "worker.py"
RESULTS_FILE = BENCH_DIR / "RESULTS.md"
README_FILE = BENCH_DIR / "README.md"
RESULTS_START = "<!-- results start -->"
RESULTS_END = "<!-- results end -->"
GNU_TIME = "/usr/bin/time"

# Idle timeouts (seconds) of the memory rows. The flows capture spans 2 * flows * 10 us of
# capture time (20 s for 1M flows), so 3600 keeps every flow active until the end, and 1
# lets flows expire about 1 s after their request.
LONG_IDLE_TIMEOUT = 3600
SHORT_IDLE_TIMEOUT = 1

# Folder holding the copy of our package that workers import, set once by main().
PACKAGE_SNAPSHOT = [REPO_ROOT]

sys.path.insert(0, str(BENCH_DIR))
import report  # noqa: E402  (benchmarks/report.py, beside this file)

# --- Configurations ------------------------------------------------------------------------

NO_DPI = {"n_dissections": 0, "n_meters": 1}
DPI_20 = {"n_dissections": 20, "n_meters": 1}

# (row key, label, NFStreamer kwargs, worker mode, plugin kind). report.NFSTREAM_PEER and
# report.TARGETS name the rows each one is compared with.
OUR_CONFIGURATIONS = [
    ("ours_dpi0", "ours n_dissections=0", NO_DPI, "iterate", None),
    ("ours_dpi20", "ours n_dissections=20", DPI_20, "iterate", None),
    # Pinned to one core, the meter dissects inline instead of in its dissection thread.
    ("ours_dpi20_one_core", "ours n_dissections=20, one core", dict(DPI_20, _cores=1), "iterate", None),
    (
        "ours_stats",
        "ours statistical_analysis",
        dict(NO_DPI, statistical_analysis=True),
        "iterate",
        None,
    ),
    ("ours_splt", "ours splt_analysis=20", dict(NO_DPI, splt_analysis=20), "iterate", None),
    ("ours_process", "ours plugins=[process]", NO_DPI, "iterate", "process"),
    ("ours_on_update", "ours udps=on_update", NO_DPI, "iterate", "on_update"),
    ("ours_pandas", "ours to_pandas()", NO_DPI, "pandas", None),
    (
        "ours_meters2",
        "ours n_meters=2, n_dissections=20",
        dict(DPI_20, n_meters=2),
        "iterate",
        None,
    ),
]
NFSTREAM_CONFIGURATIONS = [
    ("nfs_dpi0", "nfstream n_dissections=0", NO_DPI, "iterate", None),
    ("nfs_dpi20", "nfstream n_dissections=20", DPI_20, "iterate", None),
    ("nfs_on_update", "nfstream udps=on_update", NO_DPI, "iterate", "on_update"),
    ("nfs_pandas", "nfstream to_pandas()", NO_DPI, "pandas", None),
]


# --- Processes -----------------------------------------------------------------------------


def run_measured(command, env=None, stdout_path=None):
    """Run command and return (wall seconds, peak RSS KiB, return code, stdout, stderr).

    Peak RSS comes from GNU time (/usr/bin/time) when it is installed. Without it, it comes
    from os.wait4, which also counts the Python process that forked the child (Linux keeps
    the high-water mark across exec), so it is about 15 MiB too high.
    """
    with tempfile.TemporaryDirectory() as folder:
        out_path = stdout_path or os.path.join(folder, "stdout")
        err_path = os.path.join(folder, "stderr")
        rss_path = os.path.join(folder, "rss")
        if os.access(GNU_TIME, os.X_OK):
            command = [GNU_TIME, "-f", "%M", "-o", rss_path, *command]
        with open(out_path, "wb") as out, open(err_path, "wb") as err:
            start = time.perf_counter()
            process = subprocess.Popen(
                command, stdout=out, stderr=err, stdin=subprocess.DEVNULL, env=env
            )
            _pid, status, usage = os.wait4(process.pid, 0)
            wall = time.perf_counter() - start
        process.returncode = os.waitstatus_to_exitcode(status)
        peak_rss = usage.ru_maxrss
        if os.path.exists(rss_path):
            peak_rss = int(Path(rss_path).read_text().split()[-1])
        stdout = "" if stdout_path else Path(out_path).read_text()
        return wall, peak_rss, process.returncode, stdout, Path(err_path).read_text()


def count_packets(path):
    """Return the number of records in a classic pcap file by walking the record headers."""
    import struct

    with open(path, "rb") as handle:
        magic = handle.read(24)[:4]
        order = "<" if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1") else ">"
        header = struct.Struct(order + "IIII")
        packets = 0
        while True:
            record = handle.read(16)
            if len(record) < 16:
                return packets
            handle.seek(header.unpack(record)[2], os.SEEK_CUR)
            packets += 1


# --- Corpus --------------------------------------------------------------------------------


def build_corpus(arguments):
    """Build (or reuse) the captures and return [(name, path, packets)]."""
    cache = Path(arguments.corpus)
    cache.mkdir(parents=True, exist_ok=True)
    captures = []
    pcaps = Path(arguments.conformance_pcaps)
    if pcaps.is_dir() and MAKE_BENCH_PCAP.is_file():
        replicas = 2 if arguments.quick else 20
        path = cache / f"replicas{replicas}.pcap"
        if not path.exists():
            run_checked(
                [
                    sys.executable,
                    str(MAKE_BENCH_PCAP),
                    str(pcaps),
                    str(path),
                    "--replicas",
                    str(replicas),
                    "--interleave",
                ]
            )
        captures.append((f"replicas{replicas}", path))
    else:
        print(f"note: {pcaps} not found, skipping the replicas capture", file=sys.stderr)

    flows = 20_000 if arguments.quick else 1_000_000
    path = cache / f"flows{flows}.pcap"
    if not path.exists():
        run_checked(
            [
                sys.executable,
                str(BENCH_DIR / "make_flows_pcap.py"),
                str(path),
                "--flows",
                str(flows),
            ]
        )
    captures.append((f"flows{flows}", path))
    return [(name, path, count_packets(path)) for name, path in captures]


def run_checked(command):
    """Run a build step, raising SystemExit with its output when it fails."""
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        raise SystemExit(f"failed: {' '.join(command)}\n{result.stdout}{result.stderr}")


# --- Peers ---------------------------------------------------------------------------------


def compile_pcap_loop(cache):
    """Compile pcap_loop.c into the cache folder; return (binary path, None) or (None, reason)."""
    if shutil.which("gcc") is None or shutil.which("pkg-config") is None:
        return None, "gcc or pkg-config not found"
    flags = subprocess.run(
        ["pkg-config", "--cflags", "--libs", "libpcap"], capture_output=True, text=True
    )
    if flags.returncode != 0:
        return None, "pkg-config has no libpcap: " + flags.stderr.strip()
    binary = Path(cache) / "pcap_loop"
    result = subprocess.run(
        ["gcc", "-O2", str(BENCH_DIR / "pcap_loop.c"), "-o", str(binary), *flags.stdout.split()],
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        return None, "gcc failed: " + result.stderr.strip().splitlines()[0]
    return binary, None


def measure_pcap_loop(binary, path):
    """Return the row of the bare libpcap loop (wall time is the loop's own timing)."""
    wall, rss, code, out, err = run_measured([str(binary), str(path)])
    if code != 0:
        return {"error": err.strip()[:200] or f"exit code {code}"}
    _packets, _bytes, loop_seconds = out.split()
    return {"seconds": float(loop_seconds), "peak_rss_kib": rss, "flows": None}


def measure_ndpi_reader(path):
    """Return the row of ndpiReader dissecting up to 20 packets per TCP and UDP flow."""
    binary = shutil.which("ndpiReader")
    if binary is None:
        return {"error": "ndpiReader not found (Debian package libndpi-bin)"}
    command = [binary, "-i", str(path), "-q", "-U", "20", "-T", "20"]
    wall, rss, code, _out, err = run_measured(command, stdout_path=os.devnull)
    if code != 0:
        return {"error": f"exit code {code}: {err.strip()[:160]}"}
    return {"seconds": wall, "peak_rss_kib": rss, "flows": None}


def prepare_nfstream_venv():
    """Install nfstream from PyPI into .venv-nfstream and return (python, version, reason).

    On failure python is None and reason is the error (for example no wheel for this Python).
    """
    python = NFSTREAM_VENV / "bin" / "python"
    if not python.exists():
        created = subprocess.run(
            [sys.executable, "-m", "venv", str(NFSTREAM_VENV)], capture_output=True, text=True
        )
        if created.returncode != 0:
            return None, None, "python -m venv failed: " + last_line(created.stderr)
    probe = [str(python), "-c", "import nfstream; print(nfstream.__version__)"]
    version = subprocess.run(probe, capture_output=True, text=True, cwd=BENCH_DIR)
    if version.returncode != 0:
        installed = subprocess.run(
            [str(python), "-m", "pip", "install", "--quiet", "nfstream"],
            capture_output=True,
            text=True,
        )
        if installed.returncode != 0:
            return None, None, "pip install nfstream failed: " + last_line(installed.stderr)
        version = subprocess.run(probe, capture_output=True, text=True, cwd=BENCH_DIR)
        if version.returncode != 0:
            return None, None, "import nfstream failed: " + last_line(version.stderr)
    return python, version.stdout.strip(), None


def last_line(text):
    """Return the last non-empty line of a tool's output, for a one-line reason."""
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[-1][:200] if lines else "no output"


# --- Python workers ------------------------------------------------------------------------


def measure_worker(python, env, path, kwargs, mode, plugin):
    """Run worker.py once in a fresh interpreter and return its measurements."""
    kwargs = dict(kwargs)
    spec = {"source": str(path), "mode": mode, "cores": kwargs.pop("_cores", None), "plugin": plugin}
    spec["kwargs"] = kwargs
    wall, rss, code, out, err = run_measured([str(python), str(WORKER), json.dumps(spec)], env)
    lines = out.strip().splitlines()
    if code != 0 or not lines:
        return {"error": f"worker exit code {code}: {last_line(err)}"}
    result = json.loads(lines[-1])
    if "error" not in result:
        # nfstream meters in a child process; ours starts none of its own.
        result["peak_rss_kib"] = result["peak_rss_kib"] + result["children_peak_rss_kib"]
    return result


def best_of(repeat, measure, *arguments):
    """Call measure(*arguments) repeat times and keep the run with the shortest wall time."""
    best = None
    for _ in range(repeat):
        result = measure(*arguments)
        if "error" in result:
            return result
        if best is None or result["seconds"] < best["seconds"]:
            best = result
    return best


def snapshot_package(cache):
    """Copy the nfstream package under test (with its built extension) into the cache.

    Workers import the copy, so a rebuild of the extension while the benchmark runs does not
    change the code under test halfway. Return the folder to put on PYTHONPATH.
    """
    folder = Path(cache) / "snapshot"
    source = REPO_ROOT / "nfstream"
    if not any(source.glob("_engine*.so")):
        # Built with `pip install .` rather than in place: copy the installed package.
        spec = importlib.util.find_spec("nfstream")
        if spec is not None and spec.submodule_search_locations:
            source = Path(list(spec.submodule_search_locations)[0])
    shutil.rmtree(folder, ignore_errors=True)
    shutil.copytree(source, folder / "nfstream", ignore=shutil.ignore_patterns("__pycache__"))
    return folder


def describe_commit():
    """Return the short commit id of the repository, with '+changes' if the tree is dirty."""
    head = subprocess.run(
        ["git", "-C", str(REPO_ROOT), "rev-parse", "--short", "HEAD"],
        capture_output=True,
        text=True,
    )
    if head.returncode != 0:
        return "unknown"
    dirty = subprocess.run(
        ["git", "-C", str(REPO_ROOT), "status", "--porcelain", "--", "csrc", "nfstream"],
        capture_output=True,
        text=True,
    )
    return head.stdout.strip() + ("+changes" if dirty.stdout.strip() else "")


def our_environment():
    """Return the environment that makes worker.py import the snapshot of our package."""
    env = dict(os.environ)
    env["PYTHONPATH"] = str(PACKAGE_SNAPSHOT[0]) + os.pathsep + env.get("PYTHONPATH", "")
    return env


def nfstream_environment():
    """Return an environment in which nothing points at this repository's package."""
    env = dict(os.environ)
    env.pop("PYTHONPATH", None)
    return env


# --- Runs ----------------------------------------------------------------------------------


def measure_capture(arguments, peers, name, path, packets):
    """Measure every row on one capture and return {row key: result dict}."""
    results = {}
    progress(f"{name}: libpcap loop")
    results["libpcap"] = (
        best_of(arguments.repeat, measure_pcap_loop, peers["pcap_loop"], path)
        if peers["pcap_loop"]
        else {"error": peers["pcap_loop_reason"]}
    )
    if arguments.skip_ndpi:
        results["ndpi"] = {"error": "skipped (--skip-ndpi)"}
    else:
        progress(f"{name}: ndpiReader")
        results["ndpi"] = best_of(arguments.repeat, measure_ndpi_reader, path)

    for key, _label, kwargs, mode, plugin in NFSTREAM_CONFIGURATIONS:
        if peers["nfstream_python"] is None:
            results[key] = {"error": peers["nfstream_reason"]}
            continue
        progress(f"{name}: {key}")
        python, env = peers["nfstream_python"], nfstream_environment()
        results[key] = best_of(
            arguments.repeat, measure_worker, python, env, path, kwargs, mode, plugin
        )

    for key, _label, kwargs, mode, plugin in OUR_CONFIGURATIONS:
        progress(f"{name}: {key}")
        python, env = sys.executable, our_environment()
        results[key] = best_of(
            arguments.repeat, measure_worker, python, env, path, kwargs, mode, plugin
        )
    for result in results.values():
        result["packets"] = packets
    return results


def measure_memory(path, packets):
    """Measure RSS per active flow on the flows capture with long and short idle timeouts."""
    rows = []
    for label, kwargs in (
        ("n_dissections=0", {"n_dissections": 0, "idle_timeout": LONG_IDLE_TIMEOUT}),
        ("n_dissections=0", {"n_dissections": 0, "idle_timeout": SHORT_IDLE_TIMEOUT}),
        ("n_dissections=20", {"n_dissections": 20, "idle_timeout": LONG_IDLE_TIMEOUT}),
    ):
        progress(f"memory: {label} idle_timeout={kwargs['idle_timeout']}")
        kwargs = dict(kwargs, n_meters=1, active_timeout=LONG_IDLE_TIMEOUT)
        result = measure_worker(sys.executable, our_environment(), path, kwargs, "iterate", None)
        result.update(label=label, idle_timeout=kwargs["idle_timeout"], packets=packets)
        rows.append(result)
    return rows


def progress(message):
    """Print a progress line to stderr, so stdout carries only the table."""
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def parse_arguments(argv):
    parser = argparse.ArgumentParser(
        description="Benchmark the nfstream engine against libpcap, ndpiReader and nfstream."
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="small captures (2 replicas, 20,000 flows) for a smoke test",
    )
    parser.add_argument(
        "--corpus",
        default=str(BENCH_DIR / ".cache"),
        help="folder for the generated captures and pcap_loop (default benchmarks/.cache)",
    )
    parser.add_argument(
        "--conformance-pcaps",
        default=str(DEFAULT_CONFORMANCE_PCAPS),
        help="folder of small captures for the replicas capture",
    )
    parser.add_argument(
        "--skip-nfstream", action="store_true", help="do not install or run nfstream from PyPI"
    )
    parser.add_argument("--skip-ndpi", action="store_true", help="do not run ndpiReader")
    parser.add_argument(
        "--repeat", type=int, default=1, help="runs per row, keeping the fastest (default 1)"
    )
    parser.add_argument(
        "--write-results",
        action="store_true",
        help="write the table to benchmarks/RESULTS.md and benchmarks/README.md",
    )
    arguments = parser.parse_args(argv)
    if arguments.repeat < 1:
        parser.error(f"--repeat {arguments.repeat} is invalid: use 1 or more")
    return arguments


def main(argv=None):
    arguments = parse_arguments(argv)
    captures = build_corpus(arguments)
    PACKAGE_SNAPSHOT[0] = snapshot_package(arguments.corpus)
    peers = {}
    peers["pcap_loop"], peers["pcap_loop_reason"] = compile_pcap_loop(arguments.corpus)
    if arguments.skip_nfstream:
        peers["nfstream_python"], version, reason = None, None, "skipped (--skip-nfstream)"
    else:
        progress("preparing nfstream from PyPI in benchmarks/.venv-nfstream")
        peers["nfstream_python"], version, reason = prepare_nfstream_venv()
    peers["nfstream_reason"] = reason

    tables = []
    memory_rows = []
    for name, path, packets in captures:
        results = measure_capture(arguments, peers, name, path, packets)
        tables.append((name, packets, results))
        if name.startswith("flows"):
            memory_rows = measure_memory(path, packets)

    machine = report.describe_machine(nfstream_version=version, commit=describe_commit())
    text = report.render(machine, tables, memory_rows, OUR_CONFIGURATIONS, NFSTREAM_CONFIGURATIONS)
    print(text)
    if arguments.write_results:
        report.write_results(text, RESULTS_FILE, README_FILE, RESULTS_START, RESULTS_END)
    return 0


if __name__ == "__main__":
    sys.exit(main())
