import { AnvilError } from '@anvil/content-schema';
import { isSettled } from '../../publish/publish-progress.ts';
import { parseReleaseTagName } from '../../repo/release-tags.ts';
import { colour, EXIT_OK, EXIT_USER_ERROR } from '../cli-io.ts';
import type { Command } from '../command.ts';

interface DeliveryRow {
  instanceId: string;
  url: string;
  state: string;
  attempts: number;
  status: number | null;
  code: string | null;
  reason: string | null;
}


export const publishCommand: Command = {
  name: 'publish',
  usage: 'anvil publish <set>@<version> --forge <url> --project <name> [--wait <seconds>] [--override-refusal --reason <text>] [--json]',
  help: [
    'Options:',
    '  --forge <url>       the forge (default: $ANVIL_FORGE_URL)',
    '  --project <name>    the project (default: $ANVIL_PROJECT)',
    '  --wait <seconds>    how long to follow the pushes (default 60; 0: do not wait)',
    '  --json              print the outcome and the per-receiver results as JSON',
    '  --override-refusal  publish a release the forge refused (e.g. an unreviewed change); needs --reason',
    '  --reason <text>     why, for the audit log (publish.override)',
    '',
    'Needs the forge\'s admin token in $ANVIL_ADMIN_TOKEN. The release goes to the channels the',
    'policy gives it (a review set never reaches production) and to every accepting receiver of',
    'those channels whose ranges allow it; receivers that already have it answer 200 and change',
    'nothing. Progress is shown per receiver on a terminal, and a table at the end. Exit 1 when',
    'a push failed for good.',
    '',
    'A release the forge refused (release.refused) is only published with --override-refusal and',
    'a --reason; that is audited with the admin as actor, and still goes only to the channels a',
    'reviewed release of its mode would reach (a prerelease or a review set never to production).',
  ].join('\n'),
  options: {
    forge: { type: 'string' }, project: { type: 'string' }, wait: { type: 'string' }, json: { type: 'boolean' },
    'override-refusal': { type: 'boolean' }, reason: { type: 'string' },
  },
  async run({ values, positionals }, io) {
    const [target, ...extra] = positionals;
    const release = target === undefined ? undefined : parseReleaseTagName(target);
    if (!release?.ok || extra.length > 0) {
      const why = release && !release.ok ? `: ${release.reason}` : '';
      throw new AnvilError('cli.bad-arguments', `name one release as <set>@<version>${target ? `, not "${target}"${why}` : ''}`, { hint: release && !release.ok && release.suggestion ? `did you mean ${release.suggestion}?` : this.usage });
    }
    const { set, version } = release;
    const forge = ((values['forge'] as string | undefined) ?? process.env['ANVIL_FORGE_URL'] ?? '').replace(/\/+$/, '');
    const project = (values['project'] as string | undefined) ?? process.env['ANVIL_PROJECT'];
    const admin = process.env['ANVIL_ADMIN_TOKEN'];
    if (!forge) throw new AnvilError('cli.bad-arguments', 'which forge? pass --forge <url> or set ANVIL_FORGE_URL');
    if (!project) throw new AnvilError('cli.bad-arguments', 'which project? pass --project <name> or set ANVIL_PROJECT');
    if (!admin) throw new AnvilError('auth.missing', 'ANVIL_ADMIN_TOKEN is not set; publishing needs the forge\'s admin token');
    const override = values['override-refusal'] === true;
    const reason = values['reason'] as string | undefined;
    if (override && (reason === undefined || reason.trim() === '')) {
      throw new AnvilError('cli.bad-arguments', '--override-refusal needs --reason "<why>", for the audit log');
    }
    if (!override && reason !== undefined) throw new AnvilError('cli.bad-arguments', '--reason goes with --override-refusal');
    const wait = values['wait'] === undefined ? 60 : Number(values['wait']);
    if (!Number.isFinite(wait) || wait < 0) throw new AnvilError('cli.bad-arguments', `--wait ${String(values['wait'])} is not a number of seconds`);

    const api = `${forge}/api/v1/projects/${encodeURIComponent(project)}`;
    const call = async (method: string, url: string, body?: unknown): Promise<Record<string, unknown>> => {
      let res: Response;
      try {
        res = await fetch(url, { method, headers: { authorization: `Bearer ${admin}`, ...(body ? { 'content-type': 'application/json' } : {}) }, ...(body ? { body: JSON.stringify(body) } : {}) });
      } catch (err) {
        throw new AnvilError('forge.unreachable', `cannot reach the forge at ${forge}: ${(err as Error).message}`, { hint: 'check --forge and that the forge is running' });
      }
      const json = (await res.json().catch(() => ({}))) as Record<string, unknown>;
      if (!res.ok) throw new AnvilError(String(json['code'] ?? `http.${res.status}`), `the forge answered ${res.status}: ${String(json['reason'] ?? res.statusText)}`, { hint: typeof json['hint'] === 'string' ? json['hint'] : undefined });
      return json;
    };

    const outcome = await call('POST', `${api}/publish`, { set, version, ...(override ? { overrideRefusal: true, reason } : {}) }) as { at: string; channels: { channel: string; outcome: string; envelopeId?: string; deliveries: number }[] };
    const envelopes = outcome.channels.flatMap((c) => (c.envelopeId ? [c.envelopeId] : []));
    if (!values['json']) {
      for (const c of outcome.channels) io.out(`${set}@${version} → ${c.channel}: ${c.outcome === 'published' ? `${c.deliveries} receiver${c.deliveries === 1 ? '' : 's'}` : c.outcome}`);
    }
    let rows: DeliveryRow[] = [];
    const shown = new Map<string, string>();
    const deadline = Date.now() + wait * 1000;
    while (envelopes.length > 0) {
      const query = [...envelopes.map((e) => `envelope=${encodeURIComponent(e)}`), `since=${encodeURIComponent(outcome.at)}`, `set=${encodeURIComponent(set)}`, `version=${encodeURIComponent(version)}`].join('&');
      rows = ((await call('GET', `${api}/deliveries?${query}`)) as { deliveries: DeliveryRow[] }).deliveries;
      if (io.tty && !values['json']) {
        for (const r of rows) {
          const line = `${r.state}${r.code ? ` (${r.code})` : ''}`;
          if (shown.get(r.instanceId) !== line && r.state !== 'pending') io.out(`  ${r.instanceId}: ${line}`);
          shown.set(r.instanceId, line);
        }
      }
      if (rows.every((r) => isSettled(r.state)) || Date.now() >= deadline) break;
      await new Promise((r) => setTimeout(r, 250));
    }
    const failed = rows.filter((r) => r.state === 'failed');
    if (values['json']) {
      io.out(JSON.stringify({ ok: failed.length === 0, set, version, channels: outcome.channels, deliveries: rows }, null, 2));
    } else if (rows.length > 0) {
      const width = Math.max(8, ...rows.map((r) => r.instanceId.length));
      io.out(['', `${'receiver'.padEnd(width)}  state        attempts  answer`, ...rows.map((r) => {
        const state = r.state === 'delivered' ? colour(io, 32, r.state.padEnd(11)) : r.state === 'failed' ? colour(io, 31, r.state.padEnd(11)) : r.state.padEnd(11);
        return `${r.instanceId.padEnd(width)}  ${state}  ${String(r.attempts).padStart(8)}  ${r.status ?? '—'}${r.code ? ` ${r.code}` : ''}${r.reason ? `: ${r.reason}` : ''}`;
      })].join('\n'));
    }
    return failed.length > 0 ? EXIT_USER_ERROR : EXIT_OK;
  },
};
