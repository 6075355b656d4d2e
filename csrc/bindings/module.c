/*
 * module.c - the nfstream._engine extension module.
 *
 * Uses multi-phase initialisation: the exec slot creates the heap types,
 * the exception types and the interned method names, and stores them in
 * the module state so that every object reaches them through its type.
 * It also contains the one function that maps an engine error code and its
 * message to a Python exception.
 */
#include "bindings.h"

static struct PyModuleDef nf_module_def;

struct nf_module_state *nf_module_state_of_type(PyTypeObject *type)
{
#if PY_VERSION_HEX >= 0x030B0000
    PyObject *module = PyType_GetModuleByDef(type, &nf_module_def);

    return module == NULL ? NULL : PyModule_GetState(module);
#else
    /* Before 3.11, walk the MRO because subclasses of NFPlugin or
     * NFStreamer are defined in Python and have no module of their own. */
    PyObject *mro = type->tp_mro;

    for (Py_ssize_t i = 0; mro != NULL && i < PyTuple_GET_SIZE(mro); i++) {
        PyTypeObject *base = (PyTypeObject *)PyTuple_GET_ITEM(mro, i);
        if (!PyType_HasFeature(base, Py_TPFLAGS_HEAPTYPE))
            continue;
        PyObject *module = PyType_GetModule(base);
        if (module == NULL) {
            PyErr_Clear();
            continue;
        }
        if (PyModule_GetDef(module) == &nf_module_def)
            return PyModule_GetState(module);
    }
    PyErr_Format(PyExc_TypeError, "type %s is not defined by nfstream._engine", type->tp_name);
    return NULL;
#endif
}

PyObject *nf_module_raise(struct nf_module_state *state, int code, const char *message)
{
    PyObject *type;

    switch (code) {
    case NF_EOPEN:
    case NF_ELINKTYPE:
    case NF_EFILTER:
    case NF_EREAD:
        type = state->capture_error;
        break;
    case NF_EINVAL:
        type = PyExc_ValueError;
        break;
    case NF_ENOMEM:
        type = PyExc_MemoryError;
        break;
    default:
        type = PyExc_RuntimeError;
        break;
    }
    if (message == NULL || message[0] == '\0')
        PyErr_Format(type, "flow engine failed with error code %d", code);
    else
        PyErr_SetString(type, message);
    return NULL;
}

PyObject *nf_module_fetch_error(void)
{
    PyObject *type, *value, *traceback;

    PyErr_Fetch(&type, &value, &traceback);
    if (type == NULL)
        return NULL;
    PyErr_NormalizeException(&type, &value, &traceback);
    if (value != NULL && traceback != NULL)
        PyException_SetTraceback(value, traceback);
    Py_XDECREF(type);
    Py_XDECREF(traceback);
    return value;
}

PyObject *nf_module_restore_error(PyObject *error)
{
    PyObject *type = (PyObject *)Py_TYPE(error);

    Py_INCREF(type);
    PyErr_Restore(type, error, PyException_GetTraceback(error));
    return NULL;
}

/* Creates a heap type and adds it to the module under its short name. */
static PyTypeObject *nf_module_add_type(PyObject *module, PyType_Spec *spec, int public)
{
    PyObject *type = PyType_FromModuleAndSpec(module, spec, NULL);

    if (type == NULL)
        return NULL;
    if (public && PyModule_AddObjectRef(module, strrchr(spec->name, '.') + 1, type) < 0) {
        Py_DECREF(type);
        return NULL;
    }
    return (PyTypeObject *)type;
}

static int nf_module_add_exceptions(PyObject *module, struct nf_module_state *state)
{
    PyObject *bases;

    state->capture_error = PyErr_NewExceptionWithDoc(
        "nfstream._engine.CaptureError",
        "A capture source could not be opened, filtered or read.", PyExc_ValueError, NULL);
    if (state->capture_error == NULL)
        return -1;
    if (PyModule_AddObjectRef(module, "CaptureError", state->capture_error) < 0)
        return -1;

    bases = PyTuple_Pack(2, PyExc_TypeError, PyExc_ValueError);
    if (bases == NULL)
        return -1;
    state->parameter_type_error = PyErr_NewExceptionWithDoc(
        "nfstream._engine.ParameterTypeError",
        "An NFStreamer parameter has the wrong type (also a ValueError, as in nfstream).",
        bases, NULL);
    Py_DECREF(bases);
    if (state->parameter_type_error == NULL)
        return -1;
    return PyModule_AddObjectRef(module, "ParameterTypeError", state->parameter_type_error);
}

static int nf_module_intern_names(struct nf_module_state *state)
{
    struct {
        PyObject **slot;
        const char *text;
    } names[] = {
        {&state->str_on_init, "on_init"},   {&state->str_on_update, "on_update"},
        {&state->str_on_expire, "on_expire"}, {&state->str_process, "process"},
        {&state->str_giveup, "giveup"},     {&state->str_cleanup, "cleanup"},
        {&state->str_name, "name"},         {&state->str_volatile, "volatile"},
        {&state->str_init_function, "init_function"}, {&state->str_dict, "__dict__"},
    };

    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        *names[i].slot = PyUnicode_InternFromString(names[i].text);
        if (*names[i].slot == NULL)
            return -1;
    }
    return 0;
}

static int nf_module_load_helpers(PyObject *module, struct nf_module_state *state)
{
    PyObject *types_module = PyImport_ImportModule("types");

    if (types_module == NULL)
        return -1;
    state->namespace_type = PyObject_GetAttrString(types_module, "SimpleNamespace");
    Py_DECREF(types_module);
    if (state->namespace_type == NULL)
        return -1;
    state->rebuild_flow = PyObject_GetAttrString(module, "_rebuild_flow");
    return state->rebuild_flow == NULL ? -1 : 0;
}

static int nf_module_exec(PyObject *module)
{
    struct nf_module_state *state = PyModule_GetState(module);

    if (nf_flow_prepare_spec() < 0)
        return -1;
    nf_packet_prepare_spec();
    nf_streamer_prepare_spec();
    if (nf_module_intern_names(state) < 0 || nf_module_add_exceptions(module, state) < 0)
        return -1;
    if (nf_module_load_helpers(module, state) < 0)
        return -1;

    state->layout_type = nf_module_add_type(module, &nf_layout_spec, 0);
    state->flow_type = nf_module_add_type(module, &nf_flow_spec, 1);
    state->packet_type = nf_module_add_type(module, &nf_packet_spec, 1);
    state->plugin_type = nf_module_add_type(module, &nf_plugin_spec, 1);
    state->iterator_type = nf_module_add_type(module, &nf_iterator_spec, 0);
    state->streamer_type = nf_module_add_type(module, &nf_streamer_spec, 1);
    if (state->layout_type == NULL || state->flow_type == NULL || state->packet_type == NULL ||
        state->plugin_type == NULL || state->iterator_type == NULL ||
        state->streamer_type == NULL)
        return -1;
    return 0;
}

/* Applies `visit` or Py_CLEAR-style clearing to every object of the state. */
#define NF_STATE_OBJECTS(X)                                                                    \
    X(streamer_type) X(iterator_type) X(flow_type) X(layout_type) X(packet_type)              \
    X(plugin_type) X(capture_error) X(parameter_type_error) X(namespace_type) X(rebuild_flow) \
    X(str_on_init) X(str_on_update) X(str_on_expire) X(str_process) X(str_giveup)             \
    X(str_cleanup) X(str_name) X(str_volatile) X(str_init_function) X(str_dict)

static int nf_module_traverse(PyObject *module, visitproc visit, void *arg)
{
    struct nf_module_state *state = PyModule_GetState(module);

    if (state == NULL)
        return 0;
#define NF_VISIT(field) Py_VISIT(state->field);
    NF_STATE_OBJECTS(NF_VISIT)
#undef NF_VISIT
    return 0;
}

static int nf_module_clear(PyObject *module)
{
    struct nf_module_state *state = PyModule_GetState(module);

    if (state == NULL)
        return 0;
#define NF_CLEAR(field) Py_CLEAR(state->field);
    NF_STATE_OBJECTS(NF_CLEAR)
#undef NF_CLEAR
    return 0;
}

static void nf_module_free(void *module)
{
    nf_module_clear((PyObject *)module);
}

static PyMethodDef nf_module_methods[] = {
    {"_rebuild_flow", (PyCFunction)(void (*)(void))nf_flow_rebuild, METH_FASTCALL,
     "_rebuild_flow(keys, values)\n--\n\nRebuild a pickled NFlow from its columns."},
    {NULL, NULL, 0, NULL},
};

static PyModuleDef_Slot nf_module_slots[] = {
    {Py_mod_exec, nf_module_exec},
    {0, NULL},
};

static struct PyModuleDef nf_module_def = {
    PyModuleDef_HEAD_INIT,
    .m_name = "nfstream._engine",
    .m_doc = "C flow engine of nfstream: NFStreamer, NFlow, NFPacket and NFPlugin.",
    .m_size = sizeof(struct nf_module_state),
    .m_methods = nf_module_methods,
    .m_slots = nf_module_slots,
    .m_traverse = nf_module_traverse,
    .m_clear = nf_module_clear,
    .m_free = nf_module_free,
};

PyMODINIT_FUNC PyInit__engine(void)
{
    return PyModuleDef_Init(&nf_module_def);
}
