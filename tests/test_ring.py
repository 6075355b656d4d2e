"""The ring between the meter and the dissection thread (csrc/engine/ring.c).

tests/c/ring_check.c pushes records of random lengths, up to the whole ring, through a small
ring and checks each one on the other side. It is built with ThreadSanitizer, so a data race
fails the test, and a lost wake-up (one side asleep for good) runs into the timeout.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from fuzz_replay import REPO_ROOT, clean_environment, library_flags

TIMEOUT_SECONDS = 120


@pytest.fixture(scope="module")
def ring_check(tmp_path_factory) -> Path:
    compiler = shutil.which("clang")
    if compiler is None:
        pytest.skip("clang not found; the ThreadSanitizer build needs it")
    binary = tmp_path_factory.mktemp("ring") / "ring_check"
    # ring.c uses the engine's clock helpers, so the check links the whole engine.
    engine_sources = sorted(str(path) for path in (REPO_ROOT / "csrc" / "engine").glob("*.c"))
    command = [
        compiler, "-std=gnu11", "-g", "-O1", "-fsanitize=thread",
        f"-I{REPO_ROOT / 'csrc' / 'engine'}", "-o", str(binary),
        str(REPO_ROOT / "tests" / "c" / "ring_check.c"), *engine_sources, *library_flags(),
    ]  # fmt: skip
    result = subprocess.run(command, capture_output=True, text=True, env=clean_environment())
    assert result.returncode == 0, f"building the check failed:\n{result.stderr}"
    return binary


@pytest.mark.parametrize(
    ("ring_bytes", "records", "seed"),
    [(4096, 100_000, 1), (4096, 100_000, 2), (65536, 30_000, 3), (1 << 20, 1_000, 4)],
)
def test_ring_delivers_every_record(ring_check, ring_bytes, records, seed):
    env = clean_environment()
    env["TSAN_OPTIONS"] = "halt_on_error=1 exitcode=66"
    try:
        result = subprocess.run(
            [str(ring_check), str(ring_bytes), str(records), str(seed)],
            capture_output=True,
            text=True,
            env=env,
            timeout=TIMEOUT_SECONDS,
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"the ring hung: a side slept through its wake-up (seed {seed})")
    assert result.returncode == 0, result.stderr[-4000:]
    assert result.stdout.split() == ["records", str(records)]
