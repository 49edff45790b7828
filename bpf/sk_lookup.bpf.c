// SPDX-License-Identifier: Apache-2.0
/*
 * sk_lookup, attached to each enrolled pod's network namespace: assign
 * incoming TCP to the agent's in-pod inbound plaintext listener (15006),
 * taken from the `listeners` sockhash. The accepted socket's local address
 * stays the original destination.
 *
 * Not captured: traffic arriving on lo or sent from inside the pod (the
 * agent reaches the app that way),
 * HBONE (15008, the agent's own listener), destinations that are not a known
 * pod address, and the pod's excluded ports. A known pod address whose
 * listener is missing (agent down) is dropped: capture fails closed.
 */
#include "ambit_maps.h"

char LICENSE[] SEC("license") = "GPL";

#define AMBIT_IPPROTO_TCP 6
/* The kernel gives lo ifindex 1 in every network namespace (LOOPBACK_IFINDEX). */
#define AMBIT_LOOPBACK_IFINDEX 1

/*
 * Local traffic (the agent reaching the app through the pod IP, the app
 * calling itself) is routed over lo, but the lookup reports the device that
 * owns the address as ingress, not lo. What marks it is the source: a
 * loopback address or one of the same pod's own addresses.
 */
static __always_inline int from_inside(struct bpf_sk_lookup *ctx, __u64 netns_cookie)
{
	struct pod_addrs_key src = {};
	struct pod_addrs_value *owner;
	__u32 ip6[4];

	if (ctx->family == AMBIT_FAMILY_INET) {
		__u32 ip4 = ctx->remote_ip4;

		if ((bpf_ntohl(ip4) >> 24) == 127)
			return 1;
		__builtin_memcpy(src.addr, &ip4, 4);
		src.family = AMBIT_FAMILY_INET;
	} else {
		ip6[0] = ctx->remote_ip6[0];
		ip6[1] = ctx->remote_ip6[1];
		ip6[2] = ctx->remote_ip6[2];
		ip6[3] = ctx->remote_ip6[3];
		if (ip6[0] == 0 && ip6[1] == 0 && ip6[2] == 0 && ip6[3] == bpf_htonl(1))
			return 1;
		if (is_v4_mapped(ip6)) {
			if ((bpf_ntohl(ip6[3]) >> 24) == 127)
				return 1;
			__builtin_memcpy(src.addr, &ip6[3], 4);
			src.family = AMBIT_FAMILY_INET;
		} else {
			__builtin_memcpy(src.addr, ip6, 16);
			src.family = AMBIT_FAMILY_INET6;
		}
	}
	owner = bpf_map_lookup_elem(&pod_addrs, &src);
	return owner && owner->netns_cookie == netns_cookie;
}

static __always_inline int steer(struct bpf_sk_lookup *ctx)
{
	struct pod_addrs_key addr = {};
	struct listeners_key listener = {};
	struct pod_addrs_value *owner;
	struct pods_key pod_key = {};
	struct pods_value *pod;
	struct bpf_sock *sk;
	__u32 ip6[4];
	long err;

	if (ctx->protocol != AMBIT_IPPROTO_TCP)
		return -1;
	if (ctx->ingress_ifindex == AMBIT_LOOPBACK_IFINDEX)
		return AMBIT_CNT_LOOKUP_PASS_LOOPBACK;

	if (ctx->family == AMBIT_FAMILY_INET) {
		__u32 ip4 = ctx->local_ip4;

		__builtin_memcpy(addr.addr, &ip4, 4);
		addr.family = AMBIT_FAMILY_INET;
	} else {
		ip6[0] = ctx->local_ip6[0];
		ip6[1] = ctx->local_ip6[1];
		ip6[2] = ctx->local_ip6[2];
		ip6[3] = ctx->local_ip6[3];
		if (is_v4_mapped(ip6)) {
			__builtin_memcpy(addr.addr, &ip6[3], 4);
			addr.family = AMBIT_FAMILY_INET;
		} else {
			__builtin_memcpy(addr.addr, ip6, 16);
			addr.family = AMBIT_FAMILY_INET6;
		}
	}
	owner = bpf_map_lookup_elem(&pod_addrs, &addr);
	if (!owner)
		return AMBIT_CNT_LOOKUP_PASS_UNKNOWN_ADDR;
	if (from_inside(ctx, owner->netns_cookie))
		return AMBIT_CNT_LOOKUP_PASS_LOOPBACK;
	if (ctx->local_port == AMBIT_PORT_HBONE)
		return AMBIT_CNT_LOOKUP_PASS_HBONE;

	pod_key.netns_cookie = owner->netns_cookie;
	pod = bpf_map_lookup_elem(&pods, &pod_key);
	if (pod) {
		for (int i = 0; i < AMBIT_MAX_EXCLUDED_PORTS; i++) {
			if (i >= pod->excluded_port_count)
				break;
			if (pod->excluded_ports[i] == ctx->local_port)
				return AMBIT_CNT_LOOKUP_PASS_EXCLUDED_PORT;
		}
	}

	listener.netns_cookie = owner->netns_cookie;
	listener.slot = AMBIT_LISTENER_INBOUND_PLAINTEXT;
	sk = bpf_map_lookup_elem(&listeners, &listener);
	if (!sk)
		return AMBIT_CNT_LOOKUP_DROP_NO_LISTENER;
	err = bpf_sk_assign(ctx, sk, 0);
	bpf_sk_release(sk);
	if (err)
		return AMBIT_CNT_LOOKUP_DROP_ASSIGN_FAILED;
	return AMBIT_CNT_LOOKUP_ASSIGNED;
}

SEC("sk_lookup")
int ambit_sk_lookup(struct bpf_sk_lookup *ctx)
{
	int reason = steer(ctx);

	if (reason < 0)
		return SK_PASS;
	count(reason);
	if (reason == AMBIT_CNT_LOOKUP_DROP_NO_LISTENER || reason == AMBIT_CNT_LOOKUP_DROP_ASSIGN_FAILED)
		return SK_DROP;
	return SK_PASS;
}
