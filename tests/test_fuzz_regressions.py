"""Replay the kept fuzzing inputs through a plain AddressSanitizer and UBSan build.

Each libFuzzer target in fuzz/ is linked with fuzz/replay_main.c instead of libFuzzer, then
run over every file in fuzz/regressions/<target>/. An input that once crashed the engine
must now run to the end with no sanitizer report. Skipped when clang or the libpcap and
libndpi development files are missing.
"""

from __future__ import annotations

import subprocess

import pytest

from fuzz_replay import FUZZ_DIR, TARGETS, replay_environment

REPLAY_TIMEOUT_SECONDS = 120


@pytest.mark.parametrize("target", TARGETS)
def test_regression_inputs_replay(fuzz_replay_binaries, target):
    inputs = sorted((FUZZ_DIR / "regressions" / target).glob("*"))
    if not inputs:
        pytest.skip(f"no regression inputs in fuzz/regressions/{target}")
    result = subprocess.run(
        [str(fuzz_replay_binaries[target]), *map(str, inputs)],
        capture_output=True,
        text=True,
        env=replay_environment(),
        timeout=REPLAY_TIMEOUT_SECONDS,
    )

    assert result.returncode == 0, f"replay of {target} failed:\n{result.stderr[-4000:]}"
    assert f"replayed {len(inputs)} inputs" in result.stdout
