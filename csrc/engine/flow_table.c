/*
 * flow_table.c - hash table of active flows with a list in insertion order.
 *
 * Buckets are a power of two and chain through nf_flow.hash_next. The
 * list through list_prev/list_next keeps flows in creation order, which
 * is nfstream's cache order: its idle scan and end-of-capture flush walk
 * from the oldest flow, and emission order (and so flow ids) depends on
 * it. Updates do not move a flow.
 *
 * Limits: growth doubles the bucket array in one step when the load
 * passes 1; with a million flows that rehash takes a few milliseconds.
 * TODO: rehash incrementally if a profile shows the pause matters.
 */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#define NF_TABLE_INITIAL_BUCKETS 4096

int nf_flow_table_init(struct nf_flow_table *table)
{
    memset(table, 0, sizeof(*table));
    table->buckets = calloc(NF_TABLE_INITIAL_BUCKETS, sizeof(struct nf_flow *));
    if (table->buckets == NULL)
        return NF_ENOMEM;
    table->mask = NF_TABLE_INITIAL_BUCKETS - 1;
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
    for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
        hash = mix64(hash ^ words[i]);
    return hash;
}

struct nf_flow *nf_flow_table_find(const struct nf_flow_table *table, const struct nf_flow_key *key,
                                   uint64_t hash)
{
    struct nf_flow *flow = table->buckets[hash & table->mask];

    for (; flow != NULL; flow = flow->hash_next) {
        if (flow->hash == hash && memcmp(&flow->key, key, sizeof(*key)) == 0)
            return flow;
    }
    return NULL;
}

static int grow(struct nf_flow_table *table)
{
    uint64_t new_mask = table->mask * 2 + 1;
    struct nf_flow **buckets = calloc(new_mask + 1, sizeof(struct nf_flow *));

    if (buckets == NULL)
        return NF_ENOMEM;
    for (uint64_t i = 0; i <= table->mask; i++) {
        struct nf_flow *flow = table->buckets[i];

        while (flow != NULL) {
            struct nf_flow *next = flow->hash_next;

            flow->hash_next = buckets[flow->hash & new_mask];
            buckets[flow->hash & new_mask] = flow;
            flow = next;
        }
    }
    free(table->buckets);
    table->buckets = buckets;
    table->mask = new_mask;
    return 0;
}

int nf_flow_table_insert(struct nf_flow_table *table, struct nf_flow *flow)
{
    struct nf_flow **bucket = &table->buckets[flow->hash & table->mask];

    flow->hash_next = *bucket;
    *bucket = flow;
    flow->list_next = NULL;
    flow->list_prev = table->newest;
    if (table->newest != NULL)
        table->newest->list_next = flow;
    else
        table->oldest = flow;
    table->newest = flow;
    flow->in_table = 1;
    table->count++;
    /* A failed growth keeps the table correct, only with longer chains. */
    if (table->count > table->mask + 1)
        return grow(table);
    return 0;
}

void nf_flow_table_remove(struct nf_flow_table *table, struct nf_flow *flow)
{
    struct nf_flow **link = &table->buckets[flow->hash & table->mask];

    while (*link != NULL && *link != flow)
        link = &(*link)->hash_next;
    if (*link == flow)
        *link = flow->hash_next;
    if (flow->list_prev != NULL)
        flow->list_prev->list_next = flow->list_next;
    else
        table->oldest = flow->list_next;
    if (flow->list_next != NULL)
        flow->list_next->list_prev = flow->list_prev;
    else
        table->newest = flow->list_prev;
    flow->hash_next = NULL;
    flow->list_prev = NULL;
    flow->list_next = NULL;
    flow->in_table = 0;
    table->count--;
}

void nf_flow_table_destroy(struct nf_flow_table *table)
{
    free(table->buckets);
    table->buckets = NULL;
    table->count = 0;
    table->oldest = NULL;
    table->newest = NULL;
}
