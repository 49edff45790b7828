/**
 * One resource's list/watch loop, as Kubernetes reflectors run it: list the
 * collection (a consistent read), hand the whole set to the sink, then watch
 * from the list's resourceVersion with bookmarks on, advancing the
 * resourceVersion with every event and bookmark. A 410 Gone (the HTTP
 * status, or an ERROR event carrying a Status with code 410) means the
 * version was compacted away: list again and replace. Any other failure
 * waits a bounded, jittered backoff and resumes from the last version seen;
 * a watch the server ends on its timeout resumes at once.
 */
import type { Logger } from '../../../../shared/logging.js';
import { errorMessage } from '../../../../shared/errors.js';
import { Backoff, DEFAULT_BACKOFF, type BackoffOptions } from './backoff.js';
import type { KubeApiClient, WatchEvent } from './client.js';
import { KubeSourceError, isGone } from './errors.js';
import { apiVersionOf, collectionPath, type WatchedResource } from './resources.js';

/** A raw API object: kind and apiVersion are always set (list items get them from the resource). */
export type RawObject = Readonly<Record<string, unknown>>;

/** Receives what the reflector learns, synchronously and in order. */
export interface ReflectorSink {
  /** The complete set of objects after a (re-)list; anything not in it is gone. */
  replace(items: readonly RawObject[]): void;
  /** An ADDED or MODIFIED event. */
  upsert(object: RawObject, event: 'add' | 'update'): void;
  /** A DELETED event (the object's last state). */
  remove(object: RawObject): void;
}

/** Why a watch was opened again: the version expired (re-list), a failure (backoff), or the server closed it. */
export type RestartReason = 'expired' | 'error' | 'closed';

export interface ReflectorOptions {
  readonly resource: WatchedResource;
  readonly client: KubeApiClient;
  readonly sink: ReflectorSink;
  readonly logger: Logger;
  readonly backoff?: BackoffOptions;
  /**
   * Server-side watch timeout floor; each watch asks for a random value in
   * [min, 2 * min] so a fleet of watchers does not reconnect together.
   */
  readonly minWatchTimeoutSeconds?: number;
  readonly onRestart?: (reason: RestartReason) => void;
}

/** client-go's floor for the watch timeout (5 minutes). */
export const DEFAULT_MIN_WATCH_TIMEOUT_SECONDS = 300;
/** Client-side margin above the server-side watch timeout before the stream is given up as dead. */
const WATCH_DEADLINE_MARGIN_MS = 30_000;
/** A watch that ends cleanly this soon without an event counts as a failure (no tight reconnect loop). */
const SHORT_WATCH_MS = 1000;

export class Reflector {
  readonly resource: WatchedResource;
  private readonly path: string;
  private readonly apiVersion: string;
  private readonly backoff: Backoff;
  private readonly minWatchTimeoutSeconds: number;
  private readonly log: Logger;
  private rv = '';
  private synced = false;
  private stopped = false;
  private readonly abort = new AbortController();
  private wake: (() => void) | undefined;
  private loop: Promise<void> | undefined;
  private resolveSynced!: () => void;
  private rejectSynced!: (err: Error) => void;
  /** Settles when the first list has been handed to the sink, or rejects if stopped before that. */
  readonly whenSynced: Promise<void>;

  constructor(private readonly options: ReflectorOptions) {
    this.resource = options.resource;
    this.path = collectionPath(options.resource);
    this.apiVersion = apiVersionOf(options.resource);
    this.backoff = new Backoff(options.backoff ?? DEFAULT_BACKOFF);
    this.minWatchTimeoutSeconds = options.minWatchTimeoutSeconds ?? DEFAULT_MIN_WATCH_TIMEOUT_SECONDS;
    this.log = options.logger.child({ resource: this.path });
    this.whenSynced = new Promise<void>((resolve, reject) => {
      this.resolveSynced = resolve;
      this.rejectSynced = reject;
    });
    // The rejection is for callers that wait; an unwatched one must not crash the process.
    this.whenSynced.catch(() => undefined);
  }

  /** The last resourceVersion seen (list, event or bookmark); empty before the first list. */
  get resourceVersion(): string {
    return this.rv;
  }

  get hasSynced(): boolean {
    return this.synced;
  }

  start(): void {
    this.loop ??= this.run();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.abort.abort();
    this.wake?.();
    if (!this.synced) {
      this.rejectSynced(new KubeSourceError('KUBE_SOURCE_STOPPED', `${this.path}: stopped before the initial list`));
    }
    await this.loop;
  }

  private async run(): Promise<void> {
    let needList = true;
    let justListed = false;
    while (!this.stopped) {
      if (needList) {
        try {
          await this.list();
          needList = false;
          justListed = true;
        } catch (err) {
          if (this.stopped) break;
          this.options.onRestart?.('error');
          const delayMs = this.backoff.next();
          this.log.warn({ err: errorMessage(err), delayMs, failures: this.backoff.failures }, 'list failed; retrying');
          await this.sleep(delayMs);
          continue;
        }
      }
      const startedAt = Date.now();
      let events = 0;
      try {
        const timeoutSeconds = Math.round(this.minWatchTimeoutSeconds * (1 + Math.random()));
        await this.options.client.watch(
          this.path,
          { resourceVersion: this.rv, allowWatchBookmarks: 'true', timeoutSeconds: String(timeoutSeconds) },
          (event) => {
            this.handle(event);
            events++;
          },
          { deadlineMs: timeoutSeconds * 1000 + WATCH_DEADLINE_MARGIN_MS, signal: this.abort.signal },
        );
        if (this.stopped) break;
        justListed = false;
        this.options.onRestart?.('closed');
        if (events === 0 && Date.now() - startedAt < SHORT_WATCH_MS) {
          await this.sleep(this.backoff.next());
        } else {
          this.backoff.reset();
          this.log.debug({ resourceVersion: this.rv, events }, 'watch closed by the server; resuming');
        }
      } catch (err) {
        if (this.stopped) break;
        if (events > 0) this.backoff.reset();
        if (isGone(err)) {
          // The version was compacted away: only a fresh list can say what exists now.
          this.options.onRestart?.('expired');
          this.log.info({ resourceVersion: this.rv }, 'watch expired; listing again');
          needList = true;
          // A list whose own version is already too old would loop: back off before the next one.
          if (justListed && events === 0) await this.sleep(this.backoff.next());
          justListed = false;
          continue;
        }
        justListed = false;
        this.options.onRestart?.('error');
        const delayMs = this.backoff.next();
        this.log.warn(
          { err: errorMessage(err), resourceVersion: this.rv, delayMs, failures: this.backoff.failures },
          'watch failed; resuming after backoff',
        );
        await this.sleep(delayMs);
      }
    }
  }

  private async list(): Promise<void> {
    const body = await this.options.client.getJson(this.path, {}, this.abort.signal);
    if (this.stopped) return;
    if (!isRecord(body) || !Array.isArray(body['items'])) {
      throw new KubeSourceError('KUBE_BAD_RESPONSE', `GET ${this.path}: not a list (no items)`);
    }
    const metadata = body['metadata'];
    const rv = isRecord(metadata) && typeof metadata['resourceVersion'] === 'string' ? metadata['resourceVersion'] : '';
    if (rv === '') throw new KubeSourceError('KUBE_BAD_RESPONSE', `GET ${this.path}: the list has no resourceVersion`);
    const items = (body['items'] as unknown[]).filter(isRecord).map((o) => this.withTypeMeta(o));
    this.options.sink.replace(items);
    this.rv = rv;
    this.backoff.reset();
    this.log.debug({ resourceVersion: rv, items: items.length }, 'listed');
    if (!this.synced) {
      this.synced = true;
      this.resolveSynced();
    }
  }

  /** Applies one watch event; throws to end the stream (410 -> KUBE_GONE, other errors, unknown types). */
  private handle(event: WatchEvent): void {
    const object = event.object;
    switch (event.type) {
      case 'ADDED':
      case 'MODIFIED':
        this.options.sink.upsert(this.withTypeMeta(object), event.type === 'ADDED' ? 'add' : 'update');
        break;
      case 'DELETED':
        this.options.sink.remove(this.withTypeMeta(object));
        break;
      case 'BOOKMARK':
        break;
      case 'ERROR': {
        const code = typeof object['code'] === 'number' ? object['code'] : 0;
        const message = typeof object['message'] === 'string' ? object['message'] : 'no message';
        throw new KubeSourceError(
          code === 410 ? 'KUBE_GONE' : 'KUBE_REQUEST_FAILED',
          `watch ${this.path}: ERROR event ${code} (${message})`,
          { statusCode: code },
        );
      }
      default:
        throw new KubeSourceError('KUBE_BAD_RESPONSE', `watch ${this.path}: unknown event type ${JSON.stringify(event.type)}`);
    }
    const metadata = object['metadata'];
    if (isRecord(metadata) && typeof metadata['resourceVersion'] === 'string' && metadata['resourceVersion'] !== '') {
      this.rv = metadata['resourceVersion'];
    }
  }

  /** List items carry no kind/apiVersion (the list does); the validator needs them. */
  private withTypeMeta(object: Readonly<Record<string, unknown>>): RawObject {
    if (typeof object['kind'] === 'string' && typeof object['apiVersion'] === 'string') return object;
    return { ...object, kind: this.resource.kind, apiVersion: this.apiVersion };
  }

  private sleep(ms: number): Promise<void> {
    if (this.stopped) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done(): void {
        clearTimeout(timer);
        resolve();
      }
      this.wake = done;
    });
  }
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
