/*
 * fuzz_decode_meter.c - libFuzzer target for the packet decoder and the
 * meter, without libpcap.
 *
 * Input layout (all integers big-endian):
 *   byte 0  low 4 bits: link type, an index into LINKTYPES (modulo its
 *           size); bit 4: extended decoding; bit 5: dissect in a second
 *           thread (taken only without hooks and sync_app_info, on two
 *           cores); bit 6: statistical_analysis; bit 7: frames wait behind
 *           later ones (nf_meter_start_lookahead, taken only without
 *           dissection and hooks)
 *   byte 1  bit 0 decode_tunnels; bits 1-2 n_dissections (0, 1, 20, 20);
 *           bits 3-4 accounting mode; bit 5 splt_analysis 5 instead of 0;
 *           bit 6 sync_app_info; bit 7 install hooks that force expiry
 *   byte 2  idle timeout (low 4 bits) and active timeout (high 4 bits),
 *           each an index into a table of millisecond values
 *   then frames, each: caplen (2 bytes), time step in ms (2 bytes, signed,
 *   so time can go backwards), wirelen excess (1 byte, signed), caplen
 *   bytes of frame. A frame longer than the rest of the input is cut.
 *
 * Each frame is copied into a buffer of exactly caplen bytes so that
 * AddressSanitizer reports any read past the captured data. Frames go through
 * nf_meter_frame; at the end the meter is flushed and every ready flow is
 * popped and freed. The nDPI module is created once and
 * reused, because creating it takes far longer than one input.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* The decoder's link types; 108 (LOOP) and 276 (LINUX_SLL2) need extended decoding. */
static const int LINKTYPES[] = {0, 1, 9, 12, 14, 50, 101, 104, 113, 127, 228, 229, 108, 276};
static const unsigned DISSECTIONS[] = {0, 1, 20, 20};
static const uint64_t TIMEOUTS_MS[] = {0, 1, 5, 10, 50, 100, 500, 1000, 5000, 10000,
                                       60000, 120000, 1800000, 3600000, UINT32_MAX,
                                       UINT64_MAX / 2};

#define NF_FUZZ_HEADER 3
#define NF_FUZZ_FRAME_HEADER 5

static struct nf_dissector *shared_dissector(void)
{
    static struct nf_dissector *dissector;
    char errbuf[NF_ERRBUF_SIZE];

    if (dissector == NULL) {
        dissector = nf_dissector_create(errbuf);
        if (dissector == NULL)
            abort();
    }
    return dissector;
}

/* Hooks that force expiry of every third updated flow, to reach that path. */
static int force_expiry(void *context, struct nf_flow *flow, const struct nf_packet *packet)
{
    (void)context;
    if (flow->scope[NF_BIDIRECTIONAL].packets % 3 == 0 && packet->direction == 1)
        flow->expiration_id = -1;
    return 0;
}

static int check_expired(void *context, struct nf_flow *flow)
{
    (void)context;
    if (flow->scope[NF_BIDIRECTIONAL].packets == 0)
        abort(); /* an expired flow always has its first packet counted */
    return 0;
}

static void parse_config(const uint8_t *data, struct nf_config *config, int *linktype,
                         int *use_hooks)
{
    memset(config, 0, sizeof(*config));
    *linktype = LINKTYPES[(data[0] & 15) % (sizeof(LINKTYPES) / sizeof(LINKTYPES[0]))];
    config->extended_decoding = (data[0] >> 4) & 1;
    config->statistical_analysis = (data[0] >> 6) & 1;
    config->decode_tunnels = data[1] & 1;
    config->n_dissections = DISSECTIONS[(data[1] >> 1) & 3];
    config->accounting_mode = (data[1] >> 3) & 3;
    config->splt_analysis = (data[1] & 0x20) ? 5 : 0;
    config->sync_app_info = (data[1] >> 6) & 1;
    *use_hooks = (data[1] >> 7) & 1;
    config->idle_timeout_ms = TIMEOUTS_MS[data[2] & 15];
    config->active_timeout_ms = TIMEOUTS_MS[data[2] >> 4];
}

/* Decodes and meters every frame. Returns 0, or the meter's error. */
static int feed_frames(struct nf_meter *meter, int linktype, int decode_flags,
                       const uint8_t *data, size_t size)
{
    uint64_t time_ns = UINT64_C(1600000000) * UINT64_C(1000000000);

    while (size >= NF_FUZZ_FRAME_HEADER) {
        uint32_t caplen = (uint32_t)data[0] << 8 | data[1];
        int16_t step_ms = (int16_t)((uint16_t)data[2] << 8 | data[3]);
        int8_t excess = (int8_t)data[4];
        struct nf_frame frame;
        uint8_t *bytes;
        int status;

        data += NF_FUZZ_FRAME_HEADER;
        size -= NF_FUZZ_FRAME_HEADER;
        if (caplen > size)
            caplen = (uint32_t)size;
        bytes = malloc(caplen > 0 ? caplen : 1);
        if (bytes == NULL)
            return NF_ENOMEM;
        memcpy(bytes, data, caplen);
        time_ns += (uint64_t)((int64_t)step_ms * (int64_t)NF_NS_PER_MS);
        frame.data = bytes;
        frame.caplen = caplen;
        frame.wirelen = (uint32_t)((int64_t)caplen + excess);
        frame.time_ns = time_ns;
        frame.linktype = linktype;
        status = nf_meter_frame(meter, &frame, decode_flags);
        /* A waiting frame keeps no pointer into its bytes, so they can go now. */
        free(bytes);
        data += caplen;
        size -= caplen;
        if (status != 0)
            return status;
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct nf_config config;
    struct nf_stats stats;
    struct nf_hooks hooks = {0};
    struct nf_meter *meter;
    struct nf_flow *flow;
    int linktype, use_hooks;

    if (size < NF_FUZZ_HEADER)
        return 0;
    parse_config(data, &config, &linktype, &use_hooks);
    memset(&stats, 0, sizeof(stats));
    hooks.on_update = force_expiry;
    hooks.on_expire = check_expired;
    meter = nf_meter_create(&config, config.n_dissections > 0 ? shared_dissector() : NULL,
                            use_hooks ? &hooks : NULL, &stats);
    if (meter == NULL)
        return 0;
    if (data[0] & 0x20)
        nf_meter_start_dissection_thread(meter, 1);
    if (data[0] & 0x80)
        nf_meter_start_lookahead(meter);
    feed_frames(meter, linktype, nf_config_decode_flags(&config), data + NF_FUZZ_HEADER,
                size - NF_FUZZ_HEADER);
    /* Pop half the flows before the flush, so nf_meter_free also meets queued ones. */
    if (nf_meter_flush(meter) == 0 && (size & 1) == 0) {
        while ((flow = nf_meter_pop_ready(meter, 1)) != NULL)
            nf_flow_free(flow);
    }
    nf_meter_free(meter);
    return 0;
}
