/**
 * Handlebars errors → AnvilError with the prompt file's line and column and a one-line hint.
 * Handlebars reports parse errors as prose ("Parse error on line 3: … Expecting 'X', got 'EOF'")
 * and compile errors with 0-based columns; both are turned into positions in the *file*, which
 * starts with front matter that the template never saw.
 */
import { AnvilError, closest } from '@anvil/content-schema';
import { locate } from '../parse/prompt-source.ts';

/** Where a template sits in its file (1-based line, 0-based column), for error positions. */
export interface TemplateOrigin {
  file?: string | undefined;
  start?: { line: number; column: number } | undefined;
}

interface LexerState {
  yylloc?: { first_line: number; first_column: number };
  matched?: string;
}

/** A position inside the template (1-based line, 0-based column) → a 1-based position in the file. */
export function filePosition(origin: TemplateOrigin, line: number, column: number): { line: number; column: number } {
  const start = origin.start ?? { line: 1, column: 0 };
  return {
    line: start.line + line - 1,
    column: (line === 1 ? start.column + column : column) + 1,
  };
}

export function templateError(
  code: string,
  message: string,
  origin: TemplateOrigin,
  at: { line: number; column: number } | undefined,
  hint?: string,
  cause?: unknown,
): AnvilError {
  const pos = at ? filePosition(origin, at.line, at.column) : undefined;
  return new AnvilError(code, message, { file: origin.file, line: pos?.line, column: pos?.column, hint, cause });
}

/** A parse error from `Handlebars.parse`, read together with the lexer's state at the failure. */
export function parseError(
  err: Error & { lineNumber?: number },
  template: string,
  lexer: LexerState | undefined,
  origin: TemplateOrigin,
  knownHelpers: string[],
): AnvilError {
  if (isStackOverflow(err)) return tooDeep(err, origin);
  // Block mismatches are raised while the parser builds the AST, as located exceptions.
  if (err.lineNumber !== undefined) return compileError(err, origin, knownHelpers);
  const text = err.message;
  if (text.startsWith('Lexical error')) {
    // An unclosed {{!-- comment is reported before parsing (template-bounds.ts).
    const at = locate(template, Math.max(0, (lexer?.matched?.length ?? 1) - 1));
    return templateError('template.syntax', 'unrecognised text in a template expression', origin, at,
      'check the braces of the expression here', err);
  }

  const got = /got '([^']+)'/.exec(text)?.[1];
  const expecting = /Expecting (.*), got/.exec(text)?.[1] ?? '';
  const loc = lexer?.yylloc;
  const at = loc ? { line: loc.first_line, column: loc.first_column } : undefined;

  if (got === 'EOF' && expecting.includes('OPEN_ENDBLOCK')) {
    const open = findUnclosedBlock(template);
    if (open) {
      return templateError('template.unclosed-block', `block "{{#${open.name}}}" is never closed`, origin,
        locate(template, open.offset), `add {{/${open.name}}} where the block ends`, err);
    }
    return templateError('template.unclosed-block', 'a block is never closed', origin, at, 'every {{#name}} needs a matching {{/name}}', err);
  }
  if (got === 'OPEN_ENDBLOCK') {
    return templateError('template.syntax', 'closing tag without an opening block', origin, at,
      'remove it, or open the block with {{#name …}} before it', err);
  }
  if (got === 'INVALID' || got === 'EOF') {
    return templateError('template.syntax', 'an expression is not closed', origin, at, 'close it with }}', err);
  }
  if (got === 'CLOSE' || got === 'CLOSE_UNESCAPED') {
    return templateError('template.syntax', 'an expression is empty or its braces do not match', origin, at,
      'write {{name}} for a variable, {{{name}}} only with three braces on both sides', err);
  }
  return templateError('template.syntax', `template syntax error: unexpected ${describeToken(got)}`, origin, at,
    expecting ? `expected ${expecting.split(', ').slice(0, 4).map((t) => describeToken(t.replace(/'/g, ''))).join(', ')}` : undefined, err);
}

export function isStackOverflow(err: unknown): boolean {
  return err instanceof RangeError && /call stack/i.test(err.message);
}

/**
 * The stack ran out while parsing or compiling: the template nests too deeply for Handlebars,
 * which recurses over its syntax tree. Not a syntax error, so it has its own code; the limits
 * checked before parsing (template-bounds.ts) keep real templates far from it.
 */
export function tooDeep(err: unknown, origin: TemplateOrigin): AnvilError {
  return templateError('template.too-deep', 'the template nests too deeply to compile (the stack ran out)', origin, undefined,
    'flatten nested blocks, {{else if}} chains and sub-expressions, or split the template into partials', err);
}

/** An error thrown by Handlebars' compiler (it carries a 1-based line and 0-based column). */
export function compileError(err: Error & { lineNumber?: number; column?: number }, origin: TemplateOrigin, knownHelpers: string[]): AnvilError {
  if (isStackOverflow(err)) return tooDeep(err, origin);
  const at = err.lineNumber !== undefined ? { line: err.lineNumber, column: err.column ?? 0 } : undefined;
  const message = err.message.replace(/ - \d+:\d+$/, '');
  const unknown = /unknown helper (\S+)/.exec(message)?.[1];
  if (unknown) {
    const near = closest(unknown, knownHelpers);
    return templateError('template.unknown-helper', `unknown helper "${unknown}"`, origin, at,
      near ? `did you mean "${near}"? Known helpers: ${knownHelpers.join(', ')}` : `known helpers: ${knownHelpers.join(', ')}`, err);
  }
  const mismatch = /^(\S+) doesn't match (\S+)$/.exec(message);
  if (mismatch) {
    return templateError('template.unclosed-block', `block "{{#${mismatch[1]}}}" is closed by "{{/${mismatch[2]}}}"`, origin, at,
      `close it with {{/${mismatch[1]}}}`, err);
  }
  return templateError('template.invalid', message, origin, at, undefined, err);
}

/** The innermost block still open at the end of the template, by a scan of its tags. */
function findUnclosedBlock(template: string): { name: string; offset: number } | undefined {
  const stack: { name: string; offset: number }[] = [];
  const tag = /\{\{!--[\s\S]*?--\}\}|\{\{![\s\S]*?\}\}|\{\{~?\s*([#/])\s*>?\s*\*?([^\s}~]+)/g;
  for (let m = tag.exec(template); m; m = tag.exec(template)) {
    if (!m[1] || !m[2]) continue;
    if (m[1] === '#') stack.push({ name: m[2], offset: m.index });
    else if (stack.length > 0 && stack[stack.length - 1]!.name === m[2]) stack.pop();
  }
  return stack[stack.length - 1];
}

function describeToken(token: string | undefined): string {
  switch (token) {
    case undefined: return 'input';
    case 'EOF': return 'end of template';
    case 'INVERSE': return '{{else}}';
    case 'OPEN_ENDBLOCK': return 'a closing tag {{/…}}';
    case 'CLOSE': return '}}';
    case 'ID': return 'a name';
    default: return token.toLowerCase().replace(/_/g, ' ');
  }
}
