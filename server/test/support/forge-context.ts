/**
 * A ForgeContext for tests: a temp data dir with a real SQLite store, a fresh signing key,
 * a see-through secret box (tests read what they sealed), silent logs and a fresh metrics
 * registry. Pass `file` (and `key`) to open a second forge on the same store, as a restarted
 * forge or another replica would.
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
import { openStore } from '../../src/store/open-store.ts';

export interface TestForge {
  ctx: ForgeContext;
  dir: string;
  /** The store file, to open it again from another forge or process. */
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
  const own = options.file === undefined;
  const dir = own ? mkdtempSync(path.join(tmpdir(), 'anvil-forge-')) : path.dirname(options.file!);
  const file = options.file ?? path.join(dir, 'forge.db');
  const key = options.key ?? generateSigningKey();
  const db = await openStore({ file });
  const ctx: ForgeContext = {
    name: options.name ?? 'test-forge',
    publicUrl: 'http://127.0.0.1:1',
    dataDir: dir,
    projects: new Map(),
    db,
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
      await db.destroy();
      if (own) rmSync(dir, { recursive: true, force: true });
    },
  };
}
