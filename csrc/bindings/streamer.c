/*
 * streamer.c - NFStreamer: parameters, validation and entry points.
 *
 * Every parameter is described once in a table (name, kind, range, text
 * of what is valid). The constructor and the attribute setters both
 * validate through that table, in nfstream's order, so the first invalid
 * parameter raises. Type errors raise ParameterTypeError, which is both a
 * TypeError and a ValueError because nfstream raised ValueError for
 * everything. Range errors raise ValueError. Sources that are not
 * captures raise CaptureError. Iteration itself is in iterator.c.
 *
 * A source that is not a file but names a network interface (it has an
 * entry in /sys/class/net) selects live capture. The interface is opened
 * when iteration starts. promiscuous_mode, snapshot_length,
 * performance_report and socket_buffer_size only matter for live capture.
 * n_meters > 1 runs meters in threads for files and interfaces alike;
 * with plugins a capture file uses one meter, because hooks need the GIL.
 */
#include "bindings.h"

#include <limits.h>
#include <sys/stat.h>
#include <unistd.h>

enum nf_parameter_kind { NF_KIND_SOURCE, NF_KIND_BOOL, NF_KIND_FILTER, NF_KIND_INT, NF_KIND_PLUGINS };

struct nf_parameter {
    const char *name;
    enum nf_parameter_kind kind;
    long long minimum;
    long long maximum;
    long long default_value; /* for NF_KIND_BOOL and NF_KIND_INT; the others default to None */
    const char *valid;       /* what is valid, completes "<name> must be ..." */
};

enum nf_parameter_index {
    NF_SOURCE,
    NF_DECODE_TUNNELS,
    NF_BPF_FILTER,
    NF_PROMISCUOUS_MODE,
    NF_SNAPSHOT_LENGTH,
    NF_IDLE_TIMEOUT,
    NF_ACTIVE_TIMEOUT,
    NF_ACCOUNTING_MODE,
    NF_UDPS,
    NF_N_DISSECTIONS,
    NF_STATISTICAL_ANALYSIS,
    NF_SPLT_ANALYSIS,
    NF_N_METERS,
    NF_MAX_NFLOWS,
    NF_PERFORMANCE_REPORT,
    NF_SYSTEM_VISIBILITY_MODE,
    NF_SYSTEM_VISIBILITY_POLL_MS,
    NF_SOCKET_BUFFER_SIZE,
    NF_PLUGINS,
    NF_NANOSECOND_TIMES,
    NF_EXTENDED_DECODING,
    NF_PARAMETER_COUNT
};

/* Timeouts are seconds that the engine multiplies by 1000 in a uint64. */
#define NF_MAX_TIMEOUT_S 18446744073709551LL
#define NF_MAX_INT32 2147483647LL

/* Validation order is this order, which is nfstream's (plugins= comes last). */
static const struct nf_parameter nf_parameters[NF_PARAMETER_COUNT] = {
    {"source", NF_KIND_SOURCE, 0, 0, 0,
     "a capture file path, a non-empty list of capture file paths, or an interface name"},
    {"decode_tunnels", NF_KIND_BOOL, 0, 1, 1, "True or False"},
    {"bpf_filter", NF_KIND_FILTER, 0, 0, 0, "None or a BPF filter string"},
    {"promiscuous_mode", NF_KIND_BOOL, 0, 1, 1, "True or False"},
    {"snapshot_length", NF_KIND_INT, 1, NF_MAX_INT32, 1536,
     "an integer in [1, 2147483647] (bytes)"},
    {"idle_timeout", NF_KIND_INT, 0, NF_MAX_TIMEOUT_S, 120,
     "an integer number of seconds in [0, 18446744073709551]"},
    {"active_timeout", NF_KIND_INT, 0, NF_MAX_TIMEOUT_S, 1800,
     "an integer number of seconds in [0, 18446744073709551]"},
    {"accounting_mode", NF_KIND_INT, 0, 3, 0,
     "0 (raw size), 1 (IP size), 2 (transport size) or 3 (payload size)"},
    {"udps", NF_KIND_PLUGINS, 0, 0, 0, "None, an NFPlugin or an iterable of NFPlugin objects"},
    {"n_dissections", NF_KIND_INT, 0, 255, 20, "an integer in [0, 255] (packets)"},
    {"statistical_analysis", NF_KIND_BOOL, 0, 1, 0, "True or False"},
    {"splt_analysis", NF_KIND_INT, 0, 65535, 0, "an integer in [0, 65535] (packets)"},
    {"n_meters", NF_KIND_INT, 0, 256, 0, "an integer in [0, 256] (0 means one meter)"},
    {"max_nflows", NF_KIND_INT, 0, LLONG_MAX, 0, "an integer >= 0 (0 for no limit)"},
    {"performance_report", NF_KIND_INT, 0, LLONG_MAX, 0,
     "an integer >= 0 (seconds between reports, 0 to disable)"},
    {"system_visibility_mode", NF_KIND_INT, 0, 1, 0, "0 (off) or 1 (process names)"},
    {"system_visibility_poll_ms", NF_KIND_INT, 0, LLONG_MAX, 100,
     "an integer >= 0 (milliseconds)"},
    {"socket_buffer_size", NF_KIND_INT, 0, NF_MAX_INT32, 0,
     "an integer in [0, 2147483647] (bytes, 0 for the libpcap default)"},
    {"plugins", NF_KIND_PLUGINS, 0, 0, 0, "None, an NFPlugin or an iterable of NFPlugin objects"},
    {"nanosecond_times", NF_KIND_BOOL, 0, 1, 0, "True or False"},
    {"extended_decoding", NF_KIND_BOOL, 0, 1, 0, "True or False"},
};

struct nf_streamer_object {
    PyObject_HEAD
    PyObject *values[NF_PARAMETER_COUNT]; /* validated; source is str or tuple of str */
    struct nf_stats stats;                /* of the most recent iteration */
    int has_stats;
    int live;                             /* the source is a network interface */
};

static PyGetSetDef nf_streamer_getset[NF_PARAMETER_COUNT + 1];

/* ------------------------------------------------------------------ */
/* Sources                                                             */
/* ------------------------------------------------------------------ */

static int nf_path_is_file(PyObject *path)
{
    PyObject *encoded = PyUnicode_EncodeFSDefault(path);
    struct stat info;
    int is_file;

    if (encoded == NULL)
        return -1;
    is_file = stat(PyBytes_AS_STRING(encoded), &info) == 0 && S_ISREG(info.st_mode);
    Py_DECREF(encoded);
    return is_file;
}

/* Names what an existing path that is not a regular file is, or returns NULL. */
static const char *nf_path_other_kind(PyObject *path)
{
    PyObject *encoded = PyUnicode_EncodeFSDefault(path);
    struct stat info;
    int found;

    if (encoded == NULL) {
        PyErr_Clear();
        return NULL;
    }
    found = stat(PyBytes_AS_STRING(encoded), &info) == 0;
    Py_DECREF(encoded);
    if (!found || S_ISREG(info.st_mode))
        return NULL;
    if (S_ISDIR(info.st_mode))
        return "a directory";
    if (S_ISFIFO(info.st_mode))
        return "a pipe";
    if (S_ISCHR(info.st_mode) || S_ISBLK(info.st_mode))
        return "a device";
    return "not a regular file";
}

/* Raises ValueError for a path that exists but is no file, naming what it is. Returns 1 if raised. */
static int nf_reject_other_kind(PyObject *path, const char *item)
{
    const char *kind = nf_path_other_kind(path);

    if (kind == NULL)
        return 0;
    PyErr_Format(PyExc_ValueError,
                 "source%s %R is %s, not a capture file; nfstream reads capture files (save a "
                 "stream to a file first) and network interfaces",
                 item, path, kind);
    return 1;
}

static int nf_name_is_interface(PyObject *name)
{
    const char *text = PyUnicode_AsUTF8(name);
    char path[PATH_MAX];

    if (text == NULL || text[0] == '\0' || strchr(text, '/') != NULL)
        return 0;
    snprintf(path, sizeof(path), "/sys/class/net/%s", text);
    return access(path, F_OK) == 0;
}

/*
 * Checks each capture with nf_engine_check_file, which also compiles the
 * filter. `extended` (True, False or NULL for the default) decides whether
 * the LINUX_SLL2 and LOOP link types are accepted.
 */
static int nf_check_captures(struct nf_module_state *state, PyObject *source, PyObject *filter,
                             PyObject *extended)
{
    int decode_flags = extended == Py_True ? NF_DECODE_FLAG_EXTENDED : 0;
    PyObject *paths = PyTuple_Check(source) ? Py_NewRef(source) : PyTuple_Pack(1, source);
    const char *filter_text = filter == NULL || filter == Py_None ? NULL : PyUnicode_AsUTF8(filter);
    char errbuf[NF_ERRBUF_SIZE];
    int status = 0;

    if (paths == NULL || (filter != NULL && filter != Py_None && filter_text == NULL)) {
        Py_XDECREF(paths);
        return -1;
    }
    for (Py_ssize_t i = 0; status == 0 && i < PyTuple_GET_SIZE(paths); i++) {
        PyObject *encoded = PyUnicode_EncodeFSDefault(PyTuple_GET_ITEM(paths, i));
        if (encoded == NULL) {
            status = -1;
            break;
        }
        errbuf[0] = '\0';
        int code =
            nf_engine_check_file(PyBytes_AS_STRING(encoded), filter_text, decode_flags, errbuf);
        Py_DECREF(encoded);
        if (code < 0) {
            nf_module_raise(state, code, errbuf);
            status = -1;
        }
    }
    Py_DECREF(paths);
    return status;
}

/* Checks an interface name and compiles the filter, without opening the interface. */
static int nf_check_interface(struct nf_module_state *state, PyObject *name, PyObject *filter)
{
    const char *filter_text = filter == NULL || filter == Py_None ? NULL : PyUnicode_AsUTF8(filter);
    const char *text = PyUnicode_AsUTF8(name);
    char errbuf[NF_ERRBUF_SIZE] = "";
    int code;

    if (text == NULL || (filter != NULL && filter != Py_None && filter_text == NULL))
        return -1;
    code = nf_engine_check_interface(text, filter_text, errbuf);
    if (code < 0) {
        nf_module_raise(state, code, errbuf);
        return -1;
    }
    return 0;
}

/* Checks a normalized source: capture files, or an interface when `live` is set. */
static int nf_check_source(struct nf_module_state *state, PyObject *source, int live,
                           PyObject *filter, PyObject *extended)
{
    if (live)
        return nf_check_interface(state, source, filter);
    return nf_check_captures(state, source, filter, extended);
}

/* Returns os.fspath(item) as a str (bytes paths decoded), or NULL with an exception. */
static PyObject *nf_source_path(struct nf_module_state *state, PyObject *item, Py_ssize_t index)
{
    PyObject *path = PyOS_FSPath(item);

    if (path == NULL) {
        PyErr_Clear();
        if (index < 0)
            return PyErr_Format(state->parameter_type_error, "source must be %s, got %R",
                                nf_parameters[NF_SOURCE].valid, item);
        return PyErr_Format(state->parameter_type_error,
                            "source item %zd must be a str or os.PathLike path, got %R", index,
                            item);
    }
    if (PyBytes_Check(path))
        Py_SETREF(path, PyUnicode_DecodeFSDefaultAndSize(PyBytes_AS_STRING(path),
                                                         PyBytes_GET_SIZE(path)));
    return path;
}

static PyObject *nf_source_from_list(struct nf_module_state *state, PyObject *value)
{
    Py_ssize_t count = PySequence_Size(value);
    PyObject *paths;

    if (count == 0) {
        PyErr_SetString(PyExc_ValueError,
                        "source must be a non-empty list of capture file paths, got []");
        return NULL;
    }
    paths = count < 0 ? NULL : PyTuple_New(count);
    for (Py_ssize_t i = 0; paths != NULL && i < count; i++) {
        PyObject *item = PySequence_GetItem(value, i);
        PyObject *path = item == NULL ? NULL : nf_source_path(state, item, i);
        Py_XDECREF(item);
        int is_file = path == NULL ? -1 : nf_path_is_file(path);
        if (is_file == 0 && !nf_reject_other_kind(path, " item"))
            PyErr_Format(PyExc_ValueError,
                         "source item %zd (%R) is not an existing capture file", i, path);
        if (is_file <= 0) {
            Py_XDECREF(path);
            Py_CLEAR(paths);
            break;
        }
        PyTuple_SET_ITEM(paths, i, path);
    }
    return paths;
}

/*
 * Validates a source: returns a new str or tuple of str that the engine
 * can open, and sets *live when the str names a network interface.
 */
static PyObject *nf_source_normalize(struct nf_module_state *state, PyObject *value, int *live)
{
    PyObject *path;
    int is_file;

    *live = 0;
    if (PyList_Check(value) || PyTuple_Check(value))
        return nf_source_from_list(state, value);
    path = nf_source_path(state, value, -1);
    is_file = path == NULL ? -1 : nf_path_is_file(path);
    if (is_file != 0)
        return is_file < 0 ? (Py_XDECREF(path), NULL) : path;
    if (nf_name_is_interface(path)) {
        *live = 1;
        return path;
    }
    if (nf_reject_other_kind(path, "")) {
        Py_DECREF(path);
        return NULL;
    }
    PyErr_Format(PyExc_ValueError,
                 "source %R is neither an existing capture file nor a network interface "
                 "(list the interfaces with 'ip link')",
                 path);
    Py_DECREF(path);
    return NULL;
}

/* ------------------------------------------------------------------ */
/* Validation                                                          */
/* ------------------------------------------------------------------ */

static PyObject *nf_parameter_default(const struct nf_parameter *parameter)
{
    if (parameter->kind == NF_KIND_BOOL)
        return PyBool_FromLong((long)parameter->default_value);
    if (parameter->kind == NF_KIND_INT)
        return PyLong_FromLongLong(parameter->default_value);
    Py_RETURN_NONE;
}

static int nf_parameter_invalid(PyObject *type, const struct nf_parameter *parameter,
                                PyObject *value)
{
    PyErr_Format(type, "%s must be %s, got %R", parameter->name, parameter->valid, value);
    return -1;
}

/* Integers (bool included, as in nfstream) within the parameter's range. */
static int nf_check_integer(struct nf_module_state *state, const struct nf_parameter *parameter,
                            PyObject *value)
{
    int overflow = 0;
    long long number;

    if (!PyLong_Check(value))
        return nf_parameter_invalid(state->parameter_type_error, parameter, value);
    number = PyLong_AsLongLongAndOverflow(value, &overflow);
    if (number == -1 && PyErr_Occurred())
        return -1;
    if (overflow != 0 || number < parameter->minimum || number > parameter->maximum)
        return nf_parameter_invalid(PyExc_ValueError, parameter, value);
    return 0;
}

/* Classic plugin names become flow attributes, so they must be unique and not built-in. */
static int nf_check_plugin_names(struct nf_module_state *state, PyObject *plugins)
{
    PyObject *taken = nf_flow_all_column_names(), *name = NULL;
    const char *reserved[] = {"packets", "udps", "keys", "values"};
    int status = taken == NULL ? -1 : 0;

    for (size_t i = 0; status == 0 && i < sizeof(reserved) / sizeof(reserved[0]); i++) {
        PyObject *word = PyUnicode_FromString(reserved[i]);
        status = word == NULL ? -1 : PyList_Append(taken, word);
        Py_XDECREF(word);
    }
    for (Py_ssize_t i = 0; status == 0 && i < PyTuple_GET_SIZE(plugins); i++) {
        name = nf_plugin_name(state, PyTuple_GET_ITEM(plugins, i));
        int clash = name == NULL ? -1 : PySequence_Contains(taken, name);
        if (clash > 0)
            PyErr_Format(PyExc_ValueError,
                         "plugins item %zd has the name %R, which another plugin or a built-in "
                         "NFlow attribute already uses; give it a unique name",
                         i, name);
        if (clash != 0 || PyList_Append(taken, name) < 0)
            status = -1;
        Py_CLEAR(name);
    }
    Py_XDECREF(taken);
    return status;
}

static PyObject *nf_validate_plugins(struct nf_module_state *state, int index, PyObject *value)
{
    PyObject *plugins = nf_plugin_collect(state, nf_parameters[index].name, value);

    if (plugins != NULL && index == NF_PLUGINS && nf_check_plugin_names(state, plugins) < 0)
        Py_CLEAR(plugins);
    return plugins;
}

/* Offline captures have no process information, so mode 1 falls back to 0. */
static PyObject *nf_validate_visibility(PyObject *value)
{
    if (PyObject_RichCompareBool(value, Py_False, Py_EQ) == 1)
        return Py_NewRef(value);
    if (PyErr_WarnEx(PyExc_UserWarning,
                     "system_visibility_mode=1 needs live capture; it is set to 0 for "
                     "capture files",
                     1) < 0)
        return NULL;
    return PyLong_FromLong(0);
}

/* Returns the value to store for a parameter (new reference), or NULL with an exception. */
static PyObject *nf_validate(struct nf_streamer_object *self, struct nf_module_state *state,
                             int index, PyObject *value)
{
    const struct nf_parameter *parameter = &nf_parameters[index];
    PyObject *source;
    int live;

    switch (parameter->kind) {
    case NF_KIND_SOURCE:
        source = nf_source_normalize(state, value, &live);
        if (source != NULL && nf_check_source(state, source, live, self->values[NF_BPF_FILTER],
                                              self->values[NF_EXTENDED_DECODING]) < 0)
            Py_CLEAR(source);
        /* The caller stores every source returned here. */
        if (source != NULL)
            self->live = live;
        return source;
    case NF_KIND_BOOL:
        if (!PyBool_Check(value))
            return nf_parameter_invalid(state->parameter_type_error, parameter, value), NULL;
        if (index == NF_EXTENDED_DECODING && self->values[NF_SOURCE] != NULL &&
            nf_check_source(state, self->values[NF_SOURCE], self->live,
                            self->values[NF_BPF_FILTER], value) < 0)
            return NULL;
        return Py_NewRef(value);
    case NF_KIND_FILTER:
        if (value != Py_None && !PyUnicode_Check(value))
            return nf_parameter_invalid(state->parameter_type_error, parameter, value), NULL;
        if (self->values[NF_SOURCE] != NULL &&
            nf_check_source(state, self->values[NF_SOURCE], self->live, value,
                            self->values[NF_EXTENDED_DECODING]) < 0)
            return NULL;
        return Py_NewRef(value);
    case NF_KIND_PLUGINS:
        return nf_validate_plugins(state, index, value);
    default:
        if (nf_check_integer(state, parameter, value) < 0)
            return NULL;
        if (index == NF_SYSTEM_VISIBILITY_MODE)
            return nf_validate_visibility(value);
        return Py_NewRef(value);
    }
}

static int nf_streamer_set(struct nf_streamer_object *self, int index, PyObject *value)
{
    struct nf_module_state *state = nf_module_state_of_type(Py_TYPE(self));
    PyObject *stored;

    if (state == NULL)
        return -1;
    stored = nf_validate(self, state, index, value);
    if (stored == NULL)
        return -1;
    Py_XSETREF(self->values[index], stored);
    return 0;
}

/* ------------------------------------------------------------------ */
/* Attributes                                                          */
/* ------------------------------------------------------------------ */

static PyObject *nf_streamer_get_parameter(struct nf_streamer_object *self, void *closure)
{
    int index = (int)(intptr_t)closure;
    PyObject *value = self->values[index];

    if (value == NULL)
        return nf_parameter_default(&nf_parameters[index]);
    if (index == NF_SOURCE && PyTuple_Check(value))
        return PySequence_List(value);
    if (nf_parameters[index].kind == NF_KIND_PLUGINS && PyTuple_GET_SIZE(value) == 0)
        Py_RETURN_NONE;
    return Py_NewRef(value);
}

static int nf_streamer_set_parameter(struct nf_streamer_object *self, PyObject *value,
                                     void *closure)
{
    int index = (int)(intptr_t)closure;

    if (value == NULL) {
        PyErr_Format(PyExc_AttributeError, "cannot delete the NFStreamer parameter %s",
                     nf_parameters[index].name);
        return -1;
    }
    return nf_streamer_set(self, index, value);
}

void nf_streamer_prepare_spec(void)
{
    if (nf_streamer_getset[0].name != NULL)
        return;
    for (int i = 0; i < NF_PARAMETER_COUNT; i++)
        nf_streamer_getset[i] = (PyGetSetDef){nf_parameters[i].name,
                                              (getter)nf_streamer_get_parameter,
                                              (setter)nf_streamer_set_parameter, NULL,
                                              (void *)(intptr_t)i};
}

void nf_streamer_store_stats(PyObject *streamer, const struct nf_stats *stats)
{
    struct nf_streamer_object *self = (struct nf_streamer_object *)streamer;

    self->stats = *stats;
    self->has_stats = 1;
}

/* ------------------------------------------------------------------ */
/* Construction and methods                                            */
/* ------------------------------------------------------------------ */

static int nf_streamer_init(struct nf_streamer_object *self, PyObject *args, PyObject *kwargs)
{
    static char *keywords[NF_PARAMETER_COUNT + 1];
    PyObject *given[NF_PARAMETER_COUNT] = {NULL};

    for (int i = 0; i < NF_PARAMETER_COUNT; i++)
        keywords[i] = (char *)nf_parameters[i].name;
    if (!PyArg_ParseTupleAndKeywords(
            args, kwargs, "|OOOOOOOOOOOOOOOOOOO$OO:NFStreamer", keywords, &given[0], &given[1],
            &given[2], &given[3], &given[4], &given[5], &given[6], &given[7], &given[8],
            &given[9], &given[10], &given[11], &given[12], &given[13], &given[14], &given[15],
            &given[16], &given[17], &given[18], &given[19], &given[20]))
        return -1;
    /*
     * The source check accepts LINUX_SLL2 and LOOP captures only with
     * extended decoding, so that value is stored before the source is
     * validated. The loop below still validates it in table order.
     */
    Py_CLEAR(self->values[NF_EXTENDED_DECODING]);
    if (given[NF_EXTENDED_DECODING] != NULL && PyBool_Check(given[NF_EXTENDED_DECODING]))
        self->values[NF_EXTENDED_DECODING] = Py_NewRef(given[NF_EXTENDED_DECODING]);
    for (int i = 0; i < NF_PARAMETER_COUNT; i++) {
        PyObject *value = given[i] != NULL ? Py_NewRef(given[i])
                                           : nf_parameter_default(&nf_parameters[i]);
        int status = value == NULL ? -1 : nf_streamer_set(self, i, value);
        Py_XDECREF(value);
        if (status < 0)
            return -1;
    }
    return 0;
}

static long long nf_streamer_integer(struct nf_streamer_object *self, int index)
{
    PyObject *value = self->values[index];

    return value == NULL ? nf_parameters[index].default_value : PyLong_AsLongLong(value);
}

/* Reads the validated parameters; fails only on a streamer whose __init__ never ran. */
static int nf_streamer_options(struct nf_streamer_object *self, struct nf_run_options *options)
{
    if (self->values[NF_SOURCE] == NULL || self->values[NF_UDPS] == NULL ||
        self->values[NF_PLUGINS] == NULL || self->values[NF_BPF_FILTER] == NULL) {
        PyErr_SetString(PyExc_ValueError,
                        "NFStreamer has no source; was NFStreamer.__init__ called?");
        return -1;
    }
    options->source = self->values[NF_SOURCE];
    options->bpf_filter = self->values[NF_BPF_FILTER];
    options->udps = self->values[NF_UDPS];
    options->plugins = self->values[NF_PLUGINS];
    options->decode_tunnels = (int)nf_streamer_integer(self, NF_DECODE_TUNNELS);
    options->statistical_analysis = (int)nf_streamer_integer(self, NF_STATISTICAL_ANALYSIS);
    options->nanosecond_times = (int)nf_streamer_integer(self, NF_NANOSECOND_TIMES);
    options->extended_decoding = (int)nf_streamer_integer(self, NF_EXTENDED_DECODING);
    options->accounting_mode = (int)nf_streamer_integer(self, NF_ACCOUNTING_MODE);
    options->idle_timeout_s = (uint64_t)nf_streamer_integer(self, NF_IDLE_TIMEOUT);
    options->active_timeout_s = (uint64_t)nf_streamer_integer(self, NF_ACTIVE_TIMEOUT);
    options->n_dissections = (unsigned)nf_streamer_integer(self, NF_N_DISSECTIONS);
    options->splt_analysis = (unsigned)nf_streamer_integer(self, NF_SPLT_ANALYSIS);
    options->max_nflows = nf_streamer_integer(self, NF_MAX_NFLOWS);
    options->live = self->live;
    options->promiscuous_mode = (int)nf_streamer_integer(self, NF_PROMISCUOUS_MODE);
    options->snapshot_length = (int)nf_streamer_integer(self, NF_SNAPSHOT_LENGTH);
    options->socket_buffer_size = (int)nf_streamer_integer(self, NF_SOCKET_BUFFER_SIZE);
    options->n_meters = (unsigned)nf_streamer_integer(self, NF_N_METERS);
    options->performance_report = nf_streamer_integer(self, NF_PERFORMANCE_REPORT);
    return 0;
}

static PyObject *nf_streamer_iter(struct nf_streamer_object *self)
{
    struct nf_module_state *state = nf_module_state_of_type(Py_TYPE(self));
    struct nf_run_options options;

    if (state == NULL || nf_streamer_options(self, &options) < 0)
        return NULL;
    return nf_iterator_create(state, (PyObject *)self, &options);
}

static PyObject *nf_streamer_columns(struct nf_streamer_object *self, PyObject *unused)
{
    struct nf_module_state *state = nf_module_state_of_type(Py_TYPE(self));
    struct nf_run_options options;

    (void)unused;
    if (state == NULL || nf_streamer_options(self, &options) < 0)
        return NULL;
    return nf_columns_collect(state, (PyObject *)self, &options);
}

static PyObject *nf_streamer_core_columns(struct nf_streamer_object *self, PyObject *unused)
{
    struct nf_run_options options;
    PyObject *columns = PyList_New(0);
    unsigned groups;

    (void)unused;
    if (columns == NULL || nf_streamer_options(self, &options) < 0) {
        Py_XDECREF(columns);
        return NULL;
    }
    groups = nf_iterator_groups(&options);
    for (size_t i = 0; i < nf_flow_field_count; i++) {
        if (!(nf_flow_fields[i].group & groups))
            continue;
        PyObject *name = PyUnicode_FromString(nf_flow_fields[i].name);
        if (name == NULL || PyList_Append(columns, name) < 0) {
            Py_XDECREF(name);
            Py_DECREF(columns);
            return NULL;
        }
        Py_DECREF(name);
    }
    return columns;
}

static int nf_stats_set(PyObject *dict, const char *key, uint64_t count)
{
    PyObject *value = PyLong_FromUnsignedLongLong(count);
    int status = value == NULL ? -1 : PyDict_SetItemString(dict, key, value);

    Py_XDECREF(value);
    return status;
}

static PyObject *nf_streamer_stats(struct nf_streamer_object *self, PyObject *unused)
{
    const struct nf_stats *stats = &self->stats;
    PyObject *result = PyDict_New(), *reasons = PyDict_New();
    int status = result == NULL || reasons == NULL ? -1 : 0;

    (void)unused;
    status = status < 0 ? -1 : nf_stats_set(result, "packets_read", stats->packets_read);
    status = status < 0 ? -1 : nf_stats_set(result, "packets_processed", stats->packets_processed);
    status = status < 0 ? -1 : nf_stats_set(result, "packets_ignored", stats->packets_ignored);
    for (int reason = NF_DROP_NONE + 1; status == 0 && reason < NF_DROP_REASON_COUNT; reason++)
        status = nf_stats_set(reasons, nf_drop_reason_name(reason), stats->dropped[reason]);
    status = status < 0 ? -1 : PyDict_SetItemString(result, "ignored_by_reason", reasons);
    status = status < 0 ? -1 : nf_stats_set(result, "flows_created", stats->flows_created);
    status = status < 0 ? -1 : nf_stats_set(result, "flows_expired", stats->flows_expired);
    status = status < 0 ? -1 : nf_stats_set(result, "flows_active", stats->flows_active);
    status = status < 0 ? -1 : nf_stats_set(result, "files_truncated", stats->files_truncated);
    status = status < 0 ? -1
                        : nf_stats_set(result, "flow_allocation_failures",
                                       stats->flow_allocation_failures);
    status = status < 0 ? -1
                        : nf_stats_set(result, "packets_dropped_by_kernel",
                                       stats->packets_dropped_kernel);
    status = status < 0 ? -1
                        : nf_stats_set(result, "packets_dropped_by_interface",
                                       stats->packets_dropped_interface);
    Py_XDECREF(reasons);
    if (status < 0)
        Py_CLEAR(result);
    return result;
}

/* Calls nfstream._export.<function>(self, *args, **kwargs). */
static PyObject *nf_streamer_export(PyObject *self, const char *function, PyObject *args,
                                    PyObject *kwargs)
{
    PyObject *module = PyImport_ImportModule("nfstream._export");
    PyObject *callable = module == NULL ? NULL : PyObject_GetAttrString(module, function);
    PyObject *prefix = PyTuple_Pack(1, self), *all_args = NULL, *result = NULL;

    if (callable != NULL && prefix != NULL)
        all_args = PySequence_Concat(prefix, args);
    if (all_args != NULL)
        result = PyObject_Call(callable, all_args, kwargs);
    Py_XDECREF(module);
    Py_XDECREF(callable);
    Py_XDECREF(prefix);
    Py_XDECREF(all_args);
    return result;
}

static PyObject *nf_streamer_to_pandas(PyObject *self, PyObject *args, PyObject *kwargs)
{
    return nf_streamer_export(self, "to_pandas", args, kwargs);
}

static PyObject *nf_streamer_to_csv(PyObject *self, PyObject *args, PyObject *kwargs)
{
    return nf_streamer_export(self, "to_csv", args, kwargs);
}

static int nf_streamer_traverse(struct nf_streamer_object *self, visitproc visit, void *arg)
{
    Py_VISIT(Py_TYPE(self));
    for (int i = 0; i < NF_PARAMETER_COUNT; i++)
        Py_VISIT(self->values[i]);
    return 0;
}

static int nf_streamer_clear(struct nf_streamer_object *self)
{
    for (int i = 0; i < NF_PARAMETER_COUNT; i++)
        Py_CLEAR(self->values[i]);
    return 0;
}

static void nf_streamer_dealloc(struct nf_streamer_object *self)
{
    PyTypeObject *type = Py_TYPE(self);

    PyObject_GC_UnTrack(self);
    nf_streamer_clear(self);
    type->tp_free(self);
    Py_DECREF(type);
}

static PyMethodDef nf_streamer_methods[] = {
    {"to_pandas", (PyCFunction)(void (*)(void))nf_streamer_to_pandas,
     METH_VARARGS | METH_KEYWORDS,
     "to_pandas(columns_to_anonymize=(), anonymize_key=None)\n--\n\n"
     "Read every flow into a pandas DataFrame (see nfstream._export.to_pandas)."},
    {"to_csv", (PyCFunction)(void (*)(void))nf_streamer_to_csv, METH_VARARGS | METH_KEYWORDS,
     "to_csv(path=None, columns_to_anonymize=(), flows_per_file=0, rotate_files=0, "
     "anonymize_key=None)\n--\n\n"
     "Write every flow to CSV and return the number of flows written."},
    {"_columns", (PyCFunction)nf_streamer_columns, METH_NOARGS,
     "_columns()\n--\n\nRun once without plugins and return (names, [(code, values)], count), "
     "or None when plugins are set (see nfstream._export.to_pandas)."},
    {"_core_columns", (PyCFunction)nf_streamer_core_columns, METH_NOARGS,
     "_core_columns()\n--\n\nReturn the built-in column names of the current configuration."},
    {"stats", (PyCFunction)nf_streamer_stats, METH_NOARGS,
     "stats()\n--\n\nReturn packet and flow counters of the most recent iteration.\n\n"
     "During live capture the counters are refreshed whenever the iterator returns or\n"
     "wakes up (at least every 0.25 s); packets_dropped_by_kernel and\n"
     "packets_dropped_by_interface are libpcap's ps_drop and ps_ifdrop."},
    {NULL, NULL, 0, NULL},
};

static PyType_Slot nf_streamer_slots[] = {
    {Py_tp_doc, "NFStreamer(source=None, decode_tunnels=True, bpf_filter=None, "
                "promiscuous_mode=True, snapshot_length=1536, idle_timeout=120, "
                "active_timeout=1800, accounting_mode=0, udps=None, n_dissections=20, "
                "statistical_analysis=False, splt_analysis=0, n_meters=0, max_nflows=0, "
                "performance_report=0, system_visibility_mode=0, "
                "system_visibility_poll_ms=100, socket_buffer_size=0, plugins=None, "
                "nanosecond_times=False, extended_decoding=False)\n--\n\n"
                "Flow meter over capture files or a network interface; iterate it to get NFlow\n"
                "objects.\n\n"
                "Live capture (source is an interface name) runs until the loop ends, max_nflows\n"
                "flows were returned, or Ctrl-C. On Ctrl-C the iterator closes the interface,\n"
                "returns every cached flow (expiration_id 0, as at the end of a file) and then\n"
                "raises KeyboardInterrupt; a second Ctrl-C raises at once."},
    {Py_tp_init, nf_streamer_init},
    {Py_tp_new, PyType_GenericNew},
    {Py_tp_iter, nf_streamer_iter},
    {Py_tp_traverse, nf_streamer_traverse},
    {Py_tp_clear, nf_streamer_clear},
    {Py_tp_dealloc, nf_streamer_dealloc},
    {Py_tp_methods, nf_streamer_methods},
    {Py_tp_getset, nf_streamer_getset},
    {0, NULL},
};

PyType_Spec nf_streamer_spec = {
    .name = "nfstream._engine.NFStreamer",
    .basicsize = sizeof(struct nf_streamer_object),
    .flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE | Py_TPFLAGS_HAVE_GC,
    .slots = nf_streamer_slots,
};
