/**
 * A bundle's prompts, ready to render: one environment holding the bundle's partials and those
 * of the sets it depends on (`{{> core/signature}}`), in which the bundle's templates compile.
 * A bundle carries normalised metadata, so nothing is parsed again here.
 */
import { AnvilError, type Bundle, type BundlePrompt } from '@anvil/content-schema';
import { PromptEnvironment, type CompiledPrompt } from '../render/environment.ts';

/** Partials by name, per dependency set: `{core: {signature: '…'}}`. */
export type DependencyPartials = Record<string, Record<string, string>>;

export function bundleEnvironment(bundle: Pick<Bundle, 'partials'>, dependencies: DependencyPartials = {}): PromptEnvironment {
  const partials: Record<string, string> = {};
  for (const [set, byName] of Object.entries(dependencies)) {
    for (const [name, source] of Object.entries(byName)) partials[`${set}/${name}`] = source;
  }
  Object.assign(partials, bundle.partials);
  return new PromptEnvironment({ partials });
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
