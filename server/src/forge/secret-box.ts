/**
 * Seals small secrets the forge must read back (the token each receiver registered with, which
 * pushes present to it) with AES-256-GCM under a key kept in the data dir. The token table
 * itself keeps only hashes (DESIGN §9); this box is why that stays true.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { AnvilError } from '@anvil/content-schema';

export interface SecretBox {
  seal(plain: string): string;
  open(sealed: string): string;
}

export function secretBox(key: Buffer): SecretBox {
  if (key.length !== 32) throw new AnvilError('secrets.key', 'the sealing key must be 32 bytes');
  return {
    seal(plain) {
      const iv = randomBytes(12);
      const cipher = createCipheriv('aes-256-gcm', key, iv);
      const body = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
      return `v1.${Buffer.concat([iv, cipher.getAuthTag(), body]).toString('base64')}`;
    },
    open(sealed) {
      const raw = Buffer.from(sealed.replace(/^v1\./, ''), 'base64');
      const decipher = createDecipheriv('aes-256-gcm', key, raw.subarray(0, 12));
      decipher.setAuthTag(raw.subarray(12, 28));
      return Buffer.concat([decipher.update(raw.subarray(28)), decipher.final()]).toString('utf8');
    },
  };
}

/** The data dir's sealing key, created (0600) on first start. */
export function loadSecretBox(dataDir: string): SecretBox {
  const existing = readSecretBox(dataDir);
  if (existing) return existing;
  const file = sealKeyFile(dataDir);
  mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  const key = randomBytes(32);
  writeFileSync(file, `${key.toString('base64')}\n`, { mode: 0o600, flag: 'wx' });
  return secretBox(key);
}

/**
 * The data dir's sealing key if the forge has made one, for CLI commands that act on a store
 * without running the forge (`anvil token revoke` opens receivers' sealed tokens with it) and
 * must not create a key of their own.
 */
export function readSecretBox(dataDir: string): SecretBox | undefined {
  try {
    return secretBox(Buffer.from(readFileSync(sealKeyFile(dataDir), 'utf8').trim(), 'base64'));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

function sealKeyFile(dataDir: string): string {
  return path.join(dataDir, 'keys', 'seal.key');
}
