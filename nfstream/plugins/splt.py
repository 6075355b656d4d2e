"""SPLT plugin: the sequence of packet lengths and times of a flow, written in Python.

It produces the same values as ``NFStreamer(splt_analysis=n)`` does natively, in ``udps``
columns. It serves as an example plugin and as a cross-check of the native analysis.
"""

from __future__ import annotations

from nfstream import NFPlugin

# accounting_mode value -> NFPacket attribute that gives the packet size.
SIZE_ATTRIBUTES = ("raw_size", "ip_size", "transport_size", "payload_size")


class SPLT(NFPlugin):
    """Record direction, size and inter-arrival time of the first ``sequence_length`` packets.

    Columns (lists of ``sequence_length`` entries, -1 where the flow had no packet):

    * ``udps.splt_direction``: 0 for source to destination, 1 for the reverse;
    * ``udps.splt_ps``: packet size in bytes, by ``accounting_mode`` (0 link-layer size,
      1 IP size, 2 transport size, 3 payload size);
    * ``udps.splt_piat_ms``: milliseconds since the flow's previous packet (0 for the first).
    """

    def __init__(self, sequence_length: int = 5, accounting_mode: int = 0, **kwargs):
        if isinstance(sequence_length, bool) or not isinstance(sequence_length, int) \
                or sequence_length < 1:
            raise ValueError(f"SPLT sequence_length must be an integer >= 1, "
                             f"got {sequence_length!r}")
        if isinstance(accounting_mode, bool) or not isinstance(accounting_mode, int) \
                or accounting_mode not in (0, 1, 2, 3):
            raise ValueError(f"SPLT accounting_mode must be 0, 1, 2 or 3, got {accounting_mode!r}")
        super().__init__(sequence_length=sequence_length, accounting_mode=accounting_mode,
                         **kwargs)

    def on_init(self, packet, flow):
        flow.udps.splt_direction = [-1] * self.sequence_length
        flow.udps.splt_ps = [-1] * self.sequence_length
        flow.udps.splt_piat_ms = [-1] * self.sequence_length
        self._record(flow, 0, packet, direction=0)

    def on_update(self, packet, flow):
        # The flow counters already include this packet, so it is packet number n.
        position = flow.bidirectional_packets
        if position <= self.sequence_length:
            self._record(flow, position - 1, packet, packet.direction)

    def _record(self, flow, index, packet, direction):
        udps = flow.udps
        udps.splt_direction[index] = direction
        udps.splt_ps[index] = getattr(packet, SIZE_ATTRIBUTES[self.accounting_mode])
        udps.splt_piat_ms[index] = packet.delta_time
