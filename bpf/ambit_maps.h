/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The maps, declared BTF-style and pinned by name, so that every object
 * loaded with the same pin directory shares them.
 */
#ifndef AMBIT_MAPS_H
#define AMBIT_MAPS_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include "ambit_shared.h"

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, AMBIT_MAX_PODS);
	__type(key, struct pods_key);
	__type(value, struct pods_value);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} pods SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, AMBIT_MAX_POD_ADDRS);
	__type(key, struct pod_addrs_key);
	__type(value, struct pod_addrs_value);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} pod_addrs SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_SOCKHASH);
	__uint(max_entries, AMBIT_MAX_PODS);
	__type(key, struct listeners_key);
	__type(value, __u64);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} listeners SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, AMBIT_MAX_PENDING);
	__type(key, struct cookie_dst_key);
	__type(value, struct cookie_dst_value);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} cookie_dst SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, AMBIT_MAX_PENDING);
	__type(key, struct tuple_dst_key);
	__type(value, struct tuple_dst_value);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} tuple_dst SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, AMBIT_CNT_MAX);
	__type(key, __u32);
	__type(value, __u64);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} counters SEC(".maps");

static __always_inline void count(enum ambit_counter reason)
{
	__u32 key = reason;
	__u64 *value = bpf_map_lookup_elem(&counters, &key);

	if (value)
		*value += 1; /* per-CPU slot: no atomics needed */
}

/* True for ::ffff:a.b.c.d, which is IPv4 for our purposes. */
static __always_inline int is_v4_mapped(const __u32 addr[4])
{
	return addr[0] == 0 && addr[1] == 0 && addr[2] == bpf_htonl(0x0000ffff);
}

#endif /* AMBIT_MAPS_H */
