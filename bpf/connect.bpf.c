// SPDX-License-Identifier: Apache-2.0
/*
 * cgroup/connect4 and cgroup/connect6, attached to each enrolled pod's
 * cgroup: record the destination the app asked for under the socket cookie,
 * then rewrite it to the agent's in-pod outbound listener (127.0.0.1:15001,
 * [::1]:15001, or ::ffff:127.0.0.1:15001 for IPv4-mapped destinations).
 *
 * Not captured: non-TCP sockets, loopback and unspecified destinations,
 * pods without a `pods` entry, and the pod's excluded ports and CIDRs. The
 * agent's own sockets are in the agent's cgroup, so these programs never run
 * for them.
 */
#include "ambit_maps.h"

char LICENSE[] SEC("license") = "GPL";

#define AMBIT_SOCK_STREAM 1
#define ALLOW 1
#define REJECT 0

static __always_inline int port_excluded(const struct pods_value *pod, __u16 port)
{
	for (int i = 0; i < AMBIT_MAX_EXCLUDED_PORTS; i++) {
		if (i >= pod->excluded_port_count)
			break;
		if (pod->excluded_ports[i] == port)
			return 1;
	}
	return 0;
}

static __always_inline int cidr_contains(const struct ambit_cidr *cidr, const struct ambit_orig_dst *dst)
{
	__u32 bits = cidr->prefix_len;

	if (cidr->family != dst->family)
		return 0;
	for (int i = 0; i < 16; i++) {
		if (bits == 0)
			return 1;
		if (bits >= 8) {
			if (cidr->addr[i] != dst->addr[i])
				return 0;
			bits -= 8;
		} else {
			__u8 mask = (__u8)(0xff << (8 - bits));

			return ((cidr->addr[i] ^ dst->addr[i]) & mask) == 0;
		}
	}
	return 1;
}

static __always_inline int cidr_excluded(const struct pods_value *pod, const struct ambit_orig_dst *dst)
{
	for (int i = 0; i < AMBIT_MAX_EXCLUDED_CIDRS; i++) {
		if (i >= pod->excluded_cidr_count)
			break;
		if (cidr_contains(&pod->excluded_cidrs[i], dst))
			return 1;
	}
	return 0;
}

/* Decides whether to capture this connect; records the destination when it does. */
static __always_inline enum ambit_counter decide(struct bpf_sock_addr *ctx, const struct ambit_orig_dst *dst,
						 int loopback)
{
	struct pods_key key = {};
	struct cookie_dst_key pending = {};
	struct pods_value *pod;

	if (ctx->type != AMBIT_SOCK_STREAM)
		return AMBIT_CNT_CONNECT_PASS_NOT_TCP;
	if (loopback)
		return AMBIT_CNT_CONNECT_PASS_LOOPBACK;
	key.netns_cookie = bpf_get_netns_cookie(ctx);
	pod = bpf_map_lookup_elem(&pods, &key);
	if (!pod)
		return AMBIT_CNT_CONNECT_PASS_NOT_ENROLLED;
	if (port_excluded(pod, bpf_ntohs(dst->port)))
		return AMBIT_CNT_CONNECT_PASS_EXCLUDED_PORT;
	if (cidr_excluded(pod, dst))
		return AMBIT_CNT_CONNECT_PASS_EXCLUDED_CIDR;
	pending.cookie = bpf_get_socket_cookie(ctx);
	if (bpf_map_update_elem(&cookie_dst, &pending, dst, BPF_ANY))
		return AMBIT_CNT_CONNECT_RECORD_FAILED;
	return AMBIT_CNT_CONNECT_REDIRECTED;
}

/*
 * A capture whose destination could not be recorded is refused (EPERM)
 * rather than let through: capture fails closed.
 */
static __always_inline int verdict(enum ambit_counter reason)
{
	count(reason);
	return reason == AMBIT_CNT_CONNECT_RECORD_FAILED ? REJECT : ALLOW;
}

SEC("cgroup/connect4")
int ambit_connect4(struct bpf_sock_addr *ctx)
{
	struct ambit_orig_dst dst = {};
	__u32 ip = ctx->user_ip4;
	__u32 host = bpf_ntohl(ip);
	enum ambit_counter reason;

	__builtin_memcpy(dst.addr, &ip, 4);
	dst.port = (__be16)ctx->user_port;
	dst.family = AMBIT_FAMILY_INET;
	reason = decide(ctx, &dst, (host >> 24) == 127 || host == 0);
	if (reason == AMBIT_CNT_CONNECT_REDIRECTED) {
		ctx->user_ip4 = bpf_htonl(0x7f000001);
		ctx->user_port = bpf_htons(AMBIT_PORT_OUTBOUND);
	}
	return verdict(reason);
}

SEC("cgroup/connect6")
int ambit_connect6(struct bpf_sock_addr *ctx)
{
	struct ambit_orig_dst dst = {};
	__u32 ip[4];
	enum ambit_counter reason;
	int mapped, loopback;

	ip[0] = ctx->user_ip6[0];
	ip[1] = ctx->user_ip6[1];
	ip[2] = ctx->user_ip6[2];
	ip[3] = ctx->user_ip6[3];
	mapped = is_v4_mapped(ip);
	dst.port = (__be16)ctx->user_port;
	if (mapped) {
		__u32 host = bpf_ntohl(ip[3]);

		__builtin_memcpy(dst.addr, &ip[3], 4);
		dst.family = AMBIT_FAMILY_INET;
		loopback = (host >> 24) == 127 || host == 0;
	} else {
		__builtin_memcpy(dst.addr, ip, 16);
		dst.family = AMBIT_FAMILY_INET6;
		loopback = ip[0] == 0 && ip[1] == 0 && ip[2] == 0 && (ip[3] == 0 || ip[3] == bpf_htonl(1));
	}
	reason = decide(ctx, &dst, loopback);
	if (reason == AMBIT_CNT_CONNECT_REDIRECTED) {
		ctx->user_ip6[0] = 0;
		ctx->user_ip6[1] = 0;
		ctx->user_ip6[2] = mapped ? bpf_htonl(0x0000ffff) : 0;
		ctx->user_ip6[3] = mapped ? bpf_htonl(0x7f000001) : bpf_htonl(1);
		ctx->user_port = bpf_htons(AMBIT_PORT_OUTBOUND);
	}
	return verdict(reason);
}
