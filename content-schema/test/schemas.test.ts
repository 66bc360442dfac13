import { expect } from 'chai';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { readFile, readdir } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { JSON_SCHEMA_DIALECT, PUBLISHED_SCHEMAS, SCHEMA_BASE_URL, renderSchemaFiles } from '../src/index.ts';
import { sampleBundle, sampleEnvelope, sampleLockFile, sampleMetadata } from './support/samples.ts';

const schemasDir = fileURLToPath(new URL('../schemas/', import.meta.url));

describe('published JSON Schemas', () => {
  it('are committed exactly as the TypeBox sources generate them', async () => {
    const expected = renderSchemaFiles();
    const committed = (await readdir(schemasDir)).filter((name) => name.endsWith('.schema.json')).sort();
    expect(committed, 'schema files in content-schema/schemas/ differ from the generated set: run `npm run schemas`').to.deep.equal(
      [...expected.keys()].sort(),
    );
    for (const [name, text] of expected) {
      const onDisk = await readFile(`${schemasDir}${name}`, 'utf8');
      expect(onDisk === text, `content-schema/schemas/${name} is out of date: run \`npm run schemas\``).to.equal(true);
    }
  });

  it('each declare the 2020-12 dialect and an $id under the Anvil base URL, named as the file', () => {
    for (const [name, text] of renderSchemaFiles()) {
      const schema = JSON.parse(text) as Record<string, unknown>;
      expect(schema['$schema']).to.equal(JSON_SCHEMA_DIALECT);
      expect(schema['$id']).to.equal(`${SCHEMA_BASE_URL}${name}`);
      expect(schema['title']).to.be.a('string');
      expect(schema['description']).to.be.a('string');
    }
  });

  it('stand alone: each compiles in a fresh validator without the others', () => {
    for (const [name, text] of renderSchemaFiles()) {
      const ajv = new Ajv2020({ strict: false });
      expect(() => ajv.compile(JSON.parse(text) as object), name).not.to.throw();
    }
  });

  it('accept the documents they describe, as any JSON Schema validator reads them', () => {
    const documents: Record<string, unknown> = {
      'archive.schema.json': {
        format: 'anvil.archive/1',
        manifest: {
          what: { kind: 'set', set: 'core' }, project: 'acme', repository: '@acme',
          source: { commit: 'a'.repeat(40), committedAt: '2024-01-01T00:00:00Z', dirty: false },
          sets: { core: { version: '1.0.0', stage: 'release', tag: 'core@1.0.0', role: 'requested', contents: 'all', commit: 'a'.repeat(40), dependencies: {}, files: { 'set.yaml': `sha256-${'A'.repeat(43)}=` } } },
        },
        files: { core: { 'set.yaml': 'mode: locked\n' } },
        integrity: `sha256-${'A'.repeat(43)}=`,
      },
      'set.schema.json': { name: 'onboarding', mode: 'locked', dependencies: { core: '^2.0.0' }, reviewers: ['alice', 'acme/prompt-owners'] },
      'anvil.schema.json': { name: '@acme', promptsDir: 'prompts', rollouts: { onboarding: { production: { version: '1.3.0', percent: 10 } } } },
      'prompt.schema.json': { model: 'openai/gpt-4o', input: { schema: { name: 'string' } }, 'acme.owner': 'growth', tags: { locale: 'fr' } },
      'prompt-metadata.schema.json': sampleMetadata(),
      'bundle.schema.json': sampleBundle(),
      'envelope.schema.json': sampleEnvelope(),
      'lock.schema.json': sampleLockFile(),
      'receiver-state.schema.json': {
        format: 'anvil.receiver-state/1', forge: 'https://anvil.example.com', project: 'acme', channel: 'production', mode: 'frozen',
        forgeKeys: { 'ed25519:abc': 'A'.repeat(43) + '=' }, sets: {}, bundles: {}, seenWebhookIds: ['msg_1'], instanceId: 'web-1',
      },
      'receiver-registration.schema.json': { instanceId: 'web-1', url: 'https://app.example.com/anvil', channel: 'production', mode: 'accepting', ranges: { onboarding: '^1.2.0' }, versions: { onboarding: '1.2.3' } },
      'live-config.schema.json': { forge: 'https://anvil.example.com', project: 'acme', channel: 'production', forgeKeys: { 'ed25519:abc': 'A'.repeat(43) + '=' } },
      'forge-config.schema.json': { name: 'acme-forge', dataDir: './data', port: 8080, projects: [{ name: 'acme', remote: 'https://github.com/acme/prompts.git', provider: 'github', github: { repository: 'acme/prompts' }, webhookSecret: { env: 'ACME_WEBHOOK_SECRET' } }] },
      'types-manifest.schema.json': {
        format: 'anvil.types-manifest/1', from: '@acme at main (a1b2c3d)',
        prompts: { 'onboarding/welcome.message': { set: 'onboarding', id: 'welcome.message', variants: ['fr'], input: { type: 'object', required: ['name'] } }, 'core/greeting': { set: 'core', id: 'greeting', variants: [], input: null } },
      },
    };
    for (const [name, text] of renderSchemaFiles()) {
      const validate = new Ajv2020({ strict: false }).compile(JSON.parse(text) as object);
      expect(validate(documents[name]), `${name}: ${JSON.stringify(validate.errors)}`).to.equal(true);
    }
  });

  it('describe every top-level field, for editor completion', () => {
    for (const schema of PUBLISHED_SCHEMAS) {
      const properties = (schema['properties'] ?? {}) as Record<string, { description?: unknown; title?: unknown }>;
      for (const [field, definition] of Object.entries(properties)) {
        expect(definition.description ?? definition.title, `${String(schema.$id)} ${field}`).to.be.a('string');
      }
    }
  });
});
