/*
 * test_decode.c - table tests of the packet decoder (decode.c).
 *
 * Each case builds one frame by hand, decodes it and compares the drop
 * reason and, for accepted frames, every field the decoder fills. The
 * expected values are worked out by hand from the frame layout and the
 * nfstream 6.5.4 decoding rules, quirks included, and for the
 * extended decoding cases from the header layouts of RFC 2784, RFC 2890,
 * RFC 7348, RFC 4380 and the ERSPAN draft (draft-foschiano-erspan). Run with
 * `make -C tests/c test`, which builds under ASan and UBSan.
 */
#define _POSIX_C_SOURCE 200809L

#include "nf_engine.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#define FRAME_CAPACITY 1024

struct frame {
    uint8_t bytes[FRAME_CAPACITY];
    uint32_t length;
};

static const uint8_t mac_a[6] = {0x02, 0x00, 0x00, 0x00, 0x00, 0x0a};
static const uint8_t mac_b[6] = {0x02, 0x00, 0x00, 0x00, 0x00, 0x0b};
static const uint8_t mac_c[6] = {0x02, 0x00, 0x00, 0x00, 0x00, 0x0c};
static const uint8_t mac_d[6] = {0x02, 0x00, 0x00, 0x00, 0x00, 0x0d};

/* ------------------------------------------------------------------ */
/* Frame builders                                                      */
/* ------------------------------------------------------------------ */

static void put_bytes(struct frame *f, const uint8_t *data, uint32_t count) {
    memcpy(f->bytes + f->length, data, count);
    f->length += count;
}

static void put_u8(struct frame *f, uint8_t value) { f->bytes[f->length++] = value; }

static void put_be16(struct frame *f, uint16_t value) {
    put_u8(f, (uint8_t)(value >> 8));
    put_u8(f, (uint8_t)value);
}

static void put_le16(struct frame *f, uint16_t value) {
    put_u8(f, (uint8_t)value);
    put_u8(f, (uint8_t)(value >> 8));
}

static void put_zeros(struct frame *f, uint32_t count) {
    memset(f->bytes + f->length, 0, count);
    f->length += count;
}

static void put_address(struct frame *f, int family, const char *text) {
    uint8_t address[16];

    inet_pton(family, text, address);
    put_bytes(f, address, family == AF_INET ? 4 : 16);
}

/* Ethernet II: destination mac_b, source mac_a. */
static void put_ethernet(struct frame *f, uint16_t type) {
    put_bytes(f, mac_b, 6);
    put_bytes(f, mac_a, 6);
    put_be16(f, type);
}

static void put_ipv4_full(struct frame *f, uint8_t protocol, uint16_t total_length,
                          uint16_t fragment, const char *source, const char *destination) {
    put_u8(f, 0x45);
    put_u8(f, 0);
    put_be16(f, total_length);
    put_be16(f, 0x1234); /* identification */
    put_be16(f, fragment);
    put_u8(f, 64);
    put_u8(f, protocol);
    put_be16(f, 0); /* checksum, not verified */
    put_address(f, AF_INET, source);
    put_address(f, AF_INET, destination);
}

/* IPv4 header from 10.0.0.1 to 10.0.0.2 with total length 20 + l4_length. */
static void put_ipv4(struct frame *f, uint8_t protocol, uint16_t l4_length) {
    put_ipv4_full(f, protocol, (uint16_t)(20 + l4_length), 0, "10.0.0.1", "10.0.0.2");
}

static void put_ipv6_full(struct frame *f, uint8_t next_header, uint16_t payload_length,
                          const char *source, const char *destination) {
    put_u8(f, 0x60);
    put_zeros(f, 3);
    put_be16(f, payload_length);
    put_u8(f, next_header);
    put_u8(f, 64);
    put_address(f, AF_INET6, source);
    put_address(f, AF_INET6, destination);
}

/* IPv6 header from 2001:db8::1 to 2001:db8::2. */
static void put_ipv6(struct frame *f, uint8_t next_header, uint16_t payload_length) {
    put_ipv6_full(f, next_header, payload_length, "2001:db8::1", "2001:db8::2");
}

/* TCP header of `words` 32-bit words followed by `payload` zero bytes. */
static void put_tcp(struct frame *f, uint16_t source, uint16_t destination, uint8_t flags,
                    uint8_t words, uint16_t payload) {
    put_be16(f, source);
    put_be16(f, destination);
    put_zeros(f, 8); /* sequence and acknowledgement numbers */
    put_u8(f, (uint8_t)(words << 4));
    put_u8(f, flags);
    put_be16(f, 65535); /* window */
    put_zeros(f, 4);    /* checksum, urgent pointer */
    put_zeros(f, (uint32_t)(words * 4 - 20) + payload);
}

static void put_udp(struct frame *f, uint16_t source, uint16_t destination, uint16_t payload) {
    put_be16(f, source);
    put_be16(f, destination);
    put_be16(f, (uint16_t)(8 + payload));
    put_be16(f, 0);
}

static void put_udp_with_payload(struct frame *f, uint16_t source, uint16_t destination,
                                 uint16_t payload) {
    put_udp(f, source, destination, payload);
    put_zeros(f, payload);
}

/* Ethernet, IPv4 and UDP headers of a tunnel carrying `payload` bytes. */
static void put_udp_tunnel(struct frame *f, uint16_t port, uint16_t payload) {
    put_ethernet(f, 0x0800);
    put_ipv4_full(f, 17, (uint16_t)(28 + payload), 0, "172.16.0.1", "172.16.0.2");
    put_udp(f, 40000, port, payload);
}

/* ------------------------------------------------------------------ */
/* Frames: Ethernet and the ethertype chain                            */
/* ------------------------------------------------------------------ */

static void build_ethernet_tcp(struct frame *f) {
    put_ethernet(f, 0x0800);
    put_ipv4(f, 6, 30);
    put_tcp(f, 1234, 80, 0x12, 5, 10);
}

static void build_ethernet_udp(struct frame *f) {
    put_ethernet(f, 0x0800);
    put_ipv4(f, 17, 20);
    put_udp_with_payload(f, 5353, 53, 12);
}

static void build_ethernet_icmp(struct frame *f) {
    put_ethernet(f, 0x0800);
    put_ipv4(f, 1, 28);
    put_zeros(f, 28);
}

static void build_tcp_options(struct frame *f) {
    put_ethernet(f, 0x0800);
    put_ipv4(f, 6, 37);
    put_tcp(f, 1234, 443, 0x18, 8, 5);
}

/* Data offset 15 (60 bytes) in a 20-byte segment: payload clamps to 0. */
static void build_tcp_offset_too_large(struct frame *f) {
    put_ethernet(f, 0x0800);
    put_ipv4(f, 6, 20);
    put_tcp(f, 1234, 443, 0x10, 5, 0);
    f->bytes[14 + 20 + 12] = 0xF0;
}

/* TCP segment of 10 bytes: too short for ports, still accepted. */
static void build_tcp_short_segment(struct frame *f) {
    put_ethernet(f, 0x0800);
    put_ipv4(f, 6, 10);
    put_zeros(f, 10);
}

static void build_gre(struct frame *f) {
    put_ethernet(f, 0x0800);
    put_ipv4(f, 47, 24);
    put_zeros(f, 24);
}

static void build_ipv4_icmpv6_number(struct frame *f) {
    put_ethernet(f, 0x0800);
    put_ipv4(f, 58, 4);
    put_zeros(f, 4);
}

static void build_vlan_double(struct frame *f) {
    put_ethernet(f, 0x8100);
    put_be16(f, 0x2064); /* priority 1, VLAN 100 */
    put_be16(f, 0x8100);
    put_be16(f, 0x00C8); /* VLAN 200 */
    put_be16(f, 0x0800);
    put_ipv4(f, 17, 8);
    put_udp(f, 1000, 2000, 0);
}

/* Three 0x8100 tags, the last one cut off: 28 bytes in all. */
static void build_vlan_truncated(struct frame *f) {
    put_ethernet(f, 0x8100);
    put_be16(f, 1);
    put_be16(f, 0x8100);
    put_be16(f, 2);
    put_be16(f, 0x8100);
    put_be16(f, 3);
    put_be16(f, 0x8100);
    put_be16(f, 4);
}

static void build_qinq_88a8(struct frame *f) {
    put_ethernet(f, 0x88A8);
    put_be16(f, 10);
    put_be16(f, 0x8100);
    put_be16(f, 20);
    put_be16(f, 0x0800);
    put_ipv4(f, 17, 8);
    put_udp(f, 1000, 2000, 0);
}

static void build_mpls_ipv4(struct frame *f) {
    put_ethernet(f, 0x8847);
    put_be16(f, 0x0001);
    put_be16(f, 0x0040); /* label 16, not bottom of stack */
    put_be16(f, 0x0002);
    put_be16(f, 0x0140); /* label 32, bottom of stack */
    put_ipv4(f, 17, 8);
    put_udp(f, 1000, 2000, 0);
}

static void build_mpls_ipv6(struct frame *f) {
    put_ethernet(f, 0x8848);
    put_be16(f, 0x0001);
    put_be16(f, 0x0140);
    put_ipv6(f, 17, 8);
    put_udp(f, 1000, 2000, 0);
}

static void build_pppoe(struct frame *f) {
    put_ethernet(f, 0x8864);
    put_be16(f, 0x1100); /* version, type, code */
    put_be16(f, 0x0001); /* session */
    put_be16(f, 22);     /* length */
    put_be16(f, 0x0021); /* PPP protocol: IPv4 */
    put_ipv4(f, 6, 20);
    put_tcp(f, 5000, 80, 0x02, 5, 0);
}

/* 802.3 frame with LLC/SNAP carrying a non-first IPv4 fragment. */
static void build_snap_fragment(struct frame *f) {
    static const uint8_t llc[8] = {0xAA, 0xAA, 0x03, 0, 0, 0, 0x08, 0x00};

    put_ethernet(f, 36);
    put_bytes(f, llc, 8);
    put_ipv4_full(f, 17, 28, 0x0010, "10.0.0.1", "10.0.0.2");
    put_udp(f, 1000, 2000, 0);
}

static void build_spanning_tree(struct frame *f) {
    static const uint8_t llc[3] = {0x42, 0x42, 0x03};

    put_ethernet(f, 38);
    put_bytes(f, llc, 3);
    put_zeros(f, 43);
}

/* Length/type field 0x05F0 is neither: the type stays 0 and IP is read at 14. */
static void build_ethernet_gap_type(struct frame *f) {
    put_ethernet(f, 0x05F0);
    put_ipv4(f, 17, 8);
    put_udp(f, 1000, 2000, 0);
}

static void build_arp(struct frame *f) {
    put_ethernet(f, 0x0806);
    put_be16(f, 1);
    put_be16(f, 0x0800);
    put_zeros(f, 24);
}

static void build_ethernet_27_bytes(struct frame *f) {
    put_ethernet(f, 0x0800);
    put_zeros(f, 13);
}

static void build_ipv4_fragment_first(struct frame *f) {
    put_ethernet(f, 0x0800);
    put_ipv4_full(f, 17, 28, 0x2000, "10.0.0.1", "10.0.0.2"); /* MF set, offset 0 */
    put_udp(f, 1000, 2000, 0);
}

static void build_ipv4_fragment_later(struct frame *f) {
    put_ethernet(f, 0x0800);
    put_ipv4_full(f, 17, 28, 0x00B9, "10.0.0.1", "10.0.0.2");
    put_zeros(f, 8);
}

static void build_ipv4_total_length_zero(struct frame *f) {
    put_ethernet(f, 0x0800);
    put_ipv4_full(f, 6, 0, 0, "10.0.0.1", "10.0.0.2");
    put_tcp(f, 1, 2, 0x10, 5, 0);
}

/* IHL 15 (60 bytes) with only 40 bytes captured from the IP header. */
static void build_ipv4_header_too_long(struct frame *f) {
    put_ethernet(f, 0x0800);
    put_ipv4(f, 17, 20);
    put_zeros(f, 20);
    f->bytes[14] = 0x4F;
}

/* Snap length cut after 60 bytes of a 1500-byte IPv4 packet. */
static void build_ipv4_snapped(struct frame *f) {
    put_ethernet(f, 0x0800);
    put_ipv4_full(f, 6, 1500, 0x4000, "10.0.0.1", "10.0.0.2");
    put_tcp(f, 443, 50000, 0x10, 5, 20);
}

/* Snap length cut inside the TCP header. */
static void build_ipv4_snapped_in_tcp(struct frame *f) {
    put_ethernet(f, 0x0800);
    put_ipv4_full(f, 6, 60, 0, "10.0.0.1", "10.0.0.2");
    put_be16(f, 443);
    put_be16(f, 50000);
    put_zeros(f, 6);
}

static void build_ip_version_5(struct frame *f) {
    put_ethernet(f, 0x0800);
    put_ipv4(f, 17, 8);
    put_udp(f, 1, 2, 0);
    f->bytes[14] = 0x55;
}

/* ------------------------------------------------------------------ */
/* Frames: other link types                                            */
/* ------------------------------------------------------------------ */

static void build_linux_sll(struct frame *f) {
    put_be16(f, 0);       /* packet type */
    put_be16(f, 1);       /* ARPHRD_ETHER */
    put_be16(f, 6);       /* address length */
    put_bytes(f, mac_a, 6);
    put_zeros(f, 2);
    put_be16(f, 0x0800);
    put_ipv4(f, 6, 20);
    put_tcp(f, 22, 60000, 0x18, 5, 0);
}

/* SLL header and 14 bytes: fewer than 20 bytes at the IP offset. */
static void build_linux_sll_short(struct frame *f) {
    put_zeros(f, 14);
    put_be16(f, 0x0800);
    put_zeros(f, 14);
}

static void build_null_big_endian_fragment(struct frame *f) {
    put_be16(f, 0);
    put_be16(f, 2);
    put_ipv4_full(f, 17, 28, 0x0020, "10.0.0.1", "10.0.0.2");
    put_zeros(f, 8);
}

/* Little-endian AF_INET reads as IPv6, so the fragment filter is skipped. */
static void build_null_little_endian_fragment(struct frame *f) {
    put_le16(f, 2);
    put_le16(f, 0);
    put_ipv4_full(f, 17, 28, 0x0020, "10.0.0.1", "10.0.0.2");
    put_udp(f, 1000, 2000, 0);
}

static void build_null_ipv6(struct frame *f) {
    put_le16(f, 30); /* AF_INET6 on macOS */
    put_le16(f, 0);
    put_ipv6(f, 58, 8);
    put_zeros(f, 8);
}

static void build_ppp(struct frame *f) {
    put_be16(f, 0x0021);
    put_ipv4(f, 17, 8);
    put_udp(f, 1000, 2000, 0);
}

/* Address and control bytes FF 03 are taken as the protocol: IP is then read at 2. */
static void build_ppp_with_address(struct frame *f) {
    put_u8(f, 0xFF);
    put_u8(f, 0x03);
    put_be16(f, 0x0021);
    put_ipv4(f, 17, 8);
    put_udp(f, 1000, 2000, 0);
}

static void build_cisco_hdlc_fragment(struct frame *f) {
    put_u8(f, 0x0F);
    put_u8(f, 0x00);
    put_be16(f, 0x0800);
    put_ipv4_full(f, 17, 28, 0x0001, "10.0.0.1", "10.0.0.2");
    put_zeros(f, 8);
}

static void build_ppp_serial(struct frame *f) {
    put_u8(f, 0xFF);
    put_u8(f, 0x03);
    put_be16(f, 0x0021);
    put_ipv4(f, 6, 20);
    put_tcp(f, 179, 30000, 0x18, 5, 0);
}

static void build_raw_ipv4(struct frame *f) {
    put_ipv4(f, 17, 8);
    put_udp(f, 123, 123, 0);
}

static void build_raw_ipv6(struct frame *f) {
    put_ipv6(f, 6, 20);
    put_tcp(f, 443, 40000, 0x11, 5, 0);
}

/* ------------------------------------------------------------------ */
/* Frames: IPv6 extension headers                                      */
/* ------------------------------------------------------------------ */

static void build_ipv6_hop_by_hop(struct frame *f) {
    put_ethernet(f, 0x86DD);
    put_ipv6(f, 0, 8 + 20 + 4);
    put_u8(f, 6);
    put_u8(f, 0);
    put_zeros(f, 6);
    put_tcp(f, 1234, 80, 0x02, 5, 4);
}

/* Routing (16 bytes) then destination options (8 bytes) then UDP. */
static void build_ipv6_routing_chain(struct frame *f) {
    put_ethernet(f, 0x86DD);
    put_ipv6(f, 43, 16 + 8 + 8 + 4);
    put_u8(f, 60);
    put_u8(f, 1);
    put_zeros(f, 14);
    put_u8(f, 17);
    put_u8(f, 0);
    put_zeros(f, 6);
    put_udp_with_payload(f, 547, 546, 4);
}

static void build_ipv6_fragment_first(struct frame *f) {
    put_ethernet(f, 0x86DD);
    put_ipv6(f, 44, 8 + 8 + 8);
    put_u8(f, 17);
    put_u8(f, 0);
    put_be16(f, 0x0001); /* offset 0, more fragments */
    put_zeros(f, 4);
    put_udp_with_payload(f, 4000, 5000, 8);
}

static void build_ipv6_fragment_later(struct frame *f) {
    put_ethernet(f, 0x86DD);
    put_ipv6(f, 44, 8 + 16);
    put_u8(f, 17);
    put_u8(f, 0);
    put_be16(f, 0x00B8); /* offset 23 */
    put_zeros(f, 4 + 16);
}

static void build_ipv6_no_next_header(struct frame *f) {
    put_ethernet(f, 0x86DD);
    put_ipv6(f, 59, 8);
    put_zeros(f, 8);
}

/* Exactly 40 bytes: nDPI's walk needs more than one byte left, so 59 passes. */
static void build_ipv6_no_next_header_empty(struct frame *f) { put_ipv6(f, 59, 0); }

/* Hop-by-hop claims 48 bytes in a 16-byte payload. */
static void build_ipv6_extension_too_long(struct frame *f) {
    put_ethernet(f, 0x86DD);
    put_ipv6(f, 0, 16);
    put_u8(f, 6);
    put_u8(f, 5);
    put_zeros(f, 14);
}

static void build_ipv6_snapped(struct frame *f) {
    put_ethernet(f, 0x86DD);
    put_ipv6(f, 6, 100);
    put_tcp(f, 1, 2, 0x10, 5, 0);
}

static void build_ipv6_header_cut(struct frame *f) {
    put_ethernet(f, 0x86DD);
    put_ipv6(f, 6, 0);
    f->length = 14 + 30;
}

/* ------------------------------------------------------------------ */
/* Frames: IP in IP                                                    */
/* ------------------------------------------------------------------ */

static void build_4in4(struct frame *f) {
    put_ethernet(f, 0x0800);
    put_ipv4_full(f, 4, 20 + 20 + 8, 0, "172.16.0.1", "172.16.0.2");
    put_ipv4_full(f, 17, 28, 0, "192.168.0.1", "192.168.0.2");
    put_udp(f, 1000, 2000, 0);
}

static void build_6in4(struct frame *f) {
    put_ethernet(f, 0x0800);
    put_ipv4_full(f, 41, 20 + 40 + 20, 0, "172.16.0.1", "172.16.0.2");
    put_ipv6(f, 6, 20);
    put_tcp(f, 1000, 80, 0x02, 5, 0);
}

static void build_4in6(struct frame *f) {
    put_ethernet(f, 0x86DD);
    put_ipv6_full(f, 4, 20 + 20, "2001:db8::a", "2001:db8::b");
    put_ipv4_full(f, 6, 40, 0, "192.168.0.1", "192.168.0.2");
    put_tcp(f, 1000, 80, 0x02, 5, 0);
}

static void build_6in6(struct frame *f) {
    put_ethernet(f, 0x86DD);
    put_ipv6_full(f, 41, 40 + 8, "2001:db8::a", "2001:db8::b");
    put_ipv6(f, 17, 8);
    put_udp(f, 1000, 2000, 0);
}

/* 17 IPv4 headers with protocol 4 before the UDP packet: past the re-entry limit. */
static void build_ipip_too_deep(struct frame *f) {
    for (int i = 0; i < 17; i++)
        put_ipv4_full(f, 4, 0, 0, "172.16.0.1", "172.16.0.2");
    put_ipv4(f, 17, 8);
    put_udp(f, 1, 2, 0);
}

/* ------------------------------------------------------------------ */
/* Frames: tunnels                                                     */
/* ------------------------------------------------------------------ */

static void put_gtp(struct frame *f, uint8_t flags, uint8_t message_type, uint16_t length) {
    put_u8(f, flags);
    put_u8(f, message_type);
    put_be16(f, length);
    put_be16(f, 0x0102); /* TEID */
    put_be16(f, 0x0304);
}

static void build_gtp(struct frame *f) {
    put_udp_tunnel(f, 2152, 8 + 40);
    put_gtp(f, 0x30, 0xFF, 40);
    put_ipv4_full(f, 6, 40, 0x0010, "192.168.0.1", "192.168.0.2"); /* a later fragment */
    put_tcp(f, 1000, 80, 0x02, 5, 0);
}

static void build_gtp_extension(struct frame *f) {
    put_udp_tunnel(f, 2152, 8 + 4 + 4 + 28);
    put_gtp(f, 0x34, 0xFF, 36);
    put_be16(f, 0);  /* sequence number */
    put_u8(f, 0);    /* N-PDU number */
    put_u8(f, 0x85); /* next extension: PDU session container */
    put_u8(f, 1);    /* 4 bytes */
    put_u8(f, 0);
    put_u8(f, 9);
    put_u8(f, 0); /* no further extension */
    put_ipv4_full(f, 17, 28, 0, "192.168.0.1", "192.168.0.2");
    put_udp(f, 1000, 53, 0);
}

static void build_gtp_bad_inner_version(struct frame *f) {
    put_udp_tunnel(f, 2152, 8 + 20);
    put_gtp(f, 0x30, 0xFF, 20);
    put_zeros(f, 20);
}

static void build_gtp_echo(struct frame *f) {
    put_udp_tunnel(f, 2152, 8 + 4);
    put_gtp(f, 0x32, 0x01, 4);
    put_zeros(f, 4);
}

static void build_gtp_over_ipv6(struct frame *f) {
    put_ethernet(f, 0x86DD);
    put_ipv6(f, 17, 8 + 8 + 40 + 8);
    put_udp(f, 2152, 2152, 8 + 40 + 8);
    put_gtp(f, 0x30, 0xFF, 48);
    put_ipv6(f, 17, 8);
    put_udp(f, 1000, 2000, 0);
}

static void build_tzsp(struct frame *f) {
    put_udp_tunnel(f, 37008, 4 + 1 + 14 + 40);
    put_u8(f, 1);
    put_u8(f, 0);
    put_be16(f, 1);
    put_u8(f, 1); /* end tag */
    put_bytes(f, mac_d, 6);
    put_bytes(f, mac_c, 6);
    put_be16(f, 0x0800);
    put_ipv4_full(f, 6, 40, 0, "192.168.0.1", "192.168.0.2");
    put_tcp(f, 1000, 80, 0x02, 5, 0);
}

/* TZSP carrying 802.11 (encapsulation 18): the tunnel id stays, the packet is plain UDP. */
static void build_tzsp_unsupported(struct frame *f) {
    put_udp_tunnel(f, 37008, 8);
    put_u8(f, 1);
    put_u8(f, 0);
    put_be16(f, 18);
    put_zeros(f, 4);
}

/* A tag whose length byte points past the frame. */
static void build_tzsp_tag_too_long(struct frame *f) {
    put_udp_tunnel(f, 37008, 8);
    put_u8(f, 1);
    put_u8(f, 0);
    put_be16(f, 1);
    put_u8(f, 10);
    put_u8(f, 200);
    put_zeros(f, 2);
}

/* Only 2 bytes after the UDP header on the TZSP port. */
static void build_tzsp_short(struct frame *f) {
    put_udp_tunnel(f, 37008, 2);
    put_u8(f, 1);
    put_u8(f, 0);
}

/* The IPv4 protocol is UDP, but only 4 bytes follow the header. */
static void build_udp_header_cut(struct frame *f) {
    put_ethernet(f, 0x0800);
    put_ipv4(f, 17, 8);
    put_be16(f, 1000);
    put_be16(f, 2000);
}

static void build_capwap(struct frame *f) {
    static const uint8_t llc[8] = {0xAA, 0xAA, 0x03, 0, 0, 0, 0x08, 0x00};

    put_udp_tunnel(f, 5247, 8 + 24 + 8 + 28);
    put_u8(f, 0x00);
    put_u8(f, 0x10); /* HLEN 2: 8 bytes */
    put_zeros(f, 6);
    put_be16(f, 0x0801); /* frame control: data, to DS */
    put_be16(f, 0);      /* duration */
    put_bytes(f, mac_b, 6);
    put_bytes(f, mac_c, 6); /* address 2 */
    put_bytes(f, mac_d, 6); /* address 3 */
    put_be16(f, 0);
    put_bytes(f, llc, 8);
    put_ipv4_full(f, 17, 28, 0, "192.168.0.1", "192.168.0.2");
    put_udp(f, 68, 67, 0);
}

/* ------------------------------------------------------------------ */
/* Frames: extended decoding                                           */
/* ------------------------------------------------------------------ */

/* Ethernet II with chosen addresses, for frames inside tunnels. */
static void put_ethernet_between(struct frame *f, const uint8_t *source, const uint8_t *destination,
                                 uint16_t type) {
    put_bytes(f, destination, 6);
    put_bytes(f, source, 6);
    put_be16(f, type);
}

/* Inner Ethernet frame mac_c -> mac_d carrying IPv4 UDP 1000 -> 2000 (42 bytes). */
static void put_inner_ethernet_udp(struct frame *f) {
    put_ethernet_between(f, mac_c, mac_d, 0x0800);
    put_ipv4_full(f, 17, 28, 0, "192.168.0.1", "192.168.0.2");
    put_udp(f, 1000, 2000, 0);
}

static void build_vlan_9100(struct frame *f) {
    put_ethernet(f, 0x9100);
    put_be16(f, 30);
    put_be16(f, 0x0800);
    put_ipv4(f, 17, 8);
    put_udp(f, 1000, 2000, 0);
}

/* 0x88A8, 0x9100 and 0x88A8 tags, the last one cut off: 28 bytes in all. */
static void build_qinq_truncated(struct frame *f) {
    put_ethernet(f, 0x88A8);
    put_be16(f, 1);
    put_be16(f, 0x88A8);
    put_be16(f, 2);
    put_be16(f, 0x9100);
    put_be16(f, 3);
    put_be16(f, 0x88A8);
    put_be16(f, 4);
}

/* 20-byte SLL2 header: protocol, reserved, interface index, ARPHRD_ETHER, packet type, address. */
static void put_linux_sll2(struct frame *f, uint16_t protocol) {
    put_be16(f, protocol);
    put_be16(f, 0);
    put_be16(f, 0);
    put_be16(f, 2);
    put_be16(f, 1);
    put_u8(f, 4); /* sent by us */
    put_u8(f, 6);
    put_bytes(f, mac_a, 6);
    put_zeros(f, 2);
}

static void build_linux_sll2(struct frame *f) {
    put_linux_sll2(f, 0x0800);
    put_ipv4(f, 6, 20);
    put_tcp(f, 22, 60000, 0x18, 5, 0);
}

static void build_linux_sll2_ipv6(struct frame *f) {
    put_linux_sll2(f, 0x86DD);
    put_ipv6(f, 17, 8);
    put_udp(f, 1000, 2000, 0);
}

/* SLL2 header and 8 bytes: fewer than 20 bytes at the IP offset. */
static void build_linux_sll2_short(struct frame *f) {
    put_linux_sll2(f, 0x0800);
    put_zeros(f, 8);
}

static void build_loop_ipv4(struct frame *f) {
    put_be16(f, 0);
    put_be16(f, 2);
    put_ipv4(f, 17, 8);
    put_udp(f, 1000, 2000, 0);
}

static void put_loop_ipv6(struct frame *f, uint16_t family) {
    put_be16(f, 0);
    put_be16(f, family);
    put_ipv6(f, 17, 8);
    put_udp(f, 1000, 2000, 0);
}

static void build_loop_ipv6_24(struct frame *f) { put_loop_ipv6(f, 24); }
static void build_loop_ipv6_28(struct frame *f) { put_loop_ipv6(f, 28); }
static void build_loop_ipv6_30(struct frame *f) { put_loop_ipv6(f, 30); }

/* AF_INET in little-endian order, as DLT_NULL writers put it: not a DLT_LOOP family. */
static void build_loop_little_endian(struct frame *f) {
    put_le16(f, 2);
    put_le16(f, 0);
    put_ipv4(f, 17, 8);
    put_udp(f, 1000, 2000, 0);
}

static void put_gre(struct frame *f, uint16_t flags, uint16_t protocol_type) {
    put_be16(f, flags);
    put_be16(f, protocol_type);
    if (flags & 0x8000) {
        put_be16(f, 0); /* checksum, not verified */
        put_be16(f, 0);
    }
    if (flags & 0x2000) {
        put_be16(f, 0); /* key 100 */
        put_be16(f, 100);
    }
    if (flags & 0x1000) {
        put_be16(f, 0); /* sequence number 7 */
        put_be16(f, 7);
    }
}

/* Ethernet and outer IPv4 172.16.0.1 -> 172.16.0.2 with protocol GRE and `l4_length` bytes after it. */
static void put_gre_outer(struct frame *f, uint16_t l4_length) {
    put_ethernet(f, 0x0800);
    put_ipv4_full(f, 47, (uint16_t)(20 + l4_length), 0, "172.16.0.1", "172.16.0.2");
}

static void build_gre_ipv4(struct frame *f) {
    put_gre_outer(f, 4 + 28);
    put_gre(f, 0, 0x0800);
    put_ipv4_full(f, 17, 28, 0, "192.168.0.1", "192.168.0.2");
    put_udp(f, 1000, 2000, 0);
}

/* Checksum, key and sequence number present: a 16-byte GRE header before IPv6. */
static void build_gre_all_fields_ipv6(struct frame *f) {
    put_gre_outer(f, 16 + 40 + 20);
    put_gre(f, 0xB000, 0x86DD);
    put_ipv6(f, 6, 20);
    put_tcp(f, 1000, 80, 0x02, 5, 0);
}

static void build_gre_bridging(struct frame *f) {
    put_gre_outer(f, 8 + 42);
    put_gre(f, 0x2000, 0x6558);
    put_inner_ethernet_udp(f);
}

/* Enhanced GRE version 1 (PPTP) carrying PPP: not decoded. */
static void build_gre_version_1(struct frame *f) {
    put_gre_outer(f, 8 + 20);
    put_gre(f, 0x2001, 0x880B);
    put_zeros(f, 20);
}

/* RFC 1701 routing present: not decoded. */
static void build_gre_routing(struct frame *f) {
    put_gre_outer(f, 4 + 28);
    put_gre(f, 0x4000, 0x0800);
    put_ipv4_full(f, 17, 28, 0, "192.168.0.1", "192.168.0.2");
    put_udp(f, 1000, 2000, 0);
}

/* MPLS inside GRE is not one of the decoded protocol types. */
static void build_gre_other_protocol(struct frame *f) {
    put_gre_outer(f, 4 + 24);
    put_gre(f, 0, 0x8847);
    put_zeros(f, 24);
}

/* The flags announce 16 header bytes, but the frame ends 8 bytes into GRE. */
static void build_gre_header_cut(struct frame *f) {
    put_gre_outer(f, 16 + 28);
    put_be16(f, 0xB000);
    put_be16(f, 0x0800);
    put_zeros(f, 4);
}

/* Only 10 bytes of the inner IPv4 header are captured. */
static void build_gre_inner_cut(struct frame *f) {
    put_gre_outer(f, 4 + 28);
    put_gre(f, 0, 0x0800);
    put_zeros(f, 10);
    f->bytes[f->length - 10] = 0x45;
}

static void build_gre_over_ipv6(struct frame *f) {
    put_ethernet(f, 0x86DD);
    put_ipv6_full(f, 47, 4 + 28, "2001:db8::a", "2001:db8::b");
    put_gre(f, 0, 0x0800);
    put_ipv4_full(f, 17, 28, 0, "192.168.0.1", "192.168.0.2");
    put_udp(f, 1000, 2000, 0);
}

/* 17 GRE layers before the UDP packet: past the re-entry limit. */
static void build_gre_too_deep(struct frame *f) {
    for (int i = 0; i < 17; i++) {
        put_ipv4_full(f, 47, 0, 0, "172.16.0.1", "172.16.0.2");
        put_gre(f, 0, 0x0800);
    }
    put_ipv4(f, 17, 8);
    put_udp(f, 1, 2, 0);
}

/* ERSPAN type II header: version 1, VLAN 0, session 1, index 0. */
static void put_erspan_ii(struct frame *f, uint8_t version) {
    put_u8(f, (uint8_t)(version << 4));
    put_u8(f, 0);
    put_be16(f, 1);
    put_zeros(f, 4);
}

static void build_erspan_ii(struct frame *f) {
    put_gre_outer(f, 8 + 8 + 42);
    put_gre(f, 0x1000, 0x88BE);
    put_erspan_ii(f, 1);
    put_inner_ethernet_udp(f);
}

static void build_erspan_ii_bad_version(struct frame *f) {
    put_gre_outer(f, 8 + 8 + 42);
    put_gre(f, 0x1000, 0x88BE);
    put_erspan_ii(f, 2);
    put_inner_ethernet_udp(f);
}

/* The frame ends 4 bytes into the 8-byte ERSPAN type II header. */
static void build_erspan_ii_cut(struct frame *f) {
    put_gre_outer(f, 8 + 8 + 42);
    put_gre(f, 0x1000, 0x88BE);
    put_u8(f, 0x10);
    put_zeros(f, 3);
}

/* Type I: GRE without sequence number, Ethernet right after it. */
static void build_erspan_i(struct frame *f) {
    put_gre_outer(f, 4 + 42);
    put_gre(f, 0, 0x88BE);
    put_inner_ethernet_udp(f);
}

/* ERSPAN type III header; byte 10 holds the frame type, byte 11 the O bit. */
static void put_erspan_iii(struct frame *f, uint8_t frame_type, int platform) {
    put_u8(f, 0x20); /* version 2 */
    put_u8(f, 0);
    put_be16(f, 1);
    put_zeros(f, 4); /* timestamp */
    put_be16(f, 0);  /* security group tag */
    put_u8(f, (uint8_t)(frame_type << 2));
    put_u8(f, platform ? 0x01 : 0x00);
    if (platform)
        put_zeros(f, 8);
}

static void build_erspan_iii(struct frame *f) {
    put_gre_outer(f, 8 + 12 + 42);
    put_gre(f, 0x1000, 0x22EB);
    put_erspan_iii(f, 0, 0);
    put_inner_ethernet_udp(f);
}

static void build_erspan_iii_platform(struct frame *f) {
    put_gre_outer(f, 8 + 20 + 42);
    put_gre(f, 0x1000, 0x22EB);
    put_erspan_iii(f, 0, 1);
    put_inner_ethernet_udp(f);
}

/* Frame type 2 (IP): not decoded. */
static void build_erspan_iii_ip_frame(struct frame *f) {
    put_gre_outer(f, 8 + 12 + 28);
    put_gre(f, 0x1000, 0x22EB);
    put_erspan_iii(f, 2, 0);
    put_ipv4_full(f, 17, 28, 0, "192.168.0.1", "192.168.0.2");
    put_udp(f, 1000, 2000, 0);
}

/* The O bit announces a platform subheader that the frame does not hold. */
static void build_erspan_iii_cut(struct frame *f) {
    put_gre_outer(f, 8 + 20 + 42);
    put_gre(f, 0x1000, 0x22EB);
    put_erspan_iii(f, 0, 0);
    f->bytes[f->length - 1] = 0x01;
    put_zeros(f, 4);
}

/* VXLAN header with flags `flags` and network identifier 256. */
static void put_vxlan(struct frame *f, uint8_t flags) {
    put_u8(f, flags);
    put_zeros(f, 3);
    put_be16(f, 0x0001);
    put_be16(f, 0x0000);
}

static void build_vxlan(struct frame *f) {
    put_udp_tunnel(f, 4789, 8 + 42);
    put_vxlan(f, 0x08);
    put_inner_ethernet_udp(f);
}

static void build_vxlan_no_i_flag(struct frame *f) {
    put_udp_tunnel(f, 4789, 8 + 42);
    put_vxlan(f, 0x00);
    put_inner_ethernet_udp(f);
}

/* Only 4 bytes after the UDP header on the VXLAN port. */
static void build_vxlan_short(struct frame *f) {
    put_udp_tunnel(f, 4789, 4);
    put_u8(f, 0x08);
    put_zeros(f, 3);
}

/* A valid VXLAN header followed by 10 bytes of Ethernet. */
static void build_vxlan_inner_cut(struct frame *f) {
    put_udp_tunnel(f, 4789, 8 + 10);
    put_vxlan(f, 0x08);
    put_zeros(f, 10);
}

/* Port 4789 as the source only: not VXLAN. */
static void build_vxlan_source_port(struct frame *f) {
    put_ethernet(f, 0x0800);
    put_ipv4_full(f, 17, 28 + 8 + 42, 0, "172.16.0.1", "172.16.0.2");
    put_udp(f, 4789, 40000, 8 + 42);
    put_vxlan(f, 0x08);
    put_inner_ethernet_udp(f);
}

static void build_vxlan_over_ipv6(struct frame *f) {
    put_ethernet(f, 0x86DD);
    put_ipv6_full(f, 17, 8 + 8 + 42, "2001:db8::a", "2001:db8::b");
    put_udp(f, 40000, 4789, 8 + 42);
    put_vxlan(f, 0x08);
    put_inner_ethernet_udp(f);
}

/* A hop-by-hop header before UDP: nfstream would look for UDP at the wrong offset. */
static void build_vxlan_over_ipv6_hop_by_hop(struct frame *f) {
    put_ethernet(f, 0x86DD);
    put_ipv6_full(f, 0, 8 + 8 + 8 + 42, "2001:db8::a", "2001:db8::b");
    put_u8(f, 17);
    put_u8(f, 0);
    put_zeros(f, 6);
    put_udp(f, 40000, 4789, 8 + 42);
    put_vxlan(f, 0x08);
    put_inner_ethernet_udp(f);
}

/* DLT_NULL with a little-endian AF_INET announces IPv6, so nfstream never reads the protocol. */
static void build_null_little_endian_vxlan(struct frame *f) {
    put_le16(f, 2);
    put_le16(f, 0);
    put_ipv4_full(f, 17, 28 + 8 + 42, 0, "172.16.0.1", "172.16.0.2");
    put_udp(f, 40000, 4789, 8 + 42);
    put_vxlan(f, 0x08);
    put_inner_ethernet_udp(f);
}

/* IPv6 UDP 1000 -> 2000 with addresses V6 (48 bytes), as Teredo carries it. */
static void put_inner_ipv6_udp(struct frame *f) {
    put_ipv6(f, 17, 8);
    put_udp(f, 1000, 2000, 0);
}

static void build_teredo(struct frame *f) {
    put_udp_tunnel(f, 3544, 48);
    put_inner_ipv6_udp(f);
}

static void put_teredo_origin(struct frame *f) {
    put_be16(f, 0x0000);
    put_be16(f, 0xFFFF ^ 3544); /* obfuscated port */
    put_be16(f, 0x3FFF);        /* obfuscated address */
    put_be16(f, 0xFFFE);
}

static void build_teredo_origin(struct frame *f) {
    put_udp_tunnel(f, 3544, 8 + 48);
    put_teredo_origin(f);
    put_inner_ipv6_udp(f);
}

/* Authentication header with a 2-byte client id and a 3-byte value (18 bytes), then origin. */
static void build_teredo_authentication(struct frame *f) {
    put_udp_tunnel(f, 3544, 18 + 8 + 48);
    put_be16(f, 0x0001);
    put_u8(f, 2);
    put_u8(f, 3);
    put_zeros(f, 2 + 3 + 8 + 1);
    put_teredo_origin(f);
    put_inner_ipv6_udp(f);
}

/* Payload on the Teredo port that starts with 0x45 bytes: not IPv6. */
static void build_teredo_not_ipv6(struct frame *f) {
    put_udp_tunnel(f, 3544, 48);
    memset(f->bytes + f->length, 0x45, 48);
    f->length += 48;
}

/* The inner IPv6 header claims 100 payload bytes in a 48-byte UDP payload. */
static void build_teredo_too_long(struct frame *f) {
    put_udp_tunnel(f, 3544, 48);
    put_ipv6(f, 17, 100);
    put_udp(f, 1000, 2000, 0);
}

/* ------------------------------------------------------------------ */
/* Frames: radiotap                                                    */
/* ------------------------------------------------------------------ */

/* 18-byte radiotap header with TSFT, Flags and Rate. */
static void put_radiotap(struct frame *f, uint8_t flags) {
    put_u8(f, 0);
    put_u8(f, 0);
    put_le16(f, 18);
    put_le16(f, 0x0007);
    put_le16(f, 0);
    put_zeros(f, 8); /* TSFT */
    put_u8(f, flags);
    put_u8(f, 2); /* rate */
}

/* QoS data frame to the DS: 26-byte 802.11 header, LLC/SNAP, IPv4, TCP. */
static void build_radiotap_data(struct frame *f) {
    static const uint8_t llc[8] = {0xAA, 0xAA, 0x03, 0, 0, 0, 0x08, 0x00};

    put_radiotap(f, 0x10); /* FCS present, not bad */
    put_u8(f, 0x88);
    put_u8(f, 0x01);
    put_be16(f, 0);
    put_bytes(f, mac_b, 6);
    put_bytes(f, mac_c, 6);
    put_bytes(f, mac_d, 6);
    put_be16(f, 0);
    put_be16(f, 0); /* QoS control */
    put_bytes(f, llc, 8);
    put_ipv4(f, 6, 20);
    put_tcp(f, 1000, 80, 0x02, 5, 0);
}

static void build_radiotap_bad_fcs(struct frame *f) {
    build_radiotap_data(f);
    f->bytes[16] = 0x50;
}

static void build_radiotap_beacon(struct frame *f) {
    put_radiotap(f, 0);
    put_u8(f, 0x80);
    put_u8(f, 0x00);
    put_zeros(f, 60);
}

/* Radiotap length 200 in a 60-byte frame. */
static void build_radiotap_too_long(struct frame *f) {
    put_radiotap(f, 0);
    put_zeros(f, 42);
    f->bytes[2] = 200;
}

/* ------------------------------------------------------------------ */
/* Table                                                               */
/* ------------------------------------------------------------------ */

struct expected {
    uint8_t ip_version;
    uint8_t protocol;
    uint16_t src_port;
    uint16_t dst_port;
    uint16_t ip_size;
    uint16_t transport_size;
    uint16_t payload_size;
    uint16_t vlan_id;
    uint8_t tunnel_id;
    uint8_t tcp_flags;
    uint32_t ip_offset;
    const char *src_ip;
    const char *dst_ip;
    const uint8_t *src_mac; /* NULL: all zero */
    const uint8_t *dst_mac;
};

struct decode_case {
    const char *name;
    int linktype;
    int flags; /* NF_DECODE_FLAG_* bits */
    void (*build)(struct frame *f);
    enum nf_drop_reason reason;
    struct expected expected;
};

#define V4(a, b) "10.0.0." #a, "10.0.0." #b
#define V4_INNER "192.168.0.1", "192.168.0.2"
#define V6 "2001:db8::1", "2001:db8::2"
#define OUTER_V4 "172.16.0.1", "172.16.0.2"
#define EXTENDED (NF_DECODE_FLAG_TUNNELS | NF_DECODE_FLAG_EXTENDED)
#define EXTENDED_ONLY NF_DECODE_FLAG_EXTENDED

static const struct decode_case cases[] = {
    {"ethernet ipv4 tcp", 1, 1, build_ethernet_tcp, NF_DROP_NONE,
     {4, 6, 1234, 80, 50, 30, 10, 0, 0, 0x12, 14, V4(1, 2), mac_a, mac_b}},
    {"ethernet ipv4 udp", 1, 1, build_ethernet_udp, NF_DROP_NONE,
     {4, 17, 5353, 53, 40, 20, 12, 0, 0, 0, 14, V4(1, 2), mac_a, mac_b}},
    {"ethernet ipv4 icmp", 1, 1, build_ethernet_icmp, NF_DROP_NONE,
     {4, 1, 0, 0, 48, 28, 20, 0, 0, 0, 14, V4(1, 2), mac_a, mac_b}},
    {"tcp with options", 1, 1, build_tcp_options, NF_DROP_NONE,
     {4, 6, 1234, 443, 57, 37, 5, 0, 0, 0x18, 14, V4(1, 2), mac_a, mac_b}},
    {"tcp data offset too large", 1, 1, build_tcp_offset_too_large, NF_DROP_NONE,
     {4, 6, 1234, 443, 40, 20, 0, 0, 0, 0x10, 14, V4(1, 2), mac_a, mac_b}},
    {"tcp segment too short", 1, 1, build_tcp_short_segment, NF_DROP_NONE,
     {4, 6, 0, 0, 30, 0, 0, 0, 0, 0, 14, V4(1, 2), mac_a, mac_b}},
    {"other protocol sizes zero", 1, 1, build_gre, NF_DROP_NONE,
     {4, 47, 0, 0, 44, 0, 0, 0, 0, 0, 14, V4(1, 2), mac_a, mac_b}},
    {"icmpv6 number over ipv4", 1, 1, build_ipv4_icmpv6_number, NF_DROP_NONE,
     {4, 58, 0, 0, 24, 4, 0, 0, 0, 0, 14, V4(1, 2), mac_a, mac_b}},
    {"vlan double tag innermost", 1, 1, build_vlan_double, NF_DROP_NONE,
     {4, 17, 1000, 2000, 28, 8, 0, 200, 0, 0, 22, V4(1, 2), mac_a, mac_b}},
    {"vlan tag truncated", 1, 1, build_vlan_truncated, NF_DROP_SHORT_TAG, {0}},
    {"qinq 88a8 not decoded", 1, 1, build_qinq_88a8, NF_DROP_IP_VERSION, {0}},
    {"mpls two labels", 1, 1, build_mpls_ipv4, NF_DROP_NONE,
     {4, 17, 1000, 2000, 28, 8, 0, 0, 0, 0, 22, V4(1, 2), mac_a, mac_b}},
    {"mpls ipv6 by version", 1, 1, build_mpls_ipv6, NF_DROP_NONE,
     {6, 17, 1000, 2000, 8, 8, 0, 0, 0, 0, 18, V6, mac_a, mac_b}},
    {"pppoe session", 1, 1, build_pppoe, NF_DROP_NONE,
     {4, 6, 5000, 80, 40, 20, 0, 0, 0, 0x02, 22, V4(1, 2), mac_a, mac_b}},
    {"snap keeps later fragment", 1, 1, build_snap_fragment, NF_DROP_NONE,
     {4, 17, 1000, 2000, 28, 8, 0, 0, 0, 0, 22, V4(1, 2), mac_a, mac_b}},
    {"spanning tree dropped", 1, 1, build_spanning_tree, NF_DROP_SPANNING_TREE, {0}},
    {"length type gap", 1, 1, build_ethernet_gap_type, NF_DROP_NONE,
     {4, 17, 1000, 2000, 28, 8, 0, 0, 0, 0, 14, V4(1, 2), mac_a, mac_b}},
    {"arp not ip", 1, 1, build_arp, NF_DROP_IP_VERSION, {0}},
    {"ethernet 27 bytes", 1, 1, build_ethernet_27_bytes, NF_DROP_SHORT_FRAME, {0}},
    {"ipv4 first fragment kept", 1, 1, build_ipv4_fragment_first, NF_DROP_NONE,
     {4, 17, 1000, 2000, 28, 8, 0, 0, 0, 0, 14, V4(1, 2), mac_a, mac_b}},
    {"ipv4 later fragment", 1, 1, build_ipv4_fragment_later, NF_DROP_IPV4_FRAGMENT, {0}},
    {"ipv4 total length zero", 1, 1, build_ipv4_total_length_zero, NF_DROP_IPV4_LENGTH, {0}},
    {"ipv4 header too long", 1, 0, build_ipv4_header_too_long, NF_DROP_IPV4_LENGTH, {0}},
    {"ipv4 header too long tunnels", 1, 1, build_ipv4_header_too_long, NF_DROP_TUNNEL, {0}},
    {"ipv4 snapped keeps sizes", 1, 1, build_ipv4_snapped, NF_DROP_NONE,
     {4, 6, 443, 50000, 1500, 1480, 1460, 0, 0, 0x10, 14, V4(1, 2), mac_a, mac_b}},
    {"ipv4 snapped in tcp", 1, 1, build_ipv4_snapped_in_tcp, NF_DROP_SHORT_FRAME, {0}},
    {"ip version 5", 1, 1, build_ip_version_5, NF_DROP_IP_VERSION, {0}},
    {"linux sll", 113, 1, build_linux_sll, NF_DROP_NONE,
     {4, 6, 22, 60000, 40, 20, 0, 0, 0, 0x18, 16, V4(1, 2), NULL, NULL}},
    {"linux sll short ip", 113, 1, build_linux_sll_short, NF_DROP_SHORT_IP, {0}},
    {"null big endian fragment", 0, 1, build_null_big_endian_fragment, NF_DROP_IPV4_FRAGMENT,
     {0}},
    {"null little endian fragment", 0, 1, build_null_little_endian_fragment, NF_DROP_NONE,
     {4, 17, 1000, 2000, 28, 8, 0, 0, 0, 0, 4, V4(1, 2), NULL, NULL}},
    {"null ipv6", 0, 1, build_null_ipv6, NF_DROP_NONE,
     {6, 58, 0, 0, 8, 8, 0, 0, 0, 0, 4, V6, NULL, NULL}},
    {"ppp protocol field", 9, 1, build_ppp, NF_DROP_NONE,
     {4, 17, 1000, 2000, 28, 8, 0, 0, 0, 0, 2, V4(1, 2), NULL, NULL}},
    {"ppp address bytes", 9, 1, build_ppp_with_address, NF_DROP_IP_VERSION, {0}},
    {"cisco hdlc fragment", 104, 1, build_cisco_hdlc_fragment, NF_DROP_IPV4_FRAGMENT, {0}},
    {"ppp serial", 50, 1, build_ppp_serial, NF_DROP_NONE,
     {4, 6, 179, 30000, 40, 20, 0, 0, 0, 0x18, 4, V4(1, 2), NULL, NULL}},
    {"raw ipv4", 12, 1, build_raw_ipv4, NF_DROP_NONE,
     {4, 17, 123, 123, 28, 8, 0, 0, 0, 0, 0, V4(1, 2), NULL, NULL}},
    {"raw linktype 101", 101, 1, build_raw_ipv4, NF_DROP_NONE,
     {4, 17, 123, 123, 28, 8, 0, 0, 0, 0, 0, V4(1, 2), NULL, NULL}},
    {"raw openbsd 14", 14, 1, build_raw_ipv6, NF_DROP_NONE,
     {6, 6, 443, 40000, 20, 20, 0, 0, 0, 0x11, 0, V6, NULL, NULL}},
    {"dlt ipv4", 228, 1, build_raw_ipv4, NF_DROP_NONE,
     {4, 17, 123, 123, 28, 8, 0, 0, 0, 0, 0, V4(1, 2), NULL, NULL}},
    {"dlt ipv6", 229, 1, build_raw_ipv6, NF_DROP_NONE,
     {6, 6, 443, 40000, 20, 20, 0, 0, 0, 0x11, 0, V6, NULL, NULL}},
    {"linux sll2 unsupported", 276, 1, build_raw_ipv4, NF_DROP_LINK_TYPE, {0}},
    {"ipv6 hop by hop", 1, 1, build_ipv6_hop_by_hop, NF_DROP_NONE,
     {6, 6, 1234, 80, 32, 24, 4, 0, 0, 0x02, 14, V6, mac_a, mac_b}},
    {"ipv6 routing chain", 1, 1, build_ipv6_routing_chain, NF_DROP_NONE,
     {6, 17, 547, 546, 36, 12, 4, 0, 0, 0, 14, V6, mac_a, mac_b}},
    {"ipv6 first fragment", 1, 1, build_ipv6_fragment_first, NF_DROP_NONE,
     {6, 17, 4000, 5000, 24, 16, 8, 0, 0, 0, 14, V6, mac_a, mac_b}},
    {"ipv6 later fragment", 1, 1, build_ipv6_fragment_later, NF_DROP_IPV6_EXTENSION, {0}},
    {"ipv6 no next header", 1, 1, build_ipv6_no_next_header, NF_DROP_IPV6_EXTENSION, {0}},
    {"ipv6 empty no next header", 12, 1, build_ipv6_no_next_header_empty, NF_DROP_NONE,
     {6, 59, 0, 0, 0, 0, 0, 0, 0, 0, 0, V6, NULL, NULL}},
    {"ipv6 extension too long", 1, 1, build_ipv6_extension_too_long, NF_DROP_IPV6_EXTENSION,
     {0}},
    {"ipv6 snapped", 1, 1, build_ipv6_snapped, NF_DROP_IPV6_TRUNCATED, {0}},
    {"ipv6 header cut", 1, 1, build_ipv6_header_cut, NF_DROP_IPV6_TRUNCATED, {0}},
    {"4in4 inner wins", 1, 0, build_4in4, NF_DROP_NONE,
     {4, 17, 1000, 2000, 28, 8, 0, 0, 0, 0, 34, V4_INNER, mac_a, mac_b}},
    {"6in4 inner wins", 1, 0, build_6in4, NF_DROP_NONE,
     {6, 6, 1000, 80, 20, 20, 0, 0, 0, 0x02, 34, V6, mac_a, mac_b}},
    {"4in6 inner wins", 1, 0, build_4in6, NF_DROP_NONE,
     {4, 6, 1000, 80, 40, 20, 0, 0, 0, 0x02, 54, V4_INNER, mac_a, mac_b}},
    {"6in6 inner wins", 1, 0, build_6in6, NF_DROP_NONE,
     {6, 17, 1000, 2000, 8, 8, 0, 0, 0, 0, 54, V6, mac_a, mac_b}},
    {"ip in ip too deep", 12, 1, build_ipip_too_deep, NF_DROP_TUNNEL, {0}},
    {"gtp inner fragment kept", 1, 1, build_gtp, NF_DROP_NONE,
     {4, 6, 1000, 80, 40, 20, 0, 0, NF_TUNNEL_GTP, 0x02, 50, V4_INNER, mac_a, mac_b}},
    {"gtp without decode tunnels", 1, 0, build_gtp, NF_DROP_NONE,
     {4, 17, 40000, 2152, 76, 56, 48, 0, 0, 0, 14, "172.16.0.1", "172.16.0.2", mac_a, mac_b}},
    {"gtp extension header", 1, 1, build_gtp_extension, NF_DROP_NONE,
     {4, 17, 1000, 53, 28, 8, 0, 0, NF_TUNNEL_GTP, 0, 58, V4_INNER, mac_a, mac_b}},
    {"gtp bad inner version", 1, 1, build_gtp_bad_inner_version, NF_DROP_IP_VERSION, {0}},
    {"gtp echo stays udp", 1, 1, build_gtp_echo, NF_DROP_NONE,
     {4, 17, 40000, 2152, 40, 20, 12, 0, 0, 0, 14, "172.16.0.1", "172.16.0.2", mac_a, mac_b}},
    {"gtp over ipv6 ignored", 1, 1, build_gtp_over_ipv6, NF_DROP_NONE,
     {6, 17, 2152, 2152, 64, 64, 56, 0, 0, 0, 14, V6, mac_a, mac_b}},
    {"tzsp ethernet", 1, 1, build_tzsp, NF_DROP_NONE,
     {4, 6, 1000, 80, 40, 20, 0, 0, NF_TUNNEL_TZSP, 0x02, 61, V4_INNER, mac_c, mac_d}},
    {"tzsp unsupported keeps id", 1, 1, build_tzsp_unsupported, NF_DROP_NONE,
     {4, 17, 40000, 37008, 36, 16, 8, 0, NF_TUNNEL_TZSP, 0, 14, "172.16.0.1", "172.16.0.2",
      mac_a, mac_b}},
    {"tzsp tag too long", 1, 1, build_tzsp_tag_too_long, NF_DROP_TUNNEL, {0}},
    {"tzsp header short", 1, 1, build_tzsp_short, NF_DROP_TUNNEL, {0}},
    {"udp header cut tunnels", 1, 1, build_udp_header_cut, NF_DROP_TUNNEL, {0}},
    {"udp header cut no tunnels", 1, 0, build_udp_header_cut, NF_DROP_NONE,
     {4, 17, 1000, 2000, 28, 8, 0, 0, 0, 0, 14, V4(1, 2), mac_a, mac_b}},
    {"capwap data", 1, 1, build_capwap, NF_DROP_NONE,
     {4, 17, 68, 67, 28, 8, 0, 0, NF_TUNNEL_CAPWAP, 0, 82, V4_INNER, mac_c, mac_d}},
    {"radiotap qos data", 127, 1, build_radiotap_data, NF_DROP_NONE,
     {4, 6, 1000, 80, 40, 20, 0, 0, 0, 0x02, 52, V4(1, 2), mac_c, mac_d}},
    {"radiotap bad fcs", 127, 1, build_radiotap_bad_fcs, NF_DROP_RADIOTAP, {0}},
    {"radiotap beacon", 127, 1, build_radiotap_beacon, NF_DROP_LINK_TYPE, {0}},
    {"radiotap length too long", 127, 1, build_radiotap_too_long, NF_DROP_RADIOTAP, {0}},
    /* Extended decoding: link types and VLAN tags. */
    {"qinq 88a8 extended", 1, EXTENDED, build_qinq_88a8, NF_DROP_NONE,
     {4, 17, 1000, 2000, 28, 8, 0, 20, 0, 0, 22, V4(1, 2), mac_a, mac_b}},
    {"qinq 88a8 without tunnels", 1, EXTENDED_ONLY, build_qinq_88a8, NF_DROP_NONE,
     {4, 17, 1000, 2000, 28, 8, 0, 20, 0, 0, 22, V4(1, 2), mac_a, mac_b}},
    {"vlan 9100 extended", 1, EXTENDED, build_vlan_9100, NF_DROP_NONE,
     {4, 17, 1000, 2000, 28, 8, 0, 30, 0, 0, 18, V4(1, 2), mac_a, mac_b}},
    {"vlan 9100 not decoded", 1, 1, build_vlan_9100, NF_DROP_IP_VERSION, {0}},
    {"qinq tag truncated", 1, EXTENDED, build_qinq_truncated, NF_DROP_SHORT_TAG, {0}},
    {"linux sll2 ipv4", 276, EXTENDED, build_linux_sll2, NF_DROP_NONE,
     {4, 6, 22, 60000, 40, 20, 0, 0, 0, 0x18, 20, V4(1, 2), NULL, NULL}},
    {"linux sll2 ipv6", 276, EXTENDED_ONLY, build_linux_sll2_ipv6, NF_DROP_NONE,
     {6, 17, 1000, 2000, 8, 8, 0, 0, 0, 0, 20, V6, NULL, NULL}},
    {"linux sll2 short ip", 276, EXTENDED, build_linux_sll2_short, NF_DROP_SHORT_IP, {0}},
    {"linux sll2 not extended", 276, 1, build_linux_sll2, NF_DROP_LINK_TYPE, {0}},
    {"loop ipv4", 108, EXTENDED, build_loop_ipv4, NF_DROP_NONE,
     {4, 17, 1000, 2000, 28, 8, 0, 0, 0, 0, 4, V4(1, 2), NULL, NULL}},
    {"loop ipv6 family 24", 108, EXTENDED, build_loop_ipv6_24, NF_DROP_NONE,
     {6, 17, 1000, 2000, 8, 8, 0, 0, 0, 0, 4, V6, NULL, NULL}},
    {"loop ipv6 family 28", 108, EXTENDED, build_loop_ipv6_28, NF_DROP_NONE,
     {6, 17, 1000, 2000, 8, 8, 0, 0, 0, 0, 4, V6, NULL, NULL}},
    {"loop ipv6 family 30", 108, EXTENDED, build_loop_ipv6_30, NF_DROP_NONE,
     {6, 17, 1000, 2000, 8, 8, 0, 0, 0, 0, 4, V6, NULL, NULL}},
    {"loop little endian family", 108, EXTENDED, build_loop_little_endian, NF_DROP_LINK_TYPE,
     {0}},
    {"loop not extended", 108, 1, build_loop_ipv4, NF_DROP_LINK_TYPE, {0}},
    /* Extended decoding: GRE and ERSPAN. */
    {"gre ipv4", 1, EXTENDED, build_gre_ipv4, NF_DROP_NONE,
     {4, 17, 1000, 2000, 28, 8, 0, 0, NF_TUNNEL_GRE, 0, 38, V4_INNER, mac_a, mac_b}},
    {"gre not extended", 1, 1, build_gre_ipv4, NF_DROP_NONE,
     {4, 47, 0, 0, 52, 0, 0, 0, 0, 0, 14, OUTER_V4, mac_a, mac_b}},
    {"gre extended without tunnels", 1, EXTENDED_ONLY, build_gre_ipv4, NF_DROP_NONE,
     {4, 47, 0, 0, 52, 0, 0, 0, 0, 0, 14, OUTER_V4, mac_a, mac_b}},
    {"gre all fields ipv6", 1, EXTENDED, build_gre_all_fields_ipv6, NF_DROP_NONE,
     {6, 6, 1000, 80, 20, 20, 0, 0, NF_TUNNEL_GRE, 0x02, 50, V6, mac_a, mac_b}},
    {"gre ethernet bridging", 1, EXTENDED, build_gre_bridging, NF_DROP_NONE,
     {4, 17, 1000, 2000, 28, 8, 0, 0, NF_TUNNEL_GRE, 0, 56, V4_INNER, mac_c, mac_d}},
    {"gre version 1 stays gre", 1, EXTENDED, build_gre_version_1, NF_DROP_NONE,
     {4, 47, 0, 0, 48, 0, 0, 0, 0, 0, 14, OUTER_V4, mac_a, mac_b}},
    {"gre routing stays gre", 1, EXTENDED, build_gre_routing, NF_DROP_NONE,
     {4, 47, 0, 0, 52, 0, 0, 0, 0, 0, 14, OUTER_V4, mac_a, mac_b}},
    {"gre mpls stays gre", 1, EXTENDED, build_gre_other_protocol, NF_DROP_NONE,
     {4, 47, 0, 0, 48, 0, 0, 0, 0, 0, 14, OUTER_V4, mac_a, mac_b}},
    {"gre header cut", 1, EXTENDED, build_gre_header_cut, NF_DROP_TUNNEL, {0}},
    {"gre inner ip cut", 1, EXTENDED, build_gre_inner_cut, NF_DROP_SHORT_IP, {0}},
    {"gre over ipv6", 1, EXTENDED, build_gre_over_ipv6, NF_DROP_NONE,
     {4, 17, 1000, 2000, 28, 8, 0, 0, NF_TUNNEL_GRE, 0, 58, V4_INNER, mac_a, mac_b}},
    {"gre too deep", 12, EXTENDED, build_gre_too_deep, NF_DROP_TUNNEL, {0}},
    {"erspan type ii", 1, EXTENDED, build_erspan_ii, NF_DROP_NONE,
     {4, 17, 1000, 2000, 28, 8, 0, 0, NF_TUNNEL_ERSPAN, 0, 64, V4_INNER, mac_c, mac_d}},
    {"erspan type ii bad version", 1, EXTENDED, build_erspan_ii_bad_version, NF_DROP_NONE,
     {4, 47, 0, 0, 78, 0, 0, 0, 0, 0, 14, OUTER_V4, mac_a, mac_b}},
    {"erspan type ii cut", 1, EXTENDED, build_erspan_ii_cut, NF_DROP_TUNNEL, {0}},
    {"erspan type i", 1, EXTENDED, build_erspan_i, NF_DROP_NONE,
     {4, 17, 1000, 2000, 28, 8, 0, 0, NF_TUNNEL_ERSPAN, 0, 52, V4_INNER, mac_c, mac_d}},
    {"erspan type iii", 1, EXTENDED, build_erspan_iii, NF_DROP_NONE,
     {4, 17, 1000, 2000, 28, 8, 0, 0, NF_TUNNEL_ERSPAN, 0, 68, V4_INNER, mac_c, mac_d}},
    {"erspan type iii platform", 1, EXTENDED, build_erspan_iii_platform, NF_DROP_NONE,
     {4, 17, 1000, 2000, 28, 8, 0, 0, NF_TUNNEL_ERSPAN, 0, 76, V4_INNER, mac_c, mac_d}},
    {"erspan type iii ip frame", 1, EXTENDED, build_erspan_iii_ip_frame, NF_DROP_NONE,
     {4, 47, 0, 0, 68, 0, 0, 0, 0, 0, 14, OUTER_V4, mac_a, mac_b}},
    {"erspan type iii cut", 1, EXTENDED, build_erspan_iii_cut, NF_DROP_TUNNEL, {0}},
    /* Extended decoding: VXLAN, Teredo, GTP-U over IPv6. */
    {"vxlan", 1, EXTENDED, build_vxlan, NF_DROP_NONE,
     {4, 17, 1000, 2000, 28, 8, 0, 0, NF_TUNNEL_VXLAN, 0, 64, V4_INNER, mac_c, mac_d}},
    {"vxlan not extended", 1, 1, build_vxlan, NF_DROP_NONE,
     {4, 17, 40000, 4789, 78, 58, 50, 0, 0, 0, 14, OUTER_V4, mac_a, mac_b}},
    {"vxlan without i flag", 1, EXTENDED, build_vxlan_no_i_flag, NF_DROP_NONE,
     {4, 17, 40000, 4789, 78, 58, 50, 0, 0, 0, 14, OUTER_V4, mac_a, mac_b}},
    {"vxlan header short", 1, EXTENDED, build_vxlan_short, NF_DROP_NONE,
     {4, 17, 40000, 4789, 32, 12, 4, 0, 0, 0, 14, OUTER_V4, mac_a, mac_b}},
    {"vxlan inner ethernet cut", 1, EXTENDED, build_vxlan_inner_cut, NF_DROP_SHORT_FRAME, {0}},
    {"vxlan source port only", 1, EXTENDED, build_vxlan_source_port, NF_DROP_NONE,
     {4, 17, 4789, 40000, 78, 58, 50, 0, 0, 0, 14, OUTER_V4, mac_a, mac_b}},
    {"vxlan over ipv6", 1, EXTENDED, build_vxlan_over_ipv6, NF_DROP_NONE,
     {4, 17, 1000, 2000, 28, 8, 0, 0, NF_TUNNEL_VXLAN, 0, 84, V4_INNER, mac_c, mac_d}},
    {"vxlan over ipv6 hop by hop", 1, EXTENDED, build_vxlan_over_ipv6_hop_by_hop, NF_DROP_NONE,
     {4, 17, 1000, 2000, 28, 8, 0, 0, NF_TUNNEL_VXLAN, 0, 92, V4_INNER, mac_c, mac_d}},
    {"vxlan null little endian", 0, EXTENDED, build_null_little_endian_vxlan, NF_DROP_NONE,
     {4, 17, 1000, 2000, 28, 8, 0, 0, NF_TUNNEL_VXLAN, 0, 54, V4_INNER, mac_c, mac_d}},
    {"vxlan null little endian default", 0, 1, build_null_little_endian_vxlan, NF_DROP_NONE,
     {4, 17, 40000, 4789, 78, 58, 50, 0, 0, 0, 4, OUTER_V4, NULL, NULL}},
    {"teredo", 1, EXTENDED, build_teredo, NF_DROP_NONE,
     {6, 17, 1000, 2000, 8, 8, 0, 0, NF_TUNNEL_TEREDO, 0, 42, V6, mac_a, mac_b}},
    {"teredo not extended", 1, 1, build_teredo, NF_DROP_NONE,
     {4, 17, 40000, 3544, 76, 56, 48, 0, 0, 0, 14, OUTER_V4, mac_a, mac_b}},
    {"teredo origin indication", 1, EXTENDED, build_teredo_origin, NF_DROP_NONE,
     {6, 17, 1000, 2000, 8, 8, 0, 0, NF_TUNNEL_TEREDO, 0, 50, V6, mac_a, mac_b}},
    {"teredo authentication", 1, EXTENDED, build_teredo_authentication, NF_DROP_NONE,
     {6, 17, 1000, 2000, 8, 8, 0, 0, NF_TUNNEL_TEREDO, 0, 68, V6, mac_a, mac_b}},
    {"teredo payload not ipv6", 1, EXTENDED, build_teredo_not_ipv6, NF_DROP_NONE,
     {4, 17, 40000, 3544, 76, 56, 48, 0, 0, 0, 14, OUTER_V4, mac_a, mac_b}},
    {"teredo ipv6 too long", 1, EXTENDED, build_teredo_too_long, NF_DROP_NONE,
     {4, 17, 40000, 3544, 76, 56, 48, 0, 0, 0, 14, OUTER_V4, mac_a, mac_b}},
    {"gtp over ipv6 extended", 1, EXTENDED, build_gtp_over_ipv6, NF_DROP_NONE,
     {6, 17, 1000, 2000, 8, 8, 0, 0, NF_TUNNEL_GTP, 0, 70, V6, mac_a, mac_b}},
    {"ethernet tcp extended", 1, EXTENDED, build_ethernet_tcp, NF_DROP_NONE,
     {4, 6, 1234, 80, 50, 30, 10, 0, 0, 0x12, 14, V4(1, 2), mac_a, mac_b}},
};

/* ------------------------------------------------------------------ */
/* Checks                                                              */
/* ------------------------------------------------------------------ */

static int failures;

static void check_number(const char *name, const char *field, uint64_t expected, uint64_t actual) {
    if (expected == actual)
        return;
    printf("FAIL %s: %s expected %llu, got %llu\n", name, field, (unsigned long long)expected,
           (unsigned long long)actual);
    failures++;
}

static void check_bytes(const char *name, const char *field, const uint8_t *expected,
                        const uint8_t *actual, size_t count) {
    if (memcmp(expected, actual, count) == 0)
        return;
    printf("FAIL %s: %s differs\n", name, field);
    failures++;
}

static void check_address(const char *name, const char *field, uint8_t version, const char *text,
                          const uint8_t *actual) {
    uint8_t expected[16] = {0};

    inet_pton(version == 4 ? AF_INET : AF_INET6, text, expected);
    check_bytes(name, field, expected, actual, 16);
}

static void check_mac(const char *name, const char *field, const uint8_t *expected,
                      const uint8_t *actual) {
    static const uint8_t zero[6] = {0};

    check_bytes(name, field, expected != NULL ? expected : zero, actual, 6);
}

static void check_fields(const struct decode_case *c, const struct frame *f,
                         const struct nf_packet *p) {
    const struct expected *e = &c->expected;

    check_number(c->name, "ip_version", e->ip_version, p->ip_version);
    check_number(c->name, "protocol", e->protocol, p->protocol);
    check_number(c->name, "src_port", e->src_port, p->src_port);
    check_number(c->name, "dst_port", e->dst_port, p->dst_port);
    check_number(c->name, "ip_size", e->ip_size, p->ip_size);
    check_number(c->name, "transport_size", e->transport_size, p->transport_size);
    check_number(c->name, "payload_size", e->payload_size, p->payload_size);
    check_number(c->name, "vlan_id", e->vlan_id, p->vlan_id);
    check_number(c->name, "tunnel_id", e->tunnel_id, p->tunnel_id);
    check_number(c->name, "tcp_flags", e->tcp_flags, p->tcp_flags);
    check_number(c->name, "ip offset", e->ip_offset, (uint64_t)(p->ip_data - f->bytes));
    check_number(c->name, "ip_caplen", f->length - e->ip_offset, p->ip_caplen);
    check_number(c->name, "raw_size", f->length, p->raw_size);
    check_number(c->name, "time_ns", 0, p->time_ns);
    check_address(c->name, "src_ip", e->ip_version, e->src_ip, p->src_ip);
    check_address(c->name, "dst_ip", e->ip_version, e->dst_ip, p->dst_ip);
    check_mac(c->name, "src_mac", e->src_mac, p->src_mac);
    check_mac(c->name, "dst_mac", e->dst_mac, p->dst_mac);
}

static void run_case(const struct decode_case *c) {
    struct frame f = {.length = 0};
    struct nf_packet packet;

    c->build(&f);
    enum nf_drop_reason reason =
        nf_decode_packet(c->linktype, c->flags, f.bytes, f.length, f.length, &packet);

    if (reason != c->reason) {
        printf("FAIL %s: reason expected \"%s\", got \"%s\"\n", c->name,
               nf_drop_reason_name(c->reason), nf_drop_reason_name(reason));
        failures++;
        return;
    }
    if (reason == NF_DROP_NONE)
        check_fields(c, &f, &packet);
}

/* Every frame cut at every length decodes without reading past the cut (ASan checks). */
static void run_truncations(void) {
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct frame f = {.length = 0};
        struct nf_packet packet;

        cases[i].build(&f);
        for (uint32_t length = 0; length <= f.length; length++) {
            /* The cut frame ends at the end of the buffer, so ASan sees any read past it. */
            uint8_t copy[FRAME_CAPACITY];
            uint8_t *start = copy + FRAME_CAPACITY - length;

            memcpy(start, f.bytes, length);
            nf_decode_packet(cases[i].linktype, cases[i].flags | NF_DECODE_FLAG_TUNNELS, start,
                             length, length, &packet);
        }
    }
}

static void run_misc(void) {
    struct frame f = {.length = 0};
    struct nf_packet packet;

    build_ethernet_tcp(&f);
    nf_decode_packet(1, 1, f.bytes, f.length, 70000, &packet);
    check_number("raw size wraps", "raw_size", 70000 - 65536, packet.raw_size);

    check_number("null frame", "reason", NF_DROP_SHORT_FRAME,
                 nf_decode_packet(1, 1, NULL, 0, 0, &packet));

    static const int supported[] = {0, 1, 9, 12, 14, 50, 101, 104, 113, 127, 228, 229};
    for (size_t i = 0; i < sizeof(supported) / sizeof(supported[0]); i++)
        check_number("supported link type", "result", 1,
                     (uint64_t)nf_decode_supports_linktype(supported[i], 0));
    static const int unsupported[] = {-1, 105, 108, 239, 276, 51};
    for (size_t i = 0; i < sizeof(unsupported) / sizeof(unsupported[0]); i++)
        check_number("unsupported link type", "result", 0,
                     (uint64_t)nf_decode_supports_linktype(unsupported[i], NF_DECODE_FLAG_TUNNELS));
    static const int extended_only[] = {108, 276};
    for (size_t i = 0; i < sizeof(extended_only) / sizeof(extended_only[0]); i++)
        check_number("extended link type", "result", 1,
                     (uint64_t)nf_decode_supports_linktype(extended_only[i],
                                                           NF_DECODE_FLAG_EXTENDED));
    for (size_t i = 0; i < sizeof(supported) / sizeof(supported[0]); i++)
        check_number("supported link type extended", "result", 1,
                     (uint64_t)nf_decode_supports_linktype(supported[i], EXTENDED));
    check_number("unsupported link type extended", "result", 0,
                 (uint64_t)nf_decode_supports_linktype(105, EXTENDED));

    for (int reason = 0; reason < NF_DROP_REASON_COUNT; reason++) {
        const char *text = nf_drop_reason_name((enum nf_drop_reason)reason);
        check_number("drop reason name", "present", 1, text != NULL && text[0] != '\0');
    }
    check_number("drop reason out of range", "unknown", 0,
                 (uint64_t)strcmp(nf_drop_reason_name(NF_DROP_REASON_COUNT),
                                  "unknown drop reason"));
}

int main(void) {
    size_t count = sizeof(cases) / sizeof(cases[0]);

    for (size_t i = 0; i < count; i++)
        run_case(&cases[i]);
    run_truncations();
    run_misc();

    if (failures > 0) {
        printf("%d check(s) failed\n", failures);
        return 1;
    }
    printf("test_decode: %zu cases passed\n", count);
    return 0;
}
