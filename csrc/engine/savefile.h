/*
 * savefile.h - the block reader for classic pcap files (savefile.c), used
 * by capture.c beside libpcap. Nothing else includes it.
 */
#ifndef NF_SAVEFILE_H
#define NF_SAVEFILE_H

#include <stdint.h>

#include <pcap/pcap.h>

struct nf_savefile {
    int fd;                /* libpcap's descriptor, read with pread() only */
    int swapped;           /* written in the other byte order */
    int nanosecond;        /* the fraction field is in nanoseconds */
    uint32_t snapshot;     /* maximum captured length handed out here */
    uint8_t *block;
    size_t used;           /* bytes of the file in block */
    size_t position;       /* next record in block */
    uint64_t block_offset; /* file offset of block[0] */
};

struct nf_savefile_record {
    const uint8_t *data;   /* valid until the next call */
    uint32_t caplen;
    uint32_t wirelen;
    int64_t seconds;
    int64_t fraction_ns;
};

/* Returned by nf_savefile_next when libpcap must read on from nf_savefile_offset. */
#define NF_SAVEFILE_HANDOVER (-1)

/*
 * Starts reading the file that `handle` has just opened, from its first
 * record. Returns 1, or 0 when the file is not one this reader takes (the
 * caller keeps reading with libpcap).
 */
int nf_savefile_start(struct nf_savefile *reader, pcap_t *handle);

/* Returns 1 with a record, 0 at the end of the file, or NF_SAVEFILE_HANDOVER. */
int nf_savefile_next(struct nf_savefile *reader, struct nf_savefile_record *record);

/* File offset of the first record not handed out. */
uint64_t nf_savefile_offset(const struct nf_savefile *reader);

/* Frees the block; the descriptor stays libpcap's. Safe to call twice. */
void nf_savefile_stop(struct nf_savefile *reader);

#endif
