import { stat } from 'node:fs/promises';
import path from 'node:path';
import { AnvilError } from '@anvil/content-schema';
import { STATE_FILE, openDiskCache } from '../../cache/disk-cache.ts';
import { liveConfigPath, loadLiveConfig } from '../../config/live-config.ts';
import { colour, EXIT_OK } from '../cli-io.ts';
import { CONFIG_HELP, CONFIG_OPTION, type LiveCommand } from '../command.ts';

const USAGE = 'anvil-live status [--config <file>] [--json]';

export const statusCommand: LiveCommand = {
  name: 'status',
  usage: USAGE,
  help: [
    'Options:',
    '  --json            print {ok, forge, project, channel, mode, instanceId, updatedAt, etag,',
    '                    source, problems[], sets: {set: {range, version, integrity, rollout}},',
    '                    dependencies[]} as JSON',
    CONFIG_HELP,
    '',
    'Reads the cache the config names, verifying it as the app does on start (schema, integrity,',
    'signatures by the pinned keys). "updatedAt" is when its state was last written (by a push, a',
    'pull, install or mode); "source" is "previous" when the current state did not verify and the',
    'one before it is served. Exits 1 when the cache has no usable state.',
  ].join('\n'),
  options: { ...CONFIG_OPTION, json: { type: 'boolean' } },
  async run({ values, positionals }, io) {
    if (positionals.length > 0) throw new AnvilError('cli.bad-arguments', `unexpected argument "${positionals[0]}"`, { hint: `usage: ${USAGE}` });
    const loaded = await loadLiveConfig(liveConfigPath(io.cwd, values['config'] as string | undefined));
    const cache = openDiskCache(loaded.cacheDir);
    const found = await cache.load();
    const shownCache = path.relative(io.cwd, loaded.cacheDir) || loaded.cacheDir;
    if (!found) {
      const why = cache.lastLoadProblems.filter((p) => p.code !== 'cache.no-file').map((p) => `${p.file}: ${p.message}`);
      throw new AnvilError('status.no-state', `the cache in ${shownCache} has no usable state${why.length > 0 ? `: ${why[0]}` : ' yet'}`, {
        hint: 'run `anvil-live install` (or `anvil-live sync`)',
        details: { problems: cache.lastLoadProblems },
      });
    }
    const { state } = found;
    const written = await stat(path.join(loaded.cacheDir, STATE_FILE)).then((s) => s.mtime.toISOString(), () => undefined);
    const sets = Object.fromEntries(Object.entries(state.sets).sort(([a], [b]) => (a < b ? -1 : 1)).map(([set, served]) => {
      const bundle = found.bundles.get(served.integrity);
      return [set, {
        range: loaded.config.sets[set] ?? null,
        version: served.version,
        integrity: served.integrity,
        stage: bundle?.stage ?? null,
        rollout: served.rollout ?? null,
      }];
    }));
    const served = new Set(Object.values(state.sets).flatMap((s) => [s.integrity, s.rollout?.integrity]));
    const dependencies = Object.entries(state.bundles)
      .filter(([integrity]) => !served.has(integrity))
      .map(([integrity, kept]) => ({ set: kept.set, version: kept.version, integrity }))
      .sort((a, b) => (a.set < b.set ? -1 : a.set > b.set ? 1 : 0));
    const status = {
      ok: true,
      forge: state.forge,
      project: state.project,
      channel: state.channel,
      mode: state.mode,
      instanceId: state.instanceId,
      cacheDir: loaded.cacheDir,
      updatedAt: written ?? null,
      etag: state.etag ?? null,
      source: found.source,
      problems: found.problems,
      forgeKeys: Object.keys(state.forgeKeys),
      sets,
      dependencies,
    };
    if (values['json']) {
      io.out(JSON.stringify(status, null, 2));
      return EXIT_OK;
    }
    io.out(`${colour(io, 1, state.project)} at ${state.forge}`);
    io.out(`  channel   ${state.channel}`);
    io.out(`  mode      ${state.mode === 'frozen' ? colour(io, 36, 'frozen') : state.mode}`);
    io.out(`  cache     ${shownCache}${written ? ` (state written ${written})` : ''}`);
    if (found.source === 'previous') {
      io.out(colour(io, 33, `  serving the previous state: ${found.problems[0]?.message ?? 'the current one did not verify'}`));
    }
    if (Object.keys(sets).length === 0) io.out('  no sets yet');
    for (const [set, s] of Object.entries(sets)) {
      const rollout = s.rollout ? `  rollout ${s.rollout.version} to ${s.rollout.percent}%` : '';
      const range = s.range ? colour(io, 2, ` (${s.range})`) : '';
      io.out(`  ${set.padEnd(20)} ${s.version}${range}  ${colour(io, 2, s.integrity.slice(0, 19))}…${rollout}`);
    }
    for (const d of dependencies) io.out(`  ${d.set.padEnd(20)} ${d.version}  ${colour(io, 2, '(dependency)')}`);
    return EXIT_OK;
  },
};
