/*
 * memory.c - hands freed heap memory back to the system.
 *
 * glibc keeps freed small blocks (expired flows, nDPI states) in the
 * process, so without a trim the resident size stays at its peak after
 * the flows are gone. A watch follows a count of live objects and trims
 * each time it has fallen to half of its peak since the last trim, once a
 * peak of at least NF_TRIM_MIN_LIVE was seen. On other C libraries
 * trimming does nothing.
 */
#include <stdlib.h> /* defines __GLIBC__ on glibc */
#ifdef __GLIBC__
#include <malloc.h>
#endif

#include "internal.h"

/* Below this peak the memory at stake is a few MiB, not worth a trim. */
#define NF_TRIM_MIN_LIVE 65536u

void nf_memory_trim(void)
{
#ifdef __GLIBC__
    malloc_trim(0);
#endif
}

void nf_trim_watch_update(struct nf_trim_watch *watch, uint64_t live)
{
    if (live > watch->peak)
        watch->peak = live;
    if (watch->peak > watch->largest_peak)
        watch->largest_peak = watch->peak;
    /* Halving steps go on below the minimum once a large peak was seen, down to one object. */
    if (watch->largest_peak < NF_TRIM_MIN_LIVE || watch->peak < 2 || live > watch->peak / 2)
        return;
    nf_memory_trim();
    watch->peak = live;
}
