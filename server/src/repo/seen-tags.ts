/**
 * The CLI's memory of release tags (DESIGN.md §5: a tag that moves or disappears after it was
 * seen is reported, never silently followed). Kept per clone in `<git dir>/anvil/seen-tags.json`
 * — inside `.git`, so it is never committed and every worktree of the clone shares it. The
 * forge keeps the same record in its store.
 *
 * A moved tag keeps its first-seen commit here until someone decides: put the tag back, or
 * accept the move with `anvil versions --accept-moved <tag>`.
 */
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { findGitDirs } from './git-dir.ts';
import { compareWithSeen, type ReleaseTag, type TagChanges } from './release-tags.ts';

const FILE = path.join('anvil', 'seen-tags.json');

export async function readSeenTags(repoDir: string): Promise<Record<string, string>> {
  const { gitdir } = await findGitDirs(repoDir);
  const text = await readFile(path.join(gitdir, FILE), 'utf8').catch(() => undefined);
  if (text === undefined) return {};
  try {
    const parsed = JSON.parse(text) as unknown;
    if (typeof parsed !== 'object' || parsed === null) return {};
    const out: Record<string, string> = Object.create(null) as Record<string, string>;
    for (const [name, commit] of Object.entries(parsed)) if (typeof commit === 'string') out[name] = commit;
    return out;
  } catch {
    // A damaged record is started again rather than blocking every command; tags seen from now on count.
    return {};
  }
}

export async function writeSeenTags(repoDir: string, seen: Record<string, string>): Promise<void> {
  const { gitdir } = await findGitDirs(repoDir);
  const file = path.join(gitdir, FILE);
  await mkdir(path.dirname(file), { recursive: true });
  const sorted = Object.fromEntries(Object.entries(seen).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  const tmp = `${file}.${process.pid}.tmp`;
  await writeFile(tmp, `${JSON.stringify(sorted, null, 2)}\n`);
  await rename(tmp, file);
}

/**
 * Compares the tags now with the record, and records the new ones. Moved and deleted tags stay
 * recorded as first seen, so they are reported every time until resolved.
 */
export async function checkSeenTags(repoDir: string, tags: readonly ReleaseTag[]): Promise<TagChanges> {
  const seen = await readSeenTags(repoDir);
  const changes = compareWithSeen(seen, tags);
  if (changes.added.length > 0) {
    for (const tag of changes.added) seen[tag.name] = tag.commit;
    await writeSeenTags(repoDir, seen);
  }
  return changes;
}

/** Accepts a moved tag's new commit, or forgets a deleted tag; false if it was neither. */
export async function acceptTagChange(repoDir: string, name: string, tags: readonly ReleaseTag[]): Promise<boolean> {
  const seen = await readSeenTags(repoDir);
  if (!Object.hasOwn(seen, name)) return false;
  const now = tags.find((t) => t.name === name);
  if (now?.commit === seen[name]) return false;
  if (now) seen[name] = now.commit;
  else delete seen[name];
  await writeSeenTags(repoDir, seen);
  return true;
}
