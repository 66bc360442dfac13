/**
 * What an app was compiled against, in a form a program can read: `anvil types` ends the
 * declaration file it writes with a comment holding each prompt's contract (prompt-contract.ts),
 * and `anvil-live check` reads it back. In the same file rather than beside it, so that the
 * types the app compiles with and the manifest the check reads cannot drift apart; a comment, so
 * that TypeScript ignores it. Declarations written before this manifest existed have none: the
 * check then asks for `anvil types` to be run again. The format itself is content-schema's
 * (schemas/types-manifest.ts); this file writes it and finds it in the declarations.
 *
 *   /* anvil.types-manifest/1 (read by `anvil-live check`; generated, do not edit)
 *   {"format": "anvil.types-manifest/1", "from": "…", "prompts": {"onboarding/welcome.message": {…}}}
 *   *\/
 */
import { AnvilError, TYPES_MANIFEST_FORMAT, formatIssue, validateTypesManifest, type ManifestPrompt, type TypesManifest, type ValidationIssue } from '@anvil/content-schema';
import { compare, isObject } from './prompt-contract.ts';

// The format is defined in content-schema; re-exported here for the client's public API.
export { TYPES_MANIFEST_FORMAT, type ManifestPrompt, type TypesManifest };

const OPENING = `/* ${TYPES_MANIFEST_FORMAT}`;

/** The manifest for these prompts: keys and lists in code-unit order, the same bytes for the same prompts. */
export function typesManifest(from: string, prompts: readonly ManifestPrompt[]): TypesManifest {
  const sorted = [...prompts].sort((a, b) => compare(`${a.set}/${a.id}`, `${b.set}/${b.id}`));
  return {
    format: TYPES_MANIFEST_FORMAT,
    from,
    prompts: Object.fromEntries(sorted.map((p) => [`${p.set}/${p.id}`, sortKeys({ set: p.set, id: p.id, variants: p.variants, input: p.input }) as ManifestPrompt])),
  };
}

/** The comment that carries the manifest, to end a declaration file with. */
export function typesManifestComment(manifest: TypesManifest): string {
  // `*\/` is JSON for `*/`, so a variable name or constant holding `*/` cannot end the comment.
  const json = JSON.stringify(manifest, null, 2).replace(/\*\//g, '*\\/');
  return `${OPENING} (read by \`anvil-live check\`; generated, do not edit)\n${json}\n*/\n`;
}

/** The manifest at the end of a declaration file's text; every problem an AnvilError naming `file`. */
export function readTypesManifest(text: string, file: string): TypesManifest {
  const start = text.lastIndexOf(OPENING);
  if (start < 0) {
    throw new AnvilError('check.no-manifest', `${file} has no prompt manifest: it was not written by \`anvil types\`, or by one that predates the manifest`, {
      file,
      hint: 'run `npx anvil types --out <this file>` again in the prompt repository (or with --repo), then commit it',
    });
  }
  const bodyStart = text.indexOf('\n', start);
  const end = text.indexOf('*/', start + OPENING.length);
  if (bodyStart < 0 || end < 0 || end < bodyStart) throw invalid(file, text, start, 'the manifest comment is not closed');
  let parsed: unknown;
  try {
    parsed = JSON.parse(text.slice(bodyStart + 1, end));
  } catch (err) {
    throw invalid(file, text, bodyStart + 1, `the manifest is not JSON: ${(err as Error).message}`);
  }
  const checked = validateTypesManifest(parsed);
  if (!checked.ok) {
    const [first] = checked.errors;
    const more = checked.errors.length > 1 ? ` (and ${checked.errors.length - 1} more)` : '';
    throw invalid(file, text, bodyStart + 1, `the manifest is not valid: ${first ? formatIssue(first) : 'invalid'}${more}`, checked.errors);
  }
  return checked.value;
}

function invalid(file: string, text: string, at: number, message: string, errors?: readonly ValidationIssue[]): AnvilError {
  const before = text.slice(0, at);
  const line = before.split('\n').length;
  const column = at - before.lastIndexOf('\n');
  return new AnvilError('check.manifest-invalid', message, {
    file,
    line,
    column,
    hint: 'do not edit the generated file: run `npx anvil types --out <this file>` again',
    details: errors === undefined ? undefined : { errors },
  });
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (!isObject(value)) return value;
  return Object.fromEntries(Object.keys(value).sort(compare).map((k) => [k, sortKeys(value[k])]));
}
