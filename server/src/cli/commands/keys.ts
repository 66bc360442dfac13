import { AnvilError } from '@anvil/content-schema';
import { readForgeConfig } from '../../forge/forge-config.ts';
import { loadKeyring, rotateSigningKey } from '../../forge/signing-keys.ts';
import { appendAudit } from '../../store/audit-log.ts';
import { EXIT_OK } from '../cli-io.ts';
import type { Command } from '../command.ts';
import { FORGE_STORE_HELP, FORGE_STORE_OPTIONS, openForgeStore } from '../forge-store-options.ts';

export const keysCommand: Command = {
  name: 'keys',
  usage: 'anvil keys [list|rotate] [--grace-days <n>] [--data-dir <dir> | --config <file>] [--json]',
  help: [
    'Options:',
    FORGE_STORE_HELP,
    '  --grace-days <n>   with rotate: how long the old key stays published and trusted',
    '                     (default: keyRotationGraceDays of the config, else 7)',
    '  --json             print the keys as JSON',
    '',
    'The forge signs bundles and pushes with its active key and publishes every key receivers',
    'may trust at /.well-known/anvil.json. `rotate` makes a new active key; the old one stays',
    'published for the grace period, so receivers that pinned it keep verifying while they fetch',
    'the new one (`anvil-live connect` again, or their next start). Restart the forge afterwards.',
  ].join('\n'),
  options: { ...FORGE_STORE_OPTIONS, 'grace-days': { type: 'string' }, json: { type: 'boolean' } },
  async run({ values, positionals }, io) {
    const action = positionals[0] ?? 'list';
    if (!['list', 'rotate'].includes(action) || positionals.length > 1) throw new AnvilError('cli.bad-arguments', `unknown keys action "${positionals.join(' ')}"`, { hint: this.usage });
    const store = await openForgeStore(values, io.cwd);
    try {
      let keyring = await loadKeyring(store.dataDir);
      if (action === 'rotate') {
        const configured = typeof values['config'] === 'string' ? readForgeConfig(values['config']).config?.keyRotationGraceDays : undefined;
        const grace = values['grace-days'] === undefined ? configured ?? 7 : Number(values['grace-days']);
        if (!Number.isInteger(grace) || grace < 0) throw new AnvilError('cli.bad-arguments', `--grace-days ${String(values['grace-days'])} is not a whole number of days`);
        const old = keyring.active.keyId;
        keyring = await rotateSigningKey(store.dataDir, grace);
        await appendAudit(store.db, { kind: 'keys.rotated', subject: keyring.active.keyId, actor: 'cli', detail: { retired: old, graceDays: grace } });
      }
      const keys = keyring.published();
      if (values['json']) io.out(JSON.stringify({ keys }, null, 2));
      else for (const k of keys) io.out(`${k.keyId}  ${k.status}${k.retiresAt ? `  (trusted until ${k.retiresAt})` : ''}`);
      return EXIT_OK;
    } finally {
      await store.close();
    }
  },
};
