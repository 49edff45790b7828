import assert from 'node:assert/strict';
import { parse } from 'yaml';
import {
  outputFormat,
  renderJson,
  renderStructured,
  renderYaml,
} from '../../../../src/cli/render/structured.js';

describe('cli/render/structured', () => {
  it('json is indented and ends with a newline', () => {
    assert.equal(renderJson({ a: [1] }), '{\n  "a": [\n    1\n  ]\n}\n');
  });

  it('bigint values print as decimal strings (netns cookies, cgroup ids)', () => {
    assert.equal(renderJson({ cookie: 18446744073709551615n }), '{\n  "cookie": "18446744073709551615"\n}\n');
  });

  it('yaml holds the same data as json, long strings unfolded', () => {
    const data = { s: 'x'.repeat(200), n: 1, l: [{ k: 'v' }], none: null, cookie: 5n };
    const text = renderYaml(data);
    assert.ok(text.endsWith('\n'));
    assert.equal(text.split('\n').filter((l) => l.includes('xxxx')).length, 1);
    assert.deepEqual(parse(text), JSON.parse(renderJson(data)));
  });

  it('renderStructured picks the format', () => {
    assert.equal(renderStructured('json', [1]), renderJson([1]));
    assert.equal(renderStructured('yaml', [1]), renderYaml([1]));
  });

  const formats = [
    { value: 'table', want: 'table' },
    { value: 'short', want: 'table' },
    { value: 'json', want: 'json' },
    { value: 'yaml', want: 'yaml' },
  ];
  for (const c of formats) {
    it(`-o ${c.value} renders as ${c.want}`, () => {
      assert.equal(outputFormat(c.value), c.want);
    });
  }
});
