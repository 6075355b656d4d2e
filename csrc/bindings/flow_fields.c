/*
 * flow_fields.c - the built-in NFlow columns and the layout of one run.
 *
 * One table lists every built-in column in nfstream's order with its
 * group (always, tunnel, statistics, SPLT, dissection) and how its value
 * is read from struct nf_flow. Values are computed on each read, so a
 * flow costs nothing per packet on the Python side. A layout object keeps
 * the columns a configuration enables and is shared by all its flows.
 */
#include "bindings.h"

#include <arpa/inet.h>
#include <math.h>
#include <stddef.h>
#include <sys/socket.h>

enum nf_field_kind {
    NF_KIND_INT64,
    NF_KIND_INT32,
    NF_KIND_UINT16,
    NF_KIND_UINT8,
    NF_KIND_IP,
    NF_KIND_MAC,
    NF_KIND_OUI,
    NF_KIND_FIRST_SEEN,
    NF_KIND_LAST_SEEN,
    NF_KIND_DURATION,
    NF_KIND_FIRST_SEEN_NS,
    NF_KIND_LAST_SEEN_NS,
    NF_KIND_DURATION_NS,
    NF_KIND_PACKETS,
    NF_KIND_BYTES,
    NF_KIND_MIN_PS,
    NF_KIND_MEAN_PS,
    NF_KIND_STDDEV_PS,
    NF_KIND_MAX_PS,
    NF_KIND_MIN_PIAT,
    NF_KIND_MEAN_PIAT,
    NF_KIND_STDDEV_PIAT,
    NF_KIND_MAX_PIAT,
    NF_KIND_FLAG,
    NF_KIND_SPLT_DIRECTION,
    NF_KIND_SPLT_PS,
    NF_KIND_SPLT_PIAT,
    NF_KIND_APP_STRING,
    NF_KIND_APP_INT,
};

#define NF_FLOW_FIELD(name, kind, type) \
    {name, NF_GROUP_ALWAYS, kind, 0, offsetof(struct nf_flow, type)}
#define NF_ENDPOINT(name, kind, side) {name, NF_GROUP_ALWAYS, kind, side, 0}

#define NF_COUNTERS(prefix, scope)                                          \
    {prefix "_first_seen_ms", NF_GROUP_ALWAYS, NF_KIND_FIRST_SEEN, scope, 0}, \
    {prefix "_last_seen_ms", NF_GROUP_ALWAYS, NF_KIND_LAST_SEEN, scope, 0},   \
    {prefix "_duration_ms", NF_GROUP_ALWAYS, NF_KIND_DURATION, scope, 0},     \
    {prefix "_packets", NF_GROUP_ALWAYS, NF_KIND_PACKETS, scope, 0},          \
    {prefix "_bytes", NF_GROUP_ALWAYS, NF_KIND_BYTES, scope, 0}

/* Exact capture times, opt-in so default columns stay nfstream's. */
#define NF_NANOSECOND_TIMES(prefix, scope)                                        \
    {prefix "_first_seen_ns", NF_GROUP_NANOSECONDS, NF_KIND_FIRST_SEEN_NS, scope, 0}, \
    {prefix "_last_seen_ns", NF_GROUP_NANOSECONDS, NF_KIND_LAST_SEEN_NS, scope, 0},   \
    {prefix "_duration_ns", NF_GROUP_NANOSECONDS, NF_KIND_DURATION_NS, scope, 0}

#define NF_STAT(prefix, suffix, kind, scope) \
    {prefix suffix, NF_GROUP_STATISTICS, kind, scope, 0}
#define NF_SIZE_STATS(prefix, scope)                          \
    NF_STAT(prefix, "_min_ps", NF_KIND_MIN_PS, scope),        \
    NF_STAT(prefix, "_mean_ps", NF_KIND_MEAN_PS, scope),      \
    NF_STAT(prefix, "_stddev_ps", NF_KIND_STDDEV_PS, scope),  \
    NF_STAT(prefix, "_max_ps", NF_KIND_MAX_PS, scope)
#define NF_PIAT_STATS(prefix, scope)                                \
    NF_STAT(prefix, "_min_piat_ms", NF_KIND_MIN_PIAT, scope),       \
    NF_STAT(prefix, "_mean_piat_ms", NF_KIND_MEAN_PIAT, scope),     \
    NF_STAT(prefix, "_stddev_piat_ms", NF_KIND_STDDEV_PIAT, scope), \
    NF_STAT(prefix, "_max_piat_ms", NF_KIND_MAX_PIAT, scope)
#define NF_FLAGS(prefix, scope)                                                   \
    {prefix "_syn_packets", NF_GROUP_STATISTICS, NF_KIND_FLAG, scope, NF_FLAG_SYN}, \
    {prefix "_cwr_packets", NF_GROUP_STATISTICS, NF_KIND_FLAG, scope, NF_FLAG_CWR}, \
    {prefix "_ece_packets", NF_GROUP_STATISTICS, NF_KIND_FLAG, scope, NF_FLAG_ECE}, \
    {prefix "_urg_packets", NF_GROUP_STATISTICS, NF_KIND_FLAG, scope, NF_FLAG_URG}, \
    {prefix "_ack_packets", NF_GROUP_STATISTICS, NF_KIND_FLAG, scope, NF_FLAG_ACK}, \
    {prefix "_psh_packets", NF_GROUP_STATISTICS, NF_KIND_FLAG, scope, NF_FLAG_PSH}, \
    {prefix "_rst_packets", NF_GROUP_STATISTICS, NF_KIND_FLAG, scope, NF_FLAG_RST}, \
    {prefix "_fin_packets", NF_GROUP_STATISTICS, NF_KIND_FLAG, scope, NF_FLAG_FIN}

#define NF_APP(name, kind, member) \
    {name, NF_GROUP_DISSECTION, kind, 0, offsetof(struct nf_app_info, member)}

/* Column order is nfstream's NFlow.__slots__ order. */
const struct nf_field nf_flow_fields[] = {
    NF_FLOW_FIELD("id", NF_KIND_INT64, id),
    NF_FLOW_FIELD("expiration_id", NF_KIND_INT32, expiration_id),
    NF_ENDPOINT("src_ip", NF_KIND_IP, 0),
    NF_ENDPOINT("src_mac", NF_KIND_MAC, 0),
    NF_ENDPOINT("src_oui", NF_KIND_OUI, 0),
    NF_FLOW_FIELD("src_port", NF_KIND_UINT16, src_port),
    NF_ENDPOINT("dst_ip", NF_KIND_IP, 1),
    NF_ENDPOINT("dst_mac", NF_KIND_MAC, 1),
    NF_ENDPOINT("dst_oui", NF_KIND_OUI, 1),
    NF_FLOW_FIELD("dst_port", NF_KIND_UINT16, dst_port),
    NF_FLOW_FIELD("protocol", NF_KIND_UINT8, protocol),
    NF_FLOW_FIELD("ip_version", NF_KIND_UINT8, ip_version),
    NF_FLOW_FIELD("vlan_id", NF_KIND_UINT16, vlan_id),
    {"tunnel_id", NF_GROUP_TUNNEL, NF_KIND_UINT8, 0, offsetof(struct nf_flow, tunnel_id)},
    NF_COUNTERS("bidirectional", NF_BIDIRECTIONAL),
    NF_COUNTERS("src2dst", NF_SRC2DST),
    NF_COUNTERS("dst2src", NF_DST2SRC),
    NF_NANOSECOND_TIMES("bidirectional", NF_BIDIRECTIONAL),
    NF_NANOSECOND_TIMES("src2dst", NF_SRC2DST),
    NF_NANOSECOND_TIMES("dst2src", NF_DST2SRC),
    NF_SIZE_STATS("bidirectional", NF_BIDIRECTIONAL),
    NF_SIZE_STATS("src2dst", NF_SRC2DST),
    NF_SIZE_STATS("dst2src", NF_DST2SRC),
    NF_PIAT_STATS("bidirectional", NF_BIDIRECTIONAL),
    NF_PIAT_STATS("src2dst", NF_SRC2DST),
    NF_PIAT_STATS("dst2src", NF_DST2SRC),
    NF_FLAGS("bidirectional", NF_BIDIRECTIONAL),
    NF_FLAGS("src2dst", NF_SRC2DST),
    NF_FLAGS("dst2src", NF_DST2SRC),
    {"splt_direction", NF_GROUP_SPLT, NF_KIND_SPLT_DIRECTION, 0, 0},
    {"splt_ps", NF_GROUP_SPLT, NF_KIND_SPLT_PS, 0, 0},
    {"splt_piat_ms", NF_GROUP_SPLT, NF_KIND_SPLT_PIAT, 0, 0},
    NF_APP("application_name", NF_KIND_APP_STRING, application_name),
    NF_APP("application_category_name", NF_KIND_APP_STRING, category_name),
    NF_APP("application_is_guessed", NF_KIND_APP_INT, is_guessed),
    NF_APP("application_confidence", NF_KIND_APP_INT, confidence),
    NF_APP("requested_server_name", NF_KIND_APP_STRING, requested_server_name),
    NF_APP("client_fingerprint", NF_KIND_APP_STRING, client_fingerprint),
    NF_APP("server_fingerprint", NF_KIND_APP_STRING, server_fingerprint),
    NF_APP("user_agent", NF_KIND_APP_STRING, user_agent),
    NF_APP("content_type", NF_KIND_APP_STRING, content_type),
};

const size_t nf_flow_field_count = sizeof(nf_flow_fields) / sizeof(nf_flow_fields[0]);

/* Reads a fixed integer field of struct nf_flow. */
static int64_t nf_field_integer(const struct nf_field *field, const struct nf_flow *flow)
{
    const char *base = (const char *)flow + field->offset;

    switch (field->kind) {
    case NF_KIND_INT64:
        return *(const int64_t *)base;
    case NF_KIND_INT32:
        return *(const int32_t *)base;
    case NF_KIND_UINT16:
        return *(const uint16_t *)base;
    default:
        return *(const uint8_t *)base;
    }
}

/* Writes lowercase hex digits of `bytes` separated by ':' (no terminator). */
static size_t nf_field_hex_pairs(char *text, const uint8_t *bytes, size_t count)
{
    static const char digits[] = "0123456789abcdef";
    size_t length = 0;

    for (size_t i = 0; i < count; i++) {
        if (i > 0)
            text[length++] = ':';
        text[length++] = digits[bytes[i] >> 4];
        text[length++] = digits[bytes[i] & 0x0f];
    }
    return length;
}

/*
 * Writes an endpoint column: the address as glibc's inet_ntop formats it
 * (what nfstream reports), or the MAC or OUI in lowercase hex.
 */
static const char *nf_field_endpoint_text(const struct nf_field *field, const struct nf_flow *flow,
                                          char *text, size_t *length)
{
    const uint8_t *ip = field->scope == 0 ? flow->src_ip : flow->dst_ip;
    const uint8_t *mac = field->scope == 0 ? flow->src_mac : flow->dst_mac;

    if (field->kind != NF_KIND_IP) {
        *length = nf_field_hex_pairs(text, mac, field->kind == NF_KIND_OUI ? 3 : 6);
        return text;
    }
    if (inet_ntop(flow->ip_version == 4 ? AF_INET : AF_INET6, ip, text, NF_FIELD_TEXT_SIZE) == NULL)
        text[0] = '\0';
    *length = strlen(text);
    return text;
}

const char *nf_field_text(const struct nf_field *field, const struct nf_flow *flow, char *buffer,
                          size_t *length)
{
    const char *text;

    switch (field->kind) {
    case NF_KIND_IP:
    case NF_KIND_MAC:
    case NF_KIND_OUI:
        return nf_field_endpoint_text(field, flow, buffer, length);
    case NF_KIND_APP_STRING:
        if (flow->app == NULL || !flow->app->collected)
            return NULL;
        text = (const char *)flow->app + field->offset;
        *length = strlen(text);
        return text;
    default:
        return NULL;
    }
}

static PyObject *nf_field_endpoint(const struct nf_field *field, const struct nf_flow *flow)
{
    char text[NF_FIELD_TEXT_SIZE];
    size_t length;

    nf_field_endpoint_text(field, flow, text, &length);
    return PyUnicode_FromStringAndSize(text, (Py_ssize_t)length);
}

/* Sample standard deviation from a Welford M2 sum over `count` values. */
static double nf_field_stddev(double m2, uint64_t count)
{
    return count > 1 ? sqrt(m2 / (double)(count - 1)) : 0.0;
}

/* Computes a scope column: NF_NUMBER_UNSIGNED in *integer or NF_NUMBER_REAL in *real. */
static int nf_field_scope_number(const struct nf_field *field, const struct nf_flow *flow,
                                 uint64_t *integer, double *real)
{
    const struct nf_scope_stats *stats = &flow->scope[field->scope];
    /* Statistics columns exist only in runs with statistical_analysis, whose flows keep them. */
    static const struct nf_scope_statistics none;
    const struct nf_scope_statistics *statistics =
        flow->statistics != NULL ? &flow->statistics[field->scope] : &none;

    switch (field->kind) {
    case NF_KIND_MEAN_PS:
        *real = statistics->mean_ps;
        return NF_NUMBER_REAL;
    case NF_KIND_STDDEV_PS:
        *real = nf_field_stddev(statistics->m2_ps, stats->packets);
        return NF_NUMBER_REAL;
    case NF_KIND_MEAN_PIAT:
        *real = statistics->mean_piat_ms;
        return NF_NUMBER_REAL;
    case NF_KIND_STDDEV_PIAT:
        /* n packets give n - 1 intervals, so the sample divisor is n - 2. */
        *real = stats->packets > 2 ? nf_field_stddev(statistics->m2_piat_ms, stats->packets - 1)
                                   : 0.0;
        return NF_NUMBER_REAL;
    case NF_KIND_FIRST_SEEN:
        *integer = nf_ms(stats->first_seen_ns);
        break;
    case NF_KIND_LAST_SEEN:
        *integer = nf_ms(stats->last_seen_ns);
        break;
    case NF_KIND_DURATION:
        *integer = nf_ms(stats->last_seen_ns) - nf_ms(stats->first_seen_ns);
        break;
    case NF_KIND_FIRST_SEEN_NS:
        *integer = stats->first_seen_ns;
        break;
    case NF_KIND_LAST_SEEN_NS:
        *integer = stats->last_seen_ns;
        break;
    case NF_KIND_DURATION_NS:
        *integer = stats->last_seen_ns - stats->first_seen_ns;
        break;
    case NF_KIND_PACKETS:
        *integer = stats->packets;
        break;
    case NF_KIND_BYTES:
        *integer = stats->bytes;
        break;
    case NF_KIND_MIN_PS:
        *integer = statistics->min_ps;
        break;
    case NF_KIND_MAX_PS:
        *integer = statistics->max_ps;
        break;
    case NF_KIND_MIN_PIAT:
        *integer = statistics->min_piat_ms;
        break;
    case NF_KIND_MAX_PIAT:
        *integer = statistics->max_piat_ms;
        break;
    default:
        *integer = statistics->flag_packets[field->offset];
        break;
    }
    return NF_NUMBER_UNSIGNED;
}

int nf_field_number(const struct nf_field *field, const struct nf_flow *flow, uint64_t *integer,
                    double *real)
{
    switch (field->kind) {
    case NF_KIND_INT64:
    case NF_KIND_INT32:
    case NF_KIND_UINT16:
    case NF_KIND_UINT8:
        *integer = (uint64_t)nf_field_integer(field, flow);
        return NF_NUMBER_SIGNED;
    case NF_KIND_IP:
    case NF_KIND_MAC:
    case NF_KIND_OUI:
    case NF_KIND_SPLT_DIRECTION:
    case NF_KIND_SPLT_PS:
    case NF_KIND_SPLT_PIAT:
    case NF_KIND_APP_STRING:
    case NF_KIND_APP_INT:
        return NF_NUMBER_NONE;
    default:
        return nf_field_scope_number(field, flow, integer, real);
    }
}

/* Builds one SPLT list of `capacity` entries; the engine fills unused ones with -1. */
static PyObject *nf_field_splt_list(const struct nf_field *field, const struct nf_splt *splt)
{
    uint32_t capacity = splt == NULL ? 0 : splt->capacity;
    PyObject *list = PyList_New(capacity);

    for (uint32_t i = 0; list != NULL && i < capacity; i++) {
        long long entry;
        if (field->kind == NF_KIND_SPLT_DIRECTION)
            entry = splt->direction[i];
        else if (field->kind == NF_KIND_SPLT_PS)
            entry = splt->size[i];
        else
            entry = splt->piat_ms[i];
        PyObject *item = PyLong_FromLongLong(entry);
        if (item == NULL) {
            Py_CLEAR(list);
            break;
        }
        PyList_SET_ITEM(list, i, item);
    }
    return list;
}

/* Dissection fields stay None until the dissector collected them once. */
static PyObject *nf_field_app_value(const struct nf_field *field, const struct nf_flow *flow)
{
    const char *base;

    if (flow->app == NULL || !flow->app->collected)
        Py_RETURN_NONE;
    base = (const char *)flow->app + field->offset;
    if (field->kind == NF_KIND_APP_INT)
        return PyLong_FromLong(*(const int32_t *)base);
    return PyUnicode_DecodeUTF8(base, strlen(base), "replace");
}

PyObject *nf_field_value(const struct nf_field *field, const struct nf_flow *flow)
{
    uint64_t integer = 0;
    double real = 0.0;

    switch (nf_field_number(field, flow, &integer, &real)) {
    case NF_NUMBER_SIGNED:
        return PyLong_FromLongLong((long long)integer);
    case NF_NUMBER_UNSIGNED:
        return PyLong_FromUnsignedLongLong(integer);
    case NF_NUMBER_REAL:
        return PyFloat_FromDouble(real);
    default:
        break;
    }
    switch (field->kind) {
    case NF_KIND_IP:
    case NF_KIND_MAC:
    case NF_KIND_OUI:
        return nf_field_endpoint(field, flow);
    case NF_KIND_SPLT_DIRECTION:
    case NF_KIND_SPLT_PS:
    case NF_KIND_SPLT_PIAT:
        return nf_field_splt_list(field, flow->splt);
    default:
        return nf_field_app_value(field, flow);
    }
}

PyObject *nf_flow_all_column_names(void)
{
    PyObject *names = PyList_New((Py_ssize_t)nf_flow_field_count);

    for (size_t i = 0; names != NULL && i < nf_flow_field_count; i++) {
        PyObject *name = PyUnicode_InternFromString(nf_flow_fields[i].name);
        if (name == NULL) {
            Py_CLEAR(names);
            break;
        }
        PyList_SET_ITEM(names, (Py_ssize_t)i, name);
    }
    return names;
}

/* ------------------------------------------------------------------ */
/* Layout                                                              */
/* ------------------------------------------------------------------ */

/* Fills the column names and field indexes of the groups the layout enables. */
static int nf_layout_fill(struct nf_layout_object *layout)
{
    Py_ssize_t count = 0;
    PyObject *names = PyList_New(0);

    layout->field_indexes = PyMem_Calloc(nf_flow_field_count, sizeof(uint16_t));
    if (names == NULL || layout->field_indexes == NULL)
        goto error;
    for (size_t i = 0; i < nf_flow_field_count; i++) {
        if (!(nf_flow_fields[i].group & layout->groups))
            continue;
        PyObject *name = PyUnicode_InternFromString(nf_flow_fields[i].name);
        if (name == NULL || PyList_Append(names, name) < 0) {
            Py_XDECREF(name);
            goto error;
        }
        Py_DECREF(name);
        layout->field_indexes[count++] = (uint16_t)i;
    }
    layout->column_names = PyList_AsTuple(names);
    Py_DECREF(names);
    return layout->column_names == NULL ? -1 : 0;

error:
    Py_XDECREF(names);
    if (!PyErr_Occurred())
        PyErr_NoMemory();
    return -1;
}

PyObject *nf_layout_create(struct nf_module_state *state, unsigned groups, int accounting_mode,
                           PyObject *classic_names)
{
    struct nf_layout_object *layout = PyObject_GC_New(struct nf_layout_object,
                                                      state->layout_type);

    if (layout == NULL)
        return NULL;
    layout->groups = groups | NF_GROUP_ALWAYS;
    layout->accounting_mode = accounting_mode;
    layout->column_names = NULL;
    layout->field_indexes = NULL;
    layout->classic_names = Py_NewRef(classic_names);
    PyObject_GC_Track(layout);
    if (nf_layout_fill(layout) < 0) {
        Py_DECREF(layout);
        return NULL;
    }
    return (PyObject *)layout;
}

static int nf_layout_traverse(struct nf_layout_object *self, visitproc visit, void *arg)
{
    Py_VISIT(Py_TYPE(self));
    Py_VISIT(self->column_names);
    Py_VISIT(self->classic_names);
    return 0;
}

static int nf_layout_clear(struct nf_layout_object *self)
{
    Py_CLEAR(self->column_names);
    Py_CLEAR(self->classic_names);
    return 0;
}

static void nf_layout_dealloc(struct nf_layout_object *self)
{
    PyTypeObject *type = Py_TYPE(self);

    PyObject_GC_UnTrack(self);
    nf_layout_clear(self);
    PyMem_Free(self->field_indexes);
    type->tp_free(self);
    Py_DECREF(type);
}

static PyType_Slot nf_layout_slots[] = {
    {Py_tp_doc, "Columns enabled for the flows of one NFStreamer iteration."},
    {Py_tp_traverse, nf_layout_traverse},
    {Py_tp_clear, nf_layout_clear},
    {Py_tp_dealloc, nf_layout_dealloc},
    {0, NULL},
};

PyType_Spec nf_layout_spec = {
    .name = "nfstream._engine._FlowLayout",
    .basicsize = sizeof(struct nf_layout_object),
    .flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC
#ifdef Py_TPFLAGS_DISALLOW_INSTANTIATION
             | Py_TPFLAGS_DISALLOW_INSTANTIATION
#endif
    ,
    .slots = nf_layout_slots,
};
