/** `-o json` and `-o yaml`: the data as the source served it, serialised once. */
import { stringify } from 'yaml';

export type OutputFormat = 'table' | 'json' | 'yaml';

/** The accepted `-o` values; `short` is istioctl's name for the table. */
export const OUTPUT_CHOICES: readonly string[] = ['table', 'short', 'json', 'yaml'];

export function outputFormat(value: string): OutputFormat {
  return value === 'json' || value === 'yaml' ? value : 'table';
}

/** Pretty JSON with a final newline. bigint values become decimal strings. */
export function renderJson(data: unknown): string {
  return `${JSON.stringify(data, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v), 2)}\n`;
}

/** YAML of the same data as {@link renderJson} (through JSON, so both agree on every value). */
export function renderYaml(data: unknown): string {
  const plain: unknown = JSON.parse(renderJson(data));
  const text = stringify(plain, { lineWidth: 0 });
  return text.endsWith('\n') ? text : `${text}\n`;
}

export function renderStructured(format: 'json' | 'yaml', data: unknown): string {
  return format === 'json' ? renderJson(data) : renderYaml(data);
}
