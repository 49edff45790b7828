/**
 * `metadata` of every kind: the Kubernetes ObjectMeta fields, the name rule
 * of the kind, namespace defaulting, labels and annotations.
 */
import type { ObjectMeta } from '../types.js';
import {
  ANY,
  INT64,
  STRING,
  STRING_MAP,
  STRINGS,
  arr,
  decodeFields,
  isRecord,
  key,
  type Issues,
  type Shape,
} from './shape.js';
import {
  checkLabels,
  dns1035LabelError,
  dns1123LabelError,
  dns1123SubdomainError,
  labelKeyError,
} from './fields.js';

/** How a kind's `metadata.name` must look. */
export type NameRule = 'dns1123-subdomain' | 'dns1123-label' | 'dns1035-label';

/** The namespace an object lands in when its YAML does not say. */
export const DEFAULT_NAMESPACE = 'default';

/** Kubernetes limits the total size of all annotations of an object to 256 KiB. */
const MAX_ANNOTATIONS_BYTES = 256 * 1024;

const OBJECT_META: Readonly<Record<string, Shape>> = {
  name: STRING,
  generateName: STRING,
  namespace: STRING,
  labels: STRING_MAP,
  annotations: STRING_MAP,
  uid: STRING,
  resourceVersion: STRING,
  generation: INT64,
  creationTimestamp: STRING,
  deletionTimestamp: STRING,
  deletionGracePeriodSeconds: INT64,
  finalizers: STRINGS,
  ownerReferences: arr(ANY),
  managedFields: arr(ANY),
  selfLink: STRING,
};

interface RawMeta {
  name?: string;
  namespace?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  uid?: string;
  resourceVersion?: string;
  generation?: number;
  creationTimestamp?: string;
}

function nameError(rule: NameRule, name: string): string | undefined {
  switch (rule) {
    case 'dns1123-label':
      return dns1123LabelError(name);
    case 'dns1035-label':
      return dns1035LabelError(name);
    case 'dns1123-subdomain':
      return dns1123SubdomainError(name);
  }
}

/**
 * Decodes and checks `metadata`; returns the normalized ObjectMeta (labels
 * and annotations `{}` when absent, namespace defaulted or `''` for
 * cluster-scoped kinds). Problems are reported into `issues`.
 */
export function decodeMetadata(
  raw: unknown,
  opts: { readonly namespaced: boolean; readonly nameRule: NameRule },
  issues: Issues,
): ObjectMeta {
  if (raw === undefined || raw === null) {
    issues.add('metadata', 'metadata is required');
    return { name: '', namespace: opts.namespaced ? DEFAULT_NAMESPACE : '', labels: {}, annotations: {} };
  }
  const m = decodeFields<RawMeta>(raw, OBJECT_META, 'metadata', issues) ?? {};
  const name = m.name ?? '';
  if (m.name === undefined || m.name === '') {
    issues.add('metadata.name', 'name is required');
  } else {
    const e = nameError(opts.nameRule, name);
    if (e !== undefined) issues.add('metadata.name', e);
  }

  let namespace = '';
  if (opts.namespaced) {
    namespace = m.namespace === undefined || m.namespace === '' ? DEFAULT_NAMESPACE : m.namespace;
    const e = dns1123LabelError(namespace);
    if (e !== undefined) issues.add('metadata.namespace', e);
  } else if (m.namespace !== undefined && m.namespace !== '') {
    issues.add('metadata.namespace', 'a cluster-scoped object must not have a namespace');
  }

  const labels = m.labels ?? {};
  checkLabels(issues, 'metadata.labels', labels);
  const annotations = m.annotations ?? {};
  let size = 0;
  for (const [k, v] of Object.entries(annotations)) {
    const e = labelKeyError(k);
    if (e !== undefined) issues.add(key('metadata.annotations', k), e);
    size += Buffer.byteLength(k) + Buffer.byteLength(v);
  }
  if (size > MAX_ANNOTATIONS_BYTES) {
    issues.add(
      'metadata.annotations',
      `annotations are ${size} bytes; the limit is ${MAX_ANNOTATIONS_BYTES}`,
    );
  }

  return {
    name,
    namespace,
    labels,
    annotations,
    ...(m.uid !== undefined ? { uid: m.uid } : {}),
    ...(m.resourceVersion !== undefined ? { resourceVersion: m.resourceVersion } : {}),
    ...(m.generation !== undefined ? { generation: m.generation } : {}),
    ...(m.creationTimestamp !== undefined ? { creationTimestamp: m.creationTimestamp } : {}),
  };
}

/** Best-effort name and namespace of a raw document, for reporting an invalid one. */
export function peekIdentity(raw: unknown): { name?: string; namespace?: string } {
  if (!isRecord(raw) || !isRecord(raw['metadata'])) return {};
  const md = raw['metadata'];
  const out: { name?: string; namespace?: string } = {};
  if (typeof md['name'] === 'string') out.name = md['name'];
  if (typeof md['namespace'] === 'string') out.namespace = md['namespace'];
  return out;
}
