/**
 * The agent's own record of enrolled pods (UID, names, netns and cgroup
 * paths), kept beside the socket. The pinned eBPF maps say *which* pods are
 * captured but not where their namespaces are; this file fills that in when
 * a restarted agent adopts them.
 */
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { decodePodInfo, type PodInfo } from './protocol.js';
import { EnrollError } from './errors.js';

export const DEFAULT_RECORDS_FILE = '/var/run/ambit/enrolled-pods.json';
const RECORDS_VERSION = 1;

export interface PodRecord {
  readonly info: PodInfo;
  readonly netnsId: string;
}

export function writeRecords(file: string, records: readonly PodRecord[]): void {
  mkdirSync(dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, `${JSON.stringify({ version: RECORDS_VERSION, pods: records }, null, 2)}\n`, { mode: 0o600 });
  renameSync(tmp, file);
}

/** Reads the records; a missing file is an empty list, a damaged one an error naming the entry. */
export function readRecords(file: string): PodRecord[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw new EnrollError('ENROLL_MALFORMED', `${file}: cannot read pod records`, { cause: err });
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new EnrollError('ENROLL_MALFORMED', `${file}: pod records are not JSON`, { cause: err });
  }
  const doc = raw as { version?: unknown; pods?: unknown };
  if (typeof raw !== 'object' || raw === null || doc.version !== RECORDS_VERSION || !Array.isArray(doc.pods)) {
    throw new EnrollError('ENROLL_MALFORMED', `${file}: not a version ${RECORDS_VERSION} pod record file`);
  }
  return doc.pods.map((p: unknown, i: number) => {
    const r = p as { info?: unknown; netnsId?: unknown };
    if (typeof r !== 'object' || r === null || typeof r.netnsId !== 'string') {
      throw new EnrollError('ENROLL_MALFORMED', `${file}: pods[${i}].netnsId is missing`);
    }
    return { info: decodePodInfo(r.info, `${file}: pods[${i}].info`), netnsId: r.netnsId };
  });
}
