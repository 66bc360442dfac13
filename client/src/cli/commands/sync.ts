import { AnvilError } from '@anvil/content-schema';
import { clientOptionsFromConfig, liveConfigPath, loadLiveConfig } from '../../config/live-config.ts';
import { createClient } from '../../client.ts';
import { colour, EXIT_OK } from '../cli-io.ts';
import { CONFIG_HELP, CONFIG_OPTION, type LiveCommand } from '../command.ts';

const USAGE = 'anvil-live sync [--token <token>] [--config <file>] [--json]';

export const syncCommand: LiveCommand = {
  name: 'sync',
  usage: USAGE,
  help: [
    'Options:',
    '  --token <token>  the access token (default: the variable the config names, $ANVIL_TOKEN)',
    '  --json           print {ok, code, changed, sets: {set: {before, after}}} as JSON',
    CONFIG_HELP,
    '',
    'Pulls once, as the app would, with the config\'s ranges and pinned keys; what is applied is',
    'verified and written to the cache, where a running app picks it up within a second. A frozen',
    'receiver changes only this way.',
  ].join('\n'),
  options: { ...CONFIG_OPTION, token: { type: 'string' }, json: { type: 'boolean' } },
  async run({ values, positionals }, io) {
    if (positionals.length > 0) throw new AnvilError('cli.bad-arguments', `unexpected argument "${positionals[0]}"`, { hint: `usage: ${USAGE}` });
    const loaded = await loadLiveConfig(liveConfigPath(io.cwd, values['config'] as string | undefined));
    const token = values['token'] as string | undefined;
    const client = await createClient(clientOptionsFromConfig(loaded, { pollMs: 0, readyTimeoutMs: 1, ...(token === undefined ? {} : { token }) }, io.env));
    const versions = () => Object.fromEntries(Object.entries(client.status().sets).map(([set, s]) => [set, s.version]));
    let before: Record<string, string>;
    let after: Record<string, string>;
    let result;
    try {
      before = versions();
      result = await client.sync();
      after = versions();
    } finally {
      await client.close();
    }

    const names = [...new Set([...Object.keys(before), ...Object.keys(after)])].sort();
    const sets = Object.fromEntries(names.map((set) => [set, { before: before[set] ?? null, after: after[set] ?? null }]));
    const changed = names.some((set) => before[set] !== after[set]);
    if (values['json']) {
      io.out(JSON.stringify({ ok: true, code: result.code, changed: changed || result.changed, ...(result.reason ? { reason: result.reason } : {}), sets }, null, 2));
      return EXIT_OK;
    }
    for (const set of names) {
      const was = before[set];
      const now = after[set];
      const line = was === now ? colour(io, 2, `${now} (unchanged)`) : `${was ?? '—'} → ${colour(io, 32, now ?? '—')}`;
      io.out(`  ${set.padEnd(20)} ${line}`);
    }
    const summary: Record<string, string> = {
      applied: changed ? 'applied the forge\'s current versions' : 'applied the forge\'s current rollouts',
      unchanged: 'already up to date',
      'not-modified': 'already up to date (not modified since the last pull)',
      stale: `the forge serves older versions than the cache has; kept the cache${result.reason ? ` (${result.reason})` : ''}`,
    };
    io.out(summary[result.code] ?? result.code);
    return EXIT_OK;
  },
};
