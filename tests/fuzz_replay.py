"""Builds the libFuzzer targets in fuzz/ as plain sanitizer programs for the test suite.

Each target is linked with fuzz/replay_main.c instead of libFuzzer, so it runs over the
files named on its command line. The session fixture ``fuzz_replay_binaries`` in
conftest.py builds them once; it skips when clang or the libpcap and libndpi development
files are missing.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
FUZZ_DIR = REPO_ROOT / "fuzz"
TARGETS = ("decode_meter", "capture_file", "savefile")
SANITIZER_ENVIRONMENT = {
    "ASAN_OPTIONS": "detect_leaks=1",
    "UBSAN_OPTIONS": "halt_on_error=1:print_stacktrace=1",
}


def library_flags() -> list[str]:
    """Return pkg-config's flags for libpcap and libndpi, or skip when they are missing."""
    if shutil.which("pkg-config") is None:
        pytest.skip("pkg-config not found")
    result = subprocess.run(
        ["pkg-config", "--cflags", "--libs", "libpcap", "libndpi"], capture_output=True, text=True
    )
    if result.returncode != 0:
        pytest.skip(f"libpcap or libndpi development files not found: {result.stderr.strip()}")
    return shlex.split(result.stdout)


def clean_environment() -> dict[str, str]:
    """Return the environment without a sanitizer preload, which would also load into clang."""
    env = dict(os.environ)
    env.pop("LD_PRELOAD", None)
    return env


def replay_environment() -> dict[str, str]:
    """Return the environment for running a replay binary, with leak checks on."""
    env = clean_environment()
    env.update(SANITIZER_ENVIRONMENT)
    return env


def build_replay_binaries(output: Path) -> dict[str, Path]:
    """Build every target into ``output`` and return the binaries by target name."""
    compiler = shutil.which("clang")
    if compiler is None:
        pytest.skip("clang not found; the fuzz replay build needs it")
    flags = library_flags()
    engine_sources = sorted(str(path) for path in (REPO_ROOT / "csrc" / "engine").glob("*.c"))
    binaries = {}
    for target in TARGETS:
        binary = output / f"replay_{target}"
        command = [
            compiler, "-std=gnu11", "-g", "-O1", "-fno-omit-frame-pointer",
            "-fsanitize=address,undefined", "-fno-sanitize-recover=all",
            f"-I{REPO_ROOT / 'csrc' / 'engine'}", "-o", str(binary),
            str(FUZZ_DIR / f"fuzz_{target}.c"), str(FUZZ_DIR / "replay_main.c"),
            *engine_sources, *flags,
        ]  # fmt: skip
        result = subprocess.run(command, capture_output=True, text=True, env=clean_environment())
        assert result.returncode == 0, f"building {binary.name} failed:\n{result.stderr}"
        binaries[target] = binary
    return binaries
