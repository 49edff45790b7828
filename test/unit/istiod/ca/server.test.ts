import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import { create } from '@bufbuild/protobuf';
import { Registry } from 'prom-client';
import { IstioCertificateRequestSchema } from '../../../../src/gen/istio/v1/auth/ca_pb.js';
import {
  CaError,
  CaService,
  decodeCertificateRequest,
  grpcStatusOf,
  NodeTokenAuthenticator,
  type CertificateRequest,
} from '../../../../src/istiod/ca/index.js';
import { silentLogger } from '../../../../src/shared/logging.js';
import { createTestPki, newCsr, staticNodeIdentities } from '../../../support/ca.js';

const TOKEN = 'node-1-bootstrap-token-0123456789';
const ON_NODE = 'spiffe://cluster.local/ns/demo/sa/frontend';
const ELSEWHERE = 'spiffe://cluster.local/ns/demo/sa/backend';
const OTHER_TD = 'spiffe://other.domain/ns/demo/sa/frontend';

function auth(token = TOKEN): grpc.Metadata {
  const md = new grpc.Metadata();
  md.set('authorization', `Bearer ${token}`);
  return md;
}

describe('istiod/ca/server', () => {
  const pki = createTestPki();
  let registry: Registry;
  let service: CaService;

  beforeEach(() => {
    registry = new Registry();
    service = new CaService({
      signer: pki.signer,
      authenticator: new NodeTokenAuthenticator([{ token: TOKEN, node: 'node-1' }]),
      nodeIdentities: staticNodeIdentities({ 'node-1': [ON_NODE, OTHER_TD], 'node-2': [ELSEWHERE] }),
      registry,
      logger: silentLogger,
    });
  });

  async function metric(name: string, labels: Record<string, string> = {}): Promise<number> {
    const all = await registry.getMetricsAsJSON();
    const m = all.find((x) => x.name === name);
    const value = m?.values.find((v) => Object.entries(labels).every(([k, l]) => v.labels[k] === l));
    return value?.value ?? 0;
  }

  const cases: {
    name: string;
    request: () => CertificateRequest;
    metadata?: () => grpc.Metadata;
    want: 'issued' | string;
  }[] = [
    {
      name: 'a CSR whose URI SAN is on the caller node',
      request: () => ({ csrPem: newCsr({ uris: [ON_NODE] }).csrPem, validitySeconds: 0 }),
      want: 'issued',
    },
    {
      name: 'an impersonated identity on the caller node with a matching CSR',
      request: () => ({
        csrPem: newCsr({ uris: [ON_NODE] }).csrPem,
        validitySeconds: 0,
        impersonatedIdentity: ON_NODE,
      }),
      want: 'issued',
    },
    {
      name: 'an impersonated identity with a CSR carrying no SAN',
      request: () => ({ csrPem: newCsr({}).csrPem, validitySeconds: 0, impersonatedIdentity: ON_NODE }),
      want: 'issued',
    },
    {
      name: 'an identity whose workloads run on another node',
      request: () => ({ csrPem: newCsr({ uris: [ELSEWHERE] }).csrPem, validitySeconds: 0 }),
      want: 'CA_PERMISSION_DENIED',
    },
    {
      name: 'an impersonated identity on another node',
      request: () => ({
        csrPem: newCsr({ uris: [ELSEWHERE] }).csrPem,
        validitySeconds: 0,
        impersonatedIdentity: ELSEWHERE,
      }),
      want: 'CA_PERMISSION_DENIED',
    },
    {
      name: 'a CSR SAN that differs from the impersonated identity',
      request: () => ({
        csrPem: newCsr({ uris: [ELSEWHERE] }).csrPem,
        validitySeconds: 0,
        impersonatedIdentity: ON_NODE,
      }),
      want: 'CA_CSR_IDENTITY_MISMATCH',
    },
    {
      name: 'a CSR without SAN and no impersonation',
      request: () => ({ csrPem: newCsr({}).csrPem, validitySeconds: 0 }),
      want: 'CA_CSR_IDENTITY_MISMATCH',
    },
    {
      name: 'a CSR with two URI SANs',
      request: () => ({ csrPem: newCsr({ uris: [ON_NODE, ELSEWHERE] }).csrPem, validitySeconds: 0 }),
      want: 'CA_CSR_IDENTITY_MISMATCH',
    },
    {
      name: 'a CSR that also asks for a DNS SAN',
      request: () => ({
        csrPem: newCsr({ uris: [ON_NODE], dnsNames: ['evil.example'] }).csrPem,
        validitySeconds: 0,
      }),
      want: 'CA_CSR_IDENTITY_MISMATCH',
    },
    {
      name: 'a URI SAN that is not an Istio SPIFFE id',
      request: () => ({ csrPem: newCsr({ uris: ['https://example.com/x'] }).csrPem, validitySeconds: 0 }),
      want: 'CA_CSR_IDENTITY_MISMATCH',
    },
    {
      name: 'an identity in another trust domain',
      request: () => ({ csrPem: newCsr({ uris: [OTHER_TD] }).csrPem, validitySeconds: 0 }),
      want: 'CA_TRUST_DOMAIN_MISMATCH',
    },
    {
      name: 'a CSR that does not parse',
      request: () => ({ csrPem: 'garbage', validitySeconds: 0 }),
      want: 'CA_CSR_MALFORMED',
    },
    {
      name: 'an unknown token',
      request: () => ({ csrPem: newCsr({ uris: [ON_NODE] }).csrPem, validitySeconds: 0 }),
      metadata: () => auth('unknown-token-0123456789abcdef'),
      want: 'CA_UNAUTHENTICATED',
    },
  ];
  for (const c of cases) {
    it(`${c.name}: ${c.want}`, async () => {
      const call = service.createCertificate(c.request(), (c.metadata ?? auth)());
      if (c.want === 'issued') {
        const issued = await call;
        assert.equal(new X509Certificate(issued.certPem).subjectAltName, `URI:${ON_NODE}`);
      } else {
        await assert.rejects(call, (e: unknown) => e instanceof CaError && e.code === c.want);
      }
    });
  }

  it('counts requests, successes and each kind of failure with Istio metric names', async () => {
    const ok = { csrPem: newCsr({ uris: [ON_NODE] }).csrPem, validitySeconds: 0 };
    await service.createCertificate(ok, auth());
    await service.createCertificate(ok, auth());
    await assert.rejects(service.createCertificate(ok, auth('unknown-token-0123456789abcdef')));
    await assert.rejects(service.createCertificate({ csrPem: 'x', validitySeconds: 0 }, auth()));
    await assert.rejects(
      service.createCertificate({ csrPem: newCsr({}).csrPem, validitySeconds: 0 }, auth()),
    );
    assert.equal(await metric('citadel_server_csr_count'), 5);
    assert.equal(await metric('citadel_server_success_cert_issuance_count'), 2);
    assert.equal(await metric('citadel_server_authentication_failure_count'), 1);
    assert.equal(await metric('citadel_server_csr_parsing_err_count'), 1);
    assert.equal(await metric('citadel_server_id_extraction_err_count'), 1);
    assert.equal(
      await metric('citadel_server_root_cert_expiry_timestamp'),
      pki.material.rootNotAfter.getTime() / 1000,
    );
    assert.ok((await metric('citadel_server_cert_chain_expiry_seconds')) > 0);
  });

  describe('decodeCertificateRequest', () => {
    it('reads the CSR, the validity and ImpersonatedIdentity from the metadata Struct', () => {
      const req = decodeCertificateRequest(
        create(IstioCertificateRequestSchema, {
          csr: 'pem',
          validityDuration: 3600n,
          metadata: { ImpersonatedIdentity: ON_NODE },
        }),
      );
      assert.deepEqual(req, { csrPem: 'pem', validitySeconds: 3600, impersonatedIdentity: ON_NODE });
    });

    const bad: { name: string; metadata: Record<string, unknown> }[] = [
      { name: 'a non-string ImpersonatedIdentity', metadata: { ImpersonatedIdentity: 3 } },
      { name: 'a named CertSigner', metadata: { CertSigner: 'kubernetes.io/legacy-unknown' } },
    ];
    for (const c of bad) {
      it(`refuses ${c.name} with CA_REQUEST_INVALID`, () => {
        const msg = create(IstioCertificateRequestSchema, { csr: 'pem', metadata: c.metadata as never });
        assert.throws(
          () => decodeCertificateRequest(msg),
          (e: unknown) => e instanceof CaError && e.code === 'CA_REQUEST_INVALID',
        );
      });
    }
  });

  const statuses: { code: ConstructorParameters<typeof CaError>[0]; want: grpc.status }[] = [
    { code: 'CA_UNAUTHENTICATED', want: grpc.status.UNAUTHENTICATED },
    { code: 'CA_PERMISSION_DENIED', want: grpc.status.PERMISSION_DENIED },
    { code: 'CA_TRUST_DOMAIN_MISMATCH', want: grpc.status.PERMISSION_DENIED },
    { code: 'CA_CSR_MALFORMED', want: grpc.status.INVALID_ARGUMENT },
    { code: 'CA_CSR_IDENTITY_MISMATCH', want: grpc.status.INVALID_ARGUMENT },
    { code: 'CA_SIGN_FAILED', want: grpc.status.INTERNAL },
  ];
  for (const s of statuses) {
    it(`answers ${s.code} with gRPC status ${grpc.status[s.want]}`, () => {
      assert.equal(grpcStatusOf(new CaError(s.code, 'x')), s.want);
    });
  }
});
