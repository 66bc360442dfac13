/**
 * `anvil canary set|rm|list` (issue 17): the gradual rollouts of anvil.yaml (`rollouts`, DESIGN
 * §6) edited from the command line, keeping the file's comments and layout. As with any change
 * to anvil.yaml, the rollout takes effect when the commit reaches the default branch and the
 * forge accepts it (forge/sync-rollouts.ts: reviewed, a release it may serve there).
 */
import { AnvilError, CHANNELS, closest, findSetNameProblem, isChannel, type Channel } from '@anvil/content-schema';
import { REPO_CONFIG_FILE } from '../../load/load-repo.ts';
import { commitRepoConfig, editRepoConfig, type EditedConfig } from '../../repo/edit-repo-config.ts';
import { colour, EXIT_OK, type CliIO } from '../cli-io.ts';
import type { Command } from '../command.ts';
import { openRepo } from '../open-snapshot.ts';
import { textTable } from '../text-table.ts';
import { readValidRepoConfig, reportCommit, requireRelease } from './alias.ts';

const USAGE = 'anvil canary set <set> --version <v> --percent <0-100> [--channel <c>] | rm <set> [--channel <c>] | list [<set>]  [--commit] [--json] [--repo <dir>]';

export const canaryCommand: Command = {
  name: 'canary',
  usage: USAGE,
  help: [
    'Subcommands:',
    '  set <set> --version <v> --percent <n>   roll release <v> out to n% of keys (an integer, 0 to 100)',
    '  rm <set>                                end the set\'s rollouts (all channels, or --channel)',
    '  list [<set>]                            the rollouts in anvil.yaml',
    '',
    'Options:',
    '  --channel <c>   production (the default), staging or development',
    '  --commit        commit anvil.yaml (alone) with a message saying what changed',
    '  --json          print JSON',
    '  --repo <dir>    the repository (default: the nearest folder with anvil.yaml or .git)',
    '',
    'Rollouts live in anvil.yaml (`rollouts: {onboarding: {production: {version: 1.3.0, percent: 10}}}`);',
    'the command edits the file keeping its comments and layout. Once the commit is on the default',
    'branch, the forge sends the channel\'s receivers both the current release and <v>, and each',
    'serves <v> to a stable n% of keys. The forge accepts a rollout change only if it was reviewed as',
    'the set needs, and <v> is a release it published to that channel, newer than what it serves.',
    '',
    'Examples:',
    '  anvil canary set onboarding --version 1.3.0 --percent 10 --commit',
    '  anvil canary set onboarding --version 1.3.0 --percent 50',
    '  anvil canary rm onboarding --commit',
  ].join('\n'),
  options: {
    version: { type: 'string' }, percent: { type: 'string' }, channel: { type: 'string' },
    commit: { type: 'boolean' }, json: { type: 'boolean' }, repo: { type: 'string' },
  },
  async run({ values, positionals }, io) {
    const [sub, ...rest] = positionals;
    const json = values['json'] === true;
    if (sub !== 'set' && sub !== 'rm' && sub !== 'list') {
      throw new AnvilError('cli.bad-arguments', sub === undefined ? 'name a subcommand: set, rm or list' : `unknown subcommand "${sub}"`, { hint: USAGE });
    }
    if (sub !== 'set' && (values['version'] !== undefined || values['percent'] !== undefined)) {
      throw new AnvilError('cli.bad-arguments', '--version and --percent are for `anvil canary set`', { hint: USAGE });
    }
    const channel = values['channel'] === undefined ? undefined : channelOf(values['channel'] as string);
    if (sub === 'list') {
      if (rest.length > 1) throw new AnvilError('cli.bad-arguments', 'name one set, or none for all', { hint: USAGE });
      const opened = await openRepo({ repo: values['repo'] }, io.cwd);
      const rollouts = (await readValidRepoConfig(opened.root)).rollouts;
      const rows = Object.keys(rollouts).sort().filter((s) => rest[0] === undefined || s === rest[0]).flatMap((set) =>
        CHANNELS.filter((c) => rollouts[set]?.[c] !== undefined && (channel === undefined || c === channel))
          .map((c) => ({ set, channel: c, version: rollouts[set]![c]!.version, percent: rollouts[set]![c]!.percent })));
      if (json) io.out(JSON.stringify({ rollouts: rows }, null, 2));
      else if (rows.length === 0) io.out(`no rollouts in ${REPO_CONFIG_FILE}`);
      else for (const line of textTable(['set', 'channel', 'version', 'percent'], rows.map((r) => [r.set, r.channel, r.version, `${r.percent}%`]))) io.out(line);
      return EXIT_OK;
    }

    const [set, ...extra] = rest;
    if (set === undefined || extra.length > 0) throw new AnvilError('cli.bad-arguments', `anvil canary ${sub} takes one set`, { hint: USAGE });
    const problem = findSetNameProblem(set);
    if (problem) throw new AnvilError('cli.bad-arguments', `"${set}" is not a set name: ${problem.message} at column ${problem.index + 1}`, { hint: 'set names are lowercase, e.g. "onboarding"' });
    const opened = await openRepo({ repo: values['repo'] }, io.cwd);
    const current = (await readValidRepoConfig(opened.root)).rollouts[set] ?? {};

    if (sub === 'set') {
      const version = values['version'] as string | undefined;
      if (version === undefined) throw new AnvilError('cli.bad-arguments', 'anvil canary set needs --version <release>', { hint: 'e.g. anvil canary set onboarding --version 1.3.0 --percent 10' });
      const percent = percentOf(values['percent'] as string | undefined);
      requireRelease(opened, set, version);
      const on: Channel = channel ?? 'production';
      const was = current[on];
      const message = `anvil canary: ${set} ${version} to ${percent}% of ${on}${was ? ` (was ${was.version} at ${was.percent}%)` : ''}`;
      const edited = await editRepoConfig(opened.root, { kind: 'set-rollout', set, channel: on, version, percent });
      const commit = await maybeCommit(values, opened.root, edited, message);
      if (json) {
        io.out(JSON.stringify({ ok: true, set, channel: on, version, percent, previous: was ?? null, changed: edited.changed, file: edited.file, commit: commit ?? null }, null, 2));
        return EXIT_OK;
      }
      io.out(`${colour(io, 32, edited.changed ? 'set' : 'unchanged')} rollout of ${set} on ${on}: ${version} to ${percent}% of keys${was && edited.changed ? ` (was ${was.version} at ${was.percent}%)` : ''}`);
      reportCommit(io, edited.changed, commit, message);
      return EXIT_OK;
    }

    const channels = CHANNELS.filter((c) => current[c] !== undefined && (channel === undefined || c === channel));
    if (channels.length === 0) {
      const has = CHANNELS.filter((c) => current[c] !== undefined);
      throw new AnvilError('canary.unknown', `${set} has no rollout${channel ? ` on ${channel}` : ''} in ${REPO_CONFIG_FILE}`, {
        hint: has.length > 0 ? `${set} has rollouts on ${has.join(', ')}` : 'see `npx anvil canary list`',
      });
    }
    let edited: EditedConfig & { file: string } | undefined;
    for (const c of channels) edited = await editRepoConfig(opened.root, { kind: 'remove-rollout', set, channel: c });
    const ended = channels.map((c) => `${c} (${current[c]!.version} at ${current[c]!.percent}%)`).join(', ');
    const message = `anvil canary: end the rollout of ${set} on ${ended}`;
    const commit = await maybeCommit(values, opened.root, edited!, message);
    if (json) {
      io.out(JSON.stringify({ ok: true, set, removed: channels.map((c) => ({ channel: c, ...current[c]! })), changed: true, file: edited!.file, commit: commit ?? null }, null, 2));
      return EXIT_OK;
    }
    io.out(`${colour(io, 32, 'removed')} rollout of ${set} on ${ended} from ${REPO_CONFIG_FILE}`);
    reportCommit(io, true, commit, message);
    return EXIT_OK;
  },
};

async function maybeCommit(values: Record<string, unknown>, root: string, edited: EditedConfig, message: string): Promise<string | undefined> {
  return values['commit'] === true && edited.changed ? commitRepoConfig(root, message) : undefined;
}

function channelOf(text: string): Channel {
  if (isChannel(text)) return text;
  const near = closest(text, CHANNELS);
  throw new AnvilError('cli.bad-arguments', `"${text}" is not a channel`, { hint: near ? `did you mean ${near}? channels: ${CHANNELS.join(', ')}` : `channels: ${CHANNELS.join(', ')}` });
}

/** A whole number of percent, 0 to 100 ("10", or "10%"; not "12.5"). */
export function percentOf(text: string | undefined): number {
  if (text === undefined) throw new AnvilError('cli.bad-arguments', 'anvil canary set needs --percent <0-100>', { hint: 'e.g. --percent 10' });
  const written = text.trim().replace(/%$/, '');
  if (!/^\d{1,3}$/.test(written) || Number(written) > 100) {
    throw new AnvilError('canary.bad-percent', `--percent ${text} is not a whole number from 0 to 100`, { hint: 'e.g. --percent 10 (an integer; 0 pauses the rollout, 100 serves it to every key)' });
  }
  return Number(written);
}
