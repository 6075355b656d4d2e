/*
 * dissector.c - application detection with nDPI, the only engine file
 * that includes nDPI headers.
 *
 * One detection module (struct nf_dissector) serves every flow of a meter.
 * Each flow gets a struct nf_dpi_state while dissection runs. Packets go
 * to nDPI under nfstream's n_dissections rules, and once dissection ends
 * the results are copied into flow->app and the nDPI state is freed,
 * because it is the largest part of a flow.
 *
 * Limits: written against nDPI 4.2 (API version 8668). Its
 * ndpi_detection_process_packet takes the packet length as an unsigned
 * short, so IP packets longer than 65535 captured bytes are cut to 65535.
 * The confidence stored is nDPI 4.2's enum value (0 unknown, 1 match by
 * port, 2 match by IP, 3 DPI cache, 4 DPI), which numbers differently
 * from later nDPI releases.
 */
#define _DEFAULT_SOURCE /* nDPI 4.2 headers use u_char and u_int */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ndpi_api.h>

#include "nf_engine.h"

/* nDPI 4.2 process_packet takes an unsigned short length. */
#define NF_DPI_MAX_PACKET_LENGTH 65535u

struct nf_dissector {
    struct ndpi_detection_module_struct *module;
};

/*
 * Per-flow nDPI state. The ndpi_flow_struct lives inline so a flow needs
 * one allocation; its own members (HTTP strings, TLS buffers) are freed
 * by ndpi_free_flow_data.
 */
struct nf_dpi_state {
    struct ndpi_flow_struct flow;
    ndpi_protocol detected; /* last result of process_packet or giveup */
    uint8_t guessed;        /* 1 when our giveup call guessed the protocol */
};

static void nf_dissector_set_error(char *errbuf, const char *message)
{
    if (errbuf != NULL)
        snprintf(errbuf, NF_ERRBUF_SIZE, "%s", message);
}

struct nf_dissector *nf_dissector_create(char *errbuf)
{
    struct nf_dissector *dissector;
    NDPI_PROTOCOL_BITMASK all_protocols;

    if (ndpi_get_api_version() != NDPI_API_VERSION) {
        if (errbuf != NULL)
            snprintf(errbuf, NF_ERRBUF_SIZE,
                     "nDPI library API version %u does not match the headers' version %u; "
                     "rebuild against the installed nDPI",
                     (unsigned)ndpi_get_api_version(), (unsigned)NDPI_API_VERSION);
        return NULL;
    }

    dissector = calloc(1, sizeof(*dissector));
    if (dissector == NULL) {
        nf_dissector_set_error(errbuf, "out of memory while creating the nDPI dissector");
        return NULL;
    }

    dissector->module = ndpi_init_detection_module(ndpi_no_prefs);
    if (dissector->module == NULL) {
        nf_dissector_set_error(errbuf, "nDPI detection module initialisation failed");
        free(dissector);
        return NULL;
    }

    NDPI_BITMASK_SET_ALL(all_protocols);
    ndpi_set_protocol_detection_bitmask2(dissector->module, &all_protocols);
    ndpi_finalize_initialization(dissector->module);
    return dissector;
}

void nf_dissector_free(struct nf_dissector *dissector)
{
    if (dissector == NULL)
        return;

    ndpi_exit_detection_module(dissector->module);
    free(dissector);
}

void nf_dissector_state_free(struct nf_dpi_state *state)
{
    if (state == NULL)
        return;

    ndpi_free_flow_data(&state->flow);
    free(state);
}

int nf_dissector_app_init(struct nf_flow *flow)
{
    if (flow->app == NULL)
        flow->app = calloc(1, sizeof(*flow->app));
    return flow->app != NULL ? NF_OK : NF_ENOMEM;
}

int nf_dissector_flow_init(struct nf_dissector *dissector, struct nf_flow *flow)
{
    (void)dissector;

    if (nf_dissector_app_init(flow) != NF_OK)
        return NF_ENOMEM;
    if (flow->dpi == NULL) {
        /* calloc gives nDPI the zeroed flow struct it expects. */
        flow->dpi = calloc(1, sizeof(*flow->dpi));
        if (flow->dpi == NULL)
            return NF_ENOMEM;
    }
    return NF_OK;
}

/* Copies at most min(dst_size - 1, src_size) bytes and NUL-terminates. */
static void nf_copy_text(char *dst, size_t dst_size, const char *src, size_t src_size)
{
    size_t length;

    if (src == NULL)
        src = "";
    length = strnlen(src, dst_size - 1 < src_size ? dst_size - 1 : src_size);
    memcpy(dst, src, length);
    dst[length] = '\0';
}

/*
 * Writes "Master.App", "Master" or "App" with the rule of nDPI's
 * ndpi_protocol2name: the master is shown only when it is known and
 * differs from the application.
 */
static void nf_dissector_format_name(struct ndpi_detection_module_struct *module,
                                     ndpi_protocol protocol, char *name, size_t size)
{
    const char *app = ndpi_get_proto_name(module, protocol.app_protocol);
    const char *master = ndpi_get_proto_name(module, protocol.master_protocol);

    if (protocol.master_protocol != NDPI_PROTOCOL_UNKNOWN &&
        protocol.master_protocol != protocol.app_protocol) {
        if (protocol.app_protocol != NDPI_PROTOCOL_UNKNOWN)
            snprintf(name, size, "%s.%s", master, app);
        else
            snprintf(name, size, "%s", master);
    } else {
        snprintf(name, size, "%s", app);
    }
}

static int nf_protocol_is(ndpi_protocol protocol, uint16_t id)
{
    return protocol.master_protocol == id || protocol.app_protocol == id;
}

static int nf_protocol_is_tls_family(ndpi_protocol protocol)
{
    return nf_protocol_is(protocol, NDPI_PROTOCOL_TLS) ||
           nf_protocol_is(protocol, NDPI_PROTOCOL_DTLS) ||
           nf_protocol_is(protocol, NDPI_PROTOCOL_MAIL_SMTPS) ||
           nf_protocol_is(protocol, NDPI_PROTOCOL_MAIL_IMAPS) ||
           nf_protocol_is(protocol, NDPI_PROTOCOL_MAIL_POPS) ||
           nf_protocol_is(protocol, NDPI_PROTOCOL_QUIC);
}

/*
 * Copies the protocol-specific strings. The first matching branch wins,
 * and fields outside it keep their earlier values, as nfstream never
 * clears a collected field.
 */
static void nf_dissector_collect_details(const struct nf_dpi_state *state, struct nf_app_info *app)
{
    const struct ndpi_flow_struct *flow = &state->flow;
    ndpi_protocol protocol = state->detected;

    if (nf_protocol_is(protocol, NDPI_PROTOCOL_DHCP)) {
        nf_copy_text(app->client_fingerprint, sizeof(app->client_fingerprint),
                     flow->protos.dhcp.fingerprint, sizeof(flow->protos.dhcp.fingerprint));
        app->server_fingerprint[0] = '\0';
    } else if (nf_protocol_is(protocol, NDPI_PROTOCOL_HTTP)) {
        if (flow->http.user_agent != NULL)
            nf_copy_text(app->user_agent, sizeof(app->user_agent), flow->http.user_agent,
                         sizeof(app->user_agent));
        if (flow->http.content_type != NULL)
            nf_copy_text(app->content_type, sizeof(app->content_type), flow->http.content_type,
                         sizeof(app->content_type));
    } else if (nf_protocol_is(protocol, NDPI_PROTOCOL_SSH)) {
        nf_copy_text(app->client_fingerprint, sizeof(app->client_fingerprint),
                     flow->protos.ssh.hassh_client, sizeof(flow->protos.ssh.hassh_client));
        nf_copy_text(app->server_fingerprint, sizeof(app->server_fingerprint),
                     flow->protos.ssh.hassh_server, sizeof(flow->protos.ssh.hassh_server));
    } else if (nf_protocol_is_tls_family(protocol)) {
        nf_copy_text(app->client_fingerprint, sizeof(app->client_fingerprint),
                     flow->protos.tls_quic.ja3_client, sizeof(flow->protos.tls_quic.ja3_client));
        nf_copy_text(app->server_fingerprint, sizeof(app->server_fingerprint),
                     flow->protos.tls_quic.ja3_server, sizeof(flow->protos.tls_quic.ja3_server));
        if (flow->http.user_agent != NULL)
            nf_copy_text(app->user_agent, sizeof(app->user_agent), flow->http.user_agent,
                         sizeof(app->user_agent));
    }
}

/* Copies the current nDPI results of the flow into flow->app. */
static void nf_dissector_collect(struct nf_dissector *dissector, struct nf_flow *flow)
{
    const struct nf_dpi_state *state = flow->dpi;
    struct nf_app_info *app = flow->app;
    ndpi_protocol protocol = state->detected;

    nf_dissector_format_name(dissector->module, protocol, app->application_name,
                             sizeof(app->application_name));
    nf_copy_text(app->category_name, sizeof(app->category_name),
                 ndpi_category_get_name(dissector->module, protocol.category),
                 sizeof(app->category_name));
    nf_copy_text(app->requested_server_name, sizeof(app->requested_server_name),
                 state->flow.host_server_name, sizeof(state->flow.host_server_name));
    nf_dissector_collect_details(state, app);

    app->is_guessed = state->guessed;
    app->confidence = (int32_t)state->flow.confidence;
    app->app_id = protocol.app_protocol;
    app->master_id = protocol.master_protocol;
    app->category_id = (uint16_t)protocol.category;
    app->collected = 1;
}

static void nf_dissector_process(struct nf_dissector *dissector, struct nf_dpi_state *state,
                                 const struct nf_packet *packet)
{
    uint32_t length = packet->ip_caplen;

    if (length > NF_DPI_MAX_PACKET_LENGTH)
        length = NF_DPI_MAX_PACKET_LENGTH;
    state->detected = ndpi_detection_process_packet(dissector->module, &state->flow,
                                                    packet->ip_data, (unsigned short)length,
                                                    nf_ms(packet->time_ns));
}

/* Asks nDPI for its best guess (ports, caches, heuristics) with guessing enabled. */
static void nf_dissector_give_up(struct nf_dissector *dissector, struct nf_dpi_state *state)
{
    uint8_t guessed = 0;

    state->detected = ndpi_detection_giveup(dissector->module, &state->flow, 1, &guessed);
    state->guessed = guessed != 0;
}

static int nf_dissector_is_unknown(const struct nf_dpi_state *state)
{
    return state->detected.app_protocol == NDPI_PROTOCOL_UNKNOWN;
}

/* Collects the final results and frees the nDPI state. */
static void nf_dissector_end(struct nf_dissector *dissector, struct nf_flow *flow)
{
    nf_dissector_collect(dissector, flow);
    nf_dissector_state_free(flow->dpi);
    flow->dpi = NULL;
    flow->app->done = 1;
}

/*
 * Runs nfstream's n_dissections state machine for one packet and returns
 * 1 when dissection has ended. Packet 1 is always dissected. A later
 * packet is dissected while the application is unknown or nDPI still
 * wants more packets, and otherwise dissection ends without it. Independently,
 * packet n_dissections ends dissection, with a giveup call when the
 * application is still unknown. The count test runs on later packets
 * only, so with n_dissections == 1 a flow known at packet 1 keeps going
 * for as long as nDPI wants extra packets.
 */
static int nf_dissector_step(struct nf_dissector *dissector, struct nf_dpi_state *state,
                             const struct nf_packet *packet, uint64_t packet_number,
                             unsigned n_dissections)
{
    int done = 0;

    if (packet_number == 1) {
        nf_dissector_process(dissector, state, packet);
        if (nf_dissector_is_unknown(state) && n_dissections == 1) {
            nf_dissector_give_up(dissector, state);
            done = 1;
        }
        return done;
    }

    if (nf_dissector_is_unknown(state) ||
        ndpi_extra_dissection_possible(dissector->module, &state->flow))
        nf_dissector_process(dissector, state, packet);
    else
        done = 1;

    if (packet_number == n_dissections) {
        if (nf_dissector_is_unknown(state))
            nf_dissector_give_up(dissector, state);
        done = 1;
    }
    return done;
}

void nf_dissector_flow_update(struct nf_dissector *dissector, struct nf_flow *flow,
                              const struct nf_packet *packet, uint64_t packet_number,
                              unsigned n_dissections, int collect)
{
    if (flow->dpi == NULL || flow->app == NULL || n_dissections == 0)
        return;

    if (nf_dissector_step(dissector, flow->dpi, packet, packet_number, n_dissections))
        nf_dissector_end(dissector, flow);
    else if (collect)
        nf_dissector_collect(dissector, flow);
}

void nf_dissector_flow_finish(struct nf_dissector *dissector, struct nf_flow *flow)
{
    if (flow->dpi == NULL || flow->app == NULL)
        return;

    if (flow->app->done == 0 && nf_dissector_is_unknown(flow->dpi))
        nf_dissector_give_up(dissector, flow->dpi);
    nf_dissector_end(dissector, flow);
}
