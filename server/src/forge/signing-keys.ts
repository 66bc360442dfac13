/**
 * The forge's Ed25519 signing keys (DESIGN §8, §9): created on first start in
 * `<dataDir>/keys/signing.json` (0600), published at `/.well-known/anvil.json`. Rotation makes a
 * new active key and keeps the old one published for a grace period, so receivers that pinned
 * it keep verifying what it signed until they have fetched the new one.
 */
import { readFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { AnvilError, generateSigningKey, type SigningKey } from '@anvil/content-schema';
import { writeFileAtomic } from '@anvil/client';
import type { ForgeKeyring } from './forge-context.ts';

interface StoredKey extends SigningKey {
  createdAt: string;
  /** Set when rotated out: published (and trusted) until then. */
  retiresAt?: string;
}

interface KeyFile {
  keys: StoredKey[];
}

export function signingKeyFile(dataDir: string): string {
  return path.join(dataDir, 'keys', 'signing.json');
}

function readKeyFile(file: string): KeyFile | undefined {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  try {
    const parsed = JSON.parse(text) as KeyFile;
    if (!Array.isArray(parsed.keys) || parsed.keys.length === 0) throw new Error('no keys');
    return parsed;
  } catch (err) {
    throw new AnvilError('keys.corrupt', `${file} is not a valid key file: ${(err as Error).message}`, { hint: 'restore it from a backup; a new key would make every receiver distrust this forge', cause: err });
  }
}

async function writeKeyFile(file: string, keys: KeyFile): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
  await writeFileAtomic(file, Buffer.from(`${JSON.stringify(keys, null, 2)}\n`), 0o600);
}

function keyringOf(keys: KeyFile, now: () => number): ForgeKeyring {
  const active = keys.keys.findLast((k) => k.retiresAt === undefined) ?? keys.keys.at(-1)!;
  const live = (k: StoredKey) => k.retiresAt === undefined || Date.parse(k.retiresAt) > now();
  return {
    active,
    signers: [active, ...keys.keys.filter((k) => k !== active && live(k))],
    published: () => keys.keys
      .filter(live)
      .map((k) => ({ keyId: k.keyId, publicKey: k.publicKey, status: k === active ? 'active' as const : 'retiring' as const, ...(k.retiresAt ? { retiresAt: k.retiresAt } : {}) })),
  };
}

/** The keyring of a data dir; the first key is made on first start. */
export async function loadKeyring(dataDir: string, now: () => number = Date.now): Promise<ForgeKeyring> {
  const file = signingKeyFile(dataDir);
  let keys = readKeyFile(file);
  if (!keys) {
    keys = { keys: [{ ...generateSigningKey(), createdAt: new Date(now()).toISOString() }] };
    await writeKeyFile(file, keys);
  }
  return keyringOf(keys, now);
}

/** Makes a new active key; the old one stays published for `graceDays`. */
export async function rotateSigningKey(dataDir: string, graceDays: number, now: () => number = Date.now): Promise<ForgeKeyring> {
  const file = signingKeyFile(dataDir);
  const keys = readKeyFile(file) ?? { keys: [] };
  const retiresAt = new Date(now() + graceDays * 86_400_000).toISOString();
  const kept = keys.keys
    .filter((k) => k.retiresAt === undefined || Date.parse(k.retiresAt) > now())
    .map((k) => (k.retiresAt === undefined ? { ...k, retiresAt } : k));
  const next: KeyFile = { keys: [...kept, { ...generateSigningKey(), createdAt: new Date(now()).toISOString() }] };
  await writeKeyFile(file, next);
  return keyringOf(next, now);
}
