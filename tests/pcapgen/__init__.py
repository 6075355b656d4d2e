"""Build packets and write pcap / pcapng captures for the tests (standard library only).

The package has these modules, all re-exported here so tests can write
``from pcapgen import ethernet, udp_packet, write_pcap``:

* ``capture``: classic pcap (either byte order, microsecond or nanosecond magic, any link
  type, per-record caplen/wirelen override) and pcapng (SHB, IDB with if_tsresol, EPB; several
  sections by concatenating the bytes of several ``pcapng_section`` calls);
* ``link``, ``ip``, ``tunnels``: link layers, IPv4/IPv6 with extension headers, UDP/TCP/ICMP,
  GTP-U/TZSP/CAPWAP;
* ``payloads``: DNS, mDNS, HTTP, TLS, DHCP;
* ``conversation``: frames of a two-endpoint exchange with TCP sequence numbers kept for you;
* ``sample``: the records of examples/sample.pcap.

Addresses are strings ("192.0.2.1", "2001:db8::1"). MAC addresses are strings
("02:00:00:00:00:01") or 6 bytes. Every builder returns ``bytes``. Transport checksums are
computed when the caller passes the IP addresses (``src``/``dst``), because they cover a
pseudo-header. The IPv6 pseudo-header uses ``dst`` as given, so with a routing header the
caller must pass the final destination.

Regenerate the sample capture from the repository root with::

    PYTHONPATH=tests python -m pcapgen sample examples/sample.pcap
"""

from .common import (
    LINKTYPE_NULL, LINKTYPE_ETHERNET, LINKTYPE_PPP, LINKTYPE_RAW, LINKTYPE_PPP_HDLC,
    LINKTYPE_C_HDLC, LINKTYPE_LINUX_SLL, LINKTYPE_IEEE802_11_RADIOTAP, LINKTYPE_IPV4,
    LINKTYPE_IPV6, ETHERTYPE_IPV4, ETHERTYPE_IPV6, ETHERTYPE_VLAN, ETHERTYPE_QINQ,
    ETHERTYPE_MPLS, ETHERTYPE_PPPOE_SESSION, PPP_IPV4, PPP_IPV6, IPPROTO_HOPOPTS, IPPROTO_ICMP,
    IPPROTO_IPIP, IPPROTO_TCP, IPPROTO_UDP, IPPROTO_IPV6, IPPROTO_ROUTING, IPPROTO_FRAGMENT,
    IPPROTO_ICMPV6, IPPROTO_NONE, IPPROTO_DSTOPTS, IP_DF, IP_MF, TCP_FIN, TCP_SYN, TCP_RST,
    TCP_PSH, TCP_ACK, TCP_URG, TCP_ECE, TCP_CWR, CLIENT_MAC, SERVER_MAC, mac_bytes, is_ipv6,
)
from .capture import (
    Record, Interface, make_records, pcap_bytes, write_pcap, pcapng_section, write_pcapng,
    truncate_file,
)
from .link import (
    ethernet, mpls, pppoe_session, llc_snap, stp_bpdu, ethernet_8023, linux_sll, dlt_null, ppp,
    ppp_serial, cisco_hdlc, ieee80211_data, radiotap, radiotap_wifi,
)
from .ip import (
    internet_checksum, ipv4, ExtensionHeader, hop_by_hop, destination_options, routing_header,
    fragment_header, ipv6, ip_packet, ip_in_ip, udp, tcp_flags, tcp_options, tcp, icmp_echo,
    icmpv6_echo, udp_packet, tcp_packet, icmp_echo_packet,
)
from .tunnels import (
    GTP_U_PORT, TZSP_PORT, CAPWAP_DATA_PORT, gtp_u, tzsp, capwap_data, capwap_wifi,
)
from .payloads import (
    dns_name, dns_query, dns_response, mdns_ptr_response, http_get, http_response,
    tls_client_hello, tls_server_hello, dhcp_message, dhcp_discover, dhcp_request,
)
from .conversation import (
    Endpoint, Step, tcp_handshake, tcp_teardown, conversation,
)
from .sample import (
    SAMPLE_START_NS, sample_records, write_sample,
)

__all__ = [
    "LINKTYPE_NULL",
    "LINKTYPE_ETHERNET",
    "LINKTYPE_PPP",
    "LINKTYPE_RAW",
    "LINKTYPE_PPP_HDLC",
    "LINKTYPE_C_HDLC",
    "LINKTYPE_LINUX_SLL",
    "LINKTYPE_IEEE802_11_RADIOTAP",
    "LINKTYPE_IPV4",
    "LINKTYPE_IPV6",
    "ETHERTYPE_IPV4",
    "ETHERTYPE_IPV6",
    "ETHERTYPE_VLAN",
    "ETHERTYPE_QINQ",
    "ETHERTYPE_MPLS",
    "ETHERTYPE_PPPOE_SESSION",
    "PPP_IPV4",
    "PPP_IPV6",
    "IPPROTO_HOPOPTS",
    "IPPROTO_ICMP",
    "IPPROTO_IPIP",
    "IPPROTO_TCP",
    "IPPROTO_UDP",
    "IPPROTO_IPV6",
    "IPPROTO_ROUTING",
    "IPPROTO_FRAGMENT",
    "IPPROTO_ICMPV6",
    "IPPROTO_NONE",
    "IPPROTO_DSTOPTS",
    "IP_DF",
    "IP_MF",
    "TCP_FIN",
    "TCP_SYN",
    "TCP_RST",
    "TCP_PSH",
    "TCP_ACK",
    "TCP_URG",
    "TCP_ECE",
    "TCP_CWR",
    "CLIENT_MAC",
    "SERVER_MAC",
    "mac_bytes",
    "is_ipv6",
    "Record",
    "Interface",
    "make_records",
    "pcap_bytes",
    "write_pcap",
    "pcapng_section",
    "write_pcapng",
    "truncate_file",
    "ethernet",
    "mpls",
    "pppoe_session",
    "llc_snap",
    "stp_bpdu",
    "ethernet_8023",
    "linux_sll",
    "dlt_null",
    "ppp",
    "ppp_serial",
    "cisco_hdlc",
    "ieee80211_data",
    "radiotap",
    "radiotap_wifi",
    "internet_checksum",
    "ipv4",
    "ExtensionHeader",
    "hop_by_hop",
    "destination_options",
    "routing_header",
    "fragment_header",
    "ipv6",
    "ip_packet",
    "ip_in_ip",
    "udp",
    "tcp_flags",
    "tcp_options",
    "tcp",
    "icmp_echo",
    "icmpv6_echo",
    "udp_packet",
    "tcp_packet",
    "icmp_echo_packet",
    "GTP_U_PORT",
    "TZSP_PORT",
    "CAPWAP_DATA_PORT",
    "gtp_u",
    "tzsp",
    "capwap_data",
    "capwap_wifi",
    "dns_name",
    "dns_query",
    "dns_response",
    "mdns_ptr_response",
    "http_get",
    "http_response",
    "tls_client_hello",
    "tls_server_hello",
    "dhcp_message",
    "dhcp_discover",
    "dhcp_request",
    "Endpoint",
    "Step",
    "tcp_handshake",
    "tcp_teardown",
    "conversation",
    "SAMPLE_START_NS",
    "sample_records",
    "write_sample",
]
