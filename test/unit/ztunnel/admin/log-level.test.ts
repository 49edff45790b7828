import assert from 'node:assert/strict';
import { pino } from 'pino';
import { AdminError, LogLevelControl } from '../../../../src/ztunnel/admin/index.js';

describe('LogLevelControl', () => {
  function setup(): { root: pino.Logger; child: pino.Logger; grandchild: pino.Logger; lines: string[] } {
    const lines: string[] = [];
    const root = pino({ level: 'info' }, { write: (s: string) => void lines.push(s) });
    const child = root.child({ component: 'xds' });
    const grandchild = child.child({ stream: 1 });
    return { root, child, grandchild, lines };
  }

  it('reports the current level', () => {
    const { root } = setup();
    assert.equal(new LogLevelControl(root).current(), 'info');
  });

  it('changes the level of the root and of existing children', () => {
    const { root, child, grandchild, lines } = setup();
    const control = new LogLevelControl(root);
    control.set('debug');
    assert.equal(control.current(), 'debug');
    grandchild.debug('decided');
    assert.equal(lines.length, 1);
    control.set('warn');
    child.info('lifecycle');
    assert.equal(lines.length, 1);
  });

  it("accepts ztunnel's off as silent and reports it as off", () => {
    const { root } = setup();
    const control = new LogLevelControl(root);
    control.set('OFF');
    assert.equal(root.level, 'silent');
    assert.equal(control.current(), 'off');
  });

  it('resets to the start-up level', () => {
    const { root } = setup();
    const control = new LogLevelControl(root);
    control.set('trace');
    control.reset();
    assert.equal(control.current(), 'info');
    assert.equal(control.initial(), 'info');
  });

  it('refuses an unknown level with ADMIN_INVALID_LOG_LEVEL and keeps the current one', () => {
    const { root } = setup();
    const control = new LogLevelControl(root);
    assert.throws(
      () => control.set('verbose'),
      (err: unknown) => err instanceof AdminError && err.code === 'ADMIN_INVALID_LOG_LEVEL',
    );
    assert.equal(control.current(), 'info');
  });
});
