/*
 * internal.h - declarations shared by the engine's own files and not part
 * of the public interface: the capture reader, per-flow updates, the flow
 * table and the meter. Nothing outside csrc/engine includes this header.
 */
#ifndef NF_INTERNAL_H
#define NF_INTERNAL_H

#include <time.h>

#include "nf_engine.h"

/* ------------------------------------------------------------------ */
/* Capture (capture.c)                                                 */
/* ------------------------------------------------------------------ */

/* One record read from a capture; data is valid until the next read. */
struct nf_frame {
    const uint8_t *data;
    uint32_t caplen;
    uint32_t wirelen;
    uint64_t time_ns;
    int linktype;
};

struct nf_capture;

/*
 * Opens the first of `count` files (paths are copied) and compiles the
 * filter for it. Every file must have a link type that decoding with
 * `decode_flags` (NF_DECODE_FLAG_* bits) supports. Returns NULL with a
 * message in errbuf and the code in *error on failure.
 */
struct nf_capture *nf_capture_open(const char *const *paths, size_t count, const char *bpf_filter,
                                   int decode_flags, char *errbuf, int *error);

/*
 * Reads the next record, moving to the next file at the end of one.
 * Returns 1 with a frame, 0 when every file is read, or a negative code
 * with a message in errbuf. A file that ends inside a record counts as
 * read up to that record (see nf_capture_truncation).
 */
int nf_capture_next(struct nf_capture *capture, struct nf_frame *frame, char *errbuf);

/*
 * A record's time in nanoseconds from its signed seconds and sub-second
 * nanoseconds, with nfstream's millisecond rounding (see capture.c).
 */
uint64_t nf_capture_time_ns(int64_t seconds, int64_t fraction_ns);

/* Returns how many files so far ended inside a record. */
uint64_t nf_capture_truncated_files(const struct nf_capture *capture);

/* Path and record count of the last truncated file, or NULL. */
const char *nf_capture_truncation(const struct nf_capture *capture, uint64_t *packets_read);

/* Closes the handle and frees the capture. Accepts NULL. */
void nf_capture_free(struct nf_capture *capture);

/* Returned by nf_capture_next for a live capture whose read timed out without a packet. */
#define NF_CAPTURE_TIMEOUT 2

/*
 * Opens config->interface for live capture with the config's snapshot
 * length, promiscuous mode, buffer size and filter, and joins PACKET_FANOUT
 * group `fanout_group` (Linux; a negative group joins none). Returns NULL
 * with a message naming the interface in errbuf and the code in *error.
 */
struct nf_capture *nf_capture_open_live(const struct nf_config *config, int fanout_group,
                                        char *errbuf, int *error);

/* Copies libpcap's kernel and interface drop counters into stats. Live only; never fails. */
void nf_capture_live_stats(struct nf_capture *capture, struct nf_stats *stats);

/* Closes the handle early; later reads return 0. Accepts NULL. */
void nf_capture_close(struct nf_capture *capture);

/* Checks an interface name and compiles the filter for Ethernet. Returns 0 or a negative code. */
int nf_capture_check_interface(const char *interface, const char *bpf_filter, char *errbuf);

/* ------------------------------------------------------------------ */
/* Per-flow state (flow.c)                                             */
/* ------------------------------------------------------------------ */

/* Size of a packet under an accounting mode (0 raw, 1 ip, 2 transport, 3 payload). */
uint16_t nf_packet_size(const struct nf_packet *packet, int accounting_mode);

/* Fills a canonical key for the packet, so both directions give the same key. */
void nf_flow_key_from_packet(const struct nf_packet *packet, struct nf_flow_key *key);

/*
 * Allocates a flow from its first packet, with running statistics when
 * `statistics` is set and SPLT arrays when splt_capacity > 0. Returns
 * NULL when out of memory. Sets packet->direction and packet->delta_ms.
 */
struct nf_flow *nf_flow_create(struct nf_packet *packet, const struct nf_flow_key *key,
                               uint64_t hash, int accounting_mode, int statistics,
                               unsigned splt_capacity);

/* Counts a later packet; sets packet->direction and packet->delta_ms. */
void nf_flow_update(struct nf_flow *flow, struct nf_packet *packet, int accounting_mode);

/* ------------------------------------------------------------------ */
/* Flow table (flow_table.c)                                           */
/* ------------------------------------------------------------------ */

/* A first-in first-out list of flows linked through list_prev and list_next. */
struct nf_flow_queue {
    struct nf_flow *head;
    struct nf_flow *tail;
    size_t count;
};

/* Appends a flow that is in no other list. */
void nf_flow_queue_push(struct nf_flow_queue *queue, struct nf_flow *flow);

/* Removes and returns the oldest flow, or NULL when the queue is empty. */
struct nf_flow *nf_flow_queue_pop(struct nf_flow_queue *queue);

/* One slot of the open-addressing array; flow == NULL marks an empty slot. */
struct nf_flow_slot {
    uint64_t hash; /* the flow's key hash, compared before the key itself */
    struct nf_flow *flow;
};

/*
 * Hash table of flows plus a list in insertion order (nfstream's cache
 * order, which decides emission order). Invariant: a flow is in the slot
 * array exactly when it is in the list, and then in_table == 1.
 */
struct nf_flow_table {
    struct nf_flow_slot *slots;
    uint64_t mask; /* slot count - 1; the count is a power of two */
    uint64_t count;
    struct nf_flow *oldest; /* head of the insertion-order list */
    struct nf_flow *newest;
};

/* Returns 0 or NF_ENOMEM. */
int nf_flow_table_init(struct nf_flow_table *table);

/* Hashes a key (48 bytes, compared whole). */
uint64_t nf_flow_key_hash(const struct nf_flow_key *key);

/* Returns the flow with this key, or NULL. */
struct nf_flow *nf_flow_table_find(const struct nf_flow_table *table, const struct nf_flow_key *key,
                                   uint64_t hash);

/*
 * Adds a flow at the newest end. Returns 0, or NF_ENOMEM when the table
 * is too full to take it and could not grow; the flow is then not added.
 */
int nf_flow_table_insert(struct nf_flow_table *table, struct nf_flow *flow);

/* Removes a flow from the slots and the list; the caller owns it after. */
void nf_flow_table_remove(struct nf_flow_table *table, struct nf_flow *flow);

/*
 * Starts loading the slot where a lookup, insert or removal with this
 * hash begins, so that a later call does not wait on memory. Only a hint.
 */
static inline void nf_flow_table_prefetch(const struct nf_flow_table *table, uint64_t hash)
{
    __builtin_prefetch(&table->slots[hash & table->mask]);
}

/* Frees the slot array (not the flows). */
void nf_flow_table_destroy(struct nf_flow_table *table);

/* ------------------------------------------------------------------ */
/* Meter (meter.c)                                                     */
/* ------------------------------------------------------------------ */

struct nf_meter;

/*
 * Creates a meter. `dissector` (borrowed, may be NULL when
 * n_dissections == 0) and `hooks` (copied, may be NULL) serve every flow.
 * Returns NULL when out of memory.
 */
struct nf_meter *nf_meter_create(const struct nf_config *config, struct nf_dissector *dissector,
                                 const struct nf_hooks *hooks, struct nf_stats *stats);

/*
 * Meters one accepted packet: orders its time, expires or updates its
 * flow, runs the hooks and the idle scan. Returns 0, NF_ENOMEM or
 * NF_EHOOK. Expired flows are appended to the ready queue.
 */
int nf_meter_process(struct nf_meter *meter, struct nf_packet *packet);

/*
 * Makes the meter own only flows whose key hash modulo `count` is
 * `index`; packets of other flows still move its clock and idle scans.
 * Every meter of a file run reads every packet, so each keeps the same
 * clock as a single meter and flows come out identical.
 */
void nf_meter_set_shard(struct nf_meter *meter, unsigned index, unsigned count);

/*
 * For capture files: lets each frame given to nf_meter_frame wait behind a
 * few later ones, so that the slot of its flow loads from memory while
 * they are decoded. Order and results do not change. Applies only without
 * dissection and hooks, which read a packet's bytes. nf_meter_flush meters
 * the waiting frames first. Returns 1 when frames wait, else 0.
 */
int nf_meter_start_lookahead(struct nf_meter *meter);

/*
 * Meters the frames still waiting (see nf_meter_start_lookahead), then
 * expires every cached flow in cache order (end of capture). Returns 0,
 * NF_ENOMEM or NF_EHOOK.
 */
int nf_meter_flush(struct nf_meter *meter);

/*
 * Decodes one frame with `decode_flags` (NF_DECODE_FLAG_* bits) and
 * meters it when the decoder accepts it; counts it as read and, when
 * ignored, by reason. Returns 0, NF_ENOMEM or NF_EHOOK.
 */
int nf_meter_frame(struct nf_meter *meter, const struct nf_frame *frame, int decode_flags);

/*
 * Moves the meter's clock to `now_ns` when that is later (live capture
 * on a quiet interface) and runs the idle scan when one is due. Packet
 * times stay the clock otherwise. Returns 0 or NF_EHOOK.
 */
int nf_meter_advance(struct nf_meter *meter, uint64_t now_ns);

/*
 * Moves dissection to a second thread when it can: dissection on, no
 * hooks (see dissection_thread.c), and two usable cores for each of the
 * run's `meters` meters. Returns 1 when the thread runs, 0 when the meter
 * keeps dissecting inline. Call before the first packet.
 */
int nf_meter_start_dissection_thread(struct nf_meter *meter, unsigned meters);

/*
 * Removes and returns the oldest ready flow (the caller owns it), or NULL.
 * With a dissection thread the oldest flow may still be in dissection:
 * with `wait` the call blocks until it is done, else it returns NULL.
 */
struct nf_flow *nf_meter_pop_ready(struct nf_meter *meter, int wait);

/* Frees the meter and every flow it still holds. Accepts NULL. */
void nf_meter_free(struct nf_meter *meter);

/* ------------------------------------------------------------------ */
/* Several meters in threads, and live clocks (meter_group.c)          */
/* ------------------------------------------------------------------ */

/* CLOCK_REALTIME in nanoseconds, the clock of live packet timestamps. */
uint64_t nf_clock_realtime_ns(void);

/* CLOCK_MONOTONIC in milliseconds, for intervals. */
uint64_t nf_clock_monotonic_ms(void);

/* Returns the time `after_ns` from now on `clock`, for pthread_cond_timedwait. */
struct timespec nf_clock_deadline(clockid_t clock, uint64_t after_ns);

/*
 * Wall-clock time the meters' clocks move to on a quiet interface: a
 * margin behind now, so that packets still waiting in the kernel's ring
 * (up to NF_LIVE_WAKE_MS) keep their own, later, timestamps.
 */
uint64_t nf_live_clock_target_ns(void);

/* Interval between wall-clock advances and drop counter refreshes of a busy capture. */
#define NF_LIVE_REFRESH_MS 100

struct nf_meter_group;

/*
 * Opens config->n_meters handles, on config->interface in one fanout
 * group or on config->paths with one hash shard per meter, and starts one
 * thread per meter. Hooks are not supported here. Returns NULL with a
 * message in errbuf and the code in *error.
 */
struct nf_meter_group *nf_meter_group_create(const struct nf_config *config, int fanout_group,
                                             char *errbuf, int *error);

/*
 * Waits up to NF_LIVE_WAKE_MS for a flow from any meter. Returns 1 with
 * a flow (the caller owns it), 0 once every meter stopped and every flow
 * was handed out, NF_ENGINE_WAITING, or a negative code with the message
 * copied to errbuf.
 */
int nf_meter_group_next(struct nf_meter_group *group, struct nf_flow **flow, char *errbuf);

/* Asks every meter to close its handle, flush its cache and stop. */
void nf_meter_group_stop(struct nf_meter_group *group);

/* Sums the meters' counters into total and copies packets processed per meter. */
void nf_meter_group_stats(struct nf_meter_group *group, struct nf_stats *total, uint64_t *processed);

/* Path and record count of the last truncated file (file groups), or NULL. */
const char *nf_meter_group_truncation(const struct nf_meter_group *group, uint64_t *packets_read);

/* Stops and joins the threads, closes the handles, frees every flow. Accepts NULL. */
void nf_meter_group_free(struct nf_meter_group *group);

/* ------------------------------------------------------------------ */
/* Ring between two threads (ring.c)                                   */
/* ------------------------------------------------------------------ */

struct nf_ring;

/* Creates an empty ring of `size` bytes, a power of two. Returns NULL without memory. */
struct nf_ring *nf_ring_create(uint64_t size);

/*
 * Producer: waits for room and returns where a record of `length` bytes
 * goes, aligned to 8 bytes. With its 8-byte header the record must fit in
 * the ring. Nothing is sent until nf_ring_commit.
 */
void *nf_ring_reserve(struct nf_ring *ring, uint32_t length);

/* Producer: sends the reserved record and returns the position after it. */
uint64_t nf_ring_commit(struct nf_ring *ring);

/* Producer: sends no more records. The consumer still gets every committed one. */
void nf_ring_close(struct nf_ring *ring);

/* Producer: returns 1 when the consumer has released every record before `position`. */
int nf_ring_passed(struct nf_ring *ring, uint64_t position);

/* Producer: blocks until the consumer has released every record before `position`. */
void nf_ring_wait(struct nf_ring *ring, uint64_t position);

/*
 * Consumer: waits for the next record and returns it with its length, or
 * NULL once the ring is closed and every record was read. The record
 * stays valid until nf_ring_release.
 */
void *nf_ring_next(struct nf_ring *ring, uint32_t *length);

/* Consumer: gives the last record's bytes back to the producer. */
void nf_ring_release(struct nf_ring *ring);

/*
 * Frees the ring, whose threads have stopped using it. In a forked child
 * whose threads are gone (`threads_lost`), the lock may still be held, so
 * only the memory is freed. Accepts NULL.
 */
void nf_ring_free(struct nf_ring *ring, int threads_lost);

/* ------------------------------------------------------------------ */
/* Dissection thread (dissection_thread.c)                             */
/* ------------------------------------------------------------------ */

struct nf_dissection_thread;

/* Counts the cores this process may run on (its affinity mask), at least 1 (process.c). */
int nf_usable_cores(void);

/*
 * Returns how many forks this process descends from since engine threads
 * were first started (process.c). A value that changed since a run
 * started its threads means the run is in a forked child without them.
 */
unsigned nf_process_fork_generation(void);

/*
 * Starts a thread that runs `dissector` (which it then uses alone) on the
 * jobs a meter sends. Returns NULL when memory or the thread is missing.
 */
struct nf_dissection_thread *nf_dissection_thread_create(struct nf_dissector *dissector,
                                                         unsigned n_dissections);

/* Sends packet number `packet_number` of the flow, copying its IP bytes. */
void nf_dissection_thread_packet(struct nf_dissection_thread *thread, struct nf_flow *flow,
                                 const struct nf_packet *packet, uint64_t packet_number);

/* Sends the flow's finish job and returns the position the thread must pass. */
uint64_t nf_dissection_thread_finish(struct nf_dissection_thread *thread, struct nf_flow *flow);

/* Returns 1 when the thread has done every job before `position`. */
int nf_dissection_thread_passed(struct nf_dissection_thread *thread, uint64_t position);

/* Blocks until the thread has done every job before `position`. */
void nf_dissection_thread_wait(struct nf_dissection_thread *thread, uint64_t position);

/* Returns 1 in a child forked after the thread started, where the thread is absent. */
int nf_dissection_thread_lost(const struct nf_dissection_thread *thread);

/*
 * Runs every job already sent, then stops the thread and frees it. In a
 * forked child (see nf_dissection_thread_lost) it only frees the memory.
 * Accepts NULL.
 */
void nf_dissection_thread_free(struct nf_dissection_thread *thread);

/* ------------------------------------------------------------------ */
/* Returning memory (memory.c)                                         */
/* ------------------------------------------------------------------ */

/* Follows a count of live objects for nf_trim_watch_update; zero it to start. */
struct nf_trim_watch {
    uint64_t peak;         /* most live objects since the last trim */
    uint64_t largest_peak; /* most live objects ever */
};

/* Trims the heap when `live` has fallen to half of a large enough peak. */
void nf_trim_watch_update(struct nf_trim_watch *watch, uint64_t live);

/* Hands every freed heap page back to the system now (glibc only). */
void nf_memory_trim(void);

#endif /* NF_INTERNAL_H */
