/**
 * Typed prompt ids, variables and variant names (issue 13). `PromptInputs` and `PromptVariants`
 * are empty here; `anvil types` writes a declaration file that fills them by module
 * augmentation, one key per prompt id (`set/id`, and the bare `id` when no other set has it):
 *
 *   declare module '@anvil/client' {
 *     interface PromptInputs {
 *       'onboarding/welcome.message': { name: string; plan?: 'free' | 'pro' };
 *       'welcome.message': PromptInputs['onboarding/welcome.message'];
 *     }
 *     interface PromptVariants {
 *       'onboarding/welcome.message': 'fr';
 *       'welcome.message': PromptVariants['onboarding/welcome.message'];
 *     }
 *   }
 *
 * Once that file is part of the app's compilation, `anvil.prompt('welcome.message', {...})`
 * (and `messages`, `template`, `track`) check the id, the variables and `options.variant`;
 * without it every id is a string and every variables object is allowed.
 *
 * Both interfaces are declared in this module and only re-exported by index.ts: augmenting
 * `'@anvil/client'` follows the re-export to this declaration, in the sources and in dist/*.d.ts.
 */

/** Variables by prompt id (`set/id`, and the bare `id` when unique); filled by `anvil types`. */
export interface PromptInputs {}

/** Variant names by prompt id (`never` for a prompt without variants); filled by `anvil types`. */
export interface PromptVariants {}

/** True once generated declarations have added at least one prompt. */
type HasPromptInputs = [keyof PromptInputs] extends [never] ? false : true;

/**
 * A prompt id: the registered ids once `anvil types` has run, any string before.
 *
 * The mapped type spells the ids out as a union of literals, so that a misspelt id is reported
 * against the list of ids rather than against an opaque `keyof PromptInputs`.
 */
export type PromptId = HasPromptInputs extends true ? { [Id in keyof PromptInputs]: Id }[Extract<keyof PromptInputs, string>] : string;

/** The variables object a prompt takes. */
export type PromptVars<Id extends string> = Id extends keyof PromptInputs ? PromptInputs[Id] : Record<string, unknown>;

/**
 * The variant names a prompt has: any string for an id the generated declarations do not list
 * (or that predate variant names). An unknown variant name throws `prompt.unknown-variant` at
 * run time, so it is worth a compile error; choosing by `tags` falls back to the base prompt.
 */
export type PromptVariant<Id extends string> = Id extends keyof PromptVariants ? PromptVariants[Id] : string;

/**
 * How to choose among a prompt's variants, and the key that pins a rollout (DESIGN.md §6).
 * Each field may be `undefined`, which means "not given", so that apps compiled with
 * `exactOptionalPropertyTypes` can pass `{ key: user?.id }`.
 */
export interface PromptCallOptions<Id extends string = string> {
  variant?: PromptVariant<Id> | undefined;
  tags?: Record<string, string> | undefined;
  key?: string | undefined;
}

/**
 * The arguments after the id: the variables, then the options. The variables may be left out
 * when the prompt requires none (every variable optional, or none declared), and must be given
 * when it requires one; a missing one is reported as "An argument for 'vars' was not provided".
 * (Leaving them out rather than passing `undefined` matters for defaults: see `PromptInputs`.)
 */
export type PromptArgs<Id extends string> = {} extends PromptVars<Id>
  ? [vars?: PromptVars<Id> | undefined, options?: PromptCallOptions<Id>]
  : [vars: PromptVars<Id>, options?: PromptCallOptions<Id>];

/** The shape of `anvil.prompt`: renders a prompt by id with its variables. */
export type PromptFunction = <Id extends PromptId>(id: Id, ...args: PromptArgs<Id>) => string;
