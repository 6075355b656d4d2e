/*
 * flow_object.c - NFlow, the Python view of one struct nf_flow.
 *
 * Built-in columns are getset descriptors that read the C flow on each
 * access (see flow_fields.c), so nothing is copied per packet. While
 * plugins run, the NFlow borrows the flow from the engine; once the flow
 * is emitted or released it owns it and frees it in its dealloc, which
 * keeps the values of a kept flow frozen and valid.
 *
 * Writes to built-in columns other than expiration_id are stored in a
 * per-object dict of overrides that reads, keys(), values() and repr then
 * return. As nfstream copies its C counters back into the flow after every
 * packet and at expiry, overrides of a live flow are dropped before each
 * on_update and on_expire; a write in on_expire therefore lasts. A written
 * id lasts only until the flow is emitted and numbered.
 * Plugin attributes live in the instance __dict__ and flow.udps is a
 * types.SimpleNamespace. An unpickled NFlow has no C flow: every column
 * is then in the overrides dict, in column order.
 */
#include "bindings.h"

#include <stddef.h>
#include <structmember.h>

/* Room for every built-in column plus packets, udps, __dict__ and the end marker. */
#define NF_FLOW_GETSET_CAPACITY 160

struct nf_flow_object {
    PyObject_HEAD
    struct nf_flow *flow;  /* NULL for an unpickled flow */
    PyObject *layout;      /* struct nf_layout_object, NULL for an unpickled flow */
    PyObject *overrides;   /* dict or NULL, see the file comment */
    PyObject *udps;        /* namespace or NULL until first needed */
    PyObject *dict;        /* instance __dict__ */
    int owned;             /* 1 when dealloc must free `flow` */
};

static PyGetSetDef nf_flow_getset[NF_FLOW_GETSET_CAPACITY];
static const struct nf_field *nf_flow_packets_field;

/* Returns the override stored for `name` (borrowed), or NULL without an exception. */
static PyObject *nf_flow_override(struct nf_flow_object *self, const char *name)
{
    if (self->overrides == NULL)
        return NULL;
    return PyDict_GetItemString(self->overrides, name);
}

static int nf_flow_has_field(struct nf_flow_object *self, const struct nf_field *field)
{
    const struct nf_layout_object *layout = (const struct nf_layout_object *)self->layout;

    return self->flow != NULL && layout != NULL && (layout->groups & field->group);
}

static PyObject *nf_flow_get_field(struct nf_flow_object *self, void *closure)
{
    const struct nf_field *field = closure;
    PyObject *value = nf_flow_override(self, field->name);

    if (value != NULL)
        return Py_NewRef(value);
    if (!nf_flow_has_field(self, field))
        return PyErr_Format(PyExc_AttributeError,
                            "NFlow has no column '%s' (the NFStreamer option that adds it is off)",
                            field->name);
    return nf_field_value(field, self->flow);
}

/* Stores a hook's expiration_id in the C flow, where the meter reads it. */
static int nf_flow_set_expiration_id(struct nf_flow_object *self, PyObject *value)
{
    int overflow = 0;
    long long number = PyLong_Check(value) ? PyLong_AsLongLongAndOverflow(value, &overflow) : 0;

    if (!PyLong_Check(value) || overflow != 0 || number < INT32_MIN || number > INT32_MAX) {
        PyErr_Format(PyExc_ValueError,
                     "expiration_id must be an integer in the 32-bit signed range "
                     "(-1 forces expiry), got %R",
                     value);
        return -1;
    }
    if (number == -1 && PyErr_Occurred())
        return -1;
    self->flow->expiration_id = (int32_t)number;
    return 0;
}

static int nf_flow_set_field(struct nf_flow_object *self, PyObject *value, void *closure)
{
    const struct nf_field *field = closure;

    if (value == NULL) {
        PyErr_Format(PyExc_AttributeError, "cannot delete the built-in NFlow column '%s'",
                     field->name);
        return -1;
    }
    if (self->flow != NULL && strcmp(field->name, "expiration_id") == 0)
        return nf_flow_set_expiration_id(self, value);
    if (self->overrides == NULL && (self->overrides = PyDict_New()) == NULL)
        return -1;
    return PyDict_SetItemString(self->overrides, field->name, value);
}

/* flow.packets: nfstream's classic alias of bidirectional_packets. */
static PyObject *nf_flow_get_packets(struct nf_flow_object *self, void *closure)
{
    (void)closure;
    return nf_flow_get_field(self, (void *)nf_flow_packets_field);
}

static PyObject *nf_flow_get_udps(struct nf_flow_object *self, void *closure)
{
    struct nf_module_state *state;

    (void)closure;
    if (self->udps == NULL) {
        state = nf_module_state_of_type(Py_TYPE(self));
        if (state == NULL)
            return NULL;
        self->udps = PyObject_CallNoArgs(state->namespace_type);
        if (self->udps == NULL)
            return NULL;
    }
    return Py_NewRef(self->udps);
}

static int nf_flow_set_udps(struct nf_flow_object *self, PyObject *value, void *closure)
{
    (void)closure;
    if (value == NULL) {
        PyErr_SetString(PyExc_AttributeError, "cannot delete NFlow.udps");
        return -1;
    }
    Py_XSETREF(self->udps, Py_NewRef(value));
    return 0;
}

int nf_flow_prepare_spec(void)
{
    size_t count = nf_flow_field_count;

    if (count + 4 > NF_FLOW_GETSET_CAPACITY) {
        PyErr_Format(PyExc_SystemError, "NFlow has %zu columns, more than its table holds",
                     count);
        return -1;
    }
    if (nf_flow_getset[0].name != NULL)
        return 0;
    for (size_t i = 0; i < count; i++) {
        nf_flow_getset[i] = (PyGetSetDef){nf_flow_fields[i].name, (getter)nf_flow_get_field,
                                          (setter)nf_flow_set_field, NULL,
                                          (void *)&nf_flow_fields[i]};
        if (strcmp(nf_flow_fields[i].name, "bidirectional_packets") == 0)
            nf_flow_packets_field = &nf_flow_fields[i];
    }
    nf_flow_getset[count] = (PyGetSetDef){"packets", (getter)nf_flow_get_packets, NULL,
                                          "Alias of bidirectional_packets.", NULL};
    nf_flow_getset[count + 1] = (PyGetSetDef){"udps", (getter)nf_flow_get_udps,
                                              (setter)nf_flow_set_udps,
                                              "Namespace of the udps plugin attributes.", NULL};
    nf_flow_getset[count + 2] = (PyGetSetDef){"__dict__", PyObject_GenericGetDict,
                                              PyObject_GenericSetDict, NULL, NULL};
    return 0;
}

/* ------------------------------------------------------------------ */
/* Columns: keys(), values(), repr, pickling                           */
/* ------------------------------------------------------------------ */

static int nf_flow_append(PyObject *keys, PyObject *values, PyObject *key, PyObject *value)
{
    if (keys != NULL && PyList_Append(keys, key) < 0)
        return -1;
    if (values != NULL && PyList_Append(values, value) < 0)
        return -1;
    return 0;
}

static int nf_flow_collect_builtin(struct nf_flow_object *self, PyObject *keys, PyObject *values)
{
    const struct nf_layout_object *layout = (const struct nf_layout_object *)self->layout;

    for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(layout->column_names); i++) {
        const struct nf_field *field = &nf_flow_fields[layout->field_indexes[i]];
        PyObject *value = values == NULL ? Py_NewRef(Py_None)
                                         : nf_flow_get_field(self, (void *)field);
        if (value == NULL)
            return -1;
        int status = nf_flow_append(keys, values, PyTuple_GET_ITEM(layout->column_names, i),
                                    value);
        Py_DECREF(value);
        if (status < 0)
            return -1;
    }
    return 0;
}

/* Classic plugin attributes present on the flow, in plugin order. */
static int nf_flow_collect_classic(struct nf_flow_object *self, PyObject *keys, PyObject *values)
{
    const struct nf_layout_object *layout = (const struct nf_layout_object *)self->layout;

    for (Py_ssize_t i = 0; self->dict != NULL && i < PyTuple_GET_SIZE(layout->classic_names);
         i++) {
        PyObject *name = PyTuple_GET_ITEM(layout->classic_names, i);
        PyObject *value = PyDict_GetItemWithError(self->dict, name);
        if (value == NULL && PyErr_Occurred())
            return -1;
        if (value != NULL && nf_flow_append(keys, values, name, value) < 0)
            return -1;
    }
    return 0;
}

/* udps.<name> columns in attribute creation order. */
static int nf_flow_collect_udps(struct nf_flow_object *self, PyObject *keys, PyObject *values)
{
    PyObject *attributes, *name, *value;
    Py_ssize_t position = 0;
    int status = 0;

    if (self->udps == NULL)
        return 0;
    attributes = PyObject_GetAttrString(self->udps, "__dict__");
    if (attributes == NULL || !PyDict_Check(attributes)) {
        /* An object without a __dict__ contributes no columns. */
        PyErr_Clear();
        Py_XDECREF(attributes);
        return 0;
    }
    while (status == 0 && PyDict_Next(attributes, &position, &name, &value)) {
        PyObject *key = PyUnicode_FromFormat("udps.%S", name);
        status = key == NULL ? -1 : nf_flow_append(keys, values, key, value);
        Py_XDECREF(key);
    }
    Py_DECREF(attributes);
    return status;
}

/* Appends the flow's column names and/or values (either list may be NULL). */
static int nf_flow_collect(struct nf_flow_object *self, PyObject *keys, PyObject *values)
{
    PyObject *key, *value;
    Py_ssize_t position = 0;

    if (self->layout == NULL) {
        while (self->overrides != NULL && PyDict_Next(self->overrides, &position, &key, &value))
            if (nf_flow_append(keys, values, key, value) < 0)
                return -1;
        return 0;
    }
    if (nf_flow_collect_builtin(self, keys, values) < 0 ||
        nf_flow_collect_classic(self, keys, values) < 0)
        return -1;
    return nf_flow_collect_udps(self, keys, values);
}

static PyObject *nf_flow_keys(struct nf_flow_object *self, PyObject *unused)
{
    PyObject *keys = PyList_New(0);

    (void)unused;
    if (keys != NULL && nf_flow_collect(self, keys, NULL) < 0)
        Py_CLEAR(keys);
    return keys;
}

static PyObject *nf_flow_values(struct nf_flow_object *self, PyObject *unused)
{
    PyObject *values = PyList_New(0);

    (void)unused;
    if (values != NULL && nf_flow_collect(self, NULL, values) < 0)
        Py_CLEAR(values);
    return values;
}

/* Returns "key=str(value)" items joined by ",\n      " inside "NFlow(...)". */
static PyObject *nf_flow_repr(struct nf_flow_object *self)
{
    PyObject *keys = PyList_New(0), *values = PyList_New(0), *items = NULL;
    PyObject *separator = NULL, *body = NULL, *result = NULL;

    if (keys == NULL || values == NULL || nf_flow_collect(self, keys, values) < 0)
        goto done;
    items = PyList_New(PyList_GET_SIZE(keys));
    for (Py_ssize_t i = 0; items != NULL && i < PyList_GET_SIZE(keys); i++) {
        PyObject *item = PyUnicode_FromFormat("%S=%S", PyList_GET_ITEM(keys, i),
                                              PyList_GET_ITEM(values, i));
        if (item == NULL)
            goto done;
        PyList_SET_ITEM(items, i, item);
    }
    separator = PyUnicode_FromString(",\n      ");
    if (items == NULL || separator == NULL)
        goto done;
    body = PyUnicode_Join(separator, items);
    if (body != NULL)
        result = PyUnicode_FromFormat("NFlow(%U)", body);

done:
    Py_XDECREF(keys);
    Py_XDECREF(values);
    Py_XDECREF(items);
    Py_XDECREF(separator);
    Py_XDECREF(body);
    return result;
}

static PyObject *nf_flow_reduce(struct nf_flow_object *self, PyObject *unused)
{
    struct nf_module_state *state = nf_module_state_of_type(Py_TYPE(self));
    PyObject *keys = PyList_New(0), *values = PyList_New(0), *result = NULL;

    (void)unused;
    if (state != NULL && keys != NULL && values != NULL &&
        nf_flow_collect(self, keys, values) == 0)
        result = Py_BuildValue("O(NN)", state->rebuild_flow, PyList_AsTuple(keys),
                               PyList_AsTuple(values));
    Py_XDECREF(keys);
    Py_XDECREF(values);
    return result;
}

static int nf_flow_is_builtin_name(PyObject *name)
{
    for (size_t i = 0; i < nf_flow_field_count; i++)
        if (PyUnicode_CompareWithASCIIString(name, nf_flow_fields[i].name) == 0)
            return 1;
    return 0;
}

/* Returns 1 when `key` starts with "udps.", 0 if not, -1 with an exception set. */
static int nf_flow_is_udps_key(PyObject *key)
{
    PyObject *prefix = PyUnicode_FromString("udps.");
    Py_ssize_t match;

    if (prefix == NULL)
        return -1;
    match = PyUnicode_Tailmatch(key, prefix, 0, PY_SSIZE_T_MAX, -1);
    Py_DECREF(prefix);
    return (int)match;
}

/* Restores one column of an unpickled flow so that attribute access finds it too. */
static int nf_flow_restore_column(struct nf_flow_object *self, PyObject *key, PyObject *value)
{
    PyObject *udps, *udps_name;
    int status, is_udps;

    if (PyDict_SetItem(self->overrides, key, value) < 0)
        return -1;
    if (!PyUnicode_Check(key) || nf_flow_is_builtin_name(key))
        return 0;
    is_udps = nf_flow_is_udps_key(key);
    if (is_udps <= 0)
        return is_udps < 0 ? -1 : PyObject_GenericSetAttr((PyObject *)self, key, value);

    udps = nf_flow_get_udps(self, NULL);
    udps_name = PyUnicode_Substring(key, 5, PyUnicode_GetLength(key));
    status = udps == NULL || udps_name == NULL ? -1 : PyObject_SetAttr(udps, udps_name, value);
    Py_XDECREF(udps);
    Py_XDECREF(udps_name);
    return status;
}

int nf_flow_object_refresh(PyObject *flow_object)
{
    struct nf_flow_object *self = (struct nf_flow_object *)flow_object;
    PyObject *written_id;

    if (self->flow == NULL || self->overrides == NULL || PyDict_GET_SIZE(self->overrides) == 0)
        return 0;
    written_id = PyDict_GetItemString(self->overrides, "id");
    Py_XINCREF(written_id);
    PyDict_Clear(self->overrides);
    if (written_id == NULL)
        return 0;
    int status = PyDict_SetItemString(self->overrides, "id", written_id);
    Py_DECREF(written_id);
    return status;
}

static struct nf_flow_object *nf_flow_object_alloc(struct nf_module_state *state)
{
    struct nf_flow_object *self = PyObject_GC_New(struct nf_flow_object, state->flow_type);

    if (self == NULL)
        return NULL;
    self->flow = NULL;
    self->layout = NULL;
    self->overrides = NULL;
    self->udps = NULL;
    self->dict = NULL;
    self->owned = 0;
    PyObject_GC_Track(self);
    return self;
}

PyObject *nf_flow_rebuild(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    struct nf_module_state *state = PyModule_GetState(module);
    struct nf_flow_object *self = NULL;
    PyObject *keys = NULL, *values = NULL;

    if (nargs != 2) {
        PyErr_Format(PyExc_TypeError, "_rebuild_flow() takes 2 arguments (%zd given)", nargs);
        return NULL;
    }
    keys = PySequence_Tuple(args[0]);
    values = keys == NULL ? NULL : PySequence_Tuple(args[1]);
    if (values == NULL)
        goto error;
    if (PyTuple_GET_SIZE(keys) != PyTuple_GET_SIZE(values)) {
        PyErr_SetString(PyExc_ValueError, "_rebuild_flow() needs as many values as keys");
        goto error;
    }
    self = nf_flow_object_alloc(state);
    if (self == NULL || (self->overrides = PyDict_New()) == NULL)
        goto error;
    for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(keys); i++)
        if (nf_flow_restore_column(self, PyTuple_GET_ITEM(keys, i),
                                   PyTuple_GET_ITEM(values, i)) < 0)
            goto error;
    Py_DECREF(keys);
    Py_DECREF(values);
    return (PyObject *)self;

error:
    Py_XDECREF(keys);
    Py_XDECREF(values);
    Py_XDECREF(self);
    return NULL;
}

PyObject *nf_flow_object_create(struct nf_module_state *state, PyObject *layout,
                                struct nf_flow *flow, int owned, int with_udps)
{
    struct nf_flow_object *self = nf_flow_object_alloc(state);

    if (self == NULL)
        return NULL;
    self->layout = Py_NewRef(layout);
    if (with_udps && (self->udps = PyObject_CallNoArgs(state->namespace_type)) == NULL) {
        Py_DECREF(self);
        return NULL;
    }
    /* Set last, so that a failure above never frees the caller's flow. */
    self->flow = flow;
    self->owned = owned;
    return (PyObject *)self;
}

void nf_flow_object_take(PyObject *flow_object)
{
    struct nf_flow_object *self = (struct nf_flow_object *)flow_object;

    self->owned = 1;
    /*
     * nfstream numbers each flow when it leaves the meter, replacing any id a plugin wrote.
     * Skipped while an exception is pending (the flow is then dropped, not emitted).
     */
    if (self->overrides == NULL || PyErr_Occurred() ||
        PyDict_GetItemString(self->overrides, "id") == NULL)
        return;
    if (PyDict_DelItemString(self->overrides, "id") < 0)
        PyErr_Clear();
}

static int nf_flow_traverse(struct nf_flow_object *self, visitproc visit, void *arg)
{
    Py_VISIT(Py_TYPE(self));
    Py_VISIT(self->layout);
    Py_VISIT(self->overrides);
    Py_VISIT(self->udps);
    Py_VISIT(self->dict);
    return 0;
}

static int nf_flow_clear(struct nf_flow_object *self)
{
    Py_CLEAR(self->overrides);
    Py_CLEAR(self->udps);
    Py_CLEAR(self->dict);
    return 0;
}

static void nf_flow_dealloc(struct nf_flow_object *self)
{
    PyTypeObject *type = Py_TYPE(self);

    PyObject_GC_UnTrack(self);
    nf_flow_clear(self);
    Py_CLEAR(self->layout);
    if (self->owned)
        nf_flow_free(self->flow);
    type->tp_free(self);
    Py_DECREF(type);
}

static PyMethodDef nf_flow_methods[] = {
    {"keys", (PyCFunction)nf_flow_keys, METH_NOARGS,
     "keys()\n--\n\nReturn the column names of the flow, in nfstream's order."},
    {"values", (PyCFunction)nf_flow_values, METH_NOARGS,
     "values()\n--\n\nReturn the column values of the flow, in the order of keys()."},
    {"__reduce__", (PyCFunction)nf_flow_reduce, METH_NOARGS,
     "Pickle the flow as its columns."},
    {NULL, NULL, 0, NULL},
};

static PyMemberDef nf_flow_members[] = {
    {"__dictoffset__", T_PYSSIZET, offsetof(struct nf_flow_object, dict), READONLY, NULL},
    {NULL, 0, 0, 0, NULL},
};

static PyType_Slot nf_flow_slots[] = {
    {Py_tp_doc, "One flow: built-in columns read from the engine, plugin attributes and udps."},
    {Py_tp_traverse, nf_flow_traverse},
    {Py_tp_clear, nf_flow_clear},
    {Py_tp_dealloc, nf_flow_dealloc},
    {Py_tp_repr, nf_flow_repr},
    {Py_tp_methods, nf_flow_methods},
    {Py_tp_members, nf_flow_members},
    {Py_tp_getset, nf_flow_getset},
    {0, NULL},
};

PyType_Spec nf_flow_spec = {
    .name = "nfstream._engine.NFlow",
    .basicsize = sizeof(struct nf_flow_object),
    .flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC
#ifdef Py_TPFLAGS_DISALLOW_INSTANTIATION
             | Py_TPFLAGS_DISALLOW_INSTANTIATION
#endif
    ,
    .slots = nf_flow_slots,
};
