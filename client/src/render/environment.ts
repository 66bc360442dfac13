/**
 * A prompt environment: one Handlebars instance with Dotprompt's helpers and a set of partials,
 * that compiles prompts once and renders them many times, synchronously.
 *
 * Compared with Dotprompt (google/dotprompt js/src/dotprompt.ts) it keeps the same semantics —
 * `noEscape`, known helpers only, input defaults, `@metadata`/context data, Picoschema — and
 * differs where Anvil needs it to:
 * - everything is checked at compile time (syntax, unknown helpers, unknown partials, inside
 *   partials too), and errors carry the file, line and column;
 * - rendering is synchronous and does no work beyond the compiled template on the text path;
 * - role/history/media/section markers carry a secret nonce, so a variable's value can never
 *   create one (dotprompt issue #557).
 */
import { randomBytes } from 'node:crypto';
import Handlebars from 'handlebars';
import { AnvilError, closest, type JsonSchema, type PromptMetadata } from '@anvil/content-schema';
import { parsePromptSource } from '../parse/prompt-source.ts';
import { normalizePromptMetadata } from '../parse/prompt-metadata.ts';
import { createHelpers, DOTPROMPT_HELPERS, MARKER_HELPERS } from './helpers.ts';
import { MarkerSet, toMessages, type Document, type Message } from './messages.ts';
import { compileError, parseError, templateError, type TemplateOrigin } from './template-errors.ts';

type TemplateFn = (context: unknown, options?: { data?: Record<string, unknown> }) => string;
type HandlebarsEnv = typeof Handlebars & {
  Compiler: new () => { compile(ast: hbs.AST.Program, options: object): unknown };
  JavaScriptCompiler: new () => { compile(env: unknown, options: object, context: undefined, asObject: true): unknown };
  Parser: { lexer?: { yylloc?: { first_line: number; first_column: number }; matched?: string } };
};

/** Handlebars' own helpers, always known to its compiler. */
const BUILTIN_HELPERS = ['if', 'unless', 'each', 'with', 'lookup', 'log'];

/** Every helper a template may call in any environment. */
export const KNOWN_HELPERS: readonly string[] = [...BUILTIN_HELPERS, ...DOTPROMPT_HELPERS];

export interface EnvironmentOptions {
  /** Partials by name (`signature`, or `core/signature` for a dependency's). */
  partials?: Record<string, string> | undefined;
  /** Named schemas that Picoschema types may refer to. */
  schemas?: Record<string, JsonSchema> | undefined;
  /**
   * Check templates without making them renderable: parse, helpers, partials and Handlebars'
   * own compiler pass run, code generation does not. For lint and build, which ship templates
   * as source: generating and evaluating a function per template was ~30% of a cold build.
   * Rendering a prompt compiled so throws `render.check-only`.
   */
  checkOnly?: boolean | undefined;
  /**
   * Called for a partial that is not defined yet; returns its source (with the file it comes
   * from, for error positions), or undefined.
   */
  resolvePartial?: ((name: string) => string | PartialSource | undefined) | undefined;
}

export interface PartialSource {
  source: string;
  file?: string | undefined;
}

export interface CompileOptions extends TemplateOrigin {
  /** Metadata laid over the front matter (e.g. `{input: {default: {...}}}`). */
  metadata?: Partial<PromptMetadata> | undefined;
}

/** Per-call data beyond the variables, as Dotprompt's DataArgument. */
export interface RenderData {
  /** Available as `@name` in the template (`context: {state}` → `{{@state.count}}`). */
  context?: Record<string, unknown> | undefined;
  /** Conversation history, inserted by `{{history}}` (or before the last user message). */
  messages?: Message[] | undefined;
  docs?: Document[] | undefined;
}

export interface CompiledPrompt {
  /** Normalised metadata: front matter with `input.schema`/`output.schema` as JSON Schema. */
  readonly metadata: PromptMetadata;
  /** The front matter as written (Dotprompt's `raw`), when there was any. */
  readonly raw: Record<string, unknown> | undefined;
  /** The Handlebars body. */
  readonly template: string;
  /** Where the body starts in its file (1-based line, 0-based column), for positions. */
  readonly templateStart: { line: number; column: number };
  /** True when the template (or a partial it uses) writes roles, history, media or sections. */
  readonly usesMessageHelpers: boolean;
  /** The prompt as text. Role/history/media/section helpers leave no trace in it. */
  renderText(vars?: Record<string, unknown>, data?: RenderData): string;
  /** The prompt as Dotprompt-style messages. */
  renderMessages(vars?: Record<string, unknown>, data?: RenderData): Message[];
}

interface PartialInfo {
  fn: TemplateFn;
  usesMessageHelpers: boolean;
  /** Reads @metadata or a context variable, so renders must pass Dotprompt's data frame. */
  needsData: boolean;
}

/** `@` variables Handlebars provides itself; any other one comes from our data frame. */
const HANDLEBARS_DATA = new Set(['index', 'key', 'first', 'last', 'root', 'partial-block', 'level']);

const notCompiled: TemplateFn = () => {
  throw new AnvilError('render.check-only', 'this prompt was compiled to be checked, not rendered', {
    hint: 'compile it in an environment without `checkOnly`',
  });
};

export class PromptEnvironment {
  private readonly hb: HandlebarsEnv;
  private readonly markers: MarkerSet;
  private readonly knownHelpers: Record<string, true> = {};
  /**
   * Dotprompt's helpers, registered with Handlebars only once a template uses them: its runtime
   * copies and wraps every registered helper on each render, so unused ones cost time on every
   * call (known to the compiler all the same, so unknown-helper checks do not change).
   */
  private readonly helpers: Record<string, Handlebars.HelperDelegate>;
  private readonly partials = new Map<string, PartialInfo>();
  private readonly schemas: Record<string, JsonSchema>;
  private readonly resolvePartialSource: EnvironmentOptions['resolvePartial'];
  /** Partials being compiled, to report a cycle instead of recursing forever. */
  private readonly compiling = new Set<string>();

  private readonly checkOnly: boolean;

  constructor(options: EnvironmentOptions = {}) {
    this.checkOnly = options.checkOnly === true;
    this.hb = Handlebars.create() as HandlebarsEnv;
    this.markers = new MarkerSet(randomBytes(12).toString('hex'));
    this.helpers = createHelpers(this.markers, this.hb.SafeString);
    for (const name of Object.keys(this.helpers)) this.knownHelpers[name] = true;
    this.schemas = { ...options.schemas };
    this.resolvePartialSource = options.resolvePartial;
    for (const [name, source] of Object.entries(options.partials ?? {})) this.definePartial(name, source);
  }

  /** Every helper a template may call. */
  helperNames(): string[] {
    return [...KNOWN_HELPERS];
  }

  hasPartial(name: string): boolean {
    return this.partials.has(name);
  }

  /** Compiles and registers a partial; errors point into `origin.file`. */
  definePartial(name: string, source: string, origin: TemplateOrigin = {}): void {
    if (this.compiling.has(name)) {
      throw templateError('template.partial-cycle', `partial "${name}" includes itself`, origin, undefined,
        `the chain is ${[...this.compiling, name].join(' → ')}`);
    }
    this.compiling.add(name);
    try {
      const compiled = this.compileBody(source, { file: origin.file ?? `partial "${name}"`, start: origin.start });
      this.partials.set(name, compiled);
      this.hb.registerPartial(name, compiled.fn as unknown as Handlebars.Template);
    } finally {
      this.compiling.delete(name);
    }
  }

  /** Compiles a whole prompt file: front matter + body. */
  compile(source: string, options: CompileOptions = {}): CompiledPrompt {
    const parsed = parsePromptSource(source, { file: options.file });
    let metadata: PromptMetadata;
    try {
      metadata = normalizePromptMetadata(parsed.frontMatter, {
        resolveSchema: (name) => this.schemas[name],
        overrides: options.metadata,
      });
    } catch (err) {
      if (err instanceof AnvilError && err.file === undefined) {
        throw new AnvilError(err.code, err.message, { file: options.file, line: 1, column: 1, hint: err.hint, cause: err });
      }
      throw err;
    }
    return this.compileTemplate(parsed.template, metadata, {
      file: options.file, start: parsed.templateStart, raw: parsed.frontMatter,
    });
  }

  /** Compiles a template whose metadata is already normalised (as in a bundle). */
  compileTemplate(
    template: string,
    metadata: PromptMetadata,
    origin: TemplateOrigin & { raw?: Record<string, unknown> | undefined } = {},
  ): CompiledPrompt {
    const body = this.compileBody(template, origin);
    return new Prompt(body.fn, metadata, origin.raw, template, origin.start ?? { line: 1, column: 0 }, body, this.markers);
  }

  private compileBody(template: string, origin: TemplateOrigin): PartialInfo {
    let ast: hbs.AST.Program;
    try {
      ast = this.hb.parse(template);
    } catch (err) {
      throw parseError(err as Error, template, this.hb.Parser.lexer, origin, this.helperNames());
    }

    const refs = this.checkReferences(ast, origin);
    for (const name of refs.helpers) {
      if (!this.hb.helpers[name] && this.helpers[name]) this.hb.registerHelper(name, this.helpers[name]);
    }

    // Handlebars.compile() compiles lazily on the first render; this is the same pipeline run
    // now, so that unknown helpers fail here, with their position, and never at render time.
    const options = { knownHelpers: this.knownHelpers, knownHelpersOnly: true, noEscape: true, data: true };
    let fn: TemplateFn;
    try {
      const environment = new this.hb.Compiler().compile(ast, options);
      if (this.checkOnly) {
        fn = notCompiled;
      } else {
        const spec = new this.hb.JavaScriptCompiler().compile(environment, options, undefined, true);
        fn = this.hb.template(spec as TemplateSpecification) as unknown as TemplateFn;
      }
    } catch (err) {
      throw compileError(err as Error, origin, this.helperNames());
    }
    return { fn, usesMessageHelpers: refs.usesMessageHelpers, needsData: refs.needsData };
  }

  /**
   * Resolves every partial the template names (defining it from the resolver when needed) and
   * reports unknown or dynamic ones. Also says which helpers the template calls, and whether
   * it (directly or through a partial) uses message helpers or reads our data frame.
   */
  private checkReferences(
    ast: hbs.AST.Program,
    origin: TemplateOrigin,
  ): { helpers: Set<string>; usesMessageHelpers: boolean; needsData: boolean } {
    const inline = new Set<string>();
    const referenced: { name: string; loc: hbs.AST.SourceLocation; hasFallback: boolean }[] = [];
    const helpers = new Set<string>();
    let usesMessageHelpers = false;
    let needsData = false;

    const env = this;
    const visitor = new (class extends Handlebars.Visitor {
      override PartialStatement(partial: hbs.AST.PartialStatement): void {
        visitPartial(partial.name, partial.loc, false);
        super.PartialStatement(partial);
      }
      override PartialBlockStatement(partial: hbs.AST.PartialBlockStatement): void {
        visitPartial(partial.name, partial.loc, true);
        super.PartialBlockStatement(partial);
      }
      override DecoratorBlock(block: hbs.AST.DecoratorBlock): void {
        const first = block.params[0];
        if ((block.path as hbs.AST.PathExpression).original === 'inline' && first?.type === 'StringLiteral') {
          inline.add((first as hbs.AST.StringLiteral).value);
        }
        super.DecoratorBlock(block);
      }
      override MustacheStatement(m: hbs.AST.MustacheStatement): void {
        noteHelper(m.path);
        super.MustacheStatement(m);
      }
      override BlockStatement(b: hbs.AST.BlockStatement): void {
        noteHelper(b.path);
        super.BlockStatement(b);
      }
      override SubExpression(s: hbs.AST.SubExpression): void {
        noteHelper(s.path);
        super.SubExpression(s);
      }
      override PathExpression(p: hbs.AST.PathExpression): void {
        if (p.data && !HANDLEBARS_DATA.has(String(p.parts[0]))) needsData = true;
        super.PathExpression(p);
      }
    })();

    function noteHelper(path: hbs.AST.Expression): void {
      if (path.type !== 'PathExpression') return;
      const name = (path as hbs.AST.PathExpression).original;
      helpers.add(name);
      if (MARKER_HELPERS.has(name)) usesMessageHelpers = true;
    }
    function visitPartial(name: hbs.AST.PathExpression | hbs.AST.SubExpression, loc: hbs.AST.SourceLocation, hasFallback: boolean): void {
      // The grammar also allows a string literal: {{> "name"}}.
      const kind = (name as { type: string }).type;
      if (kind !== 'PathExpression' && kind !== 'StringLiteral') {
        throw templateError('template.dynamic-partial', 'a partial name must be written out, not computed', origin,
          { line: loc.start.line, column: loc.start.column }, 'write {{> name}}; prompts are checked before they ship, so every partial must be known');
      }
      const value = kind === 'PathExpression' ? (name as hbs.AST.PathExpression).original : (name as unknown as hbs.AST.StringLiteral).value;
      if (!value.startsWith('@')) referenced.push({ name: value, loc, hasFallback });
    }
    visitor.accept(ast);

    for (const ref of referenced) {
      if (inline.has(ref.name)) continue;
      if (!this.partials.has(ref.name)) {
        const resolved = this.resolvePartialSource?.(ref.name);
        if (resolved !== undefined) {
          const { source, file } = typeof resolved === 'string' ? { source: resolved, file: undefined } : resolved;
          env.definePartial(ref.name, source, { file });
        } else if (ref.hasFallback) {
          continue; // {{#> name}}fallback{{/name}} renders its fallback, as in Handlebars
        } else {
          const near = closest(ref.name, [...this.partials.keys()]);
          throw templateError('template.unknown-partial', `unknown partial "${ref.name}"`, origin,
            { line: ref.loc.start.line, column: ref.loc.start.column },
            near ? `did you mean "${near}"?` : partialHint(ref.name, [...this.partials.keys()]));
        }
      }
      const partial = this.partials.get(ref.name);
      if (partial?.usesMessageHelpers) usesMessageHelpers = true;
      if (partial?.needsData) needsData = true;
    }
    return { helpers, usesMessageHelpers, needsData };
  }
}

function partialHint(name: string, known: string[]): string {
  const where = name.includes('/')
    ? `a dependency's partial is named <set>/<name> and needs that set in set.yaml dependencies`
    : `partials are files named _${name}.md in the set`;
  return known.length > 0 ? `${where}; known partials: ${known.slice(0, 10).join(', ')}` : where;
}

type TemplateSpecification = Parameters<typeof Handlebars.template>[0];

class Prompt implements CompiledPrompt {
  readonly usesMessageHelpers: boolean;
  private readonly needsData: boolean;
  private readonly defaults: Record<string, unknown> | undefined;
  /** `@metadata` when the caller passes no RenderData: built once, not per render. */
  private readonly baseOptions: { data?: Record<string, unknown> } | undefined;
  private readonly promptMetadata: Record<string, unknown>;

  constructor(
    private readonly fn: TemplateFn,
    readonly metadata: PromptMetadata,
    readonly raw: Record<string, unknown> | undefined,
    readonly template: string,
    readonly templateStart: { line: number; column: number },
    body: PartialInfo,
    private readonly markers: MarkerSet,
  ) {
    this.usesMessageHelpers = body.usesMessageHelpers;
    this.needsData = body.needsData;
    const defaults = metadata.input?.default;
    this.defaults = defaults && Object.keys(defaults).length > 0 ? defaults : undefined;
    // Dotprompt exposes the metadata without the input schema as @metadata.prompt.
    const { input: _input, ...rest } = metadata;
    this.promptMetadata = raw === undefined ? rest : { ...rest, raw };
    this.baseOptions = this.needsData ? { data: { metadata: { prompt: this.promptMetadata } } } : undefined;
  }

  renderText(vars?: Record<string, unknown>, data?: RenderData): string {
    const out = this.render(vars, data);
    return this.usesMessageHelpers ? out.replace(this.markers.any, '') : out;
  }

  renderMessages(vars?: Record<string, unknown>, data?: RenderData): Message[] {
    return toMessages(this.render(vars, data), this.markers, { messages: data?.messages });
  }

  private render(vars: Record<string, unknown> | undefined, data: RenderData | undefined): string {
    const context = this.defaults ? { ...this.defaults, ...vars } : (vars ?? {});
    // The data frame only matters to templates that read it; skipping it keeps the text path
    // as lean as a plain compiled template.
    const options = data === undefined || !this.needsData
      ? this.baseOptions
      : { data: { metadata: { prompt: this.promptMetadata, docs: data.docs, messages: data.messages }, ...data.context } };
    try {
      return this.fn(context, options);
    } catch (err) {
      if (err instanceof AnvilError) throw err;
      throw new AnvilError('render.failed', `rendering failed: ${(err as Error)?.message ?? String(err)}`, {
        cause: err, hint: 'check the variables passed for this prompt',
      });
    }
  }
}
