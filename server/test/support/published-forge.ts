/**
 * A forge started as `anvil serve` starts it (store, keys, worker, HTTP on loopback) with
 * something published: a git repository with a `locked` set released as `core@1.0.0` and a
 * `live` set whose head build is on the development channel. Two projects: `acme` (a plain git
 * remote, synced) and `hello` (GitHub's example repository `Codertocat/Hello-World`, never
 * synced), so that both webhook routes have a real project to refuse.
 *
 * The store is SQLite in the data dir, or with ANVIL_TEST_STORE=postgres a fresh schema on the
 * test PostgreSQL server, given to the forge as its `database` URL.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createAccessToken } from '../../src/access/access-tokens.ts';
import type { ResolvedForgeConfig } from '../../src/forge/forge-config.ts';
import { createLogger, type Logger } from '../../src/forge/logger.ts';
import { startForge, type RunningForge } from '../../src/forge/start-forge.ts';
import { formatReleaseMessage } from '../../src/release/release-record.ts';
import { gitdir, type GitDir } from './gitdir.ts';
import { createTestSchema, testStoreKind, type TestSchema } from './test-postgres.ts';

export const GIT_SECRET = 'published-forge-git-secret-0123456789';
export const GITHUB_SECRET = 'published-forge-github-secret-0123456789';
export const ADMIN_TOKEN = 'published-forge-admin-token-0123456789abcdef';
export const GITHUB_REPOSITORY = 'Codertocat/Hello-World';

const FILES = {
  'anvil.yaml': 'name: "@acme"\n',
  'prompts/core/set.yaml': 'mode: locked\n',
  'prompts/core/tone.md': '---\ndescription: house tone\n---\nBe kind and brief.',
  'prompts/support/set.yaml': 'mode: live\n',
  'prompts/support/answer.md': '---\ninput:\n  schema:\n    question: string\n---\nAnswer: {{question}}',
};

export interface PublishedForge {
  forge: RunningForge;
  repo: GitDir;
  /** Access tokens of `acme` and of `hello`. */
  tokens: { acme: string; hello: string };
  /** The version of `support`'s head build (on the development channel; not a release). */
  headVersion: string;
  close(): Promise<void>;
}

export async function startPublishedForge(options: { logger?: Logger } = {}): Promise<PublishedForge> {
  const repo = await gitdir({ files: FILES });
  await repo.tag('core@1.0.0', { message: formatReleaseMessage({ set: 'core', version: '1.0.0', dependencies: {} }) });
  const dataDir = mkdtempSync(path.join(tmpdir(), 'anvil-published-forge-'));
  const schema: TestSchema | undefined = testStoreKind() === 'postgres' ? await createTestSchema() : undefined;
  const config: ResolvedForgeConfig = {
    name: 'published-forge', dataDir, host: '127.0.0.1', port: 0, keyRotationGraceDays: 7, adminToken: ADMIN_TOKEN,
    projects: [
      { name: 'acme', remote: repo.dir, provider: 'git', webhookSecret: GIT_SECRET },
      { name: 'hello', remote: repo.dir, provider: 'github', githubRepository: GITHUB_REPOSITORY, webhookSecret: GITHUB_SECRET },
    ],
    defaultBranches: {},
    ...(schema ? { database: schema.url } : {}),
  };
  const forge = await startForge(config, { logger: options.logger ?? createLogger({ level: 'silent' }), syncOnStart: false });
  try {
    await forge.sync('acme');
    await forge.settle();
    const head = await forge.ctx.db.selectFrom('bundles').select('version')
      .where('project', '=', 'acme').where('set_name', '=', 'support').where('stage', '=', 'head').executeTakeFirstOrThrow();
    const tokens = {
      acme: (await createAccessToken(forge.ctx.db, { project: 'acme', label: 'test' })).token,
      hello: (await createAccessToken(forge.ctx.db, { project: 'hello', label: 'test' })).token,
    };
    return {
      forge, repo, tokens, headVersion: head.version,
      async close() {
        await forge.close();
        await schema?.drop();
        rmSync(dataDir, { recursive: true, force: true });
        await repo.cleanup();
      },
    };
  } catch (err) {
    await forge.close();
    await schema?.drop();
    rmSync(dataDir, { recursive: true, force: true });
    throw err;
  }
}
