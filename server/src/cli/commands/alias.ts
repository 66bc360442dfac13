/**
 * `anvil alias set|rm|list` (issue 17): named versions of a set (`stable` → 1.2.0), recorded in
 * anvil.yaml's `aliases` so that moving one is a commit, reviewed like everything else; the forge
 * learns them from the default branch and resolves `@acme/onboarding@stable/…` with them.
 */
import { readYamlConfig } from '../../load/read-yaml-config.ts';
import { REPO_CONFIG_FILE } from '../../load/load-repo.ts';
import { formatProblem } from '../../lint/problem.ts';
import { AnvilError, findAliasNameProblem, findSetNameProblem, isExactVersion, validateRepoConfig, type ResolvedRepoConfig } from '@anvil/content-schema';
import { commitRepoConfig, editRepoConfig, readRepoConfigFile, type RepoConfigEdit } from '../../repo/edit-repo-config.ts';
import { versionsOf } from '../../repo/release-tags.ts';
import { colour, EXIT_OK, type CliIO } from '../cli-io.ts';
import type { Command } from '../command.ts';
import { openRepo, type OpenedRepo } from '../open-snapshot.ts';
import { textTable } from '../text-table.ts';

const USAGE = 'anvil alias set <set> <alias> <version> | rm <set> <alias> | list [<set>]  [--commit] [--json] [--repo <dir>]';

export const aliasCommand: Command = {
  name: 'alias',
  usage: USAGE,
  help: [
    'Subcommands:',
    '  set <set> <alias> <version>   point the alias at a release (a tag <set>@<version> must exist)',
    '  rm <set> <alias>              remove the alias',
    '  list [<set>]                  the aliases in anvil.yaml, and whether each release exists',
    '',
    'Options:',
    '  --commit       commit anvil.yaml (alone) with a message saying what changed',
    '  --json         print JSON',
    '  --repo <dir>   the repository (default: the nearest folder with anvil.yaml or .git)',
    '',
    'Aliases live in anvil.yaml (`aliases: {onboarding: {stable: 1.2.0}}`); the command edits the',
    'file keeping its comments and layout. Commit and merge the change like any other: the forge',
    'takes aliases from the default branch, and then serves `@acme/onboarding@stable/welcome.message`,',
    'GET …/sets/onboarding/versions/stable, and apps whose anvil-live.json says `"onboarding": "stable"`.',
    'An alias is a lowercase word; it cannot be a channel name, "latest", or read as a version range.',
    '',
    'Examples:',
    '  anvil alias set onboarding stable 1.2.0 --commit',
    '  anvil render onboarding@stable/welcome.message',
  ].join('\n'),
  options: { commit: { type: 'boolean' }, json: { type: 'boolean' }, repo: { type: 'string' } },
  async run({ values, positionals }, io) {
    const [sub, ...rest] = positionals;
    const json = values['json'] === true;
    if (sub === 'list') {
      if (rest.length > 1) throw new AnvilError('cli.bad-arguments', 'name one set, or none for all', { hint: USAGE });
      if (values['commit']) throw new AnvilError('cli.bad-arguments', '--commit is for `anvil alias set` and `anvil alias rm`', { hint: USAGE });
      return list(await openRepo({ repo: values['repo'] }, io.cwd), rest[0], json, io);
    }
    if (sub !== 'set' && sub !== 'rm') {
      throw new AnvilError('cli.bad-arguments', sub === undefined ? 'name a subcommand: set, rm or list' : `unknown subcommand "${sub}"`, { hint: USAGE });
    }
    const [set, alias, version, ...extra] = rest;
    const wanted = sub === 'set' ? 3 : 2;
    if (set === undefined || alias === undefined || (sub === 'set' && version === undefined) || extra.length > 0 || (sub === 'rm' && version !== undefined)) {
      throw new AnvilError('cli.bad-arguments', `anvil alias ${sub} takes ${wanted} arguments`, { hint: sub === 'set' ? 'e.g. anvil alias set onboarding stable 1.2.0' : 'e.g. anvil alias rm onboarding stable' });
    }
    checkSetName(set);
    checkAliasName(alias);
    const opened = await openRepo({ repo: values['repo'] }, io.cwd);
    const current = await readAliases(opened.root);
    const previous = current[set]?.[alias];

    let edit: RepoConfigEdit;
    let message: string;
    if (sub === 'set') {
      requireRelease(opened, set, version!);
      edit = { kind: 'set-alias', set, alias, version: version! };
      message = previous === undefined ? `anvil alias: ${set}@${alias} = ${version}` : `anvil alias: ${set}@${alias} = ${version} (was ${previous})`;
    } else {
      if (previous === undefined) {
        const known = Object.keys(current[set] ?? {});
        throw new AnvilError('alias.unknown', `${set} has no alias "${alias}" in ${REPO_CONFIG_FILE}`, {
          hint: known.length > 0 ? `aliases of ${set}: ${known.join(', ')}` : `${set} has no aliases; see \`npx anvil alias list\``,
        });
      }
      edit = { kind: 'remove-alias', set, alias };
      message = `anvil alias: remove ${set}@${alias} (was ${previous})`;
    }
    const edited = await editRepoConfig(opened.root, edit);
    const commit = values['commit'] === true && edited.changed ? await commitRepoConfig(opened.root, message) : undefined;
    if (json) {
      io.out(JSON.stringify({ ok: true, set, alias, version: sub === 'set' ? version : null, previous: previous ?? null, changed: edited.changed, file: edited.file, commit: commit ?? null }, null, 2));
      return EXIT_OK;
    }
    io.out(sub === 'set'
      ? `${colour(io, 32, edited.changed ? 'set' : 'unchanged')} ${set}@${alias} → ${version}${previous !== undefined && previous !== version ? ` (was ${previous})` : ''} in ${REPO_CONFIG_FILE}`
      : `${colour(io, 32, 'removed')} ${set}@${alias} (was ${previous}) from ${REPO_CONFIG_FILE}`);
    reportCommit(io, edited.changed, commit, message);
    return EXIT_OK;
  },
};

async function list(opened: OpenedRepo, only: string | undefined, json: boolean, io: CliIO): Promise<number> {
  const aliases = await readAliases(opened.root);
  const rows = Object.keys(aliases).sort().filter((set) => only === undefined || set === only).flatMap((set) =>
    Object.keys(aliases[set] ?? {}).sort().map((alias) => {
      const version = aliases[set]![alias]!;
      return { set, alias, version, released: opened.tags.some((t) => t.set === set && t.version === version) };
    }));
  if (json) {
    io.out(JSON.stringify({ aliases: rows }, null, 2));
    return EXIT_OK;
  }
  if (rows.length === 0) {
    io.out(only === undefined ? `no aliases in ${REPO_CONFIG_FILE}` : `${only} has no aliases in ${REPO_CONFIG_FILE}`);
    return EXIT_OK;
  }
  for (const line of textTable(['set', 'alias', 'version', ''], rows.map((r) => [r.set, r.alias, r.version, r.released ? '' : colour(io, 31, 'no such release')]))) io.out(line);
  return EXIT_OK;
}

/** anvil.yaml's aliases as the working tree has them; an anvil.yaml that does not validate is an error. */
export async function readAliases(root: string): Promise<ResolvedRepoConfig['aliases']> {
  return (await readValidRepoConfig(root)).aliases;
}

export async function readValidRepoConfig(root: string): Promise<ResolvedRepoConfig> {
  const { text } = await readRepoConfigFile(root);
  if (text === undefined) return { promptsDir: 'prompts', rollouts: {}, aliases: {} };
  const read = readYamlConfig(REPO_CONFIG_FILE, text, validateRepoConfig);
  if (!read.value) {
    const first = read.problems.find((p) => p.severity === 'error');
    throw new AnvilError('config.invalid', `${REPO_CONFIG_FILE} does not validate${first ? `: ${formatProblem(first)}` : ''}`, {
      file: REPO_CONFIG_FILE, ...(first?.line !== undefined ? { line: first.line } : {}), ...(first?.column !== undefined ? { column: first.column } : {}),
      hint: 'fix it first (`npx anvil lint` lists every problem)',
    });
  }
  return read.value;
}

/** Refuses anything but an exact version with a release tag `<set>@<version>` that has not moved. */
export function requireRelease(opened: OpenedRepo, set: string, version: string): void {
  if (!opened.isGit) {
    throw new AnvilError('repo.not-git', `${opened.root} is not a git repository, so ${set} has no releases`, { hint: 'releases are git tags; run `git init` and `npx anvil release` first' });
  }
  const versions = versionsOf(opened.tags, set);
  const hint = versions.length > 0 ? `releases of ${set}: ${versions.slice(-10).join(', ')} (see \`npx anvil versions ${set}\`)` : `${set} has no release yet; make one with \`npx anvil release ${set}\``;
  if (!isExactVersion(version)) {
    throw new AnvilError('release.not-exact', `"${version}" is not an exact version; an alias or a rollout names one release`, { hint });
  }
  const tag = `${set}@${version}`;
  if (!versions.includes(version)) throw new AnvilError('release.unknown', `${set} has no release ${version} (no tag ${tag})`, { hint });
  const moved = opened.releases.tagChanges?.moved.find((m) => m.name === tag);
  if (moved) {
    throw new AnvilError('release.tag-moved', `release tag ${tag} moved from ${moved.was.slice(0, 7)} to ${moved.now.slice(0, 7)}; releases are immutable`, {
      hint: `put it back with \`git tag -f ${tag} ${moved.was}\`, or accept the move with \`npx anvil versions --accept-moved ${tag}\``,
    });
  }
}

/** Says what was committed, or what to commit. */
export function reportCommit(io: CliIO, changed: boolean, commit: string | undefined, message: string): void {
  if (!changed) return;
  if (commit) io.out(`committed ${REPO_CONFIG_FILE} as ${commit.slice(0, 7)}: ${message}`);
  else io.out(`commit it (and merge it like any change): git add ${REPO_CONFIG_FILE} && git commit -m ${JSON.stringify(message)}`);
}

function checkSetName(set: string): void {
  const problem = findSetNameProblem(set);
  if (problem) throw new AnvilError('cli.bad-arguments', `"${set}" is not a set name: ${problem.message} at column ${problem.index + 1}`, { hint: 'set names are lowercase, e.g. "onboarding"' });
}

function checkAliasName(alias: string): void {
  const problem = findAliasNameProblem(alias);
  if (problem) throw new AnvilError('alias.invalid-name', problem.message, { hint: problem.hint });
}
