/**
 * Where a Bookinfo image listens. productpage, details and ratings are
 * started as `<interpreter> <script> 9080` (their CMD), so a manifest that
 * overrides the command still names the port as its last argument; reviews
 * is a Liberty server whose server.xml fixes 9080.
 */
export const BOOKINFO_PORT = 9080;

/** The port a Bookinfo script would be given: a numeric last argument, else 9080. */
export function bookinfoPort(args: readonly string[]): number {
  const last = args[args.length - 1];
  if (last !== undefined && /^\d+$/.test(last) && Number(last) <= 65535) return Number(last);
  return BOOKINFO_PORT;
}
