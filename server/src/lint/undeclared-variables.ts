/**
 * Variables a template reads at the top level that its `input.schema` does not declare.
 * Only the prompt's own scope is checked: inside `{{#each}}`/`{{#with}}` (and sections)
 * names refer to the item, so they are skipped, except `@root.x`, which is the input again.
 */
import Handlebars from 'handlebars';

export interface VariableUse {
  name: string;
  /** In template coordinates: 1-based line, 0-based column. */
  line: number;
  column: number;
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

export function findUndeclaredVariables(template: string, declared: Set<string>, helpers: ReadonlySet<string>): VariableUse[] {
  const out: VariableUse[] = [];
  const ast = Handlebars.parse(template);

  // Outside the prompt's own scope only `@root.x` still refers to the input.
  let inScope = true;
  const checkPath = (p: hbs.AST.PathExpression): void => {
    const parts = p.parts;
    if (p.data) {
      if (parts[0] === 'root' && parts[1] && !declared.has(parts[1])) out.push(use(parts[1], p.loc));
      return;
    }
    if (!inScope || (p as { depth?: number }).depth || p.original.startsWith('this') || p.original.startsWith('.')) return;
    const head = parts[0];
    if (head && !declared.has(head)) out.push(use(head, p.loc));
  };
  const checkExpr = (e: hbs.AST.Expression): void => {
    if (e.type === 'PathExpression') checkPath(e as hbs.AST.PathExpression);
    else if (e.type === 'SubExpression') checkCall(e as hbs.AST.SubExpression);
  };
  const checkCall = (c: { params: hbs.AST.Expression[]; hash: hbs.AST.Hash }): void => {
    for (const param of c.params) checkExpr(param);
    for (const pair of c.hash?.pairs ?? []) checkExpr(pair.value);
  };
  const isHelperCall = (path: hbs.AST.Expression, c: { params: hbs.AST.Expression[]; hash: hbs.AST.Hash }): boolean =>
    c.params.length > 0 || (c.hash?.pairs.length ?? 0) > 0 || (path.type === 'PathExpression' && helpers.has((path as hbs.AST.PathExpression).original));

  const walk = (program: hbs.AST.Program | undefined, scope: boolean): void => {
    for (const node of program?.body ?? []) {
      inScope = scope;
      switch (node.type) {
        case 'MustacheStatement': {
          const m = node as hbs.AST.MustacheStatement;
          if (isHelperCall(m.path, m)) checkCall(m);
          else checkExpr(m.path);
          break;
        }
        case 'BlockStatement': {
          const b = node as hbs.AST.BlockStatement;
          const name = b.path.type === 'PathExpression' ? (b.path as hbs.AST.PathExpression).original : '';
          if (isHelperCall(b.path, b)) checkCall(b);
          else checkExpr(b.path);
          // each/with/sections render their body in another context; the else branch does not.
          walk(b.program, scope && SAME_SCOPE_BLOCKS.has(name));
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
  return out;
}

function use(name: string, loc: hbs.AST.SourceLocation): VariableUse {
  return { name, line: loc.start.line, column: loc.start.column };
}
