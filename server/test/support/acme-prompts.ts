/**
 * The prompt repository the forge's end-to-end tests publish from: a `locked` set with a partial
 * (`core`), a `review` set that depends on it (`onboarding`), and a `live` set (`support`) — one
 * set per mode, so that every channel rule has something to act on.
 */
export const ACME_PROMPTS = {
  'anvil.yaml': 'name: "@acme"\n',
  'prompts/core/set.yaml': 'mode: locked\n',
  'prompts/core/_signature.md': '— The Acme team',
  'prompts/core/tone.md': '---\ndescription: house tone\n---\nBe kind and brief.',
  'prompts/onboarding/set.yaml': 'mode: review\ndependencies:\n  core: ^1.0.0\n',
  'prompts/onboarding/welcome.md': '---\ninput:\n  schema:\n    name: string\n---\nWelcome, {{name}}!\n{{> core/signature}}',
  'prompts/support/set.yaml': 'mode: live\n',
  'prompts/support/answer.md': '---\ninput:\n  schema:\n    question: string\n---\nAnswer: {{question}}',
} as const;
