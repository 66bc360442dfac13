/**
 * The partial names a template includes (`{{> name}}`, `{{#> name}}…{{/name}}`, inside blocks
 * and inline partials too), read from Handlebars' own syntax tree: what the per-prompt build
 * cache records as a compiled prompt's inputs besides its text.
 *
 * Handlebars' lexer opens a partial only with `{{>`, `{{~>`, `{{#>` or `{{~#>`, so a template
 * without one of those includes nothing and is not parsed a second time (most templates).
 * Names starting with `@` (`{{> @partial-block}}`) are never looked up, as in the environment.
 * Names defined inline in the same template are listed too: one input too many can only cost
 * a recompile, never a wrong reuse.
 */
import Handlebars from 'handlebars';

const OPENS_PARTIAL = /\{\{~?#?>/;

/**
 * Sorted, without duplicates; undefined when the template does not parse or names a partial
 * in a way the environment refuses (computed names): such a template does not compile, so
 * nothing about it is cached.
 */
export function partialReferences(template: string): string[] | undefined {
  if (!OPENS_PARTIAL.test(template)) return [];
  let ast: hbs.AST.Program;
  try {
    ast = Handlebars.parse(template);
  } catch {
    return undefined;
  }
  const names = new Set<string>();
  let computed = false;
  const note = (name: hbs.AST.PathExpression | hbs.AST.SubExpression) => {
    const node = name as unknown as { type: string; original?: unknown; value?: unknown };
    const value = node.type === 'PathExpression' ? node.original : node.type === 'StringLiteral' ? node.value : undefined;
    if (typeof value !== 'string') computed = true;
    else if (!value.startsWith('@')) names.add(value);
  };
  const visitor = new (class extends Handlebars.Visitor {
    override PartialStatement(partial: hbs.AST.PartialStatement): void {
      note(partial.name);
      super.PartialStatement(partial);
    }
    override PartialBlockStatement(partial: hbs.AST.PartialBlockStatement): void {
      note(partial.name);
      super.PartialBlockStatement(partial);
    }
  })();
  visitor.accept(ast);
  return computed ? undefined : [...names].sort();
}
