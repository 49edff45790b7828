/**
 * What the xDS server serves: named, versioned resources per type URL, and
 * change notifications. The ambient index implements it; tests and benches
 * may bring their own.
 */

export const ADDRESS_TYPE_URL = 'type.googleapis.com/istio.workload.Address';
export const AUTHORIZATION_TYPE_URL = 'type.googleapis.com/istio.security.Authorization';
export const WORKLOAD_TYPE_URL = 'type.googleapis.com/istio.workload.Workload';

export interface XdsResource {
  /** The xDS resource name (a workload uid, "<ns>/<hostname>", "<ns>/<policy>"). */
  readonly name: string;
  /** Changes whenever the encoded bytes change (a content hash). */
  readonly version: string;
  /** The encoded resource message (istio.workload.Address, istio.security.Authorization). */
  readonly value: Uint8Array;
  /** Other names a client may subscribe with ("<network>/<ip>", "<ns>/<hostname>"). */
  readonly aliases?: readonly string[];
}

/** One committed change: names whose resources changed or appeared, and names removed. */
export interface ResourceChange {
  readonly typeUrl: string;
  readonly updated: readonly string[];
  readonly removed: readonly string[];
}

export interface XdsResourceSource {
  /** The type URLs this source serves. */
  readonly typeUrls: readonly string[];
  /** Every current resource of a type (used for wildcard subscriptions and SotW). */
  resources(typeUrl: string): ReadonlyMap<string, XdsResource>;
  /** One resource by name or alias. */
  find(typeUrl: string, name: string): XdsResource | undefined;
  /** Called after each committed change; returns the unsubscribe function. */
  onChange(listener: (changes: readonly ResourceChange[]) => void): () => void;
}
