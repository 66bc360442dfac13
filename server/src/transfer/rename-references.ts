/**
 * Renaming a partial on import (`--on-conflict rename`) renames it where the imported files
 * include it: `{{> name}}`, `{{~> name}}`, `{{#> name}}…{{/name}}`, quoted names too. Only the
 * names given change; everything else in the file stays byte for byte.
 */

const OPEN = /(\{\{~?(#?)>\s*)(["']?)([^\s}"'~()]+)\3/g;

export function renamePartialReferences(text: string, renames: ReadonlyMap<string, string>): string {
  if (renames.size === 0 || !/\{\{~?#?>/.test(text)) return text;
  const blocks = new Set<string>();
  const out = text.replace(OPEN, (match, open: string, block: string, quote: string, name: string) => {
    const to = renames.get(name);
    if (to === undefined) return match;
    if (block === '#') blocks.add(name);
    return `${open}${quote}${to}${quote}`;
  });
  if (blocks.size === 0) return out;
  // The closing tag of a partial block names the partial too.
  return out.replace(/(\{\{~?\/\s*)([^\s}~]+)/g, (match, open: string, name: string) => (blocks.has(name) ? `${open}${renames.get(name)}` : match));
}
