"""Live capture tests: real capture on loopback and on a veth pair in test namespaces.

Each streamer runs in a child process, so a hang ends in a subprocess timeout and
never blocks the suite. The parent waits for the child's "ready" line (the interface
is open), sends known traffic, and reads one JSON line per flow. All traffic stays on
the loopback interface, filtered to a random high port, or on a veth pair inside two
network namespaces that the test creates and deletes. The tests need root and skip
otherwise; the namespace tests also need iproute2's `ip`.
"""

import json
import os
import random
import select
import shutil
import signal
import socket
import struct
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

from nfstream import NFPlugin, NFStreamer

ROOT = Path(__file__).resolve().parent.parent
IS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0
pytestmark = [
    pytest.mark.skipif(not sys.platform.startswith("linux"), reason="live capture tests need Linux"),
    pytest.mark.skipif(not IS_ROOT, reason="live capture needs root"),
]
needs_ip = pytest.mark.skipif(shutil.which("ip") is None, reason="iproute2 'ip' not installed")

# Loopback frames carry a 14-byte Ethernet header of zeros.
ETHERNET = 14
IPV4 = 20
UDP = 8
ICMP_ECHO = 8

# The child prints "ready" once the interface is open, then one JSON object per flow.
CHILD_PRELUDE = textwrap.dedent(
    """
    import json, os, sys, time
    from nfstream import NFPlugin, NFStreamer

    FIELDS = ("src_ip", "dst_ip", "src_port", "dst_port", "protocol", "expiration_id",
              "bidirectional_packets", "bidirectional_bytes", "src2dst_packets",
              "dst2src_packets", "bidirectional_syn_packets", "bidirectional_fin_packets")

    def emit(flow):
        # TCP flag counters exist only with statistical_analysis=True.
        record = {name: getattr(flow, name, None) for name in FIELDS}
        record["received"] = time.time()
        print(json.dumps(record), flush=True)

    def open_descriptors():
        return len(os.listdir("/proc/self/fd"))
    """
)


def child_environment():
    environment = dict(os.environ)
    environment["PYTHONPATH"] = os.pathsep.join(
        [str(ROOT), environment.get("PYTHONPATH", "")]
    ).rstrip(os.pathsep)
    return environment


class Child:
    """A Python child process whose stdout lines are read with deadlines."""

    def __init__(self, code, prefix=()):
        self.process = subprocess.Popen(
            [*prefix, sys.executable, "-c", CHILD_PRELUDE + textwrap.dedent(code)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            bufsize=0,
            cwd=ROOT,
            env=child_environment(),
        )
        self.lines = []
        self.buffer = b""

    def read_line(self, timeout):
        """Returns the next stdout line, or None at the timeout or at end of output."""
        deadline = time.monotonic() + max(timeout, 0)
        while b"\n" not in self.buffer:
            remaining = deadline - time.monotonic()
            ready, _, _ = select.select([self.process.stdout], [], [], max(remaining, 0))
            if not ready:
                return None
            chunk = os.read(self.process.stdout.fileno(), 65536)
            if not chunk:
                return None
            self.buffer += chunk
        line, self.buffer = self.buffer.split(b"\n", 1)
        return line.decode()

    def wait_for(self, text, timeout=10.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            line = self.read_line(deadline - time.monotonic())
            if line is None:
                break
            self.lines.append(line)
            if line.startswith(text):
                return line
        self.kill()
        pytest.fail(f"child never printed {text!r}; output {self.lines}, stderr {self.stderr()}")

    def flows(self, count, timeout):
        """Reads JSON flow lines until `count` arrived or the timeout passed."""
        flows = []
        deadline = time.monotonic() + timeout
        while len(flows) < count and time.monotonic() < deadline:
            line = self.read_line(deadline - time.monotonic())
            if line is None:
                break
            self.lines.append(line)
            if line.startswith("{"):
                flows.append(json.loads(line))
        return flows

    def finish(self, timeout=10.0):
        """Waits for exit and returns (exit code, remaining stdout lines, stderr)."""
        try:
            out, err = self.process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            pytest.fail(f"child did not exit within {timeout} s; output {self.lines}")
        lines = (self.buffer + out).decode().splitlines()
        self.buffer = b""
        self.lines.extend(lines)
        return self.process.returncode, lines, err.decode()

    def stderr(self):
        return self.process.stderr.read().decode() if self.process.poll() is not None else ""

    def kill(self):
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=5)


@pytest.fixture
def port():
    return random.randint(40000, 60000)


def send_udp(address, port, count, payload_size, family=socket.AF_INET):
    """Sends `count` datagrams from one new socket and returns its source port."""
    with socket.socket(family, socket.SOCK_DGRAM) as sender:
        for _ in range(count):
            sender.sendto(b"u" * payload_size, (address, port))
        return sender.getsockname()[1]


def udp_sink(port):
    sink = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sink.bind(("127.0.0.1", port))
    return sink


def tcp_exchange(port, size):
    """Connects to 127.0.0.1:port, sends `size` bytes, reads the echo, closes. Returns the client port."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as server:
        server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        server.bind(("127.0.0.1", port))
        server.listen(1)

        def echo():
            connection, _ = server.accept()
            with connection:
                received = b""
                while len(received) < size:
                    received += connection.recv(65536)
                connection.sendall(received)

        thread = threading.Thread(target=echo, daemon=True)
        thread.start()
        with socket.create_connection(("127.0.0.1", port), timeout=5) as client:
            client_port = client.getsockname()[1]
            client.sendall(b"t" * size)
            echoed = b""
            while len(echoed) < size:
                echoed += client.recv(65536)
        thread.join(timeout=5)
    return client_port


def icmp_checksum(data):
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    total = (total >> 16) + (total & 0xFFFF)
    total += total >> 16
    return ~total & 0xFFFF


def ping(address, count, payload_size):
    """Sends ICMP echo requests with a raw socket. The kernel replies to each one."""
    identifier = os.getpid() & 0xFFFF
    with socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP) as raw:
        for sequence in range(count):
            header = struct.pack("!BBHHH", 8, 0, 0, identifier, sequence)
            payload = b"p" * payload_size
            checksum = icmp_checksum(header + payload)
            raw.sendto(struct.pack("!BBHHH", 8, 0, checksum, identifier, sequence) + payload,
                       (address, 0))
            time.sleep(0.05)


def capture_child(interface, bpf_filter, idle_timeout=1, n_meters=1, count=10, extra=""):
    """Child that captures `count` flows (or until 15 s passed) and prints them."""
    return Child(
        f"""
        streamer = NFStreamer(source={interface!r}, bpf_filter={bpf_filter!r},
                              idle_timeout={idle_timeout}, n_dissections=0,
                              n_meters={n_meters}{extra})
        iterator = iter(streamer)
        print("ready", flush=True)
        started = time.monotonic()
        seen = 0
        for flow in iterator:
            emit(flow)
            seen += 1
            if seen >= {count} or time.monotonic() - started > 15:
                break
        print("stats " + json.dumps(streamer.stats()), flush=True)
        """
    )


def tcp_timestamps_enabled():
    path = Path("/proc/sys/net/ipv4/tcp_timestamps")
    return path.exists() and path.read_text().strip() == "1"


# ---------------------------------------------------------------------------
# Loopback
# ---------------------------------------------------------------------------


def test_loopback_udp_tcp_icmp_counters(port):
    child = capture_child("lo", f"udp port {port} or tcp port {port} or icmp", count=3,
                          extra=", statistical_analysis=True")
    child.wait_for("ready")
    with udp_sink(port):
        udp_source = send_udp("127.0.0.1", port, 5, 100)
    tcp_source = tcp_exchange(port, 1000)
    ping("127.0.0.1", 3, 56)
    flows = child.flows(3, timeout=10)
    code, lines, err = child.finish()

    assert code == 0, err
    by_protocol = {flow["protocol"]: flow for flow in flows}
    assert sorted(by_protocol) == [1, 6, 17], flows

    udp = by_protocol[17]
    assert (udp["src_port"], udp["dst_port"]) == (udp_source, port)
    assert udp["bidirectional_packets"] == 5
    assert udp["bidirectional_bytes"] == 5 * (ETHERNET + IPV4 + UDP + 100)
    assert udp["dst2src_packets"] == 0
    assert udp["expiration_id"] == 0

    tcp = by_protocol[6]
    assert (tcp["src_port"], tcp["dst_port"]) == (tcp_source, port)
    assert tcp["bidirectional_syn_packets"] == 2
    assert tcp["bidirectional_fin_packets"] == 2
    assert tcp["src2dst_packets"] >= 4
    assert tcp["dst2src_packets"] >= 3
    if tcp_timestamps_enabled():
        # SYN and SYN-ACK carry 20 bytes of options, every other segment the 12-byte timestamp.
        packets = tcp["bidirectional_packets"]
        expected = 2 * (ETHERNET + IPV4 + 40) + (packets - 2) * (ETHERNET + IPV4 + 32) + 2000
        assert tcp["bidirectional_bytes"] == expected

    icmp = by_protocol[1]
    assert (icmp["src_ip"], icmp["dst_ip"]) == ("127.0.0.1", "127.0.0.1")
    assert icmp["bidirectional_packets"] == 6
    assert icmp["bidirectional_bytes"] == 6 * (ETHERNET + IPV4 + ICMP_ECHO + 56)

    stats = json.loads(next(line for line in child.lines if line.startswith("stats "))[6:])
    assert stats["packets_processed"] == 5 + 6 + tcp["bidirectional_packets"]
    assert stats["flows_expired"] == 3
    assert stats["packets_dropped_by_kernel"] == 0


def test_quiet_interface_expires_idle_flow(port):
    child = capture_child("lo", f"udp port {port}", idle_timeout=1, count=1)
    child.wait_for("ready")
    with udp_sink(port):
        sent = time.time()
        send_udp("127.0.0.1", port, 1, 10)
    flows = child.flows(1, timeout=6)
    child.finish()

    assert len(flows) == 1
    delay = flows[0]["received"] - sent
    assert 1.0 <= delay <= 2.5, f"idle flow arrived {delay:.2f} s after its packet"


def test_performance_report_lines(port):
    child = capture_child("lo", f"udp port {port}", idle_timeout=1, count=1,
                          extra=", performance_report=1")
    child.wait_for("ready")
    with udp_sink(port):
        send_udp("127.0.0.1", port, 2, 10)
    child.flows(1, timeout=6)
    child.finish()

    reports = [json.loads(line) for line in child.lines if line.startswith('{"flows_expired"')]
    assert reports, child.lines
    assert list(reports[0])[:5] == [
        "flows_expired",
        "packets_processed",
        "packets_ignored",
        "packets_dropped_filtered_by_kernel",
        "packets_dropped_by_interface",
    ]
    assert reports[-1]["meters_packets_processing_balance"] == [reports[-1]["packets_processed"]]


# ---------------------------------------------------------------------------
# Stopping: Ctrl-C, max_nflows, early exit
# ---------------------------------------------------------------------------

COUNTING_PLUGIN = """
class Counting(NFPlugin):
    cleanups = 0
    def on_init(self, packet, flow):
        flow.udps.seen = 1
    def cleanup(self):
        Counting.cleanups += 1
"""


@pytest.mark.parametrize("with_plugin", [False, True], ids=["no_plugin", "plugin"])
def test_ctrl_c_returns_cached_flows(port, with_plugin):
    udps = ", udps=Counting()" if with_plugin else ""
    child = Child(
        COUNTING_PLUGIN
        + textwrap.dedent(f"""
        streamer = NFStreamer(source="lo", bpf_filter="udp port {port}", idle_timeout=60,
                              n_dissections=0{udps})
        before = open_descriptors()
        iterator = iter(streamer)
        print("ready", flush=True)
        try:
            for flow in iterator:
                emit(flow)
        except KeyboardInterrupt:
            print("interrupted", flush=True)
        print("descriptors", before, open_descriptors(), flush=True)
        print("cleanups", Counting.cleanups, flush=True)
        """)
    )
    child.wait_for("ready")
    with udp_sink(port):
        sources = {send_udp("127.0.0.1", port, 2, 20), send_udp("127.0.0.1", port, 3, 20)}
    time.sleep(0.6)
    child.process.send_signal(signal.SIGINT)
    code, lines, err = child.finish(timeout=10)

    assert code == 0, err
    assert "Traceback" not in err
    flows = [json.loads(line) for line in child.lines if line.startswith("{")]
    assert {flow["src_port"] for flow in flows} == sources
    assert sorted(flow["bidirectional_packets"] for flow in flows) == [2, 3]
    assert all(flow["expiration_id"] == 0 for flow in flows)
    assert "interrupted" in child.lines
    descriptors = next(line for line in child.lines if line.startswith("descriptors")).split()
    assert descriptors[1] == descriptors[2], "the capture handle stayed open"
    if with_plugin:
        assert "cleanups 1" in child.lines


@pytest.mark.parametrize("stop", ["max_nflows", "break"])
def test_early_stop_closes_handle(port, stop):
    limit = ", max_nflows=1" if stop == "max_nflows" else ""
    child = Child(
        COUNTING_PLUGIN
        + textwrap.dedent(f"""
        streamer = NFStreamer(source="lo", bpf_filter="udp port {port}", idle_timeout=1,
                              n_dissections=0, udps=Counting(){limit})
        before = open_descriptors()
        print("ready", flush=True)
        for flow in streamer:
            emit(flow)
            if {stop == "break"}:
                break
        print("descriptors", before, open_descriptors(), flush=True)
        print("cleanups", Counting.cleanups, flush=True)
        """)
    )
    child.wait_for("ready")
    # Give the iterator time to open the interface after printing "ready".
    time.sleep(0.5)
    with udp_sink(port):
        send_udp("127.0.0.1", port, 1, 20)
        send_udp("127.0.0.1", port, 1, 20)
    code, lines, err = child.finish(timeout=10)

    assert code == 0, err
    flows = [line for line in child.lines if line.startswith("{")]
    assert len(flows) == 1
    descriptors = next(line for line in child.lines if line.startswith("descriptors")).split()
    assert descriptors[1] == descriptors[2], "the capture handle stayed open"
    assert "cleanups 1" in child.lines


def test_plugin_exception_stops_capture(port):
    child = Child(
        f"""
        class Failing(NFPlugin):
            cleanups = 0
            def on_init(self, packet, flow):
                raise RuntimeError("plugin failed on purpose")
            def cleanup(self):
                Failing.cleanups += 1
        streamer = NFStreamer(source="lo", bpf_filter="udp port {port}", n_dissections=0,
                              udps=Failing())
        before = open_descriptors()
        print("ready", flush=True)
        try:
            for flow in streamer:
                pass
        except RuntimeError as error:
            print("raised", error, flush=True)
        print("descriptors", before, open_descriptors(), flush=True)
        print("cleanups", Failing.cleanups, flush=True)
        """
    )
    child.wait_for("ready")
    time.sleep(0.5)
    with udp_sink(port):
        send_udp("127.0.0.1", port, 1, 20)
    code, lines, err = child.finish(timeout=10)

    assert code == 0, err
    assert "raised plugin failed on purpose" in child.lines
    descriptors = next(line for line in child.lines if line.startswith("descriptors")).split()
    assert descriptors[1] == descriptors[2]
    assert "cleanups 1" in child.lines


# ---------------------------------------------------------------------------
# Errors
# ---------------------------------------------------------------------------


def test_missing_interface_raises():
    with pytest.raises(ValueError, match="nfs-missing0.*network interface"):
        NFStreamer(source="nfs-missing0")


def test_invalid_filter_for_interface_raises():
    with pytest.raises(ValueError, match="invalid BPF filter"):
        NFStreamer(source="lo", bpf_filter="not a filter (")


def test_unprivileged_capture_raises():
    child = Child(
        """
        os.setgid(65534)
        os.setuid(65534)
        streamer = NFStreamer(source="lo")
        try:
            iter(streamer)
        except ValueError as error:
            print("error", type(error).__name__, error, flush=True)
        """
    )
    code, lines, err = child.finish(timeout=10)

    assert code == 0, err
    message = next(line for line in child.lines if line.startswith("error"))
    assert "CaptureError" in message
    assert "no permission to capture on network interface 'lo'" in message


def test_plugins_with_several_live_meters_raise():
    streamer = NFStreamer(source="lo", n_meters=2, udps=NFPlugin())
    with pytest.raises(ValueError, match="n_meters to 1"):
        iter(streamer)


# ---------------------------------------------------------------------------
# veth pair in two network namespaces
# ---------------------------------------------------------------------------


def run_ip(*arguments):
    subprocess.run(["ip", *arguments], check=True, capture_output=True, timeout=10)


@pytest.fixture
def veth_pair():
    """Two namespaces joined by a veth pair; yields (capture ns, peer ns, addresses)."""
    suffix = f"{os.getpid()}-{random.randint(0, 9999)}"
    capture_ns, peer_ns = f"nfs-test-a-{suffix}", f"nfs-test-b-{suffix}"
    octet = random.randint(1, 250)
    capture_address, peer_address = f"10.200.{octet}.1", f"10.200.{octet}.2"
    created = []
    try:
        for namespace in (capture_ns, peer_ns):
            run_ip("netns", "add", namespace)
            created.append(namespace)
        run_ip("-n", capture_ns, "link", "add", "nfsa", "type", "veth", "peer", "name", "nfsb",
               "netns", peer_ns)
        run_ip("-n", capture_ns, "addr", "add", f"{capture_address}/24", "dev", "nfsa")
        run_ip("-n", peer_ns, "addr", "add", f"{peer_address}/24", "dev", "nfsb")
        for namespace, device in ((capture_ns, "nfsa"), (peer_ns, "nfsb")):
            run_ip("-n", namespace, "link", "set", device, "up")
            run_ip("-n", namespace, "link", "set", "lo", "up")
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as error:
        for namespace in created:
            subprocess.run(["ip", "netns", "del", namespace], capture_output=True, timeout=10)
        pytest.skip(f"cannot create network namespaces: {error}")
    yield capture_ns, peer_ns, capture_address, peer_address
    for namespace in created:
        subprocess.run(["ip", "netns", "del", namespace], capture_output=True, timeout=10)


def in_namespace(namespace, code):
    return subprocess.run(
        ["ip", "netns", "exec", namespace, sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=20,
        cwd=ROOT,
        env=child_environment(),
    )


@needs_ip
@pytest.mark.parametrize("n_meters", [1, 2])
def test_veth_flows_whole_per_meter(veth_pair, port, n_meters):
    capture_ns, peer_ns, capture_address, peer_address = veth_pair
    child = Child(
        f"""
        import socket
        sink = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sink.bind(("0.0.0.0", {port}))
        streamer = NFStreamer(source="nfsa", bpf_filter="udp port {port}", idle_timeout=1,
                              n_dissections=0, n_meters={n_meters})
        iterator = iter(streamer)
        print("ready", flush=True)
        started = time.monotonic()
        seen = 0
        for flow in iterator:
            emit(flow)
            seen += 1
            if seen >= 8 or time.monotonic() - started > 15:
                break
        print("stats " + json.dumps(streamer.stats()), flush=True)
        """,
        prefix=("ip", "netns", "exec", capture_ns),
    )
    child.wait_for("ready")
    sender = in_namespace(
        peer_ns,
        f"""
        import socket
        for index in range(8):
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sender:
                sender.bind(("{peer_address}", {port} + 1 + index))
                for _ in range(index + 1):
                    sender.sendto(b"v" * 64, ("{capture_address}", {port}))
        """,
    )
    assert sender.returncode == 0, sender.stderr
    flows = child.flows(8, timeout=10)
    code, lines, err = child.finish()

    assert code == 0, err
    assert len(flows) == 8, child.lines
    for flow in flows:
        index = flow["src_port"] - port - 1
        assert (flow["src_ip"], flow["dst_ip"]) == (peer_address, capture_address)
        assert flow["bidirectional_packets"] == index + 1
        assert flow["bidirectional_bytes"] == (index + 1) * (ETHERNET + IPV4 + UDP + 64)
    stats = json.loads(next(line for line in child.lines if line.startswith("stats "))[6:])
    assert stats["packets_processed"] == sum(range(1, 9))


@needs_ip
def test_interface_down_raises(veth_pair):
    capture_ns = veth_pair[0]
    run_ip("-n", capture_ns, "link", "set", "nfsa", "down")
    result = in_namespace(
        capture_ns,
        """
        from nfstream import NFStreamer
        try:
            iter(NFStreamer(source="nfsa"))
        except ValueError as error:
            print(error)
        """,
    )

    assert "network interface 'nfsa' is down" in result.stdout, result.stderr
