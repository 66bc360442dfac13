/**
 * A prompt environment: one Handlebars instance with Dotprompt's helpers and a set of partials,
 * that compiles prompts once and renders them many times, synchronously.
 *
 * Compared with Dotprompt (google/dotprompt js/src/dotprompt.ts) it keeps the same semantics —
 * `noEscape`, known helpers only, input defaults, `@metadata`/context data, Picoschema — and
 * differs where Anvil needs it to:
 * - everything is checked at compile time (syntax, unknown helpers, helper calls that cannot
 *   render, unknown partials, inside partials too, and size and nesting limits before parsing),
 *   every error of a template is reported (`check`), and errors carry the file, line and column;
 * - rendering is synchronous and does no work beyond the compiled template on the text path;
 * - role/history/media/section markers carry a secret nonce, so a variable's value can never
 *   create one (dotprompt issue #557).
 */
import { randomBytes } from 'node:crypto';
import Handlebars from 'handlebars';
import { AnvilError, closest, type JsonSchema, type PromptMetadata } from '@anvil/content-schema';
import { parsePromptSource, type PromptSource } from '../parse/prompt-source.ts';
import { normalizePromptMetadata } from '../parse/prompt-metadata.ts';
import { checkTemplate, RESERVED_PARTIAL_NAMES, type TemplateFacts } from './check-template.ts';
import { createHelpers, DOTPROMPT_HELPERS } from './helpers.ts';
import { MarkerSet, toMessages, type Document, type Message } from './messages.ts';
import { scanTemplate, TEMPLATE_LIMITS } from './template-bounds.ts';
import { compileError, isStackOverflow, parseError, templateError, tooDeep, type TemplateOrigin } from './template-errors.ts';

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

const KNOWN_HELPER_SET: ReadonlySet<string> = new Set(KNOWN_HELPERS);

export interface EnvironmentOptions {
  /**
   * Partials by name (`signature`, or `core/signature` for a dependency's), compiled now; they
   * may include each other in any order.
   */
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

/** What `check` read of a prompt file, as far as it got: for further checks such as lint's. */
export interface PromptParts {
  /** The front matter as written; undefined when the file has none. */
  raw: Record<string, unknown> | undefined;
  /** Normalised metadata; undefined when it did not normalise (the error is in `errors`). */
  metadata: PromptMetadata | undefined;
  template: string;
  templateStart: { line: number; column: number };
  /** The body is within the template limits and parses: its syntax tree can be walked. */
  templateParsed: boolean;
}

/** Every problem of one prompt file at once, and the compiled prompt when there are none. */
export interface PromptCheck {
  prompt: CompiledPrompt | undefined;
  /** In the order of the file; empty exactly when `prompt` is set. */
  errors: AnvilError[];
  /** Undefined when the front matter did not parse. */
  parts: PromptParts | undefined;
}

interface PartialInfo {
  fn: TemplateFn;
  usesMessageHelpers: boolean;
  /** Reads @metadata or a context variable, so renders must pass Dotprompt's data frame. */
  needsData: boolean;
  /** Nesting, counted through the partials it includes. */
  depth: number;
  /** Renders `{{> @partial-block}}` with none of its own: it must be included as a block. */
  needsPartialBlock: boolean;
}

/** A body checked: its errors, or what it compiled to. */
interface BodyCheck {
  errors: AnvilError[];
  info: PartialInfo | undefined;
  /** Where a `{{> @partial-block}}` would find no block, when `info.needsPartialBlock`. */
  partialBlockAt: { line: number; column: number } | undefined;
  parsed: boolean;
}

/** Longest chain of partials compiled one inside the other (see addPartial). */
const MAX_INCLUDE_CHAIN = 10 * TEMPLATE_LIMITS.depth;

const notCompiled: TemplateFn = () => {
  throw new AnvilError('render.check-only', 'this prompt was compiled to be checked, not rendered', {
    hint: 'compile it in an environment without `checkOnly`',
  });
};

export class PromptEnvironment {
  private readonly hb: HandlebarsEnv;
  private readonly markers: MarkerSet;
  /**
   * What Handlebars' compiler may call. Its internal helperMissing / blockHelperMissing are
   * known to it by default, and calling them fails at every render: they are unknown here.
   */
  private readonly knownHelpers: Record<string, boolean> = { helperMissing: false, blockHelperMissing: false };
  /**
   * Dotprompt's helpers, registered with Handlebars only once a template uses them: its runtime
   * copies and wraps every registered helper on each render, so unused ones cost time on every
   * call (known to the compiler all the same, so unknown-helper checks do not change).
   */
  private readonly helpers: Record<string, Handlebars.HelperDelegate>;
  private readonly partials = new Map<string, PartialInfo>();
  /** Partials given to the constructor, compiled when first included (so in any order). */
  private readonly declared = new Map<string, PartialSource>();
  /**
   * Names compiled templates looked up and did not find (`{{#> name}}fallback{{/name}}`). A
   * compiled template's flags (message helpers, data frame) include its partials', so defining
   * one of these later, or redefining a partial, would leave those flags stale.
   */
  private readonly missed = new Set<string>();
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
    const partials = options.partials ?? {};
    for (const name of Object.keys(partials)) this.declared.set(name, { source: partials[name]! });
    // Compiled now, so that a broken partial fails here; one that includes another declared
    // later finds it in `declared` (issue 14: they used to compile in declaration order).
    for (const name of this.declared.keys()) {
      if (this.partials.has(name)) continue;
      const errors = this.addPartial(name, this.declared.get(name)!.source, {});
      if (errors.length > 0) throw errors[0]!;
    }
  }

  /** Every helper a template may call. */
  helperNames(): string[] {
    return [...KNOWN_HELPERS];
  }

  hasPartial(name: string): boolean {
    return this.partials.has(name);
  }

  /**
   * Compiles and registers a partial; errors point into `origin.file`. A partial is defined
   * once: compiled templates depend on the partials they include, so a name that is defined
   * already, or that a compiled template looked up in vain, is refused
   * (`template.partial-redefined`); use a new environment for other partials.
   */
  definePartial(name: string, source: string, origin: TemplateOrigin = {}): void {
    const errors = this.tryDefinePartial(name, source, origin);
    if (errors.length > 0) throw errors[0]!;
  }

  /** As definePartial, returning every error instead of throwing the first. */
  tryDefinePartial(name: string, source: string, origin: TemplateOrigin = {}): AnvilError[] {
    if (this.partials.has(name) || this.missed.has(name)) {
      return [new AnvilError('template.partial-redefined',
        this.partials.has(name) ? `partial "${name}" is already defined` : `partial "${name}" was already looked up by a compiled template`, {
          file: origin.file,
          hint: 'define every partial before compiling the prompts that use it (new PromptEnvironment({partials})); a compiled prompt depends on the partials it includes',
        })];
    }
    return this.addPartial(name, source, origin);
  }

  /** Compiles a whole prompt file: front matter + body. Throws its first error. */
  compile(source: string, options: CompileOptions = {}): CompiledPrompt {
    const checked = this.check(source, options);
    if (checked.prompt === undefined) throw checked.errors[0]!;
    return checked.prompt;
  }

  /**
   * Compiles a whole prompt file and reports every error at once (front matter, metadata, and
   * each template error) instead of throwing the first.
   */
  check(source: string, options: CompileOptions = {}): PromptCheck {
    let parsed: PromptSource;
    try {
      parsed = parsePromptSource(source, { file: options.file });
    } catch (err) {
      if (err instanceof AnvilError) return { prompt: undefined, errors: [err], parts: undefined };
      throw err;
    }
    const errors: AnvilError[] = [];
    let metadata: PromptMetadata | undefined;
    try {
      metadata = normalizePromptMetadata(parsed.frontMatter, {
        resolveSchema: (name) => this.schemas[name],
        overrides: options.metadata,
      });
    } catch (err) {
      if (!(err instanceof AnvilError)) throw err;
      errors.push(err.file === undefined
        ? new AnvilError(err.code, err.message, { file: options.file, line: 1, column: 1, hint: err.hint, cause: err })
        : err);
    }
    const origin = { file: options.file, start: parsed.templateStart };
    const body = this.checkPrompt(parsed.template, origin);
    errors.push(...body.errors);
    const parts: PromptParts = {
      raw: parsed.frontMatter, metadata, template: parsed.template, templateStart: parsed.templateStart, templateParsed: body.parsed,
    };
    if (errors.length > 0 || body.info === undefined || metadata === undefined) return { prompt: undefined, errors, parts };
    const prompt = new Prompt(body.info.fn, metadata, parsed.frontMatter, parsed.template, parsed.templateStart, body.info, this.markers);
    return { prompt, errors, parts };
  }

  /** Compiles a template whose metadata is already normalised (as in a bundle). */
  compileTemplate(
    template: string,
    metadata: PromptMetadata,
    origin: TemplateOrigin & { raw?: Record<string, unknown> | undefined } = {},
  ): CompiledPrompt {
    const body = this.checkPrompt(template, origin);
    if (body.info === undefined) throw body.errors[0]!;
    return new Prompt(body.info.fn, metadata, origin.raw, template, origin.start ?? { line: 1, column: 0 }, body.info, this.markers);
  }

  /** A prompt's body: a partial's checks, and nothing may need a partial block at the top. */
  private checkPrompt(template: string, origin: TemplateOrigin): BodyCheck {
    const body = this.checkBody(template, origin);
    if (body.info?.needsPartialBlock) {
      return {
        ...body, info: undefined,
        errors: [templateError('template.partial-block', '{{> @partial-block}} has no block to render here', origin, body.partialBlockAt,
          'a partial that renders {{> @partial-block}} must be included as a block: {{#> name}}…{{/name}}')],
      };
    }
    return body;
  }

  /** Compiles a partial (any name not defined yet) and registers it; returns its errors. */
  private addPartial(name: string, source: string, origin: TemplateOrigin): AnvilError[] {
    if (RESERVED_PARTIAL_NAMES.has(name)) {
      return [new AnvilError('template.invalid-partial-name', `"${name}" cannot name a partial`, {
        file: origin.file, hint: 'it would reach Object.prototype; rename the partial',
      })];
    }
    if (this.compiling.has(name)) {
      return [templateError('template.partial-cycle', `partial "${name}" includes itself`, origin, undefined,
        `the chain is ${[...this.compiling, name].join(' → ')}`)];
    }
    if (this.compiling.size >= MAX_INCLUDE_CHAIN) {
      // Each include recurses, and a chain of thousands of partials would overflow the stack.
      // Far beyond the depth limit, so that only chains that fail that limit anyway get here.
      return [templateError('template.too-deep', `partials include each other more than ${MAX_INCLUDE_CHAIN} deep`, origin, undefined,
        `the chain starts ${[...this.compiling].slice(0, 5).join(' → ')} → …`)];
    }
    this.compiling.add(name);
    try {
      const body = this.checkBody(source, { file: origin.file ?? `partial "${name}"`, start: origin.start });
      // A partial that fails is compiled again wherever it is included (not remembered), so
      // that each prompt's errors depend on its own includes only, never on what was
      // compiled before it (server/src/build/compile-prompt.ts relies on that).
      if (body.info === undefined) return body.errors;
      this.partials.set(name, body.info);
      this.hb.registerPartial(name, body.info.fn as unknown as Handlebars.Template);
      return [];
    } finally {
      this.compiling.delete(name);
    }
  }

  /**
   * Bounds, parse, the walk (check-template.ts), the partials it includes, then Handlebars'
   * compiler: each step runs only when the one before found nothing, and each reports every
   * problem it finds.
   */
  private checkBody(template: string, origin: TemplateOrigin): BodyCheck {
    const failed = (errors: AnvilError[], parsed: boolean): BodyCheck => ({ errors, info: undefined, partialBlockAt: undefined, parsed });
    const scan = scanTemplate(template, origin);
    if (scan.errors.length > 0) return failed(scan.errors, false);

    let ast: hbs.AST.Program;
    let facts: TemplateFacts;
    try {
      ast = this.hb.parse(template);
    } catch (err) {
      return failed([parseError(err as Error, template, this.hb.Parser.lexer, origin, this.helperNames())], false);
    }
    try {
      facts = checkTemplate(ast, KNOWN_HELPER_SET);
    } catch (err) {
      if (isStackOverflow(err)) return failed([tooDeep(err, origin)], false);
      throw err;
    }

    const located: { at: { line: number; column: number } | undefined; error: AnvilError }[] = facts.problems.map((p) => ({
      at: p.at,
      error: templateError(p.code, p.message, origin, p.at, p.code === 'template.unknown-helper' ? this.unknownHelperHint(p.message) : p.hint),
    }));

    let usesMessageHelpers = facts.usesMarkers;
    let needsData = facts.readsData;
    let depth = facts.depth;
    let partialBlockAt = facts.partialBlockAt;
    for (const use of facts.partials) {
      if (facts.inline.has(use.name)) continue;
      const partial = this.partial(use.name);
      if (Array.isArray(partial)) {
        for (const error of partial) located.push({ at: use.at, error });
        continue;
      }
      if (partial === undefined) {
        if (use.block) {
          this.missed.add(use.name);
          continue; // {{#> name}}fallback{{/name}} renders its fallback, as in Handlebars
        }
        const near = closest(use.name, [...this.partials.keys()]);
        located.push({ at: use.at, error: templateError('template.unknown-partial', `unknown partial "${use.name}"`, origin, use.at,
          near ? `did you mean "${near}"?` : partialHint(use.name, [...this.partials.keys()])) });
        continue;
      }
      if (partial.usesMessageHelpers) usesMessageHelpers = true;
      if (partial.needsData) needsData = true;
      if (partial.needsPartialBlock && !use.block && !use.inInline) partialBlockAt ??= use.at;
      const through = use.depth + 1 + partial.depth;
      if (through > TEMPLATE_LIMITS.depth) {
        located.push({ at: use.at, error: templateError('template.too-deep',
          `including partial "${use.name}" here nests ${through} levels deep; at most ${TEMPLATE_LIMITS.depth}`, origin, use.at,
          'blocks, sub-expressions and the partials they include each add a level; flatten the logic') });
      }
      if (through > depth) depth = through;
    }
    if (located.length > 0) {
      located.sort((a, b) => (a.at?.line ?? 0) - (b.at?.line ?? 0) || (a.at?.column ?? 0) - (b.at?.column ?? 0));
      return failed(located.map((l) => l.error), true);
    }

    for (const name of facts.helpers) {
      if (!this.hb.helpers[name] && this.helpers[name]) this.hb.registerHelper(name, this.helpers[name]);
    }
    // Handlebars.compile() compiles lazily on the first render; this is the same pipeline run
    // now, so that anything it refuses fails here, with its position, and never at render time.
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
      // A stack overflow (template.too-deep) leaves a tree too deep to walk again: not parsed.
      return failed([compileError(err as Error, origin, this.helperNames())], !isStackOverflow(err));
    }
    return {
      errors: [],
      info: { fn, usesMessageHelpers, needsData, depth, needsPartialBlock: partialBlockAt !== undefined },
      partialBlockAt,
      parsed: true,
    };
  }

  /** A defined partial, the errors of one that does not compile, or undefined when unknown. */
  private partial(name: string): PartialInfo | AnvilError[] | undefined {
    const known = this.partials.get(name);
    if (known !== undefined) return known;
    let found: string | PartialSource | undefined = this.declared.get(name);
    found ??= this.resolvePartialSource?.(name);
    if (found === undefined) return undefined;
    const { source, file } = typeof found === 'string' ? { source: found, file: undefined } : found;
    const errors = this.addPartial(name, source, { file });
    return errors.length > 0 ? errors : this.partials.get(name);
  }

  private unknownHelperHint(message: string): string {
    const name = /"(.*)"/.exec(message)?.[1] ?? '';
    const known = this.helperNames();
    const near = closest(name, known);
    return near ? `did you mean "${near}"? Known helpers: ${known.join(', ')}` : `known helpers: ${known.join(', ')}`;
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
