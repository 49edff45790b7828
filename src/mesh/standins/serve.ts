/**
 * Starts the stand-in for a container: picks it from the image, decodes the
 * container's args and env the way the real image does, and listens where
 * the real image listens.
 */
import { errorMessage } from '../../shared/errors.js';
import { bookinfoPort } from './bookinfo-port.js';
import { detailsHandler } from './details.js';
import { StandinError } from './errors.js';
import { helloworldConfig, helloworldHandler, HELLOWORLD_PORT } from './helloworld.js';
import { httpbinConfig, httpbinHandler } from './httpbin.js';
import { listenHttp, type HttpHandler, type Listener, type StandinEvents } from './http-serve.js';
import { productpageConfig, productpageHandler, type Upstream } from './productpage.js';
import { ratingsConfig, ratingsHandler } from './ratings.js';
import { imageRepository, imageRunFor, KNOWN_IMAGES, type StandinName } from './registry.js';
import { reviewsConfig, reviewsHandler } from './reviews.js';
import { startTcpEcho, tcpEchoConfig } from './tcp-echo.js';

export type { StandinEvents, RequestRecord, ConnectionRecord } from './http-serve.js';

export interface StandinSpec {
  /** The container's image, as in the manifest. */
  readonly image: string;
  /** The container's command followed by its args, as given (may be empty). */
  readonly args: readonly string[];
  /** The container's env plus HOSTNAME=<pod name>. */
  readonly env: Readonly<Record<string, string>>;
  /** containerPort values from the manifest (informational: the image decides where it listens). */
  readonly ports: readonly number[];
  /** Default '0.0.0.0'. */
  readonly listenHost?: string;
  /**
   * Tests only: the port of a single-port HTTP stand-in whose real image
   * reads no port setting (Bookinfo, helloworld). 0 picks a free one.
   */
  readonly portOverride?: number;
  /**
   * Tests only: base URLs (`http://127.0.0.1:PORT`) productpage calls instead
   * of `http://<name>[.<SERVICES_DOMAIN>]:9080`.
   */
  readonly upstreamOverrides?: Readonly<Partial<Record<Upstream, string>>>;
}

export interface RunningStandin {
  /** The ports listened on, in order (tcp-echo: one per port of its first arg). */
  readonly ports: readonly number[];
  /** Stops listening, resets open connections, aborts pending timers and upstream calls. */
  close(): Promise<void>;
}

const DEFAULT_LISTEN_HOST = '0.0.0.0';

interface HttpPlan {
  readonly handler: HttpHandler;
  readonly port: number;
}

function httpPlan(
  standin: Exclude<StandinName, 'tcp-echo'>,
  version: string | undefined,
  spec: StandinSpec,
): HttpPlan {
  const env = spec.env;
  switch (standin) {
    case 'productpage':
      return {
        handler: productpageHandler(productpageConfig(env, spec.upstreamOverrides ?? {})),
        port: bookinfoPort(spec.args),
      };
    case 'details':
      return { handler: detailsHandler(), port: bookinfoPort(spec.args) };
    case 'reviews':
      return { handler: reviewsHandler(reviewsConfig(env, version)), port: bookinfoPort([]) };
    case 'ratings':
      return { handler: ratingsHandler(ratingsConfig(env, version)), port: bookinfoPort(spec.args) };
    case 'helloworld':
      return { handler: helloworldHandler(helloworldConfig(env, version)), port: HELLOWORLD_PORT };
    case 'httpbin': {
      const config = httpbinConfig(imageRepository(spec.image), spec.args, env);
      return { handler: httpbinHandler(config), port: config.port };
    }
  }
}

/** Starts the stand-in for `spec.image`; rejects with a StandinError when the image, args or port do not allow it. */
export async function startStandin(spec: StandinSpec, events: StandinEvents = {}): Promise<RunningStandin> {
  const run = imageRunFor(spec.image);
  if (run === undefined) {
    throw new StandinError(
      'STANDIN_UNKNOWN_IMAGE',
      `image "${spec.image}" has no stand-in; known images: ${KNOWN_IMAGES.join(', ')}`,
    );
  }
  if (run.kind === 'host-command') {
    throw new StandinError(
      'STANDIN_HOST_COMMAND',
      `image "${spec.image}" (${run.image}) runs its command as a host process; it has no stand-in to start`,
    );
  }
  const host = spec.listenHost ?? DEFAULT_LISTEN_HOST;
  let listeners: Listener[];
  if (run.standin === 'tcp-echo') {
    listeners = await startTcpEcho(tcpEchoConfig(spec.args), host, events);
  } else {
    const plan = httpPlan(run.standin, run.version, spec);
    listeners = [await listenHttp(run.standin, plan.handler, spec.portOverride ?? plan.port, host, events)];
  }
  let closing: Promise<void> | undefined;
  return {
    ports: listeners.map((l) => l.port),
    close: () => (closing ??= Promise.all(listeners.map((l) => l.close())).then(() => undefined)),
  };
}

function isStringArray(v: unknown): v is string[] {
  return Array.isArray(v) && v.every((x) => typeof x === 'string');
}

/** Decodes the stand-in app's argument; every field is checked, the message names the first bad one. */
export function parseStandinSpec(json: string): StandinSpec {
  const bad = (what: string): never => {
    throw new StandinError('STANDIN_BAD_SPEC', `stand-in spec: ${what}`);
  };
  let raw: unknown;
  try {
    raw = JSON.parse(json);
  } catch (err) {
    return bad(`not JSON: ${errorMessage(err)}`);
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return bad('not a JSON object');
  const o = raw as Record<string, unknown>;
  if (typeof o['image'] !== 'string' || o['image'] === '') bad('image: want a non-empty string');
  const args = o['args'] ?? [];
  if (!isStringArray(args)) bad('args: want an array of strings');
  const env = o['env'] ?? {};
  if (
    typeof env !== 'object' ||
    env === null ||
    Array.isArray(env) ||
    !Object.values(env).every((v) => typeof v === 'string')
  ) {
    bad('env: want an object of strings');
  }
  const ports = o['ports'] ?? [];
  if (!Array.isArray(ports) || !ports.every((p) => Number.isInteger(p) && p >= 0 && p <= 65535))
    bad('ports: want an array of ports');
  if (o['listenHost'] !== undefined && typeof o['listenHost'] !== 'string') bad('listenHost: want a string');
  const po = o['portOverride'];
  if (po !== undefined && !(typeof po === 'number' && Number.isInteger(po) && po >= 0 && po <= 65535))
    bad('portOverride: want a port');
  return {
    image: o['image'] as string,
    args: args as string[],
    env: env as Record<string, string>,
    ports: ports as number[],
    ...(typeof o['listenHost'] === 'string' ? { listenHost: o['listenHost'] } : {}),
    ...(typeof po === 'number' ? { portOverride: po } : {}),
  };
}
