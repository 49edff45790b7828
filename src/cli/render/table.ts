/**
 * Column alignment the way istioctl prints its tables (Go's text/tabwriter
 * with a space pad character and no flags): every cell but the last of a
 * line belongs to a column; a column block is a run of consecutive lines
 * that have a cell in that column, and all its cells are padded to the
 * widest cell of the block plus `padding`. The last cell of a line is
 * written as is, so a short line ends a block and starts a new one below.
 */

/** Padding istioctl uses for most tables (`tabwriter.Init(w, 0, 8, 1, ' ', 0)`). */
export const TABLE_PADDING = 1;
/** Padding of istioctl's certificate and proxy-status tables (`tabwriter.Init(w, 0, 8, 5, ' ', 0)`). */
export const WIDE_TABLE_PADDING = 5;

export interface TableOptions {
  /** Spaces added after the widest cell of each column. Default {@link TABLE_PADDING}. */
  readonly padding?: number;
  /** The narrowest a column may be, padding included. Default 0. */
  readonly minWidth?: number;
}

/** Display width: one per code point, as tabwriter counts UTF-8 runes. */
function cellWidth(text: string): number {
  let n = 0;
  for (const _ of text) n++;
  return n;
}

/** The padded width of every column cell, per line (the last cell of a line has none). */
export function columnWidths(lines: readonly (readonly string[])[], options: TableOptions = {}): number[][] {
  const padding = options.padding ?? TABLE_PADDING;
  const minWidth = options.minWidth ?? 0;
  const widths = lines.map((l) => new Array<number>(Math.max(0, l.length - 1)).fill(0));
  const inColumn = (line: number, column: number): boolean => column < (lines[line]?.length ?? 0) - 1;
  // Explicit stack instead of recursion: (column, first line, end line) of a region to lay out.
  const work: [number, number, number][] = [[0, 0, lines.length]];
  while (work.length > 0) {
    const [column, line0, line1] = work.pop() as [number, number, number];
    let i = line0;
    while (i < line1) {
      if (!inColumn(i, column)) {
        i++;
        continue;
      }
      let width = minWidth;
      let j = i;
      for (; j < line1 && inColumn(j, column); j++) {
        width = Math.max(width, cellWidth(lines[j]?.[column] ?? '') + padding);
      }
      for (let k = i; k < j; k++) (widths[k] as number[])[column] = width;
      work.push([column + 1, i, j]);
      i = j;
    }
  }
  return widths;
}

/** Lays the lines out; each line ends with a newline. */
export function formatLines(lines: readonly (readonly string[])[], options: TableOptions = {}): string {
  const widths = columnWidths(lines, options);
  let out = '';
  lines.forEach((cells, i) => {
    const w = widths[i] as number[];
    cells.forEach((cell, c) => {
      out += c < w.length ? cell + ' '.repeat(Math.max(0, (w[c] as number) - cellWidth(cell))) : cell;
    });
    out += '\n';
  });
  return out;
}

/** A header line and its rows, aligned. */
export function formatTable(
  header: readonly string[],
  rows: readonly (readonly string[])[],
  options: TableOptions = {},
): string {
  return formatLines([header, ...rows], options);
}
