/**
 * Splits a prompt file into front matter and template body, as Dotprompt does, and remembers
 * where the body starts so that template errors point at the right line and column of the file.
 *
 * Front matter is data only: the only engine is YAML (the `yaml` package, as Dotprompt uses).
 * gray-matter's `---js` / `---coffee` engines would eval untrusted pull-request content, so they
 * are replaced by one that refuses (DESIGN.md §9).
 */
import matter from 'gray-matter';
import { parse as parseYaml, YAMLParseError } from 'yaml';
import { AnvilError } from '@anvil/content-schema';

export interface PromptSource {
  /** The front matter as written (Dotprompt's `raw`); undefined when the file has none. */
  frontMatter: Record<string, unknown> | undefined;
  /** The Handlebars body (trimmed when there is front matter, as Dotprompt does). */
  template: string;
  /** Where `template` starts in the file: 1-based line, 0-based column. */
  templateStart: { line: number; column: number };
  file: string | undefined;
}

export interface ParseSourceOptions {
  file?: string | undefined;
}

/** Largest front matter we parse; a prompt's front matter is a few hundred bytes. */
const MAX_FRONT_MATTER_BYTES = 256 * 1024;

export function parsePromptSource(source: string, options: ParseSourceOptions = {}): PromptSource {
  const file = options.file;
  const text = source.charCodeAt(0) === 0xfeff ? source.slice(1) : source;

  if (!hasFrontMatter(text)) {
    return { frontMatter: undefined, template: text, templateStart: { line: 1, column: 0 }, file };
  }

  const firstLineEnd = lineEnd(text, 0);
  const language = text.slice(3, firstLineEnd).trim();
  if (language !== '' && language.toLowerCase() !== 'yaml' && language.toLowerCase() !== 'yml') {
    throw new AnvilError('frontmatter.language', `front matter must be YAML, not "${language}"`, {
      file, line: 1, column: 4,
      hint: 'start the file with a plain "---" line; front matter is data and never runs as code',
    });
  }
  if (!/\r?\n---/.test(text.slice(firstLineEnd))) {
    throw new AnvilError('frontmatter.unclosed', 'front matter opened on line 1 is never closed', {
      file, line: 1, column: 1, hint: 'end the front matter with a line holding only "---"',
    });
  }

  let parsed: matter.GrayMatterFile<string>;
  try {
    parsed = matter(text, { engines: FRONT_MATTER_ENGINES, language: 'yaml' } as unknown as Parameters<typeof matter>[1]);
  } catch (err) {
    throw frontMatterError(err, file);
  }
  const data = (parsed.data ?? {}) as unknown;
  if (typeof data !== 'object' || data === null || Array.isArray(data)) {
    throw new AnvilError('frontmatter.not-a-map', 'front matter must be a YAML mapping of fields (key: value)', {
      file, line: 2, column: 1, hint: 'for example "description: Greets a new user"',
    });
  }

  // gray-matter's content is a suffix of the text; Dotprompt trims the body.
  const contentStart = text.length - parsed.content.length;
  const leading = parsed.content.length - parsed.content.trimStart().length;
  const templateOffset = contentStart + leading;
  return {
    frontMatter: data as Record<string, unknown>,
    template: parsed.content.trim(),
    templateStart: locate(text, templateOffset),
    file,
  };
}

function hasFrontMatter(text: string): boolean {
  // As gray-matter: "---" at the very start, not followed by another "-".
  return text.startsWith('---') && text.charAt(3) !== '-';
}

function lineEnd(text: string, from: number): number {
  const i = text.indexOf('\n', from);
  return i === -1 ? text.length : i;
}

/** 1-based line and 0-based column of an offset. */
export function locate(text: string, offset: number): { line: number; column: number } {
  let line = 1;
  let lineStart = 0;
  for (let i = text.indexOf('\n'); i !== -1 && i < offset; i = text.indexOf('\n', i + 1)) {
    line++;
    lineStart = i + 1;
  }
  return { line, column: offset - lineStart };
}

function parseFrontMatterYaml(yamlText: string): unknown {
  if (yamlText.length > MAX_FRONT_MATTER_BYTES) {
    throw new AnvilError('frontmatter.too-large', `front matter is larger than ${MAX_FRONT_MATTER_BYTES} bytes`, {
      line: 1, column: 1, hint: 'keep large data out of prompt files',
    });
  }
  // gray-matter cuts the block at "\n---", leaving the "\r" of a CRLF file at its end; Dotprompt's
  // own split consumes it, and YAML would read it as part of the last value.
  const block = yamlText.endsWith('\r') ? yamlText.slice(0, -1) : yamlText;
  try {
    return parseYaml(block, { prettyErrors: true, uniqueKeys: true, maxAliasCount: 100 });
  } catch (err) {
    if (err instanceof YAMLParseError) throw err;
    // Raised while building values (e.g. too many aliases: a resource-exhaustion guard).
    throw new AnvilError('frontmatter.yaml', `invalid YAML in front matter: ${(err as Error).message}`, {
      line: 2, column: 1, cause: err, hint: 'front matter is plain data; avoid YAML anchors and aliases',
    });
  }
}

function refuseCode(): never {
  throw new AnvilError('frontmatter.language', 'front matter must be YAML; executable front matter is disabled', {
    line: 1, column: 4, hint: 'start the file with a plain "---" line',
  });
}

const FRONT_MATTER_ENGINES = {
  yaml: { parse: parseFrontMatterYaml },
  javascript: { parse: refuseCode },
  js: { parse: refuseCode },
  coffee: { parse: refuseCode },
  json: { parse: refuseCode },
};

function frontMatterError(err: unknown, file: string | undefined): AnvilError {
  if (err instanceof AnvilError) {
    return new AnvilError(err.code, err.message, {
      file, line: err.line, column: err.column, hint: err.hint, cause: err.cause,
    });
  }
  if (err instanceof YAMLParseError) {
    // The matter block starts with the newline that ends the "---" line, so YAML's line n
    // is the file's line n.
    const pos = err.linePos?.[0];
    const message = err.message.split('\n')[0]?.replace(/ at line \d+, column \d+:?$/, '') ?? 'invalid YAML';
    return new AnvilError('frontmatter.yaml', `invalid YAML in front matter: ${message}`, {
      file, line: pos?.line, column: pos?.col, cause: err,
      hint: 'check indentation, and quote values that contain ": " or start with a special character',
    });
  }
  return new AnvilError('frontmatter.invalid', `cannot read front matter: ${(err as Error)?.message ?? String(err)}`, {
    file, line: 1, column: 1, cause: err,
  });
}
