import assert from 'node:assert/strict';
import type { PeerCertificate } from 'node:tls';
import * as grpc from '@grpc/grpc-js';
import { create } from '@bufbuild/protobuf';
import { NodeSchema } from '../../../../src/gen/envoy/config/core/v3/base_pb.js';
import { CaError, NodeTokenAuthenticator, type CallerAuthenticator } from '../../../../src/istiod/ca/index.js';
import {
  ADDRESS_TYPE_URL,
  AUTHORIZATION_TYPE_URL,
  MeshXdsAuthenticator,
  WORKLOAD_TYPE_URL,
  authorizeNode,
  authorizeType,
  decodeNode,
  type XdsCaller,
} from '../../../../src/istiod/xds/index.js';

const TOKEN = 'node-a-token-0123456789';
const fileTokens = new NodeTokenAuthenticator([{ token: TOKEN, node: 'node-a' }]);

function metadata(authorization?: string): grpc.Metadata {
  const md = new grpc.Metadata();
  if (authorization !== undefined) md.set('authorization', authorization);
  return md;
}

/** Only what the authenticator reads of a verified peer certificate. */
function cert(subjectaltname: string | undefined): PeerCertificate {
  return { subjectaltname } as unknown as PeerCertificate;
}

const mesh = (nodeTokens: CallerAuthenticator = fileTokens): MeshXdsAuthenticator =>
  new MeshXdsAuthenticator({ nodeTokens, trustDomain: 'cluster.local' });

describe('xds authentication (MeshXdsAuthenticator)', () => {
  it('a node token authenticates as that node agent', async () => {
    const caller = await mesh().authenticate({ metadata: metadata(`Bearer ${TOKEN}`), peerCertificate: undefined });
    assert.deepEqual(caller, { kind: 'node-agent', node: 'node-a' });
  });

  it('a certificate with one SPIFFE URI in the trust domain authenticates as that workload', async () => {
    const caller = await mesh().authenticate({
      metadata: metadata(),
      peerCertificate: cert('URI:spiffe://cluster.local/ns/demo/sa/web'),
    });
    assert.equal(caller.kind, 'workload');
    assert.equal(caller.kind === 'workload' ? caller.uri : '', 'spiffe://cluster.local/ns/demo/sa/web');
  });

  it('a bad token beside a good certificate still authenticates (the first credential that passes wins, as istiod)', async () => {
    const caller = await mesh().authenticate({
      metadata: metadata('Bearer not-a-node-token-0000000'),
      peerCertificate: cert('URI:spiffe://cluster.local/ns/demo/sa/web'),
    });
    assert.equal(caller.kind, 'workload');
  });

  const refused: { name: string; authorization?: string; san?: string; detail: RegExp }[] = [
    { name: 'nothing', detail: /bearer token: no authorization metadata.*; client certificate: none/ },
    { name: 'an unknown token', authorization: 'Bearer not-a-node-token-0000000', detail: /not one of the node tokens/ },
    { name: 'a basic credential', authorization: `Basic ${TOKEN}`, detail: /not of the form "Bearer/ },
    { name: 'a certificate without URI SAN', san: 'DNS:web.demo.svc', detail: /carries 0 URI SANs/ },
    { name: 'a certificate without SANs at all', san: undefined, detail: /carries 0 URI SANs/ },
    { name: 'a certificate with two URI SANs', san: 'URI:spiffe://cluster.local/ns/a/sa/b, URI:spiffe://cluster.local/ns/c/sa/d', detail: /carries 2 URI SANs/ },
    { name: 'a certificate with a non-SPIFFE URI', san: 'URI:https://example.com/x', detail: /is not a SPIFFE URI/ },
    { name: 'a certificate with a SPIFFE URI that is no Istio identity', san: 'URI:spiffe://cluster.local/workload/x', detail: /not of the form spiffe/ },
    { name: 'a certificate of another trust domain', san: 'URI:spiffe://other.local/ns/a/sa/b', detail: /trust domain other.local, this mesh is cluster.local/ },
    { name: 'a quoted URI with a comma', san: 'URI:"spiffe://other.local/ns/a,b/sa/c"', detail: /trust domain other.local/ },
  ];
  for (const c of refused) {
    it(`refuses ${c.name} with XDS_UNAUTHENTICATED saying why`, async () => {
      const peerCertificate = 'san' in c ? cert(c.san) : undefined;
      await assert.rejects(
        mesh().authenticate({ metadata: metadata(c.authorization), peerCertificate }),
        (err: { code?: string; message?: string }) =>
          err.code === 'XDS_UNAUTHENTICATED' && /^authentication failure: /.test(err.message ?? '') && c.detail.test(err.message ?? ''),
      );
    });
  }

  it('maps a token of something that is not a node agent to XDS_PERMISSION_DENIED, and an unreachable reviewer to XDS_AUTH_UNAVAILABLE', async () => {
    const deny: CallerAuthenticator = {
      authenticate: () => Promise.reject(new CaError('CA_PERMISSION_DENIED', 'service account demo/web is not a trusted node agent account')),
    };
    await assert.rejects(mesh(deny).authenticate({ metadata: metadata('Bearer x'), peerCertificate: undefined }), {
      code: 'XDS_PERMISSION_DENIED',
    });
    const down: CallerAuthenticator = {
      authenticate: () => Promise.reject(new CaError('CA_UNAVAILABLE', 'cannot review the token')),
    };
    await assert.rejects(mesh(down).authenticate({ metadata: metadata('Bearer x'), peerCertificate: undefined }), {
      code: 'XDS_AUTH_UNAVAILABLE',
    });
  });
});

describe('xds authorization', () => {
  const node = (id: string, md: Record<string, string> = {}) => decodeNode(create(NodeSchema, { id, metadata: md }));
  const ztunnelA = node('ztunnel~10.0.0.1~ztunnel-1.istio-system~istio-system.svc.cluster.local', { NODE_NAME: 'node-a' });
  const ztunnelB = node('ztunnel~10.0.0.2~ztunnel-2.istio-system~istio-system.svc.cluster.local', { NODE_NAME: 'node-b' });
  const ztunnelNoName = node('ztunnel~10.0.0.1~ztunnel-1.istio-system~istio-system.svc.cluster.local');
  const webSidecar = node('sidecar~10.0.1.5~web-1.demo~demo.svc.cluster.local', { SERVICE_ACCOUNT: 'web' });
  const otherSa = node('sidecar~10.0.1.5~web-1.demo~demo.svc.cluster.local', { SERVICE_ACCOUNT: 'db' });
  const otherNs = node('sidecar~10.0.1.5~web-1.prod~prod.svc.cluster.local');
  const agentA: XdsCaller = { kind: 'node-agent', node: 'node-a' };
  const web: XdsCaller = {
    kind: 'workload',
    identity: { trustDomain: 'cluster.local', namespace: 'demo', serviceAccount: 'web' },
    uri: 'spiffe://cluster.local/ns/demo/sa/web',
  };
  const local: XdsCaller = { kind: 'local' };

  const table: { caller: XdsCaller; node: ReturnType<typeof node>; name: string; ok: boolean }[] = [
    { name: 'node agent A as node A', caller: agentA, node: ztunnelA, ok: true },
    { name: 'node agent A as node B', caller: agentA, node: ztunnelB, ok: false },
    { name: 'node agent A naming no node', caller: agentA, node: ztunnelNoName, ok: false },
    { name: 'workload web as ztunnel', caller: web, node: ztunnelA, ok: false },
    { name: 'workload web as its own sidecar', caller: web, node: webSidecar, ok: true },
    { name: 'workload web as a sidecar of another service account', caller: web, node: otherSa, ok: false },
    { name: 'workload web as a sidecar of another namespace', caller: web, node: otherNs, ok: false },
    { name: 'a local plaintext client as any node', caller: local, node: ztunnelB, ok: true },
  ];
  for (const c of table) {
    it(`${c.name}: ${c.ok ? 'allowed' : 'XDS_PERMISSION_DENIED'}`, () => {
      if (c.ok) authorizeNode(c.caller, c.node);
      else assert.throws(() => authorizeNode(c.caller, c.node), { code: 'XDS_PERMISSION_DENIED' });
    });
  }

  for (const typeUrl of [ADDRESS_TYPE_URL, WORKLOAD_TYPE_URL, AUTHORIZATION_TYPE_URL]) {
    it(`${typeUrl}: node agents and local clients receive it, a workload identity does not`, () => {
      authorizeType(agentA, typeUrl);
      authorizeType(local, typeUrl);
      assert.throws(() => authorizeType(web, typeUrl), { code: 'XDS_PERMISSION_DENIED' });
    });
  }

  it('other types are not restricted (the server answers unknown ones with nothing, as istiod)', () => {
    authorizeType(web, 'type.googleapis.com/envoy.config.cluster.v3.Cluster');
  });
});
