"""Ctrl-C while a capture file is read stops the run promptly and keeps the cached flows.

A long stretch of a capture can expire no flow for seconds. The engine hands control back
to the bindings about every 250 ms even then, so a SIGINT is noticed at once: reading stops,
the cached flows come out, and KeyboardInterrupt is raised after the last of them.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from test_leaks import many_flows_capture

REPO_ROOT = Path(__file__).resolve().parents[1]
FLOWS_PER_FILE = 300_000
FILE_COUNT = 150
# Metering all files takes several seconds; the interrupt must end the run much sooner.
SIGNAL_AFTER_SECONDS = 1.0
EXIT_WITHIN_SECONDS = 3.0

CHILD = textwrap.dedent(
    """
    import sys
    from nfstream import NFStreamer

    count = 0
    try:
        print("started", flush=True)
        streamer = NFStreamer(source=[sys.argv[1]] * int(sys.argv[2]), idle_timeout=3600,
                              n_dissections=0, n_meters=int(sys.argv[3]))
        for _flow in streamer:
            count += 1
        print("finished", count, flush=True)
    except KeyboardInterrupt:
        print("interrupted", count, flush=True)
    """
)


@pytest.mark.parametrize("n_meters", [1, 2])
def test_interrupt_while_reading_files_stops_promptly(tmp_path, n_meters):
    capture = many_flows_capture(tmp_path / "quiet.pcap", FLOWS_PER_FILE)
    env = dict(os.environ, PYTHONPATH=str(REPO_ROOT))
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(capture), str(FILE_COUNT), str(n_meters)],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    assert child.stdout.readline().strip() == "started"
    time.sleep(SIGNAL_AFTER_SECONDS)
    sent = time.monotonic()
    child.send_signal(signal.SIGINT)
    try:
        output, _ = child.communicate(timeout=60)
    finally:
        child.kill()
    elapsed = time.monotonic() - sent

    words = output.split()
    assert words[0] == "interrupted"
    # Every flow of the first file is cached when the signal comes, and all come out.
    assert int(words[1]) >= FLOWS_PER_FILE
    assert elapsed < EXIT_WITHIN_SECONDS
