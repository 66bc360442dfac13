export { KNOWN_HELPERS, PromptEnvironment } from './render/environment.ts';
export type { CompiledPrompt, CompileOptions, EnvironmentOptions, PartialSource, RenderData } from './render/environment.ts';
export type { Message, Part, Role, Document, TextPart, MediaPart, PendingPart } from './render/messages.ts';
export { parsePromptSource } from './parse/prompt-source.ts';
export type { PromptSource } from './parse/prompt-source.ts';
export { normalizePromptMetadata } from './parse/prompt-metadata.ts';
export { filePosition } from './render/template-errors.ts';
export { bundleEnvironment, compileBundlePrompt } from './bundle/bundle-environment.ts';
export type { DependencyPartials } from './bundle/bundle-environment.ts';
