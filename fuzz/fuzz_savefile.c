/*
 * fuzz_savefile.c - libFuzzer target that checks the block reader of
 * classic pcap files (savefile.c) against libpcap record by record.
 *
 * The input is written to a file and read twice: by the engine's capture
 * reader, which takes records in blocks where it can and hands the rest to
 * libpcap, and by a bare pcap_next_ex loop. Both must give the same
 * records (time, lengths, bytes) and end the same way: at the end of the
 * file, at a record cut short, or with the same libpcap error. Each input
 * runs without a filter and with one. Any difference aborts.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <pcap/pcap.h>

#include "input_file.h"
#include "internal.h"

static const char *const nf_fuzz_filters[] = {NULL, "udp or (ip6 and tcp)"};

static void mismatch(const char *field, uint64_t record)
{
    fprintf(stderr, "fuzz_savefile: %s differs at record %llu\n", field,
            (unsigned long long)record);
    abort();
}

/* Opens the reference handle with the same precision and filter as capture.c. */
static pcap_t *open_reference(const char *path, const char *filter)
{
    char errbuf[PCAP_ERRBUF_SIZE];
    struct bpf_program program;
    pcap_t *handle = pcap_open_offline_with_tstamp_precision(path, PCAP_TSTAMP_PRECISION_NANO,
                                                              errbuf);

    if (handle == NULL || filter == NULL)
        return handle;
    if (pcap_compile(handle, &program, filter, 1, 0xffffff00u) != 0)
        mismatch("filter compilation", 0);
    if (pcap_setfilter(handle, &program) != 0)
        mismatch("filter installation", 0);
    pcap_freecode(&program);
    return handle;
}

static void compare(const char *path, const char *filter)
{
    const char *paths[1] = {path};
    char errbuf[NF_ERRBUF_SIZE];
    int error;
    struct nf_capture *capture =
        nf_capture_open(paths, 1, filter, NF_DECODE_FLAG_EXTENDED, errbuf, &error);
    pcap_t *reference;
    struct pcap_pkthdr *header;
    const u_char *data;
    struct nf_frame frame;
    uint64_t record = 0;
    int ours, theirs;

    if (capture == NULL)
        return; /* not a capture, or a link type the engine refuses */
    reference = open_reference(path, filter);
    if (reference == NULL)
        mismatch("opening", 0);
    for (;; record++) {
        ours = nf_capture_next(capture, &frame, errbuf);
        theirs = pcap_next_ex(reference, &header, &data);
        if (ours != 1 || theirs != 1)
            break;
        if (frame.caplen != header->caplen || frame.wirelen != header->len)
            mismatch("length", record);
        if (frame.time_ns != nf_capture_time_ns(header->ts.tv_sec, header->ts.tv_usec))
            mismatch("time", record);
        if (memcmp(frame.data, data, frame.caplen) != 0)
            mismatch("data", record);
    }
    if (ours == 1 || theirs == 1)
        mismatch("record count", record);
    if (theirs == PCAP_ERROR && strstr(pcap_geterr(reference), "truncated") == NULL) {
        if (ours != NF_EREAD || strstr(errbuf, pcap_geterr(reference)) == NULL)
            mismatch("read error", record);
    } else if (ours != 0 || nf_capture_truncated_files(capture) != (theirs == PCAP_ERROR)) {
        mismatch("end of file", record);
    }
    pcap_close(reference);
    nf_capture_free(capture);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = nf_fuzz_write_input("savefile", data, size);

    if (path == NULL)
        return 0;
    for (size_t i = 0; i < sizeof(nf_fuzz_filters) / sizeof(nf_fuzz_filters[0]); i++)
        compare(path, nf_fuzz_filters[i]);
    unlink(path);
    return 0;
}
