import assert from 'node:assert/strict';
import {
  columnWidths,
  formatLines,
  formatTable,
  TABLE_PADDING,
  WIDE_TABLE_PADDING,
} from '../../../../src/cli/render/table.js';

describe('cli/render/table', () => {
  it('pads every column to its widest cell plus the padding and leaves the last cell as is', () => {
    const out = formatTable(
      ['NAMESPACE', 'POLICY NAME', 'ACTION', 'SCOPE'],
      [
        ['default', 'allow-nothing', 'Allow', 'Namespace'],
        ['default', 'allow-waypoint', 'Allow', 'WorkloadSelector'],
      ],
    );
    // istioctl's policies golden table, byte for byte.
    assert.equal(
      out,
      'NAMESPACE POLICY NAME    ACTION SCOPE\n' +
        'default   allow-nothing  Allow  Namespace\n' +
        'default   allow-waypoint Allow  WorkloadSelector\n',
    );
  });

  const paddings = [
    { padding: TABLE_PADDING, want: 'A    B\nlong C\n' },
    { padding: WIDE_TABLE_PADDING, want: 'A        B\nlong     C\n' },
  ];
  for (const c of paddings) {
    it(`padding ${c.padding}: the column is ${c.padding} wider than its widest cell`, () => {
      assert.equal(formatTable(['A', 'B'], [['long', 'C']], { padding: c.padding }), c.want);
    });
  }

  it('pads an empty cell to the column width, so later columns stay aligned', () => {
    assert.equal(
      formatTable(
        ['A', 'B', 'C'],
        [
          ['x', '', 'z'],
          ['xx', 'yyy', 'z'],
        ],
      ),
      'A  B   C\nx      z\nxx yyy z\n',
    );
  });

  it('keeps trailing spaces when the last column cell of a line is followed by an empty last cell', () => {
    assert.equal(
      formatLines([
        ['a', 'b', ''],
        ['aa', 'bb', ''],
      ]),
      'a  b  \naa bb \n',
    );
  });

  it('counts code points, not UTF-16 units, when measuring a cell', () => {
    assert.equal(
      formatTable(
        ['N', 'X'],
        [
          ['é𝄞', '1'],
          ['ab', '2'],
        ],
      ),
      'N  X\né𝄞 1\nab 2\n',
    );
  });

  it('a line without a cell in a column ends that column block (Go tabwriter semantics)', () => {
    const lines = [['a', 'b'], ['aaaa', 'b'], ['single line'], ['c', 'd']];
    assert.deepEqual(columnWidths(lines), [[5], [5], [], [2]]);
    assert.equal(formatLines(lines), 'a    b\naaaa b\nsingle line\nc d\n');
  });

  it('a nested column block is as wide as the lines that share it', () => {
    const lines = [
      ['a', 'b', 'c'],
      ['a', 'bbbb'],
      ['a', 'b', 'c'],
    ];
    // Column 0 spans all three lines; column 1 exists only in lines 0 and 2, each its own block.
    assert.deepEqual(columnWidths(lines), [[2, 2], [2], [2, 2]]);
  });

  it('honours a minimum column width', () => {
    assert.equal(formatTable(['A', 'B'], [['x', 'y']], { minWidth: 4 }), 'A   B\nx   y\n');
  });

  it('an empty table is just the header line', () => {
    assert.equal(formatTable(['A', 'BB', 'C'], []), 'A BB C\n');
  });
});
