/* Read a capture file with a bare pcap_next_ex loop and print how fast libpcap delivers it.
 *
 * This is the upper bound for any flow meter built on libpcap: it opens the file with
 * nanosecond timestamps (as the nfstream engine does), reads every record and adds up the
 * captured lengths, and does nothing else. It prints one line, "<packets> <captured bytes>
 * <seconds>", timed with CLOCK_MONOTONIC around the loop.
 *
 * Build: gcc -O2 pcap_loop.c -o pcap_loop $(pkg-config --cflags --libs libpcap)
 * Usage: pcap_loop FILE
 */
#include <pcap/pcap.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

static double nf_bench_now_seconds(void) {
    struct timespec now;

    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)now.tv_sec + (double)now.tv_nsec / 1e9;
}

int main(int argc, char **argv) {
    char errbuf[PCAP_ERRBUF_SIZE];
    struct pcap_pkthdr *header;
    const u_char *data;
    uint64_t packets = 0;
    uint64_t bytes = 0;
    int status;

    if (argc != 2) {
        fprintf(stderr, "usage: %s FILE\n", argv[0]);
        return 2;
    }
    pcap_t *handle =
        pcap_open_offline_with_tstamp_precision(argv[1], PCAP_TSTAMP_PRECISION_NANO, errbuf);
    if (handle == NULL) {
        fprintf(stderr, "pcap_loop: cannot open %s: %s\n", argv[1], errbuf);
        return 1;
    }

    double start = nf_bench_now_seconds();
    while ((status = pcap_next_ex(handle, &header, &data)) == 1) {
        packets++;
        bytes += header->caplen;
    }
    double elapsed = nf_bench_now_seconds() - start;

    if (status == PCAP_ERROR) {
        fprintf(stderr, "pcap_loop: read error in %s: %s\n", argv[1], pcap_geterr(handle));
        pcap_close(handle);
        return 1;
    }
    pcap_close(handle);
    printf("%llu %llu %.6f\n", (unsigned long long)packets, (unsigned long long)bytes, elapsed);
    return 0;
}
