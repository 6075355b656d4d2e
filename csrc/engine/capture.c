/*
 * capture.c - reads records from a list of capture files as one stream.
 *
 * Files (pcap or pcapng, micro- or nanosecond) are opened with nanosecond
 * precision, so no timestamp is rounded before the engine sees it. The
 * BPF filter is compiled again for each file because files may differ in
 * link type. A link type the decoder does not handle is an error naming
 * it, never a silent empty result.
 *
 * Live capture opens one interface with a read timeout of NF_LIVE_WAKE_MS,
 * so a read on a quiet interface returns NF_CAPTURE_TIMEOUT and the engine
 * can move its clock and notice a stop request. On Linux the socket joins
 * a PACKET_FANOUT group (hash mode, IP defragmentation on), so several
 * meters each receive whole flows; the defragmentation flag is set even
 * for one meter, as nfstream does.
 *
 * Classic pcap files are read in blocks by savefile.c, which hands every
 * record it does not take (cut short, too long) back to libpcap. pcapng
 * and the rarer pcap variants are read by libpcap throughout.
 *
 * Limits: a record cut short by the end of a file ends that file; the
 * path and the number of records read are kept so the caller can warn.
 * Other libpcap read errors are reported as NF_EREAD, because retrying
 * them would read garbage or spin on the same position.
 */
/* libpcap headers use the BSD u_int and u_char types. */
#define _DEFAULT_SOURCE

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <pcap/pcap.h>
#include <poll.h>
#ifdef __linux__
#include <linux/if_packet.h>
#include <net/if.h>
#include <sys/socket.h>
#endif

#include "internal.h"
#include "savefile.h"

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
    uint64_t truncated_files;  /* files whose last record was cut short */
    int live;                  /* reading an interface rather than files */
    int nanosecond;            /* tv_usec of headers is in nanoseconds */
    struct bpf_program program; /* the filter, kept for records read in blocks */
    int has_program;
    struct nf_savefile savefile;
    int block_reading;         /* records come from savefile, not from pcap_next_ex */
};

static int nf_capture_next_live(struct nf_capture *capture, struct nf_frame *frame, char *errbuf);

static char *copy_string(const char *text)
{
    size_t size = strlen(text) + 1;
    char *copy = malloc(size);

    if (copy != NULL)
        memcpy(copy, text, size);
    return copy;
}

/* Closes the current file's handle and what was kept for it. */
static void close_file(struct nf_capture *capture)
{
    nf_savefile_stop(&capture->savefile);
    capture->block_reading = 0;
    if (capture->has_program)
        pcap_freecode(&capture->program);
    capture->has_program = 0;
    if (capture->handle != NULL)
        pcap_close(capture->handle);
    capture->handle = NULL;
}

/* Compiles and applies the filter, keeping the program for records read in blocks. */
static int set_filter(struct nf_capture *capture, const char *path, char *errbuf)
{
    if (capture->bpf_filter == NULL)
        return 0;
    /* nfstream compiles with optimisation on and netmask 255.255.255.0. */
    if (pcap_compile(capture->handle, &capture->program, capture->bpf_filter, 1, 0xffffff00u) != 0) {
        snprintf(errbuf, NF_ERRBUF_SIZE, "invalid BPF filter '%s' for '%s': %s",
                 capture->bpf_filter, path, pcap_geterr(capture->handle));
        return NF_EFILTER;
    }
    capture->has_program = 1;
    if (pcap_setfilter(capture->handle, &capture->program) != 0) {
        snprintf(errbuf, NF_ERRBUF_SIZE, "cannot apply BPF filter '%s' to '%s': %s",
                 capture->bpf_filter, path, pcap_geterr(capture->handle));
        return NF_EFILTER;
    }
    return 0;
}

/* `kind` names the source in the message: "capture" for files, "network interface". */
static int check_linktype(pcap_t *handle, const char *kind, const char *path, int decode_flags,
                          char *errbuf)
{
    int linktype = pcap_datalink(handle);
    const char *name = pcap_datalink_val_to_name(linktype);

    if (nf_decode_supports_linktype(linktype, decode_flags))
        return 0;
    snprintf(errbuf, NF_ERRBUF_SIZE,
             "%s '%s' has link type %s (%d), which nfstream does not decode; supported: "
             "EN10MB, LINUX_SLL, RAW, NULL, PPP, C_HDLC, PPP_SERIAL, IEEE802_11_RADIO, "
             "IPV4, IPV6, and with extended_decoding=True also LINUX_SLL2 and LOOP",
             kind, path, name != NULL ? name : "unknown", linktype);
    return NF_ELINKTYPE;
}

/* Opens file `index`, replacing any open handle. */
static int open_file(struct nf_capture *capture, size_t index, char *errbuf)
{
    const char *path = capture->paths[index];
    char pcap_errbuf[PCAP_ERRBUF_SIZE] = "";
    int error;

    close_file(capture);
    capture->index = index;
    capture->file_records = 0;
    capture->handle = pcap_open_offline_with_tstamp_precision(path, PCAP_TSTAMP_PRECISION_NANO,
                                                              pcap_errbuf);
    if (capture->handle == NULL) {
        snprintf(errbuf, NF_ERRBUF_SIZE, "cannot read capture file '%s': %s", path, pcap_errbuf);
        return NF_EOPEN;
    }
    error = check_linktype(capture->handle, "capture", path, capture->decode_flags, errbuf);
    if (error == 0)
        error = set_filter(capture, path, errbuf);
    capture->linktype = pcap_datalink(capture->handle);
    capture->nanosecond = 1;
    if (error == 0)
        capture->block_reading = nf_savefile_start(&capture->savefile, capture->handle);
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

/*
 * nfstream's milliseconds are tv_sec * 1000 + tv_usec / 1000 in C, which
 * truncates toward zero when a damaged record gives libpcap a negative
 * sub-second field. That millisecond is kept exactly, and the
 * sub-millisecond nanoseconds (never negative) are added below it.
 * NOTE: times after 2554-07-21 exceed 2^64 ns and wrap, where nfstream's
 * millisecond values do not; only damaged captures carry such times.
 */
uint64_t nf_capture_time_ns(int64_t seconds, int64_t fraction_ns)
{
    /* Unsigned, so the wrap of pcapng's 64-bit seconds is defined. */
    uint64_t milliseconds = (uint64_t)seconds * 1000u + (uint64_t)(fraction_ns / 1000000);
    int64_t below_ms = fraction_ns % 1000000;

    return milliseconds * NF_NS_PER_MS + (uint64_t)(below_ms > 0 ? below_ms : 0);
}

static void fill_frame(struct nf_capture *capture, const struct pcap_pkthdr *header,
                       const u_char *data, struct nf_frame *frame)
{
    /* With nanosecond precision tv_usec is in nanoseconds. */
    int64_t fraction_ns = (int64_t)header->ts.tv_usec * (capture->nanosecond ? 1 : 1000);

    capture->file_records++;
    frame->data = data;
    frame->caplen = header->caplen;
    frame->wirelen = header->len;
    frame->time_ns = nf_capture_time_ns((int64_t)header->ts.tv_sec, fraction_ns);
    frame->linktype = capture->linktype;
}

/*
 * Reads the next record that passes the filter with the block reader.
 * Returns 1, 0 at the end of the file, NF_SAVEFILE_HANDOVER once libpcap's
 * stream is at the first record left to it, or NF_EREAD.
 */
static int next_block_record(struct nf_capture *capture, struct nf_frame *frame, char *errbuf)
{
    struct nf_savefile_record record;
    struct pcap_pkthdr header;
    int status;

    while ((status = nf_savefile_next(&capture->savefile, &record)) == 1) {
        header.caplen = record.caplen;
        header.len = record.wirelen;
        if (capture->has_program && !pcap_offline_filter(&capture->program, &header, record.data))
            continue;
        capture->file_records++;
        frame->data = record.data;
        frame->caplen = record.caplen;
        frame->wirelen = record.wirelen;
        frame->time_ns = nf_capture_time_ns(record.seconds, record.fraction_ns);
        frame->linktype = capture->linktype;
        return 1;
    }
    if (status == NF_SAVEFILE_HANDOVER &&
        fseeko(pcap_file(capture->handle), (off_t)nf_savefile_offset(&capture->savefile),
               SEEK_SET) != 0) {
        snprintf(errbuf, NF_ERRBUF_SIZE, "error reading '%s' after %llu packets: %s",
                 capture->paths[capture->index], (unsigned long long)capture->file_records,
                 strerror(errno));
        status = NF_EREAD;
    }
    nf_savefile_stop(&capture->savefile);
    capture->block_reading = 0;
    return status;
}

int nf_capture_next(struct nf_capture *capture, struct nf_frame *frame, char *errbuf)
{
    struct pcap_pkthdr *header;
    const u_char *data;

    if (capture->live)
        return nf_capture_next_live(capture, frame, errbuf);
    while (capture->handle != NULL) {
        int status;

        if (capture->block_reading) {
            status = next_block_record(capture, frame, errbuf);
            if (status == NF_SAVEFILE_HANDOVER)
                continue;
            if (status != 0)
                return status;
        } else {
            status = pcap_next_ex(capture->handle, &header, &data);
            if (status == 1) {
                fill_frame(capture, header, data, frame);
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
                capture->truncated_files++;
            }
        }
        /* End of this file (or its truncated tail): move to the next one. */
        if (capture->index + 1 >= capture->count) {
            close_file(capture);
            return 0;
        }
        int error = open_file(capture, capture->index + 1, errbuf);
        if (error != 0)
            return error;
    }
    return 0;
}

uint64_t nf_capture_truncated_files(const struct nf_capture *capture)
{
    return capture != NULL ? capture->truncated_files : 0;
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
    close_file(capture);
    for (size_t i = 0; capture->paths != NULL && i < capture->count; i++)
        free(capture->paths[i]);
    free(capture->paths);
    free(capture->bpf_filter);
    free(capture);
}

/* ------------------------------------------------------------------ */
/* Live capture                                                        */
/* ------------------------------------------------------------------ */

/*
 * Waits up to NF_LIVE_WAKE_MS for the handle to become readable. Returns
 * 1 when it is, 0 on timeout or a signal, so the caller can act on both.
 */
static int wait_readable(struct nf_capture *capture)
{
    struct pollfd descriptor = {.fd = pcap_get_selectable_fd(capture->handle), .events = POLLIN};

    return descriptor.fd >= 0 && poll(&descriptor, 1, NF_LIVE_WAKE_MS) > 0;
}

/*
 * The handle is non-blocking and this function waits in poll() itself:
 * with TPACKET_V3, libpcap's own blocking read never wakes up while the
 * interface is quiet, because the kernel does not retire empty blocks.
 */
static int nf_capture_next_live(struct nf_capture *capture, struct nf_frame *frame, char *errbuf)
{
    struct pcap_pkthdr *header;
    const u_char *data;
    int status;

    if (capture->handle == NULL)
        return 0;
    status = pcap_next_ex(capture->handle, &header, &data);
    if (status == 0 && wait_readable(capture))
        status = pcap_next_ex(capture->handle, &header, &data);
    if (status == 1) {
        fill_frame(capture, header, data, frame);
        return 1;
    }
    if (status == 0)
        return NF_CAPTURE_TIMEOUT;
    snprintf(errbuf, NF_ERRBUF_SIZE, "capture on network interface '%s' failed after %llu packets: %s",
             capture->paths[0], (unsigned long long)capture->file_records,
             pcap_geterr(capture->handle));
    return NF_EREAD;
}

/* libpcap's own text when it set one, else the text of the status code. */
static const char *status_text(pcap_t *handle, int status)
{
    const char *text = pcap_geterr(handle);

    return text != NULL && text[0] != '\0' ? text : pcap_statustostr(status);
}

static int activation_error(pcap_t *handle, int status, const char *interface, char *errbuf)
{
    switch (status) {
    case PCAP_ERROR_NO_SUCH_DEVICE:
        snprintf(errbuf, NF_ERRBUF_SIZE,
                 "network interface '%s' not found; list the interfaces with 'ip link'", interface);
        break;
    case PCAP_ERROR_PERM_DENIED:
    case PCAP_ERROR_PROMISC_PERM_DENIED:
        snprintf(errbuf, NF_ERRBUF_SIZE,
                 "no permission to capture on network interface '%s' (%s); run as root or give "
                 "the Python interpreter the CAP_NET_RAW and CAP_NET_ADMIN capabilities",
                 interface, status_text(handle, status));
        break;
    case PCAP_ERROR_IFACE_NOT_UP:
        snprintf(errbuf, NF_ERRBUF_SIZE,
                 "network interface '%s' is down; bring it up with 'ip link set %s up'", interface,
                 interface);
        break;
    default:
        snprintf(errbuf, NF_ERRBUF_SIZE, "cannot open network interface '%s' for capture: %s",
                 interface, status_text(handle, status));
        break;
    }
    return NF_EOPEN;
}

/* Applies the options that must be set before pcap_activate. */
static int configure_live(pcap_t *handle, const struct nf_config *config, char *errbuf)
{
    int status = pcap_set_snaplen(handle, config->snapshot_length);

    if (status == 0)
        status = pcap_set_promisc(handle, config->promiscuous_mode != 0);
    if (status == 0)
        status = pcap_set_timeout(handle, NF_LIVE_WAKE_MS);
    if (status == 0 && config->socket_buffer_size > 0)
        status = pcap_set_buffer_size(handle, config->socket_buffer_size);
    if (status != 0) {
        snprintf(errbuf, NF_ERRBUF_SIZE, "cannot configure capture on network interface '%s': %s",
                 config->interface, pcap_statustostr(status));
        return NF_EOPEN;
    }
    /* Kernels or devices without nanosecond stamps keep microseconds. */
    (void)pcap_set_tstamp_precision(handle, PCAP_TSTAMP_PRECISION_NANO);
    return 0;
}

/* Joins the socket to a PACKET_FANOUT hash group; a negative group skips it. */
static int join_fanout(struct nf_capture *capture, int group, char *errbuf)
{
#ifdef __linux__
    int argument = (group & 0xffff) | ((PACKET_FANOUT_HASH | PACKET_FANOUT_FLAG_DEFRAG) << 16);

    if (group < 0)
        return 0;
    if (setsockopt(pcap_fileno(capture->handle), SOL_PACKET, PACKET_FANOUT, &argument,
                   sizeof(argument)) != 0) {
        snprintf(errbuf, NF_ERRBUF_SIZE,
                 "cannot join packet fanout group %d on network interface '%s': %s", group,
                 capture->paths[0], strerror(errno));
        return NF_EOPEN;
    }
#else
    (void)capture;
    (void)group;
    (void)errbuf;
#endif
    return 0;
}

static int activate_live(struct nf_capture *capture, const struct nf_config *config,
                         int fanout_group, char *errbuf)
{
    char pcap_errbuf[PCAP_ERRBUF_SIZE] = "";
    int status;

    capture->handle = pcap_create(config->interface, pcap_errbuf);
    if (capture->handle == NULL) {
        snprintf(errbuf, NF_ERRBUF_SIZE, "cannot open network interface '%s': %s",
                 config->interface, pcap_errbuf);
        return NF_EOPEN;
    }
    status = configure_live(capture->handle, config, errbuf);
    if (status != 0)
        return status;
    status = pcap_activate(capture->handle);
    if (status < 0)
        return activation_error(capture->handle, status, config->interface, errbuf);
    capture->nanosecond =
        pcap_get_tstamp_precision(capture->handle) == PCAP_TSTAMP_PRECISION_NANO;
    capture->linktype = pcap_datalink(capture->handle);
    status = check_linktype(capture->handle, "network interface", config->interface,
                            nf_config_decode_flags(config), errbuf);
    if (status == 0)
        status = set_filter(capture, config->interface, errbuf);
    if (status == 0)
        status = join_fanout(capture, fanout_group, errbuf);
    if (status == 0 && pcap_setnonblock(capture->handle, 1, pcap_errbuf) != 0) {
        snprintf(errbuf, NF_ERRBUF_SIZE, "cannot make the capture on '%s' non-blocking: %s",
                 config->interface, pcap_errbuf);
        status = NF_EOPEN;
    }
    return status;
}

struct nf_capture *nf_capture_open_live(const struct nf_config *config, int fanout_group,
                                        char *errbuf, int *error)
{
    struct nf_capture *capture = calloc(1, sizeof(*capture));

    *error = NF_ENOMEM;
    snprintf(errbuf, NF_ERRBUF_SIZE, "out of memory opening the capture");
    if (capture == NULL || (capture->paths = calloc(1, sizeof(char *))) == NULL)
        goto fail;
    capture->live = 1;
    capture->count = 1;
    capture->paths[0] = copy_string(config->interface);
    if (capture->paths[0] == NULL)
        goto fail;
    if (config->bpf_filter != NULL && (capture->bpf_filter = copy_string(config->bpf_filter)) == NULL)
        goto fail;
    *error = activate_live(capture, config, fanout_group, errbuf);
    if (*error != 0)
        goto fail;
    return capture;

fail:
    nf_capture_free(capture);
    return NULL;
}

void nf_capture_live_stats(struct nf_capture *capture, struct nf_stats *stats)
{
    struct pcap_stat counters;

    if (capture == NULL || !capture->live || capture->handle == NULL)
        return;
    if (pcap_stats(capture->handle, &counters) != 0)
        return;
    stats->packets_dropped_kernel = counters.ps_drop;
    stats->packets_dropped_interface = counters.ps_ifdrop;
}

void nf_capture_close(struct nf_capture *capture)
{
    if (capture == NULL || capture->handle == NULL)
        return;
    pcap_close(capture->handle);
    capture->handle = NULL;
}

int nf_capture_check_interface(const char *interface, const char *bpf_filter, char *errbuf)
{
    struct bpf_program program;
    pcap_t *handle;
    int status = 0;

    if (interface[0] == '\0' || strlen(interface) >= 16 || strchr(interface, '/') != NULL) {
        snprintf(errbuf, NF_ERRBUF_SIZE, "invalid network interface name '%s'", interface);
        return NF_EOPEN;
    }
    if (bpf_filter == NULL)
        return 0;
    handle = pcap_open_dead(DLT_EN10MB, 65535);
    if (handle == NULL) {
        snprintf(errbuf, NF_ERRBUF_SIZE, "out of memory checking the BPF filter");
        return NF_ENOMEM;
    }
    if (pcap_compile(handle, &program, bpf_filter, 1, 0xffffff00u) != 0) {
        snprintf(errbuf, NF_ERRBUF_SIZE, "invalid BPF filter '%s' for network interface '%s': %s",
                 bpf_filter, interface, pcap_geterr(handle));
        status = NF_EFILTER;
    } else {
        pcap_freecode(&program);
    }
    pcap_close(handle);
    return status;
}
