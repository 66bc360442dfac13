/**
 * The dashboard's one escaping helper (issue 15): pages are written with the `html` tag, which
 * escapes every interpolated value unless it is already `Html` (made by this tag). Nothing else
 * turns text into markup, so a value a caller sent — a token label, a receiver id, a prompt —
 * can only ever become text on the page.
 */

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** Held by this module only, so that no other code can mark arbitrary text as markup. */
const MADE_BY_TAG = Symbol('html');

/** Markup that is safe as it is: only the `html` tag makes one. */
export class Html {
  readonly #text: string;
  constructor(key: symbol, text: string) {
    if (key !== MADE_BY_TAG) throw new Error('Html is made by the html`` tag only');
    this.#text = text;
  }
  toString(): string {
    return this.#text;
  }
}

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ESCAPES[c]!);
}

/** What may be interpolated: text and numbers (escaped), markup, lists of them, and nothing (skipped). */
export type HtmlValue = Html | string | number | null | undefined | false | readonly HtmlValue[];

function render(value: HtmlValue): string {
  if (value === null || value === undefined || value === false) return '';
  if (value instanceof Html) return value.toString();
  if (Array.isArray(value)) return value.map(render).join('');
  return escapeHtml(String(value));
}

export function html(strings: TemplateStringsArray, ...values: HtmlValue[]): Html {
  let out = strings[0]!;
  values.forEach((value, i) => {
    out += render(value) + strings[i + 1]!;
  });
  return new Html(MADE_BY_TAG, out);
}
