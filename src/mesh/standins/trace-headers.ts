/**
 * The tracing headers Bookinfo's services copy from the request they serve
 * to the calls they make (W3C, B3, OpenTracing, Datadog, Cloud Trace, gRPC,
 * SkyWalking), so a trace spans the whole page.
 */
export const TRACE_HEADERS: readonly string[] = [
  'x-request-id',
  'x-ot-span-context',
  'x-datadog-trace-id',
  'x-datadog-parent-id',
  'x-datadog-sampling-priority',
  'traceparent',
  'tracestate',
  'x-cloud-trace-context',
  'grpc-trace-bin',
  'x-b3-traceid',
  'x-b3-spanid',
  'x-b3-parentspanid',
  'x-b3-sampled',
  'x-b3-flags',
  'sw8',
];
