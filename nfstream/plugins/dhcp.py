"""DHCP plugin: client details from DHCPv4 messages (RFC 2131, options from RFC 2132).

Known limits: only IPv4 BOOTP messages are read (DHCPv6 is a different protocol), and options
carried in the ``sname``/``file`` fields through option 52 (overload) are not read.
"""

from __future__ import annotations

import enum
import socket
import struct
from typing import NamedTuple

from nfstream import NFPlugin

from ._udp import ipv4_udp_payload

DHCP_SERVER_PORT = 67
MAGIC_COOKIE = 0x63825363

# RFC 2131 section 2: op .. file is 236 bytes, then the 4-byte magic cookie.
_FIXED_FIELDS = struct.Struct("!BBBBIHH4s4s4s4s16s64s128sI")

OPTION_PAD = 0
OPTION_END = 255
OPTION_HOSTNAME = 12
OPTION_REQUESTED_ADDRESS = 50
OPTION_MESSAGE_TYPE = 53
OPTION_PARAMETER_REQUEST_LIST = 55
OPTION_MAX_MESSAGE_SIZE = 57
OPTION_VENDOR_CLASS = 60
OPTION_USER_CLASS = 77


class MsgType(enum.IntEnum):
    """DHCP message type, the value of option 53."""

    DISCOVER = 1
    OFFER = 2
    REQUEST = 3
    DECLINE = 4
    ACK = 5
    NACK = 6
    RELEASE = 7
    INFORM = 8

    # Python 3.11 made str() and format() of an IntEnum return the bare number. Exports show
    # "MsgType.REQUEST" as nfstream does, so keep the Enum text on every Python version.
    def __str__(self):
        return f"{type(self).__name__}.{self.name}"

    def __format__(self, format_spec):
        return format(str(self), format_spec)


# A client transaction ends with these messages, so the flow ends with them too.
_FINAL_MESSAGE_TYPES = frozenset((MsgType.ACK, MsgType.NACK, MsgType.INFORM, MsgType.DECLINE))


class DhcpMessage(NamedTuple):
    """The parts of a DHCP message the plugin uses."""

    client_address: bytes      # ciaddr, 4 bytes
    hardware_address: bytes    # chaddr cut to its hlen, at most 16 bytes
    options: list[tuple[int, bytes]]  # (code, value) in message order, without pad and end


def parse_dhcp(payload: bytes) -> DhcpMessage | None:
    """Parse a BOOTP message with the DHCP magic cookie; return None when it is malformed.

    An option whose length byte or value runs past the end of the payload, or a missing end
    option after such a cut, makes the message malformed. Nothing is raised.
    """
    if len(payload) < _FIXED_FIELDS.size:
        return None
    (_, _, hardware_length, _, _, _, _, client_address, _, _, _, hardware_field, _, _,
     cookie) = _FIXED_FIELDS.unpack_from(payload)
    if cookie != MAGIC_COOKIE:
        return None

    options = []
    offset = _FIXED_FIELDS.size
    while offset < len(payload):
        code = payload[offset]
        if code == OPTION_END:
            break
        if code == OPTION_PAD:
            offset += 1
            continue
        if offset + 2 > len(payload):
            return None
        end = offset + 2 + payload[offset + 1]
        if end > len(payload):
            return None
        options.append((code, payload[offset + 2:end]))
        offset = end
    return DhcpMessage(client_address, hardware_field[:hardware_length], options)


def message_type(value: bytes) -> MsgType | int:
    """Return option 53 as a MsgType, or as a plain int for a value outside 1..8."""
    number = int.from_bytes(value, "big")
    try:
        return MsgType(number)
    except ValueError:
        return number


class DHCP(NFPlugin):
    """Collect DHCP client details from flows whose destination port is 67.

    Columns (None until a message sets them):

    * ``udps.dhcp_12``: hostname (option 12), set when non-empty;
    * ``udps.dhcp_50``: requested IPv4 address (option 50) of the last REQUEST;
    * ``udps.dhcp_55``: parameter request list (option 55) of the last REQUEST, such as "1,3,6";
    * ``udps.dhcp_57``: maximum DHCP message size (option 57) as an int;
    * ``udps.dhcp_60``: vendor class identifier (option 60);
    * ``udps.dhcp_77``: user class (option 77);
    * ``udps.dhcp_options``: option codes of the last REQUEST in message order ([] before one);
    * ``udps.dhcp_addr``: the client address (ciaddr) of a REQUEST when non-zero;
    * ``udps.dhcp_msg_type``: the first message type of the flow, a MsgType, or an int for a
      value outside 1..8 (0 when option 53 is missing);
    * ``udps.dhcp_oui``: first three bytes of the client hardware address of a REQUEST, "xx:xx:xx".

    Text options are decoded as UTF-8 with invalid bytes replaced. The flow is expired after
    an ACK, NACK, INFORM or DECLINE and after every message from 0.0.0.0, so each client
    transaction becomes its own flow. Malformed messages are skipped.
    """

    def on_init(self, packet, flow):
        udps = flow.udps
        udps.dhcp_12 = None
        udps.dhcp_50 = None
        udps.dhcp_55 = None
        udps.dhcp_57 = None
        udps.dhcp_60 = None
        udps.dhcp_77 = None
        udps.dhcp_options = []
        udps.dhcp_addr = None
        udps.dhcp_msg_type = None
        udps.dhcp_oui = None
        self.on_update(packet, flow)

    def on_update(self, packet, flow):
        if flow.dst_port != DHCP_SERVER_PORT:
            return
        payload = ipv4_udp_payload(packet.ip_packet)
        if payload is None:
            return
        message = parse_dhcp(payload)
        if message is None:
            return

        kind = _store_options(flow.udps, message.options)
        if kind == MsgType.REQUEST:
            _store_request(flow.udps, message)
        if kind in _FINAL_MESSAGE_TYPES or flow.src_ip == "0.0.0.0":
            flow.expiration_id = -1
        if flow.udps.dhcp_msg_type is None:
            flow.udps.dhcp_msg_type = kind


def _store_options(udps, options) -> MsgType | int:
    """Store the options valid in any message type; return the message type (0 if absent)."""
    kind = 0
    for code, value in options:
        if code == OPTION_MESSAGE_TYPE:
            kind = message_type(value)
        elif code == OPTION_HOSTNAME:
            hostname = value.decode("utf-8", errors="replace")
            if hostname:
                udps.dhcp_12 = hostname
        elif code == OPTION_VENDOR_CLASS:
            udps.dhcp_60 = value.decode("utf-8", errors="replace")
        elif code == OPTION_USER_CLASS:
            udps.dhcp_77 = value.decode("utf-8", errors="replace")
        elif code == OPTION_MAX_MESSAGE_SIZE:
            udps.dhcp_57 = int.from_bytes(value, "big")
    return kind


def _store_request(udps, message: DhcpMessage) -> None:
    """Store the fields nfstream takes from REQUEST messages only."""
    parameter_list = None
    requested_address = None
    for code, value in message.options:
        if code == OPTION_PARAMETER_REQUEST_LIST:
            parameter_list = ",".join(str(item) for item in value)
        elif code == OPTION_REQUESTED_ADDRESS and len(value) == 4:
            requested_address = socket.inet_ntoa(value)

    udps.dhcp_options = [code for code, _ in message.options]
    udps.dhcp_55 = parameter_list
    udps.dhcp_50 = requested_address
    if len(message.hardware_address) >= 3:
        udps.dhcp_oui = message.hardware_address[:3].hex(":")
    if message.client_address != b"\x00\x00\x00\x00":
        udps.dhcp_addr = socket.inet_ntoa(message.client_address)
