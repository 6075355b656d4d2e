"""Shared pytest set-up: tests/ on sys.path and the location of the conformance captures."""

import os
import sys
from pathlib import Path

import pytest

TESTS_DIR = Path(__file__).resolve().parent
REPO_ROOT = TESTS_DIR.parent

# Test modules import helpers that live beside them, such as pcapgen (capture writer).
if str(TESTS_DIR) not in sys.path:
    sys.path.insert(0, str(TESTS_DIR))


@pytest.fixture(scope="session")
def conformance_dir():
    """Directory of captures with the per-flow results nfstream 6.x recorded for them.

    NFSTREAM_CONFORMANCE_DIR overrides the default, shared/conformance/nfstream beside the
    repository. Tests that use this fixture are skipped when the directory is missing.
    """
    default = REPO_ROOT.parent / "shared" / "conformance" / "nfstream"
    path = Path(os.environ.get("NFSTREAM_CONFORMANCE_DIR", default))
    if not path.is_dir():
        pytest.skip(f"conformance captures not found at {path}")
    return path


@pytest.fixture(scope="session")
def fuzz_replay_binaries(tmp_path_factory):
    """The fuzz targets built as plain AddressSanitizer and UBSan programs (fuzz_replay.py)."""
    from fuzz_replay import build_replay_binaries

    return build_replay_binaries(tmp_path_factory.mktemp("fuzz-replay"))
