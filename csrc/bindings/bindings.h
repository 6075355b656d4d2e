/*
 * bindings.h - private declarations shared by the files of nfstream._engine.
 *
 * The extension is split by object: module.c (module state, exceptions,
 * type registration), streamer.c (NFStreamer parameters), iterator.c (one
 * engine run), flow_fields.c (the column table), flow_object.c (NFlow),
 * packet_object.c (NFPacket) and plugin.c (NFPlugin and the engine hooks
 * that call plugins). Only these files include
 * Python.h; the engine is reached through nf_engine.h alone.
 */
#ifndef NF_BINDINGS_H
#define NF_BINDINGS_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include "../engine/nf_engine.h"

#if PY_VERSION_HEX < 0x030A0000
/* Python 3.9 lacks these two helpers; the fallbacks behave the same. */
static inline PyObject *nf_new_ref(PyObject *object)
{
    Py_INCREF(object);
    return object;
}
#define Py_NewRef(object) nf_new_ref((PyObject *)(object))

static inline int nf_add_object_ref(PyObject *module, const char *name, PyObject *value)
{
    Py_INCREF(value);
    if (PyModule_AddObject(module, name, value) < 0) {
        Py_DECREF(value);
        return -1;
    }
    return 0;
}
#define PyModule_AddObjectRef nf_add_object_ref

static inline PyObject *nf_new_xref(PyObject *object)
{
    Py_XINCREF(object);
    return object;
}
#define Py_XNewRef(object) nf_new_xref((PyObject *)(object))
#endif

/* Per-module state: heap types, exception types and interned names. */
struct nf_module_state {
    PyTypeObject *streamer_type;
    PyTypeObject *iterator_type;
    PyTypeObject *flow_type;
    PyTypeObject *layout_type;
    PyTypeObject *packet_type;
    PyTypeObject *plugin_type;
    PyObject *capture_error;        /* CaptureError(ValueError) */
    PyObject *parameter_type_error; /* ParameterTypeError(TypeError, ValueError) */
    PyObject *namespace_type;       /* types.SimpleNamespace, used for flow.udps */
    PyObject *rebuild_flow;         /* module function that unpickles an NFlow */
    PyObject *str_on_init;
    PyObject *str_on_update;
    PyObject *str_on_expire;
    PyObject *str_process;
    PyObject *str_giveup;
    PyObject *str_cleanup;
    PyObject *str_name;
    PyObject *str_volatile;
    PyObject *str_init_function;
    PyObject *str_dict;
};

/* Column groups; a flow layout is the set of groups a configuration enables. */
enum nf_column_group {
    NF_GROUP_ALWAYS = 0x01,
    NF_GROUP_TUNNEL = 0x02,
    NF_GROUP_STATISTICS = 0x04,
    NF_GROUP_SPLT = 0x08,
    NF_GROUP_DISSECTION = 0x10,
    NF_GROUP_NANOSECONDS = 0x20,
};

/*
 * The immutable description shared by every NFlow of one iteration: which
 * column groups exist, the built-in column names in order, and the names
 * of the classic plugins (attributes set directly on the flow).
 */
struct nf_layout_object {
    PyObject_HEAD
    unsigned groups;          /* enum nf_column_group bits */
    int accounting_mode;      /* for the NFPacket.length alias */
    PyObject *column_names;   /* tuple of str, built-in columns in order */
    uint16_t *field_indexes;  /* index of each column in the field table (owned) */
    PyObject *classic_names;  /* tuple of str, classic plugin names in plugin order */
};

/* Hooks a plugin class overrides, detected once per iteration. */
enum nf_plugin_hook {
    NF_HOOK_ON_INIT = 0x01,
    NF_HOOK_ON_UPDATE = 0x02,
    NF_HOOK_ON_EXPIRE = 0x04,
    NF_HOOK_PROCESS = 0x08,
    NF_HOOK_GIVEUP = 0x10,
    NF_HOOK_CLEANUP = 0x20,
};

/* One plugin entry of the hook dispatch. All references are strong. */
struct nf_plugin_entry {
    PyObject *plugin;
    PyObject *name;          /* classic plugins: the attribute set on the flow */
    PyObject *init_function; /* classic plugins: callable or NULL */
    unsigned overrides;      /* enum nf_plugin_hook bits */
    int classic;             /* given through plugins= rather than udps= */
    int is_volatile;         /* classic plugins: attribute deleted at expiry */
};

/* The iterator returned by NFStreamer.__iter__; owns one engine run. */
struct nf_iterator_object {
    PyObject_HEAD
    struct nf_module_state *state;
    PyObject *streamer;          /* the NFStreamer, for its stats */
    PyObject *layout;            /* struct nf_layout_object */
    PyObject *path_bytes;        /* tuple of bytes that config.paths points into */
    PyObject *filter_bytes;      /* bytes or NULL, config.bpf_filter points into it */
    const char **paths;
    struct nf_engine *engine;    /* NULL once finished */
    struct nf_hooks hooks;       /* kept here because the engine may keep a pointer to it */
    struct nf_plugin_entry *plugins;
    Py_ssize_t plugin_count;
    int64_t next_id;
    int64_t max_nflows;          /* 0 for unlimited */
    int busy;                    /* set while nf_engine_next_flow runs */
    int finished;
    PyObject *hook_error;        /* exception raised by a hook, with traceback */
    /* Live capture */
    int live;
    PyObject *interrupt;         /* KeyboardInterrupt (or other signal exception) to raise last */
    PyThreadState *wait_state;   /* saved while the engine waits in libpcap with plugins */
    int64_t performance_report;  /* seconds between report lines, 0 for none */
    uint64_t next_report_ms;     /* CLOCK_MONOTONIC time of the next report line */
};

/* ---- module.c ---- */

/* Returns the module state of a type defined by this module or a subclass of one. */
struct nf_module_state *nf_module_state_of_type(PyTypeObject *type);

/*
 * Raises the Python exception for an engine error code and its message.
 * Always returns NULL so callers can `return nf_module_raise(...)`.
 */
PyObject *nf_module_raise(struct nf_module_state *state, int code, const char *message);

/*
 * Takes the pending exception, normalised and with its traceback attached.
 * Returns a new reference, or NULL when no exception was set.
 */
PyObject *nf_module_fetch_error(void);

/* Raises `error` again with its own traceback; steals the reference. Returns NULL. */
PyObject *nf_module_restore_error(PyObject *error);

/* ---- streamer.c ---- */

extern PyType_Spec nf_streamer_spec;

/* Fills the streamer type's getset table; called once before the type is created. */
void nf_streamer_prepare_spec(void);

/* Copies `stats` into the streamer for NFStreamer.stats(). Never fails. */
void nf_streamer_store_stats(PyObject *streamer, const struct nf_stats *stats);

/* ---- iterator.c ---- */

/* What one iteration needs from the streamer's validated parameters. */
struct nf_run_options {
    PyObject *source;      /* str, or tuple of str (borrowed) */
    PyObject *bpf_filter;  /* str or None (borrowed) */
    PyObject *udps;        /* tuple of NFPlugin (borrowed) */
    PyObject *plugins;     /* tuple of NFPlugin, classic API (borrowed) */
    int decode_tunnels;
    int statistical_analysis;
    int nanosecond_times;  /* adds *_first_seen_ns, *_last_seen_ns, *_duration_ns */
    int extended_decoding; /* decoding beyond nfstream (NF_DECODE_FLAG_EXTENDED) */
    int accounting_mode;
    uint64_t idle_timeout_s;
    uint64_t active_timeout_s;
    unsigned n_dissections;
    unsigned splt_analysis;
    int64_t max_nflows;
    /* Live capture */
    int live;              /* source is a network interface name */
    int promiscuous_mode;
    int snapshot_length;
    int socket_buffer_size;
    unsigned n_meters;
    int64_t performance_report;
};

extern PyType_Spec nf_iterator_spec;

/* Column groups a set of options enables. */
unsigned nf_iterator_groups(const struct nf_run_options *options);

/*
 * Creates an iterator that owns a new engine run for `streamer`. Can call
 * Python code (plugin attribute lookups). Returns a new reference, or
 * NULL with an exception set (CaptureError when the engine cannot start).
 */
PyObject *nf_iterator_create(struct nf_module_state *state, PyObject *streamer,
                             const struct nf_run_options *options);

/*
 * Takes the next emitted flow of an iterator without making an NFlow:
 * returns 1 with a numbered flow the caller owns (free it with
 * nf_flow_free), 0 at the end, or -1 with an exception set. For iterators
 * without plugins, whose flows carry no user_data.
 */
int nf_iterator_next_raw(PyObject *iterator, struct nf_flow **flow);

/* ---- columns.c ---- */

/*
 * Runs the streamer once into per-column buffers: returns (column names,
 * [(code, values)], flow count) where code is "q" (int64), "Q" (uint64) or
 * "d" (float64) with packed bytes, or "O" with a list. Returns None when
 * plugins are set, or NULL with an exception set.
 */
PyObject *nf_columns_collect(struct nf_module_state *state, PyObject *streamer,
                             const struct nf_run_options *options);

/* ---- flow_fields.c ---- */

/* One built-in NFlow column and where its value comes from. */
struct nf_field {
    const char *name;
    unsigned group;   /* enum nf_column_group */
    unsigned kind;    /* how the value is computed, private to flow_fields.c */
    unsigned scope;   /* enum nf_scope, or 0 for src and 1 for dst endpoints */
    size_t offset;    /* byte offset of the value in struct nf_flow or struct nf_app_info */
};

extern const struct nf_field nf_flow_fields[];
extern const size_t nf_flow_field_count;

extern PyType_Spec nf_layout_spec;

/*
 * Computes a column from a C flow. Returns a new reference, or NULL with
 * an exception set (only on allocation failure).
 */
PyObject *nf_field_value(const struct nf_field *field, const struct nf_flow *flow);

/* Room nf_field_text needs for the columns it formats (an IPv6 address is the longest). */
#define NF_FIELD_TEXT_SIZE 48

/*
 * Returns the text of an address, MAC, OUI or dissection string column
 * (not NUL-terminated for MACs, so *length gives its length), formatted into
 * `buffer` (NF_FIELD_TEXT_SIZE bytes) or pointing into the flow. Returns
 * NULL for other columns and for dissection fields not yet collected.
 */
const char *nf_field_text(const struct nf_field *field, const struct nf_flow *flow, char *buffer,
                          size_t *length);

/* Type of the value nf_field_number wrote. */
enum nf_number_type {
    NF_NUMBER_NONE = 0, /* not a number: strings, lists, dissection fields */
    NF_NUMBER_SIGNED,   /* *integer contains an int64_t */
    NF_NUMBER_UNSIGNED, /* *integer contains a uint64_t */
    NF_NUMBER_REAL,     /* *real contains the value */
};

/* Computes a numeric column without Python objects. Returns an enum nf_number_type. Never fails. */
int nf_field_number(const struct nf_field *field, const struct nf_flow *flow, uint64_t *integer,
                    double *real);

/*
 * Creates the layout for a configuration. Returns a new reference or NULL
 * with an exception set. `classic_names` is a tuple (borrowed).
 */
PyObject *nf_layout_create(struct nf_module_state *state, unsigned groups, int accounting_mode,
                           PyObject *classic_names);

/*
 * Returns a new list of every built-in column name any configuration can
 * have, or NULL with an exception set. Used to reject clashing plugin names.
 */
PyObject *nf_flow_all_column_names(void);

/* ---- flow_object.c ---- */

extern PyType_Spec nf_flow_spec;

/* Fills the flow type's getset table before the type is created. Returns 0, or -1 with an exception. */
int nf_flow_prepare_spec(void);

/*
 * Wraps a C flow in a new NFlow. With `owned` set the NFlow frees the flow
 * in its dealloc; otherwise it borrows it until nf_flow_object_take.
 * `with_udps` creates the flow.udps namespace. Returns a new reference or
 * NULL with an exception set (the C flow is then not freed).
 */
PyObject *nf_flow_object_create(struct nf_module_state *state, PyObject *layout,
                                struct nf_flow *flow, int owned, int with_udps);

/*
 * Drops the overrides of built-in columns (except id) of a live flow, as
 * nfstream's refresh from C does before on_update and on_expire. Returns
 * 0, or -1 with an exception set.
 */
int nf_flow_object_refresh(PyObject *flow_object);

/*
 * Makes a borrowing NFlow the owner of its C flow and drops an id a plugin
 * wrote, because the emitted flow gets its emission number. Never raises.
 */
void nf_flow_object_take(PyObject *flow_object);

/* Module-level function that rebuilds a pickled NFlow. */
PyObject *nf_flow_rebuild(PyObject *module, PyObject *const *args, Py_ssize_t nargs);

/* ---- packet_object.c ---- */

extern PyType_Spec nf_packet_spec;

/* Fills the packet type's getset table; called once before the type is created. */
void nf_packet_prepare_spec(void);

/*
 * Creates the NFPacket of one hook call; ip_data stays borrowed until
 * nf_packet_object_release. Returns a new reference or NULL with an
 * exception set.
 */
PyObject *nf_packet_object_create(struct nf_module_state *state, const struct nf_flow *flow,
                                  const struct nf_packet *packet, int accounting_mode);

/*
 * Ends the hook call: copies the IP bytes into the packet if something
 * still refers to it, then drops the caller's reference. Returns 0, or -1
 * with an exception set (the reference is dropped either way).
 */
int nf_packet_object_release(PyObject *packet_object);

/* ---- plugin.c ---- */

extern PyType_Spec nf_plugin_spec;

/*
 * Builds the dispatch entries of an iterator from its streamer's udps and
 * plugins tuples and fills `hooks`. Installs no hook without plugins.
 * Returns 0, or -1 with an exception set.
 */
int nf_plugin_prepare(struct nf_iterator_object *iterator, PyObject *udps, PyObject *plugins,
                      struct nf_hooks *hooks);

/* Calls cleanup() once on every plugin that overrides it. Returns 0 or -1 with an exception set. */
int nf_plugin_cleanup_all(struct nf_iterator_object *iterator);

/* Frees the dispatch entries. Accepts an iterator without entries. */
void nf_plugin_clear_entries(struct nf_iterator_object *iterator);

/* Visits the dispatch entries for the garbage collector. */
int nf_plugin_traverse_entries(struct nf_iterator_object *iterator, visitproc visit, void *arg);

/*
 * Converts udps= or plugins= into a tuple of NFPlugin objects: None gives
 * an empty tuple, one plugin a 1-tuple. Raises ParameterTypeError naming
 * the first item that is not an NFPlugin. Returns a new reference or NULL.
 */
PyObject *nf_plugin_collect(struct nf_module_state *state, const char *parameter,
                            PyObject *value);

/*
 * Returns a new reference to the attribute name a classic plugin sets on
 * flows (its `name`, else its class name), or NULL with an exception set.
 */
PyObject *nf_plugin_name(struct nf_module_state *state, PyObject *plugin);

#endif /* NF_BINDINGS_H */
