"""Command line: ``python -m pcapgen sample OUTPUT.pcap`` writes the sample capture."""

import sys

from .sample import main

sys.exit(main(sys.argv))
