/**
 * One walk over a parsed template that finds everything Handlebars would let through to fail at
 * render time, and what the environment needs to know about the template. Every problem is
 * collected, not only the first (issue 14: a file with three mistakes needs one lint run).
 *
 * Helper calls are told from variables as Handlebars' compiler tells them (helper-name.ts).
 */
import { helperName } from './helper-name.ts';
import { HELPER_SHAPES, MARKER_HELPERS, ROLE_NAME } from './helpers.ts';

/** A problem at a position of the template (1-based line, 0-based column). */
export interface TemplateProblem {
  code: string;
  message: string;
  hint?: string | undefined;
  at: { line: number; column: number };
}

export interface PartialUse {
  name: string;
  at: { line: number; column: number };
  /** `{{#> name}}…{{/name}}`: the body is its @partial-block, and its fallback. */
  block: boolean;
  /** Nesting at the include: the partial's own nesting adds to it. */
  depth: number;
  /** Inside an inline partial definition, whose body runs wherever it is included. */
  inInline: boolean;
}

export interface TemplateFacts {
  /** Helpers the template calls, by the name Handlebars looks them up with. */
  helpers: Set<string>;
  /** Partials it includes (not `@partial-block`), in order. */
  partials: PartialUse[];
  /** Partials it defines with `{{#*inline "name"}}`. */
  inline: Set<string>;
  /** Calls role, history, section or media itself. */
  usesMarkers: boolean;
  /** Reads a `@` variable that Handlebars does not provide (metadata or context). */
  readsData: boolean;
  /** Where it renders `{{> @partial-block}}` outside inline partials, if it does. */
  partialBlockAt: { line: number; column: number } | undefined;
  /** Deepest nesting of blocks and sub-expressions. */
  depth: number;
  problems: TemplateProblem[];
}

/** `@` variables Handlebars provides itself; any other one comes from our data frame. */
const HANDLEBARS_DATA = new Set(['index', 'key', 'first', 'last', 'root', 'partial-block', 'level']);

/** Partial names that would reach Object.prototype in Handlebars' partial maps. */
export const RESERVED_PARTIAL_NAMES: ReadonlySet<string> = new Set(['__proto__', 'constructor', 'prototype']);

type Node = hbs.AST.Node;
type Call = hbs.AST.MustacheStatement | hbs.AST.BlockStatement | hbs.AST.SubExpression;
type CallKind = 'inline' | 'block' | 'subexpression';

interface Scope {
  depth: number;
  /** Block parameters in scope (`{{#each items as |item|}}`), innermost last. */
  blockParams: readonly string[];
  inInline: boolean;
}

export function checkTemplate(ast: hbs.AST.Program, knownHelpers: ReadonlySet<string>): TemplateFacts {
  const facts: TemplateFacts = {
    helpers: new Set(), partials: [], inline: new Set(), usesMarkers: false, readsData: false,
    partialBlockAt: undefined, depth: 0, problems: [],
  };
  const problem = (code: string, node: Node, message: string, hint?: string): void => {
    facts.problems.push({ code, message, hint, at: { line: node.loc.start.line, column: node.loc.start.column } });
  };

  const program = (p: hbs.AST.Program | undefined, scope: Scope): void => {
    if (!p) return;
    if (scope.depth > facts.depth) facts.depth = scope.depth;
    const inner = p.blockParams?.length ? { ...scope, blockParams: [...scope.blockParams, ...p.blockParams] } : scope;
    for (const node of p.body) statement(node, inner);
  };

  const statement = (node: hbs.AST.Statement, scope: Scope): void => {
    switch (node.type) {
      case 'MustacheStatement':
        call(node as hbs.AST.MustacheStatement, 'inline', scope);
        break;
      case 'BlockStatement': {
        const block = node as hbs.AST.BlockStatement;
        call(block, 'block', scope);
        program(block.program, { ...scope, depth: scope.depth + 1 });
        program(block.inverse, { ...scope, depth: scope.depth + 1 });
        break;
      }
      case 'PartialStatement':
      case 'PartialBlockStatement': {
        const partial = node as hbs.AST.PartialStatement | hbs.AST.PartialBlockStatement;
        const block = node.type === 'PartialBlockStatement';
        include(partial, block, scope);
        for (const param of partial.params) expression(param, scope);
        hash(partial.hash, scope);
        if (block) program((partial as hbs.AST.PartialBlockStatement).program, { ...scope, depth: scope.depth + 1 });
        break;
      }
      case 'DecoratorBlock':
        decoratorBlock(node as hbs.AST.DecoratorBlock, scope);
        break;
      case 'Decorator':
        problem('template.decorator', node, `decorator "{{*${pathName((node as hbs.AST.Decorator).path)}}}" is not supported`,
          'the only decorator is {{#*inline "name"}}…{{/inline}}, which defines a partial inside the template');
        break;
      default:
        break; // content and comments
    }
  };

  const expression = (node: hbs.AST.Expression, scope: Scope): void => {
    if (node.type === 'SubExpression') {
      const sub = node as hbs.AST.SubExpression;
      const inner = { ...scope, depth: scope.depth + 1 };
      if (inner.depth > facts.depth) facts.depth = inner.depth;
      call(sub, 'subexpression', inner);
    } else if (node.type === 'PathExpression') {
      path(node as hbs.AST.PathExpression);
    }
  };

  const hash = (h: hbs.AST.Hash | undefined, scope: Scope): void => {
    for (const pair of h?.pairs ?? []) expression(pair.value, scope);
  };

  const path = (p: hbs.AST.PathExpression): void => {
    if (p.data && !HANDLEBARS_DATA.has(String(p.parts[0]))) facts.readsData = true;
  };

  const call = (node: Call, kind: CallKind, scope: Scope): void => {
    if (node.path.type === 'PathExpression') path(node.path as hbs.AST.PathExpression);
    for (const param of node.params) expression(param, scope);
    hash(node.hash, scope);

    const name = helperName(node, scope, knownHelpers);
    if (name === undefined) return;
    facts.helpers.add(name);
    if (MARKER_HELPERS.has(name)) facts.usesMarkers = true;
    if (!knownHelpers.has(name)) {
      // Handlebars' compiler says the same (knownHelpersOnly), but only for the first one.
      facts.problems.push({ code: 'template.unknown-helper', message: `unknown helper "${name}"`, at: start(node) });
      return;
    }
    checkUsage(node, name, kind);
  };

  const checkUsage = (node: Call, name: string, kind: CallKind): void => {
    const shape = HELPER_SHAPES[name];
    if (!shape) return;
    const as = pathName(node.path);
    const written = kind === 'block' ? `{{#${as}}}` : kind === 'subexpression' ? `(${as})` : `{{${as}}}`;
    if (shape.block === true && kind !== 'block') {
      problem('template.helper-usage', node, `"${name}" is a block helper: ${written} cannot render`, `write ${shape.usage}`);
      return;
    }
    const count = node.params.length;
    // `You are a {{role}}.` means the variable, and Handlebars calls the helper (issue 14).
    const asVariable = count === 0 && node.hash === undefined && shape.block !== true && kind !== 'subexpression' && !isDataPath(node.path)
      ? kind === 'block'
        ? `; to use a variable named "${name}", write {{#this.${name}}}…{{/this.${name}}}`
        : `; to print a variable named "${name}", write {{this.${name}}}`
      : '';
    if (shape.block === false && kind === 'block') {
      problem('template.helper-usage', node, `"${name}" does not take a block: the body of ${written} would be dropped`, `write ${shape.usage}${asVariable}`);
      return;
    }
    if (shape.params !== undefined && count !== shape.params) {
      const wanted = shape.params === 0 ? 'no arguments' : shape.params === 1 ? 'one argument' : `${shape.params} arguments`;
      problem('template.helper-usage', node, `${written} takes ${wanted}, not ${count}`, `write ${shape.usage}${asVariable}`);
      return;
    }
    for (const key of shape.hash ?? []) {
      if (!node.hash?.pairs.some((pair) => pair.key === key)) {
        problem('template.helper-usage', node, `${written} needs ${key}=…`, `write ${shape.usage}`);
        return;
      }
    }
    const first = node.params[0];
    if (name === 'role' && first?.type === 'StringLiteral' && !ROLE_NAME.test((first as hbs.AST.StringLiteral).value)) {
      problem('template.helper-usage', first, `"${(first as hbs.AST.StringLiteral).value}" is not a role name`,
        'use {{role "system"}}, {{role "user"}}, {{role "model"}} or {{role "tool"}}');
    }
  };

  const include = (node: hbs.AST.PartialStatement | hbs.AST.PartialBlockStatement, block: boolean, scope: Scope): void => {
    const name = literalName(node.name as unknown as hbs.AST.Expression);
    if (name === undefined) {
      problem('template.dynamic-partial', node, 'a partial name must be written out, not computed',
        'write {{> name}}; prompts are checked before they ship, so every partial must be known');
      return;
    }
    if (name === '@partial-block') {
      if (!block && !scope.inInline && facts.partialBlockAt === undefined) facts.partialBlockAt = start(node);
      return;
    }
    if (name.startsWith('@')) return;
    facts.partials.push({ name, at: start(node), block, depth: scope.depth, inInline: scope.inInline });
  };

  const decoratorBlock = (node: hbs.AST.DecoratorBlock, scope: Scope): void => {
    const decorator = pathName(node.path);
    const inner = { ...scope, depth: scope.depth + 1, inInline: true };
    if (decorator !== 'inline') {
      problem('template.decorator', node, `decorator "{{#*${decorator}}}" is not supported`,
        'the only decorator is {{#*inline "name"}}…{{/inline}}, which defines a partial inside the template');
    } else if (node.params.length !== 1 || node.params[0]!.type !== 'StringLiteral') {
      const computed = node.params.length === 1;
      problem(computed ? 'template.dynamic-partial' : 'template.decorator', node,
        computed ? 'an inline partial\'s name must be written out, not computed' : 'an inline partial needs one name',
        'write {{#*inline "name"}}…{{/inline}}');
    } else {
      const name = (node.params[0] as hbs.AST.StringLiteral).value;
      if (RESERVED_PARTIAL_NAMES.has(name)) {
        problem('template.invalid-partial-name', node, `"${name}" cannot name a partial`, 'choose another name');
      } else {
        facts.inline.add(name);
      }
    }
    program(node.program, inner);
  };

  program(ast, { depth: 0, blockParams: [], inInline: false });
  return facts;
}

function literalName(node: hbs.AST.Expression): string | undefined {
  if (node.type === 'PathExpression') return (node as hbs.AST.PathExpression).original;
  if (node.type === 'StringLiteral') return (node as hbs.AST.StringLiteral).value;
  return undefined;
}

function pathName(node: hbs.AST.Expression): string {
  return node.type === 'PathExpression' ? (node as hbs.AST.PathExpression).original : String((node as { original?: unknown }).original);
}

function isDataPath(node: hbs.AST.Expression): boolean {
  return node.type === 'PathExpression' && (node as hbs.AST.PathExpression).data;
}

function start(node: Node): { line: number; column: number } {
  return { line: node.loc.start.line, column: node.loc.start.column };
}
