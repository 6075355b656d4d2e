/*
 * ring.c - a ring of variable-length records from one producer thread to
 * one consumer thread.
 *
 * Records are written in place: the producer reserves room, fills it and
 * commits it; the consumer reads a record where it lies and releases it.
 * Positions count bytes since the start and never wrap, so a position
 * also serves as a ticket: the producer can wait until the consumer has
 * released everything before it.
 *
 * Waiting: both sides poll briefly, then sleep on a condition variable.
 * A sleeping consumer is woken once a batch of bytes is waiting (or the
 * producer waits for it, or closes the ring), and otherwise naps at most
 * NF_RING_NAP_NS, so it works in batches instead of waking per record.
 */
#define _DEFAULT_SOURCE

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "internal.h"

#define NF_RING_ALIGN 8u
/* Polls before a side sleeps, a few microseconds: each side is meant to have a core. */
#define NF_RING_SPIN_LIMIT 4000
#define NF_RING_NAP_NS UINT64_C(2000000)
/* length of the record that sends the consumer from the end of the bytes back to the start */
#define NF_RING_FILLER UINT32_MAX

struct nf_ring_header {
    uint32_t length; /* bytes of the record after this header, or NF_RING_FILLER */
    uint32_t unused;
};

/*
 * Fields that one side writes often sit on their own cache line, and the
 * other side reads them only when it must. The producer rereads the tail
 * when its copy shows no room. The consumer rereads the head when it has
 * read up to its copy.
 */
#define NF_CACHE_LINE 64

struct nf_ring {
    uint8_t *bytes;
    uint64_t size;          /* a power of two */
    uint64_t wake_bytes;    /* waiting bytes that wake a sleeping consumer */
    pthread_mutex_t lock;
    pthread_cond_t wake_consumer; /* on the monotonic clock, for the naps */
    pthread_cond_t wake_producer;
    _Atomic int closed;

    _Alignas(NF_CACHE_LINE) _Atomic uint64_t head; /* end of the committed records */
    uint64_t reserved_end;  /* end of the record being written */
    uint64_t known_tail;    /* the tail when the producer last read it */

    _Alignas(NF_CACHE_LINE) _Atomic uint64_t tail; /* end of the released records */
    uint64_t read_end;      /* end of the record being read */
    uint64_t known_head;    /* the head when the consumer last read it */

    _Alignas(NF_CACHE_LINE) _Atomic int producer_sleeping;
    _Atomic uint64_t producer_target; /* the tail a sleeping producer waits for */

    _Alignas(NF_CACHE_LINE) _Atomic int consumer_sleeping;
    _Atomic uint64_t sleep_tail; /* the consumer's position when it went to sleep */
};

static void pause_briefly(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
}

static uint64_t record_size(uint32_t length)
{
    uint64_t size = sizeof(struct nf_ring_header) + (uint64_t)length;

    return (size + NF_RING_ALIGN - 1) & ~(uint64_t)(NF_RING_ALIGN - 1);
}

static struct nf_ring_header *header_at(struct nf_ring *ring, uint64_t position)
{
    return (struct nf_ring_header *)(ring->bytes + (position & (ring->size - 1)));
}

/* The consumer's naps are timed on the monotonic clock, immune to clock changes. */
static int init_monotonic_condition(pthread_cond_t *condition)
{
    pthread_condattr_t attributes;
    int status;

    if (pthread_condattr_init(&attributes) != 0)
        return -1;
    status = pthread_condattr_setclock(&attributes, CLOCK_MONOTONIC);
    if (status == 0)
        status = pthread_cond_init(condition, &attributes);
    pthread_condattr_destroy(&attributes);
    return status;
}

struct nf_ring *nf_ring_create(uint64_t size)
{
    struct nf_ring *ring = aligned_alloc(NF_CACHE_LINE, sizeof(*ring));

    if (ring == NULL)
        return NULL;
    memset(ring, 0, sizeof(*ring));
    ring->size = size;
    ring->wake_bytes = size / 32;
    ring->bytes = malloc(size);
    if (ring->bytes == NULL)
        goto fail_bytes;
    if (pthread_mutex_init(&ring->lock, NULL) != 0)
        goto fail_lock;
    if (init_monotonic_condition(&ring->wake_consumer) != 0)
        goto fail_consumer_condition;
    if (pthread_cond_init(&ring->wake_producer, NULL) != 0)
        goto fail_producer_condition;
    return ring;

fail_producer_condition:
    pthread_cond_destroy(&ring->wake_consumer);
fail_consumer_condition:
    pthread_mutex_destroy(&ring->lock);
fail_lock:
    free(ring->bytes);
fail_bytes:
    free(ring);
    return NULL;
}

void nf_ring_free(struct nf_ring *ring, int threads_lost)
{
    if (ring == NULL)
        return;
    /* In a forked child the lock may be held by a thread that is gone. */
    if (!threads_lost) {
        pthread_cond_destroy(&ring->wake_producer);
        pthread_cond_destroy(&ring->wake_consumer);
        pthread_mutex_destroy(&ring->lock);
    }
    free(ring->bytes);
    free(ring);
}

static void wake_consumer(struct nf_ring *ring)
{
    if (atomic_load(&ring->consumer_sleeping)) {
        pthread_mutex_lock(&ring->lock);
        pthread_cond_signal(&ring->wake_consumer);
        pthread_mutex_unlock(&ring->lock);
    }
}

int nf_ring_passed(struct nf_ring *ring, uint64_t position)
{
    return atomic_load_explicit(&ring->tail, memory_order_acquire) >= position;
}

void nf_ring_wait(struct nf_ring *ring, uint64_t position)
{
    if (nf_ring_passed(ring, position))
        return;
    wake_consumer(ring);
    for (int i = 0; i < NF_RING_SPIN_LIMIT; i++) {
        if (nf_ring_passed(ring, position))
            return;
        pause_briefly();
    }
    pthread_mutex_lock(&ring->lock);
    atomic_store(&ring->producer_target, position);
    atomic_store(&ring->producer_sleeping, 1);
    while (atomic_load(&ring->tail) < position)
        pthread_cond_wait(&ring->wake_producer, &ring->lock);
    atomic_store(&ring->producer_sleeping, 0);
    pthread_mutex_unlock(&ring->lock);
}

/* Waits until the bytes up to position `end` are free. */
static void wait_for_room(struct nf_ring *ring, uint64_t end)
{
    if (end <= ring->size || end - ring->size <= ring->known_tail)
        return;
    ring->known_tail = atomic_load_explicit(&ring->tail, memory_order_acquire);
    if (end - ring->size <= ring->known_tail)
        return;
    /*
     * A full ring waits for a batch of room, not for one record, so the
     * producer does not wake for every record the consumer releases. The
     * consumer can release at most up to the committed head.
     */
    uint64_t needed = end - ring->size;
    uint64_t head = atomic_load_explicit(&ring->head, memory_order_relaxed);
    uint64_t target = needed + ring->wake_bytes < head ? needed + ring->wake_bytes : head;

    nf_ring_wait(ring, target > needed ? target : needed);
    ring->known_tail = atomic_load_explicit(&ring->tail, memory_order_acquire);
}

void *nf_ring_reserve(struct nf_ring *ring, uint32_t length)
{
    uint64_t head = atomic_load_explicit(&ring->head, memory_order_relaxed);
    uint64_t size = record_size(length);
    uint64_t room_to_end = ring->size - (head & (ring->size - 1));

    /* A record never wraps. Every size is a multiple of 8, so a filler header fits. */
    if (size > room_to_end) {
        wait_for_room(ring, head + sizeof(struct nf_ring_header));
        header_at(ring, head)->length = NF_RING_FILLER;
        head += room_to_end;
        atomic_store_explicit(&ring->head, head, memory_order_release);
    }
    wait_for_room(ring, head + size);
    header_at(ring, head)->length = length;
    ring->reserved_end = head + size;
    return header_at(ring, head) + 1;
}

uint64_t nf_ring_commit(struct nf_ring *ring)
{
    uint64_t end = ring->reserved_end;

    atomic_store(&ring->head, end);
    if (atomic_load(&ring->consumer_sleeping) &&
        end - atomic_load_explicit(&ring->sleep_tail, memory_order_relaxed) >= ring->wake_bytes)
        wake_consumer(ring);
    return end;
}

void nf_ring_close(struct nf_ring *ring)
{
    pthread_mutex_lock(&ring->lock);
    atomic_store(&ring->closed, 1);
    pthread_cond_signal(&ring->wake_consumer);
    pthread_mutex_unlock(&ring->lock);
}

/* Sleeps until the producer commits past `position` or closes the ring. */
static uint64_t wait_for_head(struct nf_ring *ring, uint64_t position)
{
    uint64_t head;

    for (int i = 0; i < NF_RING_SPIN_LIMIT; i++) {
        head = atomic_load_explicit(&ring->head, memory_order_acquire);
        if (head != position)
            return head;
        /* The last commit precedes the close, so a load of the head after it returns that commit. */
        if (atomic_load(&ring->closed))
            return atomic_load(&ring->head);
        pause_briefly();
    }
    pthread_mutex_lock(&ring->lock);
    atomic_store_explicit(&ring->sleep_tail, position, memory_order_relaxed);
    atomic_store(&ring->consumer_sleeping, 1);
    while ((head = atomic_load(&ring->head)) == position && !atomic_load(&ring->closed)) {
        struct timespec deadline = nf_clock_deadline(CLOCK_MONOTONIC, NF_RING_NAP_NS);

        pthread_cond_timedwait(&ring->wake_consumer, &ring->lock, &deadline);
    }
    atomic_store(&ring->consumer_sleeping, 0);
    pthread_mutex_unlock(&ring->lock);
    return atomic_load(&ring->head);
}

/* Moves the tail to `position` and wakes a producer that waits for it. */
static void release_to(struct nf_ring *ring, uint64_t position)
{
    atomic_store(&ring->tail, position);
    if (atomic_load(&ring->producer_sleeping) &&
        position >= atomic_load_explicit(&ring->producer_target, memory_order_relaxed)) {
        pthread_mutex_lock(&ring->lock);
        pthread_cond_signal(&ring->wake_producer);
        pthread_mutex_unlock(&ring->lock);
    }
}

void nf_ring_release(struct nf_ring *ring)
{
    release_to(ring, ring->read_end);
}

void *nf_ring_next(struct nf_ring *ring, uint32_t *length)
{
    uint64_t position = ring->read_end;

    for (;;) {
        struct nf_ring_header *header;

        if (ring->known_head == position)
            ring->known_head = atomic_load_explicit(&ring->head, memory_order_acquire);
        if (ring->known_head == position) {
            ring->known_head = wait_for_head(ring, position);
            if (ring->known_head == position)
                return NULL;
        }
        header = header_at(ring, position);
        if (header->length != NF_RING_FILLER) {
            *length = header->length;
            ring->read_end = position + record_size(header->length);
            return header + 1;
        }
        position = (position | (ring->size - 1)) + 1;
        ring->read_end = position;
        release_to(ring, position);
    }
}

