import semver from 'semver';
import { AnvilError } from '@anvil/content-schema';
import type { GitCache } from '../../repo/git-cache.ts';
import { readReleaseRecord } from '../../release/release-record.ts';
import { openGitSnapshot } from '../../repo/git-snapshot.ts';
import type { ReleaseTag } from '../../repo/release-tags.ts';
import { acceptTagChange } from '../../repo/seen-tags.ts';
import { colour, EXIT_OK, EXIT_USER_ERROR } from '../cli-io.ts';
import type { Command } from '../command.ts';
import { openRepo } from '../open-snapshot.ts';

interface VersionRow {
  set: string;
  version: string;
  tag: string;
  commit: string;
  committedAt: string | undefined;
  prerelease: boolean;
  /** Dependency versions recorded in the release; undefined for a tag Anvil did not make. */
  dependencies: Record<string, string> | undefined;
  /** Set when the tag now marks another commit than when it was first seen. */
  movedFrom?: string;
}

export const versionsCommand: Command = {
  name: 'versions',
  usage: 'anvil versions [<set>] [--json] [--accept-moved <tag>] [--repo <dir>]',
  help: [
    'Options:',
    '  --json                 print the releases as JSON',
    '  --accept-moved <tag>   accept that a release tag moved (or was deleted) since it was first',
    '                         seen here; until then lint and build refuse it',
    '  --repo <dir>           the repository (default: the nearest folder with anvil.yaml or .git)',
    '',
    'Releases are annotated tags <set>@<semver>. Each line shows the version, the commit, its date',
    'and the dependency versions recorded when it was released. Tags that moved or vanished after',
    'they were first seen, and tags that look like releases but are not valid semver, are listed',
    'too; they exit 1.',
  ].join('\n'),
  options: { json: { type: 'boolean' }, 'accept-moved': { type: 'string' }, repo: { type: 'string' } },
  async run({ values, positionals }, io) {
    const opened = await openRepo(values, io.cwd);
    if (!opened.isGit) throw new AnvilError('repo.not-git', `${opened.root} is not a git repository, so it has no releases`, { hint: 'releases are git tags; run `git init` first' });
    const accept = values['accept-moved'] as string | undefined;
    if (accept !== undefined) {
      if (!(await acceptTagChange(opened.root, accept, opened.tags))) {
        throw new AnvilError('release.nothing-to-accept', `${accept} has not moved or vanished since it was first seen`, { hint: 'see `npx anvil versions` for tags that did' });
      }
      io.out(`accepted ${accept} as it is now`);
      return EXIT_OK;
    }

    const [set, ...extra] = positionals;
    if (extra.length > 0) throw new AnvilError('cli.bad-arguments', 'name one set, or none for all', { hint: this.usage });
    const tags = opened.tags.filter((t) => set === undefined || t.set === set);
    if (set !== undefined && tags.length === 0) {
      const sets = [...new Set(opened.tags.map((t) => t.set))];
      io.err(`${set} has no release yet${sets.length > 0 ? ` (released sets: ${sets.join(', ')})` : ''}`);
    }
    const changes = opened.releases.tagChanges ?? { moved: [], deleted: [] };
    const belongs = (name: string) => set === undefined || name.startsWith(`${set}@`);
    const moved = changes.moved.filter((m) => belongs(m.name));
    const deleted = changes.deleted.filter((d) => belongs(d.name));
    const invalid = (opened.releases.invalidTags ?? []).filter((t) => belongs(t.name));

    const rows: VersionRow[] = [];
    // By set, newest first.
    const ordered = [...tags].sort((a, b) => (a.set < b.set ? -1 : a.set > b.set ? 1 : semver.compareBuild(b.version, a.version)));
    for (const tag of ordered) rows.push(await rowOf(opened.root, tag, opened, moved.find((m) => m.name === tag.name)?.was));
    const problems = moved.length + deleted.length + invalid.length;

    if (values['json']) {
      io.out(JSON.stringify({ releases: rows, deleted, invalid }, null, 2));
      return problems > 0 ? EXIT_USER_ERROR : EXIT_OK;
    }
    let current: string | undefined;
    for (const row of rows) {
      if (row.set !== current) {
        io.out(colour(io, 1, row.set));
        current = row.set;
      }
      const deps = row.dependencies === undefined ? colour(io, 33, '(no release record)') : Object.entries(row.dependencies).map(([d, v]) => `${d}@${v}`).join(' ');
      const flag = row.movedFrom ? colour(io, 31, ` MOVED (first seen at ${row.movedFrom.slice(0, 7)})`) : '';
      io.out(`  ${row.version.padEnd(20)} ${row.commit.slice(0, 7)}  ${(row.committedAt ?? '').slice(0, 10)}  ${deps}${flag}`);
    }
    for (const d of deleted) io.out(colour(io, 31, `  ${d.name} DELETED (was at ${d.was.slice(0, 7)})`));
    for (const t of invalid) io.out(colour(io, 33, `  ${t.name} is not a valid release: ${t.reason}`));
    return problems > 0 ? EXIT_USER_ERROR : EXIT_OK;
  },
};

async function rowOf(root: string, tag: ReleaseTag, opened: { cache: GitCache }, movedFrom: string | undefined): Promise<VersionRow> {
  const snapshot = await openGitSnapshot(root, tag.name, { cache: opened.cache });
  return {
    set: tag.set,
    version: tag.version,
    tag: tag.name,
    commit: tag.commit,
    committedAt: snapshot.source.committedAt,
    prerelease: semver.prerelease(tag.version) !== null,
    dependencies: await readReleaseRecord(root, tag, opened.cache),
    ...(movedFrom ? { movedFrom } : {}),
  };
}
