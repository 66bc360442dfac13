import { AnvilError } from '@anvil/content-schema';
import { DEFAULT_STALE_AFTER_MS, formatReceiverTable, listReceivers } from '../../receivers/list-receivers.ts';
import { hasUnsatisfiedRange } from '../../receivers/range-satisfaction.ts';
import { colour, EXIT_OK } from '../cli-io.ts';
import type { Command } from '../command.ts';
import { FORGE_STORE_HELP, FORGE_STORE_OPTIONS, openForgeStore } from '../forge-store-options.ts';

export const receiversCommand: Command = {
  name: 'receivers',
  usage: 'anvil receivers [--project <p>] [--active] [--stale-after <minutes>] [--ranges] [--unsatisfied] [--json] [--data-dir <dir>]',
  help: [
    'Options:',
    '  --project <p>            only this project\'s receivers',
    '  --active                 leave out receivers that left (or answered 410)',
    `  --stale-after <minutes>  a receiver not heard from for this long is "stale" (default ${DEFAULT_STALE_AFTER_MS / 60_000};`,
    '                           receivers heartbeat every 30 s by default)',
    '  --ranges                 always show the RANGES column (shown anyway when a receiver serves a',
    '                           version outside the range it declared)',
    '  --unsatisfied            only receivers serving a version outside a range they declared',
    '  --json                   print the receivers as JSON; each has rangeStatus: {set: {range,',
    '                           serving, satisfied}} (satisfied is null while nothing is served)',
    FORGE_STORE_HELP,
    '',
    'One line per receiver: instance id, channel, mode (accepting or frozen), status (active,',
    'stale, gone, or revoked: its access token was revoked, so nothing is pushed to it), the',
    'versions it serves, when it was last seen, and the last delivery with its HTTP status and',
    'reason. RANGES: per set with a declared range (`onboarding: ^1.2.0`), whether the version it',
    'serves satisfies it: onboarding@1.3.0 satisfies ^1.2.0, onboarding@2.0.0 OUTSIDE ^1.2.0.',
  ].join('\n'),
  options: { ...FORGE_STORE_OPTIONS, project: { type: 'string' }, active: { type: 'boolean' }, 'stale-after': { type: 'string' }, ranges: { type: 'boolean' }, unsatisfied: { type: 'boolean' }, json: { type: 'boolean' } },
  async run({ values, positionals }, io) {
    if (positionals.length > 0) throw new AnvilError('cli.bad-arguments', `unexpected argument "${positionals[0]}"`, { hint: this.usage });
    let staleAfterMs = DEFAULT_STALE_AFTER_MS;
    if (values['stale-after'] !== undefined) {
      const minutes = Number(values['stale-after']);
      if (!Number.isFinite(minutes) || minutes <= 0) throw new AnvilError('cli.bad-arguments', `--stale-after takes a number of minutes, not "${String(values['stale-after'])}"`);
      staleAfterMs = minutes * 60_000;
    }
    const project = values['project'] as string | undefined;
    const store = await openForgeStore(values, io.cwd);
    try {
      const now = Date.now();
      const listed = await listReceivers(store.db, { project, activeOnly: Boolean(values['active']), staleAfterMs, now });
      const unsatisfied = Boolean(values['unsatisfied']);
      const receivers = unsatisfied ? listed.filter((r) => hasUnsatisfiedRange(r.rangeStatus ?? {})) : listed;
      if (values['json']) {
        io.out(JSON.stringify({ receivers }, null, 2));
      } else if (receivers.length === 0) {
        io.err(unsatisfied && listed.length > 0 ? 'every receiver serves versions inside its declared ranges' : `no receiver has registered${project ? ` with ${project}` : ''} yet`);
      } else {
        io.out(formatReceiverTable(receivers, now, { colour: (code, text) => colour(io, code, text), ranges: values['ranges'] ? 'always' : 'auto' }));
      }
      return EXIT_OK;
    } finally {
      await store.close();
    }
  },
};
