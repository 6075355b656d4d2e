/*
 * meter_group.c - several meters, one thread each, over a live interface
 * or over capture files, and the clocks that live capture needs.
 *
 * Live: every meter opens its own handle on the interface and joins one
 * PACKET_FANOUT hash group, so the kernel hands each flow (both
 * directions, after IP defragmentation) to one meter.
 * Files: every meter reads every file and owns the flows whose key hash
 * falls in its shard. Other packets only move its clock, as in nfstream's
 * meters. Each meter therefore keeps the same clock as a single meter and
 * produces the same flows; only their order across meters differs.
 *
 * Either way every flow is whole in one meter. A meter's thread reads,
 * decodes and meters packets and moves its expired flows to one ready
 * queue shared under a mutex. The consumer takes flows in the order they
 * arrive there, and ids follow that order. For files the queue is bounded,
 * so meters wait for a slow consumer instead of buffering a whole capture.
 * Threads never run hooks, so plugins use a single meter.
 *
 * Stop: a request makes each thread close its handle, expire its cached
 * flows and end; the consumer keeps taking flows until every thread ended.
 */
#define _DEFAULT_SOURCE

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "internal.h"

/* How far behind wall time a quiet meter's clock moves; see nf_live_clock_target_ns. */
#define NF_LIVE_CLOCK_MARGIN_NS (UINT64_C(500) * NF_NS_PER_MS)

/* Maximum flows in the shared queue before file meters wait for the consumer. */
#define NF_GROUP_QUEUE_LIMIT 4096

/* Frames a file meter reads between two moves of its flows to the shared queue. */
#define NF_GROUP_PUBLISH_FRAMES 256

struct nf_meter_group;

struct nf_meter_worker {
    struct nf_meter_group *group;
    pthread_t thread;
    int started;
    struct nf_capture *capture;
    struct nf_dissector *dissector;
    struct nf_meter *meter;
    struct nf_stats stats;     /* written by the thread only */
    struct nf_stats published; /* copy of stats, under the group's lock */
    uint64_t last_refresh_ms;
    char errbuf[NF_ERRBUF_SIZE];
};

struct nf_meter_group {
    pthread_mutex_t lock;
    pthread_cond_t changed;     /* a flow was queued or a thread ended */
    pthread_cond_t drained;     /* the consumer took flows, or a stop was requested */
    struct nf_flow_queue ready; /* under lock */
    int live;                   /* 1 for an interface, 0 for capture files */
    unsigned running;           /* threads not yet ended, under lock */
    int failure;                /* first thread error, under lock */
    char errbuf[NF_ERRBUF_SIZE];
    atomic_int stop;
    int decode_flags;
    unsigned count;
    struct nf_meter_worker *workers;
    unsigned fork_generation;   /* nf_process_fork_generation when the threads started */
};

uint64_t nf_clock_realtime_ns(void)
{
    struct timespec now;

    clock_gettime(CLOCK_REALTIME, &now);
    return (uint64_t)now.tv_sec * UINT64_C(1000000000) + (uint64_t)now.tv_nsec;
}

uint64_t nf_clock_monotonic_ms(void)
{
    struct timespec now;

    clock_gettime(CLOCK_MONOTONIC, &now);
    return (uint64_t)now.tv_sec * 1000 + (uint64_t)now.tv_nsec / NF_NS_PER_MS;
}

struct timespec nf_clock_deadline(clockid_t clock, uint64_t after_ns)
{
    struct timespec deadline;

    clock_gettime(clock, &deadline);
    deadline.tv_sec += (time_t)(after_ns / UINT64_C(1000000000));
    deadline.tv_nsec += (long)(after_ns % UINT64_C(1000000000));
    if (deadline.tv_nsec >= 1000000000L) {
        deadline.tv_sec++;
        deadline.tv_nsec -= 1000000000L;
    }
    return deadline;
}

uint64_t nf_live_clock_target_ns(void)
{
    return nf_clock_realtime_ns() - NF_LIVE_CLOCK_MARGIN_NS;
}

/* ------------------------------------------------------------------ */
/* Meter threads                                                       */
/* ------------------------------------------------------------------ */

/*
 * Moves the worker's ready flows to the shared queue and publishes its
 * counters. Only the last call (`last` set) waits for flows still in the
 * meter's dissection thread; earlier calls leave them for the next one.
 */
static void publish(struct nf_meter_worker *worker, int last)
{
    struct nf_meter_group *group = worker->group;
    struct nf_flow *flow;
    int queued = 0;

    pthread_mutex_lock(&group->lock);
    /* A live meter does not wait here, because the kernel would drop packets meanwhile. */
    while (!group->live && group->ready.count >= NF_GROUP_QUEUE_LIMIT &&
           !atomic_load(&group->stop))
        pthread_cond_wait(&group->drained, &group->lock);
    while ((flow = nf_meter_pop_ready(worker->meter, last)) != NULL) {
        nf_flow_queue_push(&group->ready, flow);
        queued = 1;
    }
    worker->published = worker->stats;
    if (queued)
        pthread_cond_signal(&group->changed);
    pthread_mutex_unlock(&group->lock);
}

/* Keeps the first error for the consumer, and with `stop` ends every other thread's reading. */
static void record_failure(struct nf_meter_worker *worker, int error, const char *message,
                           int stop)
{
    struct nf_meter_group *group = worker->group;

    pthread_mutex_lock(&group->lock);
    if (group->failure == 0) {
        group->failure = error;
        snprintf(group->errbuf, sizeof(group->errbuf), "%s", message);
    }
    pthread_mutex_unlock(&group->lock);
    if (stop)
        atomic_store(&group->stop, 1);
}

/* Moves the clock to wall time and reads the drop counters. Returns 0 or NF_ENOMEM. */
static int refresh(struct nf_meter_worker *worker)
{
    worker->last_refresh_ms = nf_clock_monotonic_ms();
    nf_capture_live_stats(worker->capture, &worker->stats);
    return nf_meter_advance(worker->meter, nf_live_clock_target_ns());
}

/* Reads and meters a live interface until a stop request or an error. Returns 0 or a code. */
static int capture_until_stop(struct nf_meter_worker *worker)
{
    struct nf_frame frame;
    int status = 0;

    while (status >= 0 && !atomic_load(&worker->group->stop)) {
        status = nf_capture_next(worker->capture, &frame, worker->errbuf);
        if (status == 1)
            status = nf_meter_frame(worker->meter, &frame, worker->group->decode_flags);
        if (status >= 0 && (status == NF_CAPTURE_TIMEOUT || nf_clock_monotonic_ms() -
                                                                worker->last_refresh_ms >=
                                                            NF_LIVE_REFRESH_MS)) {
            status = refresh(worker);
            publish(worker, 0);
        }
        if (status == NF_ENOMEM)
            snprintf(worker->errbuf, sizeof(worker->errbuf), "out of memory creating a flow");
    }
    return status < 0 ? status : 0;
}

/*
 * Reads and meters every file until the end, a stop request or an error.
 * Returns 0 or the meter's error. A read error (a damaged record) ends
 * the files like their end, and its code goes to *read_error.
 */
static int read_files(struct nf_meter_worker *worker, int *read_error)
{
    struct nf_frame frame;
    unsigned frames = 0;
    int status;

    while (!atomic_load(&worker->group->stop)) {
        status = nf_capture_next(worker->capture, &frame, worker->errbuf);
        if (status < 0)
            *read_error = status;
        if (status <= 0)
            return 0;
        status = nf_meter_frame(worker->meter, &frame, worker->group->decode_flags);
        if (status == NF_ENOMEM)
            snprintf(worker->errbuf, sizeof(worker->errbuf), "out of memory creating a flow");
        if (status < 0)
            return status;
        if (++frames % NF_GROUP_PUBLISH_FRAMES == 0)
            publish(worker, 0);
    }
    return 0;
}

static void *run_worker(void *argument)
{
    struct nf_meter_worker *worker = argument;
    struct nf_meter_group *group = worker->group;
    int read_error = 0;
    int status = group->live ? capture_until_stop(worker) : read_files(worker, &read_error);

    worker->stats.files_truncated = nf_capture_truncated_files(worker->capture);

    if (group->live)
        nf_capture_live_stats(worker->capture, &worker->stats);
    nf_capture_close(worker->capture);
    if (status != 0)
        record_failure(worker, status, worker->errbuf, 1);
    /*
     * Every file meter meets the same damaged record, so none stops the
     * others: each hands out the flows of the packets before it.
     */
    if (read_error != 0)
        record_failure(worker, read_error, worker->errbuf, 0);
    /* Even after an error the cached flows come out before it is reported. */
    nf_meter_flush(worker->meter); /* fails only through hooks, and open_worker gives none */
    publish(worker, 1);
    pthread_mutex_lock(&group->lock);
    group->running--;
    pthread_cond_broadcast(&group->changed);
    pthread_mutex_unlock(&group->lock);
    return NULL;
}

/* ------------------------------------------------------------------ */
/* Group                                                               */
/* ------------------------------------------------------------------ */

/* Opens the worker's own handle on the interface or on the files. */
static struct nf_capture *open_source(const struct nf_config *config, int fanout_group,
                                      char *errbuf, int *error)
{
    if (config->interface != NULL)
        return nf_capture_open_live(config, fanout_group, errbuf, error);
    return nf_capture_open(config->paths, config->path_count, config->bpf_filter,
                           nf_config_decode_flags(config), errbuf, error);
}

static int open_worker(struct nf_meter_worker *worker, unsigned index,
                       const struct nf_config *config, int fanout_group, char *errbuf)
{
    int error;

    worker->capture = open_source(config, fanout_group, errbuf, &error);
    if (worker->capture == NULL)
        return error;
    if (config->n_dissections > 0) {
        worker->dissector = nf_dissector_create(errbuf);
        if (worker->dissector == NULL)
            return NF_EDISSECTOR;
    }
    worker->meter = nf_meter_create(config, worker->dissector, NULL, &worker->stats);
    if (worker->meter == NULL) {
        snprintf(errbuf, NF_ERRBUF_SIZE, "out of memory creating a meter");
        return NF_ENOMEM;
    }
    nf_meter_start_dissection_thread(worker->meter, config->n_meters);
    /* The kernel shards a live interface; file meters shard by key hash. */
    if (config->interface == NULL) {
        nf_meter_set_shard(worker->meter, index, config->n_meters);
        nf_meter_start_lookahead(worker->meter);
    }
    worker->last_refresh_ms = nf_clock_monotonic_ms();
    return 0;
}

/* Opens every handle first, so a failure leaves no thread running. */
static int start_workers(struct nf_meter_group *group, const struct nf_config *config,
                         int fanout_group, char *errbuf)
{
    for (unsigned i = 0; i < group->count; i++) {
        group->workers[i].group = group;
        int error = open_worker(&group->workers[i], i, config, fanout_group, errbuf);
        if (error != 0)
            return error;
    }
    for (unsigned i = 0; i < group->count; i++) {
        struct nf_meter_worker *worker = &group->workers[i];

        pthread_mutex_lock(&group->lock);
        group->running++;
        pthread_mutex_unlock(&group->lock);
        if (pthread_create(&worker->thread, NULL, run_worker, worker) != 0) {
            pthread_mutex_lock(&group->lock);
            group->running--;
            pthread_mutex_unlock(&group->lock);
            snprintf(errbuf, NF_ERRBUF_SIZE, "cannot start meter thread %u", i);
            return NF_ENOMEM;
        }
        worker->started = 1;
    }
    return 0;
}

struct nf_meter_group *nf_meter_group_create(const struct nf_config *config, int fanout_group,
                                           char *errbuf, int *error)
{
    struct nf_meter_group *group = calloc(1, sizeof(*group));

    *error = NF_ENOMEM;
    snprintf(errbuf, NF_ERRBUF_SIZE, "out of memory starting %u meters", config->n_meters);
    if (group == NULL)
        return NULL;
    pthread_mutex_init(&group->lock, NULL);
    pthread_cond_init(&group->changed, NULL);
    pthread_cond_init(&group->drained, NULL);
    atomic_init(&group->stop, 0);
    group->fork_generation = nf_process_fork_generation();
    group->live = config->interface != NULL;
    group->decode_flags = nf_config_decode_flags(config);
    group->count = config->n_meters;
    group->workers = calloc(group->count, sizeof(*group->workers));
    if (group->workers == NULL) {
        nf_meter_group_free(group);
        return NULL;
    }
    *error = start_workers(group, config, fanout_group, errbuf);
    if (*error != 0) {
        nf_meter_group_free(group);
        return NULL;
    }
    return group;
}

/* Takes the oldest shared flow and wakes a file meter waiting for room. Call under lock. */
static struct nf_flow *pop_ready(struct nf_meter_group *group)
{
    struct nf_flow *flow = nf_flow_queue_pop(&group->ready);

    if (flow != NULL)
        pthread_cond_signal(&group->drained);
    return flow;
}

int nf_meter_group_next(struct nf_meter_group *group, struct nf_flow **flow, char *errbuf)
{
    /* The group's condition variables use the default clock, CLOCK_REALTIME. */
    struct timespec deadline =
        nf_clock_deadline(CLOCK_REALTIME, (uint64_t)NF_LIVE_WAKE_MS * NF_NS_PER_MS);
    int status = NF_ENGINE_WAITING;

    pthread_mutex_lock(&group->lock);
    while (group->ready.head == NULL && group->running > 0) {
        if (pthread_cond_timedwait(&group->changed, &group->lock, &deadline) == ETIMEDOUT)
            break;
    }
    /* A failure stops the threads, which still hand out their flows before it is reported. */
    if ((*flow = pop_ready(group)) != NULL) {
        status = 1;
    } else if (group->running == 0 && group->failure != 0) {
        status = group->failure;
        snprintf(errbuf, NF_ERRBUF_SIZE, "%s", group->errbuf);
    } else if (group->running == 0) {
        status = 0;
    }
    pthread_mutex_unlock(&group->lock);
    return status;
}

void nf_meter_group_stop(struct nf_meter_group *group)
{
    pthread_mutex_lock(&group->lock);
    atomic_store(&group->stop, 1);
    pthread_cond_broadcast(&group->drained);
    pthread_mutex_unlock(&group->lock);
}

static void add_stats(struct nf_stats *total, const struct nf_stats *part)
{
    total->packets_read += part->packets_read;
    total->packets_processed += part->packets_processed;
    total->packets_ignored += part->packets_ignored;
    for (int reason = 0; reason < NF_DROP_REASON_COUNT; reason++)
        total->dropped[reason] += part->dropped[reason];
    total->flows_created += part->flows_created;
    total->flows_expired += part->flows_expired;
    total->flows_active += part->flows_active;
    total->flow_allocation_failures += part->flow_allocation_failures;
    total->packets_dropped_kernel += part->packets_dropped_kernel;
    total->packets_dropped_interface += part->packets_dropped_interface;
}

void nf_meter_group_stats(struct nf_meter_group *group, struct nf_stats *total, uint64_t *processed)
{
    memset(total, 0, sizeof(*total));
    pthread_mutex_lock(&group->lock);
    for (unsigned i = 0; i < group->count; i++) {
        add_stats(total, &group->workers[i].published);
        processed[i] = group->workers[i].published.packets_processed;
    }
    if (!group->live) {
        /* Every file meter reads and decodes every frame: count them once. */
        const struct nf_stats *first = &group->workers[0].published;

        total->packets_read = first->packets_read;
        total->files_truncated = first->files_truncated;
        total->packets_ignored = first->packets_ignored;
        memcpy(total->dropped, first->dropped, sizeof(total->dropped));
    }
    pthread_mutex_unlock(&group->lock);
}

const char *nf_meter_group_truncation(const struct nf_meter_group *group, uint64_t *packets_read)
{
    if (group == NULL || group->live || group->workers == NULL)
        return NULL;
    return nf_capture_truncation(group->workers[0].capture, packets_read);
}

void nf_meter_group_free(struct nf_meter_group *group)
{
    struct nf_flow *flow;

    if (group == NULL)
        return;
    /*
     * In a forked child the threads are absent and the lock may be held by
     * one of them, so the group is left to the end of the process.
     */
    if (group->fork_generation != nf_process_fork_generation())
        return;
    nf_meter_group_stop(group);
    for (unsigned i = 0; group->workers != NULL && i < group->count; i++) {
        struct nf_meter_worker *worker = &group->workers[i];

        if (worker->started)
            pthread_join(worker->thread, NULL);
        nf_meter_free(worker->meter);
        nf_dissector_free(worker->dissector);
        nf_capture_free(worker->capture);
    }
    /* Meters in a group have no hooks, so no flow carries user_data. */
    while ((flow = pop_ready(group)) != NULL)
        nf_flow_free(flow);
    free(group->workers);
    pthread_cond_destroy(&group->changed);
    pthread_cond_destroy(&group->drained);
    pthread_mutex_destroy(&group->lock);
    free(group);
}
