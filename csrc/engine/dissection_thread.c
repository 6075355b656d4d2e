/*
 * dissection_thread.c - runs a meter's nDPI work in a second thread.
 *
 * Without Python hooks nothing reads a flow's application fields before
 * the flow is handed out, so the meter can pass the packets it would
 * dissect to this thread and go on metering. Jobs travel through a ring
 * (ring.c) with one producer (the meter) and one consumer (this thread):
 * a packet job carries a copy of the IP packet, and a finish job ends a
 * flow's dissection when the flow expires. The thread runs dissector.c on
 * the jobs in the order the meter would have, so the results are the
 * same. The meter hands out an expired flow only once the thread is past
 * the flow's finish job.
 *
 * Ownership: while a flow is in dissection, flow->dpi and flow->app
 * belong to this thread; the meter reads only flow->dissection_done
 * (relaxed, a hint to stop sending packets) until the finish job is done.
 *
 * A process forked in the middle of a run has no dissection thread: the
 * engine fails that run in the child (NF_EFORK) instead of waiting, and
 * freeing it there skips the thread. Runs started after the fork are not
 * affected.
 */
#define _DEFAULT_SOURCE

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* 8 MiB fits thousands of packets, so the meter rarely waits. */
#define NF_RING_SIZE (UINT64_C(1) << 23)
/* packet_number of a finish job */
#define NF_JOB_FINISH 0u

struct nf_job {
    struct nf_flow *flow;
    uint64_t time_ns;
    uint32_t packet_number;
    uint32_t length; /* bytes of IP packet after the job header */
};

struct nf_dissection_thread {
    struct nf_dissector *dissector; /* used by the thread only */
    unsigned n_dissections;
    struct nf_ring *ring;
    pthread_t thread;
    unsigned fork_generation;           /* nf_process_fork_generation at the start */
    uint64_t live_states;               /* nDPI states allocated here and not freed yet */
    struct nf_trim_watch states_watch;  /* trims when live_states has shrunk */
};

void nf_dissection_thread_packet(struct nf_dissection_thread *thread, struct nf_flow *flow,
                                 const struct nf_packet *packet, uint64_t packet_number)
{
    uint32_t length = packet->ip_caplen;
    struct nf_job *job;

    /* nDPI 4.2 reads at most 65535 bytes of a packet (see dissector.c). */
    if (length > 65535u)
        length = 65535u;
    job = nf_ring_reserve(thread->ring, (uint32_t)sizeof(*job) + length);
    job->flow = flow;
    job->time_ns = packet->time_ns;
    job->packet_number = (uint32_t)(packet_number < UINT32_MAX ? packet_number : UINT32_MAX);
    job->length = length;
    memcpy(job + 1, packet->ip_data, length);
    nf_ring_commit(thread->ring);
}

uint64_t nf_dissection_thread_finish(struct nf_dissection_thread *thread, struct nf_flow *flow)
{
    struct nf_job *job = nf_ring_reserve(thread->ring, (uint32_t)sizeof(*job));

    job->flow = flow;
    job->time_ns = 0;
    job->packet_number = NF_JOB_FINISH;
    job->length = 0;
    return nf_ring_commit(thread->ring);
}

int nf_dissection_thread_passed(struct nf_dissection_thread *thread, uint64_t position)
{
    return nf_ring_passed(thread->ring, position);
}

void nf_dissection_thread_wait(struct nf_dissection_thread *thread, uint64_t position)
{
    nf_ring_wait(thread->ring, position);
}

/* Counts an nDPI state freed by the last job and trims once many of them are gone. */
static void count_freed_state(struct nf_dissection_thread *thread, int had_state,
                              const struct nf_flow *flow)
{
    if (had_state && flow->dpi == NULL) {
        thread->live_states--;
        nf_trim_watch_update(&thread->states_watch, thread->live_states);
    }
}

static void run_job(struct nf_dissection_thread *thread, const struct nf_job *job)
{
    struct nf_flow *flow = job->flow;
    struct nf_packet packet;
    int had_state;

    if (job->packet_number == NF_JOB_FINISH) {
        had_state = flow->dpi != NULL;
        nf_dissector_flow_finish(thread->dissector, flow);
        count_freed_state(thread, had_state, flow);
        return;
    }
    /*
     * The first packet allocates the nDPI state here, in this thread's malloc
     * arena, where it is also freed. Without memory the flow keeps empty
     * application fields, as dissection cannot start.
     */
    if (job->packet_number == 1) {
        if (nf_dissector_flow_init(thread->dissector, flow) != 0)
            return;
        thread->live_states++;
    }
    had_state = flow->dpi != NULL;
    /* dissector.c reads only these three fields of a packet. */
    packet.ip_data = (const uint8_t *)(job + 1);
    packet.ip_caplen = job->length;
    packet.time_ns = job->time_ns;
    nf_dissector_flow_update(thread->dissector, flow, &packet, job->packet_number,
                             thread->n_dissections, 0);
    if (flow->dpi == NULL)
        __atomic_store_n(&flow->dissection_done, 1, __ATOMIC_RELAXED);
    count_freed_state(thread, had_state, flow);
}

static void *worker_main(void *argument)
{
    struct nf_dissection_thread *thread = argument;
    const struct nf_job *job;
    uint32_t length;

    /* A stop closes the ring after the last job, so no flow is left half dissected. */
    while ((job = nf_ring_next(thread->ring, &length)) != NULL) {
        run_job(thread, job);
        nf_ring_release(thread->ring);
    }
    return NULL;
}

struct nf_dissection_thread *nf_dissection_thread_create(struct nf_dissector *dissector,
                                                         unsigned n_dissections)
{
    struct nf_dissection_thread *thread = calloc(1, sizeof(*thread));

    if (thread == NULL)
        return NULL;
    thread->dissector = dissector;
    thread->n_dissections = n_dissections;
    thread->fork_generation = nf_process_fork_generation();
    thread->ring = nf_ring_create(NF_RING_SIZE);
    if (thread->ring == NULL) {
        free(thread);
        return NULL;
    }
    if (pthread_create(&thread->thread, NULL, worker_main, thread) != 0) {
        nf_ring_free(thread->ring, 0);
        free(thread);
        return NULL;
    }
    return thread;
}

int nf_dissection_thread_lost(const struct nf_dissection_thread *thread)
{
    return thread != NULL && thread->fork_generation != nf_process_fork_generation();
}

void nf_dissection_thread_free(struct nf_dissection_thread *thread)
{
    int lost;

    if (thread == NULL)
        return;
    /* In a forked child the thread is absent, so there is nothing to stop. */
    lost = nf_dissection_thread_lost(thread);
    if (!lost) {
        nf_ring_close(thread->ring);
        pthread_join(thread->thread, NULL);
    }
    nf_ring_free(thread->ring, lost);
    free(thread);
}
