/**
 * A real in-process istiod on 127.0.0.1 over a temp copy of the sample mesh
 * (frontend on node-1, backend on node-2), with node tokens for both nodes.
 * It can be stopped and started again on the same plaintext port and CA directory.
 */
import { cp, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startIstiod, type RunningIstiod } from '../../../../src/istiod/server.js';
import { silentLogger } from '../../../../src/shared/logging.js';
import { testIstiodConfig } from '../../../support/istiod.js';

export const NODE_ONE_TOKEN = 'node-one-token-0123456789';
export const NODE_TWO_TOKEN = 'node-two-token-0123456789';
/** The name istiod's serving certificate carries (agents verify it against the mesh root). */
export const ISTIOD_SERVER_NAME = 'istiod.istio-system.svc';
export const FRONTEND_UID = 'Kubernetes//Pod/demo/frontend-7d4b9c-abcde';
export const BACKEND_UID = 'Kubernetes//Pod/demo/backend-5f6c8d-fghij';
export const FRONTEND_ID = 'spiffe://cluster.local/ns/demo/sa/frontend';
export const BACKEND_ID = 'spiffe://cluster.local/ns/demo/sa/backend';

export interface IstiodFixture {
  readonly work: string;
  readonly configDir: string;
  istiod: RunningIstiod;
  /** Stops istiod (the temp dir stays). */
  stop(): Promise<void>;
  /** Starts istiod again on the same plaintext port (TLS on a fresh one), CA dir and config dir. */
  restart(): Promise<void>;
  /** Stops istiod if running and removes the temp dir. */
  cleanup(): Promise<void>;
}

export async function startIstiodFixture(options: { workloadCertTtlSeconds?: number } = {}): Promise<IstiodFixture> {
  const work = await mkdtemp(join(tmpdir(), 'ambit-ztunnel-'));
  const configDir = join(work, 'config');
  await cp(new URL('../../../../examples/mesh', import.meta.url).pathname, configDir, { recursive: true });
  await writeFile(
    join(work, 'tokens.yaml'),
    `tokens:\n  - {token: ${NODE_ONE_TOKEN}, node: node-1}\n  - {token: ${NODE_TWO_TOKEN}, node: node-2}\n`,
  );
  const start = (ports: { grpc: number; secureGrpc: number }): Promise<RunningIstiod> =>
    startIstiod(
      testIstiodConfig({
        configDir,
        caDir: join(work, 'ca'),
        tokensFile: join(work, 'tokens.yaml'),
        grpcAddr: { host: '127.0.0.1', port: ports.grpc },
        secureGrpcAddr: { host: '127.0.0.1', port: ports.secureGrpc },
        workloadCertTtlSeconds: options.workloadCertTtlSeconds ?? 86400,
      }),
      silentLogger,
    );
  let running: RunningIstiod | undefined;
  try {
    running = await start({ grpc: 0, secureGrpc: 0 });
  } catch (err) {
    await rm(work, { recursive: true, force: true });
    throw err;
  }
  const ports = { grpc: running.ports.grpc, secureGrpc: running.ports.secureGrpc };
  const fixture: IstiodFixture = {
    work,
    configDir,
    istiod: running,
    async stop() {
      const r = running;
      running = undefined;
      await r?.stop();
    },
    async restart() {
      if (running !== undefined) throw new Error('istiod is already running');
      running = await start({ grpc: ports.grpc, secureGrpc: 0 });
      fixture.istiod = running;
    },
    async cleanup() {
      await fixture.stop();
      await rm(work, { recursive: true, force: true });
    },
  };
  return fixture;
}

/** Polls until `check` returns true (bounded). */
export async function eventually(check: () => boolean, timeoutMs = 5000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (check()) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`${what} not met within ${timeoutMs} ms`);
}
