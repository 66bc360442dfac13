/** Defensive reads for format checks, which run even when the data failed its schema. */
import { FORBIDDEN_KEYS } from './inspect-data.ts';

/** `value` as a plain record, or undefined when it is not a non-array object. */
export function asRecord(value: unknown): Record<string, unknown> | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : undefined;
}

/** Own entries of a record, minus keys that are refused anyway. */
export function entriesOf(value: unknown): [string, unknown][] {
  const record = asRecord(value);
  if (!record) return [];
  return Object.keys(record)
    .filter((key) => !FORBIDDEN_KEYS.has(key))
    .map((key) => [key, record[key]]);
}

/** A string field of a record, or undefined. */
export function stringAt(value: unknown, key: string): string | undefined {
  const record = asRecord(value);
  if (!record || !Object.hasOwn(record, key)) return undefined;
  const found = record[key];
  return typeof found === 'string' ? found : undefined;
}

/** A field of a record (own properties only), or undefined. */
export function fieldAt(value: unknown, key: string): unknown {
  const record = asRecord(value);
  return record && Object.hasOwn(record, key) ? record[key] : undefined;
}
