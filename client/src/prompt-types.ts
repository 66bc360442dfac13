/**
 * Typed prompt ids and variables. `PromptInputs` is empty here; `anvil types` writes a
 * declaration file that fills it by module augmentation, one key per prompt id:
 *
 *   declare module '@anvil/client' {
 *     interface PromptInputs {
 *       'onboarding/welcome.message': { name: string; plan?: 'free' | 'pro' };
 *       'welcome.message': PromptInputs['onboarding/welcome.message'];
 *     }
 *   }
 *
 * Once that file is part of the app's compilation, `prompt('welcome.message', {...})` checks the
 * id and the variables; without it every id is a string and every variables object is allowed.
 */

/** Variables by prompt id (`set/id`, and the bare `id` when unique); filled by `anvil types`. */
export interface PromptInputs {}

/** True once generated declarations have added at least one prompt. */
type HasPromptInputs = [keyof PromptInputs] extends [never] ? false : true;

/** A prompt id: the registered ids once `anvil types` has run, any string before. */
export type PromptId = HasPromptInputs extends true ? Extract<keyof PromptInputs, string> : string;

/** The variables object a prompt takes. */
export type PromptVars<Id extends string> = Id extends keyof PromptInputs ? PromptInputs[Id] : Record<string, unknown>;

/** How to choose among a prompt's variants, and the key that pins a rollout (DESIGN.md §6). */
export interface PromptCallOptions {
  variant?: string;
  tags?: Record<string, string>;
  key?: string;
}

/** The shape of `anvil.prompt`: renders a prompt by id with its variables. */
export type PromptFunction = <Id extends PromptId>(id: Id, vars: PromptVars<Id>, options?: PromptCallOptions) => string;
