"""Tests of nfstream/_export.py (to_csv, to_pandas, anonymizer) with a fake streamer.

The module is loaded from its file path, because `import nfstream._export` would first run
nfstream/__init__.py, which needs the compiled C extension.
"""

import enum
import hashlib
import importlib.util
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

EXPORT_PATH = Path(__file__).resolve().parents[1] / "nfstream" / "_export.py"
_spec = importlib.util.spec_from_file_location("nfstream_export_under_test", EXPORT_PATH)
export = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(export)

CORE_COLUMNS = [
    "id",
    "src_ip",
    "src_port",
    "bidirectional_packets",
    "bidirectional_mean_ps",
    "application_name",
    "splt_ps",
]


class FakeFlow:
    def __init__(self, **fields):
        self._fields = fields

    def keys(self):
        return list(self._fields)

    def values(self):
        return list(self._fields.values())


class FakeStreamer:
    def __init__(self, flows, source="capture.pcap", core_columns=CORE_COLUMNS):
        self._flows = flows
        self.source = source
        self._core = core_columns
        self.iterations = 0

    def __iter__(self):
        self.iterations += 1
        return iter(self._flows)

    def _core_columns(self):
        return list(self._core)


def make_flow(flow_id, src_ip="10.0.0.1", application_name="TLS", **extra):
    return FakeFlow(
        id=flow_id,
        src_ip=src_ip,
        src_port=40000 + flow_id,
        bidirectional_packets=flow_id + 1,
        bidirectional_mean_ps=60.5 + flow_id,
        application_name=application_name,
        splt_ps=[60, 1500, -1],
        **extra,
    )


def make_streamer(count, **kwargs):
    return FakeStreamer([make_flow(index) for index in range(count)], **kwargs)


def read_lines(path):
    return Path(path).read_text(encoding="utf-8").split("\n")


def expected_digest(value, key):
    return hashlib.blake2b(str(value).encode(), digest_size=64, key=key).hexdigest()


class MsgType(enum.Enum):
    REQUEST = 3


# to_csv: format


def test_csv_header_and_row_format(tmp_path):
    flow = FakeFlow(
        id=0, name='say "hi"', count=3, mean=310.57142857142856, ok=True, missing=None, empty=""
    )
    path = tmp_path / "out.csv"

    written = export.to_csv(FakeStreamer([flow]), path=path)

    assert written == 1
    lines = read_lines(path)
    assert lines[0] == "id,name,count,mean,ok,missing,empty"
    assert lines[1] == '0,"say ""hi""",3,310.57142857142856,True,,""'
    assert lines[2] == ""
    assert len(lines) == 3


def test_csv_lists_as_json(tmp_path):
    flow = FakeFlow(splt=[0, 1, 0, -1], pair=(1, "a"), table={"k": [1, 2]})
    path = tmp_path / "out.csv"

    export.to_csv(FakeStreamer([flow]), path=path)

    row = read_lines(path)[1]
    assert row == '"[0, 1, 0, -1]","[1, ""a""]","{""k"": [1, 2]}"'


def test_csv_enum_and_numpy_values(tmp_path):
    flow = FakeFlow(kind=MsgType.REQUEST, small=np.int64(7), ratio=np.float64(1.5))
    path = tmp_path / "out.csv"

    export.to_csv(FakeStreamer([flow]), path=path)

    assert read_lines(path)[1] == '"MsgType.REQUEST",7,1.5'


def test_csv_round_trip_through_pandas(tmp_path):
    awkward = ["comma, inside", 'quote " inside', "line\nbreak", 'both ",\n\r end']
    flows = [
        FakeFlow(id=index, text=text, size=index * 1000, mean=index / 3)
        for index, text in enumerate(awkward)
    ]
    path = tmp_path / "out.csv"

    export.to_csv(FakeStreamer(flows), path=path)
    frame = pd.read_csv(path)

    assert list(frame.columns) == ["id", "text", "size", "mean"]
    assert list(frame["text"]) == awkward
    assert list(frame["size"]) == [0, 1000, 2000, 3000]
    assert list(frame["mean"]) == [index / 3 for index in range(4)]
    assert frame["id"].dtype == np.int64


def test_csv_json_lists_round_trip(tmp_path):
    path = tmp_path / "out.csv"

    export.to_csv(make_streamer(2), path=path)
    frame = pd.read_csv(path)

    assert [json.loads(cell) for cell in frame["splt_ps"]] == [[60, 1500, -1]] * 2


def test_csv_default_path_from_source(tmp_path):
    source = tmp_path / "trace.pcap"

    export.to_csv(make_streamer(1, source=str(source)))
    export.to_csv(make_streamer(1, source=[str(tmp_path / "first.pcap"), "second.pcap"]))
    export.to_csv(make_streamer(1, source=tmp_path / "pathlike.pcap"))

    assert (tmp_path / "trace.pcap.csv").is_file()
    assert (tmp_path / "first.pcap.csv").is_file()
    assert (tmp_path / "pathlike.pcap.csv").is_file()


def test_csv_no_flow_writes_no_file(tmp_path):
    path = tmp_path / "out.csv"

    written = export.to_csv(FakeStreamer([]), path=path, flows_per_file=2)

    assert written == 0
    assert list(tmp_path.iterdir()) == []


def test_csv_missing_column_is_empty(tmp_path):
    flows = [FakeFlow(id=0, extra="a"), FakeFlow(id=1)]
    path = tmp_path / "out.csv"

    export.to_csv(FakeStreamer(flows), path=path)

    assert read_lines(path)[:3] == ["id,extra", '0,"a"', "1,"]


def test_csv_extra_column_warns(tmp_path):
    flows = [FakeFlow(id=0), FakeFlow(id=1, late="x"), FakeFlow(id=2, late="y")]
    path = tmp_path / "out.csv"

    with pytest.warns(RuntimeWarning, match="late") as caught:
        export.to_csv(FakeStreamer(flows), path=path)

    assert len(caught) == 1
    assert read_lines(path)[:4] == ["id", "0", "1", "2"]


# to_csv: chunking and rotation


@pytest.mark.parametrize(
    ("base", "chunk", "expected"),
    [
        ("out.csv", 0, "out.0.csv"),
        ("csv_dir/flows.csv", 12, "csv_dir/flows.12.csv"),
        ("flows", 1, "flows.1.csv"),
        ("flows.txt", 2, "flows.txt.2.csv"),
        ("trace.pcap.csv", 3, "trace.pcap.3.csv"),
    ],
)
def test_chunk_path_names(base, chunk, expected):
    assert export.chunk_path(base, chunk) == expected


def test_csv_flows_per_file(tmp_path):
    path = tmp_path / "out.csv"

    written = export.to_csv(make_streamer(5), path=path, flows_per_file=2)

    assert written == 5
    assert sorted(child.name for child in tmp_path.iterdir()) == [
        "out.0.csv",
        "out.1.csv",
        "out.2.csv",
    ]
    ids = [list(pd.read_csv(tmp_path / f"out.{index}.csv")["id"]) for index in range(3)]
    assert ids == [[0, 1], [2, 3], [4]]


def test_csv_rotate_files(tmp_path):
    path = tmp_path / "out.csv"

    written = export.to_csv(make_streamer(5), path=path, flows_per_file=1, rotate_files=2)

    assert written == 5
    assert sorted(child.name for child in tmp_path.iterdir()) == ["out.0.csv", "out.1.csv"]
    assert list(pd.read_csv(tmp_path / "out.0.csv")["id"]) == [4]
    assert list(pd.read_csv(tmp_path / "out.1.csv")["id"]) == [3]


def test_csv_rotate_without_chunks_is_ignored(tmp_path):
    path = tmp_path / "out.csv"

    export.to_csv(make_streamer(3), path=path, rotate_files=2)

    assert [child.name for child in tmp_path.iterdir()] == ["out.csv"]
    assert len(pd.read_csv(path)) == 3


@pytest.mark.parametrize("name", ["flows_per_file", "rotate_files"])
@pytest.mark.parametrize("value", [-1, 1.5, "2", None])
def test_csv_invalid_file_count(tmp_path, name, value):
    streamer = make_streamer(1)

    with pytest.raises(ValueError, match=f"{name} parameter") as raised:
        export.to_csv(streamer, path=tmp_path / "out.csv", **{name: value})

    assert repr(value) in str(raised.value)
    assert streamer.iterations == 0


def test_csv_bool_file_count_accepted(tmp_path):
    written = export.to_csv(make_streamer(2), path=tmp_path / "out.csv", flows_per_file=True)

    assert written == 2
    assert sorted(child.name for child in tmp_path.iterdir()) == ["out.0.csv", "out.1.csv"]


# Anonymizer


def test_csv_anonymize_with_key_is_stable(tmp_path):
    key = b"k" * 64
    first = tmp_path / "first.csv"
    second = tmp_path / "second.csv"

    export.to_csv(make_streamer(2), path=first, columns_to_anonymize=["src_ip"], anonymize_key=key)
    export.to_csv(make_streamer(2), path=second, columns_to_anonymize=["src_ip"], anonymize_key=key)

    frame = pd.read_csv(first)
    assert list(frame["src_ip"]) == [expected_digest("10.0.0.1", key)] * 2
    assert first.read_text() == second.read_text()


def test_anonymize_str_key_matches_utf8_bytes():
    anonymize = export.Anonymizer("clé")

    assert anonymize(80) == expected_digest(80, "clé".encode())


def test_csv_anonymize_without_key_is_random(tmp_path):
    first = tmp_path / "first.csv"
    second = tmp_path / "second.csv"

    export.to_csv(make_streamer(2), path=first, columns_to_anonymize=["src_ip"])
    export.to_csv(make_streamer(2), path=second, columns_to_anonymize=["src_ip"])

    first_ips = list(pd.read_csv(first)["src_ip"])
    second_ips = list(pd.read_csv(second)["src_ip"])
    assert first_ips[0] == first_ips[1]
    assert first_ips[0] != second_ips[0]
    assert len(first_ips[0]) == 128


def test_anonymize_keeps_none():
    flows = [make_flow(0, application_name=None), make_flow(1)]

    frame = export.to_pandas(
        FakeStreamer(flows), columns_to_anonymize=["application_name"], anonymize_key=b"key"
    )

    assert frame["application_name"][0] is None
    assert frame["application_name"][1] == expected_digest("TLS", b"key")


def test_anonymize_unknown_column_before_iterating(tmp_path):
    streamer = make_streamer(2)

    with pytest.raises(ValueError, match="'src_addr'") as raised:
        export.to_csv(streamer, path=tmp_path / "out.csv", columns_to_anonymize=["src_addr"])

    assert "src_ip" in str(raised.value)
    assert streamer.iterations == 0
    assert list(tmp_path.iterdir()) == []


def test_anonymize_unknown_plugin_column(tmp_path):
    streamer = FakeStreamer([make_flow(0, **{"udps.label": "a"})])

    with pytest.raises(ValueError, match="'udps.missing'"):
        export.to_csv(streamer, path=tmp_path / "out.csv", columns_to_anonymize=["udps.missing"])
    with pytest.raises(ValueError, match="'udps.missing'"):
        export.to_pandas(streamer, columns_to_anonymize=["udps.missing"])
    assert list(tmp_path.iterdir()) == []


def test_anonymize_plugin_column():
    streamer = FakeStreamer([make_flow(0, **{"udps.label": "a"})])

    frame = export.to_pandas(streamer, columns_to_anonymize="udps.label", anonymize_key="s")

    assert frame["udps.label"][0] == expected_digest("a", b"s")


@pytest.mark.parametrize(
    ("key", "error"),
    [
        (b"", ValueError),
        (b"x" * 65, ValueError),
        (12345, TypeError),
    ],
)
def test_anonymize_invalid_key(key, error):
    with pytest.raises(error, match="anonymize_key"):
        export.to_pandas(make_streamer(1), anonymize_key=key)


# to_pandas


def test_pandas_columns_and_dtypes():
    frame = export.to_pandas(make_streamer(3))

    assert list(frame.columns) == CORE_COLUMNS
    assert len(frame) == 3
    assert frame["id"].dtype == np.int64
    assert frame["src_port"].dtype == np.int64
    assert frame["bidirectional_packets"].dtype == np.int64
    assert frame["bidirectional_mean_ps"].dtype == np.float64
    assert frame["src_ip"].dtype == object
    assert frame["application_name"].dtype == object
    assert frame["splt_ps"].dtype == object
    assert frame["splt_ps"][2] == [60, 1500, -1]
    assert type(frame["splt_ps"][2]) is list


def test_pandas_iterates_once():
    streamer = make_streamer(3)

    export.to_pandas(streamer)

    assert streamer.iterations == 1


def test_pandas_late_column_appended():
    flows = [make_flow(0), make_flow(1, **{"udps.late": 7}), make_flow(2)]

    frame = export.to_pandas(FakeStreamer(flows))

    assert list(frame.columns) == [*CORE_COLUMNS, "udps.late"]
    assert frame["udps.late"].isna().tolist() == [True, False, True]
    assert frame["udps.late"][1] == 7


def test_pandas_plugin_values_keep_python_types():
    label = object()
    flows = [
        make_flow(
            index,
            **{
                "udps.kind": MsgType.REQUEST,
                "udps.label": label,
                "udps.flag": index == 1,
                "udps.names": ["a", "b"],
            },
        )
        for index in range(2)
    ]

    frame = export.to_pandas(FakeStreamer(flows))

    assert frame["udps.kind"][0] is MsgType.REQUEST
    assert frame["udps.label"][1] is label
    assert frame["udps.flag"].dtype == bool
    assert frame["udps.names"][0] == ["a", "b"]


def test_pandas_large_unsigned_integers():
    flows = [FakeFlow(value=2**64 - 1), FakeFlow(value=0)]

    frame = export.to_pandas(FakeStreamer(flows, core_columns=["value"]))

    assert frame["value"].dtype == np.uint64
    assert int(frame["value"][0]) == 2**64 - 1


def test_pandas_empty_capture():
    frame = export.to_pandas(FakeStreamer([]))

    assert isinstance(frame, pd.DataFrame)
    assert frame.empty
    assert list(frame.columns) == CORE_COLUMNS
    assert frame["id"].dtype == np.int64
    assert frame["bidirectional_mean_ps"].dtype == np.float64
    assert frame["src_ip"].dtype == object
    assert frame["splt_ps"].dtype == object


def test_pandas_matches_csv_values(tmp_path):
    streamer = make_streamer(4)
    path = tmp_path / "out.csv"

    export.to_csv(streamer, path=path)
    from_csv = pd.read_csv(path).drop(columns=["splt_ps"])
    direct = export.to_pandas(streamer).drop(columns=["splt_ps"])

    # pandas 3 reads strings from CSV as its "str" dtype, to_pandas keeps them as object.
    pd.testing.assert_frame_equal(from_csv, direct, check_dtype=False)
    assert from_csv["id"].dtype == direct["id"].dtype
