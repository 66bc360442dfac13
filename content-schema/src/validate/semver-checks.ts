/** Version checks JSON Schema cannot do: a pattern cannot tell whether a range parses. */
import { isExactVersion, isVersionRange } from '../versions.ts';
import type { Report } from './run-validation.ts';

/** Reports unless `value` is a semver range (`^2.0.0`, `~1.2`, `>=1 <2`, `1.x`). */
export function checkRange(error: Report, path: string, value: unknown): void {
  if (typeof value === 'string' && !isVersionRange(value)) {
    error(path, 'semver.range', `"${value}" is not a semver range`, 'use a range such as "^2.0.0", "~1.4" or ">=1.2 <2"');
  }
}

/** Reports unless `value` is an exact version, written canonically (`1.2.0`, not `v1.2.0`). */
export function checkVersion(error: Report, path: string, value: unknown): void {
  if (typeof value === 'string' && !isExactVersion(value)) {
    error(path, 'semver.version', `"${value}" is not an exact semantic version`, 'write it like "1.2.0" or "2.1.0-rc.1"');
  }
}
