import assert from 'node:assert/strict';
import { Readiness } from '../../../../src/ztunnel/admin/index.js';

describe('Readiness', () => {
  it('is ready when nothing was registered', () => {
    const r = new Readiness();
    assert.equal(r.isReady(), true);
    assert.deepEqual(r.pending(), []);
  });

  it('lists pending task names sorted until each is marked done', () => {
    const r = new Readiness();
    const proxy = r.register('proxy');
    const state = r.register('state manager');
    const dns = r.register('dns proxy');
    assert.deepEqual(r.pending(), ['dns proxy', 'proxy', 'state manager']);
    assert.equal(r.isReady(), false);
    state();
    assert.deepEqual(r.pending(), ['dns proxy', 'proxy']);
    proxy();
    dns();
    assert.equal(r.isReady(), true);
  });

  it('keeps a name pending until every registration of it is done', () => {
    const r = new Readiness();
    const first = r.register('proxy');
    const second = r.register('proxy');
    first();
    assert.deepEqual(r.pending(), ['proxy']);
    second();
    assert.deepEqual(r.pending(), []);
  });

  it('ignores a done function called twice', () => {
    const r = new Readiness();
    const first = r.register('proxy');
    r.register('proxy');
    first();
    first();
    assert.deepEqual(r.pending(), ['proxy']);
  });

  it('becomes not ready again when a task is registered after readiness', () => {
    const r = new Readiness();
    r.register('a')();
    assert.equal(r.isReady(), true);
    const b = r.register('b');
    assert.deepEqual(r.pending(), ['b']);
    b();
    assert.equal(r.isReady(), true);
  });
});
