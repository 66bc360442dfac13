/**
 * Every error Anvil raises on purpose is an AnvilError: a stable `code` that tools and HTTP
 * handlers switch on, a message a person can act on, an optional one-line `hint`, and where
 * it applies (`file`, `line`, `column`, 1-based). Anything else that escapes is a bug.
 */
export interface SourceLocation {
  file?: string | undefined;
  line?: number | undefined;
  column?: number | undefined;
}

export interface AnvilErrorOptions extends SourceLocation {
  hint?: string | undefined;
  cause?: unknown;
  /** Extra structured detail (candidates, versions that exist…), safe to show. */
  details?: Record<string, unknown> | undefined;
}

/**
 * Marks AnvilErrors across copies of this package: an app may load @anvil/client's copy and its
 * own, and `instanceof` must still hold for both.
 */
const ANVIL_ERROR = Symbol.for('anvil.error');

export class AnvilError extends Error {
  static override [Symbol.hasInstance](value: unknown): boolean {
    if (this !== AnvilError) return Function.prototype[Symbol.hasInstance].call(this, value);
    return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[ANVIL_ERROR] === true;
  }

  readonly code: string;
  readonly hint: string | undefined;
  readonly file: string | undefined;
  readonly line: number | undefined;
  readonly column: number | undefined;
  readonly details: Record<string, unknown> | undefined;

  constructor(code: string, message: string, options: AnvilErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'AnvilError';
    this.code = code;
    this.hint = options.hint;
    this.file = options.file;
    this.line = options.line;
    this.column = options.column;
    this.details = options.details;
    Object.defineProperty(this, ANVIL_ERROR, { value: true });
  }

  /** `file:line:col  code  message (hint)`: the one line a CLI prints for a user error. */
  format(): string {
    const where = formatLocation(this);
    const hint = this.hint ? ` (hint: ${this.hint})` : '';
    return `${where ? `${where}  ` : ''}${this.code}  ${this.message}${hint}`;
  }

  toJSON(): Record<string, unknown> {
    return {
      code: this.code,
      message: this.message,
      ...(this.hint === undefined ? {} : { hint: this.hint }),
      ...(this.file === undefined ? {} : { file: this.file }),
      ...(this.line === undefined ? {} : { line: this.line }),
      ...(this.column === undefined ? {} : { column: this.column }),
      ...(this.details === undefined ? {} : { details: this.details }),
    };
  }
}

export function formatLocation(loc: SourceLocation): string {
  if (!loc.file && loc.line === undefined) return '';
  let out = loc.file ?? '<input>';
  if (loc.line !== undefined) out += `:${loc.line}`;
  if (loc.line !== undefined && loc.column !== undefined) out += `:${loc.column}`;
  return out;
}

export function isAnvilError(err: unknown): err is AnvilError {
  return err instanceof AnvilError;
}
