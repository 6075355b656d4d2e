/*
 * plugin.c - NFPlugin and the engine hooks that call plugins.
 *
 * NFPlugin is the base class of user plugins, and its hook methods do
 * nothing. When an iteration starts, the bindings look up which hooks
 * each plugin overrides and install engine hooks that call only those. Without
 * plugins no hook is installed and no Python code runs per packet.
 *
 * Two plugin styles are supported. udps= plugins (nfstream 6) write
 * flow.udps.<name>. plugins= plugins (the classic API) own the attribute
 * flow.<name>, set from init_function(packet) (or 0) when the flow is
 * created and deleted at expiry when the plugin is volatile.
 *
 * A hook that raises stops the engine: the hook returns -1 and keeps the
 * exception, with its traceback, in the iterator, which raises it once
 * the engine is freed.
 */
#include "bindings.h"

#include <stddef.h>
#include <structmember.h>

struct nf_plugin_object {
    PyObject_HEAD
    PyObject *dict;
};

/* ------------------------------------------------------------------ */
/* NFPlugin type                                                       */
/* ------------------------------------------------------------------ */

static int nf_plugin_set_options(PyObject *self, PyObject *name, PyObject *is_volatile,
                                 PyObject *init_function)
{
    PyObject *default_name = NULL;
    int status;

    if (name == Py_None) {
        default_name = PyObject_GetAttrString((PyObject *)Py_TYPE(self), "__name__");
        if (default_name == NULL)
            return -1;
        name = default_name;
    }
    status = PyObject_SetAttrString(self, "name", name);
    Py_XDECREF(default_name);
    if (status < 0 || PyObject_SetAttrString(self, "volatile", is_volatile) < 0)
        return -1;
    return PyObject_SetAttrString(self, "init_function", init_function);
}

/* NFPlugin(name=None, volatile=False, init_function=None, **kwargs) */
static int nf_plugin_init(PyObject *self, PyObject *args, PyObject *kwargs)
{
    static const char *const option_names[] = {"name", "volatile", "init_function"};
    PyObject *options[3] = {Py_None, Py_False, Py_None};
    Py_ssize_t given = PyTuple_GET_SIZE(args), position = 0;
    PyObject *key, *value;

    if (given > 3) {
        PyErr_Format(PyExc_TypeError,
                     "NFPlugin() takes at most 3 positional arguments (%zd given)", given);
        return -1;
    }
    for (Py_ssize_t i = 0; i < given; i++)
        options[i] = PyTuple_GET_ITEM(args, i);
    while (kwargs != NULL && PyDict_Next(kwargs, &position, &key, &value)) {
        Py_ssize_t index = -1;
        for (Py_ssize_t i = 0; i < 3; i++)
            if (PyUnicode_CompareWithASCIIString(key, option_names[i]) == 0)
                index = i;
        if (index >= 0 && index < given) {
            PyErr_Format(PyExc_TypeError, "NFPlugin() got multiple values for argument '%U'",
                         key);
            return -1;
        }
        if (index >= 0)
            options[index] = value;
        else if (PyObject_SetAttr(self, key, value) < 0)
            return -1;
    }
    return nf_plugin_set_options(self, options[0], options[1], options[2]);
}

/* The base implementation of every hook: accepts any arguments and does nothing. */
static PyObject *nf_plugin_do_nothing(PyObject *self, PyObject *args, PyObject *kwargs)
{
    (void)self;
    (void)args;
    (void)kwargs;
    Py_RETURN_NONE;
}

static int nf_plugin_traverse(struct nf_plugin_object *self, visitproc visit, void *arg)
{
    Py_VISIT(Py_TYPE(self));
    Py_VISIT(self->dict);
    return 0;
}

static int nf_plugin_clear(struct nf_plugin_object *self)
{
    Py_CLEAR(self->dict);
    return 0;
}

static void nf_plugin_dealloc(struct nf_plugin_object *self)
{
    PyTypeObject *type = Py_TYPE(self);

    PyObject_GC_UnTrack(self);
    nf_plugin_clear(self);
    type->tp_free(self);
    Py_DECREF(type);
}

#define NF_HOOK_METHOD(name, signature, doc)                                             \
    {name, (PyCFunction)(void (*)(void))nf_plugin_do_nothing, METH_VARARGS | METH_KEYWORDS, \
     name signature "\n--\n\n" doc}

static PyMethodDef nf_plugin_methods[] = {
    NF_HOOK_METHOD("on_init", "($self, packet, flow, /)",
                   "Called with the first packet of a new flow."),
    NF_HOOK_METHOD("on_update", "($self, packet, flow, /)",
                   "Called with every later packet of the flow."),
    NF_HOOK_METHOD("on_expire", "($self, flow, /)", "Called once when the flow expires."),
    NF_HOOK_METHOD("process", "($self, packet, flow, /)",
                   "Classic API: called with every packet of the flow, after on_init or "
                   "on_update."),
    NF_HOOK_METHOD("giveup", "($self, flow, /)",
                   "Classic API: called when the flow expires, after on_expire."),
    NF_HOOK_METHOD("cleanup", "($self, /)", "Called once when an iteration ends."),
    {NULL, NULL, 0, NULL},
};

static PyMemberDef nf_plugin_members[] = {
    {"__dictoffset__", T_PYSSIZET, offsetof(struct nf_plugin_object, dict), READONLY, NULL},
    {NULL, 0, 0, 0, NULL},
};

/* vars(plugin) and plugin.__dict__ work as on a plain Python class. */
static PyGetSetDef nf_plugin_getset[] = {
    {"__dict__", PyObject_GenericGetDict, PyObject_GenericSetDict, NULL, NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyType_Slot nf_plugin_slots[] = {
    {Py_tp_doc, "NFPlugin(name=None, volatile=False, init_function=None, **kwargs)\n--\n\n"
                "Base class of flow plugins. Override the hooks you need; each keyword "
                "argument becomes an attribute."},
    {Py_tp_init, nf_plugin_init},
    {Py_tp_traverse, nf_plugin_traverse},
    {Py_tp_clear, nf_plugin_clear},
    {Py_tp_dealloc, nf_plugin_dealloc},
    {Py_tp_methods, nf_plugin_methods},
    {Py_tp_members, nf_plugin_members},
    {Py_tp_getset, nf_plugin_getset},
    {0, NULL},
};

PyType_Spec nf_plugin_spec = {
    .name = "nfstream._engine.NFPlugin",
    .basicsize = sizeof(struct nf_plugin_object),
    .flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE | Py_TPFLAGS_HAVE_GC,
    .slots = nf_plugin_slots,
};

/* ------------------------------------------------------------------ */
/* Plugin lists                                                        */
/* ------------------------------------------------------------------ */

PyObject *nf_plugin_collect(struct nf_module_state *state, const char *parameter,
                            PyObject *value)
{
    PyObject *items, *result;

    if (value == Py_None)
        return PyTuple_New(0);
    if (PyObject_TypeCheck(value, state->plugin_type))
        return PyTuple_Pack(1, value);
    items = PySequence_List(value);
    if (items == NULL) {
        PyErr_Format(state->parameter_type_error,
                     "%s must be None, an NFPlugin or an iterable of NFPlugin objects, got %R",
                     parameter, value);
        return NULL;
    }
    for (Py_ssize_t i = 0; i < PyList_GET_SIZE(items); i++) {
        PyObject *item = PyList_GET_ITEM(items, i);
        if (!PyObject_TypeCheck(item, state->plugin_type)) {
            PyErr_Format(state->parameter_type_error,
                         "%s item %zd must be an NFPlugin instance, got %R", parameter, i, item);
            Py_DECREF(items);
            return NULL;
        }
    }
    result = PyList_AsTuple(items);
    Py_DECREF(items);
    return result;
}

/* Returns a new reference to an attribute, or NULL without an exception when it is missing. */
static PyObject *nf_plugin_attribute(PyObject *plugin, PyObject *name)
{
    PyObject *value = PyObject_GetAttr(plugin, name);

    if (value == NULL && PyErr_ExceptionMatches(PyExc_AttributeError))
        PyErr_Clear();
    return value;
}

PyObject *nf_plugin_name(struct nf_module_state *state, PyObject *plugin)
{
    PyObject *name = nf_plugin_attribute(plugin, state->str_name);

    if (name == NULL && PyErr_Occurred())
        return NULL;
    if (name == NULL || name == Py_None) {
        Py_XDECREF(name);
        name = PyObject_GetAttrString((PyObject *)Py_TYPE(plugin), "__name__");
    }
    if (name != NULL && !PyUnicode_Check(name)) {
        PyErr_Format(state->parameter_type_error, "plugin name must be a str, got %R", name);
        Py_CLEAR(name);
    }
    return name;
}

/*
 * Returns 1 when the plugin's hook is not NFPlugin's do-nothing method, 0 if it is, and -1
 * with TypeError set when the override is not callable, or with the lookup's error.
 */
static int nf_plugin_overrides(PyObject *plugin, PyObject *method_name)
{
    PyObject *method = PyObject_GetAttr(plugin, method_name);
    int overridden;

    if (method == NULL)
        return -1;
    overridden = !(PyCFunction_Check(method) &&
                   PyCFunction_GetFunction(method) ==
                       (PyCFunction)(void (*)(void))nf_plugin_do_nothing);
    /* Checked here so that iteration fails before any packet, naming the hook. */
    if (overridden && !PyCallable_Check(method)) {
        PyErr_Format(PyExc_TypeError, "plugin hook %s.%U must be callable, got %R",
                     Py_TYPE(plugin)->tp_name, method_name, method);
        overridden = -1;
    }
    Py_DECREF(method);
    return overridden;
}

static int nf_plugin_detect_hooks(struct nf_module_state *state, struct nf_plugin_entry *entry)
{
    PyObject *names[] = {state->str_on_init, state->str_on_update, state->str_on_expire,
                         state->str_process, state->str_giveup, state->str_cleanup};
    unsigned bits[] = {NF_HOOK_ON_INIT, NF_HOOK_ON_UPDATE, NF_HOOK_ON_EXPIRE,
                       NF_HOOK_PROCESS, NF_HOOK_GIVEUP, NF_HOOK_CLEANUP};

    for (size_t i = 0; i < sizeof(bits) / sizeof(bits[0]); i++) {
        int overridden = nf_plugin_overrides(entry->plugin, names[i]);
        if (overridden < 0)
            return -1;
        if (overridden)
            entry->overrides |= bits[i];
    }
    return 0;
}

/* Reads the classic options; subclasses may skip NFPlugin.__init__, so all have defaults. */
static int nf_plugin_read_classic(struct nf_module_state *state, struct nf_plugin_entry *entry)
{
    PyObject *is_volatile;

    entry->name = nf_plugin_name(state, entry->plugin);
    if (entry->name == NULL)
        return -1;
    entry->init_function = nf_plugin_attribute(entry->plugin, state->str_init_function);
    if (entry->init_function == NULL && PyErr_Occurred())
        return -1;
    if (entry->init_function == Py_None)
        Py_CLEAR(entry->init_function);
    if (entry->init_function != NULL && !PyCallable_Check(entry->init_function)) {
        PyErr_Format(PyExc_TypeError, "init_function of plugin %U must be callable or None, got %R",
                     entry->name, entry->init_function);
        return -1;
    }
    is_volatile = nf_plugin_attribute(entry->plugin, state->str_volatile);
    if (is_volatile == NULL)
        return PyErr_Occurred() ? -1 : 0;
    entry->is_volatile = PyObject_IsTrue(is_volatile);
    Py_DECREF(is_volatile);
    return entry->is_volatile < 0 ? -1 : 0;
}

/* ------------------------------------------------------------------ */
/* Hook dispatch                                                       */
/* ------------------------------------------------------------------ */

/* Keeps the first hook exception, with its traceback, for the iterator to raise. */
static void nf_plugin_keep_error(struct nf_iterator_object *iterator)
{
    PyObject *error = nf_module_fetch_error();

    if (iterator->hook_error == NULL)
        iterator->hook_error = error;
    else
        Py_XDECREF(error);
}

/* Calls plugin.<method>(first[, second]) and drops the result. Returns 0 or -1. */
static int nf_plugin_call(PyObject *method, PyObject *plugin, PyObject *first, PyObject *second)
{
    PyObject *args[3] = {plugin, first, second};
    size_t count = 1;
    PyObject *result;

    if (first != NULL)
        count = second != NULL ? 3 : 2;
    result = PyObject_VectorcallMethod(method, args, count, NULL);

    Py_XDECREF(result);
    return result == NULL ? -1 : 0;
}

/* Sets the classic attribute flow.<name> to init_function(packet), or 0 without one. */
static int nf_plugin_init_attribute(struct nf_plugin_entry *entry, PyObject *packet,
                                    PyObject *flow)
{
    PyObject *value;
    int status;

    if (entry->init_function != NULL)
        value = PyObject_CallOneArg(entry->init_function, packet);
    else
        value = PyLong_FromLong(0);
    if (value == NULL)
        return -1;
    status = PyObject_SetAttr(flow, entry->name, value);
    Py_DECREF(value);
    return status;
}

static int nf_plugin_dispatch_packet(struct nf_iterator_object *iterator, PyObject *packet,
                                     PyObject *flow, int first_packet)
{
    struct nf_module_state *state = iterator->state;
    unsigned hook = first_packet ? NF_HOOK_ON_INIT : NF_HOOK_ON_UPDATE;
    PyObject *method = first_packet ? state->str_on_init : state->str_on_update;

    for (Py_ssize_t i = 0; i < iterator->plugin_count; i++) {
        struct nf_plugin_entry *entry = &iterator->plugins[i];
        if (first_packet && entry->classic && nf_plugin_init_attribute(entry, packet, flow) < 0)
            return -1;
        if ((entry->overrides & hook) && nf_plugin_call(method, entry->plugin, packet, flow) < 0)
            return -1;
        if ((entry->overrides & NF_HOOK_PROCESS) &&
            nf_plugin_call(state->str_process, entry->plugin, packet, flow) < 0)
            return -1;
    }
    return 0;
}

/* Wraps the packet, runs the plugins, then detaches the packet from the capture buffer. */
static int nf_plugin_run_packet(struct nf_iterator_object *iterator, struct nf_flow *flow,
                                const struct nf_packet *packet, int first_packet)
{
    const struct nf_layout_object *layout = (const struct nf_layout_object *)iterator->layout;
    PyObject *packet_object = nf_packet_object_create(iterator->state, flow, packet,
                                                      layout->accounting_mode);
    int status;

    if (packet_object == NULL)
        return -1;
    status = nf_plugin_dispatch_packet(iterator, packet_object, flow->user_data, first_packet);
    if (nf_packet_object_release(packet_object) < 0)
        status = -1;
    return status;
}

static int nf_plugin_on_init(void *context, struct nf_flow *flow, const struct nf_packet *packet)
{
    struct nf_iterator_object *iterator = context;
    PyObject *flow_object = nf_flow_object_create(iterator->state, iterator->layout, flow, 0, 1);

    if (flow_object == NULL) {
        nf_plugin_keep_error(iterator);
        return -1;
    }
    /* The C flow holds this reference until it is emitted or released. */
    flow->user_data = flow_object;
    if (nf_plugin_run_packet(iterator, flow, packet, 1) < 0) {
        nf_plugin_keep_error(iterator);
        return -1;
    }
    return 0;
}

static int nf_plugin_on_update(void *context, struct nf_flow *flow,
                               const struct nf_packet *packet)
{
    struct nf_iterator_object *iterator = context;

    if (flow->user_data == NULL)
        return 0;
    if (nf_flow_object_refresh(flow->user_data) < 0 ||
        nf_plugin_run_packet(iterator, flow, packet, 0) < 0) {
        nf_plugin_keep_error(iterator);
        return -1;
    }
    return 0;
}

static int nf_plugin_dispatch_expire(struct nf_iterator_object *iterator, PyObject *flow)
{
    struct nf_module_state *state = iterator->state;

    for (Py_ssize_t i = 0; i < iterator->plugin_count; i++) {
        struct nf_plugin_entry *entry = &iterator->plugins[i];
        if ((entry->overrides & NF_HOOK_ON_EXPIRE) &&
            nf_plugin_call(state->str_on_expire, entry->plugin, flow, NULL) < 0)
            return -1;
        if ((entry->overrides & NF_HOOK_GIVEUP) &&
            nf_plugin_call(state->str_giveup, entry->plugin, flow, NULL) < 0)
            return -1;
        if (!entry->classic || !entry->is_volatile)
            continue;
        /* A plugin may have deleted its attribute already; that is not an error. */
        if (PyObject_DelAttr(flow, entry->name) < 0) {
            if (!PyErr_ExceptionMatches(PyExc_AttributeError))
                return -1;
            PyErr_Clear();
        }
    }
    return 0;
}

static int nf_plugin_on_expire(void *context, struct nf_flow *flow)
{
    struct nf_iterator_object *iterator = context;

    if (flow->user_data == NULL)
        return 0;
    if (nf_flow_object_refresh(flow->user_data) < 0 ||
        nf_plugin_dispatch_expire(iterator, flow->user_data) < 0) {
        nf_plugin_keep_error(iterator);
        return -1;
    }
    return 0;
}

/* The engine discards a flow it will not emit: the NFlow becomes its owner. */
static void nf_plugin_on_release(void *context, struct nf_flow *flow)
{
    PyObject *flow_object = flow->user_data;

    (void)context;
    if (flow_object == NULL) {
        nf_flow_free(flow);
        return;
    }
    flow->user_data = NULL;
    nf_flow_object_take(flow_object);
    Py_DECREF(flow_object);
}

/* ------------------------------------------------------------------ */
/* Iterator support                                                    */
/* ------------------------------------------------------------------ */

static int nf_plugin_add_entries(struct nf_iterator_object *iterator, PyObject *plugins,
                                 int classic)
{
    for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(plugins); i++) {
        struct nf_plugin_entry *entry = &iterator->plugins[iterator->plugin_count++];
        entry->plugin = Py_NewRef(PyTuple_GET_ITEM(plugins, i));
        entry->classic = classic;
        if (nf_plugin_detect_hooks(iterator->state, entry) < 0)
            return -1;
        if (classic && nf_plugin_read_classic(iterator->state, entry) < 0)
            return -1;
    }
    return 0;
}

static void nf_plugin_fill_hooks(struct nf_iterator_object *iterator, struct nf_hooks *hooks)
{
    unsigned all = 0;
    int has_volatile = 0;

    for (Py_ssize_t i = 0; i < iterator->plugin_count; i++) {
        all |= iterator->plugins[i].overrides;
        has_volatile |= iterator->plugins[i].is_volatile;
    }
    hooks->context = iterator;
    hooks->on_init = nf_plugin_on_init;
    if (all & (NF_HOOK_ON_UPDATE | NF_HOOK_PROCESS))
        hooks->on_update = nf_plugin_on_update;
    if ((all & (NF_HOOK_ON_EXPIRE | NF_HOOK_GIVEUP)) || has_volatile)
        hooks->on_expire = nf_plugin_on_expire;
    hooks->on_release = nf_plugin_on_release;
}

int nf_plugin_prepare(struct nf_iterator_object *iterator, PyObject *udps, PyObject *plugins,
                      struct nf_hooks *hooks)
{
    Py_ssize_t count = PyTuple_GET_SIZE(udps) + PyTuple_GET_SIZE(plugins);

    memset(hooks, 0, sizeof(*hooks));
    if (count == 0)
        return 0;
    iterator->plugins = PyMem_Calloc((size_t)count, sizeof(struct nf_plugin_entry));
    if (iterator->plugins == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    if (nf_plugin_add_entries(iterator, udps, 0) < 0 ||
        nf_plugin_add_entries(iterator, plugins, 1) < 0)
        return -1;
    nf_plugin_fill_hooks(iterator, hooks);
    return 0;
}

int nf_plugin_cleanup_all(struct nf_iterator_object *iterator)
{
    PyObject *first_error = NULL;

    for (Py_ssize_t i = 0; i < iterator->plugin_count; i++) {
        struct nf_plugin_entry *entry = &iterator->plugins[i];
        if (!(entry->overrides & NF_HOOK_CLEANUP))
            continue;
        if (nf_plugin_call(iterator->state->str_cleanup, entry->plugin, NULL, NULL) == 0)
            continue;
        /* Every plugin gets its cleanup; the first error is raised, later ones reported. */
        if (first_error == NULL)
            first_error = nf_module_fetch_error();
        else
            PyErr_WriteUnraisable(entry->plugin);
    }
    if (first_error == NULL)
        return 0;
    nf_module_restore_error(first_error);
    return -1;
}

void nf_plugin_clear_entries(struct nf_iterator_object *iterator)
{
    for (Py_ssize_t i = 0; i < iterator->plugin_count; i++) {
        Py_CLEAR(iterator->plugins[i].plugin);
        Py_CLEAR(iterator->plugins[i].name);
        Py_CLEAR(iterator->plugins[i].init_function);
    }
    PyMem_Free(iterator->plugins);
    iterator->plugins = NULL;
    iterator->plugin_count = 0;
}

int nf_plugin_traverse_entries(struct nf_iterator_object *iterator, visitproc visit, void *arg)
{
    for (Py_ssize_t i = 0; i < iterator->plugin_count; i++) {
        Py_VISIT(iterator->plugins[i].plugin);
        Py_VISIT(iterator->plugins[i].name);
        Py_VISIT(iterator->plugins[i].init_function);
    }
    return 0;
}
