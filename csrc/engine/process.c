/*
 * process.c - facts about the process the engine runs in: how many cores
 * it may use, and whether it is a child forked while engine threads ran.
 *
 * fork() copies only the calling thread. A run whose dissection thread or
 * meter threads were left in the parent cannot go on in the child: waiting
 * for them would never end. The fork generation lets such a run fail with
 * a message instead, and lets its cleanup skip joining absent threads.
 */
#define _GNU_SOURCE /* sched_getaffinity and CPU_COUNT */
#include <pthread.h>
#include <sched.h>

#include "internal.h"

static unsigned nf_forks_seen;
static pthread_once_t nf_fork_handler_once = PTHREAD_ONCE_INIT;

static void count_fork_in_child(void)
{
    __atomic_add_fetch(&nf_forks_seen, 1, __ATOMIC_RELAXED);
}

static void install_fork_handler(void)
{
    (void)pthread_atfork(NULL, NULL, count_fork_in_child);
}

unsigned nf_process_fork_generation(void)
{
    pthread_once(&nf_fork_handler_once, install_fork_handler);
    return __atomic_load_n(&nf_forks_seen, __ATOMIC_RELAXED);
}

int nf_usable_cores(void)
{
    cpu_set_t set;

    if (sched_getaffinity(0, sizeof(set), &set) != 0)
        return 1;
    return CPU_COUNT(&set) > 0 ? CPU_COUNT(&set) : 1;
}
