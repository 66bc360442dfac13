import { randomUUID } from 'node:crypto';
import { AnvilError, RECEIVER_STATE_FORMAT, RECEPTION_MODES, type ReceiverState, type ReceptionMode } from '@anvil/content-schema';
import { openDiskCache } from '../../cache/disk-cache.ts';
import { liveConfigPath, loadLiveConfig } from '../../config/live-config.ts';
import { EXIT_OK } from '../cli-io.ts';
import { CONFIG_HELP, CONFIG_OPTION, type LiveCommand } from '../command.ts';

const USAGE = 'anvil-live mode [accepting|frozen] [--config <file>] [--json]';

export const modeCommand: LiveCommand = {
  name: 'mode',
  usage: USAGE,
  help: [
    'Arguments:',
    '  accepting   apply the forge\'s pushes (and pulls) as they come',
    '  frozen      answer pushes 409 "frozen"; change only by `anvil-live sync` or `install`',
    '  (none)      print the current mode',
    '',
    'Options:',
    '  --json            print {ok, mode, previous, cacheDir} as JSON',
    CONFIG_HELP,
    '',
    'The mode is kept in the cache\'s state.json, so it survives restarts and wins over the',
    'config\'s "mode" (which only applies to a new cache). A running app using this cache picks',
    'the change up within a second, without a restart.',
  ].join('\n'),
  options: { ...CONFIG_OPTION, json: { type: 'boolean' } },
  async run({ values, positionals }, io) {
    const [wanted, ...extra] = positionals;
    if (extra.length > 0) throw new AnvilError('cli.bad-arguments', 'name one mode', { hint: `usage: ${USAGE}` });
    if (wanted !== undefined && !(RECEPTION_MODES as readonly string[]).includes(wanted)) {
      throw new AnvilError('cli.bad-arguments', `unknown mode "${wanted}"`, { hint: `one of: ${RECEPTION_MODES.join(', ')}` });
    }
    const loaded = await loadLiveConfig(liveConfigPath(io.cwd, values['config'] as string | undefined));
    const cache = openDiskCache(loaded.cacheDir);
    const current = (await cache.load())?.state;
    const previous: ReceptionMode = current?.mode ?? loaded.config.mode;
    const mode = (wanted as ReceptionMode | undefined) ?? previous;

    if (wanted !== undefined && (current === undefined || current.mode !== mode)) {
      // Without a state yet, one that serves nothing: the app starts in this mode.
      const base: ReceiverState = current ?? {
        format: RECEIVER_STATE_FORMAT,
        forge: loaded.config.forge,
        project: loaded.config.project,
        channel: loaded.config.channel,
        mode,
        forgeKeys: { ...loaded.config.forgeKeys },
        sets: {},
        bundles: {},
        seenWebhookIds: [],
        instanceId: `anvil-${randomUUID()}`,
      };
      await cache.commit({ ...base, mode });
    }

    if (values['json']) {
      io.out(JSON.stringify({ ok: true, mode, previous, cacheDir: loaded.cacheDir }, null, 2));
    } else if (wanted === undefined) {
      io.out(mode);
    } else {
      io.out(previous === mode ? `already ${mode}` : `${previous} → ${mode}; a running app picks it up within a second`);
    }
    return EXIT_OK;
  },
};
