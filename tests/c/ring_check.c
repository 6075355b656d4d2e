/*
 * ring_check.c - sends records of many lengths through a small ring and
 * checks that the consumer gets each one whole and in order.
 *
 * Usage: ring_check RING_BYTES RECORDS SEED
 *
 * The producer picks lengths up to the whole ring, so records often do
 * not fit before the end and the ring wraps through fillers. It
 * waits for the consumer after some records (a ticket wait), and the
 * consumer pauses now and then, so both sides go to sleep on a full or
 * an empty ring. Built with ThreadSanitizer by the test suite; a lost
 * wake-up shows as a hang, which the test's timeout turns into a failure.
 * Prints the number of records checked and exits 1 at the first bad one.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "internal.h"

struct check {
    struct nf_ring *ring;
    uint64_t ring_bytes;
    uint64_t records;
    uint64_t seed;
};

/* xorshift64: the same sequence on both sides from the same seed. */
static uint64_t next_random(uint64_t *state)
{
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    return *state;
}

/* Mostly up to a third of the ring; one record in eight up to the whole ring. */
static uint32_t record_length(uint64_t *state, uint64_t ring_bytes)
{
    uint64_t draw = next_random(state);
    uint64_t limit = draw % 8 == 0 ? ring_bytes - 16 : ring_bytes / 3 - 8;

    return (uint32_t)((draw >> 3) % limit);
}

static uint8_t byte_at(uint64_t record, uint32_t offset)
{
    return (uint8_t)(record * 31 + offset * 7);
}

static void pause_microseconds(long microseconds)
{
    struct timespec delay = {0, microseconds * 1000L};

    nanosleep(&delay, NULL);
}

static void *produce(void *argument)
{
    struct check *check = argument;
    uint64_t state = check->seed;

    for (uint64_t record = 0; record < check->records; record++) {
        uint32_t length = record_length(&state, check->ring_bytes);
        uint8_t *bytes = nf_ring_reserve(check->ring, length + 8);
        uint64_t position;

        memcpy(bytes, &record, 8);
        for (uint32_t i = 0; i < length; i++)
            bytes[8 + i] = byte_at(record, i);
        position = nf_ring_commit(check->ring);
        if (next_random(&state) % 97 == 0)
            nf_ring_wait(check->ring, position);
    }
    nf_ring_close(check->ring);
    return NULL;
}

int main(int argc, char **argv)
{
    struct check check;
    pthread_t producer;
    uint64_t state, pause_state;
    uint64_t received = 0;
    uint32_t length;
    const uint8_t *bytes;

    if (argc != 4) {
        fprintf(stderr, "usage: ring_check RING_BYTES RECORDS SEED\n");
        return 2;
    }
    check.ring_bytes = strtoull(argv[1], NULL, 10);
    check.records = strtoull(argv[2], NULL, 10);
    check.seed = strtoull(argv[3], NULL, 10) | 1;
    check.ring = nf_ring_create(check.ring_bytes);
    if (check.ring == NULL || pthread_create(&producer, NULL, produce, &check) != 0) {
        fprintf(stderr, "cannot create the ring or its producer\n");
        return 2;
    }
    state = check.seed;
    pause_state = check.seed * 3;
    while ((bytes = nf_ring_next(check.ring, &length)) != NULL) {
        uint32_t expected = record_length(&state, check.ring_bytes);
        uint64_t number;

        next_random(&state); /* the producer's draw for its ticket wait */
        memcpy(&number, bytes, 8);
        if (number != received || length != expected + 8) {
            fprintf(stderr, "record %llu: got number %llu with %u bytes, expected %u\n",
                    (unsigned long long)received, (unsigned long long)number, length,
                    expected + 8);
            return 1;
        }
        for (uint32_t i = 0; i < expected; i++) {
            if (bytes[8 + i] != byte_at(number, i)) {
                fprintf(stderr, "record %llu: byte %u differs\n", (unsigned long long)number, i);
                return 1;
            }
        }
        nf_ring_release(check.ring);
        received++;
        if (next_random(&pause_state) % 211 == 0)
            pause_microseconds(50);
    }
    pthread_join(producer, NULL);
    nf_ring_free(check.ring, 0);
    if (received != check.records) {
        fprintf(stderr, "got %llu records, expected %llu\n", (unsigned long long)received,
                (unsigned long long)check.records);
        return 1;
    }
    printf("records %llu\n", (unsigned long long)received);
    return 0;
}
