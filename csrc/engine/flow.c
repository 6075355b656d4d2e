/*
 * flow.c - per-flow state: the canonical key, counters and running
 * statistics of the three scopes (bidirectional, src2dst, dst2src), and
 * the first-packets arrays (SPLT).
 *
 * One struct nf_scope_stats (with struct nf_scope_statistics when
 * statistical_analysis is on) and one update function serve all three
 * scopes. The floating-point updates follow nfstream's operation order
 * exactly, because users compare means and deviations bit for bit.
 */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

uint16_t nf_packet_size(const struct nf_packet *packet, int accounting_mode)
{
    switch (accounting_mode) {
    case 1:
        return packet->ip_size;
    case 2:
        return packet->transport_size;
    case 3:
        return packet->payload_size;
    default:
        return packet->raw_size;
    }
}

/* Orders endpoints by address (then port); any total order gives the same grouping. */
static int endpoint_compare(const uint8_t *ip_x, uint16_t port_x, const uint8_t *ip_y,
                            uint16_t port_y)
{
    int order = memcmp(ip_x, ip_y, 16);

    if (order != 0)
        return order;
    return (int)port_x - (int)port_y;
}

void nf_flow_key_from_packet(const struct nf_packet *packet, struct nf_flow_key *key)
{
    int swap = endpoint_compare(packet->src_ip, packet->src_port, packet->dst_ip,
                                packet->dst_port) > 0;

    memset(key, 0, sizeof(*key));
    memcpy(key->ip_a, swap ? packet->dst_ip : packet->src_ip, 16);
    memcpy(key->ip_b, swap ? packet->src_ip : packet->dst_ip, 16);
    key->port_a = swap ? packet->dst_port : packet->src_port;
    key->port_b = swap ? packet->src_port : packet->dst_port;
    key->vlan_id = packet->vlan_id;
    key->protocol = packet->protocol;
    key->tunnel_id = packet->tunnel_id;
    key->ip_version = packet->ip_version;
}

static void count_flags(struct nf_scope_statistics *statistics, uint8_t flags)
{
    static const uint8_t bits[NF_FLAG_COUNT] = {
        [NF_FLAG_SYN] = NF_TCP_SYN, [NF_FLAG_CWR] = NF_TCP_CWR, [NF_FLAG_ECE] = NF_TCP_ECE,
        [NF_FLAG_URG] = NF_TCP_URG, [NF_FLAG_ACK] = NF_TCP_ACK, [NF_FLAG_PSH] = NF_TCP_PSH,
        [NF_FLAG_RST] = NF_TCP_RST, [NF_FLAG_FIN] = NF_TCP_FIN,
    };

    for (int i = 0; i < NF_FLAG_COUNT; i++)
        statistics->flag_packets[i] += (flags & bits[i]) != 0;
}

static void statistics_start(struct nf_scope_statistics *statistics, uint16_t size)
{
    statistics->min_ps = size;
    statistics->max_ps = size;
    statistics->mean_ps = size;
    statistics->m2_ps = 0.0;
}

/*
 * Welford's update for the scope's packet number `packets` (2 or more),
 * `piat` ms after the previous one. The inter-arrival series has one
 * value fewer than the packet series, so its count is packets - 1.
 */
static void statistics_add(struct nf_scope_statistics *statistics, uint64_t packets,
                           uint64_t piat, uint16_t size)
{
    uint64_t intervals;
    double old_mean;

    statistics->min_ps = size < statistics->min_ps ? size : statistics->min_ps;
    statistics->max_ps = size > statistics->max_ps ? size : statistics->max_ps;
    old_mean = statistics->mean_ps;
    statistics->mean_ps += (size - old_mean) / (double)packets;
    statistics->m2_ps += (size - old_mean) * (size - statistics->mean_ps);

    intervals = packets - 1;
    if (intervals == 1) {
        statistics->min_piat_ms = piat;
        statistics->max_piat_ms = piat;
        statistics->mean_piat_ms = (double)piat;
        statistics->m2_piat_ms = 0.0;
        return;
    }
    statistics->min_piat_ms = piat < statistics->min_piat_ms ? piat : statistics->min_piat_ms;
    statistics->max_piat_ms = piat > statistics->max_piat_ms ? piat : statistics->max_piat_ms;
    old_mean = statistics->mean_piat_ms;
    statistics->mean_piat_ms += ((double)piat - old_mean) / (double)intervals;
    statistics->m2_piat_ms +=
        ((double)piat - old_mean) * ((double)piat - statistics->mean_piat_ms);
}

/* Counts a packet in a scope, and in its statistics when the flow keeps them (else NULL). */
static void scope_count(struct nf_scope_stats *scope, struct nf_scope_statistics *statistics,
                        uint64_t time_ns, uint16_t size, uint8_t flags)
{
    uint64_t piat = nf_ms(time_ns) - nf_ms(scope->last_seen_ns);

    if (scope->packets == 0)
        scope->first_seen_ns = time_ns;
    scope->last_seen_ns = time_ns;
    scope->packets++;
    scope->bytes += size;
    if (statistics == NULL)
        return;
    if (scope->packets == 1)
        statistics_start(statistics, size);
    else
        statistics_add(statistics, scope->packets, piat, size);
    count_flags(statistics, flags);
}

static struct nf_splt *splt_create(unsigned capacity)
{
    size_t entry_size = sizeof(int8_t) + sizeof(int32_t) + sizeof(int64_t);
    struct nf_splt *splt = malloc(sizeof(*splt) + (size_t)capacity * entry_size);

    if (splt == NULL)
        return NULL;
    splt->capacity = capacity;
    splt->count = 0;
    /* Widest array first so every array stays aligned. */
    splt->piat_ms = (int64_t *)(splt + 1);
    splt->size = (int32_t *)(splt->piat_ms + capacity);
    splt->direction = (int8_t *)(splt->size + capacity);
    for (unsigned i = 0; i < capacity; i++) {
        splt->piat_ms[i] = -1;
        splt->size[i] = -1;
        splt->direction[i] = -1;
    }
    return splt;
}

static void splt_record(struct nf_splt *splt, const struct nf_packet *packet, uint16_t size)
{
    if (splt == NULL || splt->count >= splt->capacity)
        return;
    splt->direction[splt->count] = (int8_t)packet->direction;
    splt->size[splt->count] = size;
    splt->piat_ms[splt->count] = (int64_t)packet->delta_ms;
    splt->count++;
}

/* Counts a packet, whose direction is already set, in the bidirectional scope and its own. */
static void count_packet(struct nf_flow *flow, const struct nf_packet *packet, uint16_t size)
{
    struct nf_scope_statistics *statistics = flow->statistics;
    int scope = NF_SRC2DST + packet->direction;

    scope_count(&flow->scope[NF_BIDIRECTIONAL], statistics == NULL ? NULL : &statistics[0],
                packet->time_ns, size, packet->tcp_flags);
    scope_count(&flow->scope[scope], statistics == NULL ? NULL : &statistics[scope],
                packet->time_ns, size, packet->tcp_flags);
    splt_record(flow->splt, packet, size);
}

struct nf_flow *nf_flow_create(struct nf_packet *packet, const struct nf_flow_key *key,
                               uint64_t hash, int accounting_mode, int statistics,
                               unsigned splt_capacity)
{
    size_t statistics_size = statistics ? NF_SCOPE_COUNT * sizeof(struct nf_scope_statistics) : 0;
    struct nf_flow *flow = calloc(1, sizeof(*flow) + statistics_size);
    uint16_t size = nf_packet_size(packet, accounting_mode);

    if (flow == NULL)
        return NULL;
    /* The statistics more than double a flow's size, so only runs that ask for them pay. */
    if (statistics)
        flow->statistics = (struct nf_scope_statistics *)(flow + 1);
    if (splt_capacity > 0 && (flow->splt = splt_create(splt_capacity)) == NULL) {
        free(flow);
        return NULL;
    }
    flow->key = *key;
    flow->hash = hash;
    flow->id = -1;
    memcpy(flow->src_ip, packet->src_ip, 16);
    memcpy(flow->dst_ip, packet->dst_ip, 16);
    memcpy(flow->src_mac, packet->src_mac, 6);
    memcpy(flow->dst_mac, packet->dst_mac, 6);
    flow->src_port = packet->src_port;
    flow->dst_port = packet->dst_port;
    flow->vlan_id = packet->vlan_id;
    flow->protocol = packet->protocol;
    flow->ip_version = packet->ip_version;
    flow->tunnel_id = packet->tunnel_id;

    packet->direction = 0;
    packet->delta_ms = 0;
    count_packet(flow, packet, size);
    return flow;
}

/* nfstream compares ports and addresses with the flow's first packet. */
static uint8_t packet_direction(const struct nf_flow *flow, const struct nf_packet *packet)
{
    size_t ip_size = flow->ip_version == 4 ? 4 : 16;

    if (packet->src_port == flow->src_port && packet->dst_port == flow->dst_port &&
        memcmp(packet->src_ip, flow->src_ip, ip_size) == 0 &&
        memcmp(packet->dst_ip, flow->dst_ip, ip_size) == 0)
        return 0;
    return 1;
}

void nf_flow_update(struct nf_flow *flow, struct nf_packet *packet, int accounting_mode)
{
    uint16_t size = nf_packet_size(packet, accounting_mode);

    packet->direction = packet_direction(flow, packet);
    packet->delta_ms = nf_ms(packet->time_ns) - nf_ms(flow->scope[NF_BIDIRECTIONAL].last_seen_ns);
    count_packet(flow, packet, size);
}

void nf_flow_free(struct nf_flow *flow)
{
    if (flow == NULL)
        return;
    nf_dissector_state_free(flow->dpi);
    free(flow->app);
    free(flow->splt);
    free(flow);
}
