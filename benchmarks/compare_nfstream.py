"""Compare this package's flows with PyPI nfstream's, field by field, on a folder of captures.

Both meters run in child processes with the same NFStreamer parameters and ``n_meters=1``, so
that flow ids are deterministic on both sides. Each child executes ``DUMP_SCRIPT``, which
writes every flow's ``keys()``/``values()`` as one JSON line. Ours runs with this interpreter
and the repository on ``sys.path``. The peer runs with the interpreter of a separate virtual
environment in isolated mode (``-I``) from a temporary directory, so the repository's own
``nfstream`` package cannot shadow the PyPI one. nfstream is never imported in this process.

Flows are paired by id and every common column is compared. Each difference is put in one
class:

- ``real``: counters, times, statistics, addresses, flow counts, columns present on one side
  only, or a value of another type (int against float). These set exit status 1.
- ``float (last ulp)``: two floats that differ only in the last unit in the last place.
  They are listed apart and set exit status 1 only with ``--strict-floats``.
- ``dissection (nDPI version)``: the application and fingerprint fields. The peer bundles a
  newer nDPI than Debian's libndpi 4.2 that this package links, so these fields are expected
  to differ. They never change the exit status.

Exit status: 0 without real differences, 1 with real differences, 2 when a meter cannot run.

Usage::

    python benchmarks/compare_nfstream.py --setup FOLDER      # create the peer environment
    python benchmarks/compare_nfstream.py FOLDER --statistical --splt 20 --report out.md

Limits: pairing by id assumes both meters emit flows in the same order. When they do not,
every field of the shifted flows differs. The ``id_pairing`` check below counts such flows.
"""

from __future__ import annotations

import argparse
import collections
import concurrent.futures
import dataclasses
import fnmatch
import json
import math
import os
import pathlib
import subprocess
import sys
import tempfile
import venv
from collections.abc import Iterable
from typing import Any

BENCH_DIR = pathlib.Path(__file__).resolve().parent
REPO_ROOT = BENCH_DIR.parent
DEFAULT_VENV = BENCH_DIR / ".venv-compare"
# The benchmark suite's environment; used when ours does not exist.
SHARED_VENV = BENCH_DIR / ".venv-nfstream"
REFERENCE_VERSION = "6.5.4"
CAPTURE_SUFFIXES = (".pcap", ".pcapng", ".cap")

REAL = "real"
FLOAT_ULP = "float (last ulp)"
DISSECTION = "dissection (nDPI version)"
CLASSES = (REAL, FLOAT_ULP, DISSECTION)

# Columns filled from nDPI. Their values depend on the nDPI release, not on the meter.
DISSECTION_FIELDS = frozenset(
    {
        "application_name",
        "application_category_name",
        "application_is_guessed",
        "application_confidence",
        "requested_server_name",
        "client_fingerprint",
        "server_fingerprint",
        "user_agent",
        "content_type",
    }
)

# Fields that identify a flow. When one of them differs on a pair, the two flows are most
# likely different flows that received the same id, and the pair is counted in id_pairing.
IDENTITY_FIELDS = (
    "src_ip",
    "src_port",
    "dst_ip",
    "dst_port",
    "protocol",
    "vlan_id",
)

# ndpi_confidence_t by release. nDPI 4.2 (Debian): unknown, port, IP, DPI cache, DPI.
# nDPI 4.4 to 4.8 inserted nBPF and the two partial values, so DPI moved from 4 to 6.
CONFIDENCE_NAMES_NDPI_4_2 = ("unknown", "match by port", "match by IP", "DPI cache", "DPI")
CONFIDENCE_NAMES_NDPI_4_4 = (
    "unknown",
    "match by port",
    "nBPF",
    "DPI partial",
    "DPI partial cache",
    "DPI cache",
    "DPI",
)

# Runs in either interpreter: argv[1] is a JSON object with "parameters" and "captures".
# It prints one JSON object per line: "meta" first, then per capture "start", one "flow" per
# flow, and "end" or "error". A missing "end" means the child died inside that capture.
DUMP_SCRIPT = r"""
import json, sys

def ndpi_version():
    try:
        from nfstream.engine.engine import create_engine
        ffi, lib = create_engine()
        return ffi.string(lib.engine_lib_ndpi_version()).decode()
    except Exception:
        pass
    try:
        import ctypes
        import nfstream._engine
        with open("/proc/self/maps") as maps:
            paths = {line.split()[-1] for line in maps if "libndpi" in line}
        for path in paths:
            revision = ctypes.CDLL(path).ndpi_revision
            revision.restype = ctypes.c_char_p
            return revision().decode()
    except Exception:
        pass
    return "unknown"

def emit(record):
    sys.stdout.write(json.dumps(record, default=str) + "\n")

config = json.loads(sys.argv[1])
import nfstream
emit({"meta": {"nfstream": nfstream.__version__, "ndpi": ndpi_version(),
               "module": nfstream.__file__}})
for capture in config["captures"]:
    emit({"start": capture})
    sys.stdout.flush()
    try:
        streamer = nfstream.NFStreamer(source=capture, **config["parameters"])
        for flow in streamer:
            emit({"flow": dict(zip(flow.keys(), flow.values()))})
    except Exception as error:
        emit({"error": capture, "message": type(error).__name__ + ": " + str(error)})
    else:
        emit({"end": capture})
    sys.stdout.flush()
"""


@dataclasses.dataclass
class Example:
    """One differing value, kept for the report."""

    flow_id: Any
    field: str
    ours: Any
    theirs: Any


@dataclasses.dataclass
class FieldResult:
    """Differences of one field in one capture."""

    category: str
    flows: int = 0
    examples: list = dataclasses.field(default_factory=list)
    # application_confidence pairs whose values differ but name the same confidence.
    same_confidence_name: int = 0


@dataclasses.dataclass
class CaptureResult:
    """Comparison of one capture: flow counts, per-field differences, errors."""

    name: str
    flows_ours: int = 0
    flows_theirs: int = 0
    ids_only_ours: list = dataclasses.field(default_factory=list)
    ids_only_theirs: list = dataclasses.field(default_factory=list)
    columns_only_ours: list = dataclasses.field(default_factory=list)
    columns_only_theirs: list = dataclasses.field(default_factory=list)
    fields: dict = dataclasses.field(default_factory=dict)
    id_pairing: int = 0
    error_ours: str | None = None
    error_theirs: str | None = None

    def has_real_difference(self, strict_floats: bool = False) -> bool:
        """Return True when the capture has a difference that sets exit status 1."""
        failing = {REAL, FLOAT_ULP} if strict_floats else {REAL}
        return bool(
            self.flows_ours != self.flows_theirs
            or self.ids_only_ours
            or self.ids_only_theirs
            or self.columns_only_ours
            or self.columns_only_theirs
            or self.error_ours
            or self.error_theirs
            or any(result.category in failing for result in self.fields.values())
        )


def differ_by_last_ulp(ours: float, theirs: float) -> bool:
    """Return True when two finite floats are adjacent doubles."""
    if not (math.isfinite(ours) and math.isfinite(theirs)) or ours == theirs:
        return False
    return math.nextafter(ours, theirs) == theirs


def values_equal(ours: Any, theirs: Any) -> bool:
    """Compare exactly, including the type, so that 0 and 0.0 or True and 1 differ."""
    if type(ours) is not type(theirs):
        return False
    if isinstance(ours, float) and math.isnan(ours) and math.isnan(theirs):
        return True
    return bool(ours == theirs)


def classify(field: str, ours: Any, theirs: Any) -> str:
    """Return the class of a difference between two unequal values of one field."""
    if field in DISSECTION_FIELDS:
        return DISSECTION
    if isinstance(ours, float) and isinstance(theirs, float) and differ_by_last_ulp(ours, theirs):
        return FLOAT_ULP
    return REAL


def confidence_name(value: Any, ndpi_version: str) -> str | None:
    """Name an application_confidence value for an nDPI release, or None if unknown."""
    parts = ndpi_version.split(".")
    try:
        release = (int(parts[0]), int(parts[1].split("-")[0]))
    except (IndexError, ValueError):
        return None
    if release < (4, 4):
        names = CONFIDENCE_NAMES_NDPI_4_2
    elif release <= (4, 8):
        names = CONFIDENCE_NAMES_NDPI_4_4
    else:
        # NOTE: the enum of nDPI 4.10 and later was not checked, so no name is given.
        return None
    if not isinstance(value, int) or not 0 <= value < len(names):
        return None
    return names[value]


def compare_capture(
    name: str,
    ours: list,
    theirs: list,
    max_examples: int = 3,
    ndpi_ours: str = "",
    ndpi_theirs: str = "",
) -> CaptureResult:
    """Compare the flow dicts of one capture, paired by their "id" value.

    Columns present on one side only are recorded once for the capture, from the union of
    all flows' columns, and are not compared.
    """
    result = CaptureResult(name, flows_ours=len(ours), flows_theirs=len(theirs))
    ours_by_id = {flow.get("id"): flow for flow in ours}
    theirs_by_id = {flow.get("id"): flow for flow in theirs}
    result.ids_only_ours = sorted(set(ours_by_id) - set(theirs_by_id), key=str)
    result.ids_only_theirs = sorted(set(theirs_by_id) - set(ours_by_id), key=str)

    columns_ours = list(dict.fromkeys(key for flow in ours for key in flow))
    columns_theirs = list(dict.fromkeys(key for flow in theirs for key in flow))
    result.columns_only_ours = [c for c in columns_ours if c not in columns_theirs]
    result.columns_only_theirs = [c for c in columns_theirs if c not in columns_ours]

    for flow_id, flow_ours in ours_by_id.items():
        flow_theirs = theirs_by_id.get(flow_id)
        if flow_theirs is None:
            continue
        if any(
            not values_equal(flow_ours.get(field), flow_theirs.get(field))
            for field in IDENTITY_FIELDS
            if field in flow_ours and field in flow_theirs
        ):
            result.id_pairing += 1
        for field, value_ours in flow_ours.items():
            if field not in flow_theirs:
                continue
            value_theirs = flow_theirs[field]
            if values_equal(value_ours, value_theirs):
                continue
            record_difference(
                result,
                flow_id,
                field,
                value_ours,
                value_theirs,
                max_examples,
                (ndpi_ours, ndpi_theirs),
            )
    return result


def record_difference(result, flow_id, field, ours, theirs, max_examples, ndpi_versions):
    """Count one differing value in result.fields and keep it if examples are still wanted."""
    category = classify(field, ours, theirs)
    field_result = result.fields.get(field)
    if field_result is None:
        field_result = result.fields[field] = FieldResult(category)
    elif category == REAL:
        # One real difference makes the whole field real, even after last-ulp ones.
        field_result.category = REAL
    field_result.flows += 1
    if field == "application_confidence":
        name_ours = confidence_name(ours, ndpi_versions[0])
        if name_ours is not None and name_ours == confidence_name(theirs, ndpi_versions[1]):
            field_result.same_confidence_name += 1
    if len(field_result.examples) < max_examples:
        field_result.examples.append(Example(flow_id, field, ours, theirs))


# --- running the meters ---------------------------------------------------------------------


@dataclasses.dataclass
class Dump:
    """Flows of every capture written by one meter, plus its versions and per-capture errors."""

    meta: dict
    flows: dict
    errors: dict


def run_dump(command: list, env: dict, captures: list, parameters: dict, timeout: float) -> Dump:
    """Run DUMP_SCRIPT over captures, restarting after any capture that kills the child.

    Raises RuntimeError when the interpreter cannot even import nfstream.
    """
    dump = Dump(meta={}, flows={}, errors={})
    remaining = list(captures)
    with tempfile.TemporaryDirectory(prefix="compare-nfstream-") as workdir:
        while remaining:
            config = json.dumps({"parameters": parameters, "captures": remaining})
            output = pathlib.Path(workdir, "flows.jsonl")
            with open(output, "w") as sink:
                try:
                    child = subprocess.run(
                        command + ["-c", DUMP_SCRIPT, config],
                        stdout=sink,
                        stderr=subprocess.PIPE,
                        text=True,
                        cwd=workdir,
                        env=env,
                        timeout=timeout,
                    )
                    returncode, stderr = child.returncode, child.stderr
                except subprocess.TimeoutExpired:
                    returncode, stderr = None, f"timed out after {timeout:g} s"
            finished, unfinished = read_dump(output, dump)
            if not dump.meta:
                raise RuntimeError(f"{' '.join(command)} could not start: {last_lines(stderr)}")
            if returncode is None:
                reason = last_lines(stderr)
            else:
                reason = f"child exited with status {returncode}: {last_lines(stderr)}"
            if unfinished is not None:
                dump.errors[unfinished] = reason
                finished.add(unfinished)
            elif not finished.issuperset(remaining):
                # The child stopped between two captures, so a restart would not progress.
                for capture in remaining:
                    if capture not in finished:
                        dump.errors[capture] = "not run: " + reason
                        finished.add(capture)
            remaining = [capture for capture in remaining if capture not in finished]
    return dump


def read_dump(path: pathlib.Path, dump: Dump):
    """Add the records of one child's output to dump.

    Returns the set of captures that finished (or failed cleanly) and the capture that was
    started but never finished, or None.
    """
    finished, current = set(), None
    with open(path) as source:
        for line in source:
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                # A child killed while writing leaves a partial last line.
                break
            if "meta" in record:
                dump.meta = record["meta"]
            elif "start" in record:
                current = record["start"]
                dump.flows[current] = []
            elif "flow" in record:
                dump.flows[current].append(record["flow"])
            elif "end" in record:
                finished.add(record["end"])
                current = None
            elif "error" in record:
                dump.errors[record["error"]] = record["message"]
                finished.add(record["error"])
                current = None
    return finished, current


def last_lines(text: str, count: int = 3) -> str:
    """Return the last non-empty lines of a child's stderr, joined with " | "."""
    lines = [line for line in (text or "").splitlines() if line.strip()]
    return " | ".join(lines[-count:]) or "(no stderr)"


def ours_command() -> tuple:
    """Return the command and environment that import this repository's nfstream."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        [str(REPO_ROOT)] + ([env["PYTHONPATH"]] if env.get("PYTHONPATH") else [])
    )
    return [sys.executable], env


def peer_command(python: pathlib.Path) -> tuple:
    """Return the command and environment of the peer; -I keeps PYTHONPATH and cwd out."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("PYTHON")}
    return [str(python), "-I"], env


def run_both(captures: list, parameters: dict, peer_python: pathlib.Path, timeout: float):
    """Dump ours and the peer's flows, one child each, in parallel threads."""
    with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
        command, env = ours_command()
        ours = pool.submit(run_dump, command, env, captures, parameters, timeout)
        command, env = peer_command(peer_python)
        theirs = pool.submit(run_dump, command, env, captures, parameters, timeout)
        return ours.result(), theirs.result()


# --- peer environment -----------------------------------------------------------------------


def venv_python(directory: pathlib.Path) -> pathlib.Path:
    """Return the interpreter path inside a virtual environment."""
    return directory / "bin" / "python"


def find_peer_python(requested: str | None) -> pathlib.Path | None:
    """Return the peer interpreter: the one requested, else the first existing venv."""
    if requested:
        # abspath, not resolve(): the venv's python is a symlink to the base interpreter,
        # and following it would leave the venv's site-packages behind.
        return pathlib.Path(os.path.abspath(requested))
    for directory in (DEFAULT_VENV, SHARED_VENV):
        if venv_python(directory).exists():
            return venv_python(directory)
    return None


def setup_peer(directory: pathlib.Path, version: str) -> pathlib.Path:
    """Create a venv with nfstream==version, or the newest release if that one fails.

    Prints the installed version. Raises RuntimeError when no release can be installed.
    """
    python = venv_python(directory)
    if not python.exists():
        venv.EnvBuilder(with_pip=True).create(directory)
    for requirement in ("nfstream==" + version, "nfstream"):
        install = subprocess.run(
            [str(python), "-m", "pip", "install", "--quiet", requirement],
            capture_output=True,
            text=True,
        )
        if install.returncode == 0:
            break
        print(f"pip install {requirement} failed: {last_lines(install.stderr)}", file=sys.stderr)
    else:
        raise RuntimeError(f"could not install nfstream into {directory}")
    probe = subprocess.run(
        [str(python), "-I", "-c", "import nfstream; print(nfstream.__version__)"],
        capture_output=True,
        text=True,
        cwd=tempfile.gettempdir(),
    )
    print(f"peer environment {directory}: nfstream {probe.stdout.strip()}", file=sys.stderr)
    return python


# --- report ---------------------------------------------------------------------------------


def summarise(results: Iterable[CaptureResult]) -> dict:
    """Return {(category, field): [captures, flows]} over all captures."""
    totals: dict = collections.defaultdict(lambda: [0, 0])
    for result in results:
        for field, field_result in result.fields.items():
            total = totals[(field_result.category, field)]
            total[0] += 1
            total[1] += field_result.flows
    return totals


def format_value(value: Any, width: int = 60) -> str:
    """Format a value for a Markdown table cell, shortened to width characters."""
    text = json.dumps(value, default=str) if not isinstance(value, str) else repr(value)
    text = text.replace("|", "\\|")
    return text if len(text) <= width else text[: width - 3] + "..."


def render_report(
    results: list,
    meta_ours: dict,
    meta_theirs: dict,
    parameters: dict,
    command: str,
    strict_floats: bool,
    details: str,
) -> str:
    """Render the whole comparison as Markdown."""
    lines = [
        "# Flow comparison with PyPI nfstream",
        "",
        f"Command: `{command}`",
        "",
        "| side | nfstream | nDPI |",
        "|---|---|---|",
        f"| ours | {meta_ours.get('nfstream')} | {meta_ours.get('ndpi')} |",
        f"| peer | {meta_theirs.get('nfstream')} | {meta_theirs.get('ndpi')} |",
        "",
        f"Parameters (both sides): `{json.dumps(parameters, sort_keys=True)}`",
        "",
    ]
    lines += render_totals(results, strict_floats)
    if details != "none":
        lines += render_details(results, strict_floats, details)
    return "\n".join(lines) + "\n"


def render_totals(results: list, strict_floats: bool) -> list:
    """Render the folder summary: flow counts, one table per class, structural problems."""
    flows_ours = sum(r.flows_ours for r in results)
    flows_theirs = sum(r.flows_theirs for r in results)
    failing = [r for r in results if r.has_real_difference(strict_floats)]
    lines = [
        "## Summary",
        "",
        f"- captures: {len(results)}, flows ours: {flows_ours}, flows peer: {flows_theirs}",
        f"- captures with real differences: {len(failing)}",
    ]
    structural = [
        ("flow count differs", [r for r in results if r.flows_ours != r.flows_theirs]),
        ("columns only in ours", [r for r in results if r.columns_only_ours]),
        ("columns only in peer", [r for r in results if r.columns_only_theirs]),
        ("error in ours", [r for r in results if r.error_ours]),
        ("error in peer", [r for r in results if r.error_theirs]),
        ("pairs whose identity fields differ", [r for r in results if r.id_pairing]),
    ]
    for label, hits in structural:
        if hits:
            names = ", ".join(r.name for r in hits[:10]) + (" ..." if len(hits) > 10 else "")
            lines.append(f"- {label}: {len(hits)} captures ({names})")
    totals = summarise(results)
    for category in CLASSES:
        rows = sorted(
            (field, *counts) for (cat, field), counts in totals.items() if cat == category
        )
        lines += ["", f"### {category[0].upper()}{category[1:]} differences", ""]
        if not rows:
            lines.append("None.")
            continue
        lines += ["| field | captures | flows |", "|---|---:|---:|"]
        lines += [f"| {field} | {captures} | {flows} |" for field, captures, flows in rows]
    confidence_same = sum(
        r.fields["application_confidence"].same_confidence_name
        for r in results
        if "application_confidence" in r.fields
    )
    if confidence_same:
        lines += [
            "",
            f"Of the application_confidence differences, {confidence_same} name the same "
            "confidence in the two nDPI releases (numbering only).",
        ]
    return lines + [""]


def render_details(results: list, strict_floats: bool, details: str) -> list:
    """Render one section per capture with differences: counts per field and examples."""
    lines = ["## Per capture", ""]
    for result in results:
        real = result.has_real_difference(strict_floats)
        if details == "real" and not real:
            continue
        if not real and not result.fields:
            continue
        lines += [f"### {result.name}", ""]
        lines.append(f"- flows ours {result.flows_ours}, peer {result.flows_theirs}")
        for label, value in (
            ("error in ours", result.error_ours),
            ("error in peer", result.error_theirs),
            ("ids only in ours", result.ids_only_ours[:20]),
            ("ids only in peer", result.ids_only_theirs[:20]),
            ("columns only in ours", result.columns_only_ours),
            ("columns only in peer", result.columns_only_theirs),
            ("pairs whose identity fields differ", result.id_pairing),
        ):
            if value:
                lines.append(f"- {label}: {value}")
        lines += ["", "| field | class | flows | examples: id: ours / peer |", "|---|---|---:|---|"]
        for field, field_result in sorted(
            result.fields.items(), key=lambda item: (CLASSES.index(item[1].category), item[0])
        ):
            if details == "real" and field_result.category == DISSECTION:
                continue
            examples = "<br>".join(
                f"{e.flow_id}: {format_value(e.ours)} / {format_value(e.theirs)}"
                for e in field_result.examples
            )
            lines.append(
                f"| {field} | {field_result.category} | {field_result.flows} | {examples} |"
            )
        lines.append("")
    return lines


# --- command line ---------------------------------------------------------------------------


def list_captures(folder: pathlib.Path, pattern: str | None) -> list:
    """Return the capture files of folder, sorted by name, filtered by a glob pattern."""
    captures = sorted(
        path
        for path in folder.resolve().iterdir()
        if path.is_file() and path.name.lower().endswith(CAPTURE_SUFFIXES)
    )
    if pattern:
        captures = [path for path in captures if fnmatch.fnmatch(path.name, pattern)]
    return [str(path) for path in captures]


def build_parameters(arguments: argparse.Namespace) -> dict:
    """Return the NFStreamer keyword arguments given to both sides."""
    return {
        "n_meters": 1,
        "decode_tunnels": True,
        "idle_timeout": arguments.idle_timeout,
        "active_timeout": arguments.active_timeout,
        "accounting_mode": arguments.accounting_mode,
        "n_dissections": arguments.dissections,
        "statistical_analysis": arguments.statistical,
        "splt_analysis": arguments.splt,
    }


def parse_arguments(argv: list | None) -> argparse.Namespace:
    """Parse the command line."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("folder", type=pathlib.Path, help="folder of .pcap/.pcapng captures")
    parser.add_argument(
        "--nfstream-python",
        help="interpreter of a venv with PyPI nfstream "
        "(default: benchmarks/.venv-compare, else benchmarks/.venv-nfstream)",
    )
    parser.add_argument(
        "--setup",
        action="store_true",
        help="create benchmarks/.venv-compare and pip install nfstream into it",
    )
    parser.add_argument(
        "--version",
        default=REFERENCE_VERSION,
        help="nfstream release for --setup (default %(default)s; the newest "
        "release if that one cannot be installed)",
    )
    parser.add_argument("--statistical", action="store_true", help="statistical_analysis=True")
    parser.add_argument("--splt", type=int, default=0, help="splt_analysis (default 0)")
    parser.add_argument(
        "--dissections", type=int, default=20, help="n_dissections (default %(default)s)"
    )
    parser.add_argument("--accounting-mode", type=int, default=0, help="accounting_mode")
    parser.add_argument("--idle-timeout", type=int, default=120, help="idle_timeout in seconds")
    parser.add_argument(
        "--active-timeout", type=int, default=1800, help="active_timeout in seconds"
    )
    parser.add_argument("--captures", help="only capture file names matching this glob")
    parser.add_argument(
        "--examples",
        type=int,
        default=3,
        help="examples kept per field and capture (default %(default)s)",
    )
    parser.add_argument(
        "--details",
        choices=("all", "real", "none"),
        default="all",
        help="per-capture sections: all differences, real ones only, or none",
    )
    parser.add_argument(
        "--strict-floats",
        action="store_true",
        help="count last-ulp float differences as real (exit status 1)",
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=1800,
        help="seconds one child process may run before it is stopped (default %(default)s); "
        "a child meters all captures left, and a stopped one is restarted after its capture",
    )
    parser.add_argument("--report", type=pathlib.Path, help="also write the report to FILE")
    return parser.parse_args(argv)


def main(argv: list | None = None) -> int:
    """Run the comparison and return the exit status."""
    arguments = parse_arguments(argv)
    if arguments.setup:
        try:
            setup_peer(DEFAULT_VENV, arguments.version)
        except RuntimeError as error:
            print(error, file=sys.stderr)
            return 2
    peer_python = find_peer_python(None if arguments.setup else arguments.nfstream_python)
    if peer_python is None or not peer_python.exists():
        print(
            "no interpreter with PyPI nfstream found: run with --setup or pass "
            "--nfstream-python PATH",
            file=sys.stderr,
        )
        return 2
    if not arguments.folder.is_dir():
        print(f"capture folder not found: {arguments.folder}", file=sys.stderr)
        return 2
    captures = list_captures(arguments.folder, arguments.captures)
    if not captures:
        print(
            f"no {'/'.join(CAPTURE_SUFFIXES)} file in {arguments.folder} matches "
            f"--captures {arguments.captures or '*'}",
            file=sys.stderr,
        )
        return 2

    parameters = build_parameters(arguments)
    try:
        ours, theirs = run_both(captures, parameters, peer_python, arguments.timeout)
    except RuntimeError as error:
        print(error, file=sys.stderr)
        return 2

    results = []
    for capture in captures:
        result = compare_capture(
            os.path.basename(capture),
            ours.flows.get(capture, []),
            theirs.flows.get(capture, []),
            arguments.examples,
            ours.meta.get("ndpi", ""),
            theirs.meta.get("ndpi", ""),
        )
        result.error_ours = ours.errors.get(capture)
        result.error_theirs = theirs.errors.get(capture)
        results.append(result)

    command = "python benchmarks/compare_nfstream.py " + " ".join(
        sys.argv[1:] if argv is None else argv
    )
    report = render_report(
        results,
        ours.meta,
        theirs.meta,
        parameters,
        command,
        arguments.strict_floats,
        arguments.details,
    )
    print(report)
    if arguments.report:
        arguments.report.write_text(report)
    failing = any(r.has_real_difference(arguments.strict_floats) for r in results)
    return 1 if failing else 0


if __name__ == "__main__":
    sys.exit(main())
