/**
 * Which helper a mustache, block or sub-expression calls, classified as Handlebars' compiler
 * classifies it under `knownHelpersOnly` (classifySexpr in handlebars/compiler/compiler.js): a
 * call with arguments is a helper call; without, a single plain name (not `this.x`, `../x` or a
 * block parameter) that is a known helper is one too. The helper is named by the path's first
 * part (`{{this.json x}}` calls json), and literal paths count as names (`{{"json" x}}`).
 * So `{{role}}` calls the role helper, never the variable `role` (issue 14).
 *
 * The renderer's checks and lint's variable checks both use this, so they agree on what a
 * variable is. The node is typed by the few fields read, so that the package's declarations
 * do not depend on Handlebars' global AST types.
 */
export interface CallNode {
  type: string;
  path: { type: string; parts?: readonly string[]; original?: unknown; depth?: number };
  params: readonly unknown[];
  hash?: unknown;
}

export function helperName(node: CallNode, scope: { blockParams: readonly string[] }, knownHelpers: ReadonlySet<string>): string | undefined {
  const p = node.path;
  const parts = p.type === 'PathExpression' ? p.parts ?? [] : [String(p.original)];
  const original = p.type === 'PathExpression' ? String(p.original) : parts[0]!;
  const head = parts[0];
  if (head === undefined) return undefined; // `{{this}}`
  const simple = parts.length === 1 && !/^\.|this\b/.test(original) && !p.depth;
  if (simple && scope.blockParams.includes(head)) return undefined;
  const isCall = node.type === 'SubExpression' || node.params.length > 0 || node.hash !== undefined;
  if (isCall) return head;
  return simple && knownHelpers.has(head) ? head : undefined;
}
