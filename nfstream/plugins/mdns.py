"""MDNS plugin: collect the names that mDNS responders announce in PTR records."""

from __future__ import annotations

from nfstream import NFPlugin

from ._dns import ptr_targets
from ._udp import udp_payload

MDNS_PORT = 5353


class MDNS(NFPlugin):
    """Collect ``udps.mdns_ptr``: the PTR answer targets of a flow, unique, in arrival order.

    Only flows whose destination port is 5353 are read. Commas in names become spaces, so the
    list stays readable when exported. Packets that are not a well-formed DNS message over
    UDP are skipped. Unlike nfstream 6.x, which parses IPv4 only, IPv6 packets are read too.
    """

    def on_init(self, packet, flow):
        flow.udps.mdns_ptr = []
        self.on_update(packet, flow)

    def on_update(self, packet, flow):
        if flow.dst_port != MDNS_PORT:
            return
        payload = udp_payload(packet.ip_packet)
        if payload is None:
            return
        targets = ptr_targets(payload)
        if targets is None:
            return

        names = flow.udps.mdns_ptr
        for target in targets:
            name = target.replace(",", " ")
            if name not in names:
                names.append(name)
