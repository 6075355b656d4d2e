"""Run one NFStreamer configuration and print its measurements as one JSON line.

run.py starts this file in a fresh interpreter for every configuration, so the peak RSS it
reports belongs to that configuration alone. The same file runs under our package and under
nfstream from PyPI in its own virtual environment, so it imports nothing but the standard
library and whichever `nfstream` the interpreter finds.

    python worker.py '{"source": "x.pcap", "mode": "iterate", "kwargs": {"n_dissections": 0}}'

Keys of the JSON argument:
    source   capture file
    mode     "iterate" (count the flows) or "pandas" (call to_pandas() and count its rows)
    kwargs   keyword arguments for NFStreamer
    plugin   null, "process" (classic plugins=[...] API) or "on_update" (udps=... API)
    cores    null, or how many of the allowed cores (the lowest numbered) the process keeps

Output keys: flows, seconds (wall time of the metering only, after imports), rss_before_kib
(resident set after imports), peak_rss_kib (this process), children_peak_rss_kib (largest
child process, for meters that run in child processes), rss_after_kib, error.
"""

import json
import resource
import sys
import time


def read_status_kib(field):
    """Return a memory field of /proc/self/status (VmRSS, VmHWM) in KiB, or 0 if absent."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def make_plugin(kind):
    """Return the trivial plugin of the requested API, or None."""
    from nfstream import NFPlugin

    class PacketCounter(NFPlugin):
        """Count packets with the classic per-packet `process` hook."""

        def process(self, packet, flow):
            setattr(flow, self.name, getattr(flow, self.name) + 1)

    class UpdateCounter(NFPlugin):
        """Count packets with the nfstream 6 hooks."""

        def on_init(self, packet, flow):
            flow.udps.packets_seen = 1

        def on_update(self, packet, flow):
            flow.udps.packets_seen += 1

    if kind == "process":
        return PacketCounter(name="packets_seen")
    if kind == "on_update":
        return UpdateCounter()
    return None


def run(spec):
    """Meter spec["source"] with the spec's kwargs, mode and plugin, and return the measurements."""
    import os

    if spec.get("cores"):
        allowed = sorted(os.sched_getaffinity(0))
        os.sched_setaffinity(0, allowed[: spec["cores"]])
    from nfstream import NFStreamer

    kwargs = dict(spec.get("kwargs", {}))
    plugin = make_plugin(spec.get("plugin"))
    if spec.get("plugin") == "process":
        kwargs["plugins"] = [plugin]
    elif spec.get("plugin") == "on_update":
        kwargs["udps"] = plugin

    if spec.get("mode") == "pandas":
        # Both packages need pandas. Importing it first keeps its one-off import time (about
        # 0.2 s here) out of the measurement, as in a notebook that already uses pandas.
        import pandas  # noqa: F401

    rss_before = read_status_kib("VmRSS")
    start = time.perf_counter()
    streamer = NFStreamer(source=spec["source"], **kwargs)
    if spec.get("mode") == "pandas":
        frame = streamer.to_pandas()
        flows = 0 if frame is None else len(frame)
        del frame
    else:
        flows = 0
        for _flow in streamer:
            flows += 1
    seconds = time.perf_counter() - start
    return {
        "flows": flows,
        "seconds": seconds,
        "rss_before_kib": rss_before,
        "rss_after_kib": read_status_kib("VmRSS"),
    }


def main():
    spec = json.loads(sys.argv[1])
    try:
        result = run(spec)
    except Exception as error:  # noqa: BLE001 - every failure becomes a table cell
        result = {"error": f"{type(error).__name__}: {error}".splitlines()[0][:200]}
    result["peak_rss_kib"] = read_status_kib("VmHWM")
    result["children_peak_rss_kib"] = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
