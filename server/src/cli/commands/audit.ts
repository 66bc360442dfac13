import { AnvilError } from '@anvil/content-schema';
import { listAudit, verifyAuditChain } from '../../store/audit-log.ts';
import { colour, EXIT_OK } from '../cli-io.ts';
import type { Command } from '../command.ts';
import { FORGE_STORE_HELP, FORGE_STORE_OPTIONS, openForgeStore } from '../forge-store-options.ts';
import { shortTime, textTable } from '../text-table.ts';

const MAX_LIMIT = 100_000;

export const auditCommand: Command = {
  name: 'audit',
  usage: 'anvil audit [verify] [--project <p>] [--kind <k>] [--limit <n>] [--json] [--data-dir <dir>]',
  help: [
    'Subcommands:',
    '  (none)    the latest entries, oldest first: seq, time, project, kind, subject, actor, detail',
    '  verify    walk the whole chain; exit 1 with the first broken row\'s seq and why',
    '',
    'Options:',
    '  --project <p>   only this project\'s entries',
    '  --kind <k>      only entries whose kind starts with this (token, receiver.mode, publish…)',
    '  --limit <n>     how many of the latest entries (default 100)',
    '  --json          print JSON',
    FORGE_STORE_HELP,
    '',
    'The audit log is append-only: each row carries the hash of its content and of the row before',
    'it, so a row changed, removed or reordered behind the forge\'s back breaks the chain from there.',
  ].join('\n'),
  options: { ...FORGE_STORE_OPTIONS, project: { type: 'string' }, kind: { type: 'string' }, limit: { type: 'string' }, json: { type: 'boolean' } },
  async run({ values, positionals }, io) {
    const [sub, ...extra] = positionals;
    if ((sub !== undefined && sub !== 'verify') || extra.length > 0) {
      throw new AnvilError('cli.bad-arguments', `unexpected argument "${sub === 'verify' ? extra[0] : sub}"`, { hint: this.usage });
    }
    let limit = 100;
    if (values['limit'] !== undefined) {
      limit = Number(values['limit']);
      if (!Number.isInteger(limit) || limit < 1 || limit > MAX_LIMIT) throw new AnvilError('cli.bad-arguments', `--limit takes a whole number from 1 to ${MAX_LIMIT}, not "${String(values['limit'])}"`);
    }
    const json = Boolean(values['json']);
    const store = await openForgeStore(values, io.cwd);
    try {
      if (sub === 'verify') {
        const result = await verifyAuditChain(store.db);
        if (!result.ok) {
          throw new AnvilError('audit.chain-broken', `the audit log's hash chain is broken at seq ${result.seq}: ${result.reason}`, {
            hint: `${result.rows} rows before it verify; restore the store from a backup and find out who wrote to it`,
            details: { seq: result.seq, reason: result.reason, verifiedRows: result.rows },
          });
        }
        if (json) io.out(JSON.stringify(result));
        else io.out(colour(io, 32, `the audit log verifies: ${result.rows} row${result.rows === 1 ? '' : 's'}, chained from the first to the last`));
        return EXIT_OK;
      }
      const rows = await listAudit(store.db, { project: values['project'] as string | undefined, kind: values['kind'] as string | undefined, limit });
      if (json) {
        io.out(JSON.stringify({ entries: rows.map((r) => ({ ...r, detail: parseDetail(r.detail) })) }, null, 2));
        return EXIT_OK;
      }
      if (rows.length === 0) {
        io.err('the audit log has no matching entry');
        return EXIT_OK;
      }
      const lines = textTable(
        ['SEQ', 'AT', 'PROJECT', 'KIND', 'SUBJECT', 'ACTOR', 'DETAIL'],
        rows.map((r) => [String(r.seq), shortTime(r.at), r.project ?? '—', r.kind, r.subject, r.actor, r.detail === '{}' ? '' : clip(r.detail, 120)]),
      );
      io.out(colour(io, 1, lines[0]!));
      for (const line of lines.slice(1)) io.out(line);
      return EXIT_OK;
    } finally {
      await store.close();
    }
  },
};

function parseDetail(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

function clip(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}
