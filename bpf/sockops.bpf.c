// SPDX-License-Identifier: Apache-2.0
/*
 * sockops, attached to each enrolled pod's cgroup: once a captured
 * connection is established, move its original destination from the
 * socket-cookie record to one keyed by the connection's 4-tuple (plus the
 * netns cookie), which the agent can compute from the socket it accepted:
 * the app's local address is the accepted socket's peer.
 *
 * Records are not deleted on close: the agent may accept after the app has
 * already closed; the LRU bounds the map instead.
 */
#include "ambit_maps.h"

char LICENSE[] SEC("license") = "GPL";

/* Copies an address into the shared 16-byte form, IPv4-mapped IPv6 as IPv4. */
static __always_inline __u16 put_addr(__u8 out[16], __u32 family, __u32 ip4, const __u32 ip6[4])
{
	if (family == AMBIT_FAMILY_INET) {
		__builtin_memcpy(out, &ip4, 4);
		return AMBIT_FAMILY_INET;
	}
	if (is_v4_mapped(ip6)) {
		__builtin_memcpy(out, &ip6[3], 4);
		return AMBIT_FAMILY_INET;
	}
	__builtin_memcpy(out, ip6, 16);
	return AMBIT_FAMILY_INET6;
}

static __always_inline int file_record(struct bpf_sock_ops *skops)
{
	struct cookie_dst_key pending = {};
	struct tuple_dst_key key = {};
	struct ambit_orig_dst *dst;
	__u32 local6[4], remote6[4];
	__u32 remote_port = skops->remote_port;
	__be16 dst_port;

	/*
	 * remote_port holds the network-order port shifted into the upper 16
	 * bits on little-endian hosts (a long-standing quirk of this field, which
	 * uapi documents only as "network byte order"); the other half is zero,
	 * so OR-ing both halves is right whichever half the kernel uses.
	 */
	dst_port = (__be16)((remote_port >> 16) | (remote_port & 0xffff));
	pending.cookie = bpf_get_socket_cookie(skops);
	dst = bpf_map_lookup_elem(&cookie_dst, &pending);
	if (!dst)
		return dst_port == bpf_htons(AMBIT_PORT_OUTBOUND) ? AMBIT_CNT_SOCKOPS_MISSED : -1;

	local6[0] = skops->local_ip6[0];
	local6[1] = skops->local_ip6[1];
	local6[2] = skops->local_ip6[2];
	local6[3] = skops->local_ip6[3];
	remote6[0] = skops->remote_ip6[0];
	remote6[1] = skops->remote_ip6[1];
	remote6[2] = skops->remote_ip6[2];
	remote6[3] = skops->remote_ip6[3];

	key.netns_cookie = bpf_get_netns_cookie(skops);
	key.family = put_addr(key.src_addr, skops->family, skops->local_ip4, local6);
	put_addr(key.dst_addr, skops->family, skops->remote_ip4, remote6);
	key.src_port = bpf_htons((__u16)skops->local_port);
	key.dst_port = dst_port;
	if (bpf_map_update_elem(&tuple_dst, &key, dst, BPF_ANY))
		return AMBIT_CNT_SOCKOPS_MISSED;
	bpf_map_delete_elem(&cookie_dst, &pending);
	return AMBIT_CNT_SOCKOPS_RECORDED;
}

SEC("sockops")
int ambit_sockops(struct bpf_sock_ops *skops)
{
	if (skops->op == BPF_SOCK_OPS_ACTIVE_ESTABLISHED_CB) {
		int reason = file_record(skops);

		if (reason >= 0)
			count(reason);
	}
	return 1;
}
