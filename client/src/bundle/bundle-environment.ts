/**
 * A bundle's prompts, ready to render: one environment holding the bundle's partials and those
 * of the sets it depends on (`{{> core/signature}}`), in which the bundle's templates compile.
 * A bundle carries normalised metadata, so nothing is parsed again here.
 */
import { AnvilError, type Bundle, type BundlePrompt } from '@anvil/content-schema';
import { PromptEnvironment, type CompiledPrompt } from '../render/environment.ts';

/** Partials by name, per dependency set: `{core: {signature: '…'}}`. */
export type DependencyPartials = Record<string, Record<string, string>>;

/**
 * Partials compile when a prompt first includes them, as in a receiver (store/bundle-compiler.ts):
 * whether a prompt renders depends on its own includes only, not on the order of the bundle's
 * partials nor on a broken partial it does not use (issue 14: `anvil render` and `anvil diff`
 * failed for a whole set when a partial included one declared after it).
 */
export function bundleEnvironment(bundle: Pick<Bundle, 'partials'>, dependencies: DependencyPartials = {}): PromptEnvironment {
  // As the build's partial scope (server partial-scope.ts): a dependency's `dep/name` wins over
  // an own partial that happens to have the same name.
  const partials = new Map<string, string>(Object.entries(bundle.partials));
  for (const [set, byName] of Object.entries(dependencies)) {
    for (const [name, source] of Object.entries(byName)) partials.set(`${set}/${name}`, source);
  }
  return new PromptEnvironment({ resolvePartial: (name) => partials.get(name) });
}

/** Compiles one prompt of a bundle, or one of its variants. */
export function compileBundlePrompt(env: PromptEnvironment, bundle: Pick<Bundle, 'set' | 'prompts'>, id: string, variant?: string): CompiledPrompt {
  const prompt: BundlePrompt | undefined = bundle.prompts[id];
  if (!prompt) {
    throw new AnvilError('render.unknown-prompt', `there is no prompt "${id}" in ${bundle.set}`, { hint: `prompts: ${Object.keys(bundle.prompts).sort().join(', ') || 'none'}` });
  }
  const body = variant === undefined ? prompt : prompt.variants[variant];
  if (!body) {
    throw new AnvilError('render.unknown-variant', `prompt "${id}" of ${bundle.set} has no variant "${variant}"`, { hint: `variants: ${Object.keys(prompt.variants).sort().join(', ') || 'none'}` });
  }
  return env.compileTemplate(body.template, body.metadata, { file: `${bundle.set}/${id}${variant ? `.${variant}` : ''}` });
}
