/*
 * dissection_thread_check.c - checks that dissecting in a second thread
 * gives the flows that inline dissection gives.
 *
 * Usage: dissection_thread_check N_DISSECTIONS IDLE_TIMEOUT_MS FILE...
 *
 * Each file is metered twice by the engine: once as configured, which on
 * a machine with two or more cores moves nDPI to the dissection thread,
 * and once with sync_app_info set, which keeps dissection inline. Both
 * runs must hand out the same flows in the same order with the same
 * application fields. Built with ThreadSanitizer by the test suite, so a
 * data race between the meter and the thread fails the run too. Prints
 * the number of flows compared and exits 1 at the first difference.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nf_engine.h"

struct nf_check_run {
    struct nf_flow **flows;
    size_t count;
};

static int collect_flows(const char *path, unsigned n_dissections, uint64_t idle_ms,
                         int inline_dissection, struct nf_check_run *run)
{
    const char *paths[1] = {path};
    struct nf_config config = {0};
    char errbuf[NF_ERRBUF_SIZE];
    struct nf_engine *engine;
    struct nf_flow *flow;
    size_t capacity = 0;
    int error, status;

    config.paths = paths;
    config.path_count = 1;
    config.decode_tunnels = 1;
    config.n_dissections = n_dissections;
    config.idle_timeout_ms = idle_ms;
    config.active_timeout_ms = 1800000;
    config.sync_app_info = inline_dissection;
    engine = nf_engine_create(&config, NULL, errbuf, &error);
    if (engine == NULL) {
        fprintf(stderr, "%s: %s\n", path, errbuf);
        return -1;
    }
    run->flows = NULL;
    run->count = 0;
    while ((status = nf_engine_next_flow(engine, &flow)) == 1) {
        if (run->count == capacity) {
            capacity = capacity > 0 ? capacity * 2 : 256;
            run->flows = realloc(run->flows, capacity * sizeof(*run->flows));
            if (run->flows == NULL)
                abort();
        }
        run->flows[run->count++] = flow;
    }
    nf_engine_free(engine);
    if (status < 0) {
        fprintf(stderr, "%s: engine failed with %d\n", path, status);
        return -1;
    }
    return 0;
}

static int same_app(const struct nf_app_info *a, const struct nf_app_info *b)
{
    return strcmp(a->application_name, b->application_name) == 0 &&
           strcmp(a->category_name, b->category_name) == 0 &&
           strcmp(a->requested_server_name, b->requested_server_name) == 0 &&
           strcmp(a->client_fingerprint, b->client_fingerprint) == 0 &&
           strcmp(a->server_fingerprint, b->server_fingerprint) == 0 &&
           strcmp(a->user_agent, b->user_agent) == 0 &&
           strcmp(a->content_type, b->content_type) == 0 && a->is_guessed == b->is_guessed &&
           a->confidence == b->confidence && a->app_id == b->app_id &&
           a->master_id == b->master_id && a->category_id == b->category_id &&
           a->done == b->done;
}

static int compare_file(const char *path, unsigned n_dissections, uint64_t idle_ms,
                        size_t *compared)
{
    struct nf_check_run threaded, inline_run;
    int failed = 0;

    if (collect_flows(path, n_dissections, idle_ms, 0, &threaded) != 0 ||
        collect_flows(path, n_dissections, idle_ms, 1, &inline_run) != 0)
        return -1;
    if (threaded.count != inline_run.count) {
        fprintf(stderr, "%s: %zu flows with the thread, %zu inline\n", path, threaded.count,
                inline_run.count);
        failed = 1;
    }
    for (size_t i = 0; !failed && i < threaded.count; i++) {
        const struct nf_flow *a = threaded.flows[i];
        const struct nf_flow *b = inline_run.flows[i];

        if (a->id != b->id || a->hash != b->hash ||
            a->scope[NF_BIDIRECTIONAL].packets != b->scope[NF_BIDIRECTIONAL].packets ||
            (a->app == NULL) != (b->app == NULL) ||
            (a->app != NULL && !same_app(a->app, b->app))) {
            fprintf(stderr, "%s: flow %zu differs (id %lld, application '%s' against '%s')\n",
                    path, i, (long long)a->id, a->app != NULL ? a->app->application_name : "",
                    b->app != NULL ? b->app->application_name : "");
            failed = 1;
        }
    }
    for (size_t i = 0; i < threaded.count; i++)
        nf_flow_free(threaded.flows[i]);
    for (size_t i = 0; i < inline_run.count; i++)
        nf_flow_free(inline_run.flows[i]);
    free(threaded.flows);
    free(inline_run.flows);
    *compared += threaded.count;
    return failed ? -1 : 0;
}

int main(int argc, char **argv)
{
    size_t compared = 0;
    int failed = 0;

    if (argc < 4) {
        fprintf(stderr, "usage: %s N_DISSECTIONS IDLE_TIMEOUT_MS FILE...\n", argv[0]);
        return 2;
    }
    unsigned n_dissections = (unsigned)strtoul(argv[1], NULL, 10);
    uint64_t idle_ms = strtoull(argv[2], NULL, 10);

    for (int i = 3; i < argc; i++) {
        if (compare_file(argv[i], n_dissections, idle_ms, &compared) != 0)
            failed = 1;
    }
    printf("compared %zu flows\n", compared);
    return failed;
}
