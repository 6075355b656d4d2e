"""Plugins shipped with nfstream: pass instances to ``NFStreamer(udps=...)``.

* ``SPLT``: packet size, direction and inter-arrival time of a flow's first packets.
* ``FlowSlicer``: cut flows into pieces of a fixed number of packets.
* ``DHCP``: client details (hostname, fingerprint, vendor class) from DHCP requests.
* ``MDNS``: the names announced in mDNS PTR answers.
"""

from .dhcp import DHCP, MsgType
from .mdns import MDNS
from .slicer import FlowSlicer
from .splt import SPLT

__all__ = ["DHCP", "MDNS", "FlowSlicer", "MsgType", "SPLT"]
