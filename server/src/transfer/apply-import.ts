/**
 * `anvil import`'s writing edge: the planned files written into the working tree (never
 * committed), each atomically (temp file, fsync, rename). Everything was checked before this
 * runs; if a write still fails (a full disk, a permission), the files already written are put
 * back as they were, and the folders made for them removed, so a failed import leaves nothing.
 */
import { mkdir, readdir, rmdir, unlink } from 'node:fs/promises';
import path from 'node:path';
import { AnvilError } from '@anvil/content-schema';
import { writeFileAtomic } from '@anvil/client';
import type { ImportPlan, PlannedFile } from './plan-import.ts';

export async function applyImport(root: string, plan: ImportPlan): Promise<PlannedFile[]> {
  const writes = plan.files.filter((f) => f.text !== undefined);
  const base = path.resolve(root);
  const absolute = (file: string) => {
    const at = path.resolve(base, ...file.split('/'));
    // Every path was built from checked names; this is the last line of defence.
    if (!at.startsWith(base + path.sep)) throw new AnvilError('import.outside', `${file} is outside the repository`, { hint: 'this is a bug, please report it' });
    return at;
  };
  const done: PlannedFile[] = [];
  const madeDirs: string[] = [];
  try {
    for (const f of writes) {
      const target = absolute(f.file);
      const made = await mkdir(path.dirname(target), { recursive: true });
      if (made !== undefined) madeDirs.push(made);
      await writeFileAtomic(target, Buffer.from(f.text!, 'utf8'));
      done.push(f);
    }
  } catch (err) {
    for (const f of done.reverse()) {
      const target = absolute(f.file);
      await (f.previous === undefined ? unlink(target) : writeFileAtomic(target, Buffer.from(f.previous, 'utf8'))).catch(() => undefined);
    }
    for (const dir of madeDirs.reverse()) await removeEmptyTree(dir);
    const e = err as NodeJS.ErrnoException;
    throw new AnvilError('import.write-failed', `writing the import failed (${e.code ?? e.message}); nothing was changed`, {
      hint: 'check free space and permissions in the repository, then import again', cause: err,
    });
  }
  return writes;
}

/**
 * Removes `dir`, which `mkdir -p` made for the import (it returns the first folder it made), and
 * the empty folders below it; anything not empty stays.
 */
async function removeEmptyTree(dir: string): Promise<void> {
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
  for (const e of entries) if (e.isDirectory()) await removeEmptyTree(path.join(dir, e.name));
  await rmdir(dir).catch(() => undefined);
}
