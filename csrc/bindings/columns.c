/*
 * columns.c - the fast path of to_pandas: one run without plugins, read
 * straight into one buffer per column.
 *
 * Numeric columns are packed as native 64-bit integers or doubles, which
 * nfstream._export turns into numpy arrays without copying. Strings and
 * SPLT lists are collected as Python objects. No NFlow is created, so a
 * flow costs a few stores per column instead of an object, two lists and
 * a Python loop (the path a run with plugins still takes).
 *
 * Text columns repeat a lot (addresses, MACs, application names, empty
 * fingerprints), so each keeps a small cache of the str objects it made
 * and stores the same object again for the same text. Building one str
 * per cell was a third of the run on a capture of 82k flows.
 */
#include "bindings.h"

#define NF_TEXT_CACHE_SIZE 1024 /* str objects kept per text column; a power of two */

struct nf_column {
    const struct nf_field *field;
    int type;          /* enum nf_number_type, set from the first flow */
    int needs_uint64;  /* an unsigned value did not fit in int64 */
    char *data;        /* packed values of a numeric column (PyMem) */
    size_t size;       /* bytes used in data */
    size_t capacity;
    PyObject *objects; /* list of the values of a column that is not numeric */
    PyObject **texts;  /* NF_TEXT_CACHE_SIZE recent str values of a text column, or NULL */
};

static void nf_columns_free(struct nf_column *columns, Py_ssize_t count)
{
    for (Py_ssize_t i = 0; columns != NULL && i < count; i++) {
        PyMem_Free(columns[i].data);
        Py_XDECREF(columns[i].objects);
        for (size_t slot = 0; columns[i].texts != NULL && slot < NF_TEXT_CACHE_SIZE; slot++)
            Py_XDECREF(columns[i].texts[slot]);
        PyMem_Free(columns[i].texts);
    }
    PyMem_Free(columns);
}

static int nf_column_push(struct nf_column *column, const void *value)
{
    if (column->size + 8 > column->capacity) {
        size_t capacity = column->capacity > 0 ? column->capacity * 2 : 4096;
        char *data = PyMem_Realloc(column->data, capacity);

        if (data == NULL) {
            PyErr_NoMemory();
            return -1;
        }
        column->data = data;
        column->capacity = capacity;
    }
    memcpy(column->data + column->size, value, 8);
    column->size += 8;
    return 0;
}

/* Returns a str for the text, from the column's cache when it made the same text before. */
static PyObject *nf_column_text(struct nf_column *column, const char *text, size_t length)
{
    uint64_t hash = UINT64_C(0xcbf29ce484222325);
    PyObject **slot;
    const char *cached;
    Py_ssize_t cached_length;

    if (column->texts == NULL &&
        (column->texts = PyMem_Calloc(NF_TEXT_CACHE_SIZE, sizeof(PyObject *))) == NULL)
        return PyErr_NoMemory();
    for (size_t i = 0; i < length; i++)
        hash = (hash ^ (unsigned char)text[i]) * UINT64_C(0x100000001b3);
    slot = &column->texts[hash & (NF_TEXT_CACHE_SIZE - 1)];
    if (*slot != NULL && (cached = PyUnicode_AsUTF8AndSize(*slot, &cached_length)) != NULL &&
        (size_t)cached_length == length && memcmp(cached, text, length) == 0)
        return Py_NewRef(*slot);
    PyErr_Clear();
    Py_XSETREF(*slot, PyUnicode_DecodeUTF8(text, (Py_ssize_t)length, "replace"));
    return Py_XNewRef(*slot);
}

/* Returns a new reference to the value of a column that is not numeric. */
static PyObject *nf_column_object(struct nf_column *column, const struct nf_flow *flow)
{
    char buffer[NF_FIELD_TEXT_SIZE];
    size_t length = 0;
    const char *text = nf_field_text(column->field, flow, buffer, &length);

    if (text != NULL)
        return nf_column_text(column, text, length);
    return nf_field_value(column->field, flow);
}

/* Appends one flow's value to a column. Returns 0, or -1 with an exception set. */
static int nf_column_add(struct nf_column *column, const struct nf_flow *flow)
{
    uint64_t integer = 0;
    double real = 0.0;
    int type = nf_field_number(column->field, flow, &integer, &real);

    if (column->objects == NULL && column->size == 0 && column->type == NF_NUMBER_NONE) {
        column->type = type;
        if (type == NF_NUMBER_NONE && (column->objects = PyList_New(0)) == NULL)
            return -1;
    }
    if (type == NF_NUMBER_NONE) {
        PyObject *value = nf_column_object(column, flow);
        int status = value == NULL ? -1 : PyList_Append(column->objects, value);

        Py_XDECREF(value);
        return status;
    }
    if (type == NF_NUMBER_UNSIGNED && integer > (uint64_t)INT64_MAX)
        column->needs_uint64 = 1;
    return nf_column_push(column, type == NF_NUMBER_REAL ? (const void *)&real : &integer);
}

/*
 * Returns (type code, payload): "q", "Q" or "d" with a bytearray (writable,
 * so the numpy array made from it is too), or "O" with a list.
 */
static PyObject *nf_column_result(struct nf_column *column)
{
    const char *code = "O";
    PyObject *packed;

    if (column->objects != NULL)
        return Py_BuildValue("(sO)", code, column->objects);
    if (column->type == NF_NUMBER_REAL)
        code = "d";
    else
        code = column->needs_uint64 ? "Q" : "q";
    packed = PyByteArray_FromStringAndSize(column->data, (Py_ssize_t)column->size);
    return packed == NULL ? NULL : Py_BuildValue("(sN)", code, packed);
}

static struct nf_column *nf_columns_prepare(const struct nf_layout_object *layout)
{
    Py_ssize_t count = PyTuple_GET_SIZE(layout->column_names);
    struct nf_column *columns = PyMem_Calloc((size_t)count + 1, sizeof(*columns));

    if (columns == NULL) {
        PyErr_NoMemory();
        return NULL;
    }
    for (Py_ssize_t i = 0; i < count; i++)
        columns[i].field = &nf_flow_fields[layout->field_indexes[i]];
    return columns;
}

/* Reads every flow of the iterator into the columns. Returns the flow count, or -1. */
static Py_ssize_t nf_columns_fill(PyObject *iterator, struct nf_column *columns,
                                  Py_ssize_t column_count)
{
    struct nf_flow *flow;
    Py_ssize_t flows = 0;
    int status;

    while ((status = nf_iterator_next_raw(iterator, &flow)) == 1) {
        for (Py_ssize_t i = 0; status == 1 && i < column_count; i++)
            if (nf_column_add(&columns[i], flow) < 0)
                status = -1;
        nf_flow_free(flow);
        if (status < 0)
            return -1;
        flows++;
    }
    return status < 0 ? -1 : flows;
}

static PyObject *nf_columns_build(const struct nf_layout_object *layout, struct nf_column *columns,
                                  Py_ssize_t flows)
{
    Py_ssize_t count = PyTuple_GET_SIZE(layout->column_names);
    PyObject *values = PyList_New(count);

    for (Py_ssize_t i = 0; values != NULL && i < count; i++) {
        PyObject *column = nf_column_result(&columns[i]);

        if (column == NULL) {
            Py_CLEAR(values);
            break;
        }
        PyList_SET_ITEM(values, i, column);
    }
    if (values == NULL)
        return NULL;
    return Py_BuildValue("(ONn)", layout->column_names, values, flows);
}

PyObject *nf_columns_collect(struct nf_module_state *state, PyObject *streamer,
                             const struct nf_run_options *options)
{
    PyObject *iterator, *result = NULL;
    const struct nf_layout_object *layout;
    struct nf_column *columns;
    Py_ssize_t count, flows;

    if (PyTuple_GET_SIZE(options->udps) > 0 || PyTuple_GET_SIZE(options->plugins) > 0)
        Py_RETURN_NONE;
    iterator = nf_iterator_create(state, streamer, options);
    if (iterator == NULL)
        return NULL;
    layout = (const struct nf_layout_object *)((struct nf_iterator_object *)iterator)->layout;
    count = PyTuple_GET_SIZE(layout->column_names);
    columns = nf_columns_prepare(layout);
    if (columns != NULL) {
        flows = nf_columns_fill(iterator, columns, count);
        if (flows >= 0)
            result = nf_columns_build(layout, columns, flows);
    }
    nf_columns_free(columns, count);
    Py_DECREF(iterator);
    return result;
}
