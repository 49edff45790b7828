import assert from 'node:assert/strict';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { create, fromBinary } from '@bufbuild/protobuf';
import { startIstiod, type RunningIstiod } from '../../../src/istiod/server.js';
import { silentLogger } from '../../../src/shared/logging.js';
import { caServiceDefinition } from '../../../src/shared/grpc/services.js';
import { AddressSchema } from '../../../src/gen/istio/workload/workload_pb.js';
import {
  IstioCertificateRequestSchema,
  type IstioCertificateRequest,
  type IstioCertificateResponse,
} from '../../../src/gen/istio/v1/auth/ca_pb.js';
import { ADDRESS_TYPE_URL, AUTHORIZATION_TYPE_URL } from '../../../src/istiod/xds/index.js';
import { DeltaXdsClient, resourceNames } from '../../support/xds-client.js';
import { newCsr } from '../../support/ca.js';
import { testIstiodConfig } from '../../support/istiod.js';
import { xdsCredentials } from './xds/credentials.js';

const CaClient = grpc.makeGenericClientConstructor(caServiceDefinition, 'IstioCertificateService');
const FRONTEND = 'spiffe://cluster.local/ns/demo/sa/frontend';
const BACKEND = 'spiffe://cluster.local/ns/demo/sa/backend';

function createCertificate(
  port: number,
  rootPem: string,
  token: string,
  request: IstioCertificateRequest,
): Promise<IstioCertificateResponse> {
  const client = new CaClient(`127.0.0.1:${port}`, grpc.credentials.createSsl(Buffer.from(rootPem)), {
    'grpc.ssl_target_name_override': 'istiod.istio-system.svc',
  });
  const md = new grpc.Metadata();
  md.set('authorization', `Bearer ${token}`);
  const call = client.createCertificate?.bind(client);
  assert.ok(call, 'the CA client has a createCertificate method');
  return new Promise((resolve, reject) => {
    call(request, md, (err: grpc.ServiceError | null, resp: IstioCertificateResponse) => {
      client.close();
      if (err) reject(err);
      else resolve(resp);
    });
  });
}

describe('istiod (config dir + index + xDS + CA + monitoring, over real sockets)', () => {
  let work: string;
  let istiod: RunningIstiod;
  const clients: DeltaXdsClient[] = [];

  before(async () => {
    work = await mkdtemp(join(tmpdir(), 'ambit-istiod-'));
    await cp(new URL('../../../examples/mesh', import.meta.url).pathname, join(work, 'config'), { recursive: true });
    await writeFile(
      join(work, 'tokens.yaml'),
      'tokens:\n  - {token: node-one-token-0123456789, node: node-1}\n  - {token: node-two-token-0123456789, node: node-2}\n',
    );
    istiod = await startIstiod(
      testIstiodConfig({
        configDir: join(work, 'config'),
        caDir: join(work, 'ca'),
        tokensFile: join(work, 'tokens.yaml'),
      }),
      silentLogger,
    );
  });

  after(async () => {
    for (const c of clients) c.close();
    await istiod?.stop();
    await rm(work, { recursive: true, force: true });
  });

  it('serves the sample mesh over delta xDS on the TLS port to a node agent with its token, verified against the mesh root', async () => {
    const client = new DeltaXdsClient(`127.0.0.1:${istiod.ports.secureGrpc}`, {
      nodeName: 'node-1',
      credentials: xdsCredentials({ rootPem: istiod.rootPem, token: 'node-one-token-0123456789' }),
      channelOptions: { 'grpc.ssl_target_name_override': 'istiod.istio-system.svc' },
    });
    clients.push(client);
    client.subscribe(ADDRESS_TYPE_URL);
    const addresses = await client.next();
    client.ack(addresses);
    assert.deepEqual(resourceNames(addresses), [
      'Kubernetes//Pod/demo/backend-5f6c8d-fghij',
      'Kubernetes//Pod/demo/frontend-7d4b9c-abcde',
      'demo/backend.demo.svc.cluster.local',
      'demo/frontend.demo.svc.cluster.local',
    ]);
    client.subscribe(AUTHORIZATION_TYPE_URL);
    const policies = await client.next();
    client.ack(policies);
    assert.deepEqual(resourceNames(policies), ['demo/backend-allow-frontend', 'istio-system/istio_converted_static_strict']);

    // A change to one file reaches the client as a delta of just that object.
    const backendFile = join(work, 'config', 'backend.yaml');
    const text = await readFile(backendFile, 'utf8');
    await writeFile(backendFile, text.replace('podIP: 10.244.2.10', 'podIP: 10.244.2.11'));
    const delta = await client.next(5000);
    assert.deepEqual(resourceNames(delta), ['Kubernetes//Pod/demo/backend-5f6c8d-fghij']);
    const workload = fromBinary(AddressSchema, delta.resources[0]!.resource!.value);
    assert.equal(workload.type.case, 'workload');
    assert.deepEqual([...(workload.type.value as { addresses: Uint8Array[] }).addresses[0]!], [10, 244, 2, 11]);
    client.ack(delta);
  });

  it('issues a node agent the identity of a workload on its own node and refuses another node\'s', async () => {
    const { csrPem } = newCsr({ uris: [FRONTEND] });
    const ok = await createCertificate(
      istiod.ports.secureGrpc,
      istiod.rootPem,
      'node-one-token-0123456789',
      create(IstioCertificateRequestSchema, { csr: csrPem, metadata: { ImpersonatedIdentity: FRONTEND } }),
    );
    assert.equal(ok.certChain.length >= 2, true);
    assert.equal(ok.certChain.at(-1), istiod.rootPem);

    const other = newCsr({ uris: [BACKEND] });
    await assert.rejects(
      createCertificate(
        istiod.ports.secureGrpc,
        istiod.rootPem,
        'node-one-token-0123456789',
        create(IstioCertificateRequestSchema, { csr: other.csrPem, metadata: { ImpersonatedIdentity: BACKEND } }),
      ),
      (err: grpc.ServiceError) => err.code === grpc.status.PERMISSION_DENIED,
    );
  });

  it('answers /ready, /metrics, /debug/syncz and /debug/configz on the monitoring port', async () => {
    const base = `http://127.0.0.1:${istiod.ports.monitoring}`;
    assert.equal((await fetch(`${base}/ready`)).status, 200);
    const metrics = await (await fetch(`${base}/metrics`)).text();
    assert.match(metrics, /^pilot_xds\b.* 1$/m);
    assert.match(metrics, /^citadel_server_success_cert_issuance_count 1$/m);
    assert.match(metrics, /^ambit_config_objects 10$/m);
    const syncz = (await (await fetch(`${base}/debug/syncz`)).json()) as { nodeName?: string }[];
    assert.equal(syncz.length, 1);
    assert.equal(syncz[0]?.nodeName, 'node-1');
    const configz = (await (await fetch(`${base}/debug/configz`)).json()) as { objects: unknown[]; problems: unknown[] };
    assert.equal(configz.objects.length, 10);
    assert.deepEqual(configz.problems, []);
    assert.equal((await fetch(`${base}/debug/nope`)).status, 404);
  });
});
