/**
 * The mesh's well-known ports and the capture layer's fixed limits, defined
 * once. The values that the eBPF programs also use are `#define`s in
 * bpf/ambit_shared.h; test/unit/ztunnel/redirect/layout.test.ts checks that
 * both say the same.
 */

/** The node agent's in-pod outbound listener: captured `connect()`s land here (AMBIT_PORT_OUTBOUND). */
export const PORT_OUTBOUND = 15001;
/** The node agent's in-pod inbound plaintext listener: sk_lookup assigns inbound TCP here (AMBIT_PORT_INBOUND_PLAINTEXT). */
export const PORT_INBOUND_PLAINTEXT = 15006;
/** HBONE (HTTP/2 CONNECT over mTLS): never captured inbound, served by the agent's in-pod listener (AMBIT_PORT_HBONE). */
export const PORT_HBONE = 15008;
/** The node agent's admin listener (loopback). */
export const PORT_ADMIN = 15000;
/** The node agent's Prometheus listener. */
export const PORT_STATS = 15020;
/** The node agent's readiness listener. */
export const PORT_READINESS = 15021;
/** istiod's plaintext xDS (local clusters only). */
export const PORT_XDS_PLAINTEXT = 15010;
/** istiod's TLS xDS and CA. */
export const PORT_XDS_TLS = 15012;

/** The node agent's own ports: traffic aimed at them from a pod is a loop. */
export const AGENT_DATA_PORTS: readonly number[] = Object.freeze([PORT_OUTBOUND, PORT_INBOUND_PLAINTEXT, PORT_HBONE]);

/** The mark Istio's ztunnel puts on its in-pod sockets (0x539). */
export const PACKET_MARK = 0x539;

/** Destination ports a pod may exclude from capture (AMBIT_MAX_EXCLUDED_PORTS). */
export const MAX_EXCLUDED_PORTS = 16;
/** Destination CIDRs a pod may exclude from capture (AMBIT_MAX_EXCLUDED_CIDRS). */
export const MAX_EXCLUDED_CIDRS = 8;
/** Bytes of the pod UID kept in the pods map, NUL included (AMBIT_UID_LEN). */
export const UID_LEN = 64;
/** Enrolled pods per node (AMBIT_MAX_PODS, the size of the pods map). */
export const MAX_PODS = 4096;
/** Pod addresses per node (AMBIT_MAX_POD_ADDRS). */
export const MAX_POD_ADDRS = 8192;
/** Captured connections awaiting their original-destination lookup (AMBIT_MAX_PENDING, the LRU maps' size). */
export const MAX_PENDING = 65536;
