/** `anvil.lock.json` read and checked against its schema, for `install --frozen-lockfile` and `check`. */
import { readFile } from 'node:fs/promises';
import { AnvilError, formatIssue, validateLockFile, type LockFile } from '@anvil/content-schema';
import { errorCode } from '../cache/atomic-file.ts';
import { LOCK_FILE } from './resolve-lock.ts';

/** `missingHint`: what to do when there is no lock file, as the command at hand says it. */
export async function readLock(file: string, missingHint = 'run `anvil-live install` and commit anvil.lock.json'): Promise<LockFile> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if (errorCode(err) === 'ENOENT') throw new AnvilError('lock.missing', `${LOCK_FILE} does not exist beside the config`, { hint: missingHint });
    throw err;
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new AnvilError('lock.invalid', `not JSON: ${(err as Error).message}`, { file, hint: 'run `anvil-live install` to write it again' });
  }
  const checked = validateLockFile(parsed);
  if (!checked.ok) {
    const [first] = checked.errors;
    throw new AnvilError('lock.invalid', first ? formatIssue(first) : 'invalid', { file, hint: 'run `anvil-live install` to write it again', details: { errors: checked.errors } });
  }
  return checked.value;
}
