#!/usr/bin/env bash
# Set up nfstream on a Debian or Ubuntu machine, then show a first capture or run the tests.
#
# Usage: bash scripts/bootstrap.sh demo|test [pytest arguments]
#   demo  prints the flows of examples/sample.pcap
#   test  runs `python -m pytest -q tests` (extra arguments go to pytest)
#
# Both modes first install the missing system packages with apt-get, as root or through sudo
# when it is available. They then create or reuse the virtual environment .venv in the
# repository with the python3 on PATH (PYTHON overrides it). nfstream is installed there in
# editable mode, so the compiled extension sits in nfstream/ and tests run against the source
# tree.
#
# NFSTREAM_SANITIZE=1 builds the extension with AddressSanitizer and UndefinedBehaviorSanitizer
# and preloads their runtimes for the test run, because the Python interpreter is not built
# with them.
set -euo pipefail

SYSTEM_PACKAGES=(build-essential pkg-config libpcap-dev libndpi-dev python3-dev python3-venv)
# The tests also compare with ndpiReader and tshark, build fuzz harnesses with clang and
# capture live inside network namespaces made with ip (iproute2).
TEST_PACKAGES=(libndpi-bin tshark clang iproute2)

repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
venv_dir="$repo_root/.venv"
venv_python="$venv_dir/bin/python"

die() {
    echo "bootstrap.sh: $*" >&2
    exit 1
}

run_as_root() {
    if [[ $(id -u) -eq 0 ]]; then
        "$@"
    elif command -v sudo >/dev/null 2>&1; then
        sudo "$@"
    else
        die "root rights needed to run '$*', and sudo is not installed. Run this script as root."
    fi
}

install_system_packages() {
    if ! command -v dpkg-query >/dev/null 2>&1; then
        echo "bootstrap.sh: dpkg-query not found, so this is not Debian or Ubuntu." \
            "Install the equivalents of ${SYSTEM_PACKAGES[*]} yourself." >&2
        return
    fi

    local missing=() package
    for package in "${SYSTEM_PACKAGES[@]}"; do
        if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed"; then
            missing+=("$package")
        fi
    done
    if ((${#missing[@]} == 0)); then
        return
    fi

    echo "Installing system packages: ${missing[*]}"
    run_as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q
    run_as_root env DEBIAN_FRONTEND=noninteractive \
        apt-get install -y -q --no-install-recommends "${missing[@]}"
}

install_nfstream() {
    local python=${PYTHON:-python3}

    if [[ ! -x "$venv_python" ]]; then
        command -v "$python" >/dev/null 2>&1 || die "$python not found. Set PYTHON to a Python >= 3.9."
        echo "Creating the virtual environment $venv_dir with $python"
        "$python" -m venv "$venv_dir"
    fi

    # Editable installs of a pyproject.toml project need pip 21.3 or later.
    if ! "$venv_python" -c 'import sys, pip; sys.exit(tuple(map(int, pip.__version__.split(".")[:2])) < (21, 3))'; then
        "$venv_python" -m pip install -q --upgrade pip
    fi

    echo "Building and installing nfstream into $venv_dir"
    "$venv_python" -m pip install -q -e "$repo_root[test]"
}

sanitizer_preload() {
    local compiler=${CC:-cc} library path preload=()
    for library in libasan.so libubsan.so; do
        path=$("$compiler" -print-file-name="$library")
        [[ -f "$path" ]] || die "$library not found by $compiler, needed for NFSTREAM_SANITIZE=1."
        preload+=("$path")
    done
    echo "${preload[*]}"
}

run_demo() {
    local capture="$repo_root/examples/sample.pcap"
    [[ -f "$capture" ]] || die "$capture not found. Regenerate it: PYTHONPATH=tests python -m pcapgen sample $capture"

    "$venv_python" - "$capture" <<'PYTHON'
import sys

from nfstream import NFStreamer

FIELDS = ["src_ip", "src_port", "dst_ip", "dst_port", "protocol", "application_name",
          "bidirectional_packets", "bidirectional_bytes"]
HEADINGS = ["source", "sport", "destination", "dport", "proto", "application", "packets",
            "bytes"]

rows = [[str(getattr(flow, field)) for field in FIELDS] for flow in NFStreamer(source=sys.argv[1])]
widths = [max(len(cell) for cell in column) for column in zip(HEADINGS, *rows)]
for row in [HEADINGS, *rows]:
    print("  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip())
print(f"{len(rows)} flows in {sys.argv[1]}")
PYTHON
}

run_tests() {
    cd "$repo_root"
    if [[ "${NFSTREAM_SANITIZE:-}" == 1 ]]; then
        # Leak reports would list the interpreter's own allocations, so only memory errors and
        # undefined behaviour fail the run.
        LD_PRELOAD="$(sanitizer_preload)" ASAN_OPTIONS=detect_leaks=0 \
            UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
            "$venv_python" -m pytest -q tests "$@"
    else
        "$venv_python" -m pytest -q tests "$@"
    fi
}

main() {
    local mode=${1:-}
    case "$mode" in
    demo | test) shift ;;
    *) die "usage: bash scripts/bootstrap.sh demo|test [pytest arguments]" ;;
    esac

    if [[ "$mode" == test ]]; then
        SYSTEM_PACKAGES+=("${TEST_PACKAGES[@]}")
    fi
    install_system_packages
    install_nfstream
    if [[ "$mode" == demo ]]; then
        run_demo
    else
        run_tests "$@"
    fi
}

main "$@"
