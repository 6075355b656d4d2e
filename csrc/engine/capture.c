/*
 * capture.c - reads records from a list of capture files as one stream.
 *
 * Files (pcap or pcapng, micro- or nanosecond) are opened with nanosecond
 * precision, so no timestamp is rounded before the engine sees it. The
 * BPF filter is compiled again for each file because files may differ in
 * link type. A link type the decoder does not handle is an error naming
 * it, never a silent empty result.
 *
 * Limits: a record cut short by the end of a file ends that file; the
 * path and the number of records read are kept so the caller can warn.
 * Other libpcap read errors are reported as NF_EREAD, because retrying
 * them would read garbage or spin on the same position.
 */
/* libpcap headers use the BSD u_int and u_char types. */
#define _DEFAULT_SOURCE

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <pcap/pcap.h>

#include "internal.h"

struct nf_capture {
    char **paths;
    size_t count;
    size_t index;              /* file currently open */
    pcap_t *handle;
    char *bpf_filter;
    int linktype;
    int decode_flags;          /* NF_DECODE_FLAG_* bits, which decide the accepted link types */
    uint64_t file_records;     /* records read from the current file */
    char *truncated_path;      /* last file found truncated (borrowed from paths) */
    uint64_t truncated_records;
};

static char *copy_string(const char *text)
{
    size_t size = strlen(text) + 1;
    char *copy = malloc(size);

    if (copy != NULL)
        memcpy(copy, text, size);
    return copy;
}

static int set_filter(struct nf_capture *capture, const char *path, char *errbuf)
{
    struct bpf_program program;

    if (capture->bpf_filter == NULL)
        return 0;
    /* nfstream compiles with optimisation on and netmask 255.255.255.0. */
    if (pcap_compile(capture->handle, &program, capture->bpf_filter, 1, 0xffffff00u) != 0) {
        snprintf(errbuf, NF_ERRBUF_SIZE, "invalid BPF filter '%s' for '%s': %s",
                 capture->bpf_filter, path, pcap_geterr(capture->handle));
        return NF_EFILTER;
    }
    if (pcap_setfilter(capture->handle, &program) != 0) {
        snprintf(errbuf, NF_ERRBUF_SIZE, "cannot apply BPF filter '%s' to '%s': %s",
                 capture->bpf_filter, path, pcap_geterr(capture->handle));
        pcap_freecode(&program);
        return NF_EFILTER;
    }
    pcap_freecode(&program);
    return 0;
}

static int check_linktype(pcap_t *handle, const char *path, int decode_flags, char *errbuf)
{
    int linktype = pcap_datalink(handle);
    const char *name = pcap_datalink_val_to_name(linktype);

    if (nf_decode_supports_linktype(linktype, decode_flags))
        return 0;
    snprintf(errbuf, NF_ERRBUF_SIZE,
             "capture '%s' has link type %s (%d), which nfstream does not decode; supported: "
             "EN10MB, LINUX_SLL, RAW, NULL, PPP, C_HDLC, PPP_SERIAL, IEEE802_11_RADIO, "
             "IPV4, IPV6, and with extended_decoding=True also LINUX_SLL2 and LOOP",
             path, name != NULL ? name : "unknown", linktype);
    return NF_ELINKTYPE;
}

/* Opens file `index`, replacing any open handle. */
static int open_file(struct nf_capture *capture, size_t index, char *errbuf)
{
    const char *path = capture->paths[index];
    char pcap_errbuf[PCAP_ERRBUF_SIZE] = "";
    int error;

    if (capture->handle != NULL)
        pcap_close(capture->handle);
    capture->index = index;
    capture->file_records = 0;
    capture->handle = pcap_open_offline_with_tstamp_precision(path, PCAP_TSTAMP_PRECISION_NANO,
                                                              pcap_errbuf);
    if (capture->handle == NULL) {
        snprintf(errbuf, NF_ERRBUF_SIZE, "cannot read capture file '%s': %s", path, pcap_errbuf);
        return NF_EOPEN;
    }
    error = check_linktype(capture->handle, path, capture->decode_flags, errbuf);
    if (error == 0)
        error = set_filter(capture, path, errbuf);
    capture->linktype = pcap_datalink(capture->handle);
    return error;
}

struct nf_capture *nf_capture_open(const char *const *paths, size_t count, const char *bpf_filter,
                                   int decode_flags, char *errbuf, int *error)
{
    struct nf_capture *capture = calloc(1, sizeof(*capture));

    *error = NF_ENOMEM;
    snprintf(errbuf, NF_ERRBUF_SIZE, "out of memory opening the capture");
    if (capture == NULL || count == 0)
        goto fail;
    capture->paths = calloc(count, sizeof(char *));
    if (capture->paths == NULL)
        goto fail;
    capture->count = count;
    capture->decode_flags = decode_flags;
    for (size_t i = 0; i < count; i++) {
        capture->paths[i] = copy_string(paths[i]);
        if (capture->paths[i] == NULL)
            goto fail;
    }
    if (bpf_filter != NULL && (capture->bpf_filter = copy_string(bpf_filter)) == NULL)
        goto fail;
    *error = open_file(capture, 0, errbuf);
    if (*error != 0)
        goto fail;
    return capture;

fail:
    nf_capture_free(capture);
    return NULL;
}

static int is_truncation(const char *message)
{
    return strstr(message, "truncated") != NULL;
}

int nf_capture_next(struct nf_capture *capture, struct nf_frame *frame, char *errbuf)
{
    struct pcap_pkthdr *header;
    const u_char *data;

    while (capture->handle != NULL) {
        int status = pcap_next_ex(capture->handle, &header, &data);

        if (status == 1) {
            capture->file_records++;
            frame->data = data;
            frame->caplen = header->caplen;
            frame->wirelen = header->len;
            /* With nanosecond precision tv_usec holds nanoseconds. */
            frame->time_ns = (uint64_t)header->ts.tv_sec * UINT64_C(1000000000) +
                             (uint64_t)header->ts.tv_usec;
            frame->linktype = capture->linktype;
            return 1;
        }
        if (status == PCAP_ERROR) {
            const char *message = pcap_geterr(capture->handle);

            if (!is_truncation(message)) {
                snprintf(errbuf, NF_ERRBUF_SIZE, "error reading '%s' after %llu packets: %s",
                         capture->paths[capture->index],
                         (unsigned long long)capture->file_records, message);
                return NF_EREAD;
            }
            capture->truncated_path = capture->paths[capture->index];
            capture->truncated_records = capture->file_records;
        }
        /* End of this file (or its truncated tail): move to the next one. */
        if (capture->index + 1 >= capture->count) {
            pcap_close(capture->handle);
            capture->handle = NULL;
            return 0;
        }
        int error = open_file(capture, capture->index + 1, errbuf);
        if (error != 0)
            return error;
    }
    return 0;
}

const char *nf_capture_truncation(const struct nf_capture *capture, uint64_t *packets_read)
{
    if (capture == NULL || capture->truncated_path == NULL)
        return NULL;
    if (packets_read != NULL)
        *packets_read = capture->truncated_records;
    return capture->truncated_path;
}

void nf_capture_free(struct nf_capture *capture)
{
    if (capture == NULL)
        return;
    if (capture->handle != NULL)
        pcap_close(capture->handle);
    for (size_t i = 0; capture->paths != NULL && i < capture->count; i++)
        free(capture->paths[i]);
    free(capture->paths);
    free(capture->bpf_filter);
    free(capture);
}
