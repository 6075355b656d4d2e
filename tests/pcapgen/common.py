"""Constants and byte helpers shared by the pcapgen builders."""

from __future__ import annotations

# Link types (LINKTYPE_* values from the tcpdump.org list).
LINKTYPE_NULL = 0
LINKTYPE_ETHERNET = 1
LINKTYPE_PPP = 9
LINKTYPE_RAW = 101
LINKTYPE_PPP_HDLC = 50
LINKTYPE_C_HDLC = 104
LINKTYPE_LINUX_SLL = 113
LINKTYPE_IEEE802_11_RADIOTAP = 127
LINKTYPE_IPV4 = 228
LINKTYPE_IPV6 = 229

ETHERTYPE_IPV4 = 0x0800
ETHERTYPE_IPV6 = 0x86DD
ETHERTYPE_VLAN = 0x8100
ETHERTYPE_QINQ = 0x88A8
ETHERTYPE_MPLS = 0x8847
ETHERTYPE_PPPOE_SESSION = 0x8864

PPP_IPV4 = 0x0021
PPP_IPV6 = 0x0057

IPPROTO_HOPOPTS = 0
IPPROTO_ICMP = 1
IPPROTO_IPIP = 4
IPPROTO_TCP = 6
IPPROTO_UDP = 17
IPPROTO_IPV6 = 41
IPPROTO_ROUTING = 43
IPPROTO_FRAGMENT = 44
IPPROTO_ICMPV6 = 58
IPPROTO_NONE = 59
IPPROTO_DSTOPTS = 60

# IPv4 flags field values (the three bits above the fragment offset).
IP_DF = 0x2
IP_MF = 0x1

TCP_FIN, TCP_SYN, TCP_RST, TCP_PSH = 0x01, 0x02, 0x04, 0x08
TCP_ACK, TCP_URG, TCP_ECE, TCP_CWR = 0x10, 0x20, 0x40, 0x80

CLIENT_MAC = "02:00:00:00:00:01"
SERVER_MAC = "02:00:00:00:00:02"


def pad4(data: bytes) -> bytes:
    return data + b"\x00" * (-len(data) % 4)


def mac_bytes(mac: str | bytes) -> bytes:
    """Convert "aa:bb:cc:dd:ee:ff" (or 6 bytes) to 6 bytes."""
    if isinstance(mac, bytes):
        if len(mac) != 6:
            raise ValueError(f"a MAC address has 6 bytes, got {len(mac)}")
        return mac
    return bytes(int(part, 16) for part in mac.split(":"))


def pad_frame(frame: bytes, pad_to: int) -> bytes:
    return frame + b"\x00" * max(0, pad_to - len(frame))


def ethertype_of(ip_packet: bytes) -> int:
    return ETHERTYPE_IPV6 if ip_packet[0] >> 4 == 6 else ETHERTYPE_IPV4


def is_ipv6(address: str) -> bool:
    return ":" in address
