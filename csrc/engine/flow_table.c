/*
 * flow_table.c - hash table of active flows with a list in insertion order.
 *
 * The table is open addressing with linear probing over an array of
 * (hash, flow) slots, a power of two long and at most half full. Keeping
 * the hash in the slot means a lookup touches one cache line of the array
 * and, only when the hash matches, the flow itself. A chained table paid a
 * miss for the bucket and another for each flow on the chain (measured with
 * perf on a capture of one million flows, where lookups took 42% of the
 * time). Removal shifts later slots of the probe run back, so no tombstones
 * are left.
 *
 * The list through list_prev/list_next keeps flows in creation order,
 * which is nfstream's cache order: its idle scan and end-of-capture flush
 * walk from the oldest flow, and emission order (and so flow ids) depends
 * on it. Updates do not move a flow. The same links chain expired flows
 * in a struct nf_flow_queue once they left the table.
 *
 * Limits: growth doubles the array in one step; with a million flows that
 * rehash takes a few milliseconds.
 */
#define _DEFAULT_SOURCE

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "internal.h"

#define NF_TABLE_INITIAL_SLOTS 8192
#define NF_HUGE_PAGE_SIZE (2u << 20)

/*
 * Allocates `count` zeroed slots. Arrays of 2 MiB and more are aligned
 * for transparent huge pages, because each lookup lands on a random slot.
 * With 4 KiB pages most lookups also missed the TLB, so a lookup in a
 * table of a million flows waited on two memory loads instead of one.
 */
static struct nf_flow_slot *allocate_slots(uint64_t count)
{
    size_t size = (size_t)count * sizeof(struct nf_flow_slot);
    struct nf_flow_slot *slots;

    if (size < NF_HUGE_PAGE_SIZE)
        return calloc(count, sizeof(struct nf_flow_slot));
    slots = aligned_alloc(NF_HUGE_PAGE_SIZE, size);
    if (slots == NULL)
        return NULL;
#ifdef MADV_HUGEPAGE
    (void)madvise(slots, size, MADV_HUGEPAGE); /* only a hint; failure is harmless */
#endif
    memset(slots, 0, size);
    return slots;
}

int nf_flow_table_init(struct nf_flow_table *table)
{
    memset(table, 0, sizeof(*table));
    table->slots = allocate_slots(NF_TABLE_INITIAL_SLOTS);
    if (table->slots == NULL)
        return NF_ENOMEM;
    table->mask = NF_TABLE_INITIAL_SLOTS - 1;
    return 0;
}

static uint64_t mix64(uint64_t value)
{
    /* Finaliser of SplitMix64: every input bit affects every output bit. */
    value ^= value >> 30;
    value *= UINT64_C(0xbf58476d1ce4e5b9);
    value ^= value >> 27;
    value *= UINT64_C(0x94d049bb133111eb);
    value ^= value >> 31;
    return value;
}

uint64_t nf_flow_key_hash(const struct nf_flow_key *key)
{
    uint64_t words[sizeof(*key) / 8];
    uint64_t hash = UINT64_C(0x9e3779b97f4a7c15);

    _Static_assert(sizeof(struct nf_flow_key) == 48, "the key must be six 64-bit words");
    memcpy(words, key, sizeof(words));
    /* A multiply per word spreads it; one full mix at the end is enough for the low bits. */
    for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
        hash = (hash ^ words[i]) * UINT64_C(0x100000001b3) + (hash >> 29);
    return mix64(hash);
}

struct nf_flow *nf_flow_table_find(const struct nf_flow_table *table, const struct nf_flow_key *key,
                                   uint64_t hash)
{
    for (uint64_t i = hash & table->mask;; i = (i + 1) & table->mask) {
        const struct nf_flow_slot *slot = &table->slots[i];

        if (slot->flow == NULL)
            return NULL;
        if (slot->hash == hash && memcmp(&slot->flow->key, key, sizeof(*key)) == 0)
            return slot->flow;
    }
}

/* Puts a flow in the first free slot of its probe run; the array has a free slot. */
static void place(struct nf_flow_slot *slots, uint64_t mask, uint64_t hash, struct nf_flow *flow)
{
    uint64_t i = hash & mask;

    while (slots[i].flow != NULL)
        i = (i + 1) & mask;
    slots[i].hash = hash;
    slots[i].flow = flow;
}

static int grow(struct nf_flow_table *table)
{
    uint64_t new_mask = table->mask * 2 + 1;
    struct nf_flow_slot *slots = allocate_slots(new_mask + 1);

    if (slots == NULL)
        return NF_ENOMEM;
    for (uint64_t i = 0; i <= table->mask; i++) {
        if (table->slots[i].flow != NULL)
            place(slots, new_mask, table->slots[i].hash, table->slots[i].flow);
    }
    free(table->slots);
    table->slots = slots;
    table->mask = new_mask;
    return 0;
}

int nf_flow_table_insert(struct nf_flow_table *table, struct nf_flow *flow)
{
    uint64_t capacity = table->mask + 1;

    /* Keep the load at most 1/2; without memory to grow, accept up to 3/4. */
    if ((table->count + 1) * 2 > capacity && grow(table) != 0 &&
        (table->count + 1) * 4 > capacity * 3)
        return NF_ENOMEM;
    place(table->slots, table->mask, flow->hash, flow);
    flow->list_next = NULL;
    flow->list_prev = table->newest;
    if (table->newest != NULL)
        table->newest->list_next = flow;
    else
        table->oldest = flow;
    table->newest = flow;
    flow->in_table = 1;
    table->count++;
    return 0;
}

/* Empties slot `hole` and moves later entries of its probe run back into the gap. */
static void close_gap(struct nf_flow_table *table, uint64_t hole)
{
    uint64_t mask = table->mask;

    for (uint64_t next = (hole + 1) & mask; table->slots[next].flow != NULL;
         next = (next + 1) & mask) {
        uint64_t home = table->slots[next].hash & mask;

        /* An entry stays when its home lies cyclically in (hole, next]. */
        if (((next - home) & mask) < ((next - hole) & mask))
            continue;
        table->slots[hole] = table->slots[next];
        hole = next;
    }
    table->slots[hole].flow = NULL;
    table->slots[hole].hash = 0;
}

void nf_flow_table_remove(struct nf_flow_table *table, struct nf_flow *flow)
{
    uint64_t i = flow->hash & table->mask;

    while (table->slots[i].flow != flow)
        i = (i + 1) & table->mask;
    close_gap(table, i);
    if (flow->list_prev != NULL)
        flow->list_prev->list_next = flow->list_next;
    else
        table->oldest = flow->list_next;
    if (flow->list_next != NULL)
        flow->list_next->list_prev = flow->list_prev;
    else
        table->newest = flow->list_prev;
    flow->list_prev = NULL;
    flow->list_next = NULL;
    flow->in_table = 0;
    table->count--;
}

void nf_flow_queue_push(struct nf_flow_queue *queue, struct nf_flow *flow)
{
    flow->list_prev = queue->tail;
    flow->list_next = NULL;
    if (queue->tail != NULL)
        queue->tail->list_next = flow;
    else
        queue->head = flow;
    queue->tail = flow;
    queue->count++;
}

struct nf_flow *nf_flow_queue_pop(struct nf_flow_queue *queue)
{
    struct nf_flow *flow = queue->head;

    if (flow == NULL)
        return NULL;
    queue->head = flow->list_next;
    if (queue->head != NULL)
        queue->head->list_prev = NULL;
    else
        queue->tail = NULL;
    flow->list_next = NULL;
    queue->count--;
    return flow;
}

void nf_flow_table_destroy(struct nf_flow_table *table)
{
    free(table->slots);
    table->slots = NULL;
    table->count = 0;
    table->oldest = NULL;
    table->newest = NULL;
}
