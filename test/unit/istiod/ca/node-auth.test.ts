import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Metadata } from '@grpc/grpc-js';
import { authorizeIdentity, CaError, NodeTokenAuthenticator } from '../../../../src/istiod/ca/index.js';
import { staticNodeIdentities } from '../../../support/ca.js';

const TOKEN_1 = 'token-for-node-1-0123456789';
const TOKEN_2 = 'token-for-node-2-0123456789';

function withAuth(value?: string): Metadata {
  const md = new Metadata();
  if (value !== undefined) md.set('authorization', value);
  return md;
}

function caError(code: string) {
  return (e: unknown): boolean => e instanceof CaError && e.code === code;
}

describe('istiod/ca/node-auth', () => {
  let dir = '';
  before(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'ambit-ca-tokens-'));
  });
  after(async () => {
    await fs.rm(dir, { recursive: true, force: true });
  });

  const files: { name: string; text: string }[] = [
    {
      name: 'tokens.yaml',
      text: `tokens:\n  - token: ${TOKEN_1}\n    node: node-1\n  - token: ${TOKEN_2}\n    node: node-2\n`,
    },
    {
      name: 'tokens.json',
      text: JSON.stringify({
        tokens: [
          { token: TOKEN_1, node: 'node-1' },
          { token: TOKEN_2, node: 'node-2' },
        ],
      }),
    },
  ];
  for (const f of files) {
    it(`reads a ${path.extname(f.name).slice(1).toUpperCase()} tokens file and maps each token to its node`, async () => {
      const file = path.join(dir, f.name);
      await fs.writeFile(file, f.text);
      const auth = await NodeTokenAuthenticator.fromFile(file);
      assert.equal(auth.size, 2);
      assert.deepEqual(auth.authenticate(withAuth(`Bearer ${TOKEN_1}`)), { kind: 'node', node: 'node-1' });
      assert.deepEqual(auth.authenticate(withAuth(`bearer ${TOKEN_2}`)), { kind: 'node', node: 'node-2' });
    });
  }

  const badFiles: { name: string; text: string; mentions: string }[] = [
    { name: 'no tokens list', text: 'nodes: []\n', mentions: 'tokens: must be a list' },
    { name: 'a short token', text: 'tokens:\n  - token: abc\n    node: n\n', mentions: 'tokens[0].token' },
    { name: 'a missing node', text: `tokens:\n  - token: ${TOKEN_1}\n`, mentions: 'tokens[0].node' },
    {
      name: 'one token for two nodes',
      text: `tokens:\n  - {token: ${TOKEN_1}, node: a}\n  - {token: ${TOKEN_1}, node: b}\n`,
      mentions: 'tokens[1].token',
    },
    { name: 'invalid YAML', text: 'tokens: [\n', mentions: 'not valid YAML' },
  ];
  for (const c of badFiles) {
    it(`refuses a tokens file with ${c.name} (CA_TOKENS_INVALID, file and field named)`, async () => {
      const file = path.join(dir, 'bad.yaml');
      await fs.writeFile(file, c.text);
      await assert.rejects(NodeTokenAuthenticator.fromFile(file), (e: unknown) => {
        assert.ok(caError('CA_TOKENS_INVALID')(e), String(e));
        assert.ok(
          (e as Error).message.includes(file) && (e as Error).message.includes(c.mentions),
          (e as Error).message,
        );
        return true;
      });
    });
  }

  it('refuses a missing tokens file with CA_TOKENS_INVALID', async () => {
    await assert.rejects(
      NodeTokenAuthenticator.fromFile(path.join(dir, 'absent.yaml')),
      caError('CA_TOKENS_INVALID'),
    );
  });

  const auth = new NodeTokenAuthenticator([{ token: TOKEN_1, node: 'node-1' }]);
  const unauthenticated: { name: string; md: Metadata; mentions: string }[] = [
    { name: 'no authorization metadata', md: withAuth(), mentions: 'no authorization metadata' },
    { name: 'a non-bearer scheme', md: withAuth(`Basic ${TOKEN_1}`), mentions: 'not of the form' },
    {
      name: 'an unknown token',
      md: withAuth('Bearer some-other-token-0123456'),
      mentions: 'not one of the node tokens',
    },
  ];
  for (const c of unauthenticated) {
    it(`answers ${c.name} with CA_UNAUTHENTICATED saying why`, () => {
      assert.throws(
        () => auth.authenticate(c.md),
        (e: unknown) => caError('CA_UNAUTHENTICATED')(e) && (e as Error).message.includes(c.mentions),
      );
    });
  }

  describe('authorizeIdentity', () => {
    const lookup = staticNodeIdentities({ 'node-1': ['spiffe://cluster.local/ns/a/sa/x'] });
    it('allows an identity of a workload on the caller node', () => {
      authorizeIdentity({ kind: 'node', node: 'node-1' }, 'spiffe://cluster.local/ns/a/sa/x', lookup);
    });
    it('denies an identity whose workloads run on other nodes, naming node and identity', () => {
      assert.throws(
        () => authorizeIdentity({ kind: 'node', node: 'node-2' }, 'spiffe://cluster.local/ns/a/sa/x', lookup),
        (e: unknown) =>
          caError('CA_PERMISSION_DENIED')(e) &&
          (e as Error).message ===
            'node node-2 has no workload with identity spiffe://cluster.local/ns/a/sa/x',
      );
    });
  });
});
