/*
 * savefile.c - reads the records of a classic pcap file in large blocks.
 *
 * libpcap reads a savefile through stdio and copies every record twice:
 * from the page cache into the stdio buffer, then into its packet buffer.
 * This reader fills a block of NF_SAVEFILE_BLOCK bytes with pread() and
 * hands records out where they lie, which halves the cost of reading a
 * large capture.
 *
 * It takes only the common case and leaves the rest to libpcap, so every
 * result stays libpcap's. The file must be a regular file in pcap format
 * 2.4, with micro- or nanosecond magic in either byte order. A swapped
 * file must not carry a pseudo-header that libpcap rewrites (LINUX_SLL,
 * LINUX_SLL2). Records must be complete, no longer than the snapshot
 * length, and have no time field with the top bit set (times after 2038
 * or damage). At the first record that is anything else (cut short, too
 * long, unreadable, such a time) the reader stops and gives its offset. The caller moves
 * libpcap's stream there, and libpcap reads, truncates or reports that
 * record and the rest of the file with its own rules.
 */
#define _DEFAULT_SOURCE
#define _FILE_OFFSET_BITS 64

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "savefile.h"

#define NF_SAVEFILE_BLOCK (1u << 20)
#define NF_SAVEFILE_HEADER_SIZE 24u
#define NF_SAVEFILE_RECORD_HEADER_SIZE 16u
/* libpcap rejects longer records for the link types the decoder reads. */
#define NF_SAVEFILE_MAX_CAPLEN 262144u

#define NF_MAGIC_MICROSECONDS 0xa1b2c3d4u
#define NF_MAGIC_NANOSECONDS 0xa1b23c4du

static uint32_t load_u32(const uint8_t *bytes, int swapped)
{
    uint32_t value;

    memcpy(&value, bytes, sizeof(value));
    return swapped ? __builtin_bswap32(value) : value;
}

static uint16_t load_u16(const uint8_t *bytes, int swapped)
{
    uint16_t value;

    memcpy(&value, bytes, sizeof(value));
    return swapped ? __builtin_bswap16(value) : value;
}

/* Reads up to `size` bytes at `offset`, retrying short reads. Returns the count or -1. */
static ssize_t read_at(int fd, uint8_t *buffer, size_t size, uint64_t offset)
{
    size_t done = 0;

    while (done < size) {
        ssize_t count = pread(fd, buffer + done, size - done, (off_t)(offset + done));

        if (count < 0 && errno == EINTR)
            continue;
        if (count < 0)
            return -1;
        if (count == 0)
            break;
        done += (size_t)count;
    }
    return (ssize_t)done;
}

/* Sets swapped and nanosecond from a 2.4 file header; returns 0 for any other header. */
static int accept_header(struct nf_savefile *reader, const uint8_t *header)
{
    uint32_t magic;

    memcpy(&magic, header, sizeof(magic));
    for (int swapped = 0; swapped <= 1; swapped++) {
        uint32_t value = swapped ? __builtin_bswap32(magic) : magic;

        if (value != NF_MAGIC_MICROSECONDS && value != NF_MAGIC_NANOSECONDS)
            continue;
        if (load_u16(header + 4, swapped) != 2 || load_u16(header + 6, swapped) != 4)
            return 0;
        reader->swapped = swapped;
        reader->nanosecond = value == NF_MAGIC_NANOSECONDS;
        return 1;
    }
    return 0;
}

int nf_savefile_start(struct nf_savefile *reader, pcap_t *handle)
{
    uint8_t header[NF_SAVEFILE_HEADER_SIZE];
    FILE *stream = pcap_file(handle);
    struct stat status;
    int linktype = pcap_datalink(handle);

    memset(reader, 0, sizeof(*reader));
    reader->fd = -1;
    if (stream == NULL || ftello(stream) != (off_t)NF_SAVEFILE_HEADER_SIZE)
        return 0;
    int fd = fileno(stream);

    if (fd < 0 || fstat(fd, &status) != 0 || !S_ISREG(status.st_mode))
        return 0;
    if (read_at(fd, header, sizeof(header), 0) != (ssize_t)sizeof(header))
        return 0;
    if (!accept_header(reader, header) || reader->swapped != pcap_is_swapped(handle))
        return 0;
    /* libpcap byte-swaps fields of these pseudo-headers in swapped files. */
    if (reader->swapped && (linktype == DLT_LINUX_SLL || linktype == DLT_LINUX_SLL2))
        return 0;
    reader->block = malloc(NF_SAVEFILE_BLOCK);
    if (reader->block == NULL)
        return 0;
    reader->fd = fd;
    reader->snapshot = (uint32_t)pcap_snapshot(handle);
    if (reader->snapshot > NF_SAVEFILE_MAX_CAPLEN)
        reader->snapshot = NF_SAVEFILE_MAX_CAPLEN;
    reader->block_offset = NF_SAVEFILE_HEADER_SIZE;
    return 1;
}

/* Keeps the unread tail and reads after it. Returns bytes added, 0 at end of file, -1. */
static ssize_t refill(struct nf_savefile *reader)
{
    size_t tail = reader->used - reader->position;
    ssize_t count;

    memmove(reader->block, reader->block + reader->position, tail);
    reader->block_offset += reader->position;
    reader->position = 0;
    reader->used = tail;
    count = read_at(reader->fd, reader->block + tail, NF_SAVEFILE_BLOCK - tail,
                    reader->block_offset + tail);
    if (count > 0)
        reader->used += (size_t)count;
    return count;
}

int nf_savefile_next(struct nf_savefile *reader, struct nf_savefile_record *record)
{
    const uint8_t *header;
    uint32_t caplen, seconds, fraction;
    ssize_t added;

    if (reader->used - reader->position < NF_SAVEFILE_RECORD_HEADER_SIZE) {
        added = refill(reader);
        if (added < 0)
            return NF_SAVEFILE_HANDOVER;
        if (reader->used == 0)
            return 0;
        if (reader->used < NF_SAVEFILE_RECORD_HEADER_SIZE)
            return NF_SAVEFILE_HANDOVER;
    }
    header = reader->block + reader->position;
    caplen = load_u32(header + 8, reader->swapped);
    if (caplen > reader->snapshot)
        return NF_SAVEFILE_HANDOVER;
    if (reader->used - reader->position < NF_SAVEFILE_RECORD_HEADER_SIZE + caplen) {
        added = refill(reader);
        if (added < 0 || reader->used < NF_SAVEFILE_RECORD_HEADER_SIZE + caplen)
            return NF_SAVEFILE_HANDOVER;
        header = reader->block;
    }
    seconds = load_u32(header, reader->swapped);
    fraction = load_u32(header + 4, reader->swapped);
    /*
     * libpcap 1.10.3 extends a time field with the top bit set as signed in
     * native files but as unsigned in swapped ones, so it reads those.
     */
    if ((seconds | fraction) & 0x80000000u)
        return NF_SAVEFILE_HANDOVER;
    record->seconds = seconds;
    record->fraction_ns = fraction;
    if (!reader->nanosecond)
        record->fraction_ns *= 1000;
    record->caplen = caplen;
    record->wirelen = load_u32(header + 12, reader->swapped);
    record->data = header + NF_SAVEFILE_RECORD_HEADER_SIZE;
    reader->position += NF_SAVEFILE_RECORD_HEADER_SIZE + caplen;
    return 1;
}

uint64_t nf_savefile_offset(const struct nf_savefile *reader)
{
    return reader->block_offset + reader->position;
}

void nf_savefile_stop(struct nf_savefile *reader)
{
    free(reader->block);
    memset(reader, 0, sizeof(*reader));
    reader->fd = -1;
}
