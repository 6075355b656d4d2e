"""Read the PTR records of a DNS or mDNS message (RFC 1035 section 4, RFC 6762).

Only the header, the question section and the answer section are read; the authority and
additional sections are ignored. Parsing never raises, and a malformed message gives None.
"""

from __future__ import annotations

import struct

DNS_HEADER_LENGTH = 12
TYPE_PTR = 12

# RFC 1035 section 2.3.4: a name is at most 255 octets in wire form (labels and length bytes).
MAX_NAME_LENGTH = 255


class MalformedMessage(Exception):
    """The DNS message is cut short or inconsistent."""


def ptr_targets(message: bytes) -> list[str] | None:
    """Return the names that the PTR records of the answer section point to, in message order.

    Returns None for a malformed message, so a caller can skip the whole packet.
    """
    try:
        return _read_ptr_targets(message)
    except MalformedMessage:
        return None


def _read_ptr_targets(message: bytes) -> list[str]:
    if len(message) < DNS_HEADER_LENGTH:
        raise MalformedMessage("message shorter than the DNS header")
    question_count, answer_count = struct.unpack_from("!HH", message, 4)

    offset = DNS_HEADER_LENGTH
    for _ in range(question_count):
        _, offset = read_name(message, offset)
        offset += 4  # QTYPE and QCLASS
    if offset > len(message):
        raise MalformedMessage("question section cut short")

    targets = []
    for _ in range(answer_count):
        _, offset = read_name(message, offset)
        if offset + 10 > len(message):
            raise MalformedMessage("resource record header cut short")
        record_type, _, _, data_length = struct.unpack_from("!HHIH", message, offset)
        data_offset = offset + 10
        offset = data_offset + data_length
        if offset > len(message):
            raise MalformedMessage("resource record data cut short")
        if record_type == TYPE_PTR:
            targets.append(read_name(message, data_offset)[0])
    return targets


def read_name(message: bytes, offset: int) -> tuple[str, int]:
    """Decode the possibly compressed name at ``offset``.

    Returns the name with labels joined by "." (no trailing dot, "" for the root) and the
    offset just after the name where it sits, not where a compression pointer led. Labels are
    decoded as UTF-8 with invalid bytes replaced. Raises MalformedMessage on a cut name, a
    reserved label type, a name longer than 255 octets or a pointer that does not go backward.
    """
    labels = []
    wire_length = 0
    end_offset = None
    # Each pointer must lead before the start of the labels read since the last jump, so the
    # targets strictly decrease and a crafted pointer loop cannot run forever.
    segment_start = offset

    while True:
        if offset >= len(message):
            raise MalformedMessage("name runs past the end of the message")
        length = message[offset]

        if length == 0:
            offset += 1
            break
        if length & 0xC0 == 0xC0:
            if offset + 2 > len(message):
                raise MalformedMessage("compression pointer cut short")
            target = struct.unpack_from("!H", message, offset)[0] & 0x3FFF
            if target >= segment_start:
                raise MalformedMessage(f"compression pointer to {target} does not go backward")
            if end_offset is None:
                end_offset = offset + 2
            offset = segment_start = target
            continue
        if length & 0xC0:
            raise MalformedMessage(f"reserved label type 0x{length & 0xC0:02x}")

        wire_length += length + 1
        if wire_length > MAX_NAME_LENGTH:
            raise MalformedMessage("name longer than 255 octets")
        label = message[offset + 1:offset + 1 + length]
        if len(label) != length:
            raise MalformedMessage("label runs past the end of the message")
        labels.append(label)
        offset += 1 + length

    if end_offset is None:
        end_offset = offset
    return b".".join(labels).decode("utf-8", errors="replace"), end_offset
