/*
 * meter.c - the packet-to-flow state machine.
 *
 * For every accepted packet, in this order (nfstream's, which decides
 * flow boundaries and ids):
 *   1. order time: a packet older than the newest one seen gets the
 *      newest time, so times never go backwards;
 *   2. decide whether an idle scan is due (at most one per 10 ms of
 *      packet time, always on the first packet);
 *   3. find the flow; an existing flow idle for idle_timeout or older
 *      than active_timeout is expired without the packet, which then
 *      starts a new flow; otherwise the packet updates it;
 *   4. dissection, then hooks; a hook may force expiry (-1);
 *   5. the idle scan: expire flows from the oldest, stopping at the
 *      first one still active, at most 1000 per scan.
 * Expired flows are finished (dissection results collected, on_expire
 * run) and appended to the ready queue, from which the engine hands them
 * out in order. A scan first unlinks its flows, then finishes them, so no
 * hook runs while the table is being walked.
 *
 * With a dissection thread (single meter, no hooks), dissection runs
 * there instead. Packets are sent to it and an expired flow gets a finish
 * job. The ready queue hands a flow out only once the thread has passed
 * that job, so flows leave in the same order with the same fields.
 *
 * Files without dissection or hooks meter each decoded frame a few frames
 * late (nf_meter_start_lookahead), after its flow's slot was prefetched.
 * The order of the steps above does not change.
 *
 * Live capture adds one input: nf_meter_advance moves the clock to wall
 * time when no packet arrives, so a quiet interface still expires idle
 * flows. Packet times remain the clock while packets arrive.
 */
#include <stdlib.h>

#include "internal.h"

#define NF_SCAN_INTERVAL_MS 10
#define NF_SCAN_MAX_FLOWS 1000
/* How far ahead a flush loads the slots of the flows it will remove. */
#define NF_PREFETCH_FLOWS 8
/* Decoded packets that wait while their slots load (see nf_meter_start_lookahead). */
#define NF_LOOKAHEAD_PACKETS 8

struct nf_waiting_packet {
    struct nf_packet packet; /* ip_data is NULL: nothing reads it without dissection or hooks */
    struct nf_flow_key key;
    uint64_t hash;
};

struct nf_meter {
    struct nf_config config;
    struct nf_dissector *dissector; /* borrowed; NULL without dissection */
    struct nf_dissection_thread *dissection_thread; /* owned; NULL when dissecting inline */
    struct nf_hooks hooks;
    struct nf_stats *stats;         /* borrowed from the engine */
    struct nf_flow_table table;
    struct nf_flow_queue ready;     /* expired flows in emission order */
    uint64_t tick_ns;               /* newest packet time seen */
    uint64_t scan_tick_ms;          /* packet time of the last idle scan */
    unsigned shard_index;           /* meters only flows whose key hash modulo */
    unsigned shard_count;           /* shard_count is shard_index; 1 meters all */
    int lookahead;                  /* frames wait in `waiting` before they are metered */
    unsigned waiting_first;
    unsigned waiting_count;
    struct nf_waiting_packet waiting[NF_LOOKAHEAD_PACKETS];
};

struct nf_meter *nf_meter_create(const struct nf_config *config, struct nf_dissector *dissector,
                                 const struct nf_hooks *hooks, struct nf_stats *stats)
{
    struct nf_meter *meter = calloc(1, sizeof(*meter));

    if (meter == NULL)
        return NULL;
    if (nf_flow_table_init(&meter->table) != 0) {
        free(meter);
        return NULL;
    }
    meter->config = *config;
    meter->dissector = config->n_dissections > 0 ? dissector : NULL;
    if (hooks != NULL)
        meter->hooks = *hooks;
    meter->stats = stats;
    meter->shard_count = 1;
    return meter;
}

void nf_meter_set_shard(struct nf_meter *meter, unsigned index, unsigned count)
{
    meter->shard_index = index;
    meter->shard_count = count > 0 ? count : 1;
}

/* Returns 1 when a hook may read a flow's fields or packets while the meter works. */
static int has_flow_hooks(const struct nf_meter *meter)
{
    return meter->hooks.on_init != NULL || meter->hooks.on_update != NULL ||
           meter->hooks.on_expire != NULL;
}

int nf_meter_start_dissection_thread(struct nf_meter *meter, unsigned meters)
{
    if (meter->dissector == NULL || has_flow_hooks(meter) || meter->config.sync_app_info)
        return 0;
    /* With fewer than two cores per meter the threads would only compete for them. */
    if ((unsigned)nf_usable_cores() < 2 * (meters > 0 ? meters : 1))
        return 0;
    meter->dissection_thread =
        nf_dissection_thread_create(meter->dissector, meter->config.n_dissections);
    return meter->dissection_thread != NULL;
}

struct nf_flow *nf_meter_pop_ready(struct nf_meter *meter, int wait)
{
    struct nf_flow *flow = meter->ready.head;

    if (flow != NULL && meter->dissection_thread != NULL) {
        if (wait)
            nf_dissection_thread_wait(meter->dissection_thread, flow->dissection_ticket);
        else if (!nf_dissection_thread_passed(meter->dissection_thread, flow->dissection_ticket))
            return NULL;
    }
    return nf_flow_queue_pop(&meter->ready);
}

/* Sends packet `number` of a flow to dissection while the n_dissections rules may want it. */
static void dissect(struct nf_meter *meter, struct nf_flow *flow, struct nf_packet *packet,
                    uint64_t number)
{
    unsigned n_dissections = meter->config.n_dissections;

    if (meter->dissection_thread == NULL) {
        if (flow->dpi != NULL)
            nf_dissector_flow_update(meter->dissector, flow, packet, number, n_dissections,
                                     meter->config.sync_app_info);
        return;
    }
    /* Past packet n_dissections only n_dissections == 1 can go on (see dissector.c). */
    if (number > n_dissections && n_dissections != 1)
        return;
    if (!__atomic_load_n(&flow->dissection_done, __ATOMIC_RELAXED))
        nf_dissection_thread_packet(meter->dissection_thread, flow, packet, number);
}

/*
 * Finishes a flow already out of the table and queues it. The flow is
 * queued even when on_expire fails, so that it is freed with the meter.
 */
static int finish(struct nf_meter *meter, struct nf_flow *flow)
{
    int status = 0;

    if (meter->dissection_thread != NULL)
        flow->dissection_ticket = nf_dissection_thread_finish(meter->dissection_thread, flow);
    else if (meter->dissector != NULL)
        nf_dissector_flow_finish(meter->dissector, flow);
    if (meter->hooks.on_expire != NULL)
        status = meter->hooks.on_expire(meter->hooks.context, flow);
    nf_flow_queue_push(&meter->ready, flow);
    meter->stats->flows_expired++;
    meter->stats->flows_active--;
    return status != 0 ? NF_EHOOK : 0;
}

static int expire(struct nf_meter *meter, struct nf_flow *flow)
{
    nf_flow_table_remove(&meter->table, flow);
    return finish(meter, flow);
}

static int create_flow(struct nf_meter *meter, struct nf_packet *packet,
                       const struct nf_flow_key *key, uint64_t hash)
{
    struct nf_flow *flow = nf_flow_create(packet, key, hash, meter->config.accounting_mode,
                                          meter->config.statistical_analysis,
                                          meter->config.splt_analysis);

    /* Out of memory costs this packet, not the run: later packets may fit again. */
    if (flow == NULL) {
        meter->stats->flow_allocation_failures++;
        return 0;
    }
    if (meter->dissector != NULL) {
        /* A dissection thread allocates the nDPI state itself, so it frees what it allocated. */
        int status = meter->dissection_thread != NULL
                         ? nf_dissector_app_init(flow)
                         : nf_dissector_flow_init(meter->dissector, flow);

        if (status != 0) {
            nf_flow_free(flow);
            meter->stats->flow_allocation_failures++;
            return 0;
        }
    }
    if (nf_flow_table_insert(&meter->table, flow) != 0) {
        nf_flow_free(flow);
        meter->stats->flow_allocation_failures++;
        return 0;
    }
    /* After the insert, so a dissection thread never gets a job for a flow freed above. */
    if (meter->dissector != NULL)
        dissect(meter, flow, packet, 1);
    meter->stats->flows_created++;
    meter->stats->flows_active++;
    if (meter->hooks.on_init != NULL &&
        meter->hooks.on_init(meter->hooks.context, flow, packet) != 0)
        return NF_EHOOK;
    if (flow->expiration_id == -1)
        return expire(meter, flow);
    return 0;
}

static int update_flow(struct nf_meter *meter, struct nf_flow *flow, struct nf_packet *packet)
{
    nf_flow_update(flow, packet, meter->config.accounting_mode);
    if (meter->dissector != NULL)
        dissect(meter, flow, packet, flow->scope[NF_BIDIRECTIONAL].packets);
    if (meter->hooks.on_update != NULL &&
        meter->hooks.on_update(meter->hooks.context, flow, packet) != 0)
        return NF_EHOOK;
    if (flow->expiration_id == -1)
        return expire(meter, flow);
    return 0;
}

/* Returns 0 (idle), 1 (active timeout) or -1 when the flow stays open. */
static int timeout_reason(const struct nf_meter *meter, const struct nf_flow *flow,
                          uint64_t now_ms)
{
    const struct nf_scope_stats *bidirectional = &flow->scope[NF_BIDIRECTIONAL];

    if (now_ms - nf_ms(bidirectional->last_seen_ns) >= meter->config.idle_timeout_ms)
        return 0;
    if (now_ms - nf_ms(bidirectional->first_seen_ns) >= meter->config.active_timeout_ms)
        return 1;
    return -1;
}

static int consume(struct nf_meter *meter, struct nf_packet *packet,
                   const struct nf_flow_key *key, uint64_t hash)
{
    struct nf_flow *flow = nf_flow_table_find(&meter->table, key, hash);
    int reason;
    int status;

    if (flow == NULL)
        return create_flow(meter, packet, key, hash);
    reason = timeout_reason(meter, flow, nf_ms(packet->time_ns));
    if (reason < 0)
        return update_flow(meter, flow, packet);
    flow->expiration_id = reason;
    status = expire(meter, flow);
    if (status != 0)
        return status;
    return create_flow(meter, packet, key, hash);
}

/* Expires idle flows from the oldest, collecting them before any hook runs. */
static int scan_idle(struct nf_meter *meter)
{
    uint64_t now_ms = nf_ms(meter->tick_ns);
    struct nf_flow *collected = NULL;
    struct nf_flow **tail = &collected;
    int status = 0;

    for (int i = 0; i < NF_SCAN_MAX_FLOWS && meter->table.oldest != NULL; i++) {
        struct nf_flow *flow = meter->table.oldest;

        /* now_ms is the newest time, so the difference cannot wrap. */
        if (now_ms - nf_ms(flow->scope[NF_BIDIRECTIONAL].last_seen_ns) <
            meter->config.idle_timeout_ms)
            break;
        nf_flow_table_remove(&meter->table, flow);
        *tail = flow;
        tail = &flow->list_next;
    }
    while (collected != NULL) {
        struct nf_flow *flow = collected;

        collected = flow->list_next;
        if (finish(meter, flow) != 0)
            status = NF_EHOOK;
    }
    return status;
}

/* Meters a packet whose key and hash are already computed. */
static int process_keyed(struct nf_meter *meter, struct nf_packet *packet,
                         const struct nf_flow_key *key, uint64_t hash)
{
    int scan_due;
    int status;

    if (packet->time_ns > meter->tick_ns)
        meter->tick_ns = packet->time_ns;
    else
        packet->time_ns = meter->tick_ns;
    scan_due = nf_ms(meter->tick_ns) - meter->scan_tick_ms >= NF_SCAN_INTERVAL_MS;
    if (scan_due)
        meter->scan_tick_ms = nf_ms(meter->tick_ns);
    /* Another shard's packet only moves this meter's clock, as in nfstream's meters. */
    if (meter->shard_count > 1 && hash % meter->shard_count != meter->shard_index)
        return scan_due ? scan_idle(meter) : 0;
    meter->stats->packets_processed++;

    status = consume(meter, packet, key, hash);
    if (status != 0)
        return status;
    return scan_due ? scan_idle(meter) : 0;
}

int nf_meter_process(struct nf_meter *meter, struct nf_packet *packet)
{
    struct nf_flow_key key;

    nf_flow_key_from_packet(packet, &key);
    return process_keyed(meter, packet, &key, nf_flow_key_hash(&key));
}

int nf_meter_start_lookahead(struct nf_meter *meter)
{
    meter->lookahead = meter->dissector == NULL && !has_flow_hooks(meter);
    return meter->lookahead;
}

static int process_oldest_waiting(struct nf_meter *meter)
{
    struct nf_waiting_packet *waiting = &meter->waiting[meter->waiting_first];

    meter->waiting_first = (meter->waiting_first + 1) % NF_LOOKAHEAD_PACKETS;
    meter->waiting_count--;
    meter->stats->packets_read++;
    return process_keyed(meter, &waiting->packet, &waiting->key, waiting->hash);
}

/*
 * Queues a decoded packet and starts loading its slot, then meters the
 * oldest queued packet once the queue is full. Packets are metered in
 * the order they came, so only the timing of memory loads changes.
 */
static int wait_in_line(struct nf_meter *meter, const struct nf_packet *packet)
{
    struct nf_waiting_packet *waiting;
    int status = 0;

    if (meter->waiting_count == NF_LOOKAHEAD_PACKETS)
        status = process_oldest_waiting(meter);
    waiting = &meter->waiting[(meter->waiting_first + meter->waiting_count) %
                              NF_LOOKAHEAD_PACKETS];
    waiting->packet = *packet;
    waiting->packet.ip_data = NULL;
    nf_flow_key_from_packet(&waiting->packet, &waiting->key);
    waiting->hash = nf_flow_key_hash(&waiting->key);
    nf_flow_table_prefetch(&meter->table, waiting->hash);
    meter->waiting_count++;
    return status;
}

int nf_meter_frame(struct nf_meter *meter, const struct nf_frame *frame, int decode_flags)
{
    struct nf_packet packet;
    enum nf_drop_reason reason;

    reason = nf_decode_packet(frame->linktype, decode_flags, frame->data, frame->caplen,
                              frame->wirelen, &packet);
    if (reason != NF_DROP_NONE) {
        meter->stats->packets_read++;
        meter->stats->packets_ignored++;
        meter->stats->dropped[reason]++;
        return 0;
    }
    packet.time_ns = frame->time_ns;
    /* A waiting frame counts as read once metered, so after a stop read == processed + ignored. */
    if (meter->lookahead)
        return wait_in_line(meter, &packet);
    meter->stats->packets_read++;
    return nf_meter_process(meter, &packet);
}

int nf_meter_advance(struct nf_meter *meter, uint64_t now_ns)
{
    if (now_ns <= meter->tick_ns)
        return 0;
    meter->tick_ns = now_ns;
    if (nf_ms(now_ns) - meter->scan_tick_ms < NF_SCAN_INTERVAL_MS)
        return 0;
    meter->scan_tick_ms = nf_ms(now_ns);
    return scan_idle(meter);
}

int nf_meter_flush(struct nf_meter *meter)
{
    struct nf_flow *ahead;
    int status = 0;

    while (meter->waiting_count > 0) {
        int waiting_status = process_oldest_waiting(meter);

        if (status == 0)
            status = waiting_status;
    }
    ahead = meter->table.oldest;
    /*
     * Removing a flow waits on its slot, a random place in a large array.
     * The slot of the flow NF_PREFETCH_FLOWS later is loaded meanwhile.
     * Only on_expire could take other flows out of the list, so without
     * it `ahead` stays in the list.
     */
    if (meter->hooks.on_expire != NULL)
        ahead = NULL;
    for (int i = 0; i < NF_PREFETCH_FLOWS && ahead != NULL; i++)
        ahead = ahead->list_next;
    while (meter->table.oldest != NULL) {
        if (ahead != NULL) {
            nf_flow_table_prefetch(&meter->table, ahead->hash);
            ahead = ahead->list_next;
        }
        if (expire(meter, meter->table.oldest) != 0)
            status = NF_EHOOK;
        if (status != 0)
            break;
    }
    return status;
}

static void discard(struct nf_meter *meter, struct nf_flow *flow)
{
    if (flow->user_data != NULL && meter->hooks.on_release != NULL)
        meter->hooks.on_release(meter->hooks.context, flow);
    else
        nf_flow_free(flow);
}

void nf_meter_free(struct nf_meter *meter)
{
    struct nf_flow *flow;

    if (meter == NULL)
        return;
    /*
     * The thread may still hold jobs for flows freed below. In a forked
     * child the absent thread may have left any flow's nDPI state half
     * freed, so the flows are left to the end of the process.
     */
    if (nf_dissection_thread_lost(meter->dissection_thread)) {
        nf_dissection_thread_free(meter->dissection_thread);
        nf_flow_table_destroy(&meter->table);
        free(meter);
        return;
    }
    nf_dissection_thread_free(meter->dissection_thread);
    while ((flow = meter->table.oldest) != NULL) {
        nf_flow_table_remove(&meter->table, flow);
        discard(meter, flow);
    }
    while ((flow = nf_flow_queue_pop(&meter->ready)) != NULL)
        discard(meter, flow);
    nf_flow_table_destroy(&meter->table);
    free(meter);
}
