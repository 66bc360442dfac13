/**
 * Dotprompt's helpers (google/dotprompt js/src/helpers.ts), writing this environment's
 * nonce markers instead of the public `<<<dotprompt:…>>>` strings (see MarkerSet).
 */
import type { HelperDelegate, HelperOptions } from 'handlebars';
import { AnvilError } from '@anvil/content-schema';
import type { MarkerSet } from './messages.ts';

/** The helpers every environment has, beyond Handlebars' built-ins. */
export const DOTPROMPT_HELPERS = ['json', 'role', 'history', 'section', 'media', 'ifEquals', 'unlessEquals'] as const;

/** Helpers whose output only means something as messages (renderMessages). */
export const MARKER_HELPERS: ReadonlySet<string> = new Set(['role', 'history', 'section', 'media']);

/** Values land inside a marker; the marker delimiters and spaces would change its meaning. */
function markerSafe(value: unknown): string {
  return String(value ?? '').replace(/[\uE000\uE001\s]/g, '');
}

export function createHelpers(markers: MarkerSet, SafeString: new (s: string) => unknown): Record<string, HelperDelegate> {
  return {
    json(value: unknown, options: HelperOptions) {
      const indent = Number(options.hash?.['indent'] ?? 0) || 0;
      return new SafeString(JSON.stringify(value, null, indent));
    },
    role(role: unknown) {
      const name = String(role);
      // Dotprompt only recognises lowercase role names; anything else would leak a marker.
      if (!/^[a-z]+$/.test(name)) {
        throw new AnvilError('render.invalid-role', `role "${name}" is not a role name`, {
          hint: 'use {{role "system"}}, {{role "user"}}, {{role "model"}} or {{role "tool"}}',
        });
      }
      return new SafeString(markers.role(name));
    },
    history() {
      return new SafeString(markers.history);
    },
    section(name: unknown) {
      return new SafeString(markers.section(markerSafe(name)));
    },
    media(options: HelperOptions) {
      const url = markerSafe(options.hash?.['url']);
      const contentType = options.hash?.['contentType'];
      return new SafeString(markers.media(url, contentType ? markerSafe(contentType) : undefined));
    },
    ifEquals(this: unknown, a: unknown, b: unknown, options: HelperOptions) {
      return a === b ? options.fn(this) : options.inverse(this);
    },
    unlessEquals(this: unknown, a: unknown, b: unknown, options: HelperOptions) {
      return a !== b ? options.fn(this) : options.inverse(this);
    },
  };
}
