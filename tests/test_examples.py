"""The examples shipped in examples/ run and do what they claim."""
import importlib.util
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def load_example(name):
    spec = importlib.util.spec_from_file_location(name, EXAMPLES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_early_classification_predicts_every_flow(tmp_path):
    pytest.importorskip("sklearn")
    example = load_example("early_classification")
    training, testing = tmp_path / "train.pcap", tmp_path / "test.pcap"
    example.write_capture(training, flow_count=200, seed=1)
    example.write_capture(testing, flow_count=80, seed=2)

    model = example.train(training)
    correct, total = example.evaluate(testing, model)

    assert sorted(model.classes_) == ["DNS", "HTTP", "NTP", "TLS"]
    assert total == 80
    assert correct >= 76


def test_early_classifier_ends_flows_after_third_payload(tmp_path):
    pytest.importorskip("sklearn")
    example = load_example("early_classification")
    capture = tmp_path / "flows.pcap"
    example.write_capture(capture, flow_count=40, seed=3)
    model = example.train(capture)

    flows = list(
        example.NFStreamer(
            source=str(capture), udps=example.EarlyClassifier(model), n_dissections=0
        )
    )

    tcp = [flow for flow in flows if flow.protocol == 6]
    udp = [flow for flow in flows if flow.protocol == 17]
    assert tcp and udp
    # TCP: SYN, SYN-ACK, ACK, then three payload packets; the flow ends on the sixth.
    assert all(flow.bidirectional_packets == 6 for flow in tcp)
    assert all(flow.expiration_id == -1 for flow in tcp)
    # UDP: every packet carries a payload, so three packets.
    assert all(flow.bidirectional_packets == 3 for flow in udp)
    assert all(flow.expiration_id == -1 for flow in udp)
    assert all(flow.udps.predicted_application in model.classes_ for flow in flows)
