/**
 * The waypoints' compiled L7 configuration as an xDS resource source: one
 * `ambit.l7.v1.WaypointConfig` per waypoint, named "<namespace>/<name>".
 *
 * Any change that may touch L7 config (a route, a rule, a policy, a Service,
 * a Pod, a Namespace label, a waypoint) marks the source dirty; after a quiet
 * period every waypoint is compiled again, and only the resources whose
 * bytes changed are announced. Compiling is a pure function of the store,
 * so a waypoint's resource depends on nothing but config.
 */
import { createHash } from 'node:crypto';
import { errorMessage } from '../../shared/errors.js';
import { silentLogger, type Logger } from '../../shared/logging.js';
import { encodeWaypointConfig } from '../../shared/l7/envelope.js';
import { WAYPOINT_CONFIG_TYPE_URL, type WaypointConfig } from '../../shared/l7/waypoint-config.js';
import type { ResourceChange, XdsResource, XdsResourceSource } from '../xds/resource-source.js';

export const DEFAULT_L7_COMPILE_DEBOUNCE_MS = 20;

export interface WaypointConfigSourceOptions {
  /** Every waypoint's configuration, keyed "<namespace>/<name>". */
  readonly compileAll: () => ReadonlyMap<string, WaypointConfig>;
  /** Calls `onDirty` whenever an input may have changed; returns the unsubscribe function. */
  readonly watch: (onDirty: () => void) => () => void;
  readonly debounceMs?: number;
  readonly logger?: Logger;
}

export class WaypointConfigSource implements XdsResourceSource {
  readonly typeUrls = [WAYPOINT_CONFIG_TYPE_URL];
  private readonly options: WaypointConfigSourceOptions;
  private readonly log: Logger;
  private readonly listeners = new Set<(changes: readonly ResourceChange[]) => void>();
  private resourcesByName = new Map<string, XdsResource>();
  private configsByName: ReadonlyMap<string, WaypointConfig> = new Map();
  private timer: NodeJS.Timeout | undefined;
  private readonly unwatch: () => void;
  private closed = false;

  constructor(options: WaypointConfigSourceOptions) {
    this.options = options;
    this.log = options.logger ?? silentLogger;
    this.recompile();
    this.unwatch = options.watch(() => this.markDirty());
  }

  resources(typeUrl: string): ReadonlyMap<string, XdsResource> {
    return typeUrl === WAYPOINT_CONFIG_TYPE_URL ? this.resourcesByName : new Map();
  }

  find(typeUrl: string, name: string): XdsResource | undefined {
    return typeUrl === WAYPOINT_CONFIG_TYPE_URL ? this.resourcesByName.get(name) : undefined;
  }

  onChange(listener: (changes: readonly ResourceChange[]) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** The compiled configurations as served, for debug endpoints. */
  configs(): ReadonlyMap<string, WaypointConfig> {
    return this.configsByName;
  }

  /** Compiles now instead of after the quiet period (tests, shutdown-free callers). */
  flush(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    this.recompile();
  }

  close(): void {
    this.closed = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    this.unwatch();
    this.listeners.clear();
  }

  private markDirty(): void {
    if (this.closed || this.timer !== undefined) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.recompile();
    }, this.options.debounceMs ?? DEFAULT_L7_COMPILE_DEBOUNCE_MS);
  }

  private recompile(): void {
    let configs: ReadonlyMap<string, WaypointConfig>;
    try {
      configs = this.options.compileAll();
    } catch (err) {
      // The compiler is total; if it ever throws, the last good resources stay served.
      this.log.error(
        { err: errorMessage(err) },
        'compiling waypoint configuration failed; keeping the last good one',
      );
      return;
    }
    const next = new Map<string, XdsResource>();
    const updated: string[] = [];
    for (const [name, config] of configs) {
      const value = encodeWaypointConfig(config);
      const version = createHash('sha256').update(value).digest('hex').slice(0, 16);
      const previous = this.resourcesByName.get(name);
      next.set(name, previous?.version === version ? previous : { name, version, value });
      if (previous?.version !== version) updated.push(name);
    }
    const removed = [...this.resourcesByName.keys()].filter((n) => !next.has(n));
    this.resourcesByName = next;
    this.configsByName = configs;
    if (updated.length === 0 && removed.length === 0) return;
    this.log.debug({ updated, removed }, 'waypoint configuration compiled');
    const changes: ResourceChange[] = [{ typeUrl: WAYPOINT_CONFIG_TYPE_URL, updated, removed }];
    for (const listener of this.listeners) listener(changes);
  }
}
