/*
 * engine.c - one run over a list of capture files or a live interface:
 * capture, decode and meter in a loop that stops as soon as a flow is
 * ready.
 *
 * The loop reads as its phases: hand out a ready flow if there is one;
 * otherwise read a frame (at the end of the last file, flush the cache);
 * decode it (an ignored frame is counted by reason and skipped, without
 * moving the clock); meter it. After an error the engine stays failed and
 * returns the same error on every later call.
 *
 * Live capture with one meter runs the same loop in the caller's thread,
 * but returns NF_ENGINE_WAITING at least every NF_LIVE_WAKE_MS, so the
 * caller can check for signals, and moves the meter's clock to wall time
 * when reads time out. A stop request closes the handle and flushes the
 * cache. Several meters run in threads (meter_group.c), live or over files.
 */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"

struct nf_engine {
    struct nf_config config;
    struct nf_capture *capture;
    struct nf_dissector *dissector;
    struct nf_meter *meter;
    struct nf_stats stats;
    int finished;  /* every file read (or a read error) and the cache flushed */
    int failure;   /* first error, 0 while healthy */
    int read_failure; /* a read error that ended the files, reported after the last flow */
    char errbuf[NF_ERRBUF_SIZE];
    /* Live capture */
    int live;
    int stop_requested;
    uint64_t last_refresh_ms;      /* monotonic time of the last clock advance */
    struct nf_hooks hooks;         /* for on_wait_begin and on_wait_end */
    struct nf_meter_group *group;   /* several meters; then capture and meter are NULL */
    unsigned meter_count;
    uint64_t *meter_processed;     /* packets per meter, meter_count entries */
    struct nf_trim_watch cached_flows; /* trims when the flow cache has shrunk */
    int threaded;                  /* a group or a dissection thread runs beside the caller */
    unsigned fork_generation;      /* nf_process_fork_generation when those threads started */
    int trimmed_at_end;
};

/* Each meter is a thread with its own handle; more than this only wastes memory. */
#define NF_MAX_METERS 256

/* Distinguishes the fanout groups of several engines in one process. */
static atomic_uint nf_engine_instances;

static int check_live_config(const struct nf_config *config, const struct nf_hooks *hooks,
                             char *errbuf)
{
    if (config->snapshot_length <= 0 || config->socket_buffer_size < 0) {
        snprintf(errbuf, NF_ERRBUF_SIZE,
                 "invalid snapshot length %d or socket buffer size %d: expected > 0 and >= 0",
                 config->snapshot_length, config->socket_buffer_size);
        return NF_EINVAL;
    }
    if (config->n_meters > 1 && hooks != NULL) {
        snprintf(errbuf, NF_ERRBUF_SIZE,
                 "plugins need a single meter for live capture: set n_meters to 1 (got %u)",
                 config->n_meters);
        return NF_EINVAL;
    }
    return 0;
}

static int check_config(const struct nf_config *config, const struct nf_hooks *hooks,
                        char *errbuf)
{
    if (config->interface != NULL) {
        int error = check_live_config(config, hooks, errbuf);
        if (error != 0)
            return error;
    } else if (config->path_count == 0 || config->paths == NULL) {
        snprintf(errbuf, NF_ERRBUF_SIZE, "no capture file given");
        return NF_EINVAL;
    }
    if (config->accounting_mode < 0 || config->accounting_mode > 3) {
        snprintf(errbuf, NF_ERRBUF_SIZE, "invalid accounting mode %d: expected 0 to 3",
                 config->accounting_mode);
        return NF_EINVAL;
    }
    if (config->n_meters > NF_MAX_METERS) {
        snprintf(errbuf, NF_ERRBUF_SIZE, "invalid n_meters %u: expected at most %d",
                 config->n_meters, NF_MAX_METERS);
        return NF_EINVAL;
    }
    if (config->n_dissections > 255 || config->splt_analysis > 65535) {
        snprintf(errbuf, NF_ERRBUF_SIZE,
                 "invalid n_dissections %u or splt_analysis %u: expected 0-255 and 0-65535",
                 config->n_dissections, config->splt_analysis);
        return NF_EINVAL;
    }
    return 0;
}

static int fanout_group_id(void)
{
    /* nfstream's rule: process id plus instance number, in 16 bits. */
    return (int)(((unsigned)getpid() + atomic_fetch_add(&nf_engine_instances, 1)) & 0xffffu);
}

/* Creates the dissector and the one meter of a single-meter run. Returns 0 or a negative code. */
static int create_single_meter(struct nf_engine *engine, const struct nf_config *config,
                               const struct nf_hooks *hooks, char *errbuf)
{
    if (config->n_dissections > 0) {
        engine->dissector = nf_dissector_create(errbuf);
        if (engine->dissector == NULL)
            return NF_EDISSECTOR;
    }
    engine->meter = nf_meter_create(config, engine->dissector, hooks, &engine->stats);
    if (engine->meter == NULL) {
        snprintf(errbuf, NF_ERRBUF_SIZE, "out of memory creating a meter");
        return NF_ENOMEM;
    }
    engine->threaded = nf_meter_start_dissection_thread(engine->meter, 1);
    return 0;
}

/* Finishes nf_engine_create for a live interface; frees the engine on failure. */
static struct nf_engine *create_live(struct nf_engine *engine, const struct nf_config *config,
                                     const struct nf_hooks *hooks, char *errbuf, int *error)
{
    engine->live = 1;
    engine->last_refresh_ms = nf_clock_monotonic_ms();
    if (config->n_meters > 1) {
        engine->meter_count = config->n_meters;
        engine->group = nf_meter_group_create(config, fanout_group_id(), errbuf, error);
        if (engine->group != NULL)
            return engine;
        goto fail;
    }
    engine->capture = nf_capture_open_live(config, fanout_group_id(), errbuf, error);
    if (engine->capture == NULL)
        goto fail;
    *error = create_single_meter(engine, config, hooks, errbuf);
    if (*error != 0)
        goto fail;
    return engine;

fail:
    nf_engine_free(engine);
    return NULL;
}

struct nf_engine *nf_engine_create(const struct nf_config *config, const struct nf_hooks *hooks,
                                   char *errbuf, int *error)
{
    struct nf_engine *engine = NULL;

    *error = check_config(config, hooks, errbuf);
    if (*error != 0)
        return NULL;
    engine = calloc(1, sizeof(*engine));
    *error = NF_ENOMEM;
    snprintf(errbuf, NF_ERRBUF_SIZE, "out of memory creating the engine");
    if (engine == NULL)
        goto fail;
    engine->meter_processed = calloc(config->n_meters > 1 ? config->n_meters : 1, sizeof(uint64_t));
    if (engine->meter_processed == NULL)
        goto fail;
    engine->config = *config;
    /* Read before any thread starts, so a fork after that shows as a new generation. */
    engine->fork_generation = nf_process_fork_generation();
    /* The paths and filter are copied by the capture; drop the borrowed pointers. */
    engine->config.paths = NULL;
    engine->config.bpf_filter = NULL;
    engine->config.interface = NULL;
    engine->meter_count = 1;
    if (hooks != NULL)
        engine->hooks = *hooks;
    if (config->interface != NULL)
        return create_live(engine, config, hooks, errbuf, error);
    if (config->n_meters > 1 && hooks == NULL) {
        engine->meter_count = config->n_meters;
        engine->group = nf_meter_group_create(config, -1, errbuf, error);
        if (engine->group == NULL)
            goto fail;
        return engine;
    }
    engine->capture = nf_capture_open(config->paths, config->path_count, config->bpf_filter,
                                      nf_config_decode_flags(config), errbuf, error);
    if (engine->capture == NULL)
        goto fail;
    *error = create_single_meter(engine, config, hooks, errbuf);
    if (*error != 0)
        goto fail;
    nf_meter_start_lookahead(engine->meter);
    return engine;

fail:
    nf_engine_free(engine);
    return NULL;
}

int nf_engine_check_file(const char *path, const char *bpf_filter, int decode_flags,
                         char *errbuf)
{
    int error;
    struct nf_capture *capture = nf_capture_open(&path, 1, bpf_filter, decode_flags, errbuf,
                                                 &error);

    nf_capture_free(capture);
    return capture != NULL ? 0 : error;
}

static int fail(struct nf_engine *engine, int error, const char *message)
{
    engine->failure = error;
    if (message != NULL)
        snprintf(engine->errbuf, sizeof(engine->errbuf), "%s", message);
    return error;
}

/* Records a meter failure (NF_ENOMEM or NF_EHOOK); returns 0 for success. */
static int check_meter(struct nf_engine *engine, int status)
{
    if (status == NF_ENOMEM)
        return fail(engine, status, "out of memory creating a flow");
    return status != 0 ? fail(engine, status, "a hook failed") : 0;
}

static int meter_frame(struct nf_engine *engine, const struct nf_frame *frame)
{
    int flags = nf_config_decode_flags(&engine->config);

    return check_meter(engine, nf_meter_frame(engine->meter, frame, flags));
}

/*
 * Reads, decodes and meters one frame. Returns 0, or a negative code. A
 * read error (a damaged record) ends the files as their end would. The
 * flows metered so far are expired and handed out first. The error comes
 * after the last of them, with its message still in errbuf.
 */
static int step(struct nf_engine *engine)
{
    struct nf_frame frame;
    int status = nf_capture_next(engine->capture, &frame, engine->errbuf);

    if (status < 0)
        engine->read_failure = status;
    if (status <= 0) {
        engine->finished = 1;
        engine->stats.files_truncated = nf_capture_truncated_files(engine->capture);
        return check_meter(engine, nf_meter_flush(engine->meter));
    }
    return meter_frame(engine, &frame);
}

/* Moves the clock to wall time and reads libpcap's drop counters. */
static int refresh_live(struct nf_engine *engine)
{
    engine->last_refresh_ms = nf_clock_monotonic_ms();
    nf_capture_live_stats(engine->capture, &engine->stats);
    return check_meter(engine, nf_meter_advance(engine->meter, nf_live_clock_target_ns()));
}

/* Closes the handle and expires every cached flow, as at the end of a file. */
static int stop_live(struct nf_engine *engine)
{
    nf_capture_live_stats(engine->capture, &engine->stats);
    nf_capture_close(engine->capture);
    engine->finished = 1;
    return check_meter(engine, nf_meter_flush(engine->meter));
}

/* Reads one frame through the wait hooks. Returns 1, NF_CAPTURE_TIMEOUT or a negative code. */
static int read_live(struct nf_engine *engine, struct nf_frame *frame)
{
    int status, request = 0;

    if (engine->hooks.on_wait_begin != NULL)
        engine->hooks.on_wait_begin(engine->hooks.context);
    status = nf_capture_next(engine->capture, frame, engine->errbuf);
    if (engine->hooks.on_wait_end != NULL)
        request = engine->hooks.on_wait_end(engine->hooks.context);
    if (request < 0)
        return fail(engine, NF_EHOOK, "a hook failed");
    if (request > 0)
        engine->stop_requested = 1;
    /* A live read never reports the end of the source while the handle is open. */
    return status < 0 ? fail(engine, status, NULL) : status;
}

/* One live step. Returns 0, NF_ENGINE_WAITING after a read timeout, or a negative code. */
static int step_live(struct nf_engine *engine)
{
    struct nf_frame frame;
    int status = read_live(engine, &frame);

    if (status < 0)
        return status;
    if (status == 1 && meter_frame(engine, &frame) != 0)
        return engine->failure;
    if (status == NF_CAPTURE_TIMEOUT ||
        nf_clock_monotonic_ms() - engine->last_refresh_ms >= NF_LIVE_REFRESH_MS) {
        if (refresh_live(engine) != 0)
            return engine->failure;
    }
    return status == NF_CAPTURE_TIMEOUT ? NF_ENGINE_WAITING : 0;
}

static int next_live(struct nf_engine *engine, struct nf_flow **flow)
{
    uint64_t start_ms = nf_clock_monotonic_ms();

    while (engine->failure == 0) {
        *flow = nf_meter_pop_ready(engine->meter, engine->finished);
        if (*flow != NULL)
            return 1;
        if (engine->finished)
            return 0;
        if (engine->stop_requested) {
            stop_live(engine);
            continue;
        }
        if (step_live(engine) == NF_ENGINE_WAITING ||
            nf_clock_monotonic_ms() - start_ms >= NF_LIVE_WAKE_MS)
            break;
    }
    return engine->failure != 0 ? engine->failure : NF_ENGINE_WAITING;
}

static int next_from_group(struct nf_engine *engine, struct nf_flow **flow)
{
    int status;

    if (engine->failure != 0)
        return engine->failure;
    status = nf_meter_group_next(engine->group, flow, engine->errbuf);
    nf_meter_group_stats(engine->group, &engine->stats, engine->meter_processed);
    if (status < 0)
        engine->failure = status;
    return status;
}

/*
 * Returns freed memory once the flow cache has shrunk to half its peak,
 * and once at the end of the run.
 */
static void return_memory(struct nf_engine *engine, int status)
{
    if (status == 0 && !engine->trimmed_at_end) {
        engine->trimmed_at_end = 1;
        nf_memory_trim();
        return;
    }
    nf_trim_watch_update(&engine->cached_flows, engine->stats.flows_active);
}

/* Frames read between two looks at the clock while no flow is ready. */
#define NF_FILE_CLOCK_FRAMES 4096

/*
 * Reads files until a flow is ready. Returns NF_ENGINE_WAITING after about
 * NF_LIVE_WAKE_MS without one, so the caller can handle signals while a
 * long stretch of a capture expires nothing. A stop request ends reading
 * and expires the cached flows, as at the end of the files.
 */
static int next_from_files(struct nf_engine *engine, struct nf_flow **flow)
{
    uint64_t start_ms = 0;
    unsigned frames = 0;

    while (engine->failure == 0) {
        *flow = nf_meter_pop_ready(engine->meter, engine->finished);
        if (*flow != NULL)
            return 1;
        if (engine->finished)
            return engine->read_failure != 0 ? fail(engine, engine->read_failure, NULL) : 0;
        if (engine->stop_requested) {
            engine->finished = 1;
            check_meter(engine, nf_meter_flush(engine->meter));
            continue;
        }
        step(engine);
        /*
         * Most calls find a flow within a few frames, so the clock starts at
         * the first check instead of on entry. Reading it on entry cost 3% of
         * the run on a capture of a million short flows (perf).
         */
        if (++frames % NF_FILE_CLOCK_FRAMES == 0) {
            uint64_t now_ms = nf_clock_monotonic_ms();

            if (start_ms == 0)
                start_ms = now_ms;
            else if (now_ms - start_ms >= NF_LIVE_WAKE_MS)
                return NF_ENGINE_WAITING;
        }
    }
    return engine->failure;
}

static int next_flow(struct nf_engine *engine, struct nf_flow **flow)
{
    if (engine->group != NULL)
        return next_from_group(engine, flow);
    if (engine->live)
        return next_live(engine, flow);
    return next_from_files(engine, flow);
}

int nf_engine_next_flow(struct nf_engine *engine, struct nf_flow **flow)
{
    int status;

    *flow = NULL;
    if ((engine->threaded || engine->group != NULL) && engine->failure == 0 &&
        engine->fork_generation != nf_process_fork_generation())
        return fail(engine, NF_EFORK,
                    "this run started before os.fork() and its engine threads stayed in the "
                    "parent process; start a new iteration of the NFStreamer in the child");
    status = next_flow(engine, flow);
    return_memory(engine, status);
    return status;
}

int nf_engine_take_ready(struct nf_engine *engine, struct nf_flow **flow)
{
    *flow = NULL;
    /* A failed run or one in a forked child goes through nf_engine_next_flow, which reports it. */
    if (engine->meter == NULL || engine->failure != 0 ||
        engine->fork_generation != nf_process_fork_generation())
        return 0;
    *flow = nf_meter_pop_ready(engine->meter, 0);
    if (*flow == NULL)
        return 0;
    return_memory(engine, 1);
    return 1;
}

void nf_engine_stop(struct nf_engine *engine)
{
    if (engine->group != NULL)
        nf_meter_group_stop(engine->group);
    else
        engine->stop_requested = 1;
}

unsigned nf_engine_meter_count(const struct nf_engine *engine)
{
    return engine->meter_count;
}

uint64_t nf_engine_meter_processed(const struct nf_engine *engine, unsigned index)
{
    if (index >= engine->meter_count)
        return 0;
    if (engine->group == NULL)
        return engine->stats.packets_processed;
    return engine->meter_processed[index];
}

int nf_engine_check_interface(const char *interface, const char *bpf_filter, char *errbuf)
{
    return nf_capture_check_interface(interface, bpf_filter, errbuf);
}

const char *nf_engine_error(const struct nf_engine *engine)
{
    return engine->errbuf;
}

const struct nf_stats *nf_engine_stats(const struct nf_engine *engine)
{
    return &engine->stats;
}

const char *nf_engine_truncation(const struct nf_engine *engine, uint64_t *packets_read)
{
    if (engine->group != NULL)
        return nf_meter_group_truncation(engine->group, packets_read);
    return nf_capture_truncation(engine->capture, packets_read);
}

void nf_engine_free(struct nf_engine *engine)
{
    if (engine == NULL)
        return;
    nf_meter_group_free(engine->group);
    nf_meter_free(engine->meter);
    /* In a forked child the absent dissection thread may have left nDPI's module half updated. */
    if (!engine->threaded || engine->fork_generation == nf_process_fork_generation())
        nf_dissector_free(engine->dissector);
    nf_capture_free(engine->capture);
    free(engine->meter_processed);
    free(engine);
}
