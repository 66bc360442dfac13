/**
 * The receivers page's "serves" filter (issue 15): `set@version`, checked by the same parser as
 * release tags, so that what the filter accepts is what a release can be called. A bad filter is
 * a message for the page (a string), never an exception.
 */
import { parseReleaseTagName } from '../repo/release-tags.ts';

export function parseServesFilter(text: string): { set: string; version: string } | string {
  const parsed = parseReleaseTagName(text.trim());
  if (parsed.ok) return { set: parsed.set, version: parsed.version };
  return `receivers.invalid-filter: "${text}" is not a set@version (${parsed.reason})${parsed.suggestion ? `; did you mean ${parsed.suggestion}?` : ''}`;
}
