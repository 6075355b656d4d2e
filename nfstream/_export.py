"""Export the flows of an NFStreamer to a pandas DataFrame or to CSV files.

NFStreamer.to_pandas() and NFStreamer.to_csv() call these functions with the streamer as the
first argument. A streamer here is any object with three things. Iterating it yields flows,
each with keys() and values() in column order. Its ``source`` attribute is a path, a list of
paths or an interface name. Its ``_core_columns()`` method returns the built-in column names
for its configuration.

The module imports nothing from the nfstream package, so the tests load it from its file path
without building the C extension.

Differences from nfstream 6.x, on purpose:
- CSV follows RFC 4180: a double quote inside a field is written as two double quotes, and list,
  tuple and dict values are written as JSON.
- to_pandas() builds the columns in memory instead of reading back a temporary CSV, keeps lists
  and plugin objects as Python objects, and returns an empty DataFrame when there is no flow.
- An unknown column in columns_to_anonymize raises ValueError instead of being skipped.
"""

import csv
import enum
import hashlib
import json
import numbers
import os
import secrets
import warnings

import numpy as np
import pandas as pd

ANONYMIZE_KEY_MAX_BYTES = 64  # maximum key length of BLAKE2b
PLUGIN_COLUMN_PREFIX = "udps."

# Built-in columns that hold strings or lists. Only an empty capture needs this table, because
# otherwise the values themselves give the dtype.
STRING_COLUMNS = frozenset(
    {
        "src_ip",
        "src_mac",
        "src_oui",
        "dst_ip",
        "dst_mac",
        "dst_oui",
        "application_name",
        "application_category_name",
        "requested_server_name",
        "client_fingerprint",
        "server_fingerprint",
        "user_agent",
        "content_type",
        "system_process_name",
    }
)
LIST_COLUMNS = frozenset({"splt_direction", "splt_ps", "splt_piat_ms"})


class Anonymizer:
    """Keyed BLAKE2b pseudonyms for column values.

    Without a key, each instance draws a random 64-byte key, so pseudonyms differ between calls.
    A caller-supplied key (bytes, or str encoded as UTF-8, 1 to 64 bytes) gives the same
    pseudonym for the same value across runs and files.
    """

    def __init__(self, key=None):
        if key is None:
            key = secrets.token_bytes(ANONYMIZE_KEY_MAX_BYTES)
        elif isinstance(key, str):
            key = key.encode("utf-8")
        elif isinstance(key, (bytes, bytearray, memoryview)):
            key = bytes(key)
        else:
            raise TypeError(f"anonymize_key must be bytes or str, not {type(key).__name__}")
        if not 1 <= len(key) <= ANONYMIZE_KEY_MAX_BYTES:
            raise ValueError(
                f"anonymize_key must be 1 to {ANONYMIZE_KEY_MAX_BYTES} bytes long, "
                f"got {len(key)} bytes"
            )
        self._key = key

    def __call__(self, value):
        """Return the 128-character hex digest of str(value)."""
        digest = hashlib.blake2b(str(value).encode("utf-8"), digest_size=64, key=self._key)
        return digest.hexdigest()


def to_pandas(streamer, columns_to_anonymize=(), anonymize_key=None):
    """Iterate the streamer once and return its flows as a pandas DataFrame.

    Columns follow the first flow's keys; a key that appears only in a later flow is appended,
    with None for the flows that lack it. Integer columns are int64, means and standard
    deviations float64, strings object, and lists stay Python lists in object columns. A column
    whose values are not all plain int, float, bool or str (plugin objects, enums) keeps the
    Python objects. Without flows the result is an empty DataFrame with the built-in columns.

    Raises ValueError for an unknown column in columns_to_anonymize, before iterating when the
    name is neither a built-in column nor a plugin column.
    """
    names = _column_name_tuple(columns_to_anonymize)
    anonymize = Anonymizer(anonymize_key)
    core_columns = list(streamer._core_columns())
    _check_names_before_iterating(names, core_columns)

    packed_run = getattr(streamer, "_columns", None)
    packed = packed_run() if packed_run is not None else None
    if packed is not None:
        return _packed_frame(packed, core_columns, names, anonymize)

    order, columns, count = _collect_columns(streamer)
    if count == 0:
        return _empty_frame(core_columns)

    _check_names(names, order)
    for name in names:
        columns[name] = [None if value is None else anonymize(value) for value in columns[name]]

    series = {name: pd.Series(_column_array(columns[name]), copy=False) for name in order}
    return pd.DataFrame(series, columns=order, copy=False)


# Type codes of the packed columns that NFStreamer._columns() returns.
_PACKED_DTYPES = {"q": np.int64, "Q": np.uint64, "d": np.float64}


def _packed_frame(packed, core_columns, names, anonymize):
    """Build the DataFrame from NFStreamer._columns(): packed numbers and Python objects.

    A run without plugins is read in C straight into one buffer per numeric column, which
    numpy wraps without a copy. Strings and lists arrive as Python lists.
    """
    order, columns, count = packed
    order = list(order)
    if count == 0:
        return _empty_frame(core_columns)

    _check_names(names, order)
    series = {}
    for name, (code, values) in zip(order, columns):
        if name in names:
            plain = values if code == "O" else np.frombuffer(values, _PACKED_DTYPES[code]).tolist()
            values, code = [None if value is None else anonymize(value) for value in plain], "O"
        if code == "O":
            array = _column_array(values)
        else:
            array = np.frombuffer(values, dtype=_PACKED_DTYPES[code])
        series[name] = pd.Series(array, copy=False)
    return pd.DataFrame(series, columns=order, copy=False)


def _collect_columns(streamer):
    """Iterate the streamer and return (column order, {column: list of values}, flow count)."""
    order = []
    columns = {}
    count = 0
    previous_keys = None
    present = []
    absent = []

    for flow in streamer:
        keys = list(flow.keys())
        if keys != previous_keys:
            for name in keys:
                if name not in columns:
                    order.append(name)
                    columns[name] = [None] * count
            key_set = set(keys)
            present = [columns[name] for name in keys]
            absent = [columns[name] for name in order if name not in key_set]
            previous_keys = keys

        for values, value in zip(present, flow.values()):
            values.append(value)
        for values in absent:
            values.append(None)
        count += 1

    return order, columns, count


def _column_array(values):
    """Convert one column's Python values to the numpy array or pandas Series to store."""
    kinds = set(map(type, values))
    has_none = type(None) in kinds
    kinds.discard(type(None))

    if kinds and kinds <= {bool} and not has_none:
        return np.array(values, dtype=bool)
    if kinds and kinds <= {int}:
        return _integer_array(values, has_none)
    if kinds and kinds <= {int, float}:
        return np.array([np.nan if value is None else value for value in values], dtype=float)

    if kinds <= {str}:
        # Flat strings (and None): numpy builds a 1-D object array from them in one call.
        return pd.Series(np.array(values, dtype=object), dtype=object, copy=False)

    # Lists and arbitrary plugin objects. Filling an empty object array one element at
    # a time keeps each list as one cell instead of letting numpy build a 2-D array. The Series
    # is typed object explicitly because pandas 3 would otherwise turn strings into its "str"
    # dtype and None into NaN.
    array = np.empty(len(values), dtype=object)
    for index, value in enumerate(values):
        array[index] = value
    return pd.Series(array, dtype=object, copy=False)


def _integer_array(values, has_none):
    if has_none:
        return pd.array(values, dtype="Int64")
    try:
        return np.array(values, dtype=np.int64)
    except OverflowError:
        pass
    try:
        return np.array(values, dtype=np.uint64)
    except OverflowError:
        return np.array(values, dtype=object)


def _empty_frame(columns):
    """Return a DataFrame without rows whose dtypes are those a flow would give each column."""
    series = {}
    for name in columns:
        if name in STRING_COLUMNS or name in LIST_COLUMNS or name.startswith(PLUGIN_COLUMN_PREFIX):
            dtype = object
        elif "_mean_" in name or "_stddev_" in name:
            dtype = np.float64
        else:
            dtype = np.int64
        series[name] = pd.Series([], dtype=dtype)
    return pd.DataFrame(series, columns=columns)


def to_csv(
    streamer,
    path=None,
    columns_to_anonymize=(),
    flows_per_file=0,
    rotate_files=0,
    anonymize_key=None,
):
    """Write the streamer's flows as CSV and return the number of flows written.

    The default path is the first source followed by ".csv". With flows_per_file = F > 0 each
    file contains F flows and is named after path with ".csv" replaced by ".<k>.csv" (".<k>.csv"
    is appended when path does not end in ".csv"), where k is the chunk index, taken modulo
    rotate_files when rotate_files > 0 so that files are overwritten in turn. Every file starts
    with a header of the first flow's keys. Strings are always quoted, numbers and booleans
    never, None is an empty field, and lists, tuples and dicts are written as quoted JSON.
    Without flows no file is created and the result is 0.

    Raises ValueError for a negative or non-integer flows_per_file or rotate_files and for an
    unknown column in columns_to_anonymize, in both cases before any file is written.
    """
    flows_per_file = _check_file_count("flows_per_file", flows_per_file)
    rotate_files = _check_file_count("rotate_files", rotate_files)
    names = _column_name_tuple(columns_to_anonymize)
    anonymize = Anonymizer(anonymize_key)
    _check_names_before_iterating(names, list(streamer._core_columns()))
    base_path = _default_csv_path(streamer.source) if path is None else os.fsdecode(path)

    writer = _ChunkedCsvWriter(base_path, flows_per_file, rotate_files)
    try:
        for flow in streamer:
            if writer.header is None:
                header = list(flow.keys())
                _check_names(names, header)
                writer.header = header
                anonymized = [header.index(name) for name in names]
            row = writer.align(flow)
            for index in anonymized:
                if row[index] is not None:
                    row[index] = anonymize(row[index])
            writer.write(row)
    finally:
        writer.close()
    return writer.count


class _ChunkedCsvWriter:
    """CSV output split into files of flows_per_file rows, all with the same header."""

    def __init__(self, base_path, flows_per_file, rotate_files):
        self.base_path = base_path
        self.flows_per_file = flows_per_file
        self.rotate_files = rotate_files
        self.header = None
        self.count = 0
        self._file = None
        self._writer = None
        self._warned_dropped = False

    def align(self, flow):
        """Return the flow's values as a new list in header order.

        A flow with other keys than the header (plugins that set different udps attributes)
        gets None for missing columns, and its extra columns are dropped with one warning.
        """
        keys = list(flow.keys())
        values = list(flow.values())
        if keys == self.header:
            return values

        by_name = dict(zip(keys, values))
        dropped = [name for name in keys if name not in self.header]
        if dropped and not self._warned_dropped:
            warnings.warn(
                f"to_csv dropped columns missing from the header of {self.base_path!r}: "
                f"{', '.join(dropped)}",
                RuntimeWarning,
                stacklevel=3,
            )
            self._warned_dropped = True
        return [by_name.get(name) for name in self.header]

    def write(self, row):
        if self._file is None or (self.flows_per_file and self.count % self.flows_per_file == 0):
            self._open_next_file()
        self._writer.writerow([_csv_field(value) for value in row])
        self.count += 1

    def close(self):
        if self._file is not None:
            self._file.close()
            self._file = None

    def _open_next_file(self):
        self.close()
        if self.flows_per_file:
            chunk = self.count // self.flows_per_file
            if self.rotate_files:
                chunk %= self.rotate_files
            file_path = chunk_path(self.base_path, chunk)
        else:
            file_path = self.base_path

        self._file = open(file_path, "w", encoding="utf-8", newline="")
        # Column names are written with minimal quoting, as nfstream writes its header.
        csv.writer(self._file, lineterminator="\n").writerow(self.header)
        self._writer = csv.writer(self._file, quoting=csv.QUOTE_NONNUMERIC, lineterminator="\n")


def chunk_path(base_path, chunk):
    """Return the file name of chunk number `chunk` for to_csv(path=base_path)."""
    if base_path.endswith(".csv"):
        return f"{base_path[: -len('.csv')]}.{chunk}.csv"
    return f"{base_path}.{chunk}.csv"


class _EmptyField:
    """CSV field for None: written empty and unquoted.

    QUOTE_NONNUMERIC quotes every field that is not a number, None included (checked on
    Python 3.11). The csv module counts an object with __float__ as a number and writes str()
    of it.
    """

    __slots__ = ()

    def __float__(self):
        return 0.0

    def __str__(self):
        return ""


_EMPTY_FIELD = _EmptyField()


def _csv_field(value):
    """Convert a value so that csv.QUOTE_NONNUMERIC writes it as to_csv documents."""
    kind = type(value)
    if kind is str or kind is int or kind is float or kind is bool:
        return value
    if value is None:
        return _EMPTY_FIELD
    if isinstance(value, (list, tuple, dict)):
        return json.dumps(value, default=str)
    if isinstance(value, enum.Enum):
        return str(value)
    # numpy and other numeric scalars: plain int and float keep the csv module from writing
    # reprs such as "np.float64(1.5)".
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        return float(value)
    return str(value)


def _check_file_count(name, value):
    # bool is accepted as 0 or 1 because nfstream 6.x accepts it.
    if not isinstance(value, int) or value < 0:
        raise ValueError(f"Please specify a valid {name} parameter (>= 0), not {value!r}.")
    return int(value)


def _default_csv_path(source):
    if isinstance(source, (list, tuple)):
        source = source[0]
    return os.fsdecode(source) + ".csv"


def _column_name_tuple(columns_to_anonymize):
    """Return the column names as a tuple without repeats; a single str counts as one name.

    Repeats are removed so that no value is hashed twice.
    """
    if columns_to_anonymize is None:
        return ()
    if isinstance(columns_to_anonymize, str):
        return (columns_to_anonymize,)
    return tuple(dict.fromkeys(columns_to_anonymize))


def _check_names_before_iterating(names, core_columns):
    """Reject names that can be neither a built-in column nor a plugin column.

    Plugin columns exist only once a flow shows them, so _check_names checks those later.
    """
    core = set(core_columns)
    for name in names:
        if name not in core and not str(name).startswith(PLUGIN_COLUMN_PREFIX):
            _raise_unknown_column(name, [*core_columns, PLUGIN_COLUMN_PREFIX + "<name>"])


def _check_names(names, columns):
    known = set(columns)
    for name in names:
        if name not in known:
            _raise_unknown_column(name, columns)


def _raise_unknown_column(name, columns):
    raise ValueError(
        f"Unknown column {name!r} in columns_to_anonymize. Valid columns: {', '.join(columns)}"
    )
