/**
 * What a release records in its annotated tag, so that building it again later gives the same
 * bytes: the dependency versions resolved when it was made (DESIGN.md §5), as git-style
 * trailers in the tag message. The tag is immutable, so the record is too.
 *
 *   onboarding 1.2.0
 *
 *   Anvil-Dependency: core@2.0.1
 */
import fs from 'node:fs';
import git from 'isomorphic-git';
import type { GitCache } from '../repo/git-cache.ts';
import { findGitDirs } from '../repo/git-dir.ts';
import type { ReleaseTag } from '../repo/release-tags.ts';

const TRAILER = 'Anvil-Dependency';

export interface ReleaseRecord {
  set: string;
  version: string;
  dependencies: Record<string, string>;
}

export function formatReleaseMessage(record: ReleaseRecord, summary?: string): string {
  const lines = [`${record.set} ${record.version}`, ''];
  if (summary) lines.push(summary.trim(), '');
  for (const [dep, version] of Object.entries(record.dependencies).sort(([a], [b]) => a.localeCompare(b))) {
    lines.push(`${TRAILER}: ${dep}@${version}`);
  }
  return `${lines.join('\n').trimEnd()}\n`;
}

/** The recorded dependencies, or undefined when the message records none (not an Anvil release). */
export function parseReleaseDependencies(message: string): Record<string, string> | undefined {
  const out: Record<string, string> = {};
  let found = false;
  for (const m of message.matchAll(new RegExp(`^${TRAILER}:\\s*([^@\\s]+)@(\\S+)\\s*$`, 'gm'))) {
    out[m[1]!] = m[2]!;
    found = true;
  }
  const firstLine = message.split('\n')[0] ?? '';
  // A release of a set without dependencies records none, but its first line says what it is.
  return found || /^\S+ \S+$/.test(firstLine) ? out : undefined;
}

/** Reads the record from an annotated release tag; undefined for a lightweight tag. */
export async function readReleaseRecord(repoDir: string, tag: ReleaseTag, cache?: GitCache): Promise<Record<string, string> | undefined> {
  if (!tag.tagObject) return undefined;
  const { gitdir } = await findGitDirs(repoDir);
  const { tag: object } = await git.readTag({ fs, gitdir, oid: tag.tagObject, cache: cache?.forGitDir(gitdir) ?? {} });
  return parseReleaseDependencies(object.message);
}
