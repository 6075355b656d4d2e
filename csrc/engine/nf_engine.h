/*
 * nf_engine.h - the public interface of the nfstream flow engine.
 *
 * The engine turns capture files into expired flows: capture.c reads
 * frames with libpcap, decode.c turns a frame into a struct nf_packet,
 * meter.c groups packets into struct nf_flow records kept in the flow
 * table (flow_table.c), updates their counters (flow.c), runs nDPI on
 * the first packets (dissector.c) and queues expired flows, and engine.c
 * ties those steps into one loop that hands out one flow at a time.
 *
 * The engine is plain C11. It never includes Python.h and never prints.
 * Functions that can fail return 0 (or a count) on success and a negative
 * NF_E* code on failure, with a message in the errbuf owned by the handle.
 * The only way Python code runs is through the hooks in struct nf_hooks,
 * which the bindings install when plugins exist.
 *
 * Times are kept in nanoseconds since the epoch. The millisecond values
 * that nfstream reports are derived by truncating division (ns / 10^6),
 * which equals nfstream's sec * 1000 + usec / 1000 for every timestamp.
 */
#ifndef NF_ENGINE_H
#define NF_ENGINE_H

#include <stddef.h>
#include <stdint.h>

#define NF_ERRBUF_SIZE 512

/* Error codes returned by engine functions (always negative). */
enum nf_error {
    NF_OK = 0,
    NF_EINVAL = -1,     /* invalid argument or configuration */
    NF_ENOMEM = -2,     /* allocation failed */
    NF_EOPEN = -3,      /* a capture file could not be opened or is not a capture */
    NF_ELINKTYPE = -4,  /* a capture uses a link type the decoder does not support */
    NF_EFILTER = -5,    /* the BPF filter does not compile */
    NF_EREAD = -6,      /* libpcap failed while reading a file */
    NF_EDISSECTOR = -7, /* nDPI could not be initialised */
    NF_EHOOK = -8,      /* a hook returned an error; the hook owns the details */
    NF_EFORK = -9,      /* the run's threads stayed in the parent of a fork */
};

#define NF_NS_PER_MS UINT64_C(1000000)

/* ------------------------------------------------------------------ */
/* Decoding (decode.c)                                                 */
/* ------------------------------------------------------------------ */

/* Why the decoder ignored a frame. NF_DROP_NONE means it was accepted. */
enum nf_drop_reason {
    NF_DROP_NONE = 0,
    NF_DROP_SHORT_FRAME,      /* shorter than the link header plus 28 bytes */
    NF_DROP_LINK_TYPE,        /* link type not decoded, or 802.11 frame not data */
    NF_DROP_SPANNING_TREE,    /* 802.3 LLC frame with the STP SAP (0x42) */
    NF_DROP_RADIOTAP,         /* radiotap header bad, short, or FCS flagged bad */
    NF_DROP_SHORT_TAG,        /* no room for a VLAN or MPLS tag */
    NF_DROP_SHORT_IP,         /* fewer than 20 bytes at the IP header */
    NF_DROP_IP_VERSION,       /* IP version nibble is neither 4 nor 6 */
    NF_DROP_IPV4_FRAGMENT,    /* IPv4 fragment other than the first */
    NF_DROP_IPV4_LENGTH,      /* IPv4 header length or total length invalid */
    NF_DROP_IPV6_TRUNCATED,   /* IPv6 packet shorter in the capture than its payload length */
    NF_DROP_IPV6_EXTENSION,   /* IPv6 extension chain invalid, non-first fragment or no next header */
    NF_DROP_TUNNEL,           /* tunnel header (GTP-U, TZSP, CAPWAP, GRE, ERSPAN) truncated or invalid */
    NF_DROP_REASON_COUNT
};

/* Returns a short English description of a drop reason ("IPv4 fragment"). */
const char *nf_drop_reason_name(enum nf_drop_reason reason);

/*
 * Tunnel ids. Values 0-5 are nDPI 4.2's ndpi_packet_tunnel numbers; 6-8
 * continue that list for tunnels nDPI has no number for. Only extended
 * decoding sets 5 and above, and no decoder sets 4 (L2TP) yet. The id
 * names the kind of the innermost tunnel, not one tunnel instance, so
 * the same inner endpoints in two GRE tunnels share a flow.
 */
enum nf_tunnel {
    NF_TUNNEL_NONE = 0,
    NF_TUNNEL_GTP = 1,    /* GTP-U T-PDU, UDP port 2152 */
    NF_TUNNEL_CAPWAP = 2, /* CAPWAP data carrying 802.11, UDP port 5247 */
    NF_TUNNEL_TZSP = 3,   /* TZSP carrying Ethernet, UDP port 37008 */
    NF_TUNNEL_L2TP = 4,   /* reserved: nDPI's number, never set */
    NF_TUNNEL_VXLAN = 5,  /* VXLAN, UDP destination port 4789 */
    NF_TUNNEL_GRE = 6,    /* GRE version 0 carrying IPv4, IPv6 or Ethernet (0x6558) */
    NF_TUNNEL_ERSPAN = 7, /* ERSPAN type I, II or III inside GRE */
    NF_TUNNEL_TEREDO = 8, /* Teredo IPv6 over UDP port 3544 */
};

/*
 * Decoding flags for nf_decode_packet. NF_DECODE_FLAG_TUNNELS decodes
 * nfstream's UDP tunnels (GTP-U, TZSP, CAPWAP). NF_DECODE_FLAG_EXTENDED
 * goes beyond nfstream: the Linux SLL2 and DLT_LOOP link types, 802.1ad
 * (0x88A8) and 0x9100 VLAN tags, and, together with
 * NF_DECODE_FLAG_TUNNELS, GRE, ERSPAN, VXLAN and Teredo. It also finds
 * the UDP header behind IPv6 extension headers where nfstream looks at
 * the wrong offset. Without NF_DECODE_FLAG_EXTENDED the result is
 * nfstream's, quirks included.
 */
#define NF_DECODE_FLAG_TUNNELS 0x1
#define NF_DECODE_FLAG_EXTENDED 0x2

/* TCP flag bits as they appear in the TCP header's flags byte. */
#define NF_TCP_FIN 0x01
#define NF_TCP_SYN 0x02
#define NF_TCP_RST 0x04
#define NF_TCP_PSH 0x08
#define NF_TCP_ACK 0x10
#define NF_TCP_URG 0x20
#define NF_TCP_ECE 0x40
#define NF_TCP_CWR 0x80

/*
 * One decoded packet. The decoder fills every field except those marked
 * "meter"; the meter fills those before it hands the packet to hooks.
 */
struct nf_packet {
    uint64_t time_ns;        /* capture time; the meter replaces it with the ordered time */
    const uint8_t *ip_data;  /* innermost IP header, inside the frame buffer (borrowed) */
    uint32_t ip_caplen;      /* captured bytes from ip_data to the end of the frame */
    uint8_t src_ip[16];      /* IPv4: 4 bytes then zeros; IPv6: 16 bytes, network order */
    uint8_t dst_ip[16];
    uint8_t src_mac[6];      /* zero when the link type has no MAC addresses */
    uint8_t dst_mac[6];
    uint16_t raw_size;       /* wire length of the whole frame, modulo 65536 */
    uint16_t ip_size;        /* IPv4 total length; IPv6 payload length (no fixed header) */
    uint16_t transport_size; /* L4 length including its header, 0 for other protocols */
    uint16_t payload_size;   /* L4 payload length */
    uint16_t src_port;       /* host order; 0 without TCP/UDP */
    uint16_t dst_port;
    uint16_t vlan_id;        /* innermost 802.1Q VLAN id, 0 if none */
    uint8_t protocol;        /* IPv4 protocol or last IPv6 next header */
    uint8_t ip_version;      /* 4 or 6 */
    uint8_t tunnel_id;       /* enum nf_tunnel */
    uint8_t tcp_flags;       /* NF_TCP_* bits, 0 unless TCP */
    /* meter */
    uint8_t direction;       /* 0 src2dst, 1 dst2src, relative to the flow */
    uint64_t delta_ms;       /* ms since the flow's previous packet, 0 for the first */
};

/*
 * Decodes one frame captured with link type `linktype` (a DLT_* value).
 * `flags` is a set of NF_DECODE_FLAG_* bits. Returns NF_DROP_NONE and
 * fills `packet` when the frame is accepted, or the reason it was
 * ignored. Never fails otherwise and never allocates; `packet->ip_data`
 * points into `frame`. The packet is zeroed first, so the caller sets
 * time_ns afterwards.
 */
enum nf_drop_reason nf_decode_packet(int linktype, int flags, const uint8_t *frame,
                                     uint32_t caplen, uint32_t wirelen, struct nf_packet *packet);

/*
 * Returns 1 when nf_decode_packet decodes `linktype` with `flags`
 * (NF_DECODE_FLAG_* bits), else 0. LINUX_SLL2 (276) and LOOP (108) need
 * NF_DECODE_FLAG_EXTENDED.
 */
int nf_decode_supports_linktype(int linktype, int flags);

/* ------------------------------------------------------------------ */
/* Flows (flow.c)                                                      */
/* ------------------------------------------------------------------ */

/* Hash-table key: endpoints ordered so both directions give the same key. */
struct nf_flow_key {
    uint8_t ip_a[16]; /* the lower (address, port) endpoint */
    uint8_t ip_b[16];
    uint16_t port_a;
    uint16_t port_b;
    uint16_t vlan_id;
    uint8_t protocol;
    uint8_t tunnel_id;
    uint8_t ip_version;
    uint8_t padding[7]; /* zeroed so the 48-byte key is hashed and compared whole */
};

enum nf_scope { NF_BIDIRECTIONAL = 0, NF_SRC2DST = 1, NF_DST2SRC = 2, NF_SCOPE_COUNT = 3 };

/* Index of each TCP flag counter in struct nf_scope_statistics.flag_packets. */
enum nf_flag_index {
    NF_FLAG_SYN, NF_FLAG_CWR, NF_FLAG_ECE, NF_FLAG_URG,
    NF_FLAG_ACK, NF_FLAG_PSH, NF_FLAG_RST, NF_FLAG_FIN, NF_FLAG_COUNT
};

/*
 * Counters of one scope (bidirectional, src2dst or dst2src). Sizes follow
 * the accounting mode. Invariant: packets == 0 implies every other field
 * is 0.
 */
struct nf_scope_stats {
    uint64_t first_seen_ns;
    uint64_t last_seen_ns;
    uint64_t packets;
    uint64_t bytes;
};

/*
 * Running statistics of one scope, kept only with statistical_analysis.
 * Means and M2 sums use Welford's update in the exact operation order
 * nfstream uses, so the floats match bit for bit.
 */
struct nf_scope_statistics {
    uint64_t min_piat_ms;
    uint64_t max_piat_ms;
    double mean_ps;
    double m2_ps;
    double mean_piat_ms;
    double m2_piat_ms;
    uint32_t flag_packets[NF_FLAG_COUNT];
    uint16_t min_ps;
    uint16_t max_ps;
};

/* The first packets of a flow (splt_analysis > 0); entries past `count` are -1. */
struct nf_splt {
    uint32_t capacity;  /* splt_analysis */
    uint32_t count;     /* entries filled */
    int8_t *direction;  /* the three arrays live in the same allocation as this struct */
    int32_t *size;
    int64_t *piat_ms;
};

#define NF_APP_NAME_SIZE 40
#define NF_CATEGORY_SIZE 24
#define NF_SERVER_NAME_SIZE 80
#define NF_FINGERPRINT_SIZE 48
#define NF_USER_AGENT_SIZE 256
#define NF_CONTENT_TYPE_SIZE 64

/* Dissection results of a flow, filled by dissector.c. Strings are NUL-terminated. */
struct nf_app_info {
    char application_name[NF_APP_NAME_SIZE];
    char category_name[NF_CATEGORY_SIZE];
    char requested_server_name[NF_SERVER_NAME_SIZE];
    char client_fingerprint[NF_FINGERPRINT_SIZE];
    char server_fingerprint[NF_FINGERPRINT_SIZE];
    char user_agent[NF_USER_AGENT_SIZE];
    char content_type[NF_CONTENT_TYPE_SIZE];
    int32_t is_guessed;
    int32_t confidence; /* nDPI 4.2's enum: 0 unknown, 1 port, 2 IP, 3 DPI cache, 4 DPI */
    uint8_t collected; /* 1 once the fields above were filled at least once */
    uint8_t done;      /* 0 while packets still go to nDPI, 1 or 2 once dissection ended */
    uint16_t app_id;   /* nDPI protocol ids of the last result */
    uint16_t master_id;
    uint16_t category_id;
};

struct nf_dpi_state; /* nDPI per-flow state, private to dissector.c */

/*
 * One flow. The meter owns flows in its table and ready queue; a flow
 * returned by nf_engine_next_flow belongs to the caller, who frees it
 * with nf_flow_free.
 */
struct nf_flow {
    struct nf_flow *list_prev;  /* cache order list, or ready queue */
    struct nf_flow *list_next;
    uint64_t hash;              /* hash of key */
    struct nf_flow_key key;
    int64_t id;                 /* emission order, -1 until emitted */
    int32_t expiration_id;      /* 0 idle or end of capture, 1 active, -1 forced by a hook */
    uint8_t src_ip[16];         /* first packet's endpoints */
    uint8_t dst_ip[16];
    uint8_t src_mac[6];
    uint8_t dst_mac[6];
    uint16_t src_port;
    uint16_t dst_port;
    uint16_t vlan_id;
    uint8_t protocol;
    uint8_t ip_version;
    uint8_t tunnel_id;
    uint8_t in_table;           /* 1 while the flow is in the table's hash and cache list */
    uint8_t dissection_done;    /* set by a dissection thread once flow->dpi is freed */
    struct nf_scope_stats scope[NF_SCOPE_COUNT];
    /* NF_SCOPE_COUNT entries after the flow in its allocation; NULL without statistical_analysis */
    struct nf_scope_statistics *statistics;
    struct nf_splt *splt;       /* NULL when splt_analysis == 0 */
    struct nf_app_info *app;    /* NULL when n_dissections == 0 */
    struct nf_dpi_state *dpi;   /* NULL once dissection ended */
    uint64_t dissection_ticket; /* ring position a dissection thread must pass before emission */
    void *user_data;            /* owned by the hooks (the Python flow object) */
};

/* Frees a flow, its SPLT arrays, its app info and its nDPI state. Accepts NULL. */
void nf_flow_free(struct nf_flow *flow);

/* Milliseconds of a nanosecond time, truncated as nfstream does. */
static inline uint64_t nf_ms(uint64_t time_ns) { return time_ns / NF_NS_PER_MS; }

/* ------------------------------------------------------------------ */
/* Dissection (dissector.c, the only file that includes nDPI)          */
/* ------------------------------------------------------------------ */

struct nf_dissector;

/*
 * Creates an nDPI detection module with every protocol enabled.
 * Returns NULL on failure with a message in errbuf.
 */
struct nf_dissector *nf_dissector_create(char *errbuf);

/* Frees the module. Accepts NULL. Flows' nDPI state does not refer to it. */
void nf_dissector_free(struct nf_dissector *dissector);

/*
 * Starts dissection of a new flow: allocates flow->dpi and flow->app if
 * needed. Returns 0 or NF_ENOMEM.
 */
int nf_dissector_flow_init(struct nf_dissector *dissector, struct nf_flow *flow);

/* Allocates flow->app only, if needed. Returns 0 or NF_ENOMEM. */
int nf_dissector_app_init(struct nf_flow *flow);

/*
 * Feeds the flow's packet number `packet_number` (1 for the first) to nDPI
 * when the n_dissections rules ask for it, gives up at packet
 * `n_dissections` when the application is still unknown, and frees
 * flow->dpi (after collecting the fields into flow->app) once dissection
 * ends. With `collect` set it also refreshes flow->app after the packet.
 * Never fails; does nothing when flow->dpi is NULL.
 */
void nf_dissector_flow_update(struct nf_dissector *dissector, struct nf_flow *flow,
                              const struct nf_packet *packet, uint64_t packet_number,
                              unsigned n_dissections, int collect);

/*
 * Ends dissection at expiry: gives up when the application is still
 * unknown and dissection had not ended, collects the fields into
 * flow->app and frees flow->dpi. Never fails. Does nothing when
 * flow->dpi is NULL.
 */
void nf_dissector_flow_finish(struct nf_dissector *dissector, struct nf_flow *flow);

/* Frees nDPI per-flow state without a module (used by nf_flow_free). Accepts NULL. */
void nf_dissector_state_free(struct nf_dpi_state *state);

/* ------------------------------------------------------------------ */
/* Hooks (installed by the bindings when plugins exist)                */
/* ------------------------------------------------------------------ */

/*
 * Callbacks the meter makes into its user. Any member may be NULL.
 * on_init runs after a flow was created from its first packet, on_update
 * after a later packet was counted, on_expire once the flow is final
 * (dissection finished) and before it is queued for the consumer.
 * They return 0, or -1 to stop the engine (nf_engine_next_flow then
 * returns NF_EHOOK). A hook may set flow->expiration_id to -1 to expire
 * the flow after the current packet.
 * on_release takes ownership of a flow with user_data that the engine
 * discards without emitting (engine freed early); it must free the flow.
 */
struct nf_hooks {
    void *context;
    int (*on_init)(void *context, struct nf_flow *flow, const struct nf_packet *packet);
    int (*on_update)(void *context, struct nf_flow *flow, const struct nf_packet *packet);
    int (*on_expire)(void *context, struct nf_flow *flow);
    void (*on_release)(void *context, struct nf_flow *flow);
    /*
     * Live capture only: on_wait_begin runs before the engine blocks in
     * libpcap and on_wait_end right after (the bindings release the GIL
     * between them). on_wait_end returns 0 to go on, 1 to stop capture
     * and emit every cached flow as at the end of a file, or -1 to fail
     * with NF_EHOOK.
     */
    void (*on_wait_begin)(void *context);
    int (*on_wait_end)(void *context);
};

/* ------------------------------------------------------------------ */
/* Engine (engine.c): capture + decode + meter                         */
/* ------------------------------------------------------------------ */

struct nf_config {
    const char *const *paths;  /* capture files read one after another (borrowed) */
    size_t path_count;
    const char *bpf_filter;    /* NULL for none (borrowed) */
    int decode_tunnels;
    int extended_decoding;     /* adds NF_DECODE_FLAG_EXTENDED */
    uint64_t idle_timeout_ms;
    uint64_t active_timeout_ms;
    int accounting_mode;       /* 0 raw, 1 ip, 2 transport, 3 payload */
    unsigned n_dissections;    /* 0..255 */
    int statistical_analysis;  /* flows keep struct nf_scope_statistics */
    unsigned splt_analysis;    /* 0..65535 */
    int sync_app_info;         /* refresh flow->app after every dissected packet (plugins) */
    /* Live capture: with `interface` set, paths are ignored. */
    const char *interface;     /* network interface name (borrowed), NULL to read files */
    int promiscuous_mode;
    int snapshot_length;       /* bytes captured per packet, > 0 */
    int socket_buffer_size;    /* bytes, 0 keeps the libpcap default */
    unsigned n_meters;         /* meters in threads (kernel fanout live, key hash shards for files); 0 means 1 */
};

/* Returns the NF_DECODE_FLAG_* bits that `config` asks for. */
static inline int nf_config_decode_flags(const struct nf_config *config) {
    return (config->decode_tunnels ? NF_DECODE_FLAG_TUNNELS : 0) |
           (config->extended_decoding ? NF_DECODE_FLAG_EXTENDED : 0);
}

/* Packet and flow counters of one engine run. */
struct nf_stats {
    uint64_t packets_read;       /* frames returned by libpcap */
    uint64_t packets_processed;  /* accepted by the decoder and metered */
    uint64_t packets_ignored;    /* sum of dropped[] */
    uint64_t dropped[NF_DROP_REASON_COUNT];
    uint64_t flows_created;
    uint64_t flows_expired;
    uint64_t flows_active;
    uint64_t files_truncated;    /* files whose last record was cut short */
    uint64_t flow_allocation_failures; /* packets not metered: memory for their new flow failed */
    uint64_t packets_dropped_kernel;    /* live: pcap_stats ps_drop (buffer full) */
    uint64_t packets_dropped_interface; /* live: pcap_stats ps_ifdrop */
};

/* Returned by nf_engine_next_flow during live capture when no flow became ready in time. */
#define NF_ENGINE_WAITING 2

/* About the longest time nf_engine_next_flow runs without a flow before it returns NF_ENGINE_WAITING. */
#define NF_LIVE_WAKE_MS 250

struct nf_engine;

/*
 * Opens the first capture file and prepares the meter. Returns NULL on
 * failure with a message in errbuf (NF_ERRBUF_SIZE bytes) and the code in
 * *error. Copies what it needs from config; hooks may be NULL.
 */
struct nf_engine *nf_engine_create(const struct nf_config *config, const struct nf_hooks *hooks,
                                   char *errbuf, int *error);

/*
 * Checks that a capture file opens, has a link type that decoding with
 * `decode_flags` (NF_DECODE_FLAG_* bits) supports, and that the filter
 * compiles for it, without reading packets. Returns 0 or a negative code
 * with a message in errbuf.
 */
int nf_engine_check_file(const char *path, const char *bpf_filter, int decode_flags,
                         char *errbuf);

/*
 * Checks an interface name and that the filter compiles (for Ethernet),
 * without opening the interface. Returns 0 or a negative code with a
 * message in errbuf.
 */
int nf_engine_check_interface(const char *interface, const char *bpf_filter, char *errbuf);

/*
 * Reads and meters packets until a flow is ready, then moves it to *flow
 * (the caller owns it and sets its id). Returns 1 with a flow, 0 when
 * every source is read and every flow emitted, NF_ENGINE_WAITING after
 * about NF_LIVE_WAKE_MS without a flow, or a negative code (the message
 * is in nf_engine_error). After NF_ENGINE_WAITING the caller can handle
 * signals and call again. May call the hooks.
 */
int nf_engine_next_flow(struct nf_engine *engine, struct nf_flow **flow);

/*
 * Moves a flow that a single meter has ready to *flow without reading,
 * waiting or calling hooks. Returns 1 with a flow, or 0 when none is
 * ready now (nf_engine_next_flow then reads on). Meant for a caller that
 * would release a lock around nf_engine_next_flow only when it must.
 */
int nf_engine_take_ready(struct nf_engine *engine, struct nf_flow **flow);

/*
 * Stops the run: the next nf_engine_next_flow call stops reading (live
 * capture closes its handles), expires every cached flow (expiration_id
 * 0, as at the end of a file) and then hands those flows out.
 */
void nf_engine_stop(struct nf_engine *engine);

/* Number of meters (1 unless live capture runs several). */
unsigned nf_engine_meter_count(const struct nf_engine *engine);

/* Packets metered by meter `index` so far, or 0 for an index out of range. */
uint64_t nf_engine_meter_processed(const struct nf_engine *engine, unsigned index);

/* Returns the message of the last error. */
const char *nf_engine_error(const struct nf_engine *engine);

/* Returns the running counters (summed over meters, refreshed on every nf_engine_next_flow). */
const struct nf_stats *nf_engine_stats(const struct nf_engine *engine);

/*
 * Path and packet count of the last file found truncated, or NULL when
 * none was. Lets the bindings warn the user.
 */
const char *nf_engine_truncation(const struct nf_engine *engine, uint64_t *packets_read);

/*
 * Frees the engine, its capture handle, its dissector and every flow not
 * yet emitted (flows with user_data go to hooks->on_release). Calls no
 * other hook. Accepts NULL.
 */
void nf_engine_free(struct nf_engine *engine);

#endif /* NF_ENGINE_H */
