/**
 * The prompt repository the `anvil types` tests generate declarations from, and its sets
 * compiled as `anvil types` compiles them.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import { compileSet } from '../../src/build/compile-set.ts';
import { loadRepo } from '../../src/load/load-repo.ts';
import { memorySnapshot } from '../../src/repo/snapshot.ts';
import type { TypedSet } from '../../src/types/generate-types.ts';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

/** A small repository covering what the types must express. */
export const REPO = {
  'anvil.yaml': 'name: "@acme"\n',
  'prompts/core/set.yaml': 'mode: locked\n',
  'prompts/core/greeting.md': 'Hello!',
  // Every variable optional: callable without a variables argument.
  'prompts/core/farewell.md': '---\ninput:\n  schema:\n    name?: string\n---\nBye {{name}}',
  'prompts/core/hello.md': '---\ninput:\n  schema:\n    who: string\n---\nHello {{who}}',
  'prompts/onboarding/set.yaml': 'dependencies:\n  core: ^1.0.0\n',
  'prompts/onboarding/hello.md': '---\ninput:\n  schema:\n    team: string\n---\nHello {{team}}',
  'prompts/onboarding/welcome/message.md': [
    '---',
    'description: Welcome message for a new user.',
    'input:',
    '  schema:',
    '    name: string, the user\'s first name',
    '    plan(enum): [free, pro]',
    '    goals?(array): string',
    '    first-login?: boolean',
    '  default:',
    '    plan: free',
    '---',
    'Welcome {{name}} ({{plan}}) {{goals}} {{[first-login]}}',
  ].join('\n'),
  'prompts/onboarding/welcome/message.fr.md': '---\ninput:\n  schema:\n    nom: string\n---\nBienvenue {{nom}}',
  'prompts/onboarding/order.md': [
    '---',
    'input:',
    '  schema:',
    '    type: object',
    '    properties:',
    '      order:',
    '        type: object',
    '        properties:',
    '          id: {type: integer}',
    '          lines: {type: array, items: {type: string}}',
    '        required: [id]',
    '      channel:',
    '        anyOf: [{const: email}, {const: sms}]',
    '      meta:',
    '        type: object',
    '        additionalProperties: {type: string}',
    '    required: [order]',
    '---',
    'Order {{order.id}} by {{channel}}',
  ].join('\n'),
};

export async function typedSets(files: Record<string, string>): Promise<TypedSet[]> {
  const repo = await loadRepo(memorySnapshot(files));
  expect(repo.problems.filter((p) => p.severity === 'error')).to.deep.equal([]);
  const partials = Object.fromEntries(repo.sets.map((s) => [s.name, s.partials]));
  return repo.sets.map((set) => {
    const compiled = compileSet(set, partials);
    expect(compiled.problems).to.deep.equal([]);
    return { name: set.name, prompts: compiled.prompts };
  });
}
