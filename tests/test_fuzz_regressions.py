"""Replay the kept fuzzing inputs through a plain AddressSanitizer and UBSan build.

Each libFuzzer target in fuzz/ is linked with fuzz/replay_main.c instead of libFuzzer, then
run over every file in fuzz/regressions/<target>/. An input that once crashed the engine
must now run to the end with no sanitizer report. Skipped when clang or the libpcap and
libndpi development files are missing.
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
TARGETS = ("decode_meter", "capture_file")
REPLAY_TIMEOUT_SECONDS = 120


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


@pytest.fixture(scope="module")
def replay_binaries(tmp_path_factory) -> dict[str, Path]:
    compiler = shutil.which("clang")
    if compiler is None:
        pytest.skip("clang not found; the fuzz replay build needs it")
    flags = library_flags()
    output = tmp_path_factory.mktemp("fuzz-replay")
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


@pytest.mark.parametrize("target", TARGETS)
def test_regression_inputs_replay(replay_binaries, target):
    inputs = sorted((FUZZ_DIR / "regressions" / target).glob("*"))
    if not inputs:
        pytest.skip(f"no regression inputs in fuzz/regressions/{target}")
    env = clean_environment()
    env["ASAN_OPTIONS"] = "detect_leaks=1"
    env["UBSAN_OPTIONS"] = "halt_on_error=1:print_stacktrace=1"

    result = subprocess.run(
        [str(replay_binaries[target]), *map(str, inputs)],
        capture_output=True,
        text=True,
        env=env,
        timeout=REPLAY_TIMEOUT_SECONDS,
    )

    assert result.returncode == 0, f"replay of {target} failed:\n{result.stderr[-4000:]}"
    assert f"replayed {len(inputs)} inputs" in result.stdout
