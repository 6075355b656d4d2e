/*
 * dissection_thread.c - runs a meter's nDPI work in a second thread.
 *
 * Without Python hooks nothing reads a flow's application fields before
 * the flow is handed out, so the meter can pass the packets it would
 * dissect to this thread and go on metering. Jobs travel through a ring
 * of bytes with one producer (the meter) and one consumer (this thread):
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
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "internal.h"

/* 8 MiB fits thousands of packets, so the meter rarely waits. */
#define NF_RING_SIZE (1u << 23)
#define NF_RING_ALIGN 8u
/* Polls before a thread sleeps on its condition variable, a few microseconds. */
#define NF_SPIN_LIMIT 4000
/*
 * A sleeping thread is woken once this many bytes of jobs wait, so it
 * works in batches instead of waking for every packet. Fewer jobs wait
 * at most NF_NAP_NS, after which it wakes by itself.
 */
#define NF_WAKE_BYTES (256u * 1024u)
#define NF_NAP_NS 2000000L
/* packet_number of a finish job, and of the filler that skips the ring's end. */
#define NF_JOB_FINISH 0u
#define NF_JOB_FILLER UINT32_MAX

struct nf_job {
    struct nf_flow *flow;
    uint64_t time_ns;
    uint32_t packet_number;
    uint32_t length; /* bytes of IP packet after the job header */
};

struct nf_dissection_thread {
    struct nf_dissector *dissector; /* used by the thread only */
    unsigned n_dissections;
    uint8_t *ring;
    _Atomic uint64_t head;  /* end of the published jobs, moved by the meter */
    _Atomic uint64_t tail;  /* end of the done jobs, moved by the thread */
    _Atomic int worker_sleeping;
    _Atomic uint64_t sleep_tail; /* the thread's tail when it went to sleep */
    _Atomic int meter_sleeping;
    _Atomic int stopping;
    pthread_mutex_t lock;
    pthread_cond_t wake_worker;
    pthread_cond_t wake_meter;
    pthread_t thread;
    unsigned fork_generation;           /* nf_process_fork_generation at the start */
    uint64_t live_states;               /* nDPI states allocated here and not freed yet */
    struct nf_trim_watch states_watch;  /* trims when live_states has shrunk */
};

static void pause_briefly(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
}

static uint64_t job_size(uint32_t length)
{
    uint64_t size = sizeof(struct nf_job) + length;

    return (size + NF_RING_ALIGN - 1) & ~(uint64_t)(NF_RING_ALIGN - 1);
}

static struct nf_job *job_at(struct nf_dissection_thread *thread, uint64_t position)
{
    return (struct nf_job *)(thread->ring + (position & (NF_RING_SIZE - 1)));
}

static void wake_worker(struct nf_dissection_thread *thread)
{
    if (atomic_load(&thread->worker_sleeping)) {
        pthread_mutex_lock(&thread->lock);
        pthread_cond_signal(&thread->wake_worker);
        pthread_mutex_unlock(&thread->lock);
    }
}

/* Blocks the meter until the thread's tail reaches `position`. */
static void wait_for_tail(struct nf_dissection_thread *thread, uint64_t position)
{
    if (atomic_load_explicit(&thread->tail, memory_order_acquire) >= position)
        return;
    wake_worker(thread);
    for (int i = 0; i < NF_SPIN_LIMIT; i++) {
        if (atomic_load_explicit(&thread->tail, memory_order_acquire) >= position)
            return;
        pause_briefly();
    }
    pthread_mutex_lock(&thread->lock);
    atomic_store(&thread->meter_sleeping, 1);
    while (atomic_load(&thread->tail) < position)
        pthread_cond_wait(&thread->wake_meter, &thread->lock);
    atomic_store(&thread->meter_sleeping, 0);
    pthread_mutex_unlock(&thread->lock);
}

/* Waits until the ring has room for bytes up to position `end`. */
static void wait_for_room(struct nf_dissection_thread *thread, uint64_t end)
{
    if (end > NF_RING_SIZE)
        wait_for_tail(thread, end - NF_RING_SIZE);
}

/*
 * Waits for room for a job with `length` packet bytes and returns where
 * it goes, with the position after it in *position. A job never wraps:
 * when it does not fit before the end of the ring, a filler job there
 * sends the thread back to the start (the ring has a job header of slack
 * so a filler always fits).
 */
static uint8_t *reserve(struct nf_dissection_thread *thread, uint64_t *position, uint32_t length)
{
    uint64_t head = atomic_load_explicit(&thread->head, memory_order_relaxed);
    uint64_t size = job_size(length);
    uint64_t room_to_end = NF_RING_SIZE - (head & (NF_RING_SIZE - 1));

    if (size > room_to_end) {
        wait_for_room(thread, head + room_to_end);
        job_at(thread, head)->packet_number = NF_JOB_FILLER;
        head += room_to_end;
    }
    wait_for_room(thread, head + size);
    *position = head + size;
    return (uint8_t *)job_at(thread, head);
}

static void publish(struct nf_dissection_thread *thread, uint64_t position)
{
    atomic_store(&thread->head, position);
    if (atomic_load(&thread->worker_sleeping) &&
        position - atomic_load_explicit(&thread->sleep_tail, memory_order_relaxed) >= NF_WAKE_BYTES)
        wake_worker(thread);
}

void nf_dissection_thread_packet(struct nf_dissection_thread *thread, struct nf_flow *flow,
                                 const struct nf_packet *packet, uint64_t packet_number)
{
    uint32_t length = packet->ip_caplen;
    uint64_t position;
    uint8_t *bytes;
    struct nf_job *job;

    /* nDPI 4.2 reads at most 65535 bytes of a packet (see dissector.c). */
    if (length > 65535u)
        length = 65535u;
    bytes = reserve(thread, &position, length);
    job = (struct nf_job *)bytes;
    job->flow = flow;
    job->time_ns = packet->time_ns;
    job->packet_number = (uint32_t)(packet_number < UINT32_MAX ? packet_number : UINT32_MAX - 1);
    job->length = length;
    memcpy(bytes + sizeof(*job), packet->ip_data, length);
    publish(thread, position);
}

uint64_t nf_dissection_thread_finish(struct nf_dissection_thread *thread, struct nf_flow *flow)
{
    uint64_t position;
    struct nf_job *job = (struct nf_job *)reserve(thread, &position, 0);

    job->flow = flow;
    job->time_ns = 0;
    job->packet_number = NF_JOB_FINISH;
    job->length = 0;
    publish(thread, position);
    return position;
}

int nf_dissection_thread_passed(struct nf_dissection_thread *thread, uint64_t position)
{
    return atomic_load_explicit(&thread->tail, memory_order_acquire) >= position;
}

void nf_dissection_thread_wait(struct nf_dissection_thread *thread, uint64_t position)
{
    wait_for_tail(thread, position);
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

/* Sleeps until the meter publishes past `tail` or requests a stop. */
static uint64_t wait_for_head(struct nf_dissection_thread *thread, uint64_t tail)
{
    uint64_t head;

    for (int i = 0; i < NF_SPIN_LIMIT; i++) {
        head = atomic_load_explicit(&thread->head, memory_order_acquire);
        if (head != tail || atomic_load(&thread->stopping))
            return head;
        pause_briefly();
    }
    pthread_mutex_lock(&thread->lock);
    atomic_store_explicit(&thread->sleep_tail, tail, memory_order_relaxed);
    atomic_store(&thread->worker_sleeping, 1);
    while ((head = atomic_load(&thread->head)) == tail && !atomic_load(&thread->stopping)) {
        struct timespec deadline;

        clock_gettime(CLOCK_MONOTONIC, &deadline);
        deadline.tv_nsec += NF_NAP_NS;
        if (deadline.tv_nsec >= 1000000000L) {
            deadline.tv_sec++;
            deadline.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&thread->wake_worker, &thread->lock, &deadline);
    }
    atomic_store(&thread->worker_sleeping, 0);
    pthread_mutex_unlock(&thread->lock);
    return head;
}

static void *worker_main(void *argument)
{
    struct nf_dissection_thread *thread = argument;
    uint64_t tail = 0;

    for (;;) {
        uint64_t head = wait_for_head(thread, tail);

        /* Stopping drains every published job first, so no flow is left half dissected. */
        if (head == tail)
            break;
        while (tail < head) {
            const struct nf_job *job = job_at(thread, tail);

            if (job->packet_number == NF_JOB_FILLER) {
                tail = (tail | (NF_RING_SIZE - 1)) + 1;
            } else {
                run_job(thread, job);
                tail += job_size(job->length);
            }
            atomic_store(&thread->tail, tail);
            if (atomic_load(&thread->meter_sleeping)) {
                pthread_mutex_lock(&thread->lock);
                pthread_cond_signal(&thread->wake_meter);
                pthread_mutex_unlock(&thread->lock);
            }
        }
    }
    return NULL;
}

/* The thread's naps are timed on the monotonic clock, immune to clock changes. */
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

struct nf_dissection_thread *nf_dissection_thread_create(struct nf_dissector *dissector,
                                                         unsigned n_dissections)
{
    struct nf_dissection_thread *thread = calloc(1, sizeof(*thread));

    if (thread == NULL)
        return NULL;
    thread->dissector = dissector;
    thread->n_dissections = n_dissections;
    thread->fork_generation = nf_process_fork_generation();
    thread->ring = malloc(NF_RING_SIZE + sizeof(struct nf_job));
    if (thread->ring == NULL)
        goto fail_ring;
    if (pthread_mutex_init(&thread->lock, NULL) != 0)
        goto fail_lock;
    if (init_monotonic_condition(&thread->wake_worker) != 0)
        goto fail_worker_condition;
    if (pthread_cond_init(&thread->wake_meter, NULL) != 0)
        goto fail_meter_condition;
    if (pthread_create(&thread->thread, NULL, worker_main, thread) != 0)
        goto fail_thread;
    return thread;

fail_thread:
    pthread_cond_destroy(&thread->wake_meter);
fail_meter_condition:
    pthread_cond_destroy(&thread->wake_worker);
fail_worker_condition:
    pthread_mutex_destroy(&thread->lock);
fail_lock:
    free(thread->ring);
fail_ring:
    free(thread);
    return NULL;
}

int nf_dissection_thread_lost(const struct nf_dissection_thread *thread)
{
    return thread != NULL && thread->fork_generation != nf_process_fork_generation();
}

void nf_dissection_thread_free(struct nf_dissection_thread *thread)
{
    if (thread == NULL)
        return;
    /* In a forked child the thread is absent and the lock may be held by it. */
    if (nf_dissection_thread_lost(thread)) {
        free(thread->ring);
        free(thread);
        return;
    }
    pthread_mutex_lock(&thread->lock);
    atomic_store(&thread->stopping, 1);
    pthread_cond_signal(&thread->wake_worker);
    pthread_mutex_unlock(&thread->lock);
    pthread_join(thread->thread, NULL);
    pthread_cond_destroy(&thread->wake_meter);
    pthread_cond_destroy(&thread->wake_worker);
    pthread_mutex_destroy(&thread->lock);
    free(thread->ring);
    free(thread);
}
