/*
 * test_dissector.c - checks dissector.c against captures whose nDPI 4.2
 * results are known from `ndpiReader -v 2`.
 *
 * The program reads a capture with libpcap, decodes Ethernet (one
 * optional 802.1Q tag) or raw IP frames naively and groups packets into
 * bidirectional 5-tuple flows. It runs the dissector on them the way the
 * meter does: flow_init, then flow_update for each packet, then
 * flow_finish at the end of the capture. It does not link the real
 * decoder or meter, so IP fragments, tunnels and IPv6 extension headers
 * are not handled.
 *
 * Usage:
 *   test_dissector check PCAP_DIR      compare with the expected table below
 *   test_dissector list PCAP [N]       print one line per flow (N = n_dissections, default 20)
 *
 * `check` exits 0 when every expected value matches, 1 otherwise.
 */
#define _DEFAULT_SOURCE /* libpcap headers use u_char */

#include <pcap/pcap.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nf_engine.h"

#define MAX_FLOWS 4096

struct test_flow {
    struct nf_flow flow;
    uint64_t packets;
};

struct test_capture {
    struct test_flow *flows[MAX_FLOWS];
    size_t count;
};

static uint16_t read_u16(const uint8_t *bytes) { return (uint16_t)(bytes[0] << 8 | bytes[1]); }

/* Fills the addresses, ports and protocol from an IPv4 or IPv6 header. Returns 0 or -1. */
static int decode_ip(const uint8_t *ip, uint32_t length, struct nf_packet *packet)
{
    uint32_t header_length;

    if (length < 20)
        return -1;
    packet->ip_version = ip[0] >> 4;
    if (packet->ip_version == 4) {
        header_length = (uint32_t)(ip[0] & 0x0f) * 4;
        packet->protocol = ip[9];
        memcpy(packet->src_ip, ip + 12, 4);
        memcpy(packet->dst_ip, ip + 16, 4);
        if ((read_u16(ip + 6) & 0x1fff) != 0)
            header_length = length; /* later fragment: no ports */
    } else if (packet->ip_version == 6 && length >= 40) {
        header_length = 40;
        packet->protocol = ip[6];
        memcpy(packet->src_ip, ip + 8, 16);
        memcpy(packet->dst_ip, ip + 24, 16);
    } else {
        return -1;
    }

    if ((packet->protocol == 6 || packet->protocol == 17) && length >= header_length + 4) {
        packet->src_port = read_u16(ip + header_length);
        packet->dst_port = read_u16(ip + header_length + 2);
    }
    return 0;
}

/* Decodes one frame into `packet`. Returns 0, or -1 for frames the test skips. */
static int decode_frame(int linktype, const struct pcap_pkthdr *header, const uint8_t *frame,
                        struct nf_packet *packet)
{
    uint32_t offset = 0;

    memset(packet, 0, sizeof(*packet));
    if (linktype == DLT_EN10MB) {
        uint16_t ether_type;

        if (header->caplen < 14)
            return -1;
        ether_type = read_u16(frame + 12);
        offset = 14;
        if (ether_type == 0x8100 && header->caplen >= 18) {
            ether_type = read_u16(frame + 16);
            offset = 18;
        }
        if (ether_type != 0x0800 && ether_type != 0x86dd)
            return -1;
    } else if (linktype != DLT_RAW && linktype != 101 /* LINKTYPE_RAW */) {
        return -1;
    }

    packet->time_ns = (uint64_t)header->ts.tv_sec * 1000000000u;
    packet->time_ns += (uint64_t)header->ts.tv_usec * 1000u;
    packet->ip_data = frame + offset;
    packet->ip_caplen = header->caplen - offset;
    return decode_ip(packet->ip_data, packet->ip_caplen, packet);
}

static int flow_matches(const struct nf_flow *flow, const struct nf_packet *packet)
{
    if (flow->protocol != packet->protocol || flow->ip_version != packet->ip_version)
        return 0;
    if (memcmp(flow->src_ip, packet->src_ip, 16) == 0 &&
        memcmp(flow->dst_ip, packet->dst_ip, 16) == 0 &&
        flow->src_port == packet->src_port && flow->dst_port == packet->dst_port)
        return 1;
    return memcmp(flow->src_ip, packet->dst_ip, 16) == 0 &&
           memcmp(flow->dst_ip, packet->src_ip, 16) == 0 &&
           flow->src_port == packet->dst_port && flow->dst_port == packet->src_port;
}

/* Returns the flow of `packet`, creating it (with nf_dissector_flow_init) when new. */
static struct test_flow *find_flow(struct test_capture *capture, struct nf_dissector *dissector,
                                   const struct nf_packet *packet)
{
    struct test_flow *entry;

    for (size_t i = 0; i < capture->count; i++)
        if (flow_matches(&capture->flows[i]->flow, packet))
            return capture->flows[i];
    if (capture->count == MAX_FLOWS)
        return NULL;

    entry = calloc(1, sizeof(*entry));
    if (entry == NULL)
        return NULL;
    memcpy(entry->flow.src_ip, packet->src_ip, 16);
    memcpy(entry->flow.dst_ip, packet->dst_ip, 16);
    entry->flow.src_port = packet->src_port;
    entry->flow.dst_port = packet->dst_port;
    entry->flow.protocol = packet->protocol;
    entry->flow.ip_version = packet->ip_version;
    if (nf_dissector_flow_init(dissector, &entry->flow) != NF_OK) {
        nf_dissector_state_free(entry->flow.dpi);
        free(entry->flow.app);
        free(entry);
        return NULL;
    }
    capture->flows[capture->count++] = entry;
    return entry;
}

static void free_capture(struct test_capture *capture)
{
    for (size_t i = 0; i < capture->count; i++) {
        nf_dissector_state_free(capture->flows[i]->flow.dpi);
        free(capture->flows[i]->flow.app);
        free(capture->flows[i]);
    }
    capture->count = 0;
}

/* Reads `path`, dissects every flow and finishes them. Returns 0 or -1. */
static int run_capture(const char *path, unsigned n_dissections, struct nf_dissector *dissector,
                       struct test_capture *capture)
{
    char errbuf[PCAP_ERRBUF_SIZE];
    struct pcap_pkthdr *header;
    const u_char *frame;
    pcap_t *handle = pcap_open_offline(path, errbuf);

    if (handle == NULL) {
        fprintf(stderr, "failed to open %s: %s\n", path, errbuf);
        return -1;
    }
    while (pcap_next_ex(handle, &header, &frame) == 1) {
        struct nf_packet packet;
        struct test_flow *entry;

        if (decode_frame(pcap_datalink(handle), header, frame, &packet) != 0)
            continue;
        entry = find_flow(capture, dissector, &packet);
        if (entry == NULL)
            continue;
        entry->packets++;
        nf_dissector_flow_update(dissector, &entry->flow, &packet, entry->packets, n_dissections,
                                 0);
    }
    pcap_close(handle);

    for (size_t i = 0; i < capture->count; i++)
        nf_dissector_flow_finish(dissector, &capture->flows[i]->flow);
    return 0;
}

static void format_endpoint(const struct nf_flow *flow, int source, char *text, size_t size)
{
    const uint8_t *ip = source ? flow->src_ip : flow->dst_ip;
    unsigned port = source ? flow->src_port : flow->dst_port;

    if (flow->ip_version == 4) {
        snprintf(text, size, "%u.%u.%u.%u:%u", ip[0], ip[1], ip[2], ip[3], port);
        return;
    }
    snprintf(text, size, "[%02x%02x:%02x%02x:%02x%02x:%02x%02x:%02x%02x:%02x%02x:%02x%02x:%02x%02x]:%u",
             ip[0], ip[1], ip[2], ip[3], ip[4], ip[5], ip[6], ip[7], ip[8], ip[9], ip[10], ip[11],
             ip[12], ip[13], ip[14], ip[15], port);
}

static void print_flow(const struct test_flow *entry)
{
    const struct nf_app_info *app = entry->flow.app;
    char source[64];
    char destination[64];

    format_endpoint(&entry->flow, 1, source, sizeof(source));
    format_endpoint(&entry->flow, 0, destination, sizeof(destination));
    printf("%u %s %s|%s|%s|guessed=%d|confidence=%d|sni=%s|client=%s|server=%s|ua=%s|ct=%s\n",
           entry->flow.protocol, source, destination, app->application_name, app->category_name,
           app->is_guessed, app->confidence, app->requested_server_name, app->client_fingerprint,
           app->server_fingerprint, app->user_agent, app->content_type);
}

/* One flow of a capture and the values ndpiReader (nDPI 4.2) reports for it. */
struct expected_flow {
    const char *capture;
    uint16_t port; /* either port of the flow */
    const char *application_name;
    const char *category_name;
    int is_guessed;
    int confidence;
    const char *requested_server_name;
    const char *client_fingerprint;
    const char *server_fingerprint;
    const char *user_agent;
    const char *content_type;
};

#define FIREFOX_3_6                                                                                \
    "Mozilla/5.0 (Windows; U; Windows NT 6.1; en-US; rv:1.9.2.17) Gecko/20110420 Firefox/3.6.17"
#define CHROME_25                                                                                  \
    "Mozilla/5.0 (Windows NT 6.1) AppleWebKit/537.22 (KHTML, like Gecko) Chrome/25.0.1364.152 " \
    "Safari/537.22"

static const struct expected_flow expected_flows[] = {
    {"facebook.pcap", 52066, "TLS.Facebook", "SocialNetwork", 0, 4, "facebook.com",
     "bfcc1a3891601edb4f137ab7ab25b840", "2d1eb5817ece335c24904f516ad5da12", "", ""},
    {"facebook.pcap", 44614, "TLS.Facebook", "SocialNetwork", 0, 4, "www.facebook.com",
     "5c60e71f1b8cd40e4d40ed5b6d666e3f", "96681175a9547081bf3d417f1a572091", "", ""},
    {"dhcp.pcap", 68, "DHCP", "Network", 0, 4, "", "1,3,6,42", "", "", ""},
    {"aimini-http.pcap", 28501, "Aimini.HTTP", "Web", 0, 4, "www.aimini.net", "", "", FIREFOX_3_6,
     ""},
    /* nDPI 4.2 parses this flow's response (status 200) but leaves its Content-Type unset. */
    {"aimini-http.pcap", 28502, "HTTP", "Web", 0, 4, "www.aimini.com", "", "", FIREFOX_3_6, ""},
    {"1kxun.pcap", 49599, "HTTP", "Streaming", 0, 4, "pic.1kxun.com", "", "", CHROME_25,
     "image/jpeg"},
    {"ssh.pcap", 58395, "SSH", "RemoteAccess", 0, 4, "", "21B457A327CE7A2D4FCE5EF2C42400BD",
     "B1C6C0D56317555B85C7005A3DE29325", "", ""},
    {"gquic.pcap", 61097, "QUIC.Google", "Web", 0, 4, "www.gstatic.com", "", "",
     "canary Chrome/85.0.4169.0 Windows NT 10.0; Win64; x64", ""},
    /* The capture starts mid-stream, so only the giveup call finds TLS.Google, by IP address. */
    {"google_ssl.pcap", 42835, "TLS.Google", "Web", 1, 2, "", "", "", "", ""},
};

static int check_text(const char *what, const char *actual, const char *expected)
{
    if (strcmp(actual, expected) == 0)
        return 0;
    fprintf(stderr, "  %s: got \"%s\", expected \"%s\"\n", what, actual, expected);
    return 1;
}

static int check_number(const char *what, int actual, int expected)
{
    if (actual == expected)
        return 0;
    fprintf(stderr, "  %s: got %d, expected %d\n", what, actual, expected);
    return 1;
}

static int check_flow(const struct nf_app_info *app, const struct expected_flow *expected)
{
    int failures = 0;

    failures += check_text("application_name", app->application_name, expected->application_name);
    failures += check_text("category_name", app->category_name, expected->category_name);
    failures += check_number("is_guessed", app->is_guessed, expected->is_guessed);
    failures += check_number("confidence", app->confidence, expected->confidence);
    failures += check_text("requested_server_name", app->requested_server_name,
                           expected->requested_server_name);
    failures += check_text("client_fingerprint", app->client_fingerprint,
                           expected->client_fingerprint);
    failures += check_text("server_fingerprint", app->server_fingerprint,
                           expected->server_fingerprint);
    failures += check_text("user_agent", app->user_agent, expected->user_agent);
    failures += check_text("content_type", app->content_type, expected->content_type);
    failures += check_number("collected", app->collected, 1);
    failures += check_number("done", app->done, 1);
    return failures;
}

/* Finds the expected flow by port and checks it. Returns the number of mismatches. */
static int check_expected(const struct test_capture *capture, const struct expected_flow *expected)
{
    for (size_t i = 0; i < capture->count; i++) {
        const struct nf_flow *flow = &capture->flows[i]->flow;

        if (flow->src_port != expected->port && flow->dst_port != expected->port)
            continue;
        if (flow->dpi != NULL) {
            fprintf(stderr, "  nDPI state not freed after finish\n");
            return 1;
        }
        return check_flow(flow->app, expected);
    }
    fprintf(stderr, "  no flow with port %u\n", expected->port);
    return 1;
}

/* Packets of one flow copied out of a capture, so they outlive libpcap's buffer. */
struct flow_packets {
    struct nf_packet packets[64];
    uint8_t *frames[64];
    size_t count;
};

/* Copies up to 64 packets with `port` on either side. Returns 0 or -1. */
static int load_flow_packets(const char *path, uint16_t port, struct flow_packets *flow_packets)
{
    char errbuf[PCAP_ERRBUF_SIZE];
    struct pcap_pkthdr *header;
    const u_char *frame;
    pcap_t *handle = pcap_open_offline(path, errbuf);

    flow_packets->count = 0;
    if (handle == NULL) {
        fprintf(stderr, "failed to open %s: %s\n", path, errbuf);
        return -1;
    }
    while (flow_packets->count < 64 && pcap_next_ex(handle, &header, &frame) == 1) {
        struct nf_packet *packet = &flow_packets->packets[flow_packets->count];
        uint8_t *copy;

        if (decode_frame(pcap_datalink(handle), header, frame, packet) != 0 ||
            (packet->src_port != port && packet->dst_port != port))
            continue;
        copy = malloc(header->caplen);
        if (copy == NULL)
            break;
        memcpy(copy, frame, header->caplen);
        packet->ip_data = copy + (packet->ip_data - frame);
        flow_packets->frames[flow_packets->count++] = copy;
    }
    pcap_close(handle);
    return 0;
}

static void free_flow_packets(struct flow_packets *flow_packets)
{
    for (size_t i = 0; i < flow_packets->count; i++)
        free(flow_packets->frames[i]);
    flow_packets->count = 0;
}

/*
 * With n_dissections == 1 an unknown first packet (a TCP SYN) ends
 * dissection at once with a giveup call, which guesses TLS.Facebook from
 * port 443 and the server's address (confidence 2, match by IP).
 */
static int check_single_dissection(const struct flow_packets *packets,
                                   struct nf_dissector *dissector)
{
    struct nf_flow flow = {.dpi = NULL};
    int failures = 0;

    if (nf_dissector_flow_init(dissector, &flow) != NF_OK)
        return 1;
    nf_dissector_flow_update(dissector, &flow, &packets->packets[0], 1, 1, 0);
    failures += check_number("dpi freed after packet 1", flow.dpi == NULL, 1);
    failures += check_number("done", flow.app->done, 1);
    failures += check_text("application_name", flow.app->application_name, "TLS.Facebook");
    failures += check_number("is_guessed", flow.app->is_guessed, 1);
    failures += check_number("confidence", flow.app->confidence, 2);

    /* Later packets and the finish call leave the collected result alone. */
    for (size_t i = 1; i < packets->count; i++)
        nf_dissector_flow_update(dissector, &flow, &packets->packets[i], i + 1, 1, 0);
    nf_dissector_flow_finish(dissector, &flow);
    failures += check_number("confidence after finish", flow.app->confidence, 2);

    nf_dissector_state_free(flow.dpi);
    free(flow.app);
    return failures;
}

/* With `collect` set, flow->app follows each packet while dissection runs. */
static int check_collect_each_packet(const struct flow_packets *packets,
                                     struct nf_dissector *dissector)
{
    struct nf_flow flow = {.dpi = NULL};
    int failures = 0;

    if (nf_dissector_flow_init(dissector, &flow) != NF_OK)
        return 1;
    failures += check_number("collected before packet 1", flow.app->collected, 0);
    nf_dissector_flow_update(dissector, &flow, &packets->packets[0], 1, 20, 1);
    failures += check_number("dpi kept after packet 1", flow.dpi != NULL, 1);
    failures += check_number("collected after packet 1", flow.app->collected, 1);
    failures += check_number("done after packet 1", flow.app->done, 0);
    failures += check_text("application_name after packet 1", flow.app->application_name,
                           "Unknown");
    failures += check_text("category_name after packet 1", flow.app->category_name, "Unspecified");

    for (size_t i = 1; i < packets->count; i++)
        nf_dissector_flow_update(dissector, &flow, &packets->packets[i], i + 1, 20, 1);
    nf_dissector_flow_finish(dissector, &flow);
    failures += check_number("dpi freed after finish", flow.dpi == NULL, 1);
    failures += check_text("application_name", flow.app->application_name, "TLS.Facebook");
    failures += check_number("is_guessed", flow.app->is_guessed, 0);

    nf_dissector_state_free(flow.dpi);
    free(flow.app);
    return failures;
}

static int run_state_checks(const char *directory, struct nf_dissector *dissector)
{
    struct flow_packets packets;
    char path[1024];
    int failures;

    snprintf(path, sizeof(path), "%s/facebook.pcap", directory);
    if (load_flow_packets(path, 52066, &packets) != 0 || packets.count < 2) {
        free_flow_packets(&packets);
        fprintf(stderr, "facebook.pcap: flow with port 52066 not found\n");
        return 1;
    }

    failures = check_single_dissection(&packets, dissector);
    printf("%s n_dissections 1 ends at packet 1\n", failures == 0 ? "ok  " : "FAIL");
    failures = check_collect_each_packet(&packets, dissector);
    printf("%s collect refreshes each packet\n", failures == 0 ? "ok  " : "FAIL");
    free_flow_packets(&packets);
    return failures != 0;
}

static int run_check(const char *directory, struct nf_dissector *dissector)
{
    size_t count = sizeof(expected_flows) / sizeof(expected_flows[0]);
    int failed = 0;

    for (size_t i = 0; i < count; i++) {
        struct test_capture capture = {.count = 0};
        char path[1024];
        int failures;

        snprintf(path, sizeof(path), "%s/%s", directory, expected_flows[i].capture);
        if (run_capture(path, 20, dissector, &capture) != 0) {
            failed = 1;
            continue;
        }
        failures = check_expected(&capture, &expected_flows[i]);
        printf("%s %s port %u\n", failures == 0 ? "ok  " : "FAIL", expected_flows[i].capture,
               expected_flows[i].port);
        failed |= failures != 0;
        free_capture(&capture);
    }
    return failed | run_state_checks(directory, dissector);
}

static int run_list(const char *path, unsigned n_dissections, struct nf_dissector *dissector)
{
    struct test_capture capture = {.count = 0};

    if (run_capture(path, n_dissections, dissector, &capture) != 0)
        return 1;
    for (size_t i = 0; i < capture.count; i++)
        print_flow(capture.flows[i]);
    free_capture(&capture);
    return 0;
}

int main(int argc, char **argv)
{
    char errbuf[NF_ERRBUF_SIZE];
    struct nf_dissector *dissector;
    int status;

    if (argc < 3 || (strcmp(argv[1], "check") != 0 && strcmp(argv[1], "list") != 0)) {
        fprintf(stderr, "usage: %s check PCAP_DIR | list PCAP [N_DISSECTIONS]\n", argv[0]);
        return 2;
    }
    dissector = nf_dissector_create(errbuf);
    if (dissector == NULL) {
        fprintf(stderr, "nf_dissector_create failed: %s\n", errbuf);
        return 1;
    }

    if (strcmp(argv[1], "check") == 0)
        status = run_check(argv[2], dissector);
    else
        status = run_list(argv[2], argc > 3 ? (unsigned)strtoul(argv[3], NULL, 10) : 20u,
                          dissector);

    nf_dissector_free(dissector);
    return status;
}
