/*
 * packet_object.c - NFPacket, the packet a plugin hook receives.
 *
 * A new small object is made per hook call. It holds a copy of struct
 * nf_packet and of the flow's first-packet addresses, and computes every
 * field on access, as nfstream's NFPacket fields are defined: the
 * addresses are the flow's, swapped when the packet goes dst2src, while
 * the ports are the packet's own. packet.ip_data points into the capture
 * buffer and is valid only during the hook call, so the IP bytes are
 * copied when the hook returns only if the object is still referenced.
 *
 * The type has no GC support because the only object it holds is a bytes
 * object, which cannot be part of a reference cycle.
 */
#include "bindings.h"

#include <arpa/inet.h>
#include <stddef.h>
#include <sys/socket.h>

struct nf_packet_object {
    PyObject_HEAD
    struct nf_packet packet;  /* packet.ip_data is NULL once the hook returned */
    uint8_t flow_src_ip[16];
    uint8_t flow_dst_ip[16];
    uint8_t flow_src_mac[6];
    uint8_t flow_dst_mac[6];
    uint8_t flow_ip_version;
    int accounting_mode;
    PyObject *ip_packet;      /* bytes, made on first read or when the hook returns */
};

enum nf_packet_field_kind {
    NF_PACKET_TIME,
    NF_PACKET_DELTA_TIME,
    NF_PACKET_UINT8,
    NF_PACKET_UINT16,
    NF_PACKET_IP,
    NF_PACKET_MAC,
    NF_PACKET_OUI,
    NF_PACKET_IP_BYTES,
    NF_PACKET_FLAG,
    NF_PACKET_LENGTH,
};

struct nf_packet_field {
    const char *name;
    enum nf_packet_field_kind kind;
    size_t argument; /* offset in struct nf_packet, TCP flag bit, or 0 src / 1 dst */
};

#define NF_PACKET_MEMBER(name, kind) {#name, kind, offsetof(struct nf_packet, name)}

/* Field order is that of nfstream's NFPacket namedtuple; `length` is an alias. */
static const struct nf_packet_field nf_packet_fields[] = {
    {"time", NF_PACKET_TIME, 0},
    {"delta_time", NF_PACKET_DELTA_TIME, 0},
    NF_PACKET_MEMBER(direction, NF_PACKET_UINT8),
    NF_PACKET_MEMBER(raw_size, NF_PACKET_UINT16),
    NF_PACKET_MEMBER(ip_size, NF_PACKET_UINT16),
    NF_PACKET_MEMBER(transport_size, NF_PACKET_UINT16),
    NF_PACKET_MEMBER(payload_size, NF_PACKET_UINT16),
    {"src_ip", NF_PACKET_IP, 0},
    {"src_mac", NF_PACKET_MAC, 0},
    {"src_oui", NF_PACKET_OUI, 0},
    {"dst_ip", NF_PACKET_IP, 1},
    {"dst_mac", NF_PACKET_MAC, 1},
    {"dst_oui", NF_PACKET_OUI, 1},
    NF_PACKET_MEMBER(src_port, NF_PACKET_UINT16),
    NF_PACKET_MEMBER(dst_port, NF_PACKET_UINT16),
    NF_PACKET_MEMBER(protocol, NF_PACKET_UINT8),
    NF_PACKET_MEMBER(vlan_id, NF_PACKET_UINT16),
    NF_PACKET_MEMBER(ip_version, NF_PACKET_UINT8),
    {"ip_packet", NF_PACKET_IP_BYTES, 0},
    {"syn", NF_PACKET_FLAG, NF_TCP_SYN},
    {"cwr", NF_PACKET_FLAG, NF_TCP_CWR},
    {"ece", NF_PACKET_FLAG, NF_TCP_ECE},
    {"urg", NF_PACKET_FLAG, NF_TCP_URG},
    {"ack", NF_PACKET_FLAG, NF_TCP_ACK},
    {"psh", NF_PACKET_FLAG, NF_TCP_PSH},
    {"rst", NF_PACKET_FLAG, NF_TCP_RST},
    {"fin", NF_PACKET_FLAG, NF_TCP_FIN},
    NF_PACKET_MEMBER(tunnel_id, NF_PACKET_UINT8),
    {"length", NF_PACKET_LENGTH, 0},
};

#define NF_PACKET_FIELD_COUNT (sizeof(nf_packet_fields) / sizeof(nf_packet_fields[0]))

/* The fields repr shows: all but the `length` alias. */
#define NF_PACKET_REPR_COUNT (NF_PACKET_FIELD_COUNT - 1)

static PyGetSetDef nf_packet_getset[NF_PACKET_FIELD_COUNT + 1];

static PyObject *nf_packet_ip_bytes(struct nf_packet_object *self)
{
    if (self->ip_packet == NULL) {
        if (self->packet.ip_data == NULL)
            return PyBytes_FromStringAndSize(NULL, 0);
        self->ip_packet = PyBytes_FromStringAndSize((const char *)self->packet.ip_data,
                                                    self->packet.ip_caplen);
        if (self->ip_packet == NULL)
            return NULL;
    }
    return Py_NewRef(self->ip_packet);
}

/* Size of the packet under the accounting mode: raw, IP, transport or payload. */
static unsigned nf_packet_length(const struct nf_packet_object *self)
{
    switch (self->accounting_mode) {
    case 1:
        return self->packet.ip_size;
    case 2:
        return self->packet.transport_size;
    case 3:
        return self->packet.payload_size;
    default:
        return self->packet.raw_size;
    }
}

/* Endpoint strings: the flow's source side is this packet's source when direction is 0. */
static PyObject *nf_packet_endpoint(struct nf_packet_object *self,
                                    const struct nf_packet_field *field)
{
    int flow_source = (field->argument == 0) == (self->packet.direction == 0);
    const uint8_t *ip = flow_source ? self->flow_src_ip : self->flow_dst_ip;
    const uint8_t *mac = flow_source ? self->flow_src_mac : self->flow_dst_mac;
    char text[INET6_ADDRSTRLEN];

    if (field->kind == NF_PACKET_IP) {
        int family = self->flow_ip_version == 4 ? AF_INET : AF_INET6;
        if (inet_ntop(family, ip, text, sizeof(text)) == NULL)
            text[0] = '\0';
        return PyUnicode_FromString(text);
    }
    snprintf(text, sizeof(text), "%02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1], mac[2],
             mac[3], mac[4], mac[5]);
    return PyUnicode_FromStringAndSize(text, field->kind == NF_PACKET_OUI ? 8 : 17);
}

static PyObject *nf_packet_get_field(struct nf_packet_object *self, void *closure)
{
    const struct nf_packet_field *field = closure;
    const char *base = (const char *)&self->packet + field->argument;

    switch (field->kind) {
    case NF_PACKET_TIME:
        return PyLong_FromUnsignedLongLong(nf_ms(self->packet.time_ns));
    case NF_PACKET_DELTA_TIME:
        return PyLong_FromUnsignedLongLong(self->packet.delta_ms);
    case NF_PACKET_UINT8:
        return PyLong_FromLong(*(const uint8_t *)base);
    case NF_PACKET_UINT16:
        return PyLong_FromLong(*(const uint16_t *)base);
    case NF_PACKET_IP_BYTES:
        return nf_packet_ip_bytes(self);
    case NF_PACKET_FLAG:
        return PyLong_FromLong((self->packet.tcp_flags & field->argument) != 0);
    case NF_PACKET_LENGTH:
        return PyLong_FromUnsignedLong(nf_packet_length(self));
    default:
        return nf_packet_endpoint(self, field);
    }
}

/* Fills the getset table from the field table; called once before the type is created. */
void nf_packet_prepare_spec(void)
{
    if (nf_packet_getset[0].name != NULL)
        return;
    for (size_t i = 0; i < NF_PACKET_FIELD_COUNT; i++)
        nf_packet_getset[i] = (PyGetSetDef){nf_packet_fields[i].name,
                                            (getter)nf_packet_get_field, NULL, NULL,
                                            (void *)&nf_packet_fields[i]};
}

PyObject *nf_packet_object_create(struct nf_module_state *state, const struct nf_flow *flow,
                                  const struct nf_packet *packet, int accounting_mode)
{
    struct nf_packet_object *self = PyObject_New(struct nf_packet_object, state->packet_type);

    if (self == NULL)
        return NULL;
    self->packet = *packet;
    memcpy(self->flow_src_ip, flow->src_ip, sizeof(self->flow_src_ip));
    memcpy(self->flow_dst_ip, flow->dst_ip, sizeof(self->flow_dst_ip));
    memcpy(self->flow_src_mac, flow->src_mac, sizeof(self->flow_src_mac));
    memcpy(self->flow_dst_mac, flow->dst_mac, sizeof(self->flow_dst_mac));
    self->flow_ip_version = flow->ip_version;
    self->accounting_mode = accounting_mode;
    self->ip_packet = NULL;
    return (PyObject *)self;
}

int nf_packet_object_release(PyObject *packet_object)
{
    struct nf_packet_object *self = (struct nf_packet_object *)packet_object;
    int status = 0;

    /* A plugin kept the packet: copy the bytes before the capture buffer is reused. */
    if (Py_REFCNT(packet_object) > 1 && self->ip_packet == NULL &&
        self->packet.ip_data != NULL) {
        self->ip_packet = PyBytes_FromStringAndSize((const char *)self->packet.ip_data,
                                                    self->packet.ip_caplen);
        if (self->ip_packet == NULL)
            status = -1;
    }
    self->packet.ip_data = NULL;
    Py_DECREF(packet_object);
    return status;
}

/* Returns "NFPacket(time=..., ...)" with the repr of every field. */
static PyObject *nf_packet_repr(struct nf_packet_object *self)
{
    PyObject *items = PyList_New(NF_PACKET_REPR_COUNT), *separator = NULL, *body = NULL;
    PyObject *result = NULL;

    for (size_t i = 0; items != NULL && i < NF_PACKET_REPR_COUNT; i++) {
        PyObject *value = nf_packet_get_field(self, (void *)&nf_packet_fields[i]);
        PyObject *item = value == NULL ? NULL
                                       : PyUnicode_FromFormat("%s=%R", nf_packet_fields[i].name,
                                                              value);
        Py_XDECREF(value);
        if (item == NULL)
            goto done;
        PyList_SET_ITEM(items, (Py_ssize_t)i, item);
    }
    separator = PyUnicode_FromString(", ");
    if (items == NULL || separator == NULL)
        goto done;
    body = PyUnicode_Join(separator, items);
    if (body != NULL)
        result = PyUnicode_FromFormat("NFPacket(%U)", body);

done:
    Py_XDECREF(items);
    Py_XDECREF(separator);
    Py_XDECREF(body);
    return result;
}

static void nf_packet_dealloc(struct nf_packet_object *self)
{
    PyTypeObject *type = Py_TYPE(self);

    Py_CLEAR(self->ip_packet);
    type->tp_free(self);
    Py_DECREF(type);
}

static PyType_Slot nf_packet_slots[] = {
    {Py_tp_doc, "The packet passed to plugin hooks; fields are computed on access."},
    {Py_tp_dealloc, nf_packet_dealloc},
    {Py_tp_repr, nf_packet_repr},
    {Py_tp_getset, nf_packet_getset},
    {0, NULL},
};

PyType_Spec nf_packet_spec = {
    .name = "nfstream._engine.NFPacket",
    .basicsize = sizeof(struct nf_packet_object),
    .flags = Py_TPFLAGS_DEFAULT
#ifdef Py_TPFLAGS_DISALLOW_INSTANTIATION
             | Py_TPFLAGS_DISALLOW_INSTANTIATION
#endif
    ,
    .slots = nf_packet_slots,
};
