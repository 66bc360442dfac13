/**
 * A ForgeContext for tests: a temp data dir with a real SQLite store, a fresh signing key,
 * a see-through secret box (tests read what they sealed), silent logs and a fresh metrics
 * registry. Pass `file` (and `key`) to open a second forge on the same store, as a restarted
 * forge or another replica would.
 *
 * With ANVIL_TEST_STORE=postgres the store is a fresh schema on the test PostgreSQL server
 * instead (test-postgres.ts), dropped when the forge that made it closes; `file` is then that
 * schema's URL, which opens it again the same way.
 *
 * Tests push to receivers on 127.0.0.1, so these forges allow private networks unless a test
 * says otherwise (`pushTargets`); a real forge does not by default (issue 14).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { generateSigningKey, type SigningKey } from '@anvil/content-schema';
import type { ForgeContext, PushTargets } from '../../src/forge/forge-context.ts';
import { createLogger } from '../../src/forge/logger.ts';
import { createForgeMetrics } from '../../src/forge/metrics.ts';
import { openStore, type StoreLocation } from '../../src/store/open-store.ts';
import { createStoreEvents } from '../../src/store/store-events.ts';
import { isPostgresUrl } from '../../src/store/store-location.ts';
import { createTestSchema, testStoreKind, type TestSchema } from './test-postgres.ts';

export interface TestForge {
  ctx: ForgeContext;
  dir: string;
  /** The store file (or PostgreSQL URL), to open it again from another forge or process. */
  file: string;
  key: SigningKey;
  /** Closes the store; removes the data dir when this forge created it. */
  close(): Promise<void>;
}

export const testSecrets = {
  seal: (plain: string) => `test.${Buffer.from(plain, 'utf8').toString('base64')}`,
  open: (sealed: string) => Buffer.from(sealed.replace(/^test\./, ''), 'base64').toString('utf8'),
};

export const LOOPBACK_ALLOWED: PushTargets = { allowPrivateNetworks: true };

export async function createTestForge(options: { file?: string; key?: SigningKey; name?: string; pushTargets?: PushTargets } = {}): Promise<TestForge> {
  // A second forge on a SQLite file shares the first one's data dir; on PostgreSQL, a replica
  // has a data dir of its own, as one on another machine would.
  const sharedDir = options.file !== undefined && !isPostgresUrl(options.file) ? path.dirname(options.file) : undefined;
  const dir = sharedDir ?? mkdtempSync(path.join(tmpdir(), 'anvil-forge-'));
  const schema: TestSchema | undefined = options.file === undefined && testStoreKind() === 'postgres' ? await createTestSchema() : undefined;
  const file = options.file ?? schema?.url ?? path.join(dir, 'forge.db');
  const location: StoreLocation = isPostgresUrl(file) ? { postgres: file } : { file };
  const key = options.key ?? generateSigningKey();
  const db = await openStore(location);
  const ctx: ForgeContext = {
    name: options.name ?? 'test-forge',
    publicUrl: 'http://127.0.0.1:1',
    dataDir: dir,
    projects: new Map(),
    db,
    events: await createStoreEvents(db, location),
    keys: { active: key, signers: [key], published: () => [{ keyId: key.keyId, publicKey: key.publicKey, status: 'active' }] },
    secrets: testSecrets,
    logger: createLogger({ level: 'silent' }),
    metrics: createForgeMetrics(),
    pushTargets: { ...(options.pushTargets ?? LOOPBACK_ALLOWED) },
  };
  let closed = false;
  return {
    ctx, dir, file, key,
    async close() {
      if (closed) return;
      closed = true;
      await ctx.events.close();
      await db.destroy();
      await schema?.drop();
      if (sharedDir === undefined) rmSync(dir, { recursive: true, force: true });
    },
  };
}
