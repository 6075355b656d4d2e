/*
 * fuzz_capture_file.c - libFuzzer target for whole capture files read by
 * the engine (libpcap, decoder, meter and engine loop together).
 *
 * The input is written to a file in /dev/shm (falling back to /tmp)
 * because nf_engine_create takes paths. Each input runs twice: once alone
 * without a filter, and once listed twice (so the engine switches files)
 * with a BPF filter and extended decoding. Dissection stays off: creating an nDPI module per
 * run would dominate the time, and fuzz_decode_meter covers dissection.
 * Every flow handed out is freed; the engine is freed after the last one.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "input_file.h"
#include "nf_engine.h"

#define NF_FUZZ_MAX_FLOWS 100000

static void run_engine(const char *const *paths, size_t count, const char *filter,
                       int accounting_mode, int extended_decoding)
{
    struct nf_config config = {0};
    char errbuf[NF_ERRBUF_SIZE];
    struct nf_engine *engine;
    struct nf_flow *flow;
    int error, status;

    config.paths = paths;
    config.path_count = count;
    config.bpf_filter = filter;
    config.decode_tunnels = 1;
    config.extended_decoding = extended_decoding;
    config.idle_timeout_ms = 120000;
    config.active_timeout_ms = 1800000;
    config.accounting_mode = accounting_mode;
    config.splt_analysis = 3;
    engine = nf_engine_create(&config, NULL, errbuf, &error);
    if (engine == NULL) {
        if (error >= 0 || strlen(errbuf) == 0)
            abort(); /* a failure must come with a code and a message */
        return;
    }
    for (int flows = 0; flows < NF_FUZZ_MAX_FLOWS; flows++) {
        status = nf_engine_next_flow(engine, &flow);
        if (status != 1)
            break;
        nf_flow_free(flow);
    }
    nf_engine_free(engine);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = nf_fuzz_write_input("capture", data, size);
    const char *twice[2] = {path, path};

    if (path == NULL)
        return 0;
    run_engine(&path, 1, NULL, 0, 0);
    run_engine(twice, 2, "udp or (ip6 and tcp) or vlan", (int)(size % 4), 1);
    unlink(path);
    return 0;
}
