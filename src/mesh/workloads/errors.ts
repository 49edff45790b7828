/** Errors of the local mesh's workload controller. */
import { AmbitError } from '../../shared/errors.js';

/**
 * An applied object the local mesh cannot run, located as `file[index]
 * Kind/namespace/name: field.path: message` (as `mesh apply` names
 * invalid objects); nothing of that apply is made.
 */
export class WorkloadError extends AmbitError {}

export function located(where: string, object: string, path: string, message: string): string {
  return `${where} ${object}: ${path}: ${message}`;
}
