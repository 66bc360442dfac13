/**
 * Where in an archive's text a problem is, as a person reads the file: line and column of a
 * JSON syntax error, or of the value at a JSON Pointer.
 *
 * Node's JSON.parse gives no position for some errors ("Unexpected token 'x', … is not valid
 * JSON"), so the first syntax error is found by a small scanner of the JSON grammar (RFC 8259),
 * run only once parsing has failed.
 */
import { LineCounter, parseDocument } from 'yaml';
import { positionOf } from '../load/read-yaml-config.ts';

export interface TextPosition {
  /** 1-based. */
  line: number;
  /** 1-based. */
  column: number;
}

/** 1-based line and column of a UTF-16 offset. */
export function positionAt(text: string, offset: number): TextPosition {
  let line = 1;
  let lineStart = 0;
  for (let i = text.indexOf('\n'); i !== -1 && i < offset; i = text.indexOf('\n', i + 1)) {
    line++;
    lineStart = i + 1;
  }
  return { line, column: offset - lineStart + 1 };
}

/** The offset of the first JSON syntax error in `text`, or undefined when it is valid JSON. */
export function jsonSyntaxErrorOffset(text: string): number | undefined {
  let i = 0;
  const space = () => {
    while (i < text.length && (text[i] === ' ' || text[i] === '\t' || text[i] === '\n' || text[i] === '\r')) i++;
  };
  // Each returns false at the offending character, with `i` left on it.
  const literal = (word: string): boolean => {
    for (const ch of word) {
      if (text[i] !== ch) return false;
      i++;
    }
    return true;
  };
  const string = (): boolean => {
    if (text[i] !== '"') return false;
    i++;
    while (i < text.length) {
      const ch = text.charCodeAt(i);
      if (ch === 0x22) {
        i++;
        return true;
      }
      if (ch < 0x20) return false;
      if (ch === 0x5c) {
        const next = text[i + 1];
        if (next === 'u') {
          if (!/^[0-9A-Fa-f]{4}$/.test(text.slice(i + 2, i + 6))) {
            i += 1;
            return false;
          }
          i += 6;
        } else if (next !== undefined && '"\\/bfnrt'.includes(next)) {
          i += 2;
        } else {
          i += 1;
          return false;
        }
        continue;
      }
      i++;
    }
    return false;
  };
  const number = (): boolean => {
    const match = /^-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/.exec(text.slice(i, i + 400));
    if (!match || match[0] === '-' || match[0] === '') return false;
    i += match[0].length;
    return true;
  };
  const value = (depth: number): boolean => {
    if (depth > 512) return false;
    space();
    const ch = text[i];
    if (ch === '{') {
      i++;
      space();
      if (text[i] === '}') {
        i++;
        return true;
      }
      for (;;) {
        space();
        if (!string()) return false;
        space();
        if (text[i] !== ':') return false;
        i++;
        if (!value(depth + 1)) return false;
        space();
        if (text[i] === ',') {
          i++;
          continue;
        }
        if (text[i] === '}') {
          i++;
          return true;
        }
        return false;
      }
    }
    if (ch === '[') {
      i++;
      space();
      if (text[i] === ']') {
        i++;
        return true;
      }
      for (;;) {
        if (!value(depth + 1)) return false;
        space();
        if (text[i] === ',') {
          i++;
          continue;
        }
        if (text[i] === ']') {
          i++;
          return true;
        }
        return false;
      }
    }
    if (ch === '"') return string();
    if (ch === 't') return literal('true');
    if (ch === 'f') return literal('false');
    if (ch === 'n') return literal('null');
    return number();
  };
  if (!value(0)) return Math.min(i, text.length);
  space();
  return i < text.length ? i : undefined;
}

/**
 * A lazily built locator of JSON Pointers in a JSON text (parsed again, with positions, only
 * when there is a problem to place). Undefined positions where the text cannot be read that way.
 */
export function pointerLocator(text: string): (pointer: string) => TextPosition | undefined {
  let located: { find: (pointer: string) => TextPosition | undefined } | undefined;
  return (pointer) => {
    if (!located) {
      try {
        // JSON is YAML 1.2, and the YAML parser keeps the position of every node.
        const lineCounter = new LineCounter();
        const doc = parseDocument(text, { lineCounter, uniqueKeys: false });
        located = {
          find: (p) => {
            const pos = doc.errors.length > 0 ? undefined : positionOf(doc, p, lineCounter);
            return pos ? { line: pos.line, column: pos.col } : undefined;
          },
        };
      } catch {
        located = { find: () => undefined };
      }
    }
    return located.find(pointer);
  };
}
