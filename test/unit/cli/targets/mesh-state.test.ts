import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TargetError, type TargetErrorCode } from '../../../../src/cli/targets/errors.js';
import {
  decodeMeshState,
  findMeshNode,
  meshStateFile,
  readMeshState,
  requireMeshState,
  writeMeshState,
} from '../../../../src/cli/targets/mesh-state.js';

function failsWith(code: TargetErrorCode, pattern: RegExp): (err: unknown) => boolean {
  return (err) => err instanceof TargetError && err.code === code && pattern.test(err.message);
}

describe('cli/targets/mesh-state', () => {
  let dir: string;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'ambit-mesh-state-'));
  });

  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('reads back what writeMeshState wrote, nodes sorted by name', () => {
    const file = writeMeshState(dir, {
      nodes: [
        { name: 'node-b', adminAddress: '10.0.0.2:15000', istiodMonitoring: '10.0.0.1:15014' },
        { name: 'node-a', adminAddress: '[fd00::1]:15000', istiodMonitoring: '10.0.0.1:15014' },
      ],
    });
    assert.equal(file, meshStateFile(dir));
    const state = readMeshState(dir);
    assert.deepEqual(state, {
      file,
      nodes: [
        {
          name: 'node-a',
          adminAddress: { host: 'fd00::1', port: 15000 },
          istiodMonitoring: { host: '10.0.0.1', port: 15014 },
        },
        {
          name: 'node-b',
          adminAddress: { host: '10.0.0.2', port: 15000 },
          istiodMonitoring: { host: '10.0.0.1', port: 15014 },
        },
      ],
    });
  });

  it('a missing file is undefined for readMeshState and an error with a hint for requireMeshState', () => {
    assert.equal(readMeshState(dir), undefined);
    assert.throws(
      () => requireMeshState(dir),
      failsWith(
        'MESH_STATE_MISSING',
        /no mesh state at .*nodes\.json or .*mesh\.json; start the mesh with `ambit mesh up`/,
      ),
    );
  });

  it("without nodes.json, reads the local mesh's mesh.json: agents with their admin address and instance, istiod's monitoring address", () => {
    writeFileSync(
      join(dir, 'mesh.json'),
      JSON.stringify({
        version: 1,
        istiod: { pid: 1, monitoringAddress: '127.0.0.1:41014', grpcAddress: '127.0.0.1:41010' },
        agents: [
          { node: 'node-2', pid: 3, adminAddress: '127.0.0.1:41102', instance: 'm1-node-2' },
          { node: 'node-1', pid: 2, adminAddress: '127.0.0.1:41101', instance: 'm1-node-1' },
        ],
        pods: [],
      }),
    );
    assert.deepEqual(readMeshState(dir), {
      file: join(dir, 'mesh.json'),
      nodes: [
        {
          name: 'node-1',
          adminAddress: { host: '127.0.0.1', port: 41101 },
          istiodMonitoring: { host: '127.0.0.1', port: 41014 },
          instance: 'm1-node-1',
        },
        {
          name: 'node-2',
          adminAddress: { host: '127.0.0.1', port: 41102 },
          istiodMonitoring: { host: '127.0.0.1', port: 41014 },
          instance: 'm1-node-2',
        },
      ],
    });
  });

  it('nodes.json wins over mesh.json', () => {
    writeFileSync(join(dir, 'mesh.json'), '{}');
    writeMeshState(dir, { nodes: [{ name: 'n', adminAddress: 'a:1', istiodMonitoring: 'b:2' }] });
    assert.equal(readMeshState(dir)?.nodes[0]?.name, 'n');
  });

  it('a mesh.json without agents is MESH_STATE_INVALID with the path', () => {
    writeFileSync(join(dir, 'mesh.json'), JSON.stringify({ istiod: { monitoringAddress: 'a:1' } }));
    assert.throws(
      () => readMeshState(dir),
      failsWith('MESH_STATE_INVALID', /mesh\.json: agents: not a list/),
    );
  });

  it('a file that is not JSON is MESH_STATE_INVALID naming the file', () => {
    writeFileSync(meshStateFile(dir), '{ nodes: ');
    assert.throws(() => readMeshState(dir), failsWith('MESH_STATE_INVALID', /nodes\.json: not JSON/));
  });

  it('an unreadable path (a directory where the file should be) is MESH_STATE_MISSING', () => {
    mkdirSync(meshStateFile(dir));
    assert.throws(() => readMeshState(dir), failsWith('MESH_STATE_MISSING', /nodes\.json/));
  });

  const invalid = [
    { name: 'a list at the root', doc: [], path: /\(root\): not a JSON object/ },
    { name: 'nodes missing', doc: {}, path: /nodes: not a list/ },
    { name: 'a node that is a string', doc: { nodes: ['a'] }, path: /nodes\[0\]: not an object/ },
    {
      name: 'a node without a name',
      doc: { nodes: [{ adminAddress: 'a:1', istiodMonitoring: 'b:2' }] },
      path: /nodes\[0\]\.name/,
    },
    {
      name: 'a bad admin address',
      doc: { nodes: [{ name: 'n', adminAddress: 'nope', istiodMonitoring: 'b:2' }] },
      path: /nodes\[0\]\.adminAddress: .*not HOST:PORT/,
    },
    {
      name: 'a duplicate name',
      doc: {
        nodes: [
          { name: 'n', adminAddress: 'a:1', istiodMonitoring: 'b:2' },
          { name: 'n', adminAddress: 'a:1', istiodMonitoring: 'b:2' },
        ],
      },
      path: /nodes\[1\]\.name: "n" is listed twice/,
    },
  ];
  for (const c of invalid) {
    it(`${c.name}: MESH_STATE_INVALID with the field path`, () => {
      assert.throws(() => decodeMeshState('state.json', c.doc), failsWith('MESH_STATE_INVALID', c.path));
    });
  }

  it('findMeshNode returns the named node and lists the known ones for an unknown name', () => {
    const state = decodeMeshState('s.json', {
      nodes: [
        { name: 'b', adminAddress: 'h:2', istiodMonitoring: 'i:3' },
        { name: 'a', adminAddress: 'h:1', istiodMonitoring: 'i:3' },
      ],
    });
    assert.equal(findMeshNode(state, 'a').adminAddress.port, 1);
    assert.throws(
      () => findMeshNode(state, 'c'),
      failsWith('MESH_UNKNOWN_NODE', /no node "c" in s\.json; known nodes: a, b/),
    );
    assert.throws(
      () => findMeshNode(decodeMeshState('e.json', { nodes: [] }), 'c'),
      failsWith('MESH_UNKNOWN_NODE', /lists no nodes/),
    );
  });
});
