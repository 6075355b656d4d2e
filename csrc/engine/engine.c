/*
 * engine.c - one run over a list of capture files: capture, decode and
 * meter in a loop that stops as soon as a flow is ready.
 *
 * The loop reads as its phases: hand out a ready flow if there is one;
 * otherwise read a frame (at the end of the last file, flush the cache);
 * decode it (an ignored frame is counted by reason and skipped, without
 * moving the clock); meter it. After an error the engine stays failed and
 * returns the same error on every later call.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

struct nf_engine {
    struct nf_config config;
    struct nf_capture *capture;
    struct nf_dissector *dissector;
    struct nf_meter *meter;
    struct nf_stats stats;
    int finished;  /* every file read and the cache flushed */
    int failure;   /* first error, 0 while healthy */
    char errbuf[NF_ERRBUF_SIZE];
};

static int check_config(const struct nf_config *config, char *errbuf)
{
    if (config->path_count == 0 || config->paths == NULL) {
        snprintf(errbuf, NF_ERRBUF_SIZE, "no capture file given");
        return NF_EINVAL;
    }
    if (config->accounting_mode < 0 || config->accounting_mode > 3) {
        snprintf(errbuf, NF_ERRBUF_SIZE, "invalid accounting mode %d: expected 0 to 3",
                 config->accounting_mode);
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

struct nf_engine *nf_engine_create(const struct nf_config *config, const struct nf_hooks *hooks,
                                   char *errbuf, int *error)
{
    struct nf_engine *engine = NULL;

    *error = check_config(config, errbuf);
    if (*error != 0)
        return NULL;
    engine = calloc(1, sizeof(*engine));
    *error = NF_ENOMEM;
    snprintf(errbuf, NF_ERRBUF_SIZE, "out of memory creating the engine");
    if (engine == NULL)
        goto fail;
    engine->config = *config;
    /* The paths and filter are copied by the capture; drop the borrowed pointers. */
    engine->config.paths = NULL;
    engine->config.bpf_filter = NULL;
    engine->capture = nf_capture_open(config->paths, config->path_count, config->bpf_filter,
                                      nf_config_decode_flags(config), errbuf, error);
    if (engine->capture == NULL)
        goto fail;
    if (config->n_dissections > 0) {
        engine->dissector = nf_dissector_create(errbuf);
        *error = NF_EDISSECTOR;
        if (engine->dissector == NULL)
            goto fail;
    }
    engine->meter = nf_meter_create(config, engine->dissector, hooks, &engine->stats);
    *error = NF_ENOMEM;
    if (engine->meter == NULL)
        goto fail;
    *error = 0;
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

/* Reads, decodes and meters one frame. Returns 0, or a negative code. */
static int step(struct nf_engine *engine)
{
    struct nf_frame frame;
    struct nf_packet packet;
    enum nf_drop_reason reason;
    int status = nf_capture_next(engine->capture, &frame, engine->errbuf);

    if (status < 0)
        return fail(engine, status, NULL);
    if (status == 0) {
        engine->finished = 1;
        status = nf_meter_flush(engine->meter);
        return status != 0 ? fail(engine, status, "a hook failed") : 0;
    }
    engine->stats.packets_read++;
    reason = nf_decode_packet(frame.linktype, nf_config_decode_flags(&engine->config), frame.data,
                              frame.caplen, frame.wirelen, &packet);
    if (reason != NF_DROP_NONE) {
        engine->stats.packets_ignored++;
        engine->stats.dropped[reason]++;
        return 0;
    }
    packet.time_ns = frame.time_ns;
    status = nf_meter_process(engine->meter, &packet);
    if (status == NF_ENOMEM)
        return fail(engine, status, "out of memory creating a flow");
    return status != 0 ? fail(engine, status, "a hook failed") : 0;
}

int nf_engine_next_flow(struct nf_engine *engine, struct nf_flow **flow)
{
    *flow = NULL;
    while (engine->failure == 0) {
        *flow = nf_meter_pop_ready(engine->meter);
        if (*flow != NULL)
            return 1;
        if (engine->finished)
            return 0;
        step(engine);
    }
    return engine->failure;
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
    return nf_capture_truncation(engine->capture, packets_read);
}

void nf_engine_free(struct nf_engine *engine)
{
    if (engine == NULL)
        return;
    nf_meter_free(engine->meter);
    nf_dissector_free(engine->dissector);
    nf_capture_free(engine->capture);
    free(engine);
}
