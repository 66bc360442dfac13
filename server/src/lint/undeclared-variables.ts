/**
 * The input variables a template reads, for two lint checks: variables used without being
 * declared in `input.schema`, and declared variables written as a bare `{{name}}` that
 * Handlebars resolves to the helper of that name instead (`{{history}}` writes a history
 * marker, never the variable `history`; issue 14).
 *
 * Only the prompt's own scope is read: inside `{{#each}}`/`{{#with}}` (and sections) names
 * refer to the item, so they are skipped, except `@root.x`, which is the input again.
 * Helper calls are told from variables exactly as the renderer tells them (helperName).
 */
import Handlebars from 'handlebars';
import { helperName } from '@anvil/client';

export interface VariableUse {
  name: string;
  /** In template coordinates: 1-based line, 0-based column. */
  line: number;
  column: number;
}

export interface InputUses {
  /** Variables read in the prompt's own scope, and `@root.x` anywhere. */
  variables: VariableUse[];
  /** `{{name}}` without arguments where `name` is a helper: the helper runs, not the variable. */
  helperCalls: VariableUse[];
}

/** Blocks that render their body in the same context. */
const SAME_SCOPE_BLOCKS = new Set(['if', 'unless', 'ifEquals', 'unlessEquals']);

/** The names declared by a JSON Schema, or undefined when it allows any variable. */
export function declaredVariables(schema: unknown): Set<string> | undefined {
  if (!schema || typeof schema !== 'object') return undefined;
  const s = schema as { type?: unknown; properties?: unknown; additionalProperties?: unknown };
  if (!s.properties || typeof s.properties !== 'object') return undefined;
  if (s.additionalProperties !== undefined && s.additionalProperties !== false) return undefined;
  return new Set(Object.keys(s.properties));
}

/** Every name the input is known to have: the schema's properties (closed or not) and the defaults. */
export function inputNames(input: { schema?: unknown; default?: unknown } | undefined): Set<string> {
  const names = new Set<string>();
  const properties = (input?.schema as { properties?: unknown } | undefined)?.properties;
  if (properties && typeof properties === 'object') for (const name of Object.keys(properties)) names.add(name);
  if (input?.default && typeof input.default === 'object') for (const name of Object.keys(input.default)) names.add(name);
  return names;
}

export function findUndeclaredVariables(template: string, declared: Set<string>, helpers: ReadonlySet<string>): VariableUse[] {
  return findInputUses(template, helpers).variables.filter((v) => !declared.has(v.name));
}

/** Parses `template`, which must be one the environment accepted (bounded and well formed). */
export function findInputUses(template: string, helpers: ReadonlySet<string>): InputUses {
  const variables: VariableUse[] = [];
  const helperCalls: VariableUse[] = [];
  const ast = Handlebars.parse(template);

  // Outside the prompt's own scope only `@root.x` still refers to the input.
  let inScope = true;
  const checkPath = (p: hbs.AST.PathExpression): void => {
    const parts = p.parts;
    if (p.data) {
      if (parts[0] === 'root' && parts[1]) variables.push(use(parts[1], p.loc));
      return;
    }
    if (!inScope || (p as { depth?: number }).depth || p.original.startsWith('this') || p.original.startsWith('.')) return;
    const head = parts[0];
    if (head) variables.push(use(head, p.loc));
  };
  const checkExpr = (e: hbs.AST.Expression): void => {
    if (e.type === 'PathExpression') checkPath(e as hbs.AST.PathExpression);
    else if (e.type === 'SubExpression') checkCall(e as hbs.AST.SubExpression);
  };
  const checkCall = (c: { params: hbs.AST.Expression[]; hash: hbs.AST.Hash }): void => {
    for (const param of c.params) checkExpr(param);
    for (const pair of c.hash?.pairs ?? []) checkExpr(pair.value);
  };
  /** A mustache or block: a helper call (its arguments are read) or a variable. */
  const checkStatement = (s: hbs.AST.MustacheStatement | hbs.AST.BlockStatement): string | undefined => {
    const name = helperName(s, { blockParams: [] }, helpers);
    if (name === undefined) {
      checkExpr(s.path);
      return undefined;
    }
    const bare = s.params.length === 0 && s.hash === undefined && s.path.type === 'PathExpression' && !(s.path as hbs.AST.PathExpression).data;
    if (bare && inScope) helperCalls.push(use(name, s.loc));
    checkCall(s);
    return name;
  };

  const walk = (program: hbs.AST.Program | undefined, scope: boolean): void => {
    for (const node of program?.body ?? []) {
      inScope = scope;
      switch (node.type) {
        case 'MustacheStatement':
          checkStatement(node as hbs.AST.MustacheStatement);
          break;
        case 'BlockStatement': {
          const b = node as hbs.AST.BlockStatement;
          const name = checkStatement(b);
          // each/with/sections render their body in another context; the else branch does not.
          walk(b.program, scope && name !== undefined && SAME_SCOPE_BLOCKS.has(name));
          walk(b.inverse, scope);
          break;
        }
        case 'PartialStatement':
        case 'PartialBlockStatement': {
          checkCall(node as hbs.AST.PartialStatement);
          if (node.type === 'PartialBlockStatement') walk((node as hbs.AST.PartialBlockStatement).program, scope);
          break;
        }
        default:
          break;
      }
    }
  };
  walk(ast, true);
  return { variables, helperCalls };
}

function use(name: string, loc: hbs.AST.SourceLocation): VariableUse {
  return { name, line: loc.start.line, column: loc.start.column };
}
