"""FlowSlicer plugin: expire a flow once it reaches a fixed number of packets."""

from __future__ import annotations

from nfstream import NFPlugin


class FlowSlicer(NFPlugin):
    """Cut every flow into flows of ``limit`` packets; the last piece may be shorter.

    The packet after a cut starts a new flow with the same key and a new id.
    """

    def __init__(self, limit: int, **kwargs):
        if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
            raise ValueError(f"FlowSlicer limit must be an integer >= 1, got {limit!r}")
        super().__init__(limit=limit, **kwargs)

    def on_init(self, packet, flow):
        if self.limit == 1:
            flow.expiration_id = -1

    def on_update(self, packet, flow):
        if flow.bidirectional_packets == self.limit:
            flow.expiration_id = -1
