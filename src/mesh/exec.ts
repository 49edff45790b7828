/**
 * Running a command inside a mesh pod: join the pod's cgroup (so capture
 * applies to it), then its netns through `ip netns exec`, which also
 * bind-mounts the pod's /etc/netns/<ns>/hosts (the demo's service names).
 */
import type { PodRecord } from './state.js';

const LAUNCHER = 'echo $$ > "$1/cgroup.procs" || exit 126; ns=$2; shift 2; exec ip netns exec "$ns" "$@"';

/** The argv (for spawn) that runs `command` inside `pod`. */
export function podExecArgv(pod: Pick<PodRecord, 'cgroup' | 'netns'>, command: readonly string[]): string[] {
  return ['sh', '-c', LAUNCHER, 'ambit-exec', pod.cgroup, pod.netns, ...command];
}
