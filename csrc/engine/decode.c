/*
 * decode.c - turns one captured frame into a struct nf_packet.
 *
 * The decoder reproduces the packet parser of nfstream 6.5.4
 * (lib_engine.c) rule for rule, because which frames it accepts decides
 * flow boundaries and counts. That includes its quirks. The SNAP type is
 * taken without byte swapping, and DLT_NULL only recognises a big-endian
 * family 2. Fragments are only filtered when the link layer announced
 * IPv4. Tunnels are only looked for behind UDP, and behind IPv6 the UDP
 * header is looked for at (IPv6 start + L4 length).
 *
 * Decoding runs as stages (link layer, ethertype chain, IP, tunnels,
 * transport). IP-in-IP, CAPWAP and TZSP go back to an earlier stage; a
 * loop counts those re-entries and drops the frame after
 * NF_DECODE_MAX_REENTRIES of them. Every byte is read through one
 * bounds-checked cursor.
 *
 * NF_DECODE_FLAG_EXTENDED adds what nfstream does not decode: the Linux
 * SLL2 and DLT_LOOP link types, 802.1ad (0x88A8) and 0x9100 VLAN tags,
 * and, together with NF_DECODE_FLAG_TUNNELS, GRE, ERSPAN, VXLAN and
 * Teredo. Extended tunnel decoding also reads the real protocol of the
 * outer IP header, whatever type the link layer announced, and finds the
 * UDP header behind IPv6 at the right offset. Each new header is one small
 * function that re-enters the link or IP stage. Without the flag every
 * new path is skipped and the result is nfstream's.
 *
 * Known limits, all on purpose:
 * - nfstream keeps offsets in 16 bits; this decoder keeps them in
 *   32 bits, so frames longer than 65535 bytes may decode differently.
 *   The captured IP length is still wrapped to 16 bits where nfstream
 *   compares it, because that decides acceptance.
 * - nfstream reads the TCP or UDP ports of a truncated IPv4 packet
 *   beyond the captured bytes; this decoder drops such a frame instead.
 * - Multi-byte fields that nfstream reads in host order (SNAP type,
 *   radiotap length, 802.11 frame control) are read as on a
 *   little-endian host, the platform nfstream results come from.
 */
#include "nf_engine.h"

#include <string.h>

/* Link types as libpcap's DLT_* numbers, spelled out because DLT_RAW differs on OpenBSD. */
enum nf_linktype {
    NF_LINK_NULL = 0,
    NF_LINK_ETHERNET = 1,
    NF_LINK_PPP = 9,
    NF_LINK_RAW = 12,
    NF_LINK_RAW_OPENBSD = 14, /* DLT_RAW on OpenBSD, DLT_PPP_BSDOS elsewhere */
    NF_LINK_PPP_SERIAL = 50,
    NF_LINK_RAW_LINKTYPE = 101, /* LINKTYPE_RAW, which libpcap normally maps to DLT_RAW */
    NF_LINK_C_HDLC = 104,
    NF_LINK_LOOP = 108,         /* extended decoding only */
    NF_LINK_LINUX_SLL = 113,
    NF_LINK_RADIOTAP = 127,
    NF_LINK_IPV4 = 228,
    NF_LINK_IPV6 = 229,
    NF_LINK_LINUX_SLL2 = 276,   /* extended decoding only */
};

#define NF_ETHERTYPE_IPV4 0x0800
#define NF_ETHERTYPE_IPV6 0x86DD
#define NF_ETHERTYPE_VLAN 0x8100
#define NF_ETHERTYPE_QINQ 0x88A8     /* 802.1ad service tag, extended decoding only */
#define NF_ETHERTYPE_VLAN_9100 0x9100 /* pre-802.1ad outer tag, extended decoding only */
#define NF_ETHERTYPE_BRIDGING 0x6558 /* transparent Ethernet bridging, inside GRE */
#define NF_ETHERTYPE_ERSPAN_II 0x88BE
#define NF_ETHERTYPE_ERSPAN_III 0x22EB
#define NF_ETHERTYPE_MPLS_UNICAST 0x8847
#define NF_ETHERTYPE_MPLS_MULTICAST 0x8848
#define NF_ETHERTYPE_PPPOE_SESSION 0x8864

#define NF_IPPROTO_IPIP 4
#define NF_IPPROTO_TCP 6
#define NF_IPPROTO_UDP 17
#define NF_IPPROTO_IPV6 41
#define NF_IPPROTO_GRE 47
#define NF_IPPROTO_ICMP 1
#define NF_IPPROTO_ICMPV6 58

#define NF_PORT_GTP_U 2152
#define NF_PORT_CAPWAP_DATA 5247
#define NF_PORT_TZSP 37008
#define NF_PORT_VXLAN 4789
#define NF_PORT_TEREDO 3544

/* nfstream's first check: link header plus a minimal IPv4 header (20) and UDP header (8). */
#define NF_MIN_IP_AND_UDP 28
#define NF_IPV4_MIN_HEADER 20
#define NF_IPV6_HEADER 40
#define NF_UDP_HEADER 8
#define NF_LLC_SNAP_HEADER 8
#define NF_WIFI_HEADER 24
#define NF_LINUX_SLL2_HEADER 20

/*
 * Re-entries allowed per frame (IP-in-IP and every tunnel). nfstream has no
 * limit, but every re-entry consumes at least 4 bytes, and real traffic
 * nests two or three layers at most.
 */
#define NF_DECODE_MAX_REENTRIES 16

/* Read access to the captured bytes. Reads outside [0, length) return 0 and set `overrun`. */
struct nf_cursor {
    const uint8_t *data;
    uint32_t length;
    int overrun;
};

static int nf_cursor_has(const struct nf_cursor *cursor, uint64_t offset, uint64_t count) {
    return offset + count <= cursor->length;
}

static uint8_t nf_cursor_u8(struct nf_cursor *cursor, uint64_t offset) {
    if (!nf_cursor_has(cursor, offset, 1)) {
        cursor->overrun = 1;
        return 0;
    }
    return cursor->data[offset];
}

static uint16_t nf_cursor_be16(struct nf_cursor *cursor, uint64_t offset) {
    return (uint16_t)((nf_cursor_u8(cursor, offset) << 8) | nf_cursor_u8(cursor, offset + 1));
}

static uint16_t nf_cursor_le16(struct nf_cursor *cursor, uint64_t offset) {
    return (uint16_t)(nf_cursor_u8(cursor, offset) | (nf_cursor_u8(cursor, offset + 1) << 8));
}

static uint32_t nf_cursor_be32(struct nf_cursor *cursor, uint64_t offset) {
    return ((uint32_t)nf_cursor_be16(cursor, offset) << 16) | nf_cursor_be16(cursor, offset + 2);
}

static void nf_cursor_copy(struct nf_cursor *cursor, uint64_t offset, uint8_t *out, uint32_t count) {
    for (uint32_t i = 0; i < count; i++)
        out[i] = nf_cursor_u8(cursor, offset + i);
}

enum nf_decode_stage {
    NF_STAGE_LINK,
    NF_STAGE_ETHERTYPE,
    NF_STAGE_IP,
    NF_STAGE_TUNNEL,
    NF_STAGE_TRANSPORT,
};

/*
 * Decoder state of one frame. The fields mirror nfstream's local
 * variables and, like them, keep their values when a stage is re-entered.
 */
struct nf_decoder {
    struct nf_cursor frame;
    struct nf_packet *packet;
    int linktype;                /* the capture's, or Ethernet inside an extended tunnel */
    int flags;                   /* NF_DECODE_FLAG_* bits */
    enum nf_decode_stage next;
    uint32_t link_offset;        /* start of the link header: 0, or after a TZSP header */
    uint32_t ip_offset;          /* current IP header (or the header being classified) */
    uint32_t ip_length;          /* IPv4 header length, or IPv6 L4 length after extensions */
    uint16_t type;               /* ethertype, or what the link layer put in its place */
    uint16_t fragment_field;     /* IPv4 flags and fragment offset, read only for type 0x0800 */
    uint16_t ethernet_length;    /* last 802.3 length field seen; 0 for Ethernet II */
    uint32_t l4_offset;          /* after the IP header (and IPv6 extensions) at ip_offset */
    uint32_t l4_length;          /* L4 length that header claims */
    uint16_t header_fragment;    /* fragment offset of that IPv4 header, regardless of `type` */
    uint8_t header_protocol;     /* protocol of that header, regardless of `type` */
    uint16_t vlan_id;
    uint8_t protocol;            /* read only for type 0x0800, or the last IPv6 next header */
    uint8_t ip_version;          /* version of the header at ip_offset */
    uint8_t tunnel_id;
    uint8_t wifi_header_length;  /* 26 once a one-DS-bit 802.11 data frame was seen, else 0 */
};

/* ------------------------------------------------------------------ */
/* Link layer                                                          */
/* ------------------------------------------------------------------ */

static void nf_decode_null(struct nf_decoder *decoder) {
    /* The family is in the writer's byte order, and only a big-endian AF_INET (2) counts as IPv4. */
    uint32_t family = nf_cursor_be32(&decoder->frame, decoder->link_offset);

    decoder->type = family == 2 ? NF_ETHERTYPE_IPV4 : NF_ETHERTYPE_IPV6;
    decoder->ip_offset = decoder->link_offset + 4;
}

static void nf_decode_ppp(struct nf_decoder *decoder) {
    /* nfstream tests the first byte of the whole frame, even after a TZSP header. */
    uint8_t first = nf_cursor_u8(&decoder->frame, 0);

    if (first == 0x0F || first == 0x8F) {
        /* Cisco HDLC: address, control, then a 2-byte protocol. */
        decoder->type = nf_cursor_be16(&decoder->frame, decoder->link_offset + 2);
        decoder->ip_offset = decoder->link_offset + 4;
    } else {
        /* Plain PPP without the FF 03 address and control bytes. */
        decoder->type = nf_cursor_be16(&decoder->frame, decoder->link_offset);
        decoder->ip_offset = decoder->link_offset + 2;
    }
}

static void nf_decode_ppp_serial(struct nf_decoder *decoder) {
    /* The type becomes a PPP protocol number (0x0021 for IPv4), not an ethertype. */
    decoder->type = nf_cursor_be16(&decoder->frame, decoder->link_offset + 2);
    decoder->ip_offset = decoder->link_offset + 4;
}

static void nf_decode_raw(struct nf_decoder *decoder) {
    uint8_t version = nf_cursor_u8(&decoder->frame, decoder->link_offset) >> 4;

    if (version == 4)
        decoder->type = NF_ETHERTYPE_IPV4;
    if (version == 6)
        decoder->type = NF_ETHERTYPE_IPV6;
    decoder->ip_offset = decoder->link_offset;
}

static void nf_decode_linux_sll(struct nf_decoder *decoder) {
    decoder->type = nf_cursor_be16(&decoder->frame, decoder->link_offset + 14);
    decoder->ip_offset = decoder->link_offset + 16;
}

/* Linux SLL2: the protocol comes first in its 20-byte header. MAC addresses stay zero, as for SLL. */
static void nf_decode_linux_sll2(struct nf_decoder *decoder) {
    decoder->type = nf_cursor_be16(&decoder->frame, decoder->link_offset);
    decoder->ip_offset = decoder->link_offset + NF_LINUX_SLL2_HEADER;
}

/*
 * DLT_LOOP (OpenBSD loopback): like DLT_NULL but the address family is
 * in network byte order. AF_INET is 2 everywhere, and AF_INET6 is 24
 * (NetBSD, OpenBSD), 28 (FreeBSD) or 30 (macOS).
 */
static enum nf_drop_reason nf_decode_loop(struct nf_decoder *decoder) {
    uint32_t family = nf_cursor_be32(&decoder->frame, decoder->link_offset);

    if (family == 2)
        decoder->type = NF_ETHERTYPE_IPV4;
    else if (family == 24 || family == 28 || family == 30)
        decoder->type = NF_ETHERTYPE_IPV6;
    else
        return NF_DROP_LINK_TYPE;
    decoder->ip_offset = decoder->link_offset + 4;
    return NF_DROP_NONE;
}

/* 802.2 LLC after an 802.3 length field. */
static enum nf_drop_reason nf_decode_llc(struct nf_decoder *decoder) {
    uint8_t dsap = nf_cursor_u8(&decoder->frame, decoder->ip_offset);
    uint8_t ssap = nf_cursor_u8(&decoder->frame, decoder->ip_offset + 1);

    if (dsap == 0xAA || ssap == 0xAA) {
        /* nfstream copies the SNAP protocol id without ntohs, so 0x0800 becomes 0x0008. */
        decoder->type = nf_cursor_le16(&decoder->frame, decoder->ip_offset + 6);
        decoder->ip_offset += NF_LLC_SNAP_HEADER;
    } else if (dsap == 0x42 || ssap == 0x42) {
        return NF_DROP_SPANNING_TREE;
    }
    return NF_DROP_NONE;
}

static enum nf_drop_reason nf_decode_ethernet(struct nf_decoder *decoder) {
    uint32_t start = decoder->link_offset;
    uint16_t field = nf_cursor_be16(&decoder->frame, start + 12);

    nf_cursor_copy(&decoder->frame, start, decoder->packet->dst_mac, 6);
    nf_cursor_copy(&decoder->frame, start + 6, decoder->packet->src_mac, 6);
    decoder->ip_offset = start + 14;

    /* Values 1501-1535 change nothing, and the 802.3 length survives a TZSP re-entry. */
    if (field <= 1500)
        decoder->ethernet_length = field;
    else if (field >= 1536)
        decoder->type = field;

    if (decoder->ethernet_length != 0)
        return nf_decode_llc(decoder);
    return NF_DROP_NONE;
}

/*
 * Radiotap and 802.11. nfstream assumes the Flags field at byte 16 (TSFT
 * present) and an 802.11 header of 26 bytes only for data frames with
 * exactly one DS bit. Otherwise the LLC header is read at the 802.11 start.
 */
static enum nf_drop_reason nf_decode_radiotap(struct nf_decoder *decoder) {
    struct nf_cursor *frame = &decoder->frame;
    uint32_t start = decoder->link_offset;
    uint32_t radio_length = nf_cursor_le16(frame, start + 2);
    uint8_t flags = nf_cursor_u8(frame, start + 16);
    uint32_t wifi = start + radio_length;

    if ((flags & 0x50) == 0x50) /* FCS present and FCS bad */
        return NF_DROP_RADIOTAP;
    if (!nf_cursor_has(frame, wifi, NF_WIFI_HEADER))
        return NF_DROP_RADIOTAP;

    uint16_t control = nf_cursor_le16(frame, wifi);
    int to_ds = (control & 0x0100) != 0;
    int from_ds = (control & 0x0200) != 0;

    if (((control >> 2) & 0x3) != 2) /* not a data frame */
        return NF_DROP_LINK_TYPE;
    if (to_ds != from_ds)
        decoder->wifi_header_length = 26;
    nf_cursor_copy(frame, wifi + 10, decoder->packet->src_mac, 6); /* address 2, transmitter */
    nf_cursor_copy(frame, wifi + 16, decoder->packet->dst_mac, 6); /* address 3 */

    uint32_t llc = wifi + decoder->wifi_header_length;

    if (!nf_cursor_has(frame, llc, NF_LLC_SNAP_HEADER))
        return NF_DROP_RADIOTAP;
    if (nf_cursor_u8(frame, llc) == 0xAA)
        decoder->type = nf_cursor_be16(frame, llc + 6);
    decoder->ip_offset = llc + NF_LLC_SNAP_HEADER;
    return NF_DROP_NONE;
}

/* Link types that only extended decoding understands. */
static enum nf_drop_reason nf_decode_link_extended(struct nf_decoder *decoder) {
    if (!(decoder->flags & NF_DECODE_FLAG_EXTENDED))
        return NF_DROP_LINK_TYPE;
    switch (decoder->linktype) {
    case NF_LINK_LINUX_SLL2:
        nf_decode_linux_sll2(decoder);
        return NF_DROP_NONE;
    case NF_LINK_LOOP:
        return nf_decode_loop(decoder);
    default:
        return NF_DROP_LINK_TYPE;
    }
}

static enum nf_drop_reason nf_decode_link(struct nf_decoder *decoder) {
    if (!nf_cursor_has(&decoder->frame, decoder->link_offset, NF_MIN_IP_AND_UDP))
        return NF_DROP_SHORT_FRAME;

    decoder->next = NF_STAGE_ETHERTYPE;
    switch (decoder->linktype) {
    case NF_LINK_NULL:
        nf_decode_null(decoder);
        return NF_DROP_NONE;
    case NF_LINK_ETHERNET:
        return nf_decode_ethernet(decoder);
    case NF_LINK_PPP:
    case NF_LINK_C_HDLC:
        nf_decode_ppp(decoder);
        return NF_DROP_NONE;
    case NF_LINK_PPP_SERIAL:
        nf_decode_ppp_serial(decoder);
        return NF_DROP_NONE;
    case NF_LINK_RAW:
    case NF_LINK_RAW_OPENBSD:
    case NF_LINK_RAW_LINKTYPE:
        nf_decode_raw(decoder);
        return NF_DROP_NONE;
    case NF_LINK_IPV4:
        decoder->type = NF_ETHERTYPE_IPV4;
        decoder->ip_offset = decoder->link_offset;
        return NF_DROP_NONE;
    case NF_LINK_IPV6:
        decoder->type = NF_ETHERTYPE_IPV6;
        decoder->ip_offset = decoder->link_offset;
        return NF_DROP_NONE;
    case NF_LINK_LINUX_SLL:
        nf_decode_linux_sll(decoder);
        return NF_DROP_NONE;
    case NF_LINK_RADIOTAP:
        return nf_decode_radiotap(decoder);
    default:
        return nf_decode_link_extended(decoder);
    }
}

/* ------------------------------------------------------------------ */
/* Ethertype chain: 802.1Q, MPLS, PPPoE                                */
/* ------------------------------------------------------------------ */

static int nf_tag_fits(const struct nf_decoder *decoder) {
    /* nfstream wants at least one byte after the tag, hence > rather than >=. */
    return (uint64_t)decoder->ip_offset + 4 < decoder->frame.length;
}

/* 0x8100 always; 0x88A8 and 0x9100 only with extended decoding, because nfstream stops at them. */
static int nf_is_vlan_tag(const struct nf_decoder *decoder, uint16_t type) {
    if (type == NF_ETHERTYPE_VLAN)
        return 1;
    return (decoder->flags & NF_DECODE_FLAG_EXTENDED) &&
           (type == NF_ETHERTYPE_QINQ || type == NF_ETHERTYPE_VLAN_9100);
}

static enum nf_drop_reason nf_decode_vlan(struct nf_decoder *decoder) {
    if (!nf_tag_fits(decoder))
        return NF_DROP_SHORT_TAG;

    /* Consecutive tags are read while they fit, so the innermost VLAN id wins. */
    do {
        decoder->vlan_id = nf_cursor_be16(&decoder->frame, decoder->ip_offset) & 0x0FFF;
        decoder->type = nf_cursor_be16(&decoder->frame, decoder->ip_offset + 2);
        decoder->ip_offset += 4;
    } while (nf_is_vlan_tag(decoder, decoder->type) && nf_tag_fits(decoder));
    return NF_DROP_NONE;
}

static enum nf_drop_reason nf_decode_mpls(struct nf_decoder *decoder) {
    if (!nf_tag_fits(decoder))
        return NF_DROP_SHORT_TAG;

    uint32_t label = nf_cursor_be32(&decoder->frame, decoder->ip_offset);

    decoder->ip_offset += 4;
    /* Labels are skipped until bottom of stack (bit 8) or until the next one does not fit. */
    while ((label & 0x100) == 0 && nf_tag_fits(decoder)) {
        label = nf_cursor_be32(&decoder->frame, decoder->ip_offset);
        decoder->ip_offset += 4;
    }
    /* IPv4 is assumed, but IPv6 still decodes because the IP stage dispatches on the version. */
    decoder->type = NF_ETHERTYPE_IPV4;
    return NF_DROP_NONE;
}

static enum nf_drop_reason nf_decode_ethertypes(struct nf_decoder *decoder) {
    enum nf_drop_reason reason = NF_DROP_NONE;

    decoder->next = NF_STAGE_IP;
    /* Each rule either advances ip_offset or sets type 0x0800, so the loop ends. */
    for (;;) {
        switch (decoder->type) {
        case NF_ETHERTYPE_VLAN:
        case NF_ETHERTYPE_QINQ:
        case NF_ETHERTYPE_VLAN_9100:
            if (!nf_is_vlan_tag(decoder, decoder->type))
                return NF_DROP_NONE;
            reason = nf_decode_vlan(decoder);
            break;
        case NF_ETHERTYPE_MPLS_UNICAST:
        case NF_ETHERTYPE_MPLS_MULTICAST:
            reason = nf_decode_mpls(decoder);
            break;
        case NF_ETHERTYPE_PPPOE_SESSION:
            /* 6 bytes of PPPoE header and 2 of PPP protocol, with IPv4 assumed. */
            decoder->type = NF_ETHERTYPE_IPV4;
            decoder->ip_offset += 8;
            break;
        default:
            return NF_DROP_NONE;
        }
        if (reason != NF_DROP_NONE)
            return reason;
    }
}

/* ------------------------------------------------------------------ */
/* IP layer                                                            */
/* ------------------------------------------------------------------ */

static int nf_is_ipv6_extension(uint8_t next_header) {
    return next_header == 0 || next_header == 43 || next_header == 44 || next_header == 60 ||
           next_header == 135 || next_header == 59;
}

/*
 * Skips IPv6 extension headers with the rules of nDPI's
 * ndpi_handle_ipv6_extension_headers. `l3_length` is the captured length
 * after the fixed header (16-bit, as nDPI takes it), `l4_length` starts as
 * the payload length. On return *offset is the first byte after the
 * extensions. Returns 0, or -1 for "no next header", a non-first
 * fragment or a length that does not fit.
 */
static int nf_skip_ipv6_extensions(struct nf_cursor *frame, uint32_t *offset, uint16_t l3_length,
                                   uint16_t *l4_length, uint8_t *next_header) {
    while (l3_length > 1 && nf_is_ipv6_extension(*next_header)) {
        if (*next_header == 59)
            return -1;

        if (*next_header == 44) {
            /* nDPI charges 5 bytes of l3_length for the 8-byte fragment header. */
            if (*l4_length < 8 || l3_length < 5)
                return -1;
            l3_length -= 5;
            *next_header = nf_cursor_u8(frame, *offset);
            if ((nf_cursor_be16(frame, *offset + 2) >> 3) != 0)
                return -1;
            *l4_length -= 8;
            *offset += 8;
            continue;
        }

        if (*l4_length < 2)
            return -1;
        uint16_t header_length = (uint16_t)(nf_cursor_u8(frame, *offset + 1) * 8 + 8);
        if (header_length > l3_length || header_length > *l4_length)
            return -1;
        l3_length -= header_length;
        *next_header = nf_cursor_u8(frame, *offset);
        *l4_length -= header_length;
        *offset += header_length;
    }
    return 0;
}

static enum nf_drop_reason nf_decode_ipv4_header(struct nf_decoder *decoder) {
    uint8_t header_length = (nf_cursor_u8(&decoder->frame, decoder->ip_offset) & 0x0F) * 4;
    uint8_t protocol = nf_cursor_u8(&decoder->frame, decoder->ip_offset + 9);
    uint16_t total_length = nf_cursor_be16(&decoder->frame, decoder->ip_offset + 2);

    decoder->ip_version = 4;
    decoder->ip_length = header_length;
    decoder->header_protocol = protocol;
    decoder->header_fragment = nf_cursor_be16(&decoder->frame, decoder->ip_offset + 6) & 0x1FFF;
    decoder->l4_offset = decoder->ip_offset + header_length;
    decoder->l4_length = total_length > header_length ? total_length - header_length : 0;
    /* IP-in-IP is unwrapped even without NF_DECODE_FLAG_TUNNELS, and before the fragment test. */
    if (protocol == NF_IPPROTO_IPIP || protocol == NF_IPPROTO_IPV6) {
        decoder->ip_offset += header_length;
        if (header_length > 0) {
            decoder->next = NF_STAGE_IP;
            return NF_DROP_NONE;
        }
    }
    if ((decoder->fragment_field & 0x1FFF) != 0)
        return NF_DROP_IPV4_FRAGMENT;
    decoder->next = NF_STAGE_TUNNEL;
    return NF_DROP_NONE;
}

static enum nf_drop_reason nf_decode_ipv6_header(struct nf_decoder *decoder) {
    struct nf_cursor *frame = &decoder->frame;
    uint32_t start = decoder->ip_offset;

    if (!nf_cursor_has(frame, start, NF_IPV6_HEADER))
        return NF_DROP_IPV6_TRUNCATED;

    uint16_t payload_length = nf_cursor_be16(frame, start + 4);
    uint8_t next_header = nf_cursor_u8(frame, start + 6);
    /* nDPI gets nfstream's 16-bit ipsize minus 40, so the length wraps as it does there. */
    uint16_t l3_length = (uint16_t)((uint16_t)(frame->length - start) - NF_IPV6_HEADER);
    uint32_t l4_offset = start + NF_IPV6_HEADER;

    if (!nf_cursor_has(frame, l4_offset, payload_length))
        return NF_DROP_IPV6_TRUNCATED;
    if (nf_skip_ipv6_extensions(frame, &l4_offset, l3_length, &payload_length, &next_header) != 0)
        return NF_DROP_IPV6_EXTENSION;

    decoder->ip_version = 6;
    decoder->protocol = next_header;
    decoder->ip_length = payload_length;
    decoder->header_protocol = next_header;
    decoder->header_fragment = 0; /* later fragments were dropped by the extension walk */
    decoder->l4_offset = l4_offset;
    decoder->l4_length = payload_length;
    if (next_header == NF_IPPROTO_IPIP || next_header == NF_IPPROTO_IPV6) {
        decoder->ip_offset = l4_offset;
        decoder->next = NF_STAGE_IP;
        return NF_DROP_NONE;
    }
    decoder->next = NF_STAGE_TUNNEL;
    return NF_DROP_NONE;
}

static enum nf_drop_reason nf_decode_ip(struct nf_decoder *decoder) {
    struct nf_cursor *frame = &decoder->frame;
    uint32_t start = decoder->ip_offset;

    if (!nf_cursor_has(frame, start, NF_IPV4_MIN_HEADER))
        return NF_DROP_SHORT_IP;

    /* Only an announced IPv4 type refreshes these. Otherwise they keep earlier values (0 at first). */
    if (decoder->type == NF_ETHERTYPE_IPV4) {
        decoder->fragment_field = nf_cursor_be16(frame, start + 6);
        decoder->protocol = nf_cursor_u8(frame, start + 9);
    }

    switch (nf_cursor_u8(frame, start) >> 4) {
    case 4:
        return nf_decode_ipv4_header(decoder);
    case 6:
        return nf_decode_ipv6_header(decoder);
    default:
        return NF_DROP_IP_VERSION;
    }
}

/* ------------------------------------------------------------------ */
/* nfstream's tunnels (NF_DECODE_FLAG_TUNNELS, UDP only)              */
/* ------------------------------------------------------------------ */

/* Walks GTP-U extension headers. Returns 0 with *offset after them, or -1. */
static int nf_skip_gtp_extensions(struct nf_cursor *frame, uint32_t *offset) {
    while (*offset < frame->length) {
        uint32_t length = (uint32_t)nf_cursor_u8(frame, *offset) * 4;

        *offset += length;
        if (*offset >= frame->length || length == 0)
            return -1;
        if (nf_cursor_u8(frame, *offset - 1) == 0) /* next extension type: none */
            return 0;
    }
    return 0;
}

/*
 * GTP-U T-PDU. A header that is not GTPv1 T-PDU, or whose extensions do
 * not parse, leaves the packet as plain UDP. The inner packet goes
 * straight to the transport stage, so nfstream applies no fragment filter
 * and no IP-in-IP unwrapping to it.
 */
static enum nf_drop_reason nf_decode_gtp(struct nf_decoder *decoder, uint32_t offset) {
    struct nf_cursor *frame = &decoder->frame;
    uint8_t flags = nf_cursor_u8(frame, offset);
    uint8_t message_type = nf_cursor_u8(frame, offset + 1);

    if ((flags >> 5) != 1 || message_type != 0xFF)
        return NF_DROP_NONE;
    offset += 8;
    if (flags & 0x07) /* sequence number, N-PDU number, next extension type */
        offset += 4;
    if ((flags & 0x04) && nf_skip_gtp_extensions(frame, &offset) != 0)
        return NF_DROP_NONE;
    if (offset >= frame->length)
        return NF_DROP_NONE;

    decoder->tunnel_id = NF_TUNNEL_GTP;
    decoder->ip_offset = offset;
    decoder->ip_version = nf_cursor_u8(frame, offset) >> 4;
    if (decoder->ip_version == 6)
        return nf_cursor_has(frame, offset, NF_IPV6_HEADER) ? NF_DROP_NONE : NF_DROP_IPV6_TRUNCATED;
    if (decoder->ip_version != 4)
        return NF_DROP_IP_VERSION;
    return nf_cursor_has(frame, offset, NF_IPV4_MIN_HEADER) ? NF_DROP_NONE : NF_DROP_SHORT_IP;
}

/*
 * TZSP carrying Ethernet. nfstream skips exactly one tag, using its
 * length byte without the 2-byte tag header, and restarts link decoding
 * with the outer capture's link type. tunnel_id is set even when the
 * header is not a supported kind.
 */
static enum nf_drop_reason nf_decode_tzsp(struct nf_decoder *decoder, uint32_t offset) {
    struct nf_cursor *frame = &decoder->frame;

    if (!nf_cursor_has(frame, offset, 4))
        return NF_DROP_TUNNEL;

    uint8_t version = nf_cursor_u8(frame, offset);
    uint8_t kind = nf_cursor_u8(frame, offset + 1);
    uint16_t encapsulated = nf_cursor_be16(frame, offset + 2);

    decoder->tunnel_id = NF_TUNNEL_TZSP;
    if (version != 1 || kind != 0 || encapsulated != 1)
        return NF_DROP_NONE;
    offset += 4;
    if (offset >= frame->length) /* no tag at all: stays a UDP packet */
        return NF_DROP_NONE;

    uint8_t tag = nf_cursor_u8(frame, offset);
    uint32_t tag_length = 1; /* padding (0) and end (1) tags */

    if (tag > 1) {
        if (!nf_cursor_has(frame, offset + 1, 1))
            return NF_DROP_TUNNEL;
        tag_length = nf_cursor_u8(frame, offset + 1);
    }
    offset += tag_length;
    if (offset >= frame->length)
        return NF_DROP_TUNNEL;
    decoder->link_offset = offset;
    decoder->next = NF_STAGE_LINK;
    return NF_DROP_NONE;
}

/*
 * CAPWAP data carrying 802.11. nfstream assumes a 24-byte 802.11 header
 * (no QoS field) and an 8-byte LLC/SNAP header, then decodes the inner IP
 * packet from the IP stage, so nested tunnels apply.
 */
static void nf_decode_capwap(struct nf_decoder *decoder, uint32_t offset) {
    struct nf_cursor *frame = &decoder->frame;

    if (!nf_cursor_has(frame, offset, 2))
        return;

    uint8_t preamble = nf_cursor_u8(frame, offset);
    uint32_t header_length = (uint32_t)((nf_cursor_u8(frame, offset + 1) & 0xF8) >> 3) * 4;

    if ((preamble & 0x0F) != 0)
        return;
    offset += header_length;
    if (!nf_cursor_has(frame, offset, 33)) /* nfstream: offset + 32 < caplen */
        return;

    nf_cursor_copy(frame, offset + 10, decoder->packet->src_mac, 6);
    nf_cursor_copy(frame, offset + 16, decoder->packet->dst_mac, 6);
    offset += NF_WIFI_HEADER;
    decoder->type = nf_cursor_be16(frame, offset + 6);
    decoder->ip_offset = offset + NF_LLC_SNAP_HEADER;
    decoder->tunnel_id = NF_TUNNEL_CAPWAP;
    decoder->next = NF_STAGE_IP;
}

/* ------------------------------------------------------------------ */
/* Extended tunnels (NF_DECODE_FLAG_EXTENDED with NF_DECODE_FLAG_TUNNELS) */
/* ------------------------------------------------------------------ */

/*
 * Restarts decoding at an Ethernet frame inside a tunnel. The link type
 * becomes Ethernet whatever the capture's is, and the 802.3 length, the
 * type and the IPv4 fields read so far are forgotten. The VLAN id stays
 * unless the inner frame has tags of its own. The MAC addresses become
 * the inner frame's.
 */
static enum nf_drop_reason nf_enter_ethernet(struct nf_decoder *decoder, uint32_t offset,
                                             uint8_t tunnel_id) {
    decoder->linktype = NF_LINK_ETHERNET;
    decoder->link_offset = offset;
    decoder->ethernet_length = 0;
    decoder->type = 0;
    decoder->fragment_field = 0;
    decoder->protocol = 0;
    decoder->tunnel_id = tunnel_id;
    decoder->next = NF_STAGE_LINK;
    return NF_DROP_NONE;
}

/* Restarts decoding at an IP header inside a tunnel; `type` is 0x0800 or 0x86DD. */
static enum nf_drop_reason nf_enter_ip(struct nf_decoder *decoder, uint32_t offset, uint16_t type,
                                       uint8_t tunnel_id) {
    decoder->type = type;
    decoder->ip_offset = offset;
    decoder->tunnel_id = tunnel_id;
    decoder->next = NF_STAGE_IP;
    return NF_DROP_NONE;
}

/*
 * ERSPAN type I or II (GRE protocol 0x88BE). Type II has an 8-byte
 * header with version 1 and is sent with the GRE sequence number. Type I
 * has no header and no sequence number. Another version stays plain GRE.
 */
static enum nf_drop_reason nf_decode_erspan_ii(struct nf_decoder *decoder, uint32_t offset,
                                               int has_sequence) {
    if (!has_sequence)
        return nf_enter_ethernet(decoder, offset, NF_TUNNEL_ERSPAN);
    if (!nf_cursor_has(&decoder->frame, offset, 8))
        return NF_DROP_TUNNEL;
    if ((nf_cursor_u8(&decoder->frame, offset) >> 4) != 1)
        return NF_DROP_NONE;
    return nf_enter_ethernet(decoder, offset + 8, NF_TUNNEL_ERSPAN);
}

/*
 * ERSPAN type III (GRE protocol 0x22EB): a 12-byte header with version 2,
 * then an 8-byte platform-specific subheader when the O bit (last bit of
 * byte 11) is set. Only frame type 0 (Ethernet, in bits 2-6 of byte 10)
 * is decoded; another version or frame type stays plain GRE.
 */
static enum nf_drop_reason nf_decode_erspan_iii(struct nf_decoder *decoder, uint32_t offset) {
    struct nf_cursor *frame = &decoder->frame;
    uint32_t header_length = 12;

    if (!nf_cursor_has(frame, offset, header_length))
        return NF_DROP_TUNNEL;
    if ((nf_cursor_u8(frame, offset) >> 4) != 2 || ((nf_cursor_u8(frame, offset + 10) >> 2) & 0x1F) != 0)
        return NF_DROP_NONE;
    if (nf_cursor_u8(frame, offset + 11) & 0x01)
        header_length += 8;
    if (!nf_cursor_has(frame, offset, header_length))
        return NF_DROP_TUNNEL;
    return nf_enter_ethernet(decoder, offset + header_length, NF_TUNNEL_ERSPAN);
}

#define NF_GRE_CHECKSUM 0x8000
#define NF_GRE_ROUTING 0x4000
#define NF_GRE_KEY 0x2000
#define NF_GRE_SEQUENCE 0x1000
#define NF_GRE_VERSION 0x0007

/*
 * GRE version 0 (RFC 2784 with the RFC 2890 key and sequence number).
 * The checksum, key and sequence number fields are 4 bytes each when
 * their flag is set. Version 1 (PPTP), RFC 1701 routing and protocol
 * types other than IPv4, IPv6, Ethernet bridging and ERSPAN leave a
 * plain GRE packet. A header cut by the snap length drops the frame.
 */
static enum nf_drop_reason nf_decode_gre(struct nf_decoder *decoder, uint32_t offset) {
    struct nf_cursor *frame = &decoder->frame;

    if (!nf_cursor_has(frame, offset, 4))
        return NF_DROP_TUNNEL;

    uint16_t flags = nf_cursor_be16(frame, offset);
    uint16_t protocol_type = nf_cursor_be16(frame, offset + 2);
    uint32_t header_length = 4;

    if (flags & (NF_GRE_ROUTING | NF_GRE_VERSION))
        return NF_DROP_NONE;
    if (flags & NF_GRE_CHECKSUM)
        header_length += 4;
    if (flags & NF_GRE_KEY)
        header_length += 4;
    if (flags & NF_GRE_SEQUENCE)
        header_length += 4;
    if (!nf_cursor_has(frame, offset, header_length))
        return NF_DROP_TUNNEL;
    offset += header_length;

    switch (protocol_type) {
    case NF_ETHERTYPE_IPV4:
    case NF_ETHERTYPE_IPV6:
        return nf_enter_ip(decoder, offset, protocol_type, NF_TUNNEL_GRE);
    case NF_ETHERTYPE_BRIDGING:
        return nf_enter_ethernet(decoder, offset, NF_TUNNEL_GRE);
    case NF_ETHERTYPE_ERSPAN_II:
        return nf_decode_erspan_ii(decoder, offset, (flags & NF_GRE_SEQUENCE) != 0);
    case NF_ETHERTYPE_ERSPAN_III:
        return nf_decode_erspan_iii(decoder, offset);
    default:
        return NF_DROP_NONE;
    }
}

/*
 * VXLAN (RFC 7348): an 8-byte header whose I flag (0x08) marks a valid
 * network identifier, then Ethernet. A port match alone is only a guess,
 * so a short payload or a clear I flag leaves a plain UDP packet.
 */
static enum nf_drop_reason nf_decode_vxlan(struct nf_decoder *decoder, uint32_t offset) {
    if (!nf_cursor_has(&decoder->frame, offset, 8) || !(nf_cursor_u8(&decoder->frame, offset) & 0x08))
        return NF_DROP_NONE;
    return nf_enter_ethernet(decoder, offset + 8, NF_TUNNEL_VXLAN);
}

/*
 * Teredo (RFC 4380): an optional authentication header (indicator 0x0001,
 * 13 bytes plus its client id and authentication value lengths), an
 * optional origin indication (indicator 0x0000, 8 bytes), then IPv6. The
 * payload is only decoded as Teredo when a whole IPv6 header is captured,
 * starts with version 6, and its payload length fits in the UDP payload
 * that the outer IP header claims (`end`). Otherwise it stays plain UDP.
 */
static enum nf_drop_reason nf_decode_teredo(struct nf_decoder *decoder, uint32_t offset,
                                            uint32_t end) {
    struct nf_cursor *frame = &decoder->frame;

    if (nf_cursor_has(frame, offset, 4) && nf_cursor_be16(frame, offset) == 0x0001)
        offset += 13 + nf_cursor_u8(frame, offset + 2) + nf_cursor_u8(frame, offset + 3);
    if (nf_cursor_has(frame, offset, 2) && nf_cursor_be16(frame, offset) == 0x0000)
        offset += 8;
    if (!nf_cursor_has(frame, offset, NF_IPV6_HEADER) || (nf_cursor_u8(frame, offset) >> 4) != 6)
        return NF_DROP_NONE;
    if ((uint64_t)offset + NF_IPV6_HEADER + nf_cursor_be16(frame, offset + 4) > end)
        return NF_DROP_NONE;
    return nf_enter_ip(decoder, offset, NF_ETHERTYPE_IPV6, NF_TUNNEL_TEREDO);
}

/* ------------------------------------------------------------------ */
/* Tunnel dispatch                                                     */
/* ------------------------------------------------------------------ */

/*
 * Looks for a tunnel in the UDP datagram at `udp`. nfstream's tunnels
 * come first, in nfstream's order. VXLAN and Teredo need extended
 * decoding and the first fragment. A UDP header that does not fit drops
 * the frame, as in nfstream.
 */
static enum nf_drop_reason nf_decode_udp_tunnel(struct nf_decoder *decoder, uint32_t udp) {
    struct nf_cursor *frame = &decoder->frame;

    if (!nf_cursor_has(frame, udp, NF_UDP_HEADER))
        return NF_DROP_TUNNEL;

    uint16_t source_port = nf_cursor_be16(frame, udp);
    uint16_t destination_port = nf_cursor_be16(frame, udp + 2);
    uint32_t payload = udp + NF_UDP_HEADER;

    /* A GTP port with fewer than 9 bytes after UDP falls through to the TZSP and CAPWAP tests. */
    if ((source_port == NF_PORT_GTP_U || destination_port == NF_PORT_GTP_U) &&
        nf_cursor_has(frame, payload, 9))
        return nf_decode_gtp(decoder, payload);
    if (source_port == NF_PORT_TZSP || destination_port == NF_PORT_TZSP)
        return nf_decode_tzsp(decoder, payload);
    if (source_port == NF_PORT_CAPWAP_DATA || destination_port == NF_PORT_CAPWAP_DATA) {
        nf_decode_capwap(decoder, payload);
        return NF_DROP_NONE;
    }
    if (!(decoder->flags & NF_DECODE_FLAG_EXTENDED) || decoder->header_fragment != 0)
        return NF_DROP_NONE;
    if (destination_port == NF_PORT_VXLAN)
        return nf_decode_vxlan(decoder, payload);
    if (source_port == NF_PORT_TEREDO || destination_port == NF_PORT_TEREDO)
        return nf_decode_teredo(decoder, payload, decoder->l4_offset + decoder->l4_length);
    return NF_DROP_NONE;
}

/*
 * Looks for a tunnel when NF_DECODE_FLAG_TUNNELS is set. nfstream only
 * looks behind UDP, with the protocol as it reads it (only for an
 * announced type 0x0800, else a stale or zero value), and takes the UDP
 * header at ip_offset + ip_length. Behind IPv6 that is the L4 length
 * rather than the header length, an nfstream quirk kept because it
 * decides which frames nfstream drops.
 *
 * Extended decoding keeps that rule, so nfstream's tunnels decode as
 * before behind IPv4. It also finds GRE and UDP through the protocol of
 * the IP header actually present. It takes the UDP header at the real L4
 * offset, after any IPv6 extension headers. A later IPv4 fragment holds
 * no tunnel header, so only nfstream's rule applies to it.
 */
static enum nf_drop_reason nf_decode_tunnel(struct nf_decoder *decoder) {
    int extended = (decoder->flags & NF_DECODE_FLAG_EXTENDED) && decoder->header_fragment == 0;
    int behind_udp = decoder->protocol == NF_IPPROTO_UDP;

    decoder->next = NF_STAGE_TRANSPORT;
    if (!(decoder->flags & NF_DECODE_FLAG_TUNNELS))
        return NF_DROP_NONE;
    if (extended && decoder->header_protocol == NF_IPPROTO_GRE)
        return nf_decode_gre(decoder, decoder->l4_offset);
    if (extended && decoder->header_protocol == NF_IPPROTO_UDP)
        behind_udp = 1;
    if (!behind_udp)
        return NF_DROP_NONE;
    if (decoder->flags & NF_DECODE_FLAG_EXTENDED)
        return nf_decode_udp_tunnel(decoder, decoder->l4_offset);
    return nf_decode_udp_tunnel(decoder, decoder->ip_offset + decoder->ip_length);
}

/* ------------------------------------------------------------------ */
/* Final L3/L4 extraction                                              */
/* ------------------------------------------------------------------ */

static enum nf_drop_reason nf_extract_transport(struct nf_decoder *decoder, uint32_t l4_offset,
                                                uint16_t l4_length) {
    struct nf_cursor *frame = &decoder->frame;
    struct nf_packet *packet = decoder->packet;
    uint8_t protocol = packet->protocol;

    if (protocol == NF_IPPROTO_TCP && l4_length >= 20) {
        /* NOTE: nfstream reads a TCP header cut by the snap length past the captured bytes. We drop. */
        if (!nf_cursor_has(frame, l4_offset, 14))
            return NF_DROP_SHORT_FRAME;
        int header_length = (nf_cursor_u8(frame, l4_offset + 12) >> 4) * 4;
        packet->src_port = nf_cursor_be16(frame, l4_offset);
        packet->dst_port = nf_cursor_be16(frame, l4_offset + 2);
        packet->tcp_flags = nf_cursor_u8(frame, l4_offset + 13);
        packet->transport_size = l4_length;
        packet->payload_size = (uint16_t)(l4_length > header_length ? l4_length - header_length : 0);
    } else if (protocol == NF_IPPROTO_UDP && l4_length >= NF_UDP_HEADER) {
        if (!nf_cursor_has(frame, l4_offset, 4)) /* same NOTE as TCP */
            return NF_DROP_SHORT_FRAME;
        packet->src_port = nf_cursor_be16(frame, l4_offset);
        packet->dst_port = nf_cursor_be16(frame, l4_offset + 2);
        packet->transport_size = l4_length;
        packet->payload_size = (uint16_t)(l4_length > 8 ? l4_length - 8 : 0);
    } else if (protocol == NF_IPPROTO_ICMP || protocol == NF_IPPROTO_ICMPV6) {
        /* Either protocol number is accepted under either IP version, with any length. */
        packet->transport_size = l4_length;
        packet->payload_size = (uint16_t)(l4_length > 8 ? l4_length - 8 : 0);
    }
    return NF_DROP_NONE;
}

static enum nf_drop_reason nf_extract_ipv4(struct nf_decoder *decoder) {
    struct nf_cursor *frame = &decoder->frame;
    struct nf_packet *packet = decoder->packet;
    uint32_t start = decoder->ip_offset;
    uint16_t ip_caplen = (uint16_t)(frame->length - start); /* nfstream's 16-bit ipsize */

    if (ip_caplen < NF_IPV4_MIN_HEADER)
        return NF_DROP_IPV4_LENGTH;

    uint16_t header_length = (nf_cursor_u8(frame, start) & 0x0F) * 4;
    uint16_t total_length = nf_cursor_be16(frame, start + 2);
    uint16_t l4_length = (uint16_t)(total_length - header_length);

    if (header_length > ip_caplen)
        return NF_DROP_IPV4_LENGTH;
    /* Sizes come from the header, so a truncated packet keeps its claimed sizes. tot_len 0 fails. */
    if ((total_length > ip_caplen ? total_length : ip_caplen) < (uint32_t)header_length + l4_length)
        return NF_DROP_IPV4_LENGTH;

    packet->ip_version = 4;
    packet->protocol = nf_cursor_u8(frame, start + 9);
    packet->ip_size = total_length;
    nf_cursor_copy(frame, start + 12, packet->src_ip, 4);
    nf_cursor_copy(frame, start + 16, packet->dst_ip, 4);
    return nf_extract_transport(decoder, start + header_length, l4_length);
}

static enum nf_drop_reason nf_extract_ipv6(struct nf_decoder *decoder) {
    struct nf_cursor *frame = &decoder->frame;
    struct nf_packet *packet = decoder->packet;
    uint32_t start = decoder->ip_offset;
    uint16_t ip_caplen = (uint16_t)(frame->length - start); /* nfstream's 16-bit ipsize */

    if (ip_caplen < NF_IPV6_HEADER)
        return NF_DROP_IPV6_TRUNCATED;

    uint16_t payload_length = nf_cursor_be16(frame, start + 4);
    uint16_t l4_length = payload_length;
    uint8_t next_header = nf_cursor_u8(frame, start + 6);
    uint32_t l4_offset = start + NF_IPV6_HEADER;

    if (ip_caplen < NF_IPV6_HEADER + payload_length)
        return NF_DROP_IPV6_TRUNCATED;
    if (nf_skip_ipv6_extensions(frame, &l4_offset, (uint16_t)(ip_caplen - NF_IPV6_HEADER),
                                &l4_length, &next_header) != 0)
        return NF_DROP_IPV6_EXTENSION;

    packet->ip_version = 6;
    packet->protocol = next_header;
    /*
     * nfstream 6.5.4 (its PyPI wheel, measured with accounting_mode=1)
     * reports the payload length alone: unlike IPv4, the 40-byte fixed
     * header is not counted.
     */
    packet->ip_size = payload_length;
    nf_cursor_copy(frame, start + 8, packet->src_ip, 16);
    nf_cursor_copy(frame, start + 24, packet->dst_ip, 16);
    return nf_extract_transport(decoder, l4_offset, l4_length);
}

static enum nf_drop_reason nf_extract(struct nf_decoder *decoder) {
    struct nf_packet *packet = decoder->packet;
    enum nf_drop_reason reason;

    if (decoder->ip_version == 4)
        reason = nf_extract_ipv4(decoder);
    else
        reason = nf_extract_ipv6(decoder);
    if (reason != NF_DROP_NONE)
        return reason;

    packet->vlan_id = decoder->vlan_id;
    packet->tunnel_id = decoder->tunnel_id;
    packet->ip_data = decoder->frame.data + decoder->ip_offset;
    packet->ip_caplen = decoder->frame.length - decoder->ip_offset;
    return NF_DROP_NONE;
}

/* ------------------------------------------------------------------ */
/* Entry points                                                        */
/* ------------------------------------------------------------------ */

static enum nf_drop_reason nf_decode_stage(struct nf_decoder *decoder, enum nf_decode_stage stage) {
    switch (stage) {
    case NF_STAGE_LINK:
        return nf_decode_link(decoder);
    case NF_STAGE_ETHERTYPE:
        return nf_decode_ethertypes(decoder);
    case NF_STAGE_IP:
        return nf_decode_ip(decoder);
    case NF_STAGE_TUNNEL:
        return nf_decode_tunnel(decoder);
    case NF_STAGE_TRANSPORT:
        return nf_extract(decoder);
    }
    return NF_DROP_LINK_TYPE;
}

/*
 * Decodes one frame (see nf_engine.h). The packet is zeroed first, so the
 * caller sets time_ns after this call. The meter fills direction and
 * delta_ms. On a drop the packet's content is unspecified.
 */
enum nf_drop_reason nf_decode_packet(int linktype, int flags, const uint8_t *frame,
                                     uint32_t caplen, uint32_t wirelen, struct nf_packet *packet) {
    struct nf_decoder decoder;
    enum nf_decode_stage stage = NF_STAGE_LINK;
    int reentries = 0;

    memset(packet, 0, sizeof(*packet));
    memset(&decoder, 0, sizeof(decoder));
    decoder.frame.data = frame;
    decoder.frame.length = frame != NULL ? caplen : 0;
    decoder.packet = packet;
    decoder.linktype = linktype;
    decoder.flags = flags;
    packet->raw_size = (uint16_t)(wirelen & 0xFFFF);

    for (;;) {
        enum nf_drop_reason reason = nf_decode_stage(&decoder, stage);

        /* Every read is guarded above, so an overrun here is a decoder bug and not a wild read. */
        if (reason == NF_DROP_NONE && decoder.frame.overrun)
            reason = NF_DROP_SHORT_FRAME;
        if (reason != NF_DROP_NONE || stage == NF_STAGE_TRANSPORT)
            return reason;
        if (decoder.next <= stage && ++reentries > NF_DECODE_MAX_REENTRIES)
            return NF_DROP_TUNNEL;
        stage = decoder.next;
    }
}

int nf_decode_supports_linktype(int linktype, int flags) {
    switch (linktype) {
    case NF_LINK_LOOP:
    case NF_LINK_LINUX_SLL2:
        return (flags & NF_DECODE_FLAG_EXTENDED) != 0;
    case NF_LINK_NULL:
    case NF_LINK_ETHERNET:
    case NF_LINK_PPP:
    case NF_LINK_RAW:
    case NF_LINK_RAW_OPENBSD:
    case NF_LINK_PPP_SERIAL:
    case NF_LINK_RAW_LINKTYPE:
    case NF_LINK_C_HDLC:
    case NF_LINK_LINUX_SLL:
    case NF_LINK_RADIOTAP:
    case NF_LINK_IPV4:
    case NF_LINK_IPV6:
        return 1;
    default:
        return 0;
    }
}

static const char *const nf_drop_reason_names[NF_DROP_REASON_COUNT] = {
    [NF_DROP_NONE] = "accepted",
    [NF_DROP_SHORT_FRAME] = "frame too short",
    [NF_DROP_LINK_TYPE] = "unsupported link type or non-data 802.11 frame",
    [NF_DROP_SPANNING_TREE] = "spanning tree frame",
    [NF_DROP_RADIOTAP] = "invalid radiotap header or bad FCS",
    [NF_DROP_SHORT_TAG] = "truncated VLAN or MPLS tag",
    [NF_DROP_SHORT_IP] = "truncated IP header",
    [NF_DROP_IP_VERSION] = "IP version not 4 or 6",
    [NF_DROP_IPV4_FRAGMENT] = "IPv4 fragment",
    [NF_DROP_IPV4_LENGTH] = "invalid IPv4 length",
    [NF_DROP_IPV6_TRUNCATED] = "truncated IPv6 packet",
    [NF_DROP_IPV6_EXTENSION] = "invalid IPv6 extension header or fragment",
    [NF_DROP_TUNNEL] = "invalid tunnel header",
};

const char *nf_drop_reason_name(enum nf_drop_reason reason) {
    if ((unsigned)reason >= NF_DROP_REASON_COUNT)
        return "unknown drop reason";
    return nf_drop_reason_names[reason];
}
