"""Type stubs for nfstream._engine, the C extension behind NFStreamer."""

import os
from collections.abc import Callable, Iterable, Iterator
from typing import Any, Optional, Union

_Path = Union[str, bytes, "os.PathLike[str]", "os.PathLike[bytes]"]
_Plugins = Union[None, "NFPlugin", Iterable["NFPlugin"]]

class CaptureError(ValueError):
    """A capture source could not be opened, filtered or read."""

class ParameterTypeError(TypeError, ValueError):
    """An NFStreamer parameter has the wrong type."""

class NFPacket:
    """The packet passed to plugin hooks. Fields are computed on access."""

    @property
    def time(self) -> int: ...
    @property
    def delta_time(self) -> int: ...
    @property
    def direction(self) -> int: ...
    @property
    def raw_size(self) -> int: ...
    @property
    def ip_size(self) -> int: ...
    @property
    def transport_size(self) -> int: ...
    @property
    def payload_size(self) -> int: ...
    @property
    def src_ip(self) -> str: ...
    @property
    def src_mac(self) -> str: ...
    @property
    def src_oui(self) -> str: ...
    @property
    def dst_ip(self) -> str: ...
    @property
    def dst_mac(self) -> str: ...
    @property
    def dst_oui(self) -> str: ...
    @property
    def src_port(self) -> int: ...
    @property
    def dst_port(self) -> int: ...
    @property
    def protocol(self) -> int: ...
    @property
    def vlan_id(self) -> int: ...
    @property
    def ip_version(self) -> int: ...
    @property
    def ip_packet(self) -> bytes: ...
    @property
    def syn(self) -> int: ...
    @property
    def cwr(self) -> int: ...
    @property
    def ece(self) -> int: ...
    @property
    def urg(self) -> int: ...
    @property
    def ack(self) -> int: ...
    @property
    def psh(self) -> int: ...
    @property
    def rst(self) -> int: ...
    @property
    def fin(self) -> int: ...
    @property
    def tunnel_id(self) -> int: ...
    @property
    def length(self) -> int:
        """Packet size under the streamer's accounting_mode (classic API)."""

class NFlow:
    """One flow. Built-in columns exist only when their NFStreamer option is on.

    Reading a column that the configuration does not produce raises AttributeError.
    Plugins may set other attributes; flow.udps contains the udps.<name> columns.
    """

    id: int
    expiration_id: int
    src_ip: str
    src_mac: str
    src_oui: str
    src_port: int
    dst_ip: str
    dst_mac: str
    dst_oui: str
    dst_port: int
    protocol: int
    ip_version: int
    vlan_id: int
    tunnel_id: int
    bidirectional_first_seen_ms: int
    bidirectional_last_seen_ms: int
    bidirectional_duration_ms: int
    bidirectional_packets: int
    bidirectional_bytes: int
    src2dst_first_seen_ms: int
    src2dst_last_seen_ms: int
    src2dst_duration_ms: int
    src2dst_packets: int
    src2dst_bytes: int
    dst2src_first_seen_ms: int
    dst2src_last_seen_ms: int
    dst2src_duration_ms: int
    dst2src_packets: int
    dst2src_bytes: int
    bidirectional_min_ps: int
    bidirectional_mean_ps: float
    bidirectional_stddev_ps: float
    bidirectional_max_ps: int
    src2dst_min_ps: int
    src2dst_mean_ps: float
    src2dst_stddev_ps: float
    src2dst_max_ps: int
    dst2src_min_ps: int
    dst2src_mean_ps: float
    dst2src_stddev_ps: float
    dst2src_max_ps: int
    bidirectional_min_piat_ms: int
    bidirectional_mean_piat_ms: float
    bidirectional_stddev_piat_ms: float
    bidirectional_max_piat_ms: int
    src2dst_min_piat_ms: int
    src2dst_mean_piat_ms: float
    src2dst_stddev_piat_ms: float
    src2dst_max_piat_ms: int
    dst2src_min_piat_ms: int
    dst2src_mean_piat_ms: float
    dst2src_stddev_piat_ms: float
    dst2src_max_piat_ms: int
    bidirectional_syn_packets: int
    bidirectional_cwr_packets: int
    bidirectional_ece_packets: int
    bidirectional_urg_packets: int
    bidirectional_ack_packets: int
    bidirectional_psh_packets: int
    bidirectional_rst_packets: int
    bidirectional_fin_packets: int
    src2dst_syn_packets: int
    src2dst_cwr_packets: int
    src2dst_ece_packets: int
    src2dst_urg_packets: int
    src2dst_ack_packets: int
    src2dst_psh_packets: int
    src2dst_rst_packets: int
    src2dst_fin_packets: int
    dst2src_syn_packets: int
    dst2src_cwr_packets: int
    dst2src_ece_packets: int
    dst2src_urg_packets: int
    dst2src_ack_packets: int
    dst2src_psh_packets: int
    dst2src_rst_packets: int
    dst2src_fin_packets: int
    splt_direction: list[int]
    splt_ps: list[int]
    splt_piat_ms: list[int]
    application_name: Optional[str]
    application_category_name: Optional[str]
    application_is_guessed: Optional[int]
    application_confidence: Optional[int]
    requested_server_name: Optional[str]
    client_fingerprint: Optional[str]
    server_fingerprint: Optional[str]
    user_agent: Optional[str]
    content_type: Optional[str]
    udps: Any
    @property
    def packets(self) -> int:
        """Alias of bidirectional_packets (classic API)."""

    def keys(self) -> list[str]: ...
    def values(self) -> list[Any]: ...
    def __reduce__(self) -> tuple[Any, ...]: ...
    def __getattr__(self, name: str) -> Any: ...
    def __setattr__(self, name: str, value: Any) -> None: ...

class NFPlugin:
    """Base class of flow plugins; override only the hooks you need."""

    name: str
    volatile: bool
    init_function: Optional[Callable[[NFPacket], Any]]
    def __init__(
        self,
        name: Optional[str] = None,
        volatile: bool = False,
        init_function: Optional[Callable[[NFPacket], Any]] = None,
        **kwargs: Any,
    ) -> None: ...
    def on_init(self, packet: NFPacket, flow: NFlow, /) -> None: ...
    def on_update(self, packet: NFPacket, flow: NFlow, /) -> None: ...
    def on_expire(self, flow: NFlow, /) -> None: ...
    def process(self, packet: NFPacket, flow: NFlow, /) -> None: ...
    def giveup(self, flow: NFlow, /) -> None: ...
    def cleanup(self) -> None: ...
    def __getattr__(self, name: str) -> Any: ...

class NFStreamer:
    """Flow meter over capture files; each iteration reads the source again."""

    source: Union[str, list[str]]
    decode_tunnels: bool
    bpf_filter: Optional[str]
    promiscuous_mode: bool
    snapshot_length: int
    idle_timeout: int
    active_timeout: int
    accounting_mode: int
    udps: Optional[tuple[NFPlugin, ...]]
    n_dissections: int
    statistical_analysis: bool
    splt_analysis: int
    n_meters: int
    max_nflows: int
    performance_report: int
    system_visibility_mode: int
    system_visibility_poll_ms: int
    socket_buffer_size: int
    plugins: Optional[tuple[NFPlugin, ...]]
    nanosecond_times: bool
    extended_decoding: bool
    def __init__(
        self,
        source: Union[_Path, list[_Path], tuple[_Path, ...], None] = None,
        decode_tunnels: bool = True,
        bpf_filter: Optional[str] = None,
        promiscuous_mode: bool = True,
        snapshot_length: int = 1536,
        idle_timeout: int = 120,
        active_timeout: int = 1800,
        accounting_mode: int = 0,
        udps: _Plugins = None,
        n_dissections: int = 20,
        statistical_analysis: bool = False,
        splt_analysis: int = 0,
        n_meters: int = 0,
        max_nflows: int = 0,
        performance_report: int = 0,
        system_visibility_mode: int = 0,
        system_visibility_poll_ms: int = 100,
        socket_buffer_size: int = 0,
        plugins: _Plugins = None,
        *,
        nanosecond_times: bool = False,
        extended_decoding: bool = False,
    ) -> None: ...
    def __iter__(self) -> Iterator[NFlow]: ...
    def to_pandas(
        self, columns_to_anonymize: Iterable[str] = (), anonymize_key: Optional[bytes] = None
    ) -> Any: ...
    def to_csv(
        self,
        path: Optional[str] = None,
        columns_to_anonymize: Iterable[str] = (),
        flows_per_file: int = 0,
        rotate_files: int = 0,
        anonymize_key: Optional[bytes] = None,
    ) -> int: ...
    def _core_columns(self) -> list[str]: ...
    def stats(self) -> dict[str, Any]:
        """Packet and flow counters of the most recent iteration.

        Keys: packets_read, packets_processed, packets_ignored, ignored_by_reason (dict),
        flows_created, flows_expired, flows_active, files_truncated, and for live capture
        packets_dropped_by_kernel and packets_dropped_by_interface (libpcap's ps_drop and
        ps_ifdrop). During live capture the values are refreshed at least every 0.25 s.
        """

def _rebuild_flow(keys: Iterable[str], values: Iterable[Any], /) -> NFlow: ...
