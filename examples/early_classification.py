"""Early flow classification: predict a flow's application from its first packets.

The model uses only the sizes of a flow's first three packets that carry a
payload, so it can label a flow long before the flow ends. The example:

1. writes a training capture and a test capture of DNS, NTP, HTTP and TLS
   conversations with the project's capture generator (tests/pcapgen);
2. collects the three sizes of every training flow with a plugin, labels the
   flows with nDPI's application_name, and trains a scikit-learn decision tree;
3. replays the test capture with a plugin that applies the model as soon as
   the third payload packet arrives, stores the prediction in
   flow.udps.predicted_application and ends the flow at once by setting
   flow.expiration_id = -1;
4. prints the accuracy of the early predictions against nDPI's labels.

Run from the repository root:  python examples/early_classification.py
scikit-learn is required (pip install scikit-learn).
"""

import random
import sys
import tempfile
from pathlib import Path

from sklearn.tree import DecisionTreeClassifier

from nfstream import NFPlugin, NFStreamer

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from pcapgen import (  # noqa: E402  (the generator lives beside the tests)
    Endpoint,
    Step,
    conversation,
    dns_query,
    dns_response,
    http_get,
    http_response,
    tcp_handshake,
    tls_client_hello,
    tls_server_hello,
    write_pcap,
)

FEATURE_COUNT = 3
FEATURES = [f"udps.size_{index}" for index in range(FEATURE_COUNT)]
START_NS = 1_700_000_000_000_000_000


class PayloadSizes(NFPlugin):
    """Record the sizes of a flow's first payload-carrying packets as udps.size_<n>."""

    def on_init(self, packet, flow):
        flow.udps.sizes_seen = 0
        self.on_update(packet, flow)

    def on_update(self, packet, flow):
        if packet.payload_size == 0 or flow.udps.sizes_seen >= FEATURE_COUNT:
            return
        setattr(flow.udps, f"size_{flow.udps.sizes_seen}", packet.ip_size)
        flow.udps.sizes_seen += 1

    def on_expire(self, flow):
        # Flows shorter than three payload packets get -1 for the missing sizes.
        for index in range(flow.udps.sizes_seen, FEATURE_COUNT):
            setattr(flow.udps, f"size_{index}", -1)
        del flow.udps.sizes_seen


class EarlyClassifier(PayloadSizes):
    """Predict the application after the third payload packet, then end the flow."""

    def __init__(self, model):
        super().__init__()
        self.model = model

    def on_update(self, packet, flow):
        super().on_update(packet, flow)
        if flow.udps.sizes_seen == FEATURE_COUNT and flow.expiration_id != -1:
            sizes = [[getattr(flow.udps, f"size_{index}") for index in range(FEATURE_COUNT)]]
            flow.udps.predicted_application = self.model.predict(sizes)[0]
            flow.expiration_id = -1

    def on_expire(self, flow):
        super().on_expire(flow)
        if not hasattr(flow.udps, "predicted_application"):
            sizes = [[getattr(flow.udps, f"size_{index}") for index in range(FEATURE_COUNT)]]
            flow.udps.predicted_application = self.model.predict(sizes)[0]


def dns_exchange(rng, name):
    return [Step(">", dns_query(name, ident=rng.getrandbits(16))),
            Step("<", dns_response(name, ["203.0.113.%d" % rng.randint(1, 254)])),
            Step(">", dns_query(name, ident=rng.getrandbits(16), qtype=28))]


def ntp_exchange(rng, _name):
    request = bytes([0x23]) + bytes(47)
    reply = bytes([0x24, 2]) + bytes(46)
    return [Step(">", request), Step("<", reply), Step(">", request)]


def http_exchange(rng, name):
    body = b"x" * rng.randint(200, 1200)
    return tcp_handshake() + [Step(">", http_get(name, "/%d" % rng.randint(0, 99))),
                              Step("<", http_response(body)),
                              Step(">", http_get(name, "/favicon.ico"))]


def tls_exchange(rng, name):
    return tcp_handshake() + [Step(">", tls_client_hello(name, rng.randbytes(32))),
                              Step("<", tls_server_hello(rng.randbytes(32))),
                              Step(">", b"\x17\x03\x03\x00\x40" + rng.randbytes(64))]


APPLICATIONS = [
    ("udp", 53, dns_exchange),
    ("udp", 123, ntp_exchange),
    ("tcp", 80, http_exchange),
    ("tcp", 443, tls_exchange),
]


def write_capture(path, flow_count, seed):
    """Write `flow_count` conversations, one every 10 ms, from 192.0.2.0/24 clients."""
    rng = random.Random(seed)
    records = []
    for index in range(flow_count):
        protocol, port, exchange = rng.choice(APPLICATIONS)
        client = Endpoint("192.0.2.%d" % (index % 250 + 1), 20000 + index)
        server = Endpoint("198.51.100.%d" % rng.randint(1, 254), port, mac="02:00:00:00:00:02")
        name = "host%d.example.com" % rng.randint(0, 999)
        records += conversation(client, server, exchange(rng, name), protocol=protocol,
                                start_ns=START_NS + index * 10_000_000)
    records.sort(key=lambda record: record.time_ns)
    write_pcap(path, records)


def train(capture):
    """Train a decision tree on the payload sizes of the capture's flows, labelled by nDPI."""
    flows = NFStreamer(source=str(capture), udps=PayloadSizes()).to_pandas()
    model = DecisionTreeClassifier(random_state=0)
    model.fit(flows[FEATURES].values, flows["application_name"].values)
    return model


def evaluate(capture, model):
    """Return (correct, total) for the early predictions on the capture's flows."""
    truth = {
        (flow.src_ip, flow.src_port): flow.application_name
        for flow in NFStreamer(source=str(capture))
    }
    correct = total = 0
    for flow in NFStreamer(source=str(capture), udps=EarlyClassifier(model), n_dissections=0):
        total += 1
        correct += flow.udps.predicted_application == truth[(flow.src_ip, flow.src_port)]
    return correct, total


def main():
    with tempfile.TemporaryDirectory() as folder:
        training, testing = Path(folder) / "train.pcap", Path(folder) / "test.pcap"
        write_capture(training, flow_count=400, seed=1)
        write_capture(testing, flow_count=200, seed=2)
        model = train(training)
        correct, total = evaluate(testing, model)
    print(f"classes: {', '.join(model.classes_)}")
    print(f"early predictions: {correct}/{total} correct ({correct / total:.1%})")
    return correct, total


if __name__ == "__main__":
    main()
