/*
 * iterator.c - the iterator returned by NFStreamer.__iter__.
 *
 * Each iterator owns one engine run. __next__ requests the next
 * expired flow, numbers it (ids 0, 1, 2, ... in emission order) and wraps
 * it in an NFlow. The run ends at the end of the sources, on an error,
 * once max_nflows flows were returned, or when the iterator is destroyed
 * early; in every case the engine is freed once and each plugin's
 * cleanup() runs once. Without plugins the GIL is released while the
 * engine reads and meters packets.
 *
 * Live capture: the engine returns at least every 0.25 s even when no
 * flow is ready, so __next__ can check for signals and print the
 * performance report. A signal handler's exception (KeyboardInterrupt on
 * Ctrl-C) stops capture: the engine closes the interface and expires
 * every cached flow, __next__ returns those flows, and then raises the
 * exception. A second one during that drain is raised at once. With
 * plugins, the GIL is released only while libpcap waits, and the signal
 * check runs right after each wait, before any plugin code.
 */
#include "bindings.h"

#include <limits.h>
#include <time.h>

unsigned nf_iterator_groups(const struct nf_run_options *options)
{
    unsigned groups = NF_GROUP_ALWAYS;

    if (options->decode_tunnels)
        groups |= NF_GROUP_TUNNEL;
    if (options->statistical_analysis)
        groups |= NF_GROUP_STATISTICS;
    if (options->nanosecond_times)
        groups |= NF_GROUP_NANOSECONDS;
    if (options->splt_analysis > 0)
        groups |= NF_GROUP_SPLT;
    if (options->n_dissections > 0)
        groups |= NF_GROUP_DISSECTION;
    return groups;
}

/* Encodes the source paths; config.paths points into the bytes the iterator keeps. */
static int nf_iterator_set_paths(struct nf_iterator_object *self, PyObject *source)
{
    PyObject *paths = PyTuple_Check(source) ? Py_NewRef(source) : PyTuple_Pack(1, source);
    Py_ssize_t count;

    if (paths == NULL)
        return -1;
    count = PyTuple_GET_SIZE(paths);
    self->path_bytes = PyTuple_New(count);
    self->paths = PyMem_Calloc((size_t)count, sizeof(char *));
    for (Py_ssize_t i = 0; self->path_bytes != NULL && self->paths != NULL && i < count; i++) {
        PyObject *encoded = PyUnicode_EncodeFSDefault(PyTuple_GET_ITEM(paths, i));
        if (encoded == NULL) {
            Py_DECREF(paths);
            return -1;
        }
        PyTuple_SET_ITEM(self->path_bytes, i, encoded);
        self->paths[i] = PyBytes_AS_STRING(encoded);
    }
    Py_DECREF(paths);
    if (self->paths == NULL)
        PyErr_NoMemory();
    return self->path_bytes == NULL || self->paths == NULL ? -1 : 0;
}

static int nf_iterator_set_layout(struct nf_iterator_object *self,
                                  const struct nf_run_options *options)
{
    PyObject *names = PyTuple_New(PyTuple_GET_SIZE(options->plugins));

    for (Py_ssize_t i = 0; names != NULL && i < PyTuple_GET_SIZE(options->plugins); i++) {
        PyObject *name = nf_plugin_name(self->state, PyTuple_GET_ITEM(options->plugins, i));
        if (name == NULL) {
            Py_DECREF(names);
            return -1;
        }
        PyTuple_SET_ITEM(names, i, name);
    }
    if (names == NULL)
        return -1;
    self->layout = nf_layout_create(self->state, nf_iterator_groups(options),
                                    options->accounting_mode, names);
    Py_DECREF(names);
    return self->layout == NULL ? -1 : 0;
}

/* Seconds to milliseconds; the parameter table keeps the product below 2^64. */
static void nf_iterator_fill_config(struct nf_iterator_object *self,
                                    const struct nf_run_options *options,
                                    struct nf_config *config)
{
    memset(config, 0, sizeof(*config));
    config->paths = self->paths;
    config->path_count = (size_t)PyTuple_GET_SIZE(self->path_bytes);
    config->bpf_filter = self->filter_bytes == NULL ? NULL : PyBytes_AS_STRING(self->filter_bytes);
    config->decode_tunnels = options->decode_tunnels;
    config->extended_decoding = options->extended_decoding;
    config->idle_timeout_ms = options->idle_timeout_s * 1000;
    config->active_timeout_ms = options->active_timeout_s * 1000;
    config->accounting_mode = options->accounting_mode;
    config->n_dissections = options->n_dissections;
    config->statistical_analysis = options->statistical_analysis;
    config->splt_analysis = options->splt_analysis;
    config->sync_app_info = self->plugin_count > 0;
    config->n_meters = options->n_meters;
    if (options->live) {
        config->interface = self->paths[0];
        config->path_count = 0;
        config->promiscuous_mode = options->promiscuous_mode;
        config->snapshot_length = options->snapshot_length;
        config->socket_buffer_size = options->socket_buffer_size;
    }
}

static uint64_t nf_monotonic_ms(void)
{
    struct timespec now;

    clock_gettime(CLOCK_MONOTONIC, &now);
    return (uint64_t)now.tv_sec * 1000 + (uint64_t)now.tv_nsec / 1000000;
}

/*
 * Stores the exception a signal handler raised. Returns 1 for the first
 * one (stop capture and drain the cache), -1 when one was already stored
 * (the exception stays set and is raised at once).
 */
static int nf_iterator_take_interrupt(struct nf_iterator_object *self)
{
    if (self->interrupt != NULL)
        return -1;
    self->interrupt = nf_module_fetch_error();
    return 1;
}

/* Engine hook: let other threads run while libpcap waits (plugins hold the GIL otherwise). */
static void nf_iterator_wait_begin(void *context)
{
    struct nf_iterator_object *self = context;

    self->wait_state = PyEval_SaveThread();
}

static int nf_iterator_wait_end(void *context)
{
    struct nf_iterator_object *self = context;

    PyEval_RestoreThread(self->wait_state);
    self->wait_state = NULL;
    if (PyErr_CheckSignals() == 0)
        return 0;
    if (nf_iterator_take_interrupt(self) > 0)
        return 1;
    /* A second interrupt: fail the engine with it, like a plugin exception. */
    Py_XSETREF(self->hook_error, nf_module_fetch_error());
    return -1;
}

static int nf_iterator_start(struct nf_iterator_object *self,
                             const struct nf_run_options *options)
{
    struct nf_config config;
    char errbuf[NF_ERRBUF_SIZE] = "";
    int error = 0;

    if (nf_iterator_set_paths(self, options->source) < 0 ||
        nf_iterator_set_layout(self, options) < 0)
        return -1;
    if (options->bpf_filter != Py_None &&
        (self->filter_bytes = PyUnicode_AsUTF8String(options->bpf_filter)) == NULL)
        return -1;
    if (nf_plugin_prepare(self, options->udps, options->plugins, &self->hooks) < 0)
        return -1;
    if (options->live && self->plugin_count > 0) {
        self->hooks.on_wait_begin = nf_iterator_wait_begin;
        self->hooks.on_wait_end = nf_iterator_wait_end;
    }
    self->live = options->live;
    self->performance_report = options->live ? options->performance_report : 0;
    /* Reports more than about 30 years apart never come. */
    if (self->performance_report > 1000000000)
        self->performance_report = 1000000000;
    self->next_report_ms = nf_monotonic_ms() + (uint64_t)self->performance_report * 1000;
    nf_iterator_fill_config(self, options, &config);
    self->engine = nf_engine_create(&config, self->plugin_count > 0 ? &self->hooks : NULL,
                                    errbuf, &error);
    if (self->engine == NULL) {
        nf_module_raise(self->state, error, errbuf);
        return -1;
    }
    return 0;
}

PyObject *nf_iterator_create(struct nf_module_state *state, PyObject *streamer,
                             const struct nf_run_options *options)
{
    struct nf_iterator_object *self = PyObject_GC_New(struct nf_iterator_object,
                                                      state->iterator_type);

    if (self == NULL)
        return NULL;
    memset((char *)self + sizeof(PyObject), 0, sizeof(*self) - sizeof(PyObject));
    self->state = state;
    self->streamer = Py_NewRef(streamer);
    self->max_nflows = options->max_nflows;
    PyObject_GC_Track(self);
    if (nf_iterator_start(self, options) < 0) {
        /* Nothing ran yet, so no plugin cleanup is due. */
        self->finished = 1;
        Py_DECREF(self);
        return NULL;
    }
    return (PyObject *)self;
}

/* Warns about a capture file cut short; the flows read before the cut were all emitted. */
static int nf_iterator_warn_truncation(const char *path, uint64_t packets_read)
{
    return PyErr_WarnFormat(PyExc_RuntimeWarning, 1,
                            "capture file %s is truncated: its last record is incomplete; "
                            "the %llu packets read before it were metered",
                            path, (unsigned long long)packets_read);
}

/*
 * Ends the run: frees the engine (NFlows of unemitted flows become owners
 * of their C flows) and calls the plugins' cleanup(). With `warn` set,
 * warns about a truncated file. Returns 0, or -1 with an exception set.
 */
static int nf_iterator_finish(struct nf_iterator_object *self, int warn)
{
    char truncated_path[PATH_MAX] = "";
    uint64_t packets_read = 0;
    uint64_t allocation_failures = 0;
    const char *path;

    if (self->finished)
        return 0;
    self->finished = 1;
    if (warn && self->engine != NULL &&
        (path = nf_engine_truncation(self->engine, &packets_read)) != NULL)
        snprintf(truncated_path, sizeof(truncated_path), "%s", path);
    if (self->engine != NULL)
        allocation_failures = nf_engine_stats(self->engine)->flow_allocation_failures;
    nf_engine_free(self->engine);
    self->engine = NULL;
    if (nf_plugin_cleanup_all(self) < 0)
        return -1;
    if (truncated_path[0] != '\0' && nf_iterator_warn_truncation(truncated_path, packets_read) < 0)
        return -1;
    if (warn && allocation_failures > 0)
        return PyErr_WarnFormat(PyExc_RuntimeWarning, 1,
                                "%llu packets were not metered because memory for their new "
                                "flows could not be allocated; see stats()",
                                (unsigned long long)allocation_failures);
    return 0;
}

/* Raises the error that stopped the engine; a hook's own exception wins. */
static PyObject *nf_iterator_fail(struct nf_iterator_object *self, int code)
{
    char message[NF_ERRBUF_SIZE];
    PyObject *error;

    snprintf(message, sizeof(message), "%s", nf_engine_error(self->engine));
    /* The engine error is the one to raise; a failing cleanup() is only reported. */
    if (nf_iterator_finish(self, 0) < 0)
        PyErr_WriteUnraisable(self->streamer);
    if (code == NF_EHOOK && self->hook_error != NULL) {
        error = self->hook_error;
        self->hook_error = NULL;
        return nf_module_restore_error(error);
    }
    return nf_module_raise(self->state, code, message);
}

/* Returns the NFlow of an emitted flow, which now owns the C flow. */
static PyObject *nf_iterator_wrap(struct nf_iterator_object *self, struct nf_flow *flow)
{
    PyObject *flow_object = flow->user_data;

    if (flow_object != NULL) {
        flow->user_data = NULL;
        nf_flow_object_take(flow_object);
        return flow_object;
    }
    flow_object = nf_flow_object_create(self->state, self->layout, flow, 1, 0);
    if (flow_object == NULL)
        nf_flow_free(flow);
    return flow_object;
}

static int nf_iterator_next_flow(struct nf_iterator_object *self, struct nf_flow **flow)
{
    int status;

    self->busy = 1;
    if (self->plugin_count == 0) {
        /* A flow that is ready already costs no reading, so the GIL stays held for it. */
        status = nf_engine_take_ready(self->engine, flow);
        if (status == 0) {
            Py_BEGIN_ALLOW_THREADS
            status = nf_engine_next_flow(self->engine, flow);
            Py_END_ALLOW_THREADS
        }
    } else {
        status = nf_engine_next_flow(self->engine, flow);
    }
    self->busy = 0;
    nf_streamer_store_stats(self->streamer, nf_engine_stats(self->engine));
    return status;
}

/* Writes one line to sys.stdout and flushes it, as print(line, flush=True) would. */
static int nf_iterator_print(const char *line)
{
    PyObject *out = PySys_GetObject("stdout"); /* borrowed */
    PyObject *result;

    if (out == NULL || out == Py_None)
        return 0;
    result = PyObject_CallMethod(out, "write", "s", line);
    Py_XDECREF(result);
    if (result == NULL)
        return -1;
    result = PyObject_CallMethod(out, "flush", NULL);
    Py_XDECREF(result);
    return result == NULL ? -1 : 0;
}

/* Prints one JSON line of live counters when performance_report seconds have passed. */
static int nf_iterator_report(struct nf_iterator_object *self)
{
    const struct nf_stats *stats = nf_engine_stats(self->engine);
    unsigned meters = nf_engine_meter_count(self->engine);
    uint64_t now_ms;
    char line[4096];
    int length;

    /* Only reports read the clock, which would otherwise cost a read per flow. */
    if (self->performance_report <= 0)
        return 0;
    now_ms = nf_monotonic_ms();
    if (now_ms < self->next_report_ms)
        return 0;
    self->next_report_ms = now_ms + (uint64_t)self->performance_report * 1000;
    length = snprintf(line, sizeof(line),
                      "{\"flows_expired\": %lld, \"packets_processed\": %llu, "
                      "\"packets_ignored\": %llu, \"packets_dropped_filtered_by_kernel\": %llu, "
                      "\"packets_dropped_by_interface\": %llu, "
                      "\"meters_packets_processing_balance\": [",
                      (long long)self->next_id, (unsigned long long)stats->packets_processed,
                      (unsigned long long)stats->packets_ignored,
                      (unsigned long long)stats->packets_dropped_kernel,
                      (unsigned long long)stats->packets_dropped_interface);
    for (unsigned i = 0; i < meters && length < (int)sizeof(line) - 32; i++)
        length += snprintf(line + length, sizeof(line) - (size_t)length, "%s%llu",
                           i > 0 ? ", " : "",
                           (unsigned long long)nf_engine_meter_processed(self->engine, i));
    snprintf(line + length, sizeof(line) - (size_t)length, "]}\n");
    return nf_iterator_print(line);
}

/*
 * After each engine call: prints a due report (live capture) and handles
 * a pending signal. The first interrupt stops the run, whose cached flows
 * still come out before it is raised. Returns 0, or -1 when an exception
 * must be raised now.
 */
static int nf_iterator_checks(struct nf_iterator_object *self)
{
    if (nf_iterator_report(self) < 0)
        return -1;
    if (PyErr_CheckSignals() == 0)
        return 0;
    if (nf_iterator_take_interrupt(self) < 0)
        return -1;
    nf_engine_stop(self->engine);
    return 0;
}

/* Ends the run and raises the pending exception, dropping the flow in hand. */
static PyObject *nf_iterator_abort(struct nf_iterator_object *self, struct nf_flow *flow)
{
    PyObject *error = nf_module_fetch_error();

    if (flow != NULL)
        Py_XDECREF(nf_iterator_wrap(self, flow));
    if (nf_iterator_finish(self, 0) < 0)
        PyErr_WriteUnraisable(self->streamer);
    return nf_module_restore_error(error);
}

/* Ends the run normally; raises a stored interrupt last, once every flow was returned. */
static PyObject *nf_iterator_end(struct nf_iterator_object *self, int warn)
{
    PyObject *interrupt = self->interrupt;

    self->interrupt = NULL;
    if (interrupt == NULL) {
        nf_iterator_finish(self, warn);
        return NULL;
    }
    if (nf_iterator_finish(self, warn) < 0)
        PyErr_WriteUnraisable(self->streamer);
    return nf_module_restore_error(interrupt);
}

/* Advances the run: 1 with a numbered flow the caller owns, 0 at the end, -1 with an exception. */
static int nf_iterator_advance(struct nf_iterator_object *self, struct nf_flow **flow)
{
    int status;

    *flow = NULL;
    if (self->finished)
        return 0;
    if (self->busy) {
        PyErr_SetString(PyExc_RuntimeError,
                        "NFStreamer iterator is already running: next() was called from "
                        "another thread or from a plugin hook of this iteration");
        return -1;
    }
    if (self->max_nflows > 0 && self->next_id >= self->max_nflows) {
        nf_iterator_end(self, 0);
        return PyErr_Occurred() ? -1 : 0;
    }
    do {
        status = nf_iterator_next_flow(self, flow);
        if (status >= 0 && nf_iterator_checks(self) < 0) {
            nf_iterator_abort(self, *flow);
            *flow = NULL;
            return -1;
        }
    } while (status == NF_ENGINE_WAITING);
    if (status == 1) {
        (*flow)->id = self->next_id++;
        return 1;
    }
    if (status == 0) {
        nf_iterator_end(self, 1);
        return PyErr_Occurred() ? -1 : 0;
    }
    nf_iterator_fail(self, status);
    return -1;
}

int nf_iterator_next_raw(PyObject *iterator, struct nf_flow **flow)
{
    return nf_iterator_advance((struct nf_iterator_object *)iterator, flow);
}

static PyObject *nf_iterator_next(struct nf_iterator_object *self)
{
    struct nf_flow *flow;

    if (nf_iterator_advance(self, &flow) != 1)
        return NULL;
    return nf_iterator_wrap(self, flow);
}

static int nf_iterator_traverse(struct nf_iterator_object *self, visitproc visit, void *arg)
{
    Py_VISIT(Py_TYPE(self));
    Py_VISIT(self->streamer);
    Py_VISIT(self->layout);
    Py_VISIT(self->hook_error);
    Py_VISIT(self->interrupt);
    return nf_plugin_traverse_entries(self, visit, arg);
}

/* Clears references that can be part of a cycle; the engine itself is freed in dealloc. */
static int nf_iterator_clear(struct nf_iterator_object *self)
{
    Py_CLEAR(self->hook_error);
    Py_CLEAR(self->interrupt);
    if (self->engine == NULL)
        nf_plugin_clear_entries(self);
    return 0;
}

/* An iterator dropped before the end still frees its engine and runs cleanup(). */
static void nf_iterator_dealloc(struct nf_iterator_object *self)
{
    PyTypeObject *type = Py_TYPE(self);
    PyObject *pending = nf_module_fetch_error();

    PyObject_GC_UnTrack(self);
    if (nf_iterator_finish(self, 0) < 0)
        PyErr_WriteUnraisable((PyObject *)type);
    if (pending != NULL)
        nf_module_restore_error(pending);
    nf_plugin_clear_entries(self);
    Py_CLEAR(self->hook_error);
    Py_CLEAR(self->interrupt);
    Py_CLEAR(self->streamer);
    Py_CLEAR(self->layout);
    Py_CLEAR(self->path_bytes);
    Py_CLEAR(self->filter_bytes);
    PyMem_Free(self->paths);
    type->tp_free(self);
    Py_DECREF(type);
}

static PyType_Slot nf_iterator_slots[] = {
    {Py_tp_doc, "One pass of an NFStreamer over its source; yields NFlow objects."},
    {Py_tp_traverse, nf_iterator_traverse},
    {Py_tp_clear, nf_iterator_clear},
    {Py_tp_dealloc, nf_iterator_dealloc},
    {Py_tp_iter, PyObject_SelfIter},
    {Py_tp_iternext, nf_iterator_next},
    {0, NULL},
};

PyType_Spec nf_iterator_spec = {
    .name = "nfstream._engine._FlowIterator",
    .basicsize = sizeof(struct nf_iterator_object),
    .flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC
#ifdef Py_TPFLAGS_DISALLOW_INSTANTIATION
             | Py_TPFLAGS_DISALLOW_INSTANTIATION
#endif
    ,
    .slots = nf_iterator_slots,
};
