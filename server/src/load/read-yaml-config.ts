/**
 * Reads a YAML config file (`anvil.yaml`, `set.yaml`) and validates it with content-schema,
 * turning every YAML error and every schema issue into a Problem at its line and column: the
 * validator speaks JSON Pointer, the person reads the file.
 */
import { isMap, isScalar, LineCounter, parseDocument, type Document } from 'yaml';
import type { ValidationIssue, ValidationResult } from '@anvil/content-schema';
import { problem, type Problem } from '../lint/problem.ts';

export interface ConfigRead<T> {
  value: T | undefined;
  problems: Problem[];
}

export function readYamlConfig<T>(
  file: string,
  text: string,
  validate: (data: unknown) => ValidationResult<T>,
): ConfigRead<T> {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) {
    return {
      value: undefined,
      problems: doc.errors.map((e) => problem('error', 'yaml.syntax', e.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, ''), {
        file, line: e.linePos?.[0].line, column: e.linePos?.[0].col,
        hint: 'check indentation, and quote values that contain ": " or start with a special character',
      })),
    };
  }
  let data: unknown;
  try {
    data = doc.toJS({ maxAliasCount: 100 }) ?? {};
  } catch (err) {
    return { value: undefined, problems: [problem('error', 'yaml.syntax', (err as Error).message, { file, line: 1, column: 1 })] };
  }
  const result = validate(data);
  const problems = [
    ...result.errors.map((i) => locatedIssue('error', i, file, doc, lineCounter)),
    ...result.warnings.map((i) => locatedIssue('warning', i, file, doc, lineCounter)),
  ];
  return { value: result.ok ? result.value : undefined, problems };
}

function locatedIssue(severity: 'error' | 'warning', issue: ValidationIssue, file: string, doc: Document, lines: LineCounter): Problem {
  const pos = positionOf(doc, issue.path, lines);
  return problem(severity, issue.code, issue.message, { file, line: pos?.line, column: pos?.col, hint: issue.hint });
}

/** The line/column of the node at a JSON Pointer, or of its nearest existing ancestor. */
export function positionOf(doc: Document, pointer: string, lines: LineCounter): { line: number; col: number } | undefined {
  const tokens = pointer === '' ? [] : pointer.slice(1).split('/').map((t) => t.replace(/~1/g, '/').replace(/~0/g, '~'));
  let node: unknown = doc.contents;
  let offset = (doc.contents as { range?: [number, number, number] } | null)?.range?.[0] ?? 0;
  for (const token of tokens) {
    if (isMap(node)) {
      const pair = node.items.find((p) => (isScalar(p.key) ? String(p.key.value) : String(p.key)) === token);
      if (!pair) break;
      offset = (pair.key as { range?: [number, number, number] }).range?.[0] ?? offset;
      node = pair.value;
    } else if (node && typeof node === 'object' && 'items' in node && Array.isArray((node as { items: unknown[] }).items)) {
      const item = (node as { items: unknown[] }).items[Number(token)];
      if (!item) break;
      offset = (item as { range?: [number, number, number] }).range?.[0] ?? offset;
      node = item;
    } else {
      break;
    }
  }
  return lines.linePos(offset);
}
