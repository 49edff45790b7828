/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Every struct, map key and constant shared between the eBPF programs
 * (the bpf/ programs) and user space (native/, and the TypeScript codec in
 * src/ztunnel/redirect/layout.ts). Fixed-width types only, explicit padding,
 * byte order stated per field. A unit test compares the TypeScript offsets
 * with the BTF of the compiled objects, so change both together.
 *
 * Addresses: 16 bytes in network byte order. An IPv4 address (and an
 * IPv4-mapped IPv6 address, which is normalised to IPv4) occupies bytes 0..3
 * and bytes 4..15 are zero; `family` says which.
 */
#ifndef AMBIT_SHARED_H
#define AMBIT_SHARED_H

#ifdef __bpf__
/* vmlinux.h provides __u8.. __u64 and __be16. */
#else
#include <linux/types.h>
#endif

/* Same values as the kernel's AF_INET / AF_INET6 (vmlinux.h has no macros). */
#define AMBIT_FAMILY_INET 2
#define AMBIT_FAMILY_INET6 10

#define AMBIT_PORT_OUTBOUND 15001
#define AMBIT_PORT_INBOUND_PLAINTEXT 15006
#define AMBIT_PORT_HBONE 15008

#define AMBIT_MAX_EXCLUDED_PORTS 16
#define AMBIT_MAX_EXCLUDED_CIDRS 8
#define AMBIT_UID_LEN 64

#define AMBIT_MAX_PODS 4096
#define AMBIT_MAX_POD_ADDRS 8192
#define AMBIT_MAX_PENDING 65536

/* Slots of the `listeners` sockhash within one pod. */
#define AMBIT_LISTENER_INBOUND_PLAINTEXT 0

/* Decisions counted by reason in the per-CPU `counters` array. */
enum ambit_counter {
	AMBIT_CNT_CONNECT_REDIRECTED = 0,
	AMBIT_CNT_CONNECT_PASS_NOT_ENROLLED = 1,
	AMBIT_CNT_CONNECT_PASS_LOOPBACK = 2,
	AMBIT_CNT_CONNECT_PASS_EXCLUDED_PORT = 3,
	AMBIT_CNT_CONNECT_PASS_EXCLUDED_CIDR = 4,
	AMBIT_CNT_CONNECT_PASS_NOT_TCP = 5,
	AMBIT_CNT_CONNECT_RECORD_FAILED = 6,
	AMBIT_CNT_SOCKOPS_RECORDED = 7,
	AMBIT_CNT_SOCKOPS_MISSED = 8,
	AMBIT_CNT_LOOKUP_ASSIGNED = 9,
	AMBIT_CNT_LOOKUP_PASS_LOOPBACK = 10,
	AMBIT_CNT_LOOKUP_PASS_HBONE = 11,
	AMBIT_CNT_LOOKUP_PASS_EXCLUDED_PORT = 12,
	AMBIT_CNT_LOOKUP_PASS_UNKNOWN_ADDR = 13,
	AMBIT_CNT_LOOKUP_DROP_NO_LISTENER = 14,
	AMBIT_CNT_LOOKUP_DROP_ASSIGN_FAILED = 15,
	AMBIT_CNT_MAX = 16,
};

/* An excluded destination range. */
struct ambit_cidr {
	__u8 addr[16];     /* network order, see above */
	__u16 family;      /* AMBIT_FAMILY_* */
	__u8 prefix_len;   /* 0..32 or 0..128 */
	__u8 _pad;
};                          /* 20 bytes */

/* An original destination, as the app passed it to connect(). */
struct ambit_orig_dst {
	__u8 addr[16];     /* network order, see above */
	__be16 port;       /* network order */
	__u16 family;      /* AMBIT_FAMILY_* */
	__u32 _pad;
};                          /* 24 bytes */

/*
 * pods: one entry per enrolled pod, keyed by the pod's network namespace
 * cookie (bpf_get_netns_cookie / SO_NETNS_COOKIE). The netns, not the
 * cgroup id, is the key because the pod's processes may sit in child cgroups
 * (one per container) of the cgroup the programs are attached to.
 */
struct pods_key {
	__u64 netns_cookie;
};

struct pods_value {
	__u64 cgroup_id;                                  /* inode of the pod cgroup, informational */
	__u32 flags;                                      /* reserved, 0 */
	__u16 excluded_port_count;                        /* <= AMBIT_MAX_EXCLUDED_PORTS */
	__u16 excluded_cidr_count;                        /* <= AMBIT_MAX_EXCLUDED_CIDRS */
	__u16 excluded_ports[AMBIT_MAX_EXCLUDED_PORTS];   /* host order */
	struct ambit_cidr excluded_cidrs[AMBIT_MAX_EXCLUDED_CIDRS];
	char uid[AMBIT_UID_LEN];                          /* pod UID, NUL-padded; user space only */
};                                                        /* 272 bytes */

/*
 * pod_addrs: pod IP -> the pod's netns cookie. sk_lookup programs cannot read
 * the netns cookie, but they see the destination address, and pod IPs are
 * unique in the cluster, so one program serves every pod through this map.
 */
struct pod_addrs_key {
	__u8 addr[16];     /* network order, see above */
	__u16 family;      /* AMBIT_FAMILY_* */
	__u16 _pad;
};                          /* 20 bytes */

struct pod_addrs_value {
	__u64 netns_cookie;
};

/* listeners (SOCKHASH): the agent's in-pod listening sockets. */
struct listeners_key {
	__u64 netns_cookie;
	__u32 slot;        /* AMBIT_LISTENER_* */
	__u32 _pad;
};                          /* 16 bytes; value: the socket (fd on update, cookie on lookup), u64 */

/* cookie_dst (LRU): socket cookie of a captured connect -> original destination, until established. */
struct cookie_dst_key {
	__u64 cookie;
};
#define cookie_dst_value ambit_orig_dst

/*
 * tuple_dst (LRU): the captured connection's 4-tuple as the app's socket sees
 * it (= the accepted socket's peer and local address), plus the netns cookie
 * because every pod has its own 127.0.0.1 -> original destination.
 */
struct tuple_dst_key {
	__u64 netns_cookie;
	__u8 src_addr[16];   /* network order, see above */
	__u8 dst_addr[16];   /* network order, see above */
	__be16 src_port;     /* network order */
	__be16 dst_port;     /* network order */
	__u16 family;        /* AMBIT_FAMILY_* */
	__u16 _pad;
};                            /* 48 bytes */
#define tuple_dst_value ambit_orig_dst

#endif /* AMBIT_SHARED_H */
