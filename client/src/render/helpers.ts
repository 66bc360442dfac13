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

/**
 * How each helper must be called. Handlebars checks none of this when it compiles: `{{#if}}`,
 * `{{json}}` or `{{ifEquals a b}}` compile and then throw at every render, and `{{role}}` or
 * `{{section}}` (meant as variables) write meaningless markers. The environment refuses such
 * calls at compile time (`template.helper-usage`), so that what lint accepts renders (issue 14).
 */
export interface HelperShape {
  /** true: only as `{{#name …}}…{{/name}}`; false: never as a block; undefined: either. */
  block: boolean | undefined;
  /** How many positional arguments; undefined: any number. */
  params: number | undefined;
  /** Hash arguments it cannot do without. */
  hash?: readonly string[];
  /** How to call it, for hints. */
  usage: string;
}

export const HELPER_SHAPES: Readonly<Record<string, HelperShape>> = {
  if: { block: true, params: 1, usage: '{{#if value}}…{{/if}}' },
  unless: { block: true, params: 1, usage: '{{#unless value}}…{{/unless}}' },
  each: { block: true, params: 1, usage: '{{#each items}}…{{/each}}' },
  with: { block: true, params: 1, usage: '{{#with value}}…{{/with}}' },
  lookup: { block: false, params: 2, usage: '{{lookup object key}}' },
  log: { block: undefined, params: undefined, usage: '{{log value}}' },
  json: { block: false, params: 1, usage: '{{json value}} (or {{json value indent=2}})' },
  role: { block: false, params: 1, usage: '{{role "system"}}' },
  history: { block: false, params: 0, usage: '{{history}}' },
  section: { block: false, params: 1, usage: '{{section "name"}}' },
  media: { block: false, params: 0, hash: ['url'], usage: '{{media url=imageUrl}} (or with contentType="image/png")' },
  ifEquals: { block: true, params: 2, usage: '{{#ifEquals a b}}…{{/ifEquals}}' },
  unlessEquals: { block: true, params: 2, usage: '{{#unlessEquals a b}}…{{/unlessEquals}}' },
};

/** Role names Dotprompt recognises: lowercase letters only. */
export const ROLE_NAME = /^[a-z]+$/;

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
      if (!ROLE_NAME.test(name)) {
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
